//! Both cores on one large scan: the chunks of a label are split in two halves,
//! the first worked on this thread with the statement's context, the second on
//! another thread with a context over a second read-only view of the same graph
//! (`Overlay::reader`). Each half keeps its own state, and the caller merges them
//! first half first, so that results come out in the order one thread would give.
//!
//! Only for work that reads committed data: a transaction that changed the graph
//! gets no second view, and the whole scan runs on this thread.
//!
//! A whole pipeline can be split the same way ([`SplitPipeline`]): the streaming
//! operators below an aggregation (a label scan, expansions, filters, projections)
//! are built a second time for the second thread, and each copy's scan keeps half
//! of its candidates ([`ScanHalf`]). The aggregation folds each half into a state of
//! its own and merges the second into the first.

use sprig_index::graph::{Overlay, CHUNK_LEN};

use crate::common::stop::StopCheck;
use crate::cypher::exec::build::build_node;
use crate::cypher::exec::context::{BoxOp, Ctx, GraphRef, OpStats, ScanHalf};
use crate::cypher::exec::memory::MemoryBudget;
use crate::cypher::plan::LogicalOp;
use crate::{Error, Result};

/// Below this many chunks a second thread costs more than it saves.
const MIN_CHUNKS: usize = 64;

/// A chunk that holds nodes of the scanned label, and their slots (`None`: all).
pub(super) type LabelChunk = (u64, Option<Vec<usize>>);

/// The chunks holding nodes of `label` (every node for `None`), in id order.
pub(super) fn label_chunks(label: Option<&str>, ctx: &mut Ctx<'_>) -> Result<Vec<LabelChunk>> {
    let ids = ctx.graph.label_nodes(label)?;
    let (Some(first), Some(last)) = (ids.min(), ids.max()) else { return Ok(Vec::new()) };
    let len = CHUNK_LEN as u64;
    let mut out = Vec::new();
    for chunk in first / len..=last / len {
        let range = chunk * len..(chunk + 1) * len;
        match ids.range_cardinality(range.clone()) {
            0 => {}
            n if n == len => out.push((chunk, None)),
            _ => out.push((chunk, Some(slots_in(&ids, range)))),
        }
    }
    Ok(out)
}

/// The slots (offsets from `range.start`) of the ids of `range` in `ids`.
pub(super) fn slots_in(ids: &roaring::RoaringTreemap, range: std::ops::Range<u64>) -> Vec<usize> {
    let start = range.start;
    if range.end <= u64::from(u32::MAX) {
        if let Some((_, low)) = ids.bitmaps().find(|(high, _)| *high == 0) {
            return low
                .range(range.start as u32..range.end as u32)
                .map(|id| (u64::from(id) - start) as usize)
                .collect();
        }
        return Vec::new();
    }
    range.filter(|id| ids.contains(*id)).map(|id| (id - start) as usize).collect()
}

/// What a second thread needs to make a context of its own: a second view of the
/// graph and the statement's limits.
struct WorkerSeed {
    reader: Overlay,
    stop: StopCheck,
    memory: std::sync::Arc<MemoryBudget>,
    xml: Option<std::sync::Arc<sprig_index::XmlStore>>,
    build: fn(&LogicalOp) -> BoxOp,
}

impl WorkerSeed {
    fn of(ctx: &Ctx<'_>, reader: Overlay) -> Self {
        WorkerSeed {
            reader,
            stop: ctx.stop.clone(),
            memory: ctx.memory.clone(),
            xml: ctx.xml.clone(),
            build: ctx.build_operators,
        }
    }

    /// The context, on the thread that uses it.
    fn ctx(self) -> Ctx<'static> {
        let mut ctx = Ctx::on(GraphRef::Owned(Box::new(self.reader)), self.build, false);
        ctx.stop = self.stop;
        ctx.memory = self.memory;
        ctx.xml = self.xml;
        ctx
    }
}

/// Runs `work` over every chunk of `chunks`, in order, on this thread.
pub(super) fn on_this_thread<S>(
    chunks: &[LabelChunk],
    ctx: &mut Ctx<'_>,
    state: &mut S,
    work: &impl Fn(&mut S, u64, &[usize], &mut Ctx<'_>) -> Result<()>,
) -> Result<()> {
    let all: Vec<usize> = (0..CHUNK_LEN).collect();
    for (chunk, slots) in chunks {
        ctx.tick()?;
        work(state, *chunk, slots.as_deref().unwrap_or(&all), ctx)?;
    }
    Ok(())
}

/// Runs `work` over every chunk of `chunks` with state `first`; when there are
/// enough chunks and a second view of the graph, the second half runs on another
/// thread with the state `second` makes from `first` (only then). Returns both
/// states (the second `None` when everything ran here).
pub(super) fn over_chunks<S: Send>(
    chunks: &[LabelChunk],
    ctx: &mut Ctx<'_>,
    mut first: S,
    second: impl FnOnce(&S) -> S,
    work: impl Fn(&mut S, u64, &[usize], &mut Ctx<'_>) -> Result<()> + Sync,
) -> Result<(S, Option<S>)> {
    let run = |state: &mut S, part: &[LabelChunk], ctx: &mut Ctx<'_>| on_this_thread(part, ctx, state, &work);
    let reader = if chunks.len() >= MIN_CHUNKS { ctx.graph.reader()? } else { None };
    let Some(reader) = reader else {
        run(&mut first, chunks, ctx)?;
        return Ok((first, None));
    };
    let (here, there) = chunks.split_at(chunks.len() / 2);
    let mut other = second(&first);
    let (mine, theirs) = side_by_side(ctx, reader, |ctx| run(&mut first, here, ctx), |ctx| run(&mut other, there, ctx));
    mine.and(theirs)?;
    Ok((first, Some(other)))
}

/// Runs `here` on this thread with `ctx` and `there` on a second thread with a
/// context over `reader`, and returns both results.
pub(super) fn side_by_side<A, B: Send>(
    ctx: &mut Ctx<'_>,
    reader: Overlay,
    here: impl FnOnce(&mut Ctx<'_>) -> A,
    there: impl FnOnce(&mut Ctx<'_>) -> B + Send,
) -> (A, B) {
    let seed = WorkerSeed::of(ctx, reader);
    std::thread::scope(|scope| {
        let handle = scope.spawn(move || there(&mut seed.ctx()));
        let mine = here(ctx);
        // A panic there is a bug like one here: it goes on as one.
        (mine, handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}

/// A pipeline that can run as two halves: streaming operators over a label scan
/// that reads its input once. Other operators (writes, OPTIONAL MATCH, shortest
/// paths, nested scans) keep the pipeline on one thread. Used by the operators that
/// read all their input before they give a row: aggregations, sorts, and a
/// DISTINCT right below a sort.
#[derive(Debug)]
pub(super) struct SplitPipeline {
    plan: LogicalOp,
    /// The number of the pipeline's top operator (PROFILE numbers in pre-order).
    first_id: usize,
    profile: bool,
    label: Option<String>,
}

impl SplitPipeline {
    pub(super) fn of(plan: &LogicalOp, first_id: usize, profile: bool) -> Option<Self> {
        let label = scanned_label(plan)?;
        Some(SplitPipeline { plan: plan.clone(), first_id, profile, label })
    }

    /// Runs `work` over `local` (the pipeline built for this thread). When the scan
    /// has enough chunks and a second view of the graph exists, `work` also runs on
    /// another thread over a second copy of the pipeline, and each copy scans half of
    /// the candidates; the second result is then `Some`. Rows counted by PROFILE on
    /// the second thread are added to this thread's counts (times stay this
    /// thread's).
    pub(super) fn run<S: Send>(
        &self,
        local: &mut BoxOp,
        ctx: &mut Ctx<'_>,
        work: impl Fn(&mut BoxOp, &mut Ctx<'_>) -> Result<S> + Sync,
    ) -> Result<(S, Option<S>)> {
        // As many nodes as MIN_CHUNKS half-full chunks (counting is cheaper than
        // listing the chunks, and small statements pay for it).
        let nodes = ctx.graph.label_nodes(self.label.as_deref())?.len();
        let large = nodes >= (MIN_CHUNKS * CHUNK_LEN / 2) as u64;
        let reader = if large { ctx.graph.reader()? } else { None };
        let Some(reader) = reader else { return Ok((work(local, ctx)?, None)) };
        let work = &work;
        let (mine, theirs) = side_by_side(
            ctx,
            reader,
            |ctx| {
                ctx.scan_half = Some(ScanHalf::First);
                work(local, ctx).and_then(|r| halves_taken(ctx).map(|()| r))
            },
            |ctx| {
                ctx.profile = self.profile.then(Vec::new);
                ctx.scan_half = Some(ScanHalf::Second);
                let mut id = self.first_id;
                let mut op = build_node(&self.plan, self.profile, &mut id);
                let res = work(&mut op, ctx).and_then(|r| halves_taken(ctx).map(|()| r));
                (res, ctx.profile.take())
            },
        );
        let (theirs, their_profile) = theirs;
        let (mine, theirs) = (mine?, theirs?);
        if let (Some(mine), Some(theirs)) = (ctx.profile.as_mut(), their_profile) {
            add_rows(mine, &theirs);
        }
        Ok((mine, Some(theirs)))
    }
}

/// The label a pipeline scans (`None`: all nodes) if it can be split.
fn scanned_label(op: &LogicalOp) -> Option<Option<String>> {
    use crate::cypher::plan::ScanSource;
    match op {
        LogicalOp::NodeScan { input, source, .. } if matches!(**input, LogicalOp::Start) => match source {
            ScanSource::Label(l) => Some(Some(l.clone())),
            ScanSource::AllNodes => Some(None),
            _ => None,
        },
        LogicalOp::NodeCheck { input, .. }
        | LogicalOp::Expand { input, .. }
        | LogicalOp::ExpandCount { input, .. }
        | LogicalOp::ExpandIntoCount { input, .. }
        | LogicalOp::Filter { input, .. }
        | LogicalOp::Project { input, .. }
        | LogicalOp::BuildPath { input, .. } => scanned_label(input),
        _ => None,
    }
}

/// A split pipeline's scan must have taken its half: otherwise both threads would
/// have scanned everything.
fn halves_taken(ctx: &Ctx<'_>) -> Result<()> {
    match ctx.scan_half {
        None => Ok(()),
        Some(_) => Err(Error::Static("a split pipeline ran without its scan taking its half".into())),
    }
}

fn add_rows(mine: &mut Vec<OpStats>, theirs: &[OpStats]) {
    if mine.len() < theirs.len() {
        mine.resize(theirs.len(), OpStats::default());
    }
    for (m, t) in mine.iter_mut().zip(theirs) {
        m.rows += t.rows;
    }
}
