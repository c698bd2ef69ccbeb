//! Reading at the pinned version: values by `MGET` with their version checked here,
//! history looked up by script only for values written after the pin, and small
//! values kept until the pin moves.

use super::*;

/// How many keys one read script reads (a group's keys are read in pieces).
const READ_PIECE: usize = 512;

/// Answers up to this size are kept for the next read of the same thing (a label
/// bitmap of 100,000 nodes is 16 KB), but for the keyspaces whose values sprig keeps
/// decoded in its own cache (XML node chunks and region segments, graph chunks).
const CACHED_MAX: usize = 256 << 10;
/// The most bytes of such answers kept (all are dropped when it is reached).
const CACHED_BYTES_MAX: usize = 64 << 20;

/// What was read: a key's value, the pairs or keys with a prefix, the first key from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Read {
    Get,
    Scan,
    Keys,
    Next,
}

/// An answer of one of the [`Read`]s.
#[derive(Debug, Clone)]
pub(super) enum Answer {
    Value(Option<Vec<u8>>),
    Pairs(Vec<(Vec<u8>, Vec<u8>)>),
    Keys(Vec<Vec<u8>>),
}

impl Answer {
    fn size(&self) -> usize {
        match self {
            Answer::Value(v) => v.as_ref().map_or(0, Vec::len),
            Answer::Pairs(pairs) => pairs.iter().map(|(k, v)| k.len() + v.len()).sum(),
            Answer::Keys(keys) => keys.iter().map(Vec::len).sum(),
        }
    }
}

/// Small answers read at the pinned version (absent keys and empty scans included):
/// label bitmaps, property index entries, graph metadata, `id()` entries, value
/// index blocks and catalog entries, which queries read on every run and which
/// would otherwise cost a round trip each. Valid for the version the handle reads
/// at: emptied when the pin moves; this process's own batches drop the values of
/// the keys they wrote and every scan of a keyspace they wrote.
#[derive(Default)]
pub(super) struct ReadCache {
    /// Moves at every invalidation: a read that began before one is not kept.
    pub(super) epoch: u64,
    pub(super) answers: std::collections::HashMap<(Read, Keyspace, Vec<u8>), Answer>,
    pub(super) bytes: usize,
}

impl ReadCache {
    /// Forgets what a batch of this process (`ops`) changed.
    pub(super) fn forget(&mut self, ops: &[Op]) {
        self.epoch += 1;
        let written: std::collections::HashSet<Keyspace> = ops.iter().map(|(ks, _, _)| *ks).collect();
        for (ks, key, _) in ops {
            if let Some(answer) = self.answers.remove(&(Read::Get, *ks, key.clone())) {
                self.bytes -= answer.size() + key.len();
            }
        }
        let mut freed = 0;
        self.answers.retain(|(read, ks, key), answer| {
            let kept = *read == Read::Get || !written.contains(ks);
            if !kept {
                freed += answer.size() + key.len();
            }
            kept
        });
        self.bytes -= freed;
    }
}

impl RedisClusterStorage {
    /// A key's value key and history key.
    pub(super) fn version_keys(&self, ks: Keyspace, key: &[u8]) -> (String, String) {
        let tag = self.tag(ks, &hex(&key[..group_len(ks, key)]));
        let key = hex(key);
        (format!("{tag}:v:{key}"), format!("{tag}:h:{key}"))
    }

    /// The values (`values`) or presence (`Some(empty)`) of `keys`, all of one group,
    /// at this handle's version. Values are read with one `MGET`, and only those
    /// written after the pin are looked up again in their history, by a script: a
    /// script returning a large value costs a copy of it per step (a graph chunk read
    /// that way took 0.3 ms instead of 0.01).
    pub(super) fn read_group(&self, ks: Keyspace, keys: &[Vec<u8>], values: bool) -> Result<Vec<Option<Vec<u8>>>> {
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
    pub(super) fn read_group_at(&self, ks: Keyspace, keys: &[Vec<u8>], values: bool) -> Result<Vec<Option<Vec<u8>>>> {
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
    pub(super) fn read_prefix(&self, ks: Keyspace, prefix: &[u8], values: bool) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
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

    /// The first key of `ks` at or after `from` at this handle's version.
    pub(super) fn find_next_key(&self, ks: Keyspace, from: &[u8]) -> Result<Option<Vec<u8>>> {
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
                if page.is_empty() {
                    break;
                }
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

    /// The answer of `read` of `key` (or prefix) in `ks`, from the cache or `load`.
    pub(super) fn cached(
        &self,
        read: Read,
        ks: Keyspace,
        key: &[u8],
        load: impl FnOnce() -> Result<Answer>,
    ) -> Result<Answer> {
        let poisoned = || Error::corrupted("redis cluster", "read cache poisoned");
        let id = (read, ks, key.to_vec());
        let epoch = {
            let cache = self.cache.lock().map_err(|_| poisoned())?;
            if let Some(answer) = cache.answers.get(&id) {
                return Ok(answer.clone());
            }
            cache.epoch
        };
        let answer = load()?;
        let size = key.len() + answer.size();
        if size <= CACHED_MAX && !matches!(ks, Keyspace::Nodes | Keyspace::Regions | Keyspace::GraphChunks) {
            let mut cache = self.cache.lock().map_err(|_| poisoned())?;
            if cache.epoch == epoch {
                if cache.bytes + size > CACHED_BYTES_MAX {
                    cache.answers.clear();
                    cache.bytes = 0;
                }
                cache.bytes += size;
                cache.answers.insert(id, answer.clone());
            }
        }
        Ok(answer)
    }
}

/// The version a stored value was written at, and whether it is a value (not a
/// deletion): its first 17 bytes (see `scripts.rs`).
pub(super) fn stored_header(stored: &[u8]) -> Result<(u64, bool)> {
    let broken = || Error::corrupted("redis cluster", "a stored value has no version (written by an older sprig?)");
    let version = stored.get(..16).and_then(|h| std::str::from_utf8(h).ok()).ok_or_else(broken)?;
    let version = u64::from_str_radix(version, 16).map_err(|_| broken())?;
    match stored.get(16) {
        Some(b'v') => Ok((version, true)),
        Some(b'd') => Ok((version, false)),
        _ => Err(broken()),
    }
}

/// `keys` (of one keyspace, in key order) in runs of one group, at most `piece` long.
pub(super) fn runs_by_group(ks: Keyspace, keys: &[Vec<u8>], piece: usize) -> Vec<&[Vec<u8>]> {
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
