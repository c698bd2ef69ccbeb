//! `Storage` on a Redis Cluster, shared by any number of sprig processes.
//!
//! Layout, all keys of one database under `sprig:` and its name:
//! - a key's *group* is what must stay together in one hash slot: for the
//!   generation-keyed data keyspaces the generation and document (12 bytes), for
//!   `DocMeta` the generation, for graph chunks 256 consecutive chunks of one graph
//!   and kind, for the rest the whole keyspace;
//! - `sprig:{DB:KS:GROUP}:v:KEY` holds a key's newest version, `...:h:KEY` older
//!   versions readers may still need, `...:i` is the sorted set of the group's keys
//!   (all scored 0, so ordered by bytes), all in the group's slot; keys and groups
//!   are written in hex, whose order is the bytes';
//! - `sprig:{DB:KS}:groups` is the sorted set of a keyspace's groups, so that a scan
//!   walks the groups in key order;
//! - `sprig:{DB:log}:...` (one slot) holds the published version `seq`, the writer
//!   lease, the processes' pins, redo records and what to collect.
//!
//! Versions (multiversion concurrency): every batch is one version. The writer
//! writes batch N's redo record, then each group in one Lua call that stores the new
//! values at version N beside the old ones, then publishes N (the counter moves from
//! N - 1 to N and the record goes, in one script). A process reads at its pin, a
//! published version, so it never sees part of a batch, whatever the slots; it moves
//! its pin forward between statements ([`Storage::newer_version`]). Versions no pin
//! can reach are collected after later batches. A batch whose writer died before
//! publishing is finished (replayed from its record) by the next writer.
//!
//! Durability through failover: a master acknowledges a write before its replicas
//! have it, and a failover loses what no replica had. So every step of `apply`
//! (the record, each group, the publication) is followed by `WAIT 1` on the master
//! of that slot, and `apply` returns only once a replica holds the whole batch; a
//! batch that returns Ok survives the loss of any one master. Every command is
//! idempotent, so each is retried through redirections, failovers (`CLUSTERDOWN`,
//! `TRYAGAIN`, `NOREPLICAS`, dropped connections) and timeouts for up to
//! [`RETRY_FOR`], with a fresh connection after a failure.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::cluster::{ClusterClient, ClusterConnection};
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, Slot, SlotAddr};
use redis::{ErrorKind, RedisError, RedisResult, ServerErrorKind};

use super::{Keyspace, Storage, Write, WriteBatch};
use crate::{Error, Result};

mod presence;
mod reads;
mod scripts;
mod writes;

use presence::{LogKeys, Presence, LEASE_TTL, WRITER_WAIT};
use reads::{Answer, Read, ReadCache};
use writes::encode_record;

/// How long a command is retried through a failover before its error is returned.
pub const RETRY_FOR: Duration = Duration::from_secs(30);

/// How long one `WAIT` gives the replicas (milliseconds); it is repeated until
/// [`RETRY_FOR`] has passed.
const WAIT_MS: u64 = 2000;

/// One operation of a batch: keyspace, key, and the value (`None` to delete).
type Op = (Keyspace, Vec<u8>, Option<Vec<u8>>);

/// The scripts, loaded once per connection (`EVALSHA`, loaded again on `NOSCRIPT`).
struct Scripts {
    apply_group: redis::Script,
    read_at: redis::Script,
    compact: redis::Script,
    write_record: redis::Script,
    publish: redis::Script,
    pin: redis::Script,
    take_lease: redis::Script,
    release_lease: redis::Script,
    forget_garbage: redis::Script,
}

/// A database on a Redis Cluster.
pub struct RedisClusterStorage {
    name: String,
    client: ClusterClient,
    /// The connection; `None` after a failure, made again on the next command.
    conn: Mutex<Option<ClusterConnection>>,
    scripts: Scripts,
    /// Batches of this process go one at a time: each is the next version.
    applying: Mutex<()>,
    /// Replicas a write must reach before `apply` returns: 1, or 0 on a cluster
    /// without replicas (where a failover cannot happen anyway).
    wait_for: u32,
    presence: Presence,
    /// The published version as this process last saw it while holding the lease
    /// (then nobody else publishes, so it need not ask).
    published_seen: std::sync::atomic::AtomicU64,
    /// Groups known to be in their keyspace's registry: a batch adds only others.
    /// Valid while no other process wrote (only a writer collects, which removes
    /// empty groups), so forgotten when another did.
    registered: Mutex<std::collections::HashSet<(Keyspace, String)>>,
    cache: Mutex<ReadCache>,
}

impl std::fmt::Debug for RedisClusterStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisClusterStorage({})", self.name)
    }
}

fn redis_error(e: RedisError) -> Error {
    Error::Io(std::io::Error::other(format!("redis cluster: {e}")))
}

/// Errors a failover or a resharding causes for a while, after which the same
/// command succeeds.
fn transient(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_timeout()
        || e.is_cluster_error()
        || matches!(
            e.kind(),
            ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::MasterDown | ServerErrorKind::ReadOnly | ServerErrorKind::BusyLoading
                )
        )
        // A master refusing writes while it has no replica (min-replicas-to-write).
        || e.code() == Some("NOREPLICAS")
}

/// The route to the master of `key`'s slot.
fn master_of(key: &str) -> RoutingInfo {
    RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::with_slot(Slot::for_key(key), SlotAddr::Master)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Result<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| Error::corrupted("redis cluster", format!("'{text}' is not a hex key")))
        })
        .collect()
}

/// A version as the scripts compare them: 16 hex digits.
fn version_text(version: u64) -> String {
    format!("{version:016x}")
}

/// How many leading bytes of a key make its group. A group is always a prefix of
/// its keys, and shorter than another key's group only when it is its whole key:
/// then groups sort as their keys do, and a scan that walks the groups in order
/// walks the keys in order.
fn group_len(ks: Keyspace, key: &[u8]) -> usize {
    match ks {
        // Generation (8 bytes) and document (4).
        Keyspace::Nodes | Keyspace::Postings | Keyspace::Ids | Keyspace::Regions => key.len().min(12),
        Keyspace::DocMeta => key.len().min(8),
        // `G 0 kind chunk:u64 ...`: 256 consecutive chunks of one kind share a slot,
        // so a large graph spreads over the masters.
        Keyspace::GraphChunks => match key.iter().position(|&b| b == 0) {
            Some(nul) => (nul + 2 + 7).min(key.len()),
            None => key.len(),
        },
        _ => 0,
    }
}

impl RedisClusterStorage {
    /// Connects to the cluster through `seeds` (`HOST:PORT`) and opens database
    /// `name`, reading at its newest published version.
    pub fn open(seeds: &[String], name: &str) -> Result<Self> {
        let urls: Vec<String> = seeds.iter().map(|s| format!("redis://{s}")).collect();
        let client = ClusterClient::builder(urls)
            .connection_timeout(Duration::from_secs(2))
            .response_timeout(Duration::from_secs(10))
            .build()
            .map_err(redis_error)?;
        let log_key = |suffix: &str| format!("sprig:{{{name}:log}}:{suffix}");
        let keys =
            LogKeys { owner: log_key("owner"), seq: log_key("seq"), pins: log_key("pins"), pinexp: log_key("pinexp") };
        let presence = Presence::start(&client, keys)?;
        let mut storage = RedisClusterStorage {
            name: name.to_string(),
            client,
            conn: Mutex::new(None),
            scripts: Scripts {
                apply_group: redis::Script::new(scripts::APPLY_GROUP),
                read_at: redis::Script::new(scripts::READ_AT),
                compact: redis::Script::new(scripts::COMPACT),
                write_record: redis::Script::new(&scripts::write_record()),
                publish: redis::Script::new(scripts::PUBLISH),
                pin: redis::Script::new(scripts::PIN),
                take_lease: redis::Script::new(scripts::TAKE_LEASE),
                release_lease: redis::Script::new(scripts::RELEASE_LEASE),
                forget_garbage: redis::Script::new(scripts::FORGET_GARBAGE),
            },
            applying: Mutex::new(()),
            wait_for: 0,
            presence,
            published_seen: std::sync::atomic::AtomicU64::new(0),
            registered: Mutex::default(),
            cache: Mutex::default(),
        };
        let nodes: String = storage.run(|c| redis::cmd("CLUSTER").arg("NODES").query(c))?;
        storage.wait_for = u32::from(nodes.lines().any(|l| l.split(' ').nth(2).is_some_and(|f| f.contains("slave"))));
        Ok(storage)
    }

    /// Runs `command` on the cluster, again (on a new connection, after a pause that
    /// grows) while it fails with a [`transient`] error, for up to [`RETRY_FOR`].
    /// Only idempotent commands go through here.
    fn run<T>(&self, mut command: impl FnMut(&mut ClusterConnection) -> RedisResult<T>) -> Result<T> {
        let deadline = Instant::now() + RETRY_FOR;
        let mut pause = Duration::from_millis(50);
        loop {
            let result = {
                let mut slot =
                    self.conn.lock().map_err(|_| Error::corrupted("redis cluster", "connection lock poisoned"))?;
                let result = match slot.as_mut() {
                    Some(conn) => command(conn),
                    None => self.client.get_connection().and_then(|mut conn| {
                        let result = command(&mut conn);
                        *slot = Some(conn);
                        result
                    }),
                };
                if result.is_err() {
                    // Its view of the slots may be stale, or its sockets dead.
                    *slot = None;
                }
                result
            };
            match result {
                Ok(value) => return Ok(value),
                Err(e) if transient(&e) && Instant::now() + pause < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                Err(e) => return Err(redis_error(e)),
            }
        }
    }

    /// Runs `write`, then `WAIT` on the master of `key`'s slot, on one connection
    /// and as one retried unit: on a new connection `WAIT` would not cover what the
    /// old one wrote, so the (idempotent) writes are sent again.
    fn write_replicated<T>(
        &self,
        key: &str,
        mut write: impl FnMut(&mut ClusterConnection) -> RedisResult<T>,
    ) -> Result<T> {
        let wait_for = self.wait_for;
        let mut wait = redis::cmd("WAIT");
        wait.arg(wait_for).arg(WAIT_MS);
        self.run(|c| {
            let written = write(c)?;
            if wait_for == 0 {
                return Ok(written);
            }
            let acked: i64 = redis::from_redis_value(c.route_command(&wait, master_of(key))?)?;
            if acked < i64::from(wait_for) {
                return Err(RedisError::from((
                    ErrorKind::Io,
                    "no replica acknowledged a write in time (it is on its master, and may or may not survive a failover)",
                )));
            }
            Ok(written)
        })
    }

    fn tag(&self, ks: Keyspace, group: &str) -> String {
        format!("sprig:{{{}:{}:{group}}}", self.name, ks.tag() as char)
    }

    fn groups_key(&self, ks: Keyspace) -> String {
        format!("sprig:{{{}:{}}}:groups", self.name, ks.tag() as char)
    }

    fn log_key(&self, suffix: &str) -> String {
        format!("sprig:{{{}:log}}:{suffix}", self.name)
    }

    /// The keyspace's groups a key with `prefix` can be in, in key order.
    fn groups_for(&self, ks: Keyspace, prefix: &[u8]) -> Result<Vec<String>> {
        let all: Vec<String> = self.run(|c| redis::cmd("ZRANGE").arg(self.groups_key(ks)).arg(0).arg(-1).query(c))?;
        let prefix = hex(prefix);
        Ok(all.into_iter().filter(|g| g.starts_with(&prefix) || prefix.starts_with(g.as_str())).collect())
    }

    /// The keys of one group from `from` (inclusive, hex), at most `limit` (0: all),
    /// whether or not they exist at this handle's version.
    fn group_keys(&self, ks: Keyspace, group: &str, from: &str, limit: usize) -> Result<Vec<String>> {
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(format!("{}:i", self.tag(ks, group))).arg(format!("[{from}")).arg("+").arg("BYLEX");
        if limit > 0 {
            cmd.arg("LIMIT").arg(0).arg(limit);
        }
        self.run(|c| cmd.query(c))
    }

    /// The newest published version.
    fn published(&self) -> Result<u64> {
        let published: Option<u64> = self.run(|c| redis::cmd("GET").arg(self.log_key("seq")).query(c))?;
        Ok(published.unwrap_or(0))
    }

    fn pinned(&self) -> u64 {
        self.presence.pin.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Storage for RedisClusterStorage {
    fn get(&self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.cached(Read::Get, ks, key, || {
            Ok(Answer::Value(self.read_group(ks, &[key.to_vec()], true)?.pop().flatten()))
        })? {
            Answer::Value(value) => Ok(value),
            _ => Err(Error::corrupted("redis cluster", "read cache mixed up its answers")),
        }
    }

    fn scan_prefix(&self, ks: Keyspace, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        match self.cached(Read::Scan, ks, prefix, || Ok(Answer::Pairs(self.read_prefix(ks, prefix, true)?)))? {
            Answer::Pairs(pairs) => Ok(pairs),
            _ => Err(Error::corrupted("redis cluster", "read cache mixed up its answers")),
        }
    }

    fn keys_with_prefix(&self, ks: Keyspace, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        let load = || Ok(Answer::Keys(self.read_prefix(ks, prefix, false)?.into_iter().map(|(key, _)| key).collect()));
        match self.cached(Read::Keys, ks, prefix, load)? {
            Answer::Keys(keys) => Ok(keys),
            _ => Err(Error::corrupted("redis cluster", "read cache mixed up its answers")),
        }
    }

    fn next_key(&self, ks: Keyspace, from: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.cached(Read::Next, ks, from, || Ok(Answer::Value(self.find_next_key(ks, from)?)))? {
            Answer::Value(key) => Ok(key),
            _ => Err(Error::corrupted("redis cluster", "read cache mixed up its answers")),
        }
    }

    fn apply(&self, batch: WriteBatch) -> Result<()> {
        let ops: Vec<Op> = batch
            .ops
            .into_iter()
            .map(|(ks, key, write)| match write {
                Write::Put(v) => (ks, key, Some(v)),
                Write::Staged(staged) => (ks, key, Some(staged.bytes)),
                Write::Delete => (ks, key, None),
            })
            .collect();
        if ops.is_empty() {
            return Ok(());
        }
        // A write outside a transaction (`begin_writes`) holds the lease for itself.
        let own = !self.presence.writing.load(std::sync::atomic::Ordering::SeqCst);
        if own {
            self.begin_writes()?;
        }
        let result = (|| {
            let _one_at_a_time =
                self.applying.lock().map_err(|_| Error::corrupted("redis cluster", "apply lock poisoned"))?;
            self.presence.check_lease()?;
            // A batch of a transaction builds on what the transaction read, at the
            // version it caught up to when it took the lease; the record's fence
            // checks that. One outside a transaction is checked here, to say why.
            let published = if own { self.published()? } else { self.pinned() };
            if published != self.pinned() {
                return Err(Error::Io(std::io::Error::other(format!(
                    "redis cluster: another process changed the database (version {published}) since this one \
                     read it (version {}); run the statement again",
                    self.pinned()
                ))));
            }
            self.publish_batch(self.pinned() + 1, &ops, &encode_record(&ops))
        })();
        if own {
            self.end_writes();
        }
        result
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn newer_version(&self) -> Result<Option<u64>> {
        use std::sync::atomic::Ordering::SeqCst;
        let lapsed = self.presence.pin_lapsed.load(SeqCst);
        // While this process holds the lease nobody else publishes.
        let published =
            if self.presence.writing.load(SeqCst) { self.published_seen.load(SeqCst) } else { self.published()? };
        Ok((published > self.pinned() || lapsed).then_some(published))
    }

    fn read_at(&self, version: u64) -> Result<bool> {
        use std::sync::atomic::Ordering::SeqCst;
        if version <= self.pinned() && !self.presence.pin_lapsed.load(SeqCst) {
            return Ok(false);
        }
        let mut pin = self.scripts.pin.key(self.log_key("seq"));
        pin.key(self.log_key("pins"))
            .key(self.log_key("pinexp"))
            .arg(&self.presence.token)
            .arg(version)
            .arg(presence::PIN_TTL.as_millis() as u64);
        let _: (u64, i64) = self.run(|c| pin.invoke(c))?;
        // The pin first: a read that finds the cache's new epoch reads at the new pin.
        self.presence.pin.fetch_max(version, SeqCst);
        if let Ok(mut cache) = self.cache.lock() {
            *cache = ReadCache { epoch: cache.epoch + 1, ..ReadCache::default() };
        }
        self.presence.pin_lapsed.store(false, SeqCst);
        Ok(true)
    }

    fn begin_writes(&self) -> Result<()> {
        let mut writers =
            self.presence.writers.lock().map_err(|_| Error::corrupted("redis cluster", "writer count poisoned"))?;
        if *writers == 0 {
            self.take_lease()?;
        }
        *writers += 1;
        Ok(())
    }

    fn end_writes(&self) {
        let Ok(mut writers) = self.presence.writers.lock() else { return };
        *writers = writers.saturating_sub(1);
        if *writers == 0 {
            self.release_lease();
        }
    }

    fn shared(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scans walk groups in order and each group's keys in order, which is key order
    /// only if a key's group never sorts before a smaller key's group.
    #[test]
    fn groups_sort_as_their_keys() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let alphabet = [0u8, 1, 2, b'a', b'n', 0xff];
        let mut keys: Vec<Vec<u8>> = (0..3000)
            .map(|_| (0..next(16)).map(|_| alphabet[next(alphabet.len() as u64) as usize]).collect())
            .collect();
        keys.sort();
        for ks in Keyspace::ALL {
            for pair in keys.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                let (ga, gb) = (&a[..group_len(ks, a)], &b[..group_len(ks, b)]);
                assert!(ga <= gb, "{ks:?}: {a:?} < {b:?} but group {ga:?} > {gb:?}");
            }
        }
    }

    #[test]
    fn graph_chunks_share_a_group_by_256() {
        let key = |chunk: u64| crate::keys::graph::chunk_key("g", crate::graph::chunk::ChunkKind::Rels, chunk);
        let group = |chunk: u64| key(chunk)[..group_len(Keyspace::GraphChunks, &key(chunk))].to_vec();
        assert_eq!(group(0), group(255));
        assert_ne!(group(255), group(256));
        assert_eq!(group(256), group(511));
    }
}
