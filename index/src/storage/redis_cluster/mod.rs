//! `Storage` on a Redis Cluster (issue 23, first version).
//!
//! Layout, all keys of one database under `sprig:` and its name:
//! - a key's *group* is what must stay together in one hash slot: for the
//!   generation-keyed data keyspaces the generation and document (12 bytes), for
//!   `DocMeta` the generation, for graph chunks 256 consecutive chunks of one graph
//!   and kind, for the rest the whole keyspace;
//! - `sprig:{DB:KS:GROUP}:v:KEY` holds a value, `sprig:{DB:KS:GROUP}:i` is the sorted
//!   set of the group's keys (all scored 0, so ordered by bytes), both in the
//!   group's slot; keys and groups are written in hex, whose order is the bytes';
//! - `sprig:{DB:KS}:groups` is the sorted set of a keyspace's groups, so that a scan
//!   walks the groups in key order.
//!
//! `apply` first writes the whole batch as one redo record (`sprig:{DB:log}:N`, one
//! slot, one SET), then applies it group by group, each group in one Lua call (atomic
//! within its slot), in the order the batch first names them, then deletes the
//! record. Opening replays records a crashed writer left, so a batch is all or
//! nothing after a crash, as the trait promises; readers beside an apply may see
//! some groups done and not others, which the trait allows.
//!
//! Durability through failover: a master acknowledges a write before its replicas
//! have it, and a failover loses what no replica had. So every step of `apply`
//! (the record, each group, the record's removal) is followed by `WAIT 1` on the
//! master of that slot, and `apply` returns only once a replica holds the whole
//! batch; a batch that returns Ok survives the loss of any one master. Every
//! command is idempotent (SET, DEL, ZADD, ZREM, a group's script, reads), so each
//! is retried through redirections, failovers (`CLUSTERDOWN`, `TRYAGAIN`,
//! `NOREPLICAS`, dropped connections) and timeouts for up to [`RETRY_FOR`], with
//! a fresh connection after a failure.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::cluster::{ClusterClient, ClusterConnection};
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, Slot, SlotAddr};
use redis::{ErrorKind, RedisError, RedisResult, ServerErrorKind};

use super::{Keyspace, Storage, Write, WriteBatch};
use crate::{Error, Result};

mod lease;

const APPLY_GROUP: &str = r#"
local idx = KEYS[1]
for i = 2, #KEYS do
  local op, member = ARGV[2 * i - 3], ARGV[2 * i - 2]
  if op == 'p' then
    redis.call('SET', KEYS[i], ARGV[#KEYS * 2 - 2 + i - 1])
    redis.call('ZADD', idx, 0, member)
  else
    redis.call('DEL', KEYS[i])
    redis.call('ZREM', idx, member)
  end
end
return #KEYS - 1
"#;

/// Writes batch N's redo record, fenced by the owner lease (same slot). KEYS: owner,
/// seq, record. ARGV: token, N, record. Idempotent: a retry after a lost reply finds
/// the counter at N already.
const WRITE_RECORD: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('SPRIGLEASE this process does not hold the database lease')
end
local at = tonumber(redis.call('GET', KEYS[2]) or '0')
local n = tonumber(ARGV[2])
if at == n then
  return n
end
if at ~= n - 1 then
  return redis.error_reply('SPRIGSEQ another process wrote to the database')
end
redis.call('SET', KEYS[3], ARGV[3])
redis.call('SET', KEYS[2], ARGV[2])
return n
"#;

/// How long a command is retried through a failover before its error is returned.
pub const RETRY_FOR: Duration = Duration::from_secs(30);

/// How long one `WAIT` gives the replicas (milliseconds); it is repeated until
/// [`RETRY_FOR`] has passed.
const WAIT_MS: u64 = 2000;

/// A database on a Redis Cluster.
pub struct RedisClusterStorage {
    name: String,
    client: ClusterClient,
    /// The connection; `None` after a failure, made again on the next command.
    conn: Mutex<Option<ClusterConnection>>,
    apply_group: redis::Script,
    write_record: redis::Script,
    /// Batches go one at a time (the XML and graph stores commit independently): each
    /// takes the next number of the batch counter, which its fence checks.
    applying: Mutex<()>,
    /// Replicas a write must reach before `apply` returns: 1, or 0 on a cluster
    /// without replicas (where a failover cannot happen anyway).
    wait_for: u32,
    /// This process's hold on the database; `None` only while opening.
    lease: Option<lease::Lease>,
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
    /// `name`, replaying any batch a crashed writer left half applied.
    pub fn open(seeds: &[String], name: &str) -> Result<Self> {
        let urls: Vec<String> = seeds.iter().map(|s| format!("redis://{s}")).collect();
        let client = ClusterClient::builder(urls)
            .connection_timeout(Duration::from_secs(2))
            .response_timeout(Duration::from_secs(10))
            .build()
            .map_err(redis_error)?;
        let mut storage = RedisClusterStorage {
            name: name.to_string(),
            client,
            conn: Mutex::new(None),
            apply_group: redis::Script::new(APPLY_GROUP),
            write_record: redis::Script::new(WRITE_RECORD),
            applying: Mutex::new(()),
            wait_for: 0,
            lease: None,
        };
        storage.lease = Some(lease::Lease::take(&storage.client, &storage.log_key("owner"), &storage.log_key("seq"))?);
        let nodes: String = storage.run(|c| redis::cmd("CLUSTER").arg("NODES").query(c))?;
        storage.wait_for = u32::from(nodes.lines().any(|l| l.split(' ').nth(2).is_some_and(|f| f.contains("slave"))));
        storage.replay()?;
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
    fn write_replicated(
        &self,
        key: &str,
        mut write: impl FnMut(&mut ClusterConnection) -> RedisResult<()>,
    ) -> Result<()> {
        let wait_for = self.wait_for;
        let mut wait = redis::cmd("WAIT");
        wait.arg(wait_for).arg(WAIT_MS);
        self.run(|c| {
            write(c)?;
            if wait_for == 0 {
                return Ok(());
            }
            let acked: i64 = redis::from_redis_value(c.route_command(&wait, master_of(key))?)?;
            if acked < i64::from(wait_for) {
                return Err(RedisError::from((
                    ErrorKind::Io,
                    "no replica acknowledged a write in time (it is on its master, and may or may not survive a failover)",
                )));
            }
            Ok(())
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

    /// The keys of one group in `[from, to)` (hex), at most `limit` (0: all).
    fn group_keys(&self, ks: Keyspace, group: &str, from: &str, to: Option<&str>, limit: usize) -> Result<Vec<String>> {
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(format!("{}:i", self.tag(ks, group)))
            .arg(format!("[{from}"))
            .arg(to.map_or("+".to_string(), |t| format!("({t}")))
            .arg("BYLEX");
        if limit > 0 {
            cmd.arg("LIMIT").arg(0).arg(limit);
        }
        self.run(|c| cmd.query(c))
    }

    fn value_key(&self, ks: Keyspace, key: &[u8]) -> String {
        let group = hex(&key[..group_len(ks, key)]);
        format!("{}:v:{}", self.tag(ks, &group), hex(key))
    }

    /// Applies the redo records a crashed writer left.
    fn replay(&self) -> Result<()> {
        let pattern = self.log_key("rec:*");
        let keys: Vec<String> = self.run(|c| redis::cmd("KEYS").arg(&pattern).query(c))?;
        let mut records: Vec<(u64, String)> = keys
            .into_iter()
            .filter_map(|k| k.rsplit(':').next().and_then(|n| n.parse().ok()).map(|n| (n, k)))
            .collect();
        records.sort();
        for (_, key) in records {
            let bytes: Option<Vec<u8>> = self.run(|c| redis::cmd("GET").arg(&key).query(c))?;
            if let Some(bytes) = bytes {
                self.apply_groups(&decode_record(&bytes)?)?;
            }
            self.write_replicated(&key, |c| redis::cmd("DEL").arg(&key).query(c))?;
        }
        Ok(())
    }

    /// Applies `ops` group by group, each group in one Lua call, each replicated
    /// before the next.
    fn apply_groups(&self, ops: &[(Keyspace, Vec<u8>, Option<Vec<u8>>)]) -> Result<()> {
        // Each group's operations, the groups in the order the batch first names them.
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
        let keyspaces: Vec<Keyspace> =
            Keyspace::ALL.into_iter().filter(|ks| order.iter().any(|((k, _), _)| k == ks)).collect();
        for ks in keyspaces {
            let registry = self.groups_key(ks);
            let mut zadd = redis::cmd("ZADD");
            zadd.arg(&registry);
            for ((_, group), _) in order.iter().filter(|((k, _), _)| *k == ks) {
                zadd.arg(0).arg(group);
            }
            self.write_replicated(&registry, |c| zadd.query(c))?;
        }
        for ((ks, group), members) in order {
            let index = format!("{}:i", self.tag(ks, &group));
            let mut invocation = self.apply_group.prepare_invoke();
            invocation.key(&index);
            for &i in &members {
                let (_, key, value) = &ops[i];
                invocation.key(self.value_key(ks, key));
                invocation.arg(if value.is_some() { "p" } else { "d" }).arg(hex(key));
            }
            for &i in &members {
                invocation.arg(ops[i].2.as_deref().unwrap_or_default());
            }
            self.write_replicated(&index, |c| invocation.invoke::<i64>(c).map(drop))?;
        }
        Ok(())
    }
}

/// A batch's writes: keyspace, key, and the value (`None` to delete).
fn encode_record(ops: &[(Keyspace, Vec<u8>, Option<Vec<u8>>)]) -> Vec<u8> {
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

fn decode_record(bytes: &[u8]) -> Result<Vec<(Keyspace, Vec<u8>, Option<Vec<u8>>)>> {
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
        self.run(|c| redis::cmd("GET").arg(self.value_key(ks, key)).query(c))
    }

    fn scan_prefix(&self, ks: Keyspace, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let keys = self.keys_with_prefix(ks, prefix)?;
        let mut out = Vec::with_capacity(keys.len());
        // One MGET per group (a group is one slot), in pieces of bounded size.
        let mut start = 0;
        while start < keys.len() {
            let group = &keys[start][..group_len(ks, &keys[start])];
            let mut end = start + 1;
            while end < keys.len() && end - start < 1000 && keys[end][..group_len(ks, &keys[end])] == *group {
                end += 1;
            }
            let mut mget = redis::cmd("MGET");
            for key in &keys[start..end] {
                mget.arg(self.value_key(ks, key));
            }
            let values: Vec<Option<Vec<u8>>> = self.run(|c| mget.query(c))?;
            for (key, value) in keys[start..end].iter().zip(values) {
                if let Some(value) = value {
                    out.push((key.clone(), value));
                }
            }
            start = end;
        }
        Ok(out)
    }

    fn keys_with_prefix(&self, ks: Keyspace, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        let from = hex(prefix);
        let mut out = Vec::new();
        for group in self.groups_for(ks, prefix)? {
            for key in self.group_keys(ks, &group, &from, None, 0)? {
                if !key.starts_with(&from) {
                    break;
                }
                out.push(unhex(&key)?);
            }
        }
        Ok(out)
    }

    fn next_key(&self, ks: Keyspace, from: &[u8]) -> Result<Option<Vec<u8>>> {
        let from_hex = hex(from);
        let all: Vec<String> = self.run(|c| redis::cmd("ZRANGE").arg(self.groups_key(ks)).arg(0).arg(-1).query(c))?;
        for group in all {
            // A group whose keys are all below `from` is passed over.
            if group.as_str() < from_hex.get(..group.len()).unwrap_or(&from_hex) {
                continue;
            }
            if let Some(key) = self.group_keys(ks, &group, &from_hex, None, 1)?.into_iter().next() {
                return Ok(Some(unhex(&key)?));
            }
        }
        Ok(None)
    }

    fn apply(&self, batch: WriteBatch) -> Result<()> {
        let ops: Vec<(Keyspace, Vec<u8>, Option<Vec<u8>>)> = batch
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
        let _one_at_a_time =
            self.applying.lock().map_err(|_| Error::corrupted("redis cluster", "apply lock poisoned"))?;
        let lease =
            self.lease.as_ref().ok_or_else(|| Error::corrupted("redis cluster", "written before it was opened"))?;
        lease.check()?;
        let n = lease.seq.load(std::sync::atomic::Ordering::SeqCst) + 1;
        let record = self.log_key(&format!("rec:{n}"));
        let bytes = encode_record(&ops);
        let mut write = self.write_record.key(self.log_key("owner"));
        write.key(self.log_key("seq")).key(&record).arg(&lease.token).arg(n).arg(&bytes);
        self.write_replicated(&record, |c| write.invoke::<u64>(c).map(drop))?;
        lease.seq.store(n, std::sync::atomic::Ordering::SeqCst);
        self.apply_groups(&ops)?;
        // Replicated before the next batch: a record a failover brought back would be
        // replayed over newer writes.
        self.write_replicated(&record, |c| redis::cmd("DEL").arg(&record).query(c))
    }

    fn flush(&self) -> Result<()> {
        Ok(())
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
