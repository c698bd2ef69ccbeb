//! Graph chunks beside sled: the values of [`Keyspace::GraphChunks`] are appended to
//! segment files, `segments/N.seg`, and sled keeps a pointer (file, offset, length)
//! under each key.
//!
//! Why: sled 0.34 keeps the values it is given and reads in memory well past its
//! cache capacity (spacejam/sled#1303): a graph of a million nodes held its 1.2 GB of
//! chunks in memory while loading, and reading them back under a 256 MiB cache
//! budget grew the process past 2 GB. Files read with `pread` leave the caching to
//! the chunk cache, which keeps to the budget.
//!
//! Unlike the XML bulk files, graph chunks are rewritten by commits, so a file gathers
//! dead values. Every file's live bytes (those a pointer names) are counted: computed
//! from the pointers on open, then kept up to date by each batch. A file with no live
//! bytes is deleted; a file more dead than live has its live values copied to the
//! file being appended and is then deleted, so the files hold at most about twice
//! the live data.
//!
//! Crashes: sled stays the commit point. The file being appended is synced before a
//! batch naming its bytes is applied, so no pointer outlives the bytes it names, and
//! sled is flushed before a file is deleted, so no pointer to a deleted file can come
//! back. Values appended for a batch that never committed are dead bytes, collected
//! like any other.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use super::file_pointer::{FilePointer, FileReaders};
use super::Keyspace;
use crate::{Error, Result};

/// First byte of a value that points into a segment file.
const POINTER_TAG: u8 = 0xB2;
/// The file being appended is closed and a new one started past this length.
const ROLL_BYTES: u64 = 256 << 20;
/// The file being appended is compacted only past this many dead bytes.
const CURRENT_DEAD_BYTES: u64 = 4 << 20;

#[derive(Debug)]
struct Current {
    number: u64,
    file: BufWriter<File>,
    len: u64,
}

/// What the writer of segments knows; behind one lock, held through a whole batch.
#[derive(Debug)]
pub(crate) struct SegmentState {
    dir: PathBuf,
    current: Option<Current>,
    /// Bytes appended to `current` and not yet synced.
    unsynced: bool,
    /// Per file: its length and how many of its bytes a stored pointer names.
    files: HashMap<u64, FileUse>,
    next: u64,
}

#[derive(Debug, Default, Clone, Copy)]
struct FileUse {
    size: u64,
    live: u64,
}

impl FileUse {
    fn dead(&self) -> u64 {
        self.size.saturating_sub(self.live)
    }
}

/// The segment files of one database directory.
#[derive(Debug)]
pub(crate) struct Segments {
    dir: PathBuf,
    state: Mutex<SegmentState>,
    readers: FileReaders,
}

fn path_of(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number}.seg"))
}

/// The pointer a stored value holds.
pub(crate) fn pointer_of(stored: &[u8]) -> Result<FilePointer> {
    FilePointer::decode(POINTER_TAG, stored, "graph segments")
}

impl Segments {
    /// Opens the segment files of `db`, counting their live bytes from sled's pointers
    /// and deleting the files none names (appended for a batch that never committed).
    pub(crate) fn open(db_dir: &Path, db: &sled::Db) -> Result<Self> {
        let dir = db_dir.join("segments");
        fs::create_dir_all(&dir)?;
        let mut files: HashMap<u64, FileUse> = HashMap::new();
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name();
            if let Some(number) = name.to_str().and_then(|n| n.strip_suffix(".seg")).and_then(|n| n.parse().ok()) {
                files.insert(number, FileUse { size: entry.metadata()?.len(), live: 0 });
            }
        }
        for item in db.scan_prefix([Keyspace::GraphChunks.tag()]) {
            let (_, stored) = item?;
            let pointer = pointer_of(&stored)?;
            let usage = files.get_mut(&pointer.file).ok_or_else(|| {
                Error::corrupted("graph segments", format!("segment file {} is missing", pointer.file))
            })?;
            usage.live += u64::from(pointer.len);
        }
        let next = files.keys().max().map_or(0, |n| n + 1);
        let mut state = SegmentState { dir: dir.clone(), current: None, unsynced: false, files, next };
        let unused: Vec<u64> = state.files.iter().filter(|(_, u)| u.live == 0).map(|(n, _)| *n).collect();
        for number in unused {
            state.delete(number)?;
        }
        Ok(Segments { dir, state: Mutex::new(state), readers: FileReaders::default() })
    }

    /// The writer's lock: appending, applying a batch and collecting hold it.
    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, SegmentState>> {
        self.state.lock().map_err(|_| Error::corrupted("graph segments", "lock poisoned"))
    }

    /// The value `stored` points to; `None` when its file has been deleted meanwhile
    /// (compacted away after the pointer was read: read the pointer again).
    pub(crate) fn read(&self, stored: &[u8]) -> Result<Option<Vec<u8>>> {
        let pointer = pointer_of(stored)?;
        match self.readers.read(&path_of(&self.dir, pointer.file), pointer) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => {
                Err(Error::corrupted("graph segments", format!("segment {} at {}: {e}", pointer.file, pointer.offset)))
            }
        }
    }

    /// Forgets the read handle of a deleted file.
    pub(crate) fn forget(&self, number: u64) {
        self.readers.forget(number);
    }
}

impl SegmentState {
    /// Appends `value` to the current file; returns the pointer to store.
    pub(crate) fn append(&mut self, value: &[u8]) -> Result<Vec<u8>> {
        if self.current.as_ref().is_some_and(|c| c.len >= ROLL_BYTES) {
            self.close_current()?;
        }
        let current = match &mut self.current {
            Some(c) => c,
            None => {
                let number = self.next;
                self.next += 1;
                let file = OpenOptions::new().create_new(true).append(true).open(path_of(&self.dir, number))?;
                self.files.insert(number, FileUse::default());
                self.current.insert(Current { number, file: BufWriter::with_capacity(1 << 20, file), len: 0 })
            }
        };
        let len =
            u32::try_from(value.len()).map_err(|_| Error::corrupted("graph segments", "a chunk of 4 GiB or more"))?;
        let pointer = FilePointer { file: current.number, offset: current.len, len };
        current.file.write_all(value)?;
        current.len += u64::from(len);
        if let Some(usage) = self.files.get_mut(&current.number) {
            usage.size = current.len;
        }
        self.unsynced = true;
        Ok(pointer.encode(POINTER_TAG))
    }

    /// Makes every appended byte durable (before a batch that names them is applied).
    pub(crate) fn sync(&mut self) -> Result<()> {
        if let (Some(current), true) = (&mut self.current, self.unsynced) {
            current.file.flush()?;
            current.file.get_ref().sync_data()?;
        }
        self.unsynced = false;
        Ok(())
    }

    fn close_current(&mut self) -> Result<()> {
        self.sync()?;
        self.current = None;
        Ok(())
    }

    /// Counts a committed batch: `freed` pointers no key holds any more, `stored` the
    /// pointers keys now hold.
    pub(crate) fn account(&mut self, freed: &[FilePointer], stored: &[FilePointer]) {
        for p in freed {
            if let Some(usage) = self.files.get_mut(&p.file) {
                usage.live = usage.live.saturating_sub(u64::from(p.len));
            }
        }
        for p in stored {
            self.files.entry(p.file).or_default().live += u64::from(p.len);
        }
    }

    /// Files to collect: those no pointer names, and those more dead than live
    /// (the current one only past [`CURRENT_DEAD_BYTES`]), in number order.
    fn collectable(&self) -> Vec<u64> {
        let current = self.current.as_ref().map(|c| c.number);
        let mut out: Vec<u64> = self
            .files
            .iter()
            .filter(|(n, u)| {
                let dead_enough = u.dead() > u.live;
                if Some(**n) == current {
                    dead_enough && u.dead() >= CURRENT_DEAD_BYTES
                } else {
                    u.live == 0 || dead_enough
                }
            })
            .map(|(n, _)| *n)
            .collect();
        out.sort_unstable();
        out
    }

    /// Deletes or compacts the files [`Self::collectable`] names. `db` holds the
    /// pointers; `segments` forgets read handles of deleted files.
    pub(crate) fn collect(&mut self, db: &sled::Db, segments: &Segments) -> Result<()> {
        let files = self.collectable();
        if files.is_empty() {
            return Ok(());
        }
        if files.iter().any(|n| self.current.as_ref().is_some_and(|c| c.number == *n)) {
            self.close_current()?;
        }
        let mut moves: Vec<(sled::IVec, FilePointer)> = Vec::new();
        for item in db.scan_prefix([Keyspace::GraphChunks.tag()]) {
            let (key, stored) = item?;
            let pointer = pointer_of(&stored)?;
            if files.contains(&pointer.file) {
                moves.push((key, pointer));
            }
        }
        // Live values are copied to the current file, named there in one batch, and
        // only once that batch is durable are the old files deleted.
        let mut batch = sled::Batch::default();
        let mut stored = Vec::with_capacity(moves.len());
        for (key, pointer) in &moves {
            let value = segments.read(&pointer.encode(POINTER_TAG))?.ok_or_else(|| {
                Error::corrupted("graph segments", format!("segment file {} is missing", pointer.file))
            })?;
            let moved = self.append(&value)?;
            stored.push(pointer_of(&moved)?);
            batch.insert(key.clone(), moved);
        }
        self.sync()?;
        db.apply_batch(batch)?;
        // Counted as soon as the pointers moved: should the flush fail, the old files
        // are merely kept (nothing names them), never the new one deleted.
        let freed: Vec<FilePointer> = moves.iter().map(|(_, p)| *p).collect();
        self.account(&freed, &stored);
        db.flush()?;
        for number in files {
            segments.forget(number);
            self.delete(number)?;
        }
        Ok(())
    }

    fn delete(&mut self, number: u64) -> Result<()> {
        self.files.remove(&number);
        match fs::remove_file(path_of(&self.dir, number)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::storage::{Keyspace, SledStorage, Storage, WriteBatch};
    use crate::Result;

    const KS: Keyspace = Keyspace::GraphChunks;

    fn segment_bytes(dir: &std::path::Path) -> u64 {
        std::fs::read_dir(dir.join("segments"))
            .map(|entries| entries.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum())
            .unwrap_or(0)
    }

    fn put(storage: &SledStorage, key: u8, value: Vec<u8>) -> Result<()> {
        let mut batch = WriteBatch::default();
        batch.put(KS, vec![key], value);
        storage.apply(batch)
    }

    #[test]
    fn rewritten_chunks_are_compacted_and_survive_a_reopen() -> Result<()> {
        let dir = tempfile::tempdir()?;
        {
            let storage = SledStorage::open(dir.path())?;
            // 400 rewrites of 8 keys of 64 KiB: 200 MiB written, 512 KiB live.
            for round in 0..50u32 {
                for key in 0..8u8 {
                    put(&storage, key, vec![key ^ round as u8; 64 << 10])?;
                }
            }
            for key in 0..8u8 {
                assert_eq!(storage.get(KS, &[key])?, Some(vec![key ^ 49; 64 << 10]));
            }
            // The current file may gather up to 4 MiB of dead values before compaction.
            assert!(segment_bytes(dir.path()) < 10 << 20, "{} bytes", segment_bytes(dir.path()));
            let mut batch = WriteBatch::default();
            batch.delete(KS, vec![7]);
            storage.apply(batch)?;
            storage.flush()?;
        }
        let storage = SledStorage::open(dir.path())?;
        for key in 0..7u8 {
            assert_eq!(storage.get(KS, &[key])?, Some(vec![key ^ 49; 64 << 10]));
        }
        assert_eq!(storage.get(KS, &[7])?, None);
        assert_eq!(storage.scan_prefix(KS, &[])?.len(), 7);
        Ok(())
    }

    #[test]
    fn staged_values_are_named_by_the_batch_or_collected() -> Result<()> {
        let dir = tempfile::tempdir()?;
        {
            let storage = SledStorage::open(dir.path())?;
            let staged = storage.stage(KS, vec![1; 1000])?;
            let mut batch = WriteBatch::default();
            batch.put_staged(KS, b"a".to_vec(), staged);
            batch.put(Keyspace::Meta, b"m".to_vec(), b"1".to_vec());
            storage.apply(batch)?;
            assert_eq!(storage.get(KS, b"a")?, Some(vec![1; 1000]));
            storage.flush()?;
            // Staged for a batch that never comes (a load that failed): dead bytes.
            storage.stage(KS, vec![2; 1 << 20])?;
            // Values of other keyspaces are staged in the handle.
            let inline = storage.stage(Keyspace::Meta, b"2".to_vec())?;
            let mut batch = WriteBatch::default();
            batch.put_staged(Keyspace::Meta, b"m".to_vec(), inline);
            storage.apply(batch)?;
            storage.flush()?;
        }
        let storage = SledStorage::open(dir.path())?;
        assert_eq!(storage.get(KS, b"a")?, Some(vec![1; 1000]));
        assert_eq!(storage.get(Keyspace::Meta, b"m")?, Some(b"2".to_vec()));
        // Deleting the last value deletes its file.
        let mut batch = WriteBatch::default();
        batch.delete(KS, b"a".to_vec());
        storage.apply(batch)?;
        assert_eq!(storage.get(KS, b"a")?, None);
        drop(storage);
        let _reopened = SledStorage::open(dir.path())?;
        assert_eq!(segment_bytes(dir.path()), 0);
        Ok(())
    }

    #[test]
    fn a_pointer_to_a_missing_file_is_an_error_on_open() -> Result<()> {
        let dir = tempfile::tempdir()?;
        {
            let storage = SledStorage::open(dir.path())?;
            put(&storage, 1, vec![9; 100])?;
            storage.flush()?;
        }
        for entry in std::fs::read_dir(dir.path().join("segments"))? {
            std::fs::remove_file(entry?.path())?;
        }
        let err = SledStorage::open(dir.path()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("segment file 0 is missing"), "{err}");
        Ok(())
    }
}
