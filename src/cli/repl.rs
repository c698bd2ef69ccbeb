//! The statement loop: `;`-terminated statements from `-c`, `-f`, piped stdin or a
//! terminal. The full line-editing REPL comes later; this loop already runs scripts.

use std::io::{BufRead, Write};

use sprig::{Database, Error};

use super::exit;
use super::output::{print_collections, print_error, print_xpath, Format};

/// Which language a bare statement is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Cypher,
    XPath,
}

pub struct Session {
    db: Database,
    format: Format,
    mode: Mode,
    /// The collection bare XPath statements run against (`:use NAME` in XPath mode).
    collection: Option<String>,
    /// The graph of Cypher statements without `USE` (`:use NAME` in Cypher mode).
    graph: String,
    timeout: Option<std::time::Duration>,
}

const HELP: &str = "statements end with ';' and are Cypher unless the mode is xpath
  MATCH (n) RETURN n;      a Cypher statement on the current graph
  xpath COLLECTION EXPR;   evaluate XPath 1.0 over a collection
  :mode xpath|cypher       the language of bare statements (XPath needs :use)
  :use NAME                the graph (cypher mode) or collection (xpath mode)
  :collections, :graphs    list the collections or the graphs
  :format FORMAT           table, json, jsonl, csv, markdown or xml
  :help, :quit";

impl Session {
    pub fn new(db: Database, format: Format, timeout: Option<std::time::Duration>) -> Self {
        Session { db, format, mode: Mode::Cypher, collection: None, graph: sprig::DEFAULT_GRAPH.to_string(), timeout }
    }

    /// Runs every statement of `text`; the exit code is 1 if any failed.
    pub fn run_script(&mut self, text: &str) -> i32 {
        let mut code = exit::OK;
        for statement in split_statements(text) {
            if let Err((error, query)) = self.execute(&statement) {
                print_error(&error, query.as_deref(), self.format);
                code = if error.is_timeout() { exit::TIMEOUT } else { exit::DATA };
            }
        }
        code
    }

    /// Reads statements from the terminal until `:quit` or end of input.
    pub fn interactive(&mut self) -> i32 {
        let _ =
            writeln!(std::io::stdout(), "sprig {} — type :help for help, :quit to leave", env!("CARGO_PKG_VERSION"));
        let stdin = std::io::stdin();
        let mut pending = String::new();
        loop {
            let _ = write!(std::io::stdout(), "{}", if pending.is_empty() { "sprig> " } else { "   ..> " });
            let _ = std::io::stdout().flush();
            let mut line = String::new();
            match stdin.lock().read_line(&mut line) {
                Ok(0) | Err(_) => return exit::OK,
                Ok(_) => {}
            }
            let trimmed = line.trim();
            if pending.is_empty() && trimmed.starts_with(':') {
                if matches!(trimmed.trim_end_matches(';'), ":quit" | ":q" | ":exit") {
                    return exit::OK;
                }
                self.run_script(trimmed);
                continue;
            }
            pending.push_str(&line);
            if trimmed.ends_with(';') {
                let text = std::mem::take(&mut pending);
                self.run_script(&text);
            }
        }
    }

    fn execute(&mut self, statement: &str) -> Result<(), (Error, Option<String>)> {
        let plain = |e: Error| (e, None);
        let statement = statement.trim();
        if let Some(command) = statement.strip_prefix(':') {
            let mut words = command.split_whitespace();
            return match (words.next(), words.next()) {
                (Some("mode"), Some("xpath")) => {
                    self.mode = Mode::XPath;
                    Ok(())
                }
                (Some("mode"), Some("cypher")) => {
                    self.mode = Mode::Cypher;
                    Ok(())
                }
                (Some("use"), Some(name)) => {
                    match self.mode {
                        Mode::XPath => self.collection = Some(name.to_string()),
                        Mode::Cypher => self.graph = name.to_string(),
                    }
                    Ok(())
                }
                (Some("graphs"), None) => {
                    let rows = self.db.graphs().map_err(plain)?.into_iter().map(|g| Ok(vec![serde_json::json!(g)]));
                    super::output::print_table(&["graph"], rows, self.format).map_err(plain)
                }
                (Some("collections"), None) => {
                    let all = self.db.collections().map_err(plain)?;
                    print_collections(&all, self.format).map_err(plain)
                }
                (Some("format"), Some(f)) => {
                    use clap::ValueEnum;
                    self.format =
                        Format::from_str(f, true).map_err(|_| plain(Error::Usage(format!("unknown format '{f}'"))))?;
                    Ok(())
                }
                (Some("help"), None) => writeln!(std::io::stdout(), "{HELP}").map_err(|e| plain(Error::Io(e))),
                _ => Err(plain(Error::Usage(format!("unknown command ':{command}' (try :help)")))),
            };
        }
        let (collection, expr) = if let Some(rest) = strip_keyword(statement, "xpath") {
            let rest = rest.trim_start();
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let (name, expr) = rest.split_at(end);
            if name.is_empty() || expr.trim().is_empty() {
                return Err(plain(Error::Usage("write: xpath COLLECTION EXPR;".into())));
            }
            (name.to_string(), expr.trim().to_string())
        } else if self.mode == Mode::XPath {
            let Some(c) = self.collection.clone() else {
                return Err(plain(Error::Usage("choose a collection first with :use NAME".into())));
            };
            (c, statement.to_string())
        } else {
            let options =
                sprig::CypherOptions { graph: Some(self.graph.clone()), timeout: self.timeout, ..Default::default() };
            let rows = self.db.cypher_with(statement, &options).map_err(|e| (e, Some(statement.to_string())))?;
            return super::cypher_output::print_cypher(rows, self.format).map_err(plain);
        };
        let options = sprig::XPathOptions { timeout: self.timeout, ..Default::default() };
        let value = self.db.xpath_with(&collection, &expr, &options).map_err(|e| (e, Some(expr.clone())))?;
        print_xpath(&value, self.format).map_err(plain)
    }
}

fn strip_keyword<'a>(s: &'a str, word: &str) -> Option<&'a str> {
    let head = s.get(..word.len())?;
    let rest = &s[word.len()..];
    (head.eq_ignore_ascii_case(word) && rest.starts_with(char::is_whitespace)).then_some(rest)
}

pub use sprig::split_statements;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_outside_quotes_and_comments() {
        assert_eq!(split_statements("xpath a '1;2';\n:mode xpath;;"), vec!["xpath a '1;2'", "\n:mode xpath"]);
        assert_eq!(split_statements("// a; b\nRETURN 1;RETURN 'x;\\'y'"), vec!["\nRETURN 1", "RETURN 'x;\\'y'"]);
        assert_eq!(split_statements("xpath books //book;"), vec!["xpath books //book"]);
    }
}
