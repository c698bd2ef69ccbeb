//! The one error type of `sprig-index`.

use std::fmt;

/// Everything that can go wrong in storage and ingest.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the input or the database files failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The sled backend reported an error.
    #[error("storage error: {0}")]
    Storage(#[from] sled::Error),
    /// The XML input is not well-formed; positions are 1-based.
    #[error("{message} at line {line}, column {column}")]
    Xml { message: String, line: u64, column: u64 },
    /// Stored data does not decode; the database was written by a bug or damaged.
    #[error("corrupted data in {area}: {detail}")]
    Corrupted { area: &'static str, detail: String },
    /// The database was written with another on-disk format.
    #[error("database format version {found} is not supported (this build reads version {expected})")]
    FormatVersion { found: u32, expected: u32 },
    /// No collection has that name.
    #[error("unknown collection '{0}'")]
    UnknownCollection(String),
    /// A bad line in a CSV file; `line` is 1-based.
    #[error("{file}:{line}: {message}")]
    Csv { file: String, line: u64, message: String },
    /// A name (of a graph, index, ...) that cannot be used.
    #[error("{0}")]
    InvalidName(String),
    /// A write was attempted in a read-only transaction.
    #[error("this transaction is read-only")]
    ReadOnly,
    /// A graph constraint would be violated (for example deleting a connected node).
    #[error("{0}")]
    Constraint(String),
    /// The entity was deleted or never existed.
    #[error("{0} does not exist")]
    EntityNotFound(String),
    /// A full-text query that does not parse, or a text index that cannot answer.
    #[error("{0}")]
    TextQuery(String),
    /// A limit of the storage format was exceeded.
    #[error("limit exceeded: {0}")]
    Limit(String),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn corrupted(area: &'static str, detail: impl fmt::Display) -> Self {
        Error::Corrupted { area, detail: detail.to_string() }
    }
}
