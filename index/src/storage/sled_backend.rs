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
    ///
    /// sled releases its file lock from a background thread after the last handle is
    /// dropped (spacejam/sled#1289), so opening again right after closing in the same
    /// process can find the lock still held: that case is retried for up to three
    /// seconds (the thread can be slow to finish on a loaded machine).
    /// A lock held by another process stays an error, which says so.
    pub fn open(dir: &Path) -> Result<Self> {
        let config = sled::Config::new().path(dir).cache_capacity(16 * 1024 * 1024);
        let mut wait = std::time::Duration::from_millis(5);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        loop {
            match config.open() {
                Ok(db) => return Ok(SledStorage { db }),
                // sled reports a held lock as an `Other` I/O error with this text.
                Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                    if std::time::Instant::now() >= deadline {
                        return Err(crate::Error::Io(std::io::Error::new(
                            std::io::ErrorKind::WouldBlock,
                            format!("the database '{}' is locked by another process", dir.display()),
                        )));
                    }
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(std::time::Duration::from_millis(100));
                }
                Err(e) => return Err(e.into()),
            }
        }
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
