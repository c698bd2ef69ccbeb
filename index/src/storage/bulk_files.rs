//! Bulk values beside sled: the node chunks, region segments and postings (name
//! postings, value index) of an XML load (keyspaces whose keys start with a
//! generation, written once and dropped together) are appended to one file per generation, `bulk/GEN.dat`, and sled
//! keeps only a pointer (file, offset, length) under the key.
//!
//! Why: sled 0.34 keeps the values it is given in memory well past its cache
//! capacity (spacejam/sled#1303), so a gigabyte document loaded through it held a
//! gigabyte of memory, and its pages cost more disk than the values. A pointer is 21
//! bytes; the file holds the compressed values and nothing else.
//!
//! Atomicity and crashes: sled stays the catalog and the commit point. A batch that
//! writes a non-bulk keyspace (a catalog entry, metadata) first syncs every bulk
//! file with unsynced data, so no durable pointer can outlive the bytes it names. A
//! generation's file is deleted when its last pointer is; on open, files of
//! generations that sled has no pointer for (a load killed before it committed,
//! whose keys the XML store's garbage collection then removed) are deleted too.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use super::file_pointer::{FilePointer, FileReaders};
use crate::{Error, Result};

/// First byte of a value that points into a bulk file.
const POINTER_TAG: u8 = 0xB1;

#[derive(Debug)]
struct Writer {
    file: BufWriter<File>,
    len: u64,
    /// Bytes written since the last sync.
    unsynced: bool,
}

/// The bulk files of one database directory.
#[derive(Debug)]
pub(crate) struct BulkFiles {
    dir: PathBuf,
    writers: Mutex<HashMap<u64, Writer>>,
    readers: FileReaders,
}

impl BulkFiles {
    pub(crate) fn open(db_dir: &std::path::Path) -> Result<Self> {
        let dir = db_dir.join("bulk");
        fs::create_dir_all(&dir)?;
        Ok(BulkFiles { dir, writers: Mutex::default(), readers: FileReaders::default() })
    }

    fn path(&self, gen: u64) -> PathBuf {
        self.dir.join(format!("{gen}.dat"))
    }

    /// Appends `value` to the file of `gen`; returns the pointer to store instead.
    pub(crate) fn append(&self, gen: u64, value: &[u8]) -> Result<Vec<u8>> {
        let mut writers = self.writers.lock().map_err(|_| Error::corrupted("bulk files", "lock poisoned"))?;
        let writer = match writers.entry(gen) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let file = OpenOptions::new().create(true).append(true).open(self.path(gen))?;
                let len = file.metadata()?.len();
                e.insert(Writer { file: BufWriter::with_capacity(1 << 20, file), len, unsynced: false })
            }
        };
        let offset = writer.len;
        writer.file.write_all(value)?;
        writer.len += value.len() as u64;
        writer.unsynced = true;
        Ok(FilePointer { file: gen, offset, len: value.len() as u32 }.encode(POINTER_TAG))
    }

    /// Writes out buffered bytes of every file, and syncs them when `sync`.
    pub(crate) fn flush(&self, sync: bool) -> Result<()> {
        let mut writers = self.writers.lock().map_err(|_| Error::corrupted("bulk files", "lock poisoned"))?;
        for writer in writers.values_mut() {
            if writer.unsynced {
                writer.file.flush()?;
                if sync {
                    writer.file.get_ref().sync_data()?;
                    writer.unsynced = false;
                }
            }
        }
        Ok(())
    }

    /// The value a stored pointer names (a value that is no pointer is corrupt).
    pub(crate) fn read(&self, stored: &[u8]) -> Result<Vec<u8>> {
        let pointer = FilePointer::decode(POINTER_TAG, stored, "bulk files")?;
        let gen = pointer.file;
        // Bytes still in a write buffer must reach the file first.
        if let Ok(mut writers) = self.writers.lock() {
            if let Some(w) = writers.get_mut(&gen) {
                if w.unsynced {
                    w.file.flush()?;
                }
            }
        }
        self.readers
            .read(&self.path(gen), pointer)
            .map_err(|e| Error::corrupted("bulk files", format!("generation {gen} at {}: {e}", pointer.offset)))
    }

    /// Deletes the file of `gen` (its last pointer is gone).
    pub(crate) fn remove(&self, gen: u64) -> Result<()> {
        if let Ok(mut writers) = self.writers.lock() {
            writers.remove(&gen);
        }
        self.readers.forget(gen);
        match fs::remove_file(self.path(gen)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Generations that have a file.
    pub(crate) fn generations(&self) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let name = entry?.file_name();
            if let Some(gen) = name.to_str().and_then(|n| n.strip_suffix(".dat")).and_then(|g| g.parse().ok()) {
                out.push(gen);
            }
        }
        Ok(out)
    }
}
