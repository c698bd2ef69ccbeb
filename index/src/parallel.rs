//! Large per-item work split over the machine's cores: consecutive parts of the
//! input, one per worker, the first on the calling thread, the results joined in
//! the input's order. Reads of scattered node records and region-table searches
//! spend their time on cache misses, which cores take in parallel.

/// Below this many items per worker, work stays on the calling thread: a thread
/// costs tens of microseconds, about what 4,096 region searches or a few hundred
/// string-values take, and a server running several queries at once should keep
/// small ones on one core.
pub const MIN_ITEMS_PER_WORKER: usize = 4096;

/// How many workers `len` items get: as many cores as the machine has, each with at
/// least [`MIN_ITEMS_PER_WORKER`] items.
pub fn workers_for(len: usize) -> usize {
    if len < 2 * MIN_ITEMS_PER_WORKER {
        return 1;
    }
    cores().min(len / MIN_ITEMS_PER_WORKER)
}

thread_local! {
    /// The most workers one split of this thread used since [`take_workers_used`].
    static WORKERS_USED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn note_workers(workers: usize) {
    WORKERS_USED.with(|used| used.set(used.get().max(workers)));
}

/// The most workers a split on this thread used since the last call (0 when none
/// ran), and starts counting anew: PROFILE reports it per operator, so a plan
/// shows which steps ran on several cores.
pub fn take_workers_used() -> usize {
    WORKERS_USED.with(|used| used.replace(0))
}

/// The machine's cores, asked once: `available_parallelism` reads the cgroup's
/// limits from files on every call (tens of microseconds).
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `first` over the first part of `items` on this thread and `rest` over each other
/// part on a thread of its own, the results concatenated in order; one part, on
/// this thread, when `items` are too few to split (see [`workers_for`]). `first`
/// may hold state of the caller's that cannot cross threads.
pub fn split_work<T, R, E>(
    items: &[T],
    first: impl FnOnce(&[T]) -> Result<Vec<R>, E>,
    rest: impl Fn(&[T]) -> Result<Vec<R>, E> + Sync,
) -> Result<Vec<R>, E>
where
    T: Sync,
    R: Send,
    E: Send,
{
    let workers = workers_for(items.len());
    note_workers(workers);
    if workers <= 1 {
        return first(items);
    }
    let mut parts = items.chunks(items.len().div_ceil(workers));
    let head = parts.next().unwrap_or_default();
    let rest = &rest;
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts.map(|part| scope.spawn(move || rest(part))).collect();
        let mine = first(head);
        // Every thread is joined before an error returns: the first in input order wins.
        let theirs: Vec<Result<Vec<R>, E>> = handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect();
        let mut out = mine?;
        out.reserve(items.len().saturating_sub(out.len()));
        for part in theirs {
            out.extend(part?);
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_come_back_in_order() {
        let items: Vec<u32> = (0..20_000).collect();
        let doubled = split_work(
            &items,
            |part| Ok::<_, ()>(part.iter().map(|x| x * 2).collect()),
            |part| Ok(part.iter().map(|x| x * 2).collect()),
        );
        assert_eq!(doubled, Ok(items.iter().map(|x| x * 2).collect::<Vec<_>>()));
    }

    #[test]
    fn an_error_in_any_part_is_returned() {
        let items: Vec<u32> = (0..20_000).collect();
        let fails_late = |part: &[u32]| if part.contains(&19_999) { Err(19_999) } else { Ok(part.to_vec()) };
        assert_eq!(split_work(&items, fails_late, fails_late), Err(19_999));
        let fails_early = |part: &[u32]| if part.contains(&0) { Err(0) } else { Ok(part.to_vec()) };
        assert_eq!(split_work(&items, fails_early, fails_early), Err(0));
    }

    #[test]
    fn few_items_stay_on_this_thread() {
        let items = vec![1u32; MIN_ITEMS_PER_WORKER];
        let ran_here = split_work(&items, |p| Ok::<_, ()>(vec![p.len()]), |_| Ok(vec![usize::MAX]));
        assert_eq!(ran_here, Ok(vec![MIN_ITEMS_PER_WORKER]));
    }
}
