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
