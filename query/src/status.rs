//! How an error is reported to Cypher users: the openCypher error class, its detail
//! code and the phase it was raised in, as the TCK states them (`a SyntaxError should
//! be raised at compile time: UnknownFunction`). Neo4j's status codes
//! (`Neo.ClientError.Statement.SyntaxError`) are built from the class.

use crate::Error;

/// When an error was raised: while the query was parsed and planned, or while it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    CompileTime,
    Runtime,
}

impl Phase {
    /// The TCK's words for the phase.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::CompileTime => "compile time",
            Phase::Runtime => "runtime",
        }
    }
}

/// An error's class, detail and phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// `SyntaxError`, `SemanticError`, `TypeError`, `ArgumentError`, `ArithmeticError`,
    /// `EntityNotFound`, `ConstraintVerificationFailed`, `ParameterMissing`,
    /// `ProcedureError`, `SchemaError`, `TransientError` or `DatabaseError`.
    pub class: &'static str,
    pub detail: &'static str,
    pub phase: Phase,
}

impl Error {
    /// The class, detail code and phase of this error.
    pub fn status(&self) -> Status {
        use Phase::*;
        let s = |class, detail, phase| Status { class, detail, phase };
        match self {
            Error::Syntax(e) => s("SyntaxError", e.detail, CompileTime),
            Error::Static(_) => s("SyntaxError", "UnexpectedSyntax", CompileTime),
            Error::Semantic { kind: "ParameterMissing", .. } => s("ParameterMissing", "MissingParameter", CompileTime),
            Error::Semantic { kind: kind @ "ProcedureNotFound", .. } => s("ProcedureError", kind, CompileTime),
            Error::Semantic { kind: kind @ ("IndexAlreadyExists" | "IndexNotFound"), .. } => {
                s("SchemaError", kind, Runtime)
            }
            Error::Semantic { kind, .. } => s("SyntaxError", kind, CompileTime),
            Error::Runtime { class, detail, .. } => s(class, detail, Runtime),
            Error::Type { detail, .. } => s("TypeError", detail, Runtime),
            Error::Argument { detail, .. } => s("ArgumentError", detail, Runtime),
            Error::Arithmetic { detail, .. } => s("ArithmeticError", detail, Runtime),
            Error::EntityNotFound(_) => s("EntityNotFound", "DeletedEntityAccess", Runtime),
            Error::Index(e) => of_index(e),
            Error::Timeout => s("TransientError", "TransactionTimedOut", Runtime),
            Error::Interrupted => s("TransientError", "Terminated", Runtime),
            Error::MemoryLimit(_) => s("TransientError", "MemoryLimitExceeded", Runtime),
        }
    }
}

/// The status of a storage error raised by a query's writes or reads.
pub fn of_index(e: &sprig_index::Error) -> Status {
    let s = |class, detail| Status { class, detail, phase: Phase::Runtime };
    match e {
        sprig_index::Error::EntityNotFound(_) => s("EntityNotFound", "DeletedEntityAccess"),
        sprig_index::Error::Constraint(_) => s("ConstraintVerificationFailed", "DeleteConnectedNode"),
        _ => s("DatabaseError", "StorageError"),
    }
}
