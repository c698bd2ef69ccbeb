//! The root crate's error: transparent wrappers of the inner crates' errors.

/// Everything that can go wrong, with a short kind for `error[KIND]` messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Storage or ingest (malformed XML, unknown collection, corruption, I/O).
    #[error(transparent)]
    Index(#[from] sprig_index::Error),
    /// Parsing, compiling or evaluating a query.
    #[error(transparent)]
    Query(#[from] sprig_query::Error),
    /// Reading a file named on the command line.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A wrong argument: a bad database path, an invalid name.
    #[error("{0}")]
    Usage(String),
    /// A registry record that breaks a rule, or an unreadable registry file.
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    /// What a server answered a request with (`sprig --connect`): the error's kind,
    /// message and position as the server's own `Error` gave them.
    #[error("{message}")]
    Remote {
        /// The kind as [`Error::kind`] names it on the server.
        kind: &'static str,
        /// The message without its position.
        message: String,
        /// 1-based line and column.
        position: Option<(u64, u64)>,
    },
}

/// Every kind [`Error::kind`] gives, so that a kind read from a server's answer
/// becomes the same `&'static str`.
const KINDS: [&str; 22] = [
    "xml",
    "csv",
    "collection",
    "format",
    "io",
    "constraint",
    "entity",
    "usage",
    "semantic",
    "argument",
    "arithmetic",
    "storage",
    "syntax",
    "xpath",
    "type",
    "timeout",
    "interrupted",
    "memory",
    "query",
    "registry",
    "auth",
    "remote",
];

/// Result with sprig's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The kind named `name` (as a server's answer names it), or `remote` for a kind
    /// this build does not know.
    pub fn kind_named(name: &str) -> &'static str {
        KINDS.iter().find(|k| **k == name).copied().unwrap_or("remote")
    }

    /// The kind shown as `error[KIND]`.
    pub fn kind(&self) -> &'static str {
        use sprig_index::Error as I;
        use sprig_query::Error as Q;
        match self {
            Error::Index(I::Xml { .. }) => "xml",
            Error::Index(I::Csv { .. }) => "csv",
            Error::Index(I::UnknownCollection(_)) => "collection",
            Error::Index(I::FormatVersion { .. }) => "format",
            Error::Index(I::Io(_)) | Error::Io(_) => "io",
            Error::Index(I::Constraint(_)) | Error::Query(Q::Index(I::Constraint(_))) => "constraint",
            Error::Index(I::EntityNotFound(_)) | Error::Query(Q::EntityNotFound(_)) => "entity",
            Error::Index(I::InvalidName(_)) => "usage",
            Error::Query(Q::Semantic { .. } | Q::Runtime { .. }) => "semantic",
            Error::Query(Q::Argument { .. })
            | Error::Query(Q::Index(I::TextQuery(_) | I::InvalidName(_)))
            | Error::Index(I::TextQuery(_)) => "argument",
            Error::Query(Q::Arithmetic { .. }) => "arithmetic",
            Error::Index(_) => "storage",
            Error::Query(Q::Syntax(_)) => "syntax",
            Error::Query(Q::Static(_)) => "xpath",
            Error::Query(Q::Type { .. }) => "type",
            Error::Query(Q::Index(I::UnknownCollection(_))) => "collection",
            Error::Query(Q::Timeout) => "timeout",
            Error::Query(Q::Interrupted) => "interrupted",
            Error::Query(Q::MemoryLimit(_)) => "memory",
            Error::Query(Q::Index(_)) => "storage",
            Error::Query(_) => "query",
            Error::Usage(_) => "usage",
            Error::Registry(_) => "registry",
            Error::Remote { kind, .. } => kind,
        }
    }

    /// The openCypher class, detail code and phase of a query error (what the TCK
    /// and Neo4j's status codes name); `None` for errors that are not the query's.
    pub fn cypher_status(&self) -> Option<sprig_query::Status> {
        match self {
            Error::Query(e) => Some(e.status()),
            Error::Index(e @ (sprig_index::Error::Constraint(_) | sprig_index::Error::EntityNotFound(_))) => {
                Some(sprig_query::status::of_index(e))
            }
            _ => None,
        }
    }

    /// 1-based line and column, for errors that have a position.
    pub fn position(&self) -> Option<(u64, u64)> {
        match self {
            Error::Index(sprig_index::Error::Xml { line, column, .. }) => Some((*line, *column)),
            Error::Query(sprig_query::Error::Syntax(e)) => {
                Some((e.position.line as u64 + 1, e.position.column as u64 + 1))
            }
            Error::Registry(e) => e.position,
            Error::Remote { position, .. } => *position,
            _ => None,
        }
    }

    /// The message without its position.
    pub fn message(&self) -> String {
        match self {
            Error::Index(sprig_index::Error::Xml { message, .. }) => message.clone(),
            Error::Query(sprig_query::Error::Syntax(e)) => e.message.clone(),
            Error::Registry(e) => e.message.clone(),
            Error::Remote { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    /// True when a query ran past its time limit or was interrupted (exit code 3).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Query(sprig_query::Error::Timeout | sprig_query::Error::Interrupted))
            || matches!(self, Error::Remote { kind: "timeout" | "interrupted", .. })
    }

    /// True for errors caused by how the program was called rather than by data.
    pub fn is_usage(&self) -> bool {
        matches!(self, Error::Usage(_) | Error::Remote { kind: "usage", .. })
    }
}
