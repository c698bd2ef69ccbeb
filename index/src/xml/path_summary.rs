//! The path summary (a DataGuide): one id per distinct root-to-node label path.
//!
//! Every node carries the id of its path, and the postings keep one roaring list per
//! path id, so a location path made of child steps with name tests maps to a set of
//! path ids before any node is read. This is the input of the structure-context index.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::node::NodeKind;
use crate::codec::{Decoder, Encoder};
use crate::fast_map::FastMap;
use crate::{Error, Result};

/// One distinct label path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathEntry {
    /// The path one step shorter, or `None` for the root path.
    pub parent: Option<u32>,
    pub kind: NodeKind,
    pub name: u32,
    pub level: u16,
    /// Nodes on this path, over all documents of the collection (partition size).
    pub count: u64,
}

/// The distinct label paths of a collection. Path id 0 is the root's; a path's
/// prefix always has a smaller id than the path (ids are handed out as paths are
/// first seen).
#[derive(Debug, Clone)]
pub struct PathSummary {
    entries: Vec<PathEntry>,
    /// `entries[i].parent` packed densely ([`PathSummary::NO_PARENT`] for the root):
    /// queries walk up paths a lot, and this is a sixth of the memory to touch.
    parents: Vec<u32>,
    index: FastMap<(u32, NodeKind, u32), u32>,
    /// (kind, name) -> the paths ending in that label, ascending.
    by_label: FastMap<(NodeKind, u32), Vec<u32>>,
    /// (kind, name) -> nodes with that label, summed once on first use (a decoded
    /// summary no longer changes).
    label_counts: OnceLock<HashMap<(NodeKind, u32), u64>>,
}

impl Default for PathSummary {
    fn default() -> Self {
        PathSummary {
            entries: vec![PathEntry {
                parent: None,
                kind: NodeKind::Root,
                name: super::node::NO_NAME,
                level: 0,
                count: 0,
            }],
            parents: vec![PathSummary::NO_PARENT],
            label_counts: OnceLock::new(),
            index: FastMap::default(),
            by_label: FastMap::default(),
        }
    }
}

impl PathSummary {
    /// The root path's id.
    pub const ROOT: u32 = 0;

    /// The parent of the root in [`PathSummary::parent_ids`].
    pub const NO_PARENT: u32 = u32::MAX;

    /// Every path's parent path id, indexed by path id.
    pub fn parent_ids(&self) -> &[u32] {
        &self.parents
    }

    /// The id of `parent`'s path extended by one step, created if new.
    pub fn child(&mut self, parent: u32, kind: NodeKind, name: u32) -> u32 {
        if let Some(&id) = self.index.get(&(parent, kind, name)) {
            return id;
        }
        let level = self.entries.get(parent as usize).map_or(0, |p| p.level.saturating_add(1));
        let id = self.entries.len() as u32;
        self.entries.push(PathEntry { parent: Some(parent), kind, name, level, count: 0 });
        self.parents.push(parent);
        self.index.insert((parent, kind, name), id);
        self.by_label.entry((kind, name)).or_default().push(id);
        id
    }

    /// The paths whose last step is a node of `kind` named `name`, ascending.
    pub fn with_label(&self, kind: NodeKind, name: u32) -> &[u32] {
        self.by_label.get(&(kind, name)).map(Vec::as_slice).unwrap_or_default()
    }

    /// Counts one more node on path `id`.
    pub(crate) fn count(&mut self, id: u32) {
        if let Some(e) = self.entries.get_mut(id as usize) {
            e.count += 1;
        }
        self.label_counts.take();
    }

    /// Counts `n` fewer nodes on path `id` (a document taken out of the collection).
    pub(crate) fn uncount(&mut self, id: u32, n: u64) {
        if let Some(e) = self.entries.get_mut(id as usize) {
            e.count = e.count.saturating_sub(n);
        }
        self.label_counts.take();
    }

    fn label_counts(&self) -> &HashMap<(NodeKind, u32), u64> {
        self.label_counts.get_or_init(|| {
            let mut totals = HashMap::new();
            for e in &self.entries {
                *totals.entry((e.kind, e.name)).or_default() += e.count;
            }
            totals
        })
    }

    /// Nodes of `kind` named `name`, over all paths.
    pub fn label_count(&self, kind: NodeKind, name: u32) -> u64 {
        self.label_counts().get(&(kind, name)).copied().unwrap_or(0)
    }

    /// Nodes of `kind`, over all paths.
    pub fn kind_count(&self, kind: NodeKind) -> u64 {
        self.label_counts().iter().filter(|((k, _), _)| *k == kind).map(|(_, c)| c).sum()
    }

    /// True when `ancestor` is `id` or one of its prefixes.
    pub fn is_prefix(&self, ancestor: u32, id: u32) -> bool {
        let mut cur = Some(id);
        while let Some(c) = cur {
            if c == ancestor {
                return true;
            }
            cur = self.entries.get(c as usize).and_then(|e| e.parent);
        }
        false
    }

    pub fn get(&self, id: u32) -> Option<&PathEntry> {
        self.entries.get(id as usize)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All entries, indexed by path id.
    pub fn entries(&self) -> &[PathEntry] {
        &self.entries
    }

    pub(crate) fn encode(&self, enc: &mut Encoder) {
        enc.u32(self.entries.len() as u32);
        for e in &self.entries {
            enc.u32(e.parent.unwrap_or(u32::MAX)).u8(e.kind as u8).u32(e.name).u64(e.count);
        }
    }

    pub(crate) fn decode(dec: &mut Decoder<'_>) -> Result<Self> {
        let n = dec.u32()?;
        let mut res = PathSummary {
            entries: Vec::new(),
            parents: Vec::new(),
            index: FastMap::default(),
            by_label: FastMap::default(),
            label_counts: OnceLock::new(),
        };
        for id in 0..n {
            let parent = dec.u32()?;
            let kind = NodeKind::from_u8(dec.u8()?)?;
            let name = dec.u32()?;
            let count = dec.u64()?;
            if parent != u32::MAX && parent >= id {
                // Queries rely on prefixes having smaller ids (one forward pass finds
                // every path under a set of paths).
                return Err(Error::corrupted("path summary", format!("path {id} has a later parent {parent}")));
            }
            if parent == u32::MAX {
                res.entries.push(PathEntry { parent: None, kind, name, level: 0, count });
                res.parents.push(PathSummary::NO_PARENT);
            } else {
                let level = res.entries.get(parent as usize).map_or(0, |p| p.level.saturating_add(1));
                res.entries.push(PathEntry { parent: Some(parent), kind, name, level, count });
                res.parents.push(parent);
                res.index.insert((parent, kind, name), id);
                res.by_label.entry((kind, name)).or_default().push(id);
            }
        }
        Ok(res)
    }
}
