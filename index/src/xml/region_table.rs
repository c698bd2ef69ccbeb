//! The structure-context index of one document: the `(pre, end)` regions of every
//! node (namespace declarations aside), grouped by path partition.
//!
//! Partitions are laid out one after another, ordered by their last label (kind and
//! name) and then path id, so that all partitions of one name are neighbours, and cut
//! into segments of [`SEGMENT_REGIONS`] regions, each stored LZ4-compressed under its
//! own key. A dense directory, indexed by path id, says where each partition starts
//! and how long it is. Reading a partition
//! touches only the segments that hold it, and a query that reads thousands of small
//! partitions (as on highly recursive documents) pays one storage read per segment,
//! not per partition. Within a partition all nodes share a level, so regions never
//! nest, and they are sorted by `pre`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, OnceLock};

use super::cache::{Directory, Regions, XmlCache};
use crate::codec::{compress, decompress, Decoder, Encoder};
use crate::keys::xml as keys;
use crate::storage::{Keyspace, Storage, WriteBatch};
use crate::{Error, Result};

/// A decoded segment: `(pre, end)` per region.
type Segment = Arc<Regions>;

/// Regions per stored segment (256 KiB before compression).
pub const SEGMENT_REGIONS: usize = 32 * 1024;

/// Writes the region table of one document: partitions in layout order (each
/// announced by [`start_path`](Self::start_path) with its length, then its regions
/// in `pre` order), cut into segments as they fill, then the directory.
pub(crate) struct TableWriter<'s> {
    storage: &'s dyn Storage,
    gen: u64,
    doc: u32,
    /// Per path id of the summary: (start, len); absent paths have len 0.
    spans: Vec<(u64, u32)>,
    segment: Vec<u8>,
    segment_no: u32,
    start: u64,
}

impl<'s> TableWriter<'s> {
    pub(crate) fn new(storage: &'s dyn Storage, gen: u64, doc: u32, paths: usize) -> Self {
        TableWriter {
            storage,
            gen,
            doc,
            spans: vec![(0, 0); paths],
            segment: Vec::with_capacity(SEGMENT_REGIONS * 8),
            segment_no: 0,
            start: 0,
        }
    }

    /// Starts the partition of `path`, which holds `len` regions.
    pub(crate) fn start_path(&mut self, path: u32, len: u64) {
        if let Some(span) = self.spans.get_mut(path as usize) {
            *span = (self.start, len as u32);
        }
        self.start += len;
    }

    pub(crate) fn push(&mut self, pre: u32, end: u32) -> Result<()> {
        self.segment.extend_from_slice(&pre.to_le_bytes());
        self.segment.extend_from_slice(&end.to_le_bytes());
        if self.segment.len() == SEGMENT_REGIONS * 8 {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let mut batch = WriteBatch::default();
        let key = keys::region_segment(self.gen, self.doc, self.segment_no);
        batch.put(Keyspace::Regions, key, compress(&self.segment));
        self.storage.apply(batch)?;
        self.segment.clear();
        self.segment_no += 1;
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Result<()> {
        if !self.segment.is_empty() {
            self.flush()?;
        }
        let mut directory = Encoder::default();
        directory.u32(self.spans.len() as u32);
        for (start, len) in &self.spans {
            directory.u64(*start).u32(*len);
        }
        let mut batch = WriteBatch::default();
        batch.put(Keyspace::Regions, keys::region_directory(self.gen, self.doc), compress(&directory.finish()));
        self.storage.apply(batch)
    }
}

/// One document's region directory: per path id, its first region and how many
/// regions (nodes on that path) the document has.
pub(crate) fn read_directory(storage: &dyn Storage, gen: u64, doc: u32) -> Result<Vec<(u64, u32)>> {
    let mut spans = Vec::new();
    if let Some(stored) = storage.get(Keyspace::Regions, &keys::region_directory(gen, doc))? {
        let raw = decompress(&stored, "region directory")?;
        let mut dec = Decoder::new(&raw, "region directory");
        let n = dec.u32()?;
        spans.reserve(n as usize);
        for _ in 0..n {
            spans.push((dec.u64()?, dec.u32()?));
        }
    }
    Ok(spans)
}

/// Reads partitions of one document's region table, caching decoded segments.
#[derive(Debug)]
pub(crate) struct RegionTable {
    storage: Arc<dyn Storage>,
    cache: XmlCache,
    gen: u64,
    doc: u32,
    /// Indexed by path id: (first region, number of regions); read on first use.
    directory: OnceLock<Arc<Directory>>,
}

impl RegionTable {
    pub(crate) fn new(storage: Arc<dyn Storage>, cache: XmlCache, gen: u64, doc: u32) -> Self {
        RegionTable { storage, cache, gen, doc, directory: OnceLock::new() }
    }

    fn directory(&self) -> Result<&[(u64, u32)]> {
        if let Some(d) = self.directory.get() {
            return Ok(&d.0);
        }
        let key = self.cache.directory_key(self.gen, self.doc);
        let spans = self.cache.get_or_load(key, || {
            let spans = read_directory(self.storage.as_ref(), self.gen, self.doc)?;
            let size = spans.len() * 16;
            Ok((Directory(spans), size))
        })?;
        Ok(&self.directory.get_or_init(|| spans).0)
    }

    fn segment(&self, no: u32) -> Result<Segment> {
        let key = self.cache.segment_key(self.gen, self.doc, no);
        self.cache.get_or_load(key, || {
            let stored = self
                .storage
                .get(Keyspace::Regions, &keys::region_segment(self.gen, self.doc, no))?
                .ok_or_else(|| Error::corrupted("region table", format!("segment {no} is missing")))?;
            let raw = decompress(&stored, "region segment")?;
            if raw.len() % 8 != 0 {
                return Err(Error::corrupted("region segment", "length is not a multiple of 8"));
            }
            let regions: Vec<(u32, u32)> = raw
                .chunks_exact(8)
                .map(|c| (u32::from_le_bytes([c[0], c[1], c[2], c[3]]), u32::from_le_bytes([c[4], c[5], c[6], c[7]])))
                .collect();
            let size = regions.len() * 8;
            Ok((Regions(regions), size))
        })
    }

    /// The regions of partition `path` that lie inside one of `within` (regions
    /// `(pre, end)` sorted by `pre`), in order: for each, a binary search
    /// for its first region, then a walk to its end. For a few ancestors in a large
    /// partition this reads a few segments instead of the whole partition.
    pub(crate) fn partition_within(&self, path: u32, within: &[(u32, u32)]) -> Result<Vec<(u32, u32)>> {
        let Some(&(start, len)) = self.directory()?.get(path as usize) else { return Ok(Vec::new()) };
        let mut current: Option<(u32, Segment)> = None;
        let at_index = |k: u64, current: &mut Option<(u32, Segment)>| -> Result<(u32, u32)> {
            let at = start + k;
            let no = (at / SEGMENT_REGIONS as u64) as u32;
            if current.as_ref().is_none_or(|(n, _)| *n != no) {
                *current = Some((no, self.segment(no)?));
            }
            let segment = current.as_ref().map(|(_, s)| s.0.as_slice()).unwrap_or_default();
            segment
                .get((at % SEGMENT_REGIONS as u64) as usize)
                .copied()
                .ok_or_else(|| Error::corrupted("region table", format!("partition {path} runs past its segment")))
        };
        let mut out = Vec::new();
        let len = u64::from(len);
        for &(lo, hi) in within {
            // The first region with pre > lo.
            let (mut a, mut b) = (0u64, len);
            while a < b {
                let mid = a + (b - a) / 2;
                if at_index(mid, &mut current)?.0 > lo {
                    b = mid;
                } else {
                    a = mid + 1;
                }
            }
            let mut k = a;
            while k < len {
                let region = at_index(k, &mut current)?;
                if region.0 > hi {
                    break;
                }
                out.push(region);
                k += 1;
            }
        }
        // Regions given that nest (several parent partitions) find some twice.
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// The regions of several partitions as `(pre, end, path)`, concatenated (each
    /// partition sorted by `pre`; the whole is not). Partitions are copied in storage
    /// order, so each segment is fetched once.
    pub(crate) fn partitions(&self, paths: &[u32]) -> Result<Vec<(u32, u32, u32)>> {
        let directory = self.directory()?;
        let mut spans: Vec<(u64, u32, u32)> =
            paths.iter().filter_map(|&p| directory.get(p as usize).map(|&(start, len)| (start, len, p))).collect();
        spans.sort_unstable();
        let total: usize = spans.iter().map(|&(_, len, _)| len as usize).sum();
        let mut res = Vec::with_capacity(total);
        let mut current: Option<(u32, Segment)> = None;
        for (start, len, path) in spans {
            let (mut at, end) = (start, start + u64::from(len));
            while at < end {
                let no = (at / SEGMENT_REGIONS as u64) as u32;
                if current.as_ref().is_none_or(|(n, _)| *n != no) {
                    current = Some((no, self.segment(no)?));
                }
                let segment = current.as_ref().map(|(_, s)| s.0.as_slice()).unwrap_or_default();
                let offset = (at % SEGMENT_REGIONS as u64) as usize;
                let take = ((end - at) as usize).min(SEGMENT_REGIONS - offset);
                let slice = segment
                    .get(offset..offset + take)
                    .ok_or_else(|| Error::corrupted("region table", format!("a partition runs past segment {no}")))?;
                res.extend(slice.iter().map(|&(pre, end)| (pre, end, path)));
                at += take as u64;
            }
        }
        Ok(res)
    }

    /// The regions of partition `path`, sorted by `pre`; empty if the document has none.
    pub(crate) fn partition(&self, path: u32) -> Result<Vec<(u32, u32)>> {
        Ok(self.partitions(&[path])?.into_iter().map(|(pre, end, _)| (pre, end)).collect())
    }

    /// Partition `path` in place, for searching it without copying it out.
    fn view(&self, path: u32) -> Result<PartitionView<'_>> {
        let (start, len) = self.directory()?.get(path as usize).copied().unwrap_or((0, 0));
        let first = start / SEGMENT_REGIONS as u64;
        let last = (start + u64::from(len)).div_ceil(SEGMENT_REGIONS as u64);
        let segments = vec![None; (last - first) as usize];
        Ok(PartitionView { table: self, path, start, len: u64::from(len), first, segments })
    }

    /// Those of `pres` (sorted) that are nodes on one of `paths`, as `(pre, end, path)`
    /// in document order. Each partition is searched forward from where the previous
    /// node was found (galloping), so this costs about a logarithm of the gap per
    /// node and never reads the whole partition.
    ///
    /// The partitions' spans may interleave (a document that repeats its content
    /// interleaves every partition with the others ten times over), so a node is not
    /// searched in every partition: the partitions wait in a heap by the start of the
    /// region their search stands at, and a node moves only those that stand before
    /// it. The one left standing at the node, if any, holds it.
    pub(crate) fn locate(&self, paths: &[u32], pres: &[u32]) -> Result<Vec<(u32, u32, u32)>> {
        let mut views = Vec::with_capacity(paths.len());
        let mut waiting = BinaryHeap::with_capacity(paths.len());
        for &path in paths {
            let mut view = self.view(path)?;
            if view.len > 0 {
                waiting.push(Reverse((view.get(0)?.0, views.len())));
                views.push((view, 0u64));
            }
        }
        let mut out = Vec::new();
        for &pre in pres {
            while let Some(&Reverse((start, v))) = waiting.peek() {
                if start >= pre {
                    break;
                }
                waiting.pop();
                let (view, k) = &mut views[v];
                *k = view.first_from(*k, |r| r.0 >= pre)?;
                if *k < view.len {
                    waiting.push(Reverse((view.get(*k)?.0, v)));
                }
            }
            match waiting.peek() {
                Some(&Reverse((start, v))) if start == pre => {
                    let (view, k) = &mut views[v];
                    let (_, end) = view.get(*k)?;
                    out.push((pre, end, view.path));
                }
                Some(_) => {}
                None => break,
            }
        }
        Ok(out)
    }

    /// For each of `within` (regions sorted by `pre`), whether a node on one of
    /// `paths` lies inside it; searched as in [`Self::locate`], from the regions
    /// that overlap each partition's span, so the partitions are never read whole.
    pub(crate) fn any_within(&self, paths: &[u32], within: &[(u32, u32)]) -> Result<Vec<bool>> {
        let mut found = vec![false; within.len()];
        let disjoint = within.windows(2).all(|w| w[0].1 < w[1].0);
        for &path in paths {
            let mut view = self.view(path)?;
            if view.len == 0 {
                continue;
            }
            let (first, last) = (view.get(0)?.0, view.get(view.len - 1)?.0);
            // Regions that start after the partition ends hold none of its nodes,
            // nor, when they do not nest, those before the last that starts
            // before it.
            let from = if disjoint { within.partition_point(|r| r.0 < first).saturating_sub(1) } else { 0 };
            let to = within.partition_point(|r| r.0 <= last);
            let mut k = 0;
            for (i, &(lo, hi)) in within.iter().enumerate().take(to).skip(from) {
                if found[i] {
                    continue;
                }
                k = view.first_from(k, |r| r.0 > lo)?;
                if k == view.len {
                    break;
                }
                if view.get(k)?.0 <= hi {
                    found[i] = true;
                }
            }
        }
        Ok(found)
    }

    /// The regions of partition `path` that hold one of `pres` (sorted), each once,
    /// in document order; searched as in [`Self::locate`]. Regions of one partition
    /// never nest, so the one that holds a node is the last that starts at or
    /// before it.
    pub(crate) fn enclosing(&self, path: u32, pres: &[u32]) -> Result<Vec<(u32, u32)>> {
        let mut view = self.view(path)?;
        let mut out: Vec<(u32, u32)> = Vec::new();
        let mut k = 0;
        for &pre in pres {
            k = view.first_from(k, |r| r.0 > pre)?;
            if k == 0 {
                continue;
            }
            let region = view.get(k - 1)?;
            if region.1 >= pre && out.last() != Some(&region) {
                out.push(region);
            }
        }
        Ok(out)
    }
}

/// One partition of a region table, read region by region from the cached segments
/// that hold it. Every segment touched is kept at hand: a search probes back and
/// forth between a few segments, and each probe should not cost a lookup in the
/// shared cache.
struct PartitionView<'t> {
    table: &'t RegionTable,
    path: u32,
    /// Position of the partition's first region in the table.
    start: u64,
    len: u64,
    /// The number of the segment holding the first region.
    first: u64,
    /// The partition's segments, from `first`, as they are touched.
    segments: Vec<Option<Segment>>,
}

impl PartitionView<'_> {
    /// Region `k` of the partition (`k < len`).
    fn get(&mut self, k: u64) -> Result<(u32, u32)> {
        let at = self.start + k;
        let no = at / SEGMENT_REGIONS as u64;
        let runs_past = || Error::corrupted("region table", format!("partition {} runs past its segment", self.path));
        let slot = self.segments.get_mut((no - self.first) as usize).ok_or_else(runs_past)?;
        if slot.is_none() {
            *slot = Some(self.table.segment(no as u32)?);
        }
        slot.as_ref()
            .and_then(|segment| segment.0.get((at % SEGMENT_REGIONS as u64) as usize).copied())
            .ok_or_else(runs_past)
    }

    /// The first index at or after `from` whose region satisfies `pred` (false, then
    /// true, along the partition), or `len`: doubling steps from `from`, then a
    /// binary search within the last step.
    fn first_from(&mut self, from: u64, pred: impl Fn((u32, u32)) -> bool) -> Result<u64> {
        if from >= self.len || pred(self.get(from)?) {
            return Ok(from.min(self.len));
        }
        // Invariant: pred is false at `lo`, and true at `hi` or `hi == len`.
        let (mut lo, mut step) = (from, 1u64);
        let mut hi = loop {
            let probe = lo + step;
            if probe >= self.len {
                break self.len;
            }
            if pred(self.get(probe)?) {
                break probe;
            }
            lo = probe;
            step *= 2;
        };
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if pred(self.get(mid)?) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Ok(hi)
    }
}
