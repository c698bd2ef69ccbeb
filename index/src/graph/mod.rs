//! Property graphs: node and relationship records, adjacency per node and direction,
//! label bitmaps, property indexes, and transactions over them.

pub(crate) mod bulk;
pub(crate) mod chunk;
mod record;
mod store;
pub mod temporal;
pub mod text;
mod value;

pub use bulk::{BulkLoadStats, CsvInput};
pub use chunk::{
    chunk_of, entries_of_type, AdjChunk, AdjList, Cell, PropertyColumn, SharedColumn, SlotMask, CHUNK_LEN,
};
pub use record::{AdjEntry, Direction, GraphMeta, IndexDef, NodeId, NodeRecord, RelId, RelRecord};
pub use store::{
    validate_graph_name, GraphCheck, GraphStore, GraphTxn, NodeChunkView, Overlay, OwnedReadGate, ReadGate, WriteTurn,
};
pub use temporal::{Duration, Temporal, NANOS_PER_DAY, NANOS_PER_SECOND};
pub use value::{infer_value, string_prefix_key, Properties, PropertyValue, RawValue};
