//! What every `Storage` backend must do, checked the same way on each: the memory
//! map, sled with its bulk and segment files, and the trait's own defaults. A new
//! backend (a distributed store) passes these before anything is built on it.

#[path = "../../tests/common/redis.rs"]
mod redis;

use std::sync::Arc;

use sprig_index::storage::{Keyspace, MemoryStorage, RedisClusterStorage, SledStorage, Storage, WriteBatch};

/// Keys chosen where byte order and prefixes go wrong: empty, zero bytes, 0xFF
/// bytes (a prefix's end computed by incrementing its last byte), and keys that
/// are prefixes of others.
const KEYS: [&[u8]; 9] = [b"", b"\x00", b"a", b"ab", b"ab\x00", b"ab\xff", b"abc", b"b", b"\xff\xff"];

/// Every keyspace, including the ones sled keeps in files of their own.
const SPACES: [Keyspace; 9] = Keyspace::ALL;

/// The keyspaces whose keys begin with an 8-byte generation (the trait's contract;
/// sled keeps the bulk ones in a file per generation).
const GENERATION_KEYED: [Keyspace; 5] =
    [Keyspace::DocMeta, Keyspace::Nodes, Keyspace::Postings, Keyspace::Ids, Keyspace::Regions];

/// `key` as keyspace `ks` holds it: after a generation where the contract asks for one.
fn k(ks: Keyspace, key: &[u8]) -> Vec<u8> {
    let mut full = if GENERATION_KEYED.contains(&ks) { 7u64.to_be_bytes().to_vec() } else { Vec::new() };
    full.extend_from_slice(key);
    full
}

fn value_of(ks: Keyspace, key: &[u8]) -> Vec<u8> {
    let mut v = vec![ks.tag()];
    v.extend_from_slice(key);
    v
}

/// Runs every check on a fresh, empty store.
fn check(storage: &Arc<dyn Storage>) {
    empty(storage.as_ref());
    keys_order_and_keyspaces(storage.as_ref());
    batches_apply_in_order(storage.as_ref());
    values_of_every_size(storage.as_ref());
    graph_chunks_in_order(storage.as_ref());
    readers_beside_a_writer_see_writes_in_order(storage);
    empty(storage.as_ref());
}

fn empty(s: &dyn Storage) {
    for ks in SPACES {
        assert_eq!(s.get(ks, b"a").expect("get"), None);
        assert!(s.scan_prefix(ks, b"").expect("scan").is_empty());
        assert_eq!(s.next_key(ks, b"").expect("next"), None);
    }
}

fn keys_order_and_keyspaces(s: &dyn Storage) {
    let mut batch = WriteBatch::default();
    // Written in reverse, in every keyspace but the last, so that order is the store's.
    for ks in &SPACES[..SPACES.len() - 1] {
        for key in KEYS.iter().rev() {
            batch.put(*ks, k(*ks, key), value_of(*ks, key));
        }
    }
    s.apply(batch).expect("applied");
    let last = SPACES[SPACES.len() - 1];
    for ks in &SPACES[..SPACES.len() - 1] {
        let ks = *ks;
        let sorted: Vec<Vec<u8>> = {
            let mut keys: Vec<Vec<u8>> = KEYS.iter().map(|key| k(ks, key)).collect();
            keys.sort();
            keys
        };
        for key in KEYS {
            assert_eq!(s.get(ks, &k(ks, key)).expect("get"), Some(value_of(ks, key)), "{ks:?} {key:?}");
        }
        let all = s.scan_prefix(ks, b"").expect("scan");
        assert_eq!(all.iter().map(|(key, _)| key.clone()).collect::<Vec<_>>(), sorted, "{ks:?}: key order");
        assert!(all.iter().all(|(key, v)| *v == value_of(ks, &key[k(ks, b"").len()..])), "{ks:?}: own values");
        for prefix in [&b"ab"[..], b"ab\xff", b"\xff", b"\x00", b"abcd"] {
            let prefix = k(ks, prefix);
            let want: Vec<Vec<u8>> = sorted.iter().filter(|key| key.starts_with(&prefix)).cloned().collect();
            assert_eq!(s.keys_with_prefix(ks, &prefix).expect("keys"), want, "{ks:?} prefix {prefix:?}");
            let scanned: Vec<Vec<u8>> =
                s.scan_prefix(ks, &prefix).expect("scan").into_iter().map(|(key, _)| key).collect();
            assert_eq!(scanned, want, "{ks:?} scan {prefix:?}");
        }
        // next_key: exact, between, and past the last key, which must not find the
        // next keyspace's first key.
        assert_eq!(s.next_key(ks, &k(ks, b"ab")).expect("next"), Some(k(ks, b"ab")));
        assert_eq!(s.next_key(ks, &k(ks, b"ab\x01")).expect("next"), Some(k(ks, b"abc")));
        assert_eq!(s.next_key(ks, &[0xFF; 12]).expect("next"), None, "{ks:?}: past the end");
        let range = s.keys_in_range(ks, &k(ks, b"ab"), &k(ks, b"b")).expect("range");
        assert_eq!(range, [&b"ab"[..], b"ab\x00", b"abc", b"ab\xff"].map(|key| k(ks, key)).to_vec(), "{ks:?}");
        assert!(s.keys_in_range(ks, &k(ks, b"b"), &k(ks, b"a")).expect("range").is_empty());
    }
    assert!(s.scan_prefix(last, b"").expect("scan").is_empty(), "a keyspace nobody wrote is empty");
    // Clean up for the next check.
    let mut batch = WriteBatch::default();
    for ks in SPACES {
        for key in KEYS {
            batch.delete(ks, k(ks, key));
        }
    }
    s.apply(batch).expect("applied");
    empty(s);
}

/// Graph chunk keys as the graph store writes them (`G 0 kind chunk:u64`), far apart
/// (a store may place runs of chunks apart, as the cluster does by 256), come back in
/// key order from every kind of scan.
fn graph_chunks_in_order(s: &dyn Storage) {
    let key = |graph: &str, kind: u8, chunk: u64| {
        let mut key = graph.as_bytes().to_vec();
        key.extend_from_slice(&[0, kind]);
        key.extend_from_slice(&chunk.to_be_bytes());
        key
    };
    let chunks = [70_000u64, 0, 511, 256, 1, 300, 255, 512];
    let mut batch = WriteBatch::default();
    for graph in ["g2", "g"] {
        for kind in [b'r', b'n'] {
            for c in chunks {
                batch.put(Keyspace::GraphChunks, key(graph, kind, c), c.to_be_bytes().to_vec());
            }
        }
    }
    s.apply(batch).expect("applied");
    let mut sorted = chunks.to_vec();
    sorted.sort();
    let want: Vec<Vec<u8>> = sorted.iter().map(|&c| key("g", b'r', c)).collect();
    let prefix = key("g", b'r', 0)[..3].to_vec();
    assert_eq!(s.keys_with_prefix(Keyspace::GraphChunks, &prefix).expect("keys"), want);
    let scanned = s.scan_prefix(Keyspace::GraphChunks, &prefix).expect("scan");
    assert_eq!(scanned.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(), want);
    assert!(scanned.iter().all(|(k, v)| k[3..] == v[..]), "each chunk's own value");
    assert_eq!(s.next_key(Keyspace::GraphChunks, &key("g", b'r', 257)).expect("next"), Some(key("g", b'r', 300)));
    assert_eq!(s.next_key(Keyspace::GraphChunks, &key("g", b'r', 70_001)).expect("next"), Some(key("g2", b'n', 0)));
    let range = s.keys_in_range(Keyspace::GraphChunks, &key("g", b'r', 200), &key("g", b'r', 512)).expect("range");
    assert_eq!(range, [255, 256, 300, 511].map(|c| key("g", b'r', c)).to_vec());
    let mut batch = WriteBatch::default();
    for graph in ["g2", "g"] {
        for kind in [b'r', b'n'] {
            for c in chunks {
                batch.delete(Keyspace::GraphChunks, key(graph, kind, c));
            }
        }
    }
    s.apply(batch).expect("applied");
    empty(s);
}

fn batches_apply_in_order(s: &dyn Storage) {
    let ks = Keyspace::Graph;
    let mut batch = WriteBatch::default();
    batch.put(ks, b"k".to_vec(), b"1".to_vec());
    batch.put(ks, b"k".to_vec(), b"2".to_vec()); // the later write of a key wins
    batch.put(ks, b"gone".to_vec(), b"x".to_vec());
    batch.delete(ks, b"gone".to_vec());
    batch.delete(ks, b"never".to_vec()); // deleting what is not there is no error
    s.apply(batch).expect("applied");
    assert_eq!(s.get(ks, b"k").expect("get"), Some(b"2".to_vec()));
    assert_eq!(s.get(ks, b"gone").expect("get"), None);
    let mut batch = WriteBatch::default();
    batch.delete(ks, b"k".to_vec());
    batch.put(ks, b"k".to_vec(), b"3".to_vec());
    s.apply(batch).expect("applied");
    assert_eq!(s.get(ks, b"k").expect("get"), Some(b"3".to_vec()));
    s.apply(WriteBatch::default()).expect("an empty batch");
    let mut batch = WriteBatch::default();
    batch.delete(ks, b"k".to_vec());
    s.apply(batch).expect("applied");
    s.flush().expect("flushed");
    empty(s);
}

fn values_of_every_size(s: &dyn Storage) {
    let sizes = [0usize, 1, 255, 65_536, 5 << 20];
    for ks in [Keyspace::Meta, Keyspace::Nodes, Keyspace::Regions, Keyspace::GraphChunks] {
        let mut batch = WriteBatch::default();
        for (i, size) in sizes.iter().enumerate() {
            let value: Vec<u8> = (0..*size).map(|b| (b * 31 + i) as u8).collect();
            batch.put(ks, k(ks, &[i as u8]), value);
        }
        // A value written ahead of its batch, as the graph bulk load writes them.
        let staged = s.stage(ks, vec![7; 100_000]).expect("staged");
        batch.put_staged(ks, k(ks, b"staged"), staged);
        s.apply(batch).expect("applied");
        for (i, size) in sizes.iter().enumerate() {
            let value = s.get(ks, &k(ks, &[i as u8])).expect("get").expect("present");
            assert_eq!(value.len(), *size, "{ks:?}");
            assert!(value.iter().enumerate().all(|(b, v)| *v == (b * 31 + i) as u8), "{ks:?} value {i}");
        }
        assert_eq!(s.get(ks, &k(ks, b"staged")).expect("get"), Some(vec![7; 100_000]));
        let mut batch = WriteBatch::default();
        for key in s.keys_with_prefix(ks, b"").expect("keys") {
            batch.delete(ks, key);
        }
        s.apply(batch).expect("applied");
    }
    empty(s);
}

/// A reader beside a writer sees, key by key, only values that were written, in the
/// order they were written, and at the end the last batch whole. (A scan beside an
/// apply may see some of the batch's writes and not others: the contract promises
/// atomicity against crashes, not isolation, which sprig gets by never reading what
/// a commit is changing.)
fn readers_beside_a_writer_see_writes_in_order(storage: &Arc<dyn Storage>) {
    const KEYS_PER_BATCH: u32 = 500;
    const ROUNDS: u32 = 20;
    let ks = Keyspace::Graph;
    let writer = {
        let storage = Arc::clone(storage);
        std::thread::spawn(move || {
            for round in 1..=ROUNDS {
                let mut batch = WriteBatch::default();
                for key in 0..KEYS_PER_BATCH {
                    batch.put(ks, key.to_be_bytes().to_vec(), round.to_be_bytes().to_vec());
                }
                storage.apply(batch).expect("applied");
            }
        })
    };
    let mut latest = vec![0u32; KEYS_PER_BATCH as usize];
    loop {
        let finished = writer.is_finished();
        for (key, value) in storage.scan_prefix(ks, b"").expect("scan") {
            let key = u32::from_be_bytes(key.try_into().expect("a 4-byte key")) as usize;
            let round = u32::from_be_bytes(value.try_into().expect("a 4-byte value"));
            assert!((1..=ROUNDS).contains(&round), "a value nobody wrote");
            assert!(round >= latest[key], "key {key} went back from round {} to {round}", latest[key]);
            latest[key] = round;
        }
        if finished {
            break;
        }
    }
    writer.join().expect("the writer");
    assert!(latest.iter().all(|&round| round == ROUNDS), "the last batch whole at the end");
    let mut batch = WriteBatch::default();
    for key in 0..KEYS_PER_BATCH {
        batch.delete(ks, key.to_be_bytes().to_vec());
    }
    storage.apply(batch).expect("applied");
}

#[test]
fn memory_storage_conforms() {
    check(&(Arc::new(MemoryStorage::default()) as Arc<dyn Storage>));
}

#[test]
fn sled_storage_conforms_and_keeps_what_it_flushed() {
    let dir = tempfile::tempdir().expect("a temp dir");
    {
        let sled: Arc<dyn Storage> = Arc::new(SledStorage::open(dir.path()).expect("opened"));
        check(&sled);
        let mut batch = WriteBatch::default();
        for ks in SPACES {
            batch.put(ks, k(ks, b"kept"), value_of(ks, b"kept"));
        }
        sled.apply(batch).expect("applied");
        sled.flush().expect("flushed");
    }
    let sled = SledStorage::open(dir.path()).expect("reopened");
    for ks in SPACES {
        assert_eq!(sled.get(ks, &k(ks, b"kept")).expect("get"), Some(value_of(ks, b"kept")), "{ks:?}");
    }
}

/// The same checks on a Redis Cluster of nine nodes on loopback, started here with
/// `scripts/redis-cluster.sh` (it needs `redis-server`, which `.ci/run` installs).
#[test]
fn redis_cluster_storage_conforms() {
    if !redis::cluster_tests_run() {
        return;
    }
    let cluster = redis::Cluster::start("7300");
    let storage: Arc<dyn Storage> = Arc::new(open_on(&cluster, "conformance"));
    check(&storage);
}

/// A handle on database `name` of `cluster` (each call a new one, as another
/// process would open it).
fn open_on(cluster: &redis::Cluster, name: &str) -> RedisClusterStorage {
    let seeds: Vec<String> = cluster.seeds.split(',').map(str::to_string).collect();
    RedisClusterStorage::open(&seeds, name).expect("connected")
}

/// Applies `pairs` (a value, or `None` to delete) to `ks` as one batch.
fn write(storage: &dyn Storage, ks: Keyspace, pairs: &[(&[u8], Option<&[u8]>)]) {
    let mut batch = WriteBatch::default();
    for (key, value) in pairs {
        match value {
            Some(v) => batch.put(ks, key.to_vec(), v.to_vec()),
            None => batch.delete(ks, key.to_vec()),
        }
    }
    storage.apply(batch).expect("applied");
}

/// Moves `storage` to the newest version, which must be newer than its own; returns it.
fn move_on(storage: &RedisClusterStorage) -> u64 {
    let newest = storage.newer_version().expect("asked").expect("a newer version");
    assert!(storage.read_at(newest).expect("moved"));
    newest
}

/// Two handles on one cluster database, as two processes: each reads at the version
/// it pinned until it moves, whatever the other writes meanwhile, and old versions
/// are collected once no handle reads below them.
#[test]
fn redis_cluster_handles_read_the_version_they_pinned() {
    if !redis::cluster_tests_run() {
        return;
    }
    let cluster = redis::Cluster::start("7350");
    let name = "versions";
    let writer = open_on(&cluster, name);
    let ks = Keyspace::Graph;
    let put = |pairs: &[(&[u8], Option<&[u8]>)]| write(&writer, ks, pairs);
    put(&[(b"x", Some(b"1")), (b"y", Some(b"1"))]);
    let reader = open_on(&cluster, name);
    assert_eq!(reader.newer_version().expect("asked"), None);
    put(&[(b"x", Some(b"2")), (b"y", None), (b"z", Some(b"3"))]);
    put(&[(b"x", Some(b"4"))]);
    // The reader still sees the version it pinned, in every kind of read.
    let pairs = |s: &RedisClusterStorage| -> Vec<(Vec<u8>, Vec<u8>)> { s.scan_prefix(ks, b"").expect("scanned") };
    let owned =
        |v: &[(&[u8], &[u8])]| -> Vec<(Vec<u8>, Vec<u8>)> { v.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect() };
    assert_eq!(pairs(&reader), owned(&[(b"x", b"1"), (b"y", b"1")]));
    assert_eq!(reader.get(ks, b"y").expect("read"), Some(b"1".to_vec()));
    assert_eq!(reader.get(ks, b"z").expect("read"), None);
    assert_eq!(reader.keys_with_prefix(ks, b"").expect("keys"), vec![b"x".to_vec(), b"y".to_vec()]);
    assert_eq!(reader.next_key(ks, b"y\x00").expect("next"), None);
    assert_eq!(pairs(&writer), owned(&[(b"x", b"4"), (b"z", b"3")]));
    assert_eq!(writer.next_key(ks, b"y").expect("next"), Some(b"z".to_vec()));
    // Moving on shows every write, and only then.
    let newest = move_on(&reader);
    assert!(!reader.read_at(newest).expect("there already"));
    assert_eq!(pairs(&reader), owned(&[(b"x", b"4"), (b"z", b"3")]));
    // With both handles at the newest version, later batches collect what they
    // replaced (a few batches' garbage at a time): x's older versions, the deleted y.
    for round in 0..10u8 {
        put(&[(b"w", Some(&[round]))]);
    }
    let client = ::redis::cluster::ClusterClient::new(
        cluster.seeds.split(',').map(|s| format!("redis://{s}")).collect::<Vec<_>>(),
    )
    .expect("a client");
    let mut conn = client.get_connection().expect("connected");
    let key = |kind: &str, hex_key: &str| format!("sprig:{{{name}:G:}}:{kind}:{hex_key}");
    let exists = |conn: &mut ::redis::cluster::ClusterConnection, k: String| -> bool {
        ::redis::cmd("EXISTS").arg(k).query::<i64>(conn).expect("asked") == 1
    };
    assert!(exists(&mut conn, key("v", "78")), "x is there");
    assert!(!exists(&mut conn, key("h", "78")), "x's old versions are collected");
    assert!(!exists(&mut conn, key("v", "79")), "the deleted y is collected");
    assert!(!exists(&mut conn, key("h", "79")));
    assert_eq!(reader.get(ks, b"x").expect("read"), Some(b"4".to_vec()));

    // A group emptied and collected by one writer leaves its keyspace's registry; the
    // other writer, which registered it once, adds it again when it writes there.
    let group = [0u8, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1];
    let key = |tail: &[u8]| [&group[..], tail].concat();
    write(&writer, Keyspace::Nodes, &[(&key(b"a"), Some(b"1"))]);
    move_on(&reader);
    write(&reader, Keyspace::Nodes, &[(&key(b"a"), None)]);
    move_on(&writer);
    for round in 0..10u8 {
        write(&reader, ks, &[(b"w", Some(&[round]))]);
    }
    move_on(&writer);
    write(&writer, Keyspace::Nodes, &[(&key(b"b"), Some(b"2"))]);
    assert_eq!(writer.scan_prefix(Keyspace::Nodes, &group).expect("scanned"), vec![(key(b"b"), b"2".to_vec())]);
    assert_eq!(reader.next_key(Keyspace::Nodes, &group).expect("next"), None, "the reader's pin is older");
}
