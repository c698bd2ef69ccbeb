//! What the interactive shell adds to a plain line reader: completion from the live
//! database, highlighting of keywords and strings, statements that continue until
//! `;`, and where the history is kept.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

/// Cypher keywords, upper case as people write them.
pub const CYPHER_KEYWORDS: &[&str] = &[
    "MATCH",
    "OPTIONAL",
    "WHERE",
    "RETURN",
    "WITH",
    "UNWIND",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "SKIP",
    "LIMIT",
    "CREATE",
    "MERGE",
    "DELETE",
    "DETACH",
    "SET",
    "REMOVE",
    "ON",
    "UNION",
    "ALL",
    "DISTINCT",
    "AS",
    "AND",
    "OR",
    "XOR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "TRUE",
    "FALSE",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "EXISTS",
    "CALL",
    "YIELD",
    "USE",
    "INDEX",
    "FOR",
    "DROP",
    "SHOW",
    "INDEXES",
    "LINDEX",
    "FULLTEXT",
    "EACH",
    "OPTIONS",
    "STARTS",
    "ENDS",
    "CONTAINS",
    "EXPLAIN",
    "PROFILE",
    "shortestPath",
    "allShortestPaths",
];

/// XPath 1.0 functions and axes.
pub const XPATH_WORDS: &[&str] = &[
    "last",
    "position",
    "count",
    "id",
    "local-name",
    "namespace-uri",
    "name",
    "string",
    "concat",
    "starts-with",
    "contains",
    "substring-before",
    "substring-after",
    "substring",
    "string-length",
    "normalize-space",
    "translate",
    "boolean",
    "not",
    "true",
    "false",
    "lang",
    "number",
    "sum",
    "floor",
    "ceiling",
    "round",
    "ancestor",
    "ancestor-or-self",
    "attribute",
    "child",
    "descendant",
    "descendant-or-self",
    "following",
    "following-sibling",
    "namespace",
    "parent",
    "preceding",
    "preceding-sibling",
    "self",
    "node",
    "text",
    "comment",
    "processing-instruction",
    "and",
    "or",
    "div",
    "mod",
];

/// The shell's colon commands.
pub const COMMANDS: &[&str] = &[
    ":help",
    ":mode",
    ":use",
    ":format",
    ":explain",
    ":profile",
    ":timer",
    ":param",
    ":params",
    ":load",
    ":collections",
    ":graphs",
    ":schema",
    ":source",
    ":quit",
];

/// What completion needs to know about the session.
#[derive(Debug, Clone)]
pub struct CompletionScope {
    pub graph: String,
}

pub struct ShellHelper {
    target: super::target::Target,
    pub session: Arc<Mutex<CompletionScope>>,
}

impl ShellHelper {
    pub fn new(target: super::target::Target, session: Arc<Mutex<CompletionScope>>) -> Self {
        ShellHelper { target, session }
    }

    /// Words from the live database: labels, relationship types and property keys of
    /// the current graph, then graph and collection names.
    fn schema_words(&self) -> BTreeSet<String> {
        let graph = self.session.lock().map(|s| s.graph.clone()).unwrap_or_else(|_| sprig::DEFAULT_GRAPH.into());
        let mut words = BTreeSet::new();
        let options = sprig::CypherOptions { graph: Some(graph), ..Default::default() };
        for call in ["CALL db.labels()", "CALL db.relationshipTypes()", "CALL db.propertyKeys()"] {
            if let Ok(rows) = self.target.cypher(call, &options) {
                for row in rows.flatten() {
                    if let Some(sprig::ResultValue::String(s)) = row.values().first() {
                        words.insert(s.clone());
                    }
                }
            }
        }
        words.extend(self.target.graphs().unwrap_or_default());
        words.extend(self.target.collections().unwrap_or_default().into_iter().map(|c| c.name));
        words
    }
}

/// Where a word being typed starts: after the last character that cannot be in a
/// name, keyword, function or command.
fn word_start(line: &str, pos: usize) -> usize {
    line[..pos]
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
        .map_or(0, |(i, c)| i + c.len_utf8())
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let mut start = word_start(line, pos);
        let command = line[..start].trim().is_empty() || line[..start].trim() == ":";
        if start > 0 && &line[start - 1..start] == ":" && line[..start - 1].trim().is_empty() {
            start -= 1;
        }
        let word = &line[start..pos];
        if word.is_empty() {
            return Ok((pos, Vec::new()));
        }
        let mut candidates: BTreeSet<String> = BTreeSet::new();
        let lower = word.to_lowercase();
        let mut offer = |w: &str, case_blind: bool| {
            let hit = if case_blind { w.to_lowercase().starts_with(&lower) } else { w.starts_with(word) };
            if hit && w != word {
                candidates.insert(w.to_string());
            }
        };
        if word.starts_with(':') && command {
            COMMANDS.iter().for_each(|c| offer(c, true));
        } else {
            CYPHER_KEYWORDS.iter().for_each(|k| offer(k, true));
            sprig_query::cypher::plan::functions::Function::NAMES.iter().for_each(|f| offer(f, true));
            XPATH_WORDS.iter().for_each(|f| offer(f, false));
            for w in self.schema_words() {
                offer(&w, false);
            }
        }
        let pairs = candidates.into_iter().map(|c| Pair { display: c.clone(), replacement: c }).collect();
        Ok((start, pairs))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

const KEYWORD: &str = "\x1b[1;34m";
const STRING: &str = "\x1b[32m";
const RESET: &str = "\x1b[0m";

/// `line` with Cypher keywords and quoted strings coloured (same display width).
pub fn highlight(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 16);
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' || c == '"' {
            let mut end = line.len();
            let mut escaped = false;
            for (j, d) in chars.by_ref() {
                if escaped {
                    escaped = false;
                } else if d == '\\' {
                    escaped = true;
                } else if d == c {
                    end = j + d.len_utf8();
                    break;
                }
            }
            out.push_str(STRING);
            out.push_str(&line[i..end]);
            out.push_str(RESET);
        } else if c.is_alphabetic() {
            let mut end = line.len();
            while let Some(&(j, d)) = chars.peek() {
                if d.is_alphanumeric() || d == '_' {
                    chars.next();
                } else {
                    end = j;
                    break;
                }
            }
            let word = &line[i..end];
            let before = line[..i].chars().next_back();
            // A name after ':' or '.' is a label, type or key, not a keyword.
            if !matches!(before, Some(':' | '.' | '$')) && CYPHER_KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
            {
                out.push_str(KEYWORD);
                out.push_str(word);
                out.push_str(RESET);
            } else {
                out.push_str(word);
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Highlighter for ShellHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if line.trim_start().starts_with(':') {
            return Cow::Borrowed(line);
        }
        Cow::Owned(highlight(line))
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        true
    }
}

/// True when `input` is a whole statement: a colon command, or text ending in `;`.
pub fn is_complete(input: &str) -> bool {
    let trimmed = input.trim();
    trimmed.is_empty() || trimmed.starts_with(':') || trimmed.ends_with(';')
}

impl Validator for ShellHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if is_complete(ctx.input()) { ValidationResult::Valid(None) } else { ValidationResult::Incomplete })
    }
}

impl Helper for ShellHelper {}

/// The history file: `$SPRIG_HISTORY`, else `sprig/history` in the platform's data
/// directory (`~/.local/share` on Linux).
pub fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SPRIG_HISTORY") {
        return Some(PathBuf::from(p));
    }
    dirs::data_dir().map(|d| d.join("sprig").join("history"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlighting_colours_keywords_and_strings_only() {
        assert_eq!(
            highlight("MATCH (n:Match) WHERE n.name = 'return' RETURN n"),
            format!(
                "{KEYWORD}MATCH{RESET} (n:Match) {KEYWORD}WHERE{RESET} n.name = {STRING}'return'{RESET} {KEYWORD}RETURN{RESET} n"
            )
        );
        assert_eq!(highlight("'unclosed"), format!("{STRING}'unclosed{RESET}"));
    }

    #[test]
    fn statements_continue_until_a_semicolon() {
        assert!(!is_complete("MATCH (n)\nRETURN n"));
        assert!(is_complete("MATCH (n)\nRETURN n;"));
        assert!(is_complete(":help"));
        assert!(is_complete("   "));
    }

    #[test]
    fn words_start_after_punctuation() {
        assert_eq!(word_start("MATCH (n:Per", 12), 9);
        assert_eq!(word_start(":mo", 3), 1);
        assert_eq!(word_start("RETURN starts-wi", 16), 7);
    }
}
