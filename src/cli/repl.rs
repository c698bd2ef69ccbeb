//! The shell: `;`-terminated statements from `-c`, `-f`, piped stdin, or a terminal
//! with line editing (rustyline), history, completion and highlighting. Statements
//! are Cypher unless the mode is XPath or they start with `xpath COLLECTION`; lines
//! starting with `:` are shell commands.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sprig::json::{json_value, value_json};
use sprig::{CypherOptions, Error, Params, XPathOptions};

use super::exit;
use super::line_editor::{self, CompletionScope, ShellHelper};
use super::output::{print_collections, print_error, print_plan, Format};
use super::target::Target;

/// Which language a bare statement is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Cypher,
    XPath,
}

pub struct Session {
    /// The database, or the server that holds it.
    target: Target,
    format: Format,
    mode: Mode,
    /// The collection bare XPath statements run against (`:use NAME` in XPath mode).
    collection: Option<String>,
    /// The graph of Cypher statements without `USE` (`:use NAME` in Cypher mode).
    graph: String,
    timeout: Option<Duration>,
    /// `--memory-limit`, in bytes.
    pub memory_limit: Option<usize>,
    /// Show each statement's time.
    timer: bool,
    /// A person at a terminal (scripts keep XPath output to the value alone).
    interactive: bool,
    /// `:param` values, passed to every Cypher statement.
    params: Vec<(String, sprig::CypherValue)>,
    /// Set by Ctrl-C while a statement runs.
    interrupt: Arc<AtomicBool>,
    /// What completion needs to know (shared with the line editor).
    scope: Arc<Mutex<CompletionScope>>,
}

const HELP: &str = "Statements end with ';'. They are Cypher unless the mode is xpath.
  MATCH (n) RETURN n;            a Cypher statement on the current graph
  xpath COLLECTION EXPR;         XPath 1.0 over a collection, in any mode
  :mode cypher|xpath             the language of bare statements
  :use NAME                      the graph (cypher mode) or collection (xpath mode)
  :format FORMAT                 table, json, jsonl, csv, markdown or xml
  :explain QUERY                 the plan of a query in the current mode
  :profile QUERY                 run it and show rows and time per operator
  :timer on|off                  show each statement's time
  :param NAME => EXPR            set $NAME for Cypher (:params lists them)
  :load xml FILE [COLLECTION]    load a document (the collection defaults to its stem)
  :load graph NODES EDGES [GRAPH]  bulk-load CSV files
  :load cypher FILE [GRAPH]      run a script in one transaction
  :collections, :graphs          what the database holds
  :schema                        labels, types, keys and indexes of the graph; path summaries
  :source FILE                   run the statements of a file
  :help, :quit                   (Ctrl-C stops a running query or clears the line; Ctrl-D quits)";

/// How a statement ended, for the script's exit code.
enum Outcome {
    Done,
    Quit,
}

type Failed = (Error, Option<String>);

impl Session {
    pub fn new(target: Target, format: Format, timeout: Option<Duration>) -> Self {
        let graph = sprig::DEFAULT_GRAPH.to_string();
        let scope = Arc::new(Mutex::new(CompletionScope { graph: graph.clone() }));
        let interrupt = Arc::new(AtomicBool::new(false));
        let flag = interrupt.clone();
        // Ctrl-C while a statement runs stops it (at the line prompt the editor reads
        // it as a key, so this only fires during execution). A second handler cannot
        // be installed in the same process; the first one serves.
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
        Session {
            target,
            format,
            mode: Mode::Cypher,
            collection: None,
            graph,
            timeout,
            memory_limit: None,
            timer: true,
            interactive: false,
            params: Vec::new(),
            interrupt,
            scope,
        }
    }

    /// Runs every statement of `text`; the exit code is that of the last failure (1,
    /// or 3 for a timeout or interrupt, which also stops the script).
    pub fn run_script(&mut self, text: &str) -> i32 {
        let mut code = exit::OK;
        let mut rest = text;
        while let Some((statement, after)) = self.next_statement(rest) {
            rest = after;
            match self.run_one(&statement) {
                Ok(Outcome::Done) => {}
                Ok(Outcome::Quit) => break,
                Err((error, query)) => {
                    print_error(&error, query.as_deref(), self.format);
                    if error.is_timeout() {
                        return exit::TIMEOUT;
                    }
                    code = exit::DATA;
                }
            }
        }
        code
    }

    /// The next statement of `text` and the text after it. A colon command is one
    /// line (its `;` optional); anything else runs to `;` and is read as XPath or
    /// Cypher by the mode in force when it starts, which an earlier `:mode` may change.
    fn next_statement<'t>(&self, text: &'t str) -> Option<(String, &'t str)> {
        let trimmed = text.trim_start();
        if trimmed.starts_with(':') {
            let (line, after) = trimmed.split_once('\n').unwrap_or((trimmed, ""));
            return Some((line.trim().trim_end_matches(';').to_string(), after));
        }
        let dialect = match self.mode {
            Mode::Cypher => sprig::Dialect::Cypher,
            Mode::XPath => sprig::Dialect::XPath,
        };
        sprig::next_statement(text, dialect)
    }

    fn run_one(&mut self, statement: &str) -> Result<Outcome, Failed> {
        self.interrupt.store(false, Ordering::SeqCst);
        let result = self.execute(statement);
        self.interrupt.store(false, Ordering::SeqCst);
        result
    }

    fn prompt(&self) -> String {
        match self.mode {
            Mode::Cypher => format!("sprig[cypher:{}]> ", self.graph),
            Mode::XPath => format!("sprig[xpath:{}]> ", self.collection.as_deref().unwrap_or("-")),
        }
    }

    /// The interactive shell, until `:quit` or Ctrl-D.
    pub fn interactive(&mut self) -> i32 {
        self.interactive = true;
        let mut out = std::io::stdout();
        let _ = writeln!(
            out,
            "sprig {}: XPath 1.0 and Cypher in one database. :help for help, :quit or Ctrl-D to leave.",
            env!("CARGO_PKG_VERSION")
        );
        let _ = writeln!(out, "Try:");
        for example in sprig::fixtures::EXAMPLES {
            let _ = writeln!(out, "  {example}");
        }
        let config = rustyline::Config::builder()
            .auto_add_history(false)
            .completion_type(rustyline::CompletionType::List)
            .max_history_size(10_000)
            .unwrap_or_else(|_| rustyline::Config::builder())
            .build();
        let mut editor: rustyline::Editor<ShellHelper, rustyline::history::FileHistory> =
            match rustyline::Editor::with_config(config) {
                Ok(e) => e,
                Err(e) => {
                    print_error(&Error::Usage(format!("cannot start the line editor: {e}")), None, self.format);
                    return exit::USAGE;
                }
            };
        editor.set_helper(Some(ShellHelper::new(self.target.clone(), self.scope.clone())));
        let history = line_editor::history_path();
        if let Some(path) = &history {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = editor.load_history(path);
        }
        loop {
            match editor.readline(&self.prompt()) {
                Ok(line) => {
                    if line.trim().is_empty() {
                        continue;
                    }
                    let _ = editor.add_history_entry(line.trim_end());
                    if let Some(path) = &history {
                        let _ = editor.append_history(path);
                    }
                    if self.run_interactive(&line) {
                        return exit::OK;
                    }
                }
                // Ctrl-C at the prompt clears the line.
                Err(rustyline::error::ReadlineError::Interrupted) => continue,
                Err(rustyline::error::ReadlineError::Eof) => return exit::OK,
                Err(e) => {
                    print_error(&Error::Usage(format!("cannot read the terminal: {e}")), None, self.format);
                    return exit::USAGE;
                }
            }
        }
    }

    /// Runs what was typed; true when it asked to quit.
    fn run_interactive(&mut self, text: &str) -> bool {
        let mut rest = text;
        while let Some((statement, after)) = self.next_statement(rest) {
            rest = after;
            match self.run_one(&statement) {
                Ok(Outcome::Done) => {}
                Ok(Outcome::Quit) => return true,
                Err((error, query)) => print_error(&error, query.as_deref(), self.format),
            }
        }
        false
    }

    fn cypher_options(&self) -> CypherOptions {
        CypherOptions {
            graph: Some(self.graph.clone()),
            params: Params(self.params.clone()),
            timeout: self.timeout,
            interrupt: Some(self.interrupt.clone()),
            memory_limit: self.memory_limit,
            ..Default::default()
        }
    }

    fn xpath_options(&self) -> XPathOptions {
        XPathOptions { timeout: self.timeout, interrupt: Some(self.interrupt.clone()), ..Default::default() }
    }

    /// The collection and expression of an XPath statement: `xpath C EXPR`, or a bare
    /// expression in XPath mode.
    fn xpath_target(&self, statement: &str) -> Result<Option<(String, String)>, Failed> {
        if let Some(rest) = strip_keyword(statement, "xpath") {
            let rest = rest.trim_start();
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let (name, expr) = rest.split_at(end);
            if name.is_empty() || expr.trim().is_empty() {
                return Err((Error::Usage("write: xpath COLLECTION EXPR;".into()), None));
            }
            return Ok(Some((name.to_string(), expr.trim().to_string())));
        }
        if self.mode == Mode::XPath {
            let Some(c) = self.collection.clone() else {
                return Err((Error::Usage("choose a collection first with :use NAME".into()), None));
            };
            return Ok(Some((c, statement.to_string())));
        }
        Ok(None)
    }

    fn execute(&mut self, statement: &str) -> Result<Outcome, Failed> {
        let statement = statement.trim();
        if let Some(command) = statement.strip_prefix(':') {
            return self.command(command.trim());
        }
        let started = Instant::now();
        match self.xpath_target(statement)? {
            Some((collection, expr)) => {
                self.target
                    .print_xpath(&collection, &expr, &self.xpath_options(), self.format)
                    .map_err(|e| (e, Some(expr.clone())))?;
                if self.timer && self.interactive && self.format == Format::Table {
                    println!("{} ms", (started.elapsed().as_secs_f64() * 1e6).round() / 1e3);
                }
            }
            None => {
                let rows = self
                    .target
                    .cypher(statement, &self.cypher_options())
                    .map_err(|e| (e, Some(statement.to_string())))?;
                super::cypher_output::print_cypher(rows, self.format, self.timer).map_err(plain)?;
            }
        }
        Ok(Outcome::Done)
    }

    fn command(&mut self, command: &str) -> Result<Outcome, Failed> {
        let (name, rest) = command.split_once(char::is_whitespace).unwrap_or((command, ""));
        let rest = rest.trim();
        let words: Vec<&str> = rest.split_whitespace().collect();
        let usage = |s: &str| Err((Error::Usage(s.to_string()), None));
        match (name, words.as_slice()) {
            ("quit" | "q" | "exit", []) => return Ok(Outcome::Quit),
            ("help", []) => println!("{HELP}"),
            ("mode", ["xpath"]) => self.mode = Mode::XPath,
            ("mode", ["cypher"]) => self.mode = Mode::Cypher,
            ("mode", _) => return usage(":mode cypher|xpath"),
            ("use", [name]) => match self.mode {
                Mode::XPath => self.collection = Some(name.to_string()),
                Mode::Cypher => {
                    self.graph = name.to_string();
                    if let Ok(mut scope) = self.scope.lock() {
                        scope.graph = name.to_string();
                    }
                }
            },
            ("use", _) => return usage(":use NAME"),
            ("format", [f]) => {
                use clap::ValueEnum;
                self.format =
                    Format::from_str(f, true).map_err(|_| plain(Error::Usage(format!("unknown format '{f}'"))))?;
            }
            ("timer", ["on"]) => self.timer = true,
            ("timer", ["off"]) => self.timer = false,
            ("timer", _) => return usage(":timer on|off"),
            ("graphs", []) => {
                let rows = self.target.graphs().map_err(plain)?.into_iter().map(|g| Ok(vec![serde_json::json!(g)]));
                super::output::print_table(&["graph"], rows, self.format).map_err(plain)?;
            }
            ("collections", []) => {
                print_collections(&self.target.collections().map_err(plain)?, self.format).map_err(plain)?
            }
            ("explain" | "profile", _) if !rest.is_empty() => {
                self.explain(rest.trim_end_matches(';'), name == "profile")?
            }
            ("explain" | "profile", _) => return usage(":explain QUERY"),
            ("param", _) => self.set_param(rest)?,
            ("params", []) => {
                let rows = self.params.iter().map(|(k, v)| Ok(vec![serde_json::json!(k), param_json(v)]));
                super::output::print_table(&["name", "value"], rows, self.format).map_err(plain)?;
            }
            ("schema", []) => self.schema()?,
            ("source", [file]) => {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| plain(Error::Usage(format!("cannot read '{file}': {e}"))))?;
                if self.run_script(&text) == exit::TIMEOUT {
                    return Err((Error::Usage(format!("{file}: stopped")), None));
                }
            }
            ("load", ["xml", file, rest @ ..]) => {
                let collection = match rest {
                    [] => std::path::Path::new(file)
                        .file_stem()
                        .and_then(|s| s.to_str())
                        .unwrap_or("collection")
                        .to_string(),
                    [c] => c.to_string(),
                    _ => return usage(":load xml FILE [COLLECTION]"),
                };
                self.target.load_xml(&collection, std::path::Path::new(file), self.format).map_err(plain)?;
            }
            ("load", ["graph", nodes, edges, rest @ ..]) => {
                let graph = rest.first().map_or(self.graph.clone(), |g| g.to_string());
                let started = Instant::now();
                let stats = self
                    .target
                    .load_graph(&graph, std::path::Path::new(nodes), std::path::Path::new(edges))
                    .map_err(plain)?;
                super::cypher_output::print_graph_load(&graph, &stats, started.elapsed().as_secs_f64(), self.format)
                    .map_err(plain)?;
            }
            ("load", ["cypher", file, rest @ ..]) => {
                let graph = rest.first().map_or(self.graph.clone(), |g| g.to_string());
                let text = super::read_script(std::path::Path::new(file)).map_err(plain)?;
                let stats = self.target.load_cypher(&graph, &text).map_err(plain)?;
                println!(
                    "{file}: {} nodes, {} relationships created",
                    stats.nodes_created, stats.relationships_created
                );
            }
            ("load", _) => {
                return usage(":load xml FILE [COLLECTION] | graph NODES EDGES [GRAPH] | cypher FILE [GRAPH]")
            }
            _ => return usage(&format!("unknown command ':{command}' (try :help)")),
        }
        Ok(Outcome::Done)
    }
}

impl Session {
    /// `:explain` / `:profile` of a query in the current mode (or `xpath C EXPR`).
    fn explain(&self, query: &str, profile: bool) -> Result<(), Failed> {
        let runs = profile.then_some(1);
        let explained = match self.xpath_target(query)? {
            Some((collection, expr)) => self
                .target
                .xpath_plan(&collection, &expr, &self.xpath_options(), runs)
                .map_err(|e| (e, Some(expr.clone())))?,
            None => self
                .target
                .cypher_plan(query, &self.cypher_options(), runs)
                .map_err(|e| (e, Some(query.to_string())))?,
        };
        print_plan(&explained, self.format).map_err(plain)
    }

    /// `:param name => expr`: evaluates `expr` as Cypher (it may use earlier params).
    fn set_param(&mut self, text: &str) -> Result<(), Failed> {
        let Some((name, expr)) = text.split_once("=>").or_else(|| text.split_once(':')) else {
            return Err(plain(Error::Usage(":param NAME => EXPRESSION".into())));
        };
        let name = name.trim().trim_start_matches('$');
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Err(plain(Error::Usage(format!("'{name}' is not a parameter name"))));
        }
        let query = format!("RETURN {} AS value", expr.trim().trim_end_matches(';'));
        let mut rows = self.target.cypher(&query, &self.cypher_options()).map_err(|e| (e, Some(query.clone())))?;
        let value = match rows.next() {
            Some(row) => row.map_err(plain)?.values().first().cloned().unwrap_or(sprig::ResultValue::Null),
            None => sprig::ResultValue::Null,
        };
        let value = json_value(&value_json(&value));
        self.params.retain(|(k, _)| k != name);
        self.params.push((name.to_string(), value));
        Ok(())
    }

    /// `:schema`: what the current graph holds, then each collection's path summary.
    fn schema(&self) -> Result<(), Failed> {
        let options = self.cypher_options();
        let column = |call: &str| -> Result<Vec<String>, Failed> {
            let rows = self.target.cypher(call, &options).map_err(plain)?;
            Ok(rows
                .flatten()
                .filter_map(|r| match r.values().first() {
                    Some(sprig::ResultValue::String(s)) => Some(s.clone()),
                    _ => None,
                })
                .collect())
        };
        let mut rows = Vec::new();
        for (what, call) in [
            ("labels", "CALL db.labels()"),
            ("relationship types", "CALL db.relationshipTypes()"),
            ("property keys", "CALL db.propertyKeys()"),
            ("indexes", "SHOW INDEXES YIELD name RETURN name"),
        ] {
            rows.push(Ok(vec![
                serde_json::json!(format!("graph {}", self.graph)),
                serde_json::json!(what),
                serde_json::json!(column(call)?.join(", ")),
            ]));
        }
        for c in self.target.collections().map_err(plain)? {
            // A server lists collections, not their path summaries.
            let which = match &self.target {
                Target::Local(db) => {
                    let stats = db.collection_stats(&c.name).map_err(plain)?;
                    format!("{} paths, {} names, {} documents", stats.paths, stats.names, c.documents)
                }
                Target::Remote(_) => format!("{} documents", c.documents),
            };
            rows.push(Ok(vec![
                serde_json::json!(format!("collection {}", c.name)),
                serde_json::json!("path summary"),
                serde_json::json!(which),
            ]));
        }
        super::output::print_table(&["where", "what", "which"], rows.into_iter(), self.format).map_err(plain)
    }
}

fn param_json(v: &sprig::CypherValue) -> serde_json::Value {
    match v {
        sprig::CypherValue::Null => serde_json::Value::Null,
        sprig::CypherValue::Bool(b) => serde_json::json!(b),
        sprig::CypherValue::Int(i) => serde_json::json!(i),
        sprig::CypherValue::Float(f) => serde_json::json!(f),
        sprig::CypherValue::String(s) => serde_json::json!(s.as_ref()),
        sprig::CypherValue::List(items) => serde_json::Value::Array(items.iter().map(param_json).collect()),
        sprig::CypherValue::Map(m) => {
            serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), param_json(v))).collect())
        }
        other => serde_json::json!(format!("{other:?}")),
    }
}

fn plain(e: Error) -> Failed {
    (e, None)
}

fn strip_keyword<'a>(s: &'a str, word: &str) -> Option<&'a str> {
    let head = s.get(..word.len())?;
    let rest = &s[word.len()..];
    (head.eq_ignore_ascii_case(word) && rest.starts_with(char::is_whitespace)).then_some(rest)
}
