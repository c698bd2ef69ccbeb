//! Rows grouped by key for aggregation and DISTINCT.
//!
//! Each group's key is stored once, in one flat vector, and found through a hash
//! table of group numbers: a new group costs no allocation of its own, which
//! matters when nearly every row starts a group (`RETURN p.name, count(*)` over
//! 100,000 people).

use std::hash::{Hash, Hasher};

use hashbrown::HashTable;

use crate::cypher::value::{CypherValue as V, GroupKey};

#[derive(Debug)]
pub struct GroupTable {
    width: usize,
    /// `width` values per group, in the order groups were first seen.
    keys: Vec<GroupKey>,
    hashes: Vec<u64>,
    table: HashTable<usize>,
}

fn hash_key(key: &[GroupKey]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    for k in key {
        k.hash(&mut h);
    }
    h.finish()
}

impl GroupTable {
    /// A table of keys with `width` values each.
    pub fn new(width: usize) -> Self {
        GroupTable { width, keys: Vec::new(), hashes: Vec::new(), table: HashTable::new() }
    }

    /// A table with room for `groups` groups.
    pub fn with_capacity(width: usize, groups: usize) -> Self {
        GroupTable {
            width,
            keys: Vec::with_capacity(width * groups),
            hashes: Vec::with_capacity(groups),
            table: HashTable::with_capacity(groups),
        }
    }

    /// The number of groups.
    /// Key values per group.
    pub fn width(&self) -> usize {
        self.width
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// The number of the group of `key` (which must hold `width` values) and whether
    /// the group is new; a new group takes the values out of `key`.
    pub fn find_or_insert(&mut self, key: &mut Vec<GroupKey>) -> (usize, bool) {
        debug_assert_eq!(key.len(), self.width);
        let hash = hash_key(key);
        let (width, keys) = (self.width, &self.keys);
        if let Some(&group) = self.table.find(hash, |&g| keys[g * width..(g + 1) * width] == key[..]) {
            return (group, false);
        }
        let group = self.hashes.len();
        self.keys.append(key);
        self.hashes.push(hash);
        let hashes = &self.hashes;
        self.table.insert_unique(hash, group, |&g| hashes[g]);
        (group, true)
    }

    /// Adds the groups of `later` (a table of the same width, over rows that come
    /// after this one's), in their order: for each, its number here and whether it
    /// is new here. Keys are moved, and their hashes reused rather than computed
    /// again (merging two halves of a million string keys hashed each twice).
    pub fn absorb(&mut self, later: GroupTable) -> Vec<(usize, bool)> {
        debug_assert_eq!(self.width, later.width);
        let width = self.width;
        let mut values = later.keys.into_iter();
        let mut key: Vec<GroupKey> = Vec::with_capacity(width);
        let mut out = Vec::with_capacity(later.hashes.len());
        for hash in later.hashes {
            key.clear();
            key.extend(values.by_ref().take(width));
            let keys = &self.keys;
            if let Some(&group) = self.table.find(hash, |&g| keys[g * width..(g + 1) * width] == key[..]) {
                out.push((group, false));
                continue;
            }
            let group = self.hashes.len();
            self.keys.append(&mut key);
            self.hashes.push(hash);
            let hashes = &self.hashes;
            self.table.insert_unique(hash, group, |&g| hashes[g]);
            out.push((group, true));
        }
        out
    }

    /// The keys of all groups, in the order they were first seen, each in a row
    /// with room for `extra` more values.
    pub fn into_keys(self, extra: usize) -> impl Iterator<Item = Vec<V>> {
        let width = self.width;
        let groups = self.hashes.len();
        let mut values = self.keys.into_iter().map(|k| k.0);
        (0..groups).map(move |_| {
            let mut row = Vec::with_capacity(width + extra);
            row.extend(values.by_ref().take(width));
            row
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_equal_keys_and_keeps_first_seen_order() {
        let mut t = GroupTable::new(2);
        let rows = [(1, "a"), (2, "b"), (1, "a"), (3, "a"), (2, "b")];
        let mut numbers = Vec::new();
        for (i, s) in rows {
            let mut key = vec![GroupKey(V::Int(i)), GroupKey(V::string(s))];
            numbers.push(t.find_or_insert(&mut key));
        }
        assert_eq!(numbers, [(0, true), (1, true), (0, false), (2, true), (1, false)]);
        let keys: Vec<Vec<V>> = t.into_keys(0).collect();
        assert_eq!(keys.len(), 3);
        assert!(matches!(keys[2][0], V::Int(3)));
    }

    #[test]
    fn absorbing_a_later_table_gives_what_one_table_over_all_rows_gives() {
        let key = |i: i64, s: &str| vec![GroupKey(V::Int(i)), GroupKey(V::string(s))];
        let (first, later) = ([(1, "a"), (2, "b"), (1, "a")], [(3, "c"), (2, "b"), (4, "a"), (3, "c")]);
        let mut whole = GroupTable::new(2);
        let mut mine = GroupTable::new(2);
        let mut theirs = GroupTable::new(2);
        for (i, s) in first {
            whole.find_or_insert(&mut key(i, s));
            mine.find_or_insert(&mut key(i, s));
        }
        for (i, s) in later {
            whole.find_or_insert(&mut key(i, s));
            theirs.find_or_insert(&mut key(i, s));
        }
        // theirs holds (3, c), (2, b), (4, a): new, known as group 1, new.
        assert_eq!(mine.absorb(theirs), [(2, true), (1, false), (3, true)]);
        let rows = |t: GroupTable| format!("{:?}", t.into_keys(0).collect::<Vec<_>>());
        assert_eq!(rows(mine), rows(whole));
    }

    #[test]
    fn integers_and_floats_of_equal_value_meet() {
        let mut t = GroupTable::new(1);
        assert_eq!(t.find_or_insert(&mut vec![GroupKey(V::Int(1))]), (0, true));
        assert_eq!(t.find_or_insert(&mut vec![GroupKey(V::Float(1.0))]), (0, false));
        assert_eq!(t.find_or_insert(&mut vec![GroupKey(V::Null)]), (1, true));
        assert_eq!(t.find_or_insert(&mut vec![GroupKey(V::Null)]), (1, false));
    }
}
