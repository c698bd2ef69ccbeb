use std::path::Path;

use super::{full_key, Keyspace, Storage, WriteBatch};
use crate::Result;

/// A [`Storage`] on disk in one sled 0.34 tree; keyspaces are key prefixes, so that
/// `sled::Tree::apply_batch` makes a batch atomic across keyspaces.
#[derive(Debug, Clone)]
pub struct SledStorage {
    db: sled::Db,
}

impl SledStorage {
    /// Opens (or creates) the sled database in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        let db = sled::Config::new().path(dir).cache_capacity(16 * 1024 * 1024).open()?;
        Ok(SledStorage { db })
    }
}

impl Storage for SledStorage {
    fn get(&self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get(full_key(ks, key))?.map(|v| v.to_vec()))
    }

    fn scan_prefix(&self, ks: Keyspace, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut res = Vec::new();
        for item in self.db.scan_prefix(full_key(ks, prefix)) {
            let (k, v) = item?;
            res.push((k[1..].to_vec(), v.to_vec()));
        }
        Ok(res)
    }

    fn keys_with_prefix(&self, ks: Keyspace, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        let mut res = Vec::new();
        for item in self.db.scan_prefix(full_key(ks, prefix)).keys() {
            res.push(item?[1..].to_vec());
        }
        Ok(res)
    }

    fn next_key(&self, ks: Keyspace, from: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.db.range(full_key(ks, from)..).keys().next() {
            Some(key) => {
                let key = key?;
                Ok((key.first() == Some(&ks.tag())).then(|| key[1..].to_vec()))
            }
            None => Ok(None),
        }
    }

    fn apply(&self, batch: WriteBatch) -> Result<()> {
        let mut sled_batch = sled::Batch::default();
        for (ks, key, value) in batch.ops {
            let key = full_key(ks, &key);
            match value {
                Some(v) => sled_batch.insert(key, v),
                None => sled_batch.remove(key),
            }
        }
        self.db.apply_batch(sled_batch)?;
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }
}
