//! Both cores on one large per-node filter: a pattern step's residual predicates
//! (`//item[contains(description, 'gold')]`) are evaluated node by node, and with
//! many candidates the parts after the first go to other threads
//! ([`sprig_index::parallel::split_work`], which also sets how many nodes make a
//! part). Each of those threads evaluates with a navigator of its own over the same
//! pinned collection; the answers are joined in order, so the kept nodes stay in
//! document order.
//!
//! Predicates only read: a navigator holds per-query caches (postings, the chunk it
//! read last) but no state another navigator must see, so they never meet.

use sprig_index::parallel::split_work;

use super::joins::Region;
use super::navigate::{Eval, Navigator};
use crate::Result;

impl Eval<'_, '_> {
    /// `test(region)` for each of `regions`, in order; large inputs are split over
    /// the cores.
    pub(super) fn test_each<F>(&mut self, regions: &[Region], test: F) -> Result<Vec<bool>>
    where
        F: Fn(&mut Eval<'_, '_>, &Region) -> Result<bool> + Sync,
    {
        let (collection, plan, stop) = (self.nav.collection, self.plan, self.nav.stop.clone());
        let on_this_thread = |part: &[Region]| part.iter().map(|r| test(self, r)).collect();
        let on_another = |part: &[Region]| -> Result<Vec<bool>> {
            let mut nav = Navigator::new(collection)?;
            nav.stop = stop.clone();
            let mut eval = Eval { nav: &mut nav, plan };
            part.iter().map(|r| test(&mut eval, r)).collect()
        };
        split_work(regions, on_this_thread, on_another)
    }
}
