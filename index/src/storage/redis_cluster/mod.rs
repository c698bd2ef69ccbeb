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
mod scripts;

use presence::{LogKeys, Presence, LEASE_TTL, WRITER_WAIT};

/// How long a command is retried through a failover before its error is returned.
pub const RETRY_FOR: Duration = Duration::from_secs(30);

/// How long one `WAIT` gives the replicas (milliseconds); it is repeated until
/// [`RETRY_FOR`] has passed.
const WAIT_MS: u64 = 2000;

/// How many keys one read script reads (a group's keys are read in pieces).
const READ_PIECE: usize = 512;

/// Garbage records are collected when this many are due (or at every this many
/// batches, whatever is due), together: their keys of one group in one script call.
const COLLECT_AT_ONCE: u64 = 8;
/// At most this many records at a time.
const COLLECT_AT_MOST: usize = 64;

/// Values up to this size read by `get` are kept for the next read of the same key
/// (a label bitmap of 100,000 nodes is 16 KB), but for the keyspaces whose values
/// sprig keeps decoded in its own cache (XML node chunks and region segments, graph
/// chunks).
const CACHED_VALUE_MAX: usize = 256 << 10;
/// The most bytes of such values kept (all are dropped when it is reached).
const CACHED_BYTES_MAX: usize = 64 << 20;

/// Small values read by `get` at the pinned version, with absent keys: label bitmaps,
/// property index entries, graph metadata, `id()` entries, value index blocks,
/// catalog entries, which queries
/// read on every run and which would otherwise cost a round trip each. Valid for
/// the version the handle reads at: emptied when the pin moves, and the keys of this
/// process's own batches dropped when they are published.
#[derive(Default)]
struct ReadCache {
    /// Moves at every invalidation: a read that began before one is not kept.
    epoch: u64,
    values: std::collections::HashMap<(Keyspace, Vec<u8>), Option<Vec<u8>>>,
    bytes: usize,
}

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

/// `keys` (of one keyspace, in key order) in runs of one group, at most `piece` long.
fn runs_by_group(ks: Keyspace, keys: &[Vec<u8>], piece: usize) -> Vec<&[Vec<u8>]> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < keys.len() {
        let group = &keys[start][..group_len(ks, &keys[start])];
        let mut end = start + 1;
        while end < keys.len() && end - start < piece && keys[end][..group_len(ks, &keys[end])] == *group {
            end += 1;
        }
        out.push(&keys[start..end]);
        start = end;
    }
    out
}

/// Each group's operations (indexes into `ops`), the groups in the order `ops`
/// first names them.
fn by_group<T>(ops: &[(Keyspace, Vec<u8>, T)]) -> Vec<((Keyspace, String), Vec<usize>)> {
    let mut order: Vec<((Keyspace, String), Vec<usize>)> = Vec::new();
    let mut at: std::collections::HashMap<(Keyspace, String), usize> = std::collections::HashMap::new();
    for (i, (ks, key, _)) in ops.iter().enumerate() {
        let group = (*ks, hex(&key[..group_len(*ks, key)]));
        let slot = *at.entry(group.clone()).or_insert_with(|| {
            order.push((group, Vec::new()));
            order.len() - 1
        });
        order[slot].1.push(i);
    }
    order
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

    /// A key's value key and history key.
    fn version_keys(&self, ks: Keyspace, key: &[u8]) -> (String, String) {
        let tag = self.tag(ks, &hex(&key[..group_len(ks, key)]));
        let key = hex(key);
        (format!("{tag}:v:{key}"), format!("{tag}:h:{key}"))
    }

    /// The values (`values`) or presence (`Some(empty)`) of `keys`, all of one group,
    /// at this handle's version. Values are read with one `MGET`, and only those
    /// written after the pin are looked up again in their history, by a script: a
    /// script returning a large value costs a copy of it per step (a graph chunk read
    /// that way took 0.3 ms instead of 0.01).
    fn read_group(&self, ks: Keyspace, keys: &[Vec<u8>], values: bool) -> Result<Vec<Option<Vec<u8>>>> {
        if !values {
            return self.read_group_at(ks, keys, false);
        }
        let mut mget = redis::cmd("MGET");
        for key in keys {
            mget.arg(self.version_keys(ks, key).0);
        }
        let raw: Vec<Option<Vec<u8>>> = self.run(|c| mget.query(c))?;
        let pin = self.pinned();
        let mut out = Vec::with_capacity(keys.len());
        let mut newer = Vec::new();
        for (i, raw) in raw.into_iter().enumerate() {
            out.push(match raw {
                None => None,
                Some(mut stored) => {
                    let (version, live) = stored_header(&stored)?;
                    if version > pin {
                        newer.push(i);
                        None
                    } else if live {
                        stored.drain(..17);
                        Some(stored)
                    } else {
                        None
                    }
                }
            });
        }
        if !newer.is_empty() {
            let again: Vec<Vec<u8>> = newer.iter().map(|&i| keys[i].clone()).collect();
            for (i, value) in newer.into_iter().zip(self.read_group_at(ks, &again, true)?) {
                out[i] = value;
            }
        }
        Ok(out)
    }

    /// [`read_group`](Self::read_group) by the script that looks into history.
    fn read_group_at(&self, ks: Keyspace, keys: &[Vec<u8>], values: bool) -> Result<Vec<Option<Vec<u8>>>> {
        let mut invocation = self.scripts.read_at.prepare_invoke();
        let names: Vec<(String, String)> = keys.iter().map(|k| self.version_keys(ks, k)).collect();
        for (value, _) in &names {
            invocation.key(value);
        }
        for (_, history) in &names {
            invocation.key(history);
        }
        invocation.arg(version_text(self.pinned())).arg(if values { "1" } else { "0" });
        self.run(|c| invocation.invoke(c))
    }

    /// The keys of `ks` with `prefix` at this handle's version, with their values
    /// when `values`.
    fn read_prefix(&self, ks: Keyspace, prefix: &[u8], values: bool) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let from = hex(prefix);
        let mut candidates = Vec::new();
        for group in self.groups_for(ks, prefix)? {
            for key in self.group_keys(ks, &group, &from, 0)? {
                if !key.starts_with(&from) {
                    break;
                }
                candidates.push(unhex(&key)?);
            }
        }
        let mut out = Vec::with_capacity(candidates.len());
        for run in runs_by_group(ks, &candidates, READ_PIECE) {
            for (key, value) in run.iter().zip(self.read_group(ks, run, values)?) {
                if let Some(value) = value {
                    out.push((key.clone(), if values { value } else { Vec::new() }));
                }
            }
        }
        Ok(out)
    }

    /// The newest published version.
    fn published(&self) -> Result<u64> {
        let published: Option<u64> = self.run(|c| redis::cmd("GET").arg(self.log_key("seq")).query(c))?;
        Ok(published.unwrap_or(0))
    }

    fn pinned(&self) -> u64 {
        self.presence.pin.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Takes the writer lease for this process, waiting up to [`WRITER_WAIT`] for
    /// another process's writer, then finishes a batch a dead writer left unpublished.
    fn take_lease(&self) -> Result<()> {
        let deadline = Instant::now() + WRITER_WAIT;
        let mut pause = Duration::from_millis(1);
        let owner = self.log_key("owner");
        let ttl = LEASE_TTL.as_millis() as u64;
        let records = self.log_key("rec:");
        let (published, left) = loop {
            let mut take = self.scripts.take_lease.key(&owner);
            take.key(self.log_key("seq")).arg(&self.presence.token).arg(ttl).arg(&records);
            let reply: Vec<redis::Value> = self.run(|c| take.invoke(c))?;
            let field = |i: usize| reply.get(i).cloned().unwrap_or(redis::Value::Nil);
            let held: i64 = redis::from_redis_value(field(0)).map_err(|e| Error::corrupted("redis cluster", e))?;
            let what: String = redis::from_redis_value(field(1)).map_err(|e| Error::corrupted("redis cluster", e))?;
            if held == 1 {
                let published = what.parse::<u64>().map_err(|e| Error::corrupted("redis cluster", e))?;
                let left: Option<Vec<u8>> =
                    redis::from_redis_value(field(2)).map_err(|e| Error::corrupted("redis cluster", e))?;
                break (published, left);
            }
            if Instant::now() >= deadline {
                return Err(Error::Io(std::io::Error::new(
                    std::io::ErrorKind::WouldBlock,
                    format!(
                        "redis cluster: another process ({what}) has been writing to the database for {} s; \
                         its transaction or load must end first",
                        WRITER_WAIT.as_secs()
                    ),
                )));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        };
        use std::sync::atomic::Ordering::SeqCst;
        self.presence.lease_lost.store(false, SeqCst);
        self.presence.writing.store(true, SeqCst);
        if published != self.pinned() || left.is_some() {
            self.registered.lock().map_err(|_| Error::corrupted("redis cluster", "group registry poisoned"))?.clear();
        }
        self.published_seen.store(published, SeqCst);
        if let Some(bytes) = left {
            self.publish_batch(published + 1, &decode_record(&bytes)?, &bytes)?;
        }
        Ok(())
    }

    fn release_lease(&self) {
        let owner = self.log_key("owner");
        let mut release = self.scripts.release_lease.key(&owner);
        release.arg(&self.presence.token);
        self.presence.writing.store(false, std::sync::atomic::Ordering::SeqCst);
        // A lease that cannot be released now lapses after its time to live.
        let _ = self.run(|c| release.invoke::<i64>(c));
    }

    /// Writes batch `n` (`ops`, `record` encoded) and publishes it: the redo record,
    /// the groups at version `n`, then the version counter, each replicated.
    fn publish_batch(&self, n: u64, ops: &[Op], record: &[u8]) -> Result<()> {
        let record_key = self.log_key(&format!("rec:{n}"));
        let token = &self.presence.token;
        let mut write = self.scripts.write_record.key(self.log_key("owner"));
        write
            .key(self.log_key("seq"))
            .key(&record_key)
            .key(self.log_key("pins"))
            .key(self.log_key("pinexp"))
            .key(self.log_key("gcs"))
            .arg(token)
            .arg(n)
            .arg(record);
        let (low, due): (u64, u64) = self.write_replicated(&record_key, |c| write.invoke(c))?;
        let garbage = self.apply_groups(n, low, ops)?;
        self.presence.check_lease()?;
        let garbage_key = self.log_key(&format!("gc:{n}"));
        let mut publish = self.scripts.publish.key(self.log_key("owner"));
        publish
            .key(self.log_key("seq"))
            .key(&record_key)
            .key(&garbage_key)
            .key(self.log_key("gcs"))
            .key(self.log_key("pins"))
            .arg(token)
            .arg(n)
            .arg(encode_record(&garbage));
        self.write_replicated(&record_key, |c| publish.invoke::<u64>(c))?;
        // The pin first: a read that finds the cache's new epoch reads at version n.
        self.presence.pin.store(n, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut cache) = self.cache.lock() {
            cache.epoch += 1;
            for (ks, key, _) in ops {
                cache.values.remove(&(*ks, key.clone()));
            }
        }
        self.published_seen.store(n, std::sync::atomic::Ordering::SeqCst);
        // Collecting is housekeeping: the batch is published whatever happens here,
        // and what is left is collected after a later batch.
        if due >= COLLECT_AT_ONCE || (due > 0 && n % COLLECT_AT_ONCE == 0) {
            let _ = self.collect(low);
        }
        Ok(())
    }

    /// Writes `ops` at version `n`, group by group, each group in one Lua call,
    /// each replicated before the next. `low` is the low-water mark. Returns the keys
    /// that now have older versions or are deleted.
    fn apply_groups(&self, n: u64, low: u64, ops: &[Op]) -> Result<Vec<Op>> {
        let order = by_group(ops);
        let keyspaces: Vec<Keyspace> =
            Keyspace::ALL.into_iter().filter(|ks| order.iter().any(|((k, _), _)| k == ks)).collect();
        let poisoned = || Error::corrupted("redis cluster", "group registry poisoned");
        for ks in keyspaces {
            let new: Vec<&String> = {
                let known = self.registered.lock().map_err(|_| poisoned())?;
                order
                    .iter()
                    .filter(|((k, g), _)| *k == ks && !known.contains(&(ks, g.clone())))
                    .map(|((_, g), _)| g)
                    .collect()
            };
            if new.is_empty() {
                continue;
            }
            let registry = self.groups_key(ks);
            let mut zadd = redis::cmd("ZADD");
            zadd.arg(&registry);
            for group in &new {
                zadd.arg(0).arg(*group);
            }
            self.write_replicated(&registry, |c| zadd.query::<i64>(c))?;
            self.registered.lock().map_err(|_| poisoned())?.extend(new.into_iter().map(|g| (ks, g.clone())));
        }
        let (version, low) = (version_text(n), version_text(low));
        let mut garbage = Vec::new();
        for ((ks, group), members) in order {
            // Checked before each group: a writer that lost its lease stops soon.
            self.presence.check_lease()?;
            let index = format!("{}:i", self.tag(ks, &group));
            let mut invocation = self.scripts.apply_group.prepare_invoke();
            invocation.key(&index);
            for &i in &members {
                let (value, history) = self.version_keys(ks, &ops[i].1);
                invocation.key(value).key(history);
            }
            invocation.arg(&version).arg(&low);
            for &i in &members {
                let (_, key, value) = &ops[i];
                invocation.arg(if value.is_some() { "p" } else { "d" }).arg(hex(key));
            }
            for &i in &members {
                if let Some(value) = &ops[i].2 {
                    invocation.arg(value.as_slice());
                }
            }
            let kept: Vec<String> = self.write_replicated(&index, |c| invocation.invoke(c))?;
            for member in kept {
                garbage.push((ks, unhex(&member)?, None));
            }
        }
        Ok(garbage)
    }

    /// Collects the garbage of published batches no pin is below (`low`), oldest
    /// first: their keys merged, one script call per group.
    fn collect(&self, low: u64) -> Result<()> {
        let index = self.log_key("gcs");
        let due: Vec<String> = self.run(|c| {
            redis::cmd("ZRANGEBYSCORE").arg(&index).arg("-inf").arg(low).arg("LIMIT").arg(0).arg(COLLECT_AT_MOST).query(c)
        })?;
        if due.is_empty() {
            return Ok(());
        }
        let records: Vec<String> = due.iter().map(|n| self.log_key(&format!("gc:{n}"))).collect();
        let mut mget = redis::cmd("MGET");
        mget.arg(&records);
        let lists: Vec<Option<Vec<u8>>> = self.run(|c| mget.query(c))?;
        let mut keys = std::collections::HashSet::new();
        for list in lists.into_iter().flatten() {
            keys.extend(decode_record(&list)?.into_iter().map(|(ks, key, _)| (ks, key)));
        }
        let keys: Vec<(Keyspace, Vec<u8>, ())> = keys.into_iter().map(|(ks, key)| (ks, key, ())).collect();
        let low_text = version_text(low);
        for ((ks, group), members) in by_group(&keys) {
            let mut invocation = self.scripts.compact.prepare_invoke();
            invocation.key(format!("{}:i", self.tag(ks, &group)));
            for &i in &members {
                let (value, history) = self.version_keys(ks, &keys[i].1);
                invocation.key(value).key(history);
            }
            invocation.arg(&low_text);
            for &i in &members {
                invocation.arg(hex(&keys[i].1));
            }
            let left: i64 = self.run(|c| invocation.invoke(c))?;
            if left == 0 {
                // Scans walk the registry's groups: an empty one would cost each a
                // round trip. A later write of the group adds it again.
                self.run(|c| redis::cmd("ZREM").arg(self.groups_key(ks)).arg(&group).query::<i64>(c))?;
                if let Ok(mut known) = self.registered.lock() {
                    known.remove(&(ks, group));
                }
            }
        }
        let mut forget = self.scripts.forget_garbage.key(&index);
        forget.key(&records).arg(&due);
        self.run(|c| forget.invoke::<i64>(c))?;
        Ok(())
    }
}

/// The version a stored value was written at, and whether it is a value (not a
/// deletion): its first 17 bytes (see `scripts.rs`).
fn stored_header(stored: &[u8]) -> Result<(u64, bool)> {
    let broken = || Error::corrupted("redis cluster", "a stored value has no version (written by an older sprig?)");
    let version = stored.get(..16).and_then(|h| std::str::from_utf8(h).ok()).ok_or_else(broken)?;
    let version = u64::from_str_radix(version, 16).map_err(|_| broken())?;
    match stored.get(16) {
        Some(b'v') => Ok((version, true)),
        Some(b'd') => Ok((version, false)),
        _ => Err(broken()),
    }
}

/// A batch's writes: keyspace, key, and the value (`None` to delete).
fn encode_record(ops: &[Op]) -> Vec<u8> {
    let mut out = Vec::new();
    for (ks, key, value) in ops {
        out.push(ks.tag());
        out.extend_from_slice(&(key.len() as u32).to_be_bytes());
        out.extend_from_slice(key);
        match value {
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&(v.len() as u32).to_be_bytes());
                out.extend_from_slice(v);
            }
            None => out.push(0),
        }
    }
    out
}

fn decode_record(bytes: &[u8]) -> Result<Vec<Op>> {
    let broken = || Error::corrupted("redis cluster", "a redo record does not decode");
    let mut ops = Vec::new();
    let mut at = 0usize;
    let take = |n: usize, at: &mut usize| -> Result<&[u8]> {
        let slice = bytes.get(*at..*at + n).ok_or_else(broken)?;
        *at += n;
        Ok(slice)
    };
    while at < bytes.len() {
        let tag = take(1, &mut at)?[0];
        let ks = Keyspace::from_tag(tag).ok_or_else(broken)?;
        let len = u32::from_be_bytes(take(4, &mut at)?.try_into().map_err(|_| broken())?) as usize;
        let key = take(len, &mut at)?.to_vec();
        let value = match take(1, &mut at)?[0] {
            1 => {
                let len = u32::from_be_bytes(take(4, &mut at)?.try_into().map_err(|_| broken())?) as usize;
                Some(take(len, &mut at)?.to_vec())
            }
            _ => None,
        };
        ops.push((ks, key, value));
    }
    Ok(ops)
}

impl Storage for RedisClusterStorage {
    fn get(&self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let poisoned = || Error::corrupted("redis cluster", "read cache poisoned");
        let epoch = {
            let cache = self.cache.lock().map_err(|_| poisoned())?;
            if let Some(value) = cache.values.get(&(ks, key.to_vec())) {
                return Ok(value.clone());
            }
            cache.epoch
        };
        let value = self.read_group(ks, &[key.to_vec()], true)?.pop().flatten();
        let size = key.len() + value.as_ref().map_or(0, Vec::len);
        if size <= CACHED_VALUE_MAX && !matches!(ks, Keyspace::Nodes | Keyspace::Regions | Keyspace::GraphChunks) {
            let mut cache = self.cache.lock().map_err(|_| poisoned())?;
            if cache.epoch == epoch {
                if cache.bytes + size > CACHED_BYTES_MAX {
                    cache.values.clear();
                    cache.bytes = 0;
                }
                cache.bytes += size;
                cache.values.insert((ks, key.to_vec()), value.clone());
            }
        }
        Ok(value)
    }

    fn scan_prefix(&self, ks: Keyspace, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.read_prefix(ks, prefix, true)
    }

    fn keys_with_prefix(&self, ks: Keyspace, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        Ok(self.read_prefix(ks, prefix, false)?.into_iter().map(|(key, _)| key).collect())
    }

    fn next_key(&self, ks: Keyspace, from: &[u8]) -> Result<Option<Vec<u8>>> {
        let from_hex = hex(from);
        let all: Vec<String> = self.run(|c| redis::cmd("ZRANGE").arg(self.groups_key(ks)).arg(0).arg(-1).query(c))?;
        for group in all {
            // A group whose keys are all below `from` is passed over.
            if group.as_str() < from_hex.get(..group.len()).unwrap_or(&from_hex) {
                continue;
            }
            // Keys deleted (or not yet written) at this version are passed over too.
            let mut at = from_hex.clone();
            loop {
                let page = self.group_keys(ks, &group, &at, 16)?;
                let keys = page.iter().map(|k| unhex(k)).collect::<Result<Vec<_>>>()?;
                let present = self.read_group(ks, &keys, false)?;
                if let Some(found) = keys.iter().zip(present).find_map(|(k, p)| p.map(|_| k.clone())) {
                    return Ok(Some(found));
                }
                match page.last() {
                    // The smallest key after the last one.
                    Some(last) if page.len() == 16 => at = format!("{last}00"),
                    _ => break,
                }
            }
        }
        Ok(None)
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
