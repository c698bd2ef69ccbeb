//! The one error type of `sprig-query`.

use crate::common::SyntaxError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The query text does not parse.
    #[error("{0}")]
    Syntax(#[from] SyntaxError),
    /// The query parses but cannot be evaluated: unknown function, wrong number of
    /// arguments, undefined variable or namespace prefix.
    #[error("{0}")]
    Static(String),
    /// A value had the wrong type at run time (for example `count(1)`). `detail` names
    /// the case as the openCypher TCK does (`InvalidArgumentType`,
    /// `MapElementAccessByNonString`, ...).
    #[error("{message}")]
    Type { detail: &'static str, message: String },
    /// A Cypher query breaks a rule checked before it runs (undefined variable,
    /// misplaced aggregate...). `kind` names the rule as the openCypher TCK does.
    #[error("{message}")]
    Semantic { kind: &'static str, message: String },
    /// A Cypher rule that can only be checked while the query runs (a MERGE of a null
    /// property, a negative LIMIT from a parameter): `class` is the openCypher error
    /// class (`SemanticError`, `SyntaxError`), `detail` the TCK's detail code.
    #[error("{message}")]
    Runtime { class: &'static str, detail: &'static str, message: String },
    /// An argument value is out of its domain (openCypher ArgumentError); `detail` as
    /// for [`Error::Type`].
    #[error("{message}")]
    Argument { detail: &'static str, message: String },
    /// Integer overflow (`detail` `IntegerOverflow`) or division by zero
    /// (`DivisionByZero`).
    #[error("{message}")]
    Arithmetic { detail: &'static str, message: String },
    /// The entity was deleted (openCypher EntityNotFound).
    #[error("{0}")]
    EntityNotFound(String),
    /// The query ran past its deadline.
    #[error("the query was stopped after its time limit")]
    Timeout,
    /// The statement's intermediate results would pass its memory limit (bytes).
    #[error("the query needs more than {} MiB for intermediate results (raise --memory-limit, or \
             aggregate, filter or LIMIT earlier)", .0 >> 20)]
    MemoryLimit(usize),
    /// The query was interrupted (Ctrl-C, or its interrupt flag was set).
    #[error("the query was interrupted")]
    Interrupted,
    /// Reading the data failed.
    #[error(transparent)]
    Index(#[from] sprig_index::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A type error of the common kind: an argument of the wrong type.
    pub fn type_error(message: impl Into<String>) -> Self {
        Error::Type { detail: "InvalidArgumentType", message: message.into() }
    }

    /// A type error with its own detail code.
    pub fn type_error_as(detail: &'static str, message: impl Into<String>) -> Self {
        Error::Type { detail, message: message.into() }
    }

    /// An integer result that does not fit in 64 bits.
    pub fn overflow(message: impl Into<String>) -> Self {
        Error::Arithmetic { detail: "IntegerOverflow", message: message.into() }
    }

    /// A division or modulo by zero of integers.
    pub fn division_by_zero() -> Self {
        Error::Arithmetic { detail: "DivisionByZero", message: "division by zero".into() }
    }

    /// An argument value out of its domain, with its detail code.
    pub fn argument(detail: &'static str, message: impl Into<String>) -> Self {
        Error::Argument { detail, message: message.into() }
    }
}
