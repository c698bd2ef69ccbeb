use std::collections::BTreeMap;
use std::sync::RwLock;

use super::{full_key, Keyspace, Storage, Write, WriteBatch};
use crate::{Error, Result};

/// A [`Storage`] held in memory, for tests and `Database::in_memory`.
#[derive(Debug, Default)]
pub struct MemoryStorage {
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemoryStorage {
    fn read(&self) -> Result<std::sync::RwLockReadGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>>> {
        self.map.read().map_err(|_| Error::corrupted("memory storage", "lock poisoned"))
    }
}

impl Storage for MemoryStorage {
    fn get(&self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.read()?.get(&full_key(ks, key)).cloned())
    }

    fn scan_prefix(&self, ks: Keyspace, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let start = full_key(ks, prefix);
        let map = self.read()?;
        Ok(map
            .range(start.clone()..)
            .take_while(|(k, _)| k.starts_with(&start))
            .map(|(k, v)| (k[1..].to_vec(), v.clone()))
            .collect())
    }

    fn keys_with_prefix(&self, ks: Keyspace, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        let start = full_key(ks, prefix);
        let map = self.read()?;
        Ok(map
            .range(start.clone()..)
            .take_while(|(k, _)| k.starts_with(&start))
            .map(|(k, _)| k[1..].to_vec())
            .collect())
    }

    fn keys_in_range(&self, ks: Keyspace, from: &[u8], to: &[u8]) -> Result<Vec<Vec<u8>>> {
        let (start, end) = (full_key(ks, from), full_key(ks, to));
        if start >= end {
            return Ok(Vec::new());
        }
        Ok(self.read()?.range(start..end).map(|(k, _)| k[1..].to_vec()).collect())
    }

    fn next_key(&self, ks: Keyspace, from: &[u8]) -> Result<Option<Vec<u8>>> {
        let map = self.read()?;
        let next = map.range(full_key(ks, from)..).next().map(|(k, _)| k.clone());
        Ok(next.filter(|k| k.first() == Some(&ks.tag())).map(|k| k[1..].to_vec()))
    }

    fn apply(&self, batch: WriteBatch) -> Result<()> {
        // Checked before the first write, so that a bad batch changes nothing.
        if batch.ops.iter().any(|(_, _, w)| matches!(w, Write::Staged(s) if s.stored)) {
            return Err(Error::corrupted("memory storage", "a value staged by another storage"));
        }
        let mut map = self.map.write().map_err(|_| Error::corrupted("memory storage", "lock poisoned"))?;
        for (ks, key, value) in batch.ops {
            let key = full_key(ks, &key);
            match value {
                Write::Put(v) => map.insert(key, v),
                Write::Staged(s) => map.insert(key, s.bytes),
                Write::Delete => map.remove(&key),
            };
        }
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod range_tests {
    use super::*;
    use crate::storage::{Storage, WriteBatch};

    /// Answers through `next_key` only, to check the trait's default `keys_in_range`.
    #[derive(Debug)]
    struct NextKeyOnly(MemoryStorage);

    impl Storage for NextKeyOnly {
        fn get(&self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>> {
            self.0.get(ks, key)
        }
        fn scan_prefix(&self, ks: Keyspace, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
            self.0.scan_prefix(ks, prefix)
        }
        fn keys_with_prefix(&self, ks: Keyspace, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
            self.0.keys_with_prefix(ks, prefix)
        }
        fn next_key(&self, ks: Keyspace, from: &[u8]) -> Result<Option<Vec<u8>>> {
            self.0.next_key(ks, from)
        }
        fn apply(&self, batch: WriteBatch) -> Result<()> {
            self.0.apply(batch)
        }
        fn flush(&self) -> Result<()> {
            self.0.flush()
        }
    }

    #[test]
    fn a_range_holds_the_keys_from_its_start_up_to_its_end() {
        let memory = MemoryStorage::default();
        let mut batch = WriteBatch::default();
        for key in [&b"a"[..], b"ab", b"ab\x00", b"ab\xff", b"abc", b"b", b"\xff\xff"] {
            batch.put(Keyspace::Ids, key.to_vec(), Vec::new());
        }
        batch.put(Keyspace::Regions, b"ab".to_vec(), Vec::new()); // another keyspace: never listed
        memory.apply(batch).unwrap();
        let fallback = NextKeyOnly(MemoryStorage::default());
        let mut batch = WriteBatch::default();
        for key in memory.keys_with_prefix(Keyspace::Ids, b"").unwrap() {
            batch.put(Keyspace::Ids, key, Vec::new());
        }
        fallback.apply(batch).unwrap();
        let cases: [(&[u8], &[u8], &[&[u8]]); 5] = [
            // Byte order: "abc" sorts before "ab\xff".
            (b"ab", b"abc", &[b"ab", b"ab\x00"]),
            (b"ab\x00", b"b", &[b"ab\x00", b"abc", b"ab\xff"]),
            (b"", b"\xff\xff\xff", &[b"a", b"ab", b"ab\x00", b"abc", b"ab\xff", b"b", b"\xff\xff"]),
            (b"b", b"b", &[]),
            (b"c", b"a", &[]),
        ];
        for (from, to, want) in cases {
            let want: Vec<Vec<u8>> = want.iter().map(|k| k.to_vec()).collect();
            assert_eq!(memory.keys_in_range(Keyspace::Ids, from, to).unwrap(), want, "{from:?}..{to:?}");
            assert_eq!(fallback.keys_in_range(Keyspace::Ids, from, to).unwrap(), want, "{from:?}..{to:?}");
        }
    }
}
