use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use super::bulk_files::BulkFiles;
use super::{full_key, Keyspace, Storage, WriteBatch};
use crate::{Error, Result};

/// A [`Storage`] on disk in one sled 0.34 tree; keyspaces are key prefixes, so that
/// `sled::Tree::apply_batch` makes a batch atomic across keyspaces. The values of the
/// bulk keyspaces (node chunks, region segments) live in files beside it
/// ([`BulkFiles`]), sled holding pointers to them.
#[derive(Debug, Clone)]
pub struct SledStorage {
    db: sled::Db,
    bulk: Arc<BulkFiles>,
}

/// Keyspaces whose values go to bulk files: written once per generation (the key's
/// first 8 bytes), read by key, dropped with the generation.
const BULK: [Keyspace; 3] = [Keyspace::Nodes, Keyspace::Regions, Keyspace::Postings];

fn is_bulk(ks: Keyspace) -> bool {
    BULK.contains(&ks)
}

/// The generation a bulk key belongs to.
fn generation_of(key: &[u8]) -> Result<u64> {
    let bytes: [u8; 8] = key
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Error::corrupted("bulk files", "a bulk key is shorter than a generation"))?;
    Ok(u64::from_be_bytes(bytes))
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
                Ok(db) => {
                    let storage = SledStorage { db, bulk: Arc::new(BulkFiles::open(dir)?) };
                    storage.remove_orphan_files()?;
                    return Ok(storage);
                }
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

impl SledStorage {
    /// Whether any bulk keyspace still has a key of generation `gen`.
    fn has_bulk_keys(&self, gen: u64) -> Result<bool> {
        for ks in BULK {
            if self.db.scan_prefix(full_key(ks, &gen.to_be_bytes())).keys().next().transpose()?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Deletes the bulk files no key points into (a load that never committed).
    fn remove_orphan_files(&self) -> Result<()> {
        for gen in self.bulk.generations()? {
            if !self.has_bulk_keys(gen)? {
                self.bulk.remove(gen)?;
            }
        }
        Ok(())
    }

    fn value(&self, ks: Keyspace, stored: &[u8]) -> Result<Vec<u8>> {
        if is_bulk(ks) {
            self.bulk.read(stored)
        } else {
            Ok(stored.to_vec())
        }
    }
}

impl Storage for SledStorage {
    fn get(&self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.db.get(full_key(ks, key))? {
            Some(v) => Ok(Some(self.value(ks, &v)?)),
            None => Ok(None),
        }
    }

    fn scan_prefix(&self, ks: Keyspace, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut res = Vec::new();
        for item in self.db.scan_prefix(full_key(ks, prefix)) {
            let (k, v) = item?;
            res.push((k[1..].to_vec(), self.value(ks, &v)?));
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
        // A batch that writes beyond the bulk keyspaces may commit something that
        // refers to bulk values: those must be on disk first.
        if batch.ops.iter().any(|(ks, _, _)| !is_bulk(*ks)) {
            self.bulk.flush(true)?;
        }
        let mut sled_batch = sled::Batch::default();
        let mut emptied = BTreeSet::new();
        for (ks, key, value) in batch.ops {
            let full = full_key(ks, &key);
            match value {
                Some(v) if is_bulk(ks) => sled_batch.insert(full, self.bulk.append(generation_of(&key)?, &v)?),
                Some(v) => sled_batch.insert(full, v),
                None => {
                    if is_bulk(ks) {
                        emptied.insert(generation_of(&key)?);
                    }
                    sled_batch.remove(full)
                }
            }
        }
        self.db.apply_batch(sled_batch)?;
        for gen in emptied {
            if !self.has_bulk_keys(gen)? {
                self.bulk.remove(gen)?;
            }
        }
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        self.bulk.flush(true)?;
        self.db.flush()?;
        Ok(())
    }
}
