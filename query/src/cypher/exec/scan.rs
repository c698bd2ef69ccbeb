//! Where rows start: node scans (label, index seek, LIndex candidates, all nodes),
//! node checks, and counts read from the store.

use std::sync::Arc;

use sprig_index::graph::{NodeId, RelId};

use crate::cypher::eval::expr::passes;
use crate::cypher::exec::chunk_filter::ChunkFilter;
use crate::cypher::plan::expr::CExpr;
use crate::cypher::plan::*;
use crate::cypher::value::CypherValue as V;
use crate::Result;

use super::context::{lindex_candidates, set, widened, BoxOp, Ctx, Operator, Row};
use super::parallel::{side_by_side, slots_in};

/// Property-map values of a pattern, evaluated once per input row.
pub(super) fn eval_prop_map(props: &[(String, CExpr)], row: &Row, ctx: &mut Ctx<'_>) -> Result<Vec<(String, V)>> {
    if props.is_empty() {
        return Ok(Vec::new());
    }
    props.iter().map(|(k, e)| Ok((k.clone(), e.eval(row, ctx)?))).collect()
}

/// True when node `id` has every wanted property value (read from stored bytes).
pub(super) fn node_props_match(id: NodeId, wanted: &[(String, V)], ctx: &mut Ctx<'_>) -> Result<bool> {
    for (k, want) in wanted {
        let hit = ctx.graph.with_node_property(id, k, |raw| {
            raw.is_some_and(|r| crate::cypher::value::raw_equals(&r, want) == Some(true))
        })?;
        if hit != Some(true) {
            return Ok(false);
        }
    }
    Ok(true)
}

pub(super) fn rel_props_match(id: RelId, wanted: &[(String, V)], ctx: &mut Ctx<'_>) -> Result<bool> {
    for (k, want) in wanted {
        let hit = ctx.graph.with_rel_property(id, k, |raw| {
            raw.is_some_and(|r| crate::cypher::value::raw_equals(&r, want) == Some(true))
        })?;
        if hit != Some(true) {
            return Ok(false);
        }
    }
    Ok(true)
}

pub(super) fn node_matches(
    id: NodeId,
    labels: &mut LabelTest,
    props: &[(String, V)],
    ctx: &mut Ctx<'_>,
) -> Result<bool> {
    if !labels.test(id, ctx)? {
        return Ok(false);
    }
    if props.is_empty() {
        return Ok(labels.exact() || ctx.graph.node(id)?.is_some());
    }
    node_props_match(id, props, ctx)
}

/// "Has all these labels", answered from the label bitmaps (exact, and kept current
/// by the transaction), fetched once per operator run and, once it has answered
/// [`FLAT_AFTER`] tests, turned into a flat bit vector when the ids are dense enough
/// (one shift and mask per test; building it costs a pass over the label, which a
/// few tests never pay back).
#[derive(Debug, Clone, Default)]
pub(crate) struct LabelTest {
    pub(super) labels: Vec<String>,
    pub(super) sets: Option<Vec<LabelSet>>,
    pub(super) tests: std::cell::Cell<u32>,
    pub(super) flat: bool,
}

/// Tests a label answers from its bitmap before it is flattened.
pub(super) const FLAT_AFTER: u32 = 8192;

#[derive(Debug, Clone)]
pub(super) enum LabelSet {
    Bits(Vec<u64>),
    Bitmap(Arc<roaring::RoaringTreemap>),
}

/// Largest id for which a label is flattened into a bit vector (8 MiB of bits).
pub(super) const FLAT_LABEL_MAX_ID: u64 = 1 << 26;

/// Bytes of bits below which a label is flattened however sparse it is (64 KiB: ids
/// below 524,288; a scan re-fetches its extra labels per input row).
pub(super) const FLAT_LABEL_SMALL: u64 = 1 << 16;

impl LabelSet {
    fn flattened(self) -> Self {
        match self {
            LabelSet::Bitmap(b) => LabelSet::new(b),
            bits => bits,
        }
    }

    fn new(bitmap: Arc<roaring::RoaringTreemap>) -> Self {
        match bitmap.max() {
            // Flat when dense, or small whatever the density (a rare label of a
            // 100,000-node graph is 12 KiB of bits).
            Some(max) if max < FLAT_LABEL_MAX_ID && (max / 8 <= FLAT_LABEL_SMALL || bitmap.len() * 64 >= max / 8) => {
                let mut bits = vec![0u64; (max / 64 + 1) as usize];
                for id in bitmap.iter() {
                    bits[(id / 64) as usize] |= 1 << (id % 64);
                }
                LabelSet::Bits(bits)
            }
            _ => LabelSet::Bitmap(bitmap),
        }
    }

    fn contains(&self, id: NodeId) -> bool {
        match self {
            LabelSet::Bits(bits) => bits.get((id / 64) as usize).is_some_and(|w| w & (1 << (id % 64)) != 0),
            LabelSet::Bitmap(b) => b.contains(id),
        }
    }
}

impl LabelTest {
    pub(crate) fn new(labels: &[String]) -> Self {
        LabelTest { labels: labels.to_vec(), ..LabelTest::default() }
    }

    /// True when a positive test proves the node exists.
    fn exact(&self) -> bool {
        !self.labels.is_empty()
    }

    fn test(&mut self, id: NodeId, ctx: &mut Ctx<'_>) -> Result<bool> {
        self.prepare(ctx)?;
        Ok(self.contains(id))
    }

    /// Fetches the bitmaps (once per run).
    pub(crate) fn prepare(&mut self, ctx: &mut Ctx<'_>) -> Result<()> {
        if self.labels.is_empty() {
            return Ok(());
        }
        if self.sets.is_none() {
            let mut sets = Vec::with_capacity(self.labels.len());
            for l in &self.labels {
                sets.push(LabelSet::Bitmap(ctx.graph.label_nodes(Some(l))?));
            }
            self.sets = Some(sets);
            self.flat = false;
        } else if !self.flat && self.tests.get() >= FLAT_AFTER {
            if let Some(sets) = self.sets.take() {
                self.sets = Some(sets.into_iter().map(LabelSet::flattened).collect());
            }
            self.flat = true;
        }
        Ok(())
    }

    /// [`prepare`](Self::prepare) for a caller about to test a whole label's worth of ids.
    pub(crate) fn prepare_flat(&mut self, ctx: &mut Ctx<'_>) -> Result<()> {
        self.prepare(ctx)?;
        self.tests.set(FLAT_AFTER);
        self.prepare(ctx)
    }

    /// The test after [`LabelTest::prepare`].
    #[inline]
    pub(crate) fn contains(&self, id: NodeId) -> bool {
        if self.labels.is_empty() {
            return true;
        }
        if !self.flat {
            self.tests.set(self.tests.get().saturating_add(1));
        }
        self.sets.as_ref().is_some_and(|m| m.iter().all(|b| b.contains(id)))
    }

    /// Forgets the bitmaps (a write may have changed them).
    fn reset(&mut self) {
        self.sets = None;
        self.flat = false;
    }
}

pub(super) struct NodeScan {
    pub(super) input: BoxOp,
    pub(super) slot: usize,
    pub(super) source: ScanSource,
    pub(super) props: Vec<(String, CExpr)>,
    pub(super) current: Option<Row>,
    /// The candidates of the current input row.
    pub(super) candidates: roaring::RoaringTreemap,
    pub(super) wanted: Vec<(String, V)>,
    pub(super) predicates: Vec<CExpr>,
    pub(super) test: NodeTest,
    pub(super) batch: ScanBatch,
    /// The scan reads its input once (`Start` below): the leaf of a pipeline that
    /// may run as two halves, each scanning half of the candidates.
    pub(super) leaf: bool,
    /// This scan works half of its candidates, beside a second thread: its batches
    /// stay on this thread.
    pub(super) halved: bool,
    /// The candidates in index order, when the scan returns them so (`index_order.rs`).
    pub(super) in_order: Option<crate::cypher::exec::index_order::InOrder>,
}

/// Candidates are tested a batch of chunks at a time: a few chunks first (a scan
/// under a LIMIT may need no more), then twice as many each time, up to
/// [`MAX_BATCH_CHUNKS`]; a large batch is split between both cores.
const FIRST_BATCH_CHUNKS: usize = 4;
const MAX_BATCH_CHUNKS: usize = 128;
/// A batch of at least this many chunks is shared with a second thread.
const PARALLEL_BATCH_CHUNKS: usize = 32;

/// The candidates of the current input row that passed, and where testing is.
#[derive(Debug, Default)]
pub(super) struct ScanBatch {
    pub(super) passed: std::collections::VecDeque<NodeId>,
    /// The candidates below this id have been tested.
    from: NodeId,
    /// How many chunks the next batch covers.
    chunks: usize,
    pub(super) done: bool,
}

/// Everything that decides whether one candidate node passes a scan: its chunk's
/// mask, its labels and property map, and the predicates. One per thread.
#[derive(Debug, Clone)]
pub(super) struct NodeTest {
    pub(super) filter: ChunkFilter,
    /// The labels the source does not already guarantee.
    pub(super) extra: LabelTest,
    /// The input row with the candidate in its slot, for the predicates.
    pub(super) scratch: Row,
}

impl NodeTest {
    /// The candidates in `chunks` that pass, in order. A chunk whose mask rules out
    /// every node is skipped without looking at its ids.
    pub(super) fn passing(
        &mut self,
        candidates: &roaring::RoaringTreemap,
        chunks: std::ops::Range<u64>,
        slot: usize,
        wanted: &[(String, V)],
        predicates: &[CExpr],
        ctx: &mut Ctx<'_>,
    ) -> Result<Vec<NodeId>> {
        let len = sprig_index::graph::CHUNK_LEN as u64;
        let mut out = Vec::new();
        for chunk in chunks {
            let range = chunk * len..(chunk + 1) * len;
            let count = candidates.range_cardinality(range.clone());
            if count == 0 {
                continue;
            }
            ctx.work(count.min(u64::from(u32::MAX)) as u32)?;
            // Only the slots the chunk's mask keeps are looked at, one set bit at a time.
            let mask = self.filter.chunk_mask(chunk, ctx)?;
            let kept = |s: usize| mask.is_none_or(|m| m[s / 64] & (1 << (s % 64)) != 0);
            let first = chunk * len;
            match (&mask, count == len) {
                (Some(m), true) => {
                    for (w, word) in m.iter().enumerate() {
                        let mut bits = *word;
                        while bits != 0 {
                            let s = w * 64 + bits.trailing_zeros() as usize;
                            bits &= bits - 1;
                            self.test(first + s as u64, slot, wanted, predicates, ctx, &mut out)?;
                        }
                    }
                }
                (None, true) => {
                    for id in range {
                        self.test(id, slot, wanted, predicates, ctx, &mut out)?;
                    }
                }
                (_, false) => {
                    for s in slots_in(candidates, range).into_iter().filter(|s| kept(*s)) {
                        self.test(first + s as u64, slot, wanted, predicates, ctx, &mut out)?;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Adds `id`, which its chunk's mask keeps, to `out` when it passes.
    fn test(
        &mut self,
        id: NodeId,
        slot: usize,
        wanted: &[(String, V)],
        predicates: &[CExpr],
        ctx: &mut Ctx<'_>,
        out: &mut Vec<NodeId>,
    ) -> Result<()> {
        // Label bitmaps are exact: a scan with nothing else to check needs no record.
        let pass =
            (self.extra.labels.is_empty() && wanted.is_empty()) || node_matches(id, &mut self.extra, wanted, ctx)?;
        if !pass {
            return Ok(());
        }
        set(&mut self.scratch, slot, V::Node(id));
        for p in predicates {
            if !passes(&p.eval(&self.scratch, ctx)?)? {
                return Ok(());
            }
        }
        out.push(id);
        Ok(())
    }
}

impl NodeScan {
    fn candidates(&self, row: &Row, ctx: &mut Ctx<'_>) -> Result<roaring::RoaringTreemap> {
        Ok(match &self.source {
            ScanSource::LIndex { label, prune } => {
                let nodes = ctx.graph.label_nodes(label.as_deref())?;
                match lindex_candidates(prune, ctx)? {
                    Some(found) => found.as_ref() & nodes.as_ref(),
                    None => (*nodes).clone(),
                }
            }
            ScanSource::AllNodes => (*ctx.graph.label_nodes(None)?).clone(),
            ScanSource::Label(l) => (*ctx.graph.label_nodes(Some(l))?).clone(),
            ScanSource::IndexSeek { index, seek, .. } => match index_bounds(seek, row, ctx)? {
                IndexBounds::Keys(from, to) => ctx.graph.index_seek(index, &from, to.as_deref())?,
                // Index keys neither order nor match lists as Cypher does: a list value
                // reads the whole label, and the predicates above keep the rows that compare.
                IndexBounds::WholeLabel => (*ctx.graph.label_nodes(Some(&index.label))?).clone(),
                IndexBounds::Nothing => Default::default(),
            },
        })
    }
}

/// What an index seek reads: the keys from `.0` up to `.1` (every key starting with
/// `.0` when `None`), the whole label, or nothing (a value with no key, as null).
pub(super) enum IndexBounds {
    Keys(Vec<u8>, Option<Vec<u8>>),
    WholeLabel,
    Nothing,
}

/// The keys `seek` reads for the input row `row`.
pub(super) fn index_bounds(seek: &Seek, row: &Row, ctx: &mut Ctx<'_>) -> Result<IndexBounds> {
    let key = |v: &V| -> Option<Vec<u8>> { v.to_property().ok().flatten().and_then(|p| p.index_key()) };
    Ok(match seek {
        Seek::Equal(e) => {
            let v = e.eval(row, ctx)?;
            if matches!(v, V::List(_)) {
                return Ok(IndexBounds::WholeLabel);
            }
            match key(&v) {
                Some(k) => {
                    let mut to = k.clone();
                    to.push(0xff);
                    IndexBounds::Keys(k, Some(to))
                }
                None => IndexBounds::Nothing,
            }
        }
        Seek::Prefix(e) => match e.eval(row, ctx)? {
            V::String(s) => IndexBounds::Keys(sprig_index::graph::string_prefix_key(&s), None),
            _ => IndexBounds::Nothing,
        },
        Seek::Range { lower, upper } => {
            let lo = match lower {
                Some((e, _)) => Some(e.eval(row, ctx)?),
                None => None,
            };
            let hi = match upper {
                Some((e, _)) => Some(e.eval(row, ctx)?),
                None => None,
            };
            if lo.iter().chain(&hi).any(|v| matches!(v, V::List(_))) {
                return Ok(IndexBounds::WholeLabel);
            }
            let lo = lo.as_ref().and_then(key);
            let hi = hi.as_ref().and_then(key);
            // The type tag starts the key (a temporal value's kind is its second
            // byte): a range stays within its type.
            let tag = lo.as_ref().or(hi.as_ref()).map(|k| k[..if k[0] == b't' { 2 } else { 1 }].to_vec());
            match tag {
                Some(t) => {
                    let from = lo.unwrap_or_else(|| t.clone());
                    let mut to = hi.unwrap_or_else(|| {
                        let mut next = t.clone();
                        if let Some(last) = next.last_mut() {
                            *last += 1;
                        }
                        next
                    });
                    to.push(0xff);
                    IndexBounds::Keys(from, Some(to))
                }
                None => IndexBounds::Nothing,
            }
        }
    })
}

impl NodeScan {
    /// Tests the next batch of candidates into `batch.passed`; marks the batch done
    /// when no candidate is left.
    fn test_batch(&mut self, ctx: &mut Ctx<'_>) -> Result<()> {
        let len = sprig_index::graph::CHUNK_LEN as u64;
        // The next candidate not yet tested starts the batch.
        let tested = if self.batch.from == 0 { 0 } else { self.candidates.rank(self.batch.from - 1) };
        let Some(start) = self.candidates.select(tested) else {
            self.batch.done = true;
            return Ok(());
        };
        let first = start / len;
        let n = self.batch.chunks as u64;
        let chunks = first..first.saturating_add(n);
        self.batch.from = chunks.end.saturating_mul(len);
        self.batch.chunks = (self.batch.chunks * 2).min(MAX_BATCH_CHUNKS);
        let large = !self.halved
            && n as usize >= PARALLEL_BATCH_CHUNKS
            && self.candidates.range_cardinality(first * len..self.batch.from)
                >= PARALLEL_BATCH_CHUNKS as u64 * len / 2;
        let reader = if large { ctx.graph.reader()? } else { None };
        let (slot, wanted, predicates, candidates) = (self.slot, &self.wanted, &self.predicates, &self.candidates);
        let Some(reader) = reader else {
            let passed = self.test.passing(candidates, chunks, slot, wanted, predicates, ctx)?;
            self.batch.passed.extend(passed);
            return Ok(());
        };
        let middle = first + n / 2;
        let (here, there) = (first..middle, middle..chunks.end);
        let mut other = self.test.clone();
        let test = &mut self.test;
        let (mine, theirs) = side_by_side(
            ctx,
            reader,
            |ctx| test.passing(candidates, here, slot, wanted, predicates, ctx),
            |ctx| other.passing(candidates, there, slot, wanted, predicates, ctx),
        );
        self.batch.passed.extend(mine?);
        self.batch.passed.extend(theirs?);
        Ok(())
    }
}

impl Operator for NodeScan {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        loop {
            if let Some(row) = &self.current {
                if let Some(id) = self.batch.passed.pop_front() {
                    let mut out = widened(row, self.slot);
                    set(&mut out, self.slot, V::Node(id));
                    return Ok(Some(out));
                }
                if !self.batch.done {
                    if self.in_order.is_some() {
                        self.test_in_order(ctx)?;
                    } else {
                        self.test_batch(ctx)?;
                    }
                    continue;
                }
                self.current = None;
            }
            let Some(row) = self.input.next(ctx)? else { return Ok(None) };
            self.in_order = self.candidates_in_order(&row, ctx)?;
            self.candidates =
                if self.in_order.is_some() { roaring::RoaringTreemap::new() } else { self.candidates(&row, ctx)? };
            if self.leaf && self.in_order.is_none() {
                if let Some(half) = ctx.scan_half.take() {
                    half.keep(&mut self.candidates);
                    self.halved = true;
                }
            }
            self.wanted = eval_prop_map(&self.props, &row, ctx)?;
            self.test.extra.reset();
            self.test.filter.start(&self.wanted);
            self.test.scratch.clone_from(&row);
            self.batch = ScanBatch { chunks: FIRST_BATCH_CHUNKS, ..ScanBatch::default() };
            self.current = Some(row);
        }
    }
    fn reset(&mut self, arg: &Row) {
        self.current = None;
        self.input.reset(arg);
    }
}

pub(super) struct NodeCheck {
    pub(super) input: BoxOp,
    pub(super) slot: usize,
    pub(super) labels: LabelTest,
    pub(super) props: Vec<(String, CExpr)>,
}

impl Operator for NodeCheck {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        while let Some(row) = self.input.next(ctx)? {
            if let Some(V::Node(id)) = row.get(self.slot) {
                let wanted = eval_prop_map(&self.props, &row, ctx)?;
                if node_matches(*id, &mut self.labels, &wanted, ctx)? {
                    return Ok(Some(row));
                }
            }
        }
        Ok(None)
    }
    fn reset(&mut self, arg: &Row) {
        self.input.reset(arg);
    }
}

pub(super) struct CountFromStore {
    pub(super) source: CountSource,
    pub(super) columns: usize,
    pub(super) done: bool,
}

impl Operator for CountFromStore {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        if self.done {
            return Ok(None);
        }
        self.done = true;
        let n = match &self.source {
            CountSource::Nodes(label) => ctx.graph.label_nodes(label.as_deref())?.len(),
            CountSource::Rels(types) => {
                let meta = ctx.graph.meta();
                if types.is_empty() {
                    meta.rel_count
                } else {
                    types.iter().filter_map(|t| meta.type_token(t)).map(|k| meta.type_counts[k as usize]).sum()
                }
            }
        };
        Ok(Some(vec![V::Int(n as i64); self.columns]))
    }
    fn reset(&mut self, _arg: &Row) {
        self.done = false;
    }
}
