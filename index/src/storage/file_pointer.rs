//! What the value files beside sled share: the pointer sled keeps in place of a value
//! (which file, where, how long), and the open read handles of those files.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::{Error, Result};

/// Where a value lives: `len` bytes at `offset` of file number `file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FilePointer {
    pub file: u64,
    pub offset: u64,
    pub len: u32,
}

/// A tag byte, then the file number, the offset and the length, little-endian.
const ENCODED_LEN: usize = 1 + 8 + 8 + 4;

impl FilePointer {
    /// The stored form, starting with `tag` (which says whose pointer it is).
    pub fn encode(&self, tag: u8) -> Vec<u8> {
        let mut out = Vec::with_capacity(ENCODED_LEN);
        out.push(tag);
        out.extend_from_slice(&self.file.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
        out
    }

    /// The pointer in `stored`; `what` names the files in the error of a stored value
    /// that is no pointer with `tag`.
    pub fn decode(tag: u8, stored: &[u8], what: &'static str) -> Result<Self> {
        if stored.len() != ENCODED_LEN || stored[0] != tag {
            return Err(Error::corrupted(what, "a key holds no pointer to a value file"));
        }
        let u64_at = |p: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&stored[p..p + 8]);
            u64::from_le_bytes(b)
        };
        let len = u32::from_le_bytes([stored[17], stored[18], stored[19], stored[20]]);
        Ok(FilePointer { file: u64_at(1), offset: u64_at(9), len })
    }
}

/// Read handles of value files by number, opened on first use and kept open (a file
/// deleted while a read holds its handle stays readable until the read ends).
#[derive(Debug, Default)]
pub(crate) struct FileReaders {
    open: Mutex<HashMap<u64, Arc<File>>>,
}

impl FileReaders {
    /// The bytes `pointer` names in the file at `path`. An I/O error is returned as
    /// such, so that a caller can tell a file deleted meanwhile (`NotFound`).
    pub fn read(&self, path: &Path, pointer: FilePointer) -> std::io::Result<Vec<u8>> {
        let file = {
            let mut open = self.open.lock().map_err(|_| std::io::Error::other("file readers: lock poisoned"))?;
            match open.get(&pointer.file) {
                Some(f) => f.clone(),
                None => {
                    let f = Arc::new(File::open(path)?);
                    open.insert(pointer.file, f.clone());
                    f
                }
            }
        };
        let mut buf = vec![0u8; pointer.len as usize];
        file.read_exact_at(&mut buf, pointer.offset)?;
        Ok(buf)
    }

    /// Closes the handle of `file` (it is being deleted).
    pub fn forget(&self, file: u64) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(&file);
        }
    }
}
