//! Writing a version: the lease, the redo record, the groups, the publication, and
//! collecting what no pin can reach any more.

use super::*;

/// Garbage records are collected when this many are due (or at every this many
/// batches, whatever is due), together: their keys of one group in one script call.
const COLLECT_AT_ONCE: u64 = 8;
/// At most this many records at a time.
const COLLECT_AT_MOST: usize = 64;

impl RedisClusterStorage {
    /// Takes the writer lease for this process, waiting up to [`WRITER_WAIT`] for
    /// another process's writer, then finishes a batch a dead writer left unpublished.
    pub(super) fn take_lease(&self) -> Result<()> {
        let deadline = Instant::now() + WRITER_WAIT;
        let mut pause = Duration::from_millis(1);
        let owner = self.log_key("owner");
        let ttl = LEASE_TTL.as_millis() as u64;
        let records = self.log_key("rec:");
        let (published, left) = loop {
            let mut take = self.scripts.take_lease.key(&owner);
            take.key(self.log_key("seq")).arg(&self.presence.token).arg(ttl).arg(&records);
            let reply: Vec<redis::Value> = self.run(|c| take.invoke(c))?;
            fn field<T: redis::FromRedisValue>(reply: &[redis::Value], i: usize) -> Result<T> {
                let value = reply.get(i).cloned().unwrap_or(redis::Value::Nil);
                redis::from_redis_value(value).map_err(|e| Error::corrupted("redis cluster", e))
            }
            let (held, what): (i64, String) = (field(&reply, 0)?, field(&reply, 1)?);
            if held == 1 {
                let published = what.parse::<u64>().map_err(|e| Error::corrupted("redis cluster", e))?;
                break (published, field::<Option<Vec<u8>>>(&reply, 2)?);
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
        // Another writer may have collected an empty group out of its registry (its
        // process's reads moving this one's pin tells nothing of that).
        if published != self.published_seen.load(SeqCst) || left.is_some() {
            self.registered.lock().map_err(|_| Error::corrupted("redis cluster", "group registry poisoned"))?.clear();
        }
        self.published_seen.store(published, SeqCst);
        if let Some(bytes) = left {
            self.publish_batch(published + 1, &decode_record(&bytes)?, &bytes)?;
        }
        Ok(())
    }

    pub(super) fn release_lease(&self) {
        let owner = self.log_key("owner");
        let mut release = self.scripts.release_lease.key(&owner);
        release.arg(&self.presence.token);
        self.presence.writing.store(false, std::sync::atomic::Ordering::SeqCst);
        // A lease that cannot be released now lapses after its time to live.
        let _ = self.run(|c| release.invoke::<i64>(c));
    }

    /// Writes batch `n` (`ops`, `record` encoded) and publishes it: the redo record,
    /// the groups at version `n`, then the version counter, each replicated.
    pub(super) fn publish_batch(&self, n: u64, ops: &[Op], record: &[u8]) -> Result<()> {
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
            cache.forget(ops);
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
    pub(super) fn apply_groups(&self, n: u64, low: u64, ops: &[Op]) -> Result<Vec<Op>> {
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
            let mut invocation =
                self.group_call(&self.scripts.apply_group, ks, &group, members.iter().map(|&i| &ops[i].1));
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

    /// A call of a script that works on keys of one group: KEYS are the group's index,
    /// then each key's value key and history key (see `scripts.rs`).
    fn group_call<'s>(
        &self,
        script: &'s redis::Script,
        ks: Keyspace,
        group: &str,
        keys: impl Iterator<Item = &'s Vec<u8>>,
    ) -> redis::ScriptInvocation<'s> {
        let mut invocation = script.prepare_invoke();
        invocation.key(format!("{}:i", self.tag(ks, group)));
        for key in keys {
            let (value, history) = self.version_keys(ks, key);
            invocation.key(value).key(history);
        }
        invocation
    }

    /// Collects the garbage of published batches no pin is below (`low`), oldest
    /// first: their keys merged, one script call per group.
    pub(super) fn collect(&self, low: u64) -> Result<()> {
        let index = self.log_key("gcs");
        let due: Vec<String> = self.run(|c| {
            redis::cmd("ZRANGEBYSCORE")
                .arg(&index)
                .arg("-inf")
                .arg(low)
                .arg("LIMIT")
                .arg(0)
                .arg(COLLECT_AT_MOST)
                .query(c)
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
            let mut invocation =
                self.group_call(&self.scripts.compact, ks, &group, members.iter().map(|&i| &keys[i].1));
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

/// Each group's operations (indexes into `ops`), the groups in the order `ops`
/// first names them.
pub(super) fn by_group<T>(ops: &[(Keyspace, Vec<u8>, T)]) -> Vec<((Keyspace, String), Vec<usize>)> {
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

/// A batch's writes: keyspace, key, and the value (`None` to delete).
pub(super) fn encode_record(ops: &[Op]) -> Vec<u8> {
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

pub(super) fn decode_record(bytes: &[u8]) -> Result<Vec<Op>> {
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
