//! The region lists of a document being loaded, in bounded memory: every node's
//! `(pre, end)`, grouped by path. A node's entry is final once it has closed; when
//! the lists hold [`SPILL_REGIONS`] entries, each path's final prefix (all but the
//! entries of elements still open) is written out as one more run of that path, and
//! dropped from memory. At the end the runs and what is left are laid out as the
//! region table (`TableWriter`), path by path, one run in memory at a time. Runs go
//! to an anonymous temporary file, which the system removes when the load ends,
//! however it ends.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

use super::path_summary::PathSummary;
use crate::fast_map::FastMap;
use crate::storage::Storage;
use crate::Result;

/// Entries held in memory before final ones are written out (16 MiB).
pub(crate) const SPILL_REGIONS: usize = 2 << 20;

#[derive(Debug)]
pub(crate) struct RegionLists {
    /// Path -> its entries not yet written out, in document order.
    lists: FastMap<u32, Vec<(u32, u32)>>,
    held: usize,
    /// Spill at this many entries held ([`SPILL_REGIONS`]; tests set less).
    spill_at: usize,
    /// Path -> (offset, entries) of each run written, and entries in them all.
    spilled: HashMap<u32, (Vec<(u64, u32)>, u64)>,
    /// The runs, once there are any.
    file: Option<File>,
}

impl Default for RegionLists {
    fn default() -> Self {
        RegionLists { lists: FastMap::default(), held: 0, spill_at: SPILL_REGIONS, spilled: HashMap::new(), file: None }
    }
}

impl RegionLists {
    /// Appends the entry of node `pre` on `path`; returns its index in the path's
    /// in-memory list (valid until the next [`spill`](Self::spill)).
    pub(crate) fn push(&mut self, path: u32, pre: u32, end: u32) -> usize {
        let list = self.lists.entry(path).or_default();
        list.push((pre, end));
        self.held += 1;
        list.len() - 1
    }

    /// Sets the end of entry `index` of `path` (an element that closed).
    pub(crate) fn set_end(&mut self, path: u32, index: usize, end: u32) {
        if let Some(entry) = self.lists.get_mut(&path).and_then(|l| l.get_mut(index)) {
            entry.1 = end;
        }
    }

    /// Whether the lists hold enough to write final entries out.
    pub(crate) fn full(&self) -> bool {
        self.held >= self.spill_at
    }

    /// Writes every path's final entries out as a run. `open` gives the (path, index)
    /// of every element still open; returns, per path, how many entries left memory,
    /// by which the caller lowers the indexes it keeps.
    pub(crate) fn spill(&mut self, open: impl Iterator<Item = (u32, usize)>) -> Result<HashMap<u32, usize>> {
        // The root stays open until the end (it is on no element stack).
        let mut first_open: HashMap<u32, usize> = HashMap::from([(PathSummary::ROOT, 0)]);
        for (path, index) in open {
            let e = first_open.entry(path).or_insert(index);
            *e = (*e).min(index);
        }
        if self.file.is_none() {
            self.file = Some(tempfile::tempfile()?);
        }
        let Some(file) = self.file.as_mut() else { return Ok(HashMap::new()) };
        let mut at = file.seek(SeekFrom::End(0))?;
        let mut out = std::io::BufWriter::new(&*file);
        let mut drained = HashMap::new();
        for (&path, list) in self.lists.iter_mut() {
            let n = first_open.get(&path).copied().unwrap_or(list.len()).min(list.len());
            if n == 0 {
                continue;
            }
            // The entries left move to a list of their own size: a drained list
            // would keep its largest capacity for the rest of the load.
            let tail = list.split_off(n);
            let head = std::mem::replace(list, tail);
            for (pre, end) in head {
                out.write_all(&pre.to_le_bytes())?;
                out.write_all(&end.to_le_bytes())?;
            }
            let (runs, count) = self.spilled.entry(path).or_default();
            runs.push((at, n as u32));
            at += n as u64 * 8;
            *count += n as u64;
            self.held -= n;
            drained.insert(path, n);
        }
        out.flush()?;
        Ok(drained)
    }

    /// Lays out the region table of the document (see `region_table`) from the runs
    /// and what is left in memory.
    pub(crate) fn write(self, storage: &dyn Storage, gen: u64, doc: u32, summary: &PathSummary) -> Result<()> {
        let mut paths: Vec<u32> = self.lists.keys().chain(self.spilled.keys()).copied().collect();
        paths.sort_unstable_by_key(|&p| (summary.get(p).map(|e| (e.kind, e.name)), p));
        paths.dedup();
        let mut table = super::region_table::TableWriter::new(storage, gen, doc, summary.len());
        let mut raw = Vec::new();
        for path in paths {
            let (runs, spilled) = self.spilled.get(&path).map_or((&[][..], 0), |(r, n)| (&r[..], *n));
            let held = self.lists.get(&path).map_or(&[][..], |l| &l[..]);
            table.start_path(path, spilled + held.len() as u64);
            for &(offset, n) in runs {
                raw.resize(n as usize * 8, 0);
                if let Some(file) = &self.file {
                    file.read_exact_at(&mut raw, offset)?;
                }
                for c in raw.chunks_exact(8) {
                    let pre = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                    let end = u32::from_le_bytes([c[4], c[5], c[6], c[7]]);
                    table.push(pre, end)?;
                }
            }
            for &(pre, end) in held {
                table.push(pre, end)?;
            }
        }
        table.finish()
    }

    /// The root's entry (path `PathSummary::ROOT`, never spilled: it is open until
    /// the end).
    pub(crate) fn root_mut(&mut self) -> Option<&mut (u32, u32)> {
        self.lists.get_mut(&PathSummary::ROOT).and_then(|l| l.first_mut())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::xml::cache::XmlCache;
    use crate::xml::names::NameTable;
    use crate::xml::node::NodeKind;
    use crate::xml::region_table::RegionTable;
    use crate::MemoryStorage;

    #[test]
    fn spilled_runs_and_held_entries_make_the_same_table() {
        // Paths: root 0, element `a` (1) under it, element `b` (2) under `a`.
        let mut names = NameTable::default();
        let (a, b) = (names.intern_written("a", ""), names.intern_written("b", ""));
        let mut summary = PathSummary::default();
        let pa = summary.child(PathSummary::ROOT, NodeKind::Element, a);
        let pb = summary.child(pa, NodeKind::Element, b);
        let storage = Arc::new(MemoryStorage::default());
        let mut lists = RegionLists { spill_at: 3, ..Default::default() };
        lists.push(PathSummary::ROOT, 0, 0);
        let mut expected: Vec<(u32, u32)> = Vec::new();
        let mut bs: Vec<(u32, u32)> = Vec::new();
        // a(1) holds b(2..=11), each b closing at once; spills happen with `a` open.
        let a_index = lists.push(pa, 1, 0);
        let mut a_index = a_index;
        for pre in 2..12u32 {
            let i = lists.push(pb, pre, 0);
            lists.set_end(pb, i, pre);
            bs.push((pre, pre));
            if lists.full() {
                let drained = lists.spill([(pa, a_index)].into_iter()).unwrap();
                a_index -= drained.get(&pa).copied().unwrap_or(0);
            }
        }
        lists.set_end(pa, a_index, 11);
        expected.push((1, 11));
        assert!(lists.spilled.get(&pb).is_some_and(|(runs, _)| runs.len() >= 2), "{:?}", lists.spilled);
        if let Some(root) = lists.root_mut() {
            root.1 = 11;
        }
        lists.write(storage.as_ref(), 9, 0, &summary).unwrap();
        let table = RegionTable::new(storage, XmlCache::new(Arc::default()), 9, 0);
        let read =
            |p: u32| table.partitions(&[p]).unwrap().into_iter().map(|(pre, end, _)| (pre, end)).collect::<Vec<_>>();
        assert_eq!(read(pa), expected);
        assert_eq!(read(pb), bs);
        assert_eq!(read(PathSummary::ROOT), vec![(0, 11)]);
        // Within given regions, by binary search: nested regions give each node once.
        assert_eq!(
            table.partition_within(pb, &[(3, 5), (8, 8), (9, 11)]).unwrap(),
            vec![(4, 4), (5, 5), (10, 10), (11, 11)]
        );
        assert_eq!(table.partition_within(pb, &[(1, 11), (2, 4)]).unwrap(), bs);
        assert!(table.partition_within(pb, &[(11, 11)]).unwrap().is_empty());
    }
}
