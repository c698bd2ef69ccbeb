//! Chunk-at-a-time pre-filtering for node scans.
//!
//! A scan with predicates on the scanned node tests a whole stored chunk (1024 ids)
//! at once before it looks at single nodes: numeric comparisons run over the
//! chunk's numeric columns, and string searches (`=`, `CONTAINS`, `STARTS WITH`,
//! `ENDS WITH`) become one substring search over the chunk's bytes. The result is a
//! mask of slots that *may* match; the scan still evaluates every predicate on the
//! nodes the mask keeps, so the mask only has to be a superset of the matches.

use sprig_index::graph::{chunk_of, Cell, NodeChunkView, NodeId, RawValue, SlotMask, CHUNK_LEN};

use crate::cypher::eval::expr::compare_raw;
use crate::cypher::exec::Ctx;
use crate::cypher::plan::expr::CExpr;
use crate::cypher::syntax::ast::{BinaryOp, CompareOp};
use crate::cypher::value::CypherValue as V;
use crate::Result;

/// A comparison of a numeric or boolean property with a constant.
#[derive(Debug, Clone)]
struct ColumnTest {
    key: String,
    op: CompareOp,
    value: V,
}

/// The chunk-level tests of one scan, and the mask of the chunk it is in.
#[derive(Debug, Default, Clone)]
pub struct ChunkFilter {
    columns: Vec<ColumnTest>,
    /// Column tests from the property map of the current scan.
    scan_columns: Vec<ColumnTest>,
    needles: Vec<Vec<u8>>,
    finders: Vec<memchr::memmem::Finder<'static>>,
    /// The chunk of the last node asked about, and its mask (`None`: test nodes one by one).
    current: Option<(u64, Option<SlotMask>)>,
}

/// The bytes a node must hold for `predicate` on `slot` to be true: a string
/// compared for equality, or searched with CONTAINS / STARTS WITH / ENDS WITH.
fn needle_of(predicate: &CExpr, slot: usize) -> Option<Vec<u8>> {
    let s = match predicate {
        CExpr::SlotPropertyCompare { slot: s, op: CompareOp::Eq, value: V::String(v), .. } if *s == slot => v,
        CExpr::Binary(BinaryOp::Contains | BinaryOp::StartsWith | BinaryOp::EndsWith, a, b) => match (&**a, &**b) {
            (CExpr::SlotProperty(s, _), CExpr::Const(V::String(v))) if *s == slot => v,
            _ => return None,
        },
        _ => return None,
    };
    // A one-byte needle is in nearly every chunk: searching costs more than it saves.
    (s.len() >= 2).then(|| s.as_bytes().to_vec())
}

fn column_test_of(predicate: &CExpr, slot: usize) -> Option<ColumnTest> {
    match predicate {
        CExpr::SlotPropertyCompare { slot: s, key, op, value: value @ (V::Int(_) | V::Float(_) | V::Bool(_)) }
            if *s == slot =>
        {
            Some(ColumnTest { key: key.clone(), op: *op, value: value.clone() })
        }
        _ => None,
    }
}

/// Whether a stored value less than, equal to or greater than the constant passes
/// `op` (indexed by `Ordering as i8 + 1`).
pub(super) fn accepted_orders(op: CompareOp) -> [bool; 3] {
    match op {
        CompareOp::Eq => [false, true, false],
        CompareOp::Ne => [true, false, true],
        CompareOp::Lt => [true, false, false],
        CompareOp::Le => [true, true, false],
        CompareOp::Gt => [false, false, true],
        CompareOp::Ge => [false, true, true],
    }
}

impl ChunkFilter {
    /// The tests implied by `predicates` (all of which must hold) on the node in `slot`.
    pub fn new(predicates: &[CExpr], slot: usize) -> Self {
        ChunkFilter {
            columns: predicates.iter().filter_map(|p| column_test_of(p, slot)).collect(),
            scan_columns: Vec::new(),
            needles: predicates.iter().filter_map(|p| needle_of(p, slot)).collect(),
            finders: Vec::new(),
            current: None,
        }
    }

    /// Starts a scan whose property map requires `wanted` (`{name: 'x'}` adds a needle
    /// and `{age: 3}` a column test for this scan only).
    pub fn start(&mut self, wanted: &[(String, V)]) {
        let mut needles = self.needles.clone();
        let mut extra = Vec::new();
        for (key, v) in wanted {
            match v {
                V::String(s) if s.len() >= 2 => needles.push(s.as_bytes().to_vec()),
                V::Int(_) | V::Float(_) | V::Bool(_) => {
                    extra.push(ColumnTest { key: key.clone(), op: CompareOp::Eq, value: v.clone() })
                }
                _ => {}
            }
        }
        self.finders = needles.iter().map(|n| memchr::memmem::Finder::new(n).into_owned()).collect();
        self.scan_columns = extra;
        self.current = None;
    }

    fn is_empty(&self) -> bool {
        self.finders.is_empty() && self.columns.is_empty() && self.scan_columns.is_empty()
    }

    /// The mask of `chunk` (`None`: test nodes one by one), computed once per chunk.
    fn mask_of(&mut self, chunk: u64, ctx: &mut Ctx<'_>) -> Result<&Option<SlotMask>> {
        if !matches!(&self.current, Some((c, _)) if *c == chunk) {
            let mask = match ctx.graph.node_chunk_view(chunk)? {
                Some(view) => Some(self.mask(&view)?),
                None => None,
            };
            self.current = Some((chunk, mask));
        }
        Ok(self.current.as_ref().map_or(&None, |(_, m)| m))
    }

    /// The slots of `chunk` that may pass the scan's predicates; `None` when every
    /// slot may (no chunk-level test, or a chunk the transaction changed).
    pub fn chunk_mask(&mut self, chunk: u64, ctx: &mut Ctx<'_>) -> Result<Option<SlotMask>> {
        if self.is_empty() {
            return Ok(None);
        }
        Ok(*self.mask_of(chunk, ctx)?)
    }

    /// False when `id` certainly fails the scan's predicates.
    pub fn may_match(&mut self, id: NodeId, ctx: &mut Ctx<'_>) -> Result<bool> {
        if self.is_empty() {
            return Ok(true);
        }
        let (chunk, slot) = chunk_of(id);
        Ok(match self.mask_of(chunk, ctx)? {
            Some(m) => m[slot / 64] & (1 << (slot % 64)) != 0,
            None => true,
        })
    }

    fn mask(&self, view: &NodeChunkView) -> Result<SlotMask> {
        let mut mask = [!0u64; CHUNK_LEN / 64];
        for f in &self.finders {
            for (m, c) in mask.iter_mut().zip(view.slots_containing(f)) {
                *m &= c;
            }
        }
        for test in self.columns.iter().chain(&self.scan_columns) {
            let column = view.column(&test.key)?;
            // A chunk without a number for the key keeps its slots: strings and lists
            // are left to the predicate itself.
            let Some(cells) = column.as_ref() else { continue };
            let accept = accepted_orders(test.op);
            for slot in 0..CHUNK_LEN {
                let raw = match (cells.get(slot), &test.value) {
                    // The common case, compared in place.
                    (Cell::Int(i), V::Int(k)) => {
                        if !accept[(i.cmp(k) as i8 + 1) as usize] {
                            mask[slot / 64] &= !(1 << (slot % 64));
                        }
                        continue;
                    }
                    (Cell::Absent, _) => None,
                    (Cell::Other | Cell::Str(_), _) => continue,
                    (Cell::Int(i), _) => Some(RawValue::Int(i)),
                    (Cell::Float(x), _) => Some(RawValue::Float(x)),
                    (Cell::Bool(b), _) => Some(RawValue::Bool(b)),
                };
                let pass = raw.and_then(|r| compare_raw(&r, test.op, &test.value)) == Some(true);
                if !pass {
                    mask[slot / 64] &= !(1 << (slot % 64));
                }
            }
        }
        Ok(mask)
    }
}
