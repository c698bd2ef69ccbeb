//! Every key layout of the store, one file per data model: `xml` for collections
//! (catalog, generations, node chunks, postings, region tables), `graph` for named
//! graphs (records, adjacency, label bitmaps, property indexes, text index files).

pub mod graph;
pub mod xml;
