//! The error of a query that does not parse, with its position.

use std::fmt;

/// A 0-based position in query text; displayed 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextPosition {
    pub line: usize,
    pub column: usize,
    pub offset: usize,
}

impl TextPosition {
    /// The line and column (in characters) of byte `offset` in `text`.
    pub fn of(text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count();
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count();
        TextPosition { line, column, offset }
    }
}

/// A query that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    pub position: TextPosition,
    /// The openCypher TCK's detail code: `UnexpectedSyntax`, `IntegerOverflow`,
    /// `FloatingPointOverflow`, `InvalidNumberLiteral`, `InvalidUnicodeLiteral`.
    pub detail: &'static str,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at line {}, column {}", self.message, self.position.line + 1, self.position.column + 1)
    }
}

impl std::error::Error for SyntaxError {}
