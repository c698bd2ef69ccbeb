//! The hash map of the load's hot paths (names, paths, postings, value index): std's
//! map with foldhash, which is several times faster than SipHash on short keys and
//! still seeded per process, so crafted input cannot make its keys collide at will.

pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
