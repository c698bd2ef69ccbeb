//! Structural joins over sorted region lists.
//!
//! A [`Region`] is `(pre, end, level)`; `a` contains `d` iff `a.pre < d.pre <= a.end`.
//! Inputs are sorted by `pre`. Each join returns the descendant-side regions that have
//! a matching ancestor (a semi-join: XPath keeps nodes, not pairs), sorted by `pre`.

pub use crate::xpath::plan::twig::{Edge, LevelGap};

/// A node's region label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Region {
    pub pre: u32,
    pub end: u32,
    pub level: u16,
}

impl Region {
    pub fn contains(&self, other: &Region) -> bool {
        self.pre < other.pre && other.pre <= self.end
    }
}

/// Whether `ancestor` and `descendant` are related by `edge`.
fn holds(edge: Edge, ancestor: &Region, descendant: &Region) -> bool {
    ancestor.contains(descendant) && (edge == Edge::Descendant || ancestor.level + 1 == descendant.level)
}

/// Stack-Tree-Desc (Al-Khalifa et al., ICDE 2002): one pass over both lists with a
/// stack of nested ancestors. Returns the descendants that have an ancestor (or, for
/// a child edge, a parent) in `ancestors`.
pub fn stack_tree_desc(ancestors: &[Region], descendants: &[Region], edge: Edge) -> Vec<Region> {
    let mut stack: Vec<Region> = Vec::new();
    let mut res = Vec::new();
    let mut a = 0;
    for d in descendants {
        // Push every ancestor candidate that starts before d, keeping the stack a chain.
        while a < ancestors.len() && ancestors[a].pre < d.pre {
            let next = ancestors[a];
            while stack.last().is_some_and(|top| top.end < next.pre) {
                stack.pop();
            }
            stack.push(next);
            a += 1;
        }
        while stack.last().is_some_and(|top| top.end < d.pre) {
            stack.pop();
        }
        let matched = match edge {
            Edge::Descendant => !stack.is_empty(),
            // The stack is the chain of ancestors of d from the list; a parent is the
            // deepest one, one level up.
            Edge::Child => stack.last().is_some_and(|top| top.level + 1 == d.level),
        };
        if matched {
            res.push(*d);
        }
    }
    res
}

/// Stack-Tree-Anc as a semi-join (Al-Khalifa et al.): the ancestors (which may nest)
/// that contain at least one of `descendants` at the given level gap. This evaluates
/// a twig's branch predicate (`a[b]`) structurally. One pass with a stack; under
/// `AtLeast` a match is recorded on the deepest qualifying ancestor only and handed
/// to the enclosing one when it is popped, so each descendant costs `O(log depth)`.
pub fn ancestor_semijoin(ancestors: &[Region], descendants: &[Region], gap: LevelGap) -> Vec<Region> {
    let mut kept = vec![false; ancestors.len()];
    let mut stack: Vec<usize> = Vec::new();
    let propagate = matches!(gap, LevelGap::AtLeast(_));
    let pop = |stack: &mut Vec<usize>, kept: &mut Vec<bool>| {
        if let Some(top) = stack.pop() {
            if propagate && kept[top] {
                if let Some(&below) = stack.last() {
                    kept[below] = true;
                }
            }
        }
    };
    let mut a = 0;
    for d in descendants {
        while a < ancestors.len() && ancestors[a].pre < d.pre {
            while stack.last().is_some_and(|&top| ancestors[top].end < ancestors[a].pre) {
                pop(&mut stack, &mut kept);
            }
            stack.push(a);
            a += 1;
        }
        while stack.last().is_some_and(|&top| ancestors[top].end < d.pre) {
            pop(&mut stack, &mut kept);
        }
        // The stack is now the chain of d's ancestors from the list, levels increasing.
        let (k, exact) = match gap {
            LevelGap::Exactly(k) => (k, true),
            LevelGap::AtLeast(k) => (k, false),
        };
        let Some(target) = d.level.checked_sub(k) else { continue };
        let deepest = stack.partition_point(|&i| ancestors[i].level <= target);
        if deepest > 0 {
            let i = stack[deepest - 1];
            if !exact || ancestors[i].level == target {
                kept[i] = true;
            }
        }
    }
    while !stack.is_empty() {
        pop(&mut stack, &mut kept);
    }
    ancestors.iter().zip(kept).filter(|(_, k)| *k).map(|(r, _)| *r).collect()
}

/// For each ancestor, the descendants exactly `gap` levels below it, as offsets into
/// an index list (`leaves[index[offsets[a]..offsets[a + 1]]]` are ancestor `a`'s):
/// the branch leaves of each candidate, for evaluating a branch's value test on the
/// candidates that need it only. Each descendant has at most one such ancestor.
pub fn descendants_at(ancestors: &[Region], descendants: &[Region], gap: u16) -> (Vec<u32>, Vec<u32>) {
    let mut owner: Vec<Option<u32>> = vec![None; descendants.len()];
    let mut stack: Vec<usize> = Vec::new();
    let mut a = 0;
    for (j, d) in descendants.iter().enumerate() {
        while a < ancestors.len() && ancestors[a].pre < d.pre {
            while stack.last().is_some_and(|&top| ancestors[top].end < ancestors[a].pre) {
                stack.pop();
            }
            stack.push(a);
            a += 1;
        }
        while stack.last().is_some_and(|&top| ancestors[top].end < d.pre) {
            stack.pop();
        }
        let Some(target) = d.level.checked_sub(gap) else { continue };
        let deepest = stack.partition_point(|&i| ancestors[i].level <= target);
        if deepest > 0 && ancestors[stack[deepest - 1]].level == target {
            owner[j] = Some(stack[deepest - 1] as u32);
        }
    }
    // Counting sort of the descendants by owner.
    let mut offsets = vec![0u32; ancestors.len() + 1];
    for &o in owner.iter().flatten() {
        offsets[o as usize + 1] += 1;
    }
    for i in 1..offsets.len() {
        offsets[i] += offsets[i - 1];
    }
    let mut next = offsets.clone();
    let mut index = vec![0u32; offsets[ancestors.len()] as usize];
    for (j, o) in owner.iter().enumerate() {
        if let Some(o) = o {
            index[next[*o as usize] as usize] = j as u32;
            next[*o as usize] += 1;
        }
    }
    (offsets, index)
}

/// The merge at the heart of SISJ: `ancestors` all lie in one path partition, so they
/// sit at one level and never nest; each descendant has at most one ancestor among
/// them, found by a forward-only pointer. No stack is needed. The pointer gallops
/// (exponential then binary search), so a small descendant partition costs
/// `O(|D| log |A|)` against a large ancestor partition rather than `O(|A|)`: one
/// ancestor partition is joined with many descendant partitions on recursive data.
/// (Galloping over the descendants too was measured slower: the descendants a
/// selective ancestor list skips come a few at a time.)
pub fn disjoint_semijoin(ancestors: &[Region], descendants: &[Region]) -> Vec<Region> {
    debug_assert!(ancestors.windows(2).all(|w| w[0].end < w[1].pre), "ancestors must be disjoint and sorted");
    let mut res = Vec::new();
    let mut a = 0;
    for d in descendants {
        // Disjoint and sorted by pre, so sorted by end too: find the first ancestor
        // that ends at or after d.
        if ancestors.get(a).is_some_and(|x| x.end < d.pre) {
            let mut bound = 1;
            while ancestors.get(a + bound).is_some_and(|x| x.end < d.pre) {
                bound *= 2;
            }
            let hi = (a + bound + 1).min(ancestors.len());
            a += ancestors[a..hi].partition_point(|x| x.end < d.pre);
        }
        match ancestors.get(a) {
            Some(x) if x.contains(d) => res.push(*d),
            Some(_) => {}
            None => break,
        }
    }
    res
}

/// Merges sorted lists into one sorted list without duplicates.
pub fn union_sorted(mut lists: Vec<Vec<Region>>) -> Vec<Region> {
    match lists.len() {
        0 => Vec::new(),
        1 => lists.pop().unwrap_or_default(),
        _ => {
            let mut all: Vec<Region> = lists.into_iter().flatten().collect();
            // A radix sort: linear in the regions, where sorting was a seventh of
            // `//open_auction[bidder]//keyword` on XMark f1x10.
            radsort::sort_by_key(&mut all, |r| r.pre);
            all.dedup_by_key(|r| r.pre);
            all
        }
    }
}

/// Counters a holistic join reports.
#[derive(Debug, Default, Clone, Copy)]
pub struct TwigStats {
    /// Stream entries read, over all query nodes.
    pub scanned: u64,
    /// Entries pushed on a stack (they had a full root-to-node match so far).
    pub pushed: u64,
}

/// TwigStack (Bruno, Koudas, Srivastava, SIGMOD 2002) for a path pattern
/// `q0 e1 q1 ... en qn`: one stream per query node, one stack per query node, and
/// the stream with the smallest next `pre` advanced first. An entry is pushed only if
/// it extends a match of the pattern prefix (its parent stack holds a valid entry
/// related by the edge), so every pushed leaf is an answer. `keep(i, region)` filters
/// the entries of query node `i` (predicates), evaluated only for entries that would
/// be pushed.
pub fn twig_stack_path(
    streams: &[Vec<Region>],
    edges: &[Edge],
    keep: &mut dyn FnMut(usize, &Region) -> crate::Result<bool>,
    stats: &mut TwigStats,
) -> crate::Result<Vec<Region>> {
    let n = streams.len();
    debug_assert_eq!(edges.len() + 1, n);
    let mut cursors = vec![0usize; n];
    let mut stacks: Vec<Vec<Region>> = vec![Vec::new(); n];
    let mut res = Vec::new();
    loop {
        // The query node whose stream has the smallest next pre.
        let mut next: Option<(usize, Region)> = None;
        for (q, stream) in streams.iter().enumerate() {
            if let Some(r) = stream.get(cursors[q]) {
                if next.is_none_or(|(_, best)| r.pre < best.pre) {
                    next = Some((q, *r));
                }
            }
        }
        let Some((q, region)) = next else { break };
        cursors[q] += 1;
        stats.scanned += 1;
        // Pop entries that end before this region: they can contain nothing further.
        for stack in stacks.iter_mut() {
            while stack.last().is_some_and(|top| top.end < region.pre) {
                stack.pop();
            }
        }
        let extends = q == 0 || stacks[q - 1].iter().any(|parent| holds(edges[q - 1], parent, &region));
        if extends && keep(q, &region)? {
            stats.pushed += 1;
            if q == n - 1 {
                res.push(region);
            } else {
                stacks[q].push(region);
            }
        }
        // Skip a leaf stream ahead when no ancestor is open: its entries cannot match.
        if q < n - 1 && stacks.iter().take(n - 1).all(Vec::is_empty) {
            let resume =
                streams.iter().take(n - 1).enumerate().filter_map(|(i, s)| s.get(cursors[i])).map(|r| r.pre).min();
            let leaf = n - 1;
            match resume {
                Some(pre) => {
                    while streams[leaf].get(cursors[leaf]).is_some_and(|r| r.pre < pre) {
                        cursors[leaf] += 1;
                    }
                }
                None => cursors[leaf] = streams[leaf].len(),
            }
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(pre: u32, end: u32, level: u16) -> Region {
        Region { pre, end, level }
    }

    // <a0><a1><b2/></a1><b3/></a0><b4/>: a0=(0,3,1) a1=(1,2,2) b2=(2,2,3) b3=(3,3,2) b4=(4,4,1)
    fn sample() -> (Vec<Region>, Vec<Region>) {
        (vec![r(0, 3, 1), r(1, 2, 2)], vec![r(2, 2, 3), r(3, 3, 2), r(4, 4, 1)])
    }

    #[test]
    fn stack_tree_desc_semijoins() {
        let (a, b) = sample();
        assert_eq!(stack_tree_desc(&a, &b, Edge::Descendant), vec![r(2, 2, 3), r(3, 3, 2)]);
        assert_eq!(stack_tree_desc(&a, &b, Edge::Child), vec![r(2, 2, 3), r(3, 3, 2)]);
        assert_eq!(stack_tree_desc(&a[..1], &b, Edge::Child), vec![r(3, 3, 2)]);
    }

    #[test]
    fn ancestor_semijoin_keeps_ancestors_with_a_leaf_at_the_gap() {
        let (a, b) = sample();
        // a0 has children a1 and b3, grandchild b2; a1 has child b2.
        assert_eq!(ancestor_semijoin(&a, &b, LevelGap::Exactly(1)), vec![r(0, 3, 1), r(1, 2, 2)]);
        assert_eq!(ancestor_semijoin(&a, &b, LevelGap::Exactly(2)), vec![r(0, 3, 1)]);
        assert_eq!(ancestor_semijoin(&a, &b[1..], LevelGap::Exactly(1)), vec![r(0, 3, 1)]);
        assert_eq!(ancestor_semijoin(&a, &b[1..], LevelGap::AtLeast(1)), vec![r(0, 3, 1)]);
        // b2 is two levels below a0 and one below a1: AtLeast(2) hands it up to a0 only.
        assert_eq!(ancestor_semijoin(&a, &b[..1], LevelGap::AtLeast(2)), vec![r(0, 3, 1)]);
        assert_eq!(ancestor_semijoin(&a, &b[..1], LevelGap::AtLeast(1)), vec![r(0, 3, 1), r(1, 2, 2)]);
        assert_eq!(ancestor_semijoin(&a, &b[..1], LevelGap::AtLeast(3)), vec![]);
        assert_eq!(ancestor_semijoin(&a, &[], LevelGap::AtLeast(1)), vec![]);
    }

    #[test]
    fn descendants_at_groups_leaves_by_their_ancestor_at_the_gap() {
        let (a, b) = sample();
        // One level down: a0 owns b3, a1 owns b2; b4 has no ancestor.
        assert_eq!(descendants_at(&a, &b, 1), (vec![0, 1, 2], vec![1, 0]));
        // Two levels down: a0 owns b2.
        assert_eq!(descendants_at(&a, &b, 2), (vec![0, 1, 1], vec![0]));
        assert_eq!(descendants_at(&a, &b, 3), (vec![0, 0, 0], vec![]));
    }

    #[test]
    fn disjoint_semijoin_matches_stack_tree_on_one_level() {
        let (a, b) = sample();
        assert_eq!(disjoint_semijoin(&a[..1], &b), vec![r(2, 2, 3), r(3, 3, 2)]);
        assert_eq!(disjoint_semijoin(&a[1..], &b), vec![r(2, 2, 3)]);
    }

    #[test]
    fn disjoint_semijoin_gallops_over_long_ancestor_lists() {
        let ancestors: Vec<Region> = (0..1000).map(|i| r(i * 10, i * 10 + 5, 1)).collect();
        let descendants = vec![r(3, 3, 2), r(7, 7, 2), r(5_002, 5_002, 2), r(9_995, 9_995, 2), r(20_000, 20_000, 2)];
        assert_eq!(
            disjoint_semijoin(&ancestors, &descendants),
            vec![r(3, 3, 2), r(5_002, 5_002, 2), r(9_995, 9_995, 2)]
        );
    }

    #[test]
    fn disjoint_semijoin_skips_long_runs_of_descendants() {
        let ancestors = vec![r(100, 110, 1), r(5_000, 5_001, 1), r(9_000, 9_200, 1)];
        let descendants: Vec<Region> = (0..1000).map(|i| r(i * 10, i * 10, 2)).collect();
        assert_eq!(
            disjoint_semijoin(&ancestors, &descendants),
            vec![
                r(110, 110, 2),
                r(9_010, 9_010, 2),
                r(9_020, 9_020, 2),
                r(9_030, 9_030, 2),
                r(9_040, 9_040, 2),
                r(9_050, 9_050, 2),
                r(9_060, 9_060, 2),
                r(9_070, 9_070, 2),
                r(9_080, 9_080, 2),
                r(9_090, 9_090, 2),
                r(9_100, 9_100, 2),
                r(9_110, 9_110, 2),
                r(9_120, 9_120, 2),
                r(9_130, 9_130, 2),
                r(9_140, 9_140, 2),
                r(9_150, 9_150, 2),
                r(9_160, 9_160, 2),
                r(9_170, 9_170, 2),
                r(9_180, 9_180, 2),
                r(9_190, 9_190, 2),
                r(9_200, 9_200, 2)
            ]
        );
        // Each descendant against the one ancestor that may hold it, by brute force.
        let brute: Vec<Region> =
            descendants.iter().filter(|d| ancestors.iter().any(|a| a.contains(d))).copied().collect();
        assert_eq!(disjoint_semijoin(&ancestors, &descendants), brute);
    }

    #[test]
    fn twig_stack_on_a_path() {
        let (a, b) = sample();
        let mut stats = TwigStats::default();
        let mut all = |_: usize, _: &Region| Ok(true);
        let res = twig_stack_path(&[a.clone(), b.clone()], &[Edge::Descendant], &mut all, &mut stats).unwrap();
        assert_eq!(res, vec![r(2, 2, 3), r(3, 3, 2)]);
        // a//a//b: only b2 lies under two nested a's.
        let res = twig_stack_path(
            &[a.clone(), a.clone(), b.clone()],
            &[Edge::Descendant, Edge::Descendant],
            &mut all,
            &mut stats,
        )
        .unwrap();
        assert_eq!(res, vec![r(2, 2, 3)]);
        // A filter on the first node that rejects a0 leaves a1's subtree only.
        let mut not_a0 = |q: usize, x: &Region| Ok(!(q == 0 && x.pre == 0));
        let res = twig_stack_path(&[a, b], &[Edge::Child], &mut not_a0, &mut stats).unwrap();
        assert_eq!(res, vec![r(2, 2, 3)]);
    }
}
