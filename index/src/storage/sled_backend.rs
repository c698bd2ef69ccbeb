use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use super::bulk_files::BulkFiles;
use super::file_pointer::FilePointer;
use super::segments::{self, Segments};
use super::{full_key, Keyspace, Staged, Storage, Write, WriteBatch};
use crate::{Error, Result};

/// A [`Storage`] on disk in one sled 0.34 tree; keyspaces are key prefixes, so that
/// `sled::Tree::apply_batch` makes a batch atomic across keyspaces. The values of the
/// XML bulk keyspaces (node chunks, region segments, postings) live in files beside
/// it ([`BulkFiles`]), and graph chunks in segment files ([`Segments`]), sled holding
/// pointers to them.
#[derive(Debug, Clone)]
pub struct SledStorage {
    db: sled::Db,
    bulk: Arc<BulkFiles>,
    segments: Arc<Segments>,
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
                    let segments = Arc::new(Segments::open(dir, &db)?);
                    let storage = SledStorage { db, bulk: Arc::new(BulkFiles::open(dir)?), segments };
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

    /// The value a stored entry of `ks` holds; `None` for a graph chunk whose segment
    /// was compacted away after `stored` was read (read the key again).
    fn value(&self, ks: Keyspace, stored: &[u8]) -> Result<Option<Vec<u8>>> {
        if is_bulk(ks) {
            self.bulk.read(stored).map(Some)
        } else if ks == Keyspace::GraphChunks {
            self.segments.read(stored)
        } else {
            Ok(Some(stored.to_vec()))
        }
    }

    /// The value of `full` in `ks`, reading the key again when the value moved
    /// between reading its pointer and reading the file (a compaction).
    fn value_of_key(&self, ks: Keyspace, full: &[u8]) -> Result<Option<Vec<u8>>> {
        for _ in 0..3 {
            let Some(stored) = self.db.get(full)? else { return Ok(None) };
            if let Some(value) = self.value(ks, &stored)? {
                return Ok(Some(value));
            }
        }
        Err(Error::corrupted("graph segments", "a chunk kept moving while it was read"))
    }

    /// Applies a batch with graph chunk writes under the segment writer's lock:
    /// appends their values, syncs them, applies the batch, then counts which file
    /// bytes are live and collects the files that are mostly dead.
    fn apply_with_segments(&self, ops: Vec<(Keyspace, Vec<u8>, Write)>) -> Result<()> {
        let mut state = self.segments.lock()?;
        let mut sled_batch = sled::Batch::default();
        let mut emptied = BTreeSet::new();
        // Per chunk key: the pointer it held before the batch, and the one it holds after.
        let mut chunk_writes: std::collections::HashMap<Vec<u8>, (Option<FilePointer>, Option<FilePointer>)> =
            std::collections::HashMap::new();
        for (ks, key, write) in ops {
            let full = full_key(ks, &key);
            if ks == Keyspace::GraphChunks {
                let stored = match write {
                    Write::Put(v) | Write::Staged(Staged { bytes: v, stored: false }) => Some(state.append(&v)?),
                    Write::Staged(Staged { bytes, stored: true }) => Some(bytes),
                    Write::Delete => None,
                };
                let after = stored.as_deref().map(segments::pointer_of).transpose()?;
                let entry = match chunk_writes.entry(full.clone()) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        let before = self.db.get(&full)?.map(|v| segments::pointer_of(&v)).transpose()?;
                        e.insert((before, None))
                    }
                };
                entry.1 = after;
                match stored {
                    Some(v) => sled_batch.insert(full, v),
                    None => sled_batch.remove(full),
                }
            } else {
                self.add_to_batch(&mut sled_batch, &mut emptied, ks, key, write)?;
            }
        }
        state.sync()?;
        self.db.apply_batch(sled_batch)?;
        let freed: Vec<FilePointer> = chunk_writes.values().filter_map(|(before, _)| *before).collect();
        let stored: Vec<FilePointer> = chunk_writes.values().filter_map(|(_, after)| *after).collect();
        state.account(&freed, &stored);
        // The batch is applied: a failure to collect dead bytes must not report it
        // as failed. The bytes stay, and the next batch tries again.
        let _ = state.collect(&self.db, &self.segments);
        drop(state);
        self.remove_emptied(emptied)
    }

    /// Adds one write of a keyspace other than graph chunks to `batch`, noting the
    /// bulk generations it deletes from.
    fn add_to_batch(
        &self,
        batch: &mut sled::Batch,
        emptied: &mut BTreeSet<u64>,
        ks: Keyspace,
        key: Vec<u8>,
        write: Write,
    ) -> Result<()> {
        let value = match write {
            Write::Put(v) | Write::Staged(Staged { bytes: v, stored: false }) => Some(v),
            Write::Staged(Staged { stored: true, .. }) => {
                return Err(Error::corrupted("sled storage", "a value staged for another keyspace"));
            }
            Write::Delete => None,
        };
        let full = full_key(ks, &key);
        match value {
            Some(v) if is_bulk(ks) => batch.insert(full, self.bulk.append(generation_of(&key)?, &v)?),
            Some(v) => batch.insert(full, v),
            None => {
                if is_bulk(ks) {
                    emptied.insert(generation_of(&key)?);
                }
                batch.remove(full)
            }
        }
        Ok(())
    }

    /// Deletes the bulk files of `emptied` generations that have no key left; sled is
    /// flushed first, so that no pointer into a deleted file can come back.
    fn remove_emptied(&self, emptied: BTreeSet<u64>) -> Result<()> {
        let mut flushed = false;
        for gen in emptied {
            if !self.has_bulk_keys(gen)? {
                if !flushed {
                    self.db.flush()?;
                    flushed = true;
                }
                self.bulk.remove(gen)?;
            }
        }
        Ok(())
    }
}

impl Storage for SledStorage {
    fn get(&self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.value_of_key(ks, &full_key(ks, key))
    }

    fn scan_prefix(&self, ks: Keyspace, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut res = Vec::new();
        for item in self.db.scan_prefix(full_key(ks, prefix)) {
            let (k, v) = item?;
            let value = match self.value(ks, &v)? {
                Some(value) => Some(value),
                None => self.value_of_key(ks, &k)?,
            };
            if let Some(value) = value {
                res.push((k[1..].to_vec(), value));
            }
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

    fn keys_in_range(&self, ks: Keyspace, from: &[u8], to: &[u8]) -> Result<Vec<Vec<u8>>> {
        let (start, end) = (full_key(ks, from), full_key(ks, to));
        if start >= end {
            return Ok(Vec::new());
        }
        let mut res = Vec::new();
        for item in self.db.range(start..end).keys() {
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
        if batch.ops.iter().any(|(ks, _, _)| *ks == Keyspace::GraphChunks) {
            return self.apply_with_segments(batch.ops);
        }
        let mut sled_batch = sled::Batch::default();
        let mut emptied = BTreeSet::new();
        for (ks, key, write) in batch.ops {
            self.add_to_batch(&mut sled_batch, &mut emptied, ks, key, write)?;
        }
        self.db.apply_batch(sled_batch)?;
        self.remove_emptied(emptied)
    }

    fn stage(&self, ks: Keyspace, value: Vec<u8>) -> Result<Staged> {
        if ks != Keyspace::GraphChunks {
            return Ok(Staged::inline(value));
        }
        Ok(Staged::stored(self.segments.lock()?.append(&value)?))
    }

    fn flush(&self) -> Result<()> {
        self.bulk.flush(true)?;
        self.db.flush()?;
        Ok(())
    }
}
