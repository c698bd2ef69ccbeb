//! Argument parsing and dispatch (SPEC section 3).

mod cypher_output;
mod line_editor;
mod output;
mod registry;
mod remote;
mod remote_graph;
mod repl;
mod serve;
mod target;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};
use sprig::json::json_value;
use sprig::{CypherOptions, Database, Error, JoinAlgorithm, OpenOptions, Params, XPathOptions};

pub use output::Format;

/// sprig: an embedded, indexed query engine for XML (XPath 1.0) and property graphs (Cypher).
#[derive(Debug, Parser)]
#[command(
    name = "sprig",
    version,
    about,
    after_help = "Examples:
  sprig                                        the shell on ./sprig.db (seeded with the fixtures when new)
  sprig -c \"MATCH (p:Person) RETURN p.name;\"    one statement, then exit
  sprig --db my.db load xml auction.xml        a document as collection 'auction'
  sprig xpath --collection auction 'count(//item)'
  sprig cypher 'MATCH (p:Person)-[:KNOWS]->(f) RETURN p.name, count(f)' --format json
  sprig registry list"
)]
pub struct Cli {
    /// The database directory (default: $SPRIG_DB, else ./sprig.db).
    #[arg(long, global = true, env = "SPRIG_DB")]
    db: Option<PathBuf>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Give up on a query after this many milliseconds (exit code 3).
    #[arg(long, global = true)]
    timeout: Option<u64>,
    /// Stop a Cypher query whose intermediate results (sorts, aggregations, DISTINCT,
    /// collect, large lists) would hold more than this many MiB (default 4096).
    #[arg(long, global = true, value_name = "MIB")]
    memory_limit: Option<usize>,
    /// Keep at most this many MiB of decoded data (graph chunks, adjacency, XML
    /// regions and metadata) in the one read cache all queries share (default: a
    /// quarter of the machine's memory, between 256 and 4096).
    #[arg(long, global = true, value_name = "MIB", env = "SPRIG_CACHE_MB")]
    cache_mb: Option<usize>,
    /// Send the subcommand to `sprig serve` at this URL instead of opening a
    /// database (cypher, xpath, load xml, collections, graphs).
    #[arg(long, global = true, value_name = "URL")]
    connect: Option<String>,
    /// The environment variable that holds the server's token: `serve` requires it
    /// on every request, `--connect` sends it (default for --connect: SPRIG_TOKEN).
    #[arg(long, global = true, value_name = "NAME")]
    token_env: Option<String>,
    /// Run one statement and exit.
    #[arg(short = 'c', value_name = "STATEMENT")]
    command: Option<String>,
    /// Run the statements of a script file.
    #[arg(short = 'f', value_name = "FILE")]
    file: Option<PathBuf>,
    /// Do not seed a new database with the bundled fixtures.
    #[arg(long)]
    empty: bool,
    #[command(subcommand)]
    subcommand: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load data.
    #[command(after_help = "Examples:
  sprig load xml auction.xml                   collection 'auction'
  sprig load xml docs/ --collection papers     every .xml file of a directory, in name order
  sprig load graph --nodes nodes.csv --edges edges.csv --graph social
  sprig load cypher setup.cypher               ;-separated statements in one transaction")]
    Load {
        #[command(subcommand)]
        what: LoadCommand,
    },
    /// Evaluate an XPath 1.0 expression.
    #[command(after_help = "Examples:
  sprig xpath --collection auction 'count(//item[payment = \"Cash\"])'
  sprig xpath --collection books '//book[price > $p]/title' --var p=30 --format csv
  sprig xpath --collection auction '//person' --join twigstack      force a join algorithm")]
    Xpath(XPathArgs),
    /// Run a Cypher statement.
    #[command(after_help = "Examples:
  sprig cypher 'MATCH (p:Person {name: $n})-[:KNOWS]->(f) RETURN f.name' --param 'n=\"Ada\"'
  sprig cypher 'USE registry MATCH (m:Model) RETURN m.name, m.sparsity' --format markdown
  sprig cypher 'CREATE (:City {name: \"Seoul\"})' --graph places")]
    Cypher(CypherArgs),
    /// Show the plan of a query: operators, join choices and index pruning.
    #[command(after_help = "Examples:
  sprig explain xpath --collection auction '//open_auction//bidder'
  sprig explain cypher 'MATCH (p:Person)-[:KNOWS]->(f) WHERE p.bio CONTAINS \"x\" RETURN f' --format json")]
    Explain {
        #[command(subcommand)]
        what: QueryCommand,
    },
    /// Run a query and show its plan with actual rows and times per operator.
    #[command(after_help = "Examples:
  sprig profile cypher 'MATCH (p:Person)-[:KNOWS*1..2]->(f) RETURN count(f)' --runs 11
  sprig profile xpath --collection auction 'count(//item//keyword)' --format json")]
    Profile {
        #[command(subcommand)]
        what: QueryCommand,
        /// Run the query this many times; report the median as elapsed_ms.
        #[arg(long, global = true, default_value_t = 1)]
        runs: usize,
    },
    /// List the collections.
    Collections,
    /// List the graphs.
    Graphs,
    /// Show statistics of every collection.
    Stats,
    /// Verify that every index agrees with the data (exit 1 when one does not).
    #[command(after_help = "Checks every collection (region labels, path summary, name postings, region
table) and every graph (adjacency lists, label bitmaps, counters, property indexes,
LIndexes, full-text indexes), and that the registry's two views hold the same models.

Examples:
  sprig check
  sprig --db other.db check --format json")]
    Check,
    /// Serve the database over HTTP to other processes and tools (SPEC section 7).
    Serve(serve::ServeArgs),
    /// The model registry: import records, list results, show a model's lineage.
    #[command(after_help = "Examples:
  sprig registry list --format markdown
  sprig registry show \"Transformer TPrune\"
  sprig registry import more-models.json       (or .xml, see fixtures/registry/registry.xsd)
  sprig registry export --format xml > registry.xml")]
    Registry {
        #[command(subcommand)]
        what: registry::RegistryCommand,
    },
}

#[derive(Debug, Subcommand)]
enum LoadCommand {
    /// Load XML files (or every .xml file of a directory) into collections.
    Xml {
        /// Files or directories.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The collection (default: each file's stem; a directory's name).
        #[arg(long)]
        collection: Option<String>,
    },
    /// Bulk-load a graph from CSV: nodes (id,label,...) and edges (src,dst,type,...).
    Graph {
        /// The nodes file.
        #[arg(long)]
        nodes: PathBuf,
        /// The relationships file.
        #[arg(long)]
        edges: PathBuf,
        /// The graph to load into.
        #[arg(long, default_value = sprig::DEFAULT_GRAPH)]
        graph: String,
    },
    /// Run a file of ;-separated Cypher statements, all in one transaction.
    Cypher {
        /// The script.
        script: PathBuf,
        /// The graph for statements without USE.
        #[arg(long, default_value = sprig::DEFAULT_GRAPH)]
        graph: String,
    },
}

#[derive(Debug, Subcommand)]
enum QueryCommand {
    /// An XPath 1.0 expression.
    Xpath(XPathArgs),
    /// A Cypher query.
    Cypher(CypherArgs),
}

#[derive(Debug, clap::Args)]
pub struct CypherArgs {
    /// The graph for a statement without USE.
    #[arg(long, default_value = sprig::DEFAULT_GRAPH)]
    graph: String,
    /// The statement.
    query: String,
    /// Bind a parameter: --param name=JSON (for example --param 'n="Ada"').
    #[arg(long = "param", value_name = "NAME=JSON")]
    params: Vec<String>,
    /// Plan without LIndex pruning (to compare with the pruned plan).
    #[arg(long = "no-lindex")]
    no_lindex: bool,
}

impl CypherArgs {
    fn options(&self, timeout: Option<u64>, memory_limit: Option<usize>) -> Result<CypherOptions, Failure> {
        let mut params = Params::default();
        for (name, text) in parse_bindings(&self.params, "--param")? {
            let json: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| Error::Usage(format!("--param {name}: not JSON ({e}): {text}")))?;
            params.0.push((name, json_value(&json)));
        }
        Ok(CypherOptions {
            graph: Some(self.graph.clone()),
            params,
            timeout: timeout.map(std::time::Duration::from_millis),
            no_lindex: self.no_lindex,
            interrupt: None,
            memory_limit: memory_limit.map(|mib| mib.saturating_mul(1 << 20)),
        })
    }

    fn failure(&self, error: Error) -> Failure {
        Failure { error, query: Some(self.query.clone()) }
    }
}

#[derive(Debug, clap::Args)]
pub struct XPathArgs {
    /// The collection to query (default: the only collection, if there is one).
    #[arg(long)]
    collection: Option<String>,
    /// The expression (one that starts with `-` follows `--`: `sprig xpath -- '-1'`).
    expr: String,
    /// Bind a string variable: --var name=value.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// Bind a namespace prefix: --ns prefix=uri.
    #[arg(long = "ns", value_name = "PREFIX=URI")]
    namespaces: Vec<String>,
    /// Force a structural-join algorithm (every choice gives the same result).
    #[arg(long, default_value = "auto", value_parser = ["auto", "sisj", "twigstack", "stacktree", "navigate"])]
    join: String,
}

impl XPathArgs {
    /// The collection and evaluation options these arguments name.
    fn resolve(&self, db: &Database, timeout: Option<u64>) -> Result<(String, XPathOptions), Failure> {
        let collection = match &self.collection {
            Some(c) => c.clone(),
            None => only_collection(db)?,
        };
        let options = XPathOptions {
            namespaces: parse_bindings(&self.namespaces, "--ns")?,
            variables: parse_bindings(&self.vars, "--var")?,
            timeout: timeout.map(std::time::Duration::from_millis),
            join: JoinAlgorithm::from_name(&self.join)
                .ok_or_else(|| Error::Usage(format!("unknown join algorithm '{}'", self.join)))?,
            interrupt: None,
        };
        Ok((collection, options))
    }

    fn failure(&self, error: Error) -> Failure {
        Failure { error, query: Some(self.expr.clone()) }
    }
}

/// Exit codes of SPEC section 3.
pub mod exit {
    pub const OK: i32 = 0;
    pub const DATA: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const TIMEOUT: i32 = 3;
}

/// Runs the command line; returns the exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    let format = cli.format;
    match dispatch(cli) {
        Ok(code) => code,
        Err(failure) => {
            output::print_error(&failure.error, failure.query.as_deref(), format);
            if failure.error.is_usage() {
                exit::USAGE
            } else if failure.error.is_timeout() {
                exit::TIMEOUT
            } else {
                exit::DATA
            }
        }
    }
}

/// An error with the query text it came from, for the caret.
pub struct Failure {
    pub error: Error,
    pub query: Option<String>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure { error, query: None }
    }
}

/// The token in environment variable `name`.
fn token_from(name: &str) -> Result<String, Error> {
    match std::env::var(name) {
        Ok(token) if !token.is_empty() => Ok(token),
        _ => Err(Error::Usage(format!("--token-env {name}: the environment variable is not set"))),
    }
}

fn default_db_path() -> PathBuf {
    PathBuf::from("sprig.db")
}

fn dispatch(cli: Cli) -> Result<i32, Failure> {
    let path = cli.db.clone().unwrap_or_else(default_db_path);
    // A directory is new when it does not exist yet; a database on a cluster when it
    // holds nothing (checked once it is open).
    let on_cluster = path.to_str().is_some_and(|p| p.starts_with("redis://"));
    let is_new = !on_cluster && !path.exists();
    let open = OpenOptions { cache_mb: cli.cache_mb };
    if let Some(Command::Serve(args)) = &cli.subcommand {
        let token = match &cli.token_env {
            Some(name) => Some(token_from(name)?),
            None => None,
        };
        serve::run(args, token, &path, &open, cli.timeout, cli.memory_limit)?;
        return Ok(exit::OK);
    }
    if let Some(url) = &cli.connect {
        let token = match &cli.token_env {
            Some(name) => Some(token_from(name)?),
            None => std::env::var("SPRIG_TOKEN").ok().filter(|t| !t.is_empty()),
        };
        let remote = remote::Remote::new(url, token)?;
        if cli.subcommand.is_none() {
            return shell(target::Target::Remote(std::sync::Arc::new(remote)), &cli);
        }
        return remote::dispatch(&remote, cli.subcommand.as_ref(), cli.format);
    }
    let db = Database::open_with(&path, &open)?;
    match cli.subcommand {
        Some(Command::Load { what: LoadCommand::Xml { files, collection } }) => {
            load_xml(&db, &files, collection.as_deref(), cli.format)?;
            Ok(exit::OK)
        }
        Some(Command::Load { what: LoadCommand::Graph { nodes, edges, graph } }) => {
            load_graph(&db, &graph, &nodes, &edges, cli.format)?;
            Ok(exit::OK)
        }
        Some(Command::Load { what: LoadCommand::Cypher { script, graph } }) => {
            let text = read_script(&script)?;
            let started = std::time::Instant::now();
            let stats = db.load_cypher_script(&graph, &text)?;
            cypher_output::print_script_load(&script, &graph, &stats, started.elapsed().as_secs_f64(), cli.format)?;
            Ok(exit::OK)
        }
        Some(Command::Cypher(args)) => {
            let options = args.options(cli.timeout, cli.memory_limit)?;
            let rows = db.cypher_with(&args.query, &options).map_err(|e| args.failure(e))?;
            cypher_output::print_cypher(rows, cli.format, true)?;
            Ok(exit::OK)
        }
        Some(Command::Graphs) => {
            let rows = db.graphs()?.into_iter().map(|g| Ok(vec![serde_json::json!(g)]));
            output::print_table(&["graph"], rows, cli.format)?;
            Ok(exit::OK)
        }
        Some(Command::Explain { what: QueryCommand::Cypher(args) }) => {
            let options = args.options(cli.timeout, cli.memory_limit)?;
            let explained = db.explain_cypher(&args.query, &options).map_err(|e| args.failure(e))?;
            output::print_plan(&explained, cli.format)?;
            Ok(exit::OK)
        }
        Some(Command::Profile { what: QueryCommand::Cypher(args), runs }) => {
            let options = args.options(cli.timeout, cli.memory_limit)?;
            let explained = db.profile_cypher(&args.query, &options, runs).map_err(|e| args.failure(e))?;
            output::print_plan(&explained, cli.format)?;
            Ok(exit::OK)
        }
        Some(Command::Xpath(args)) => {
            let (collection, options) = args.resolve(&db, cli.timeout)?;
            let value = db.xpath_with(&collection, &args.expr, &options).map_err(|e| args.failure(e))?;
            output::print_xpath(&value, cli.format)?;
            Ok(exit::OK)
        }
        Some(Command::Explain { what }) => {
            let args = xpath_only(what)?;
            let (collection, options) = args.resolve(&db, cli.timeout)?;
            let explained = db.explain_xpath(&collection, &args.expr, &options).map_err(|e| args.failure(e))?;
            output::print_plan(&explained, cli.format)?;
            Ok(exit::OK)
        }
        Some(Command::Profile { what, runs }) => {
            let args = xpath_only(what)?;
            let (collection, options) = args.resolve(&db, cli.timeout)?;
            let explained = db.profile_xpath(&collection, &args.expr, &options, runs).map_err(|e| args.failure(e))?;
            output::print_plan(&explained, cli.format)?;
            Ok(exit::OK)
        }
        Some(Command::Registry { what }) => {
            registry::run(&db, &what, cli.format)?;
            Ok(exit::OK)
        }
        Some(Command::Collections) => {
            output::print_collections(&db.collections()?, cli.format)?;
            Ok(exit::OK)
        }
        Some(Command::Check) => {
            let report = db.check()?;
            output::print_check(&report, cli.format)?;
            Ok(if report.is_ok() { exit::OK } else { exit::DATA })
        }
        Some(Command::Serve(_)) => Ok(exit::OK), // served above, before the database opened
        Some(Command::Stats) => {
            let mut all = Vec::new();
            for c in db.collections()? {
                all.push(db.collection_stats(&c.name)?);
            }
            output::print_stats(&all, cli.format)?;
            Ok(exit::OK)
        }
        None => {
            let is_new = is_new || (on_cluster && db.collections()?.is_empty() && db.graphs()?.is_empty());
            if is_new && !cli.empty {
                sprig::fixtures::seed(&db)?;
            }
            shell(target::Target::Local(db), &cli)
        }
    }
}

/// The shell over `target`: `-c`, `-f`, piped stdin, or a terminal.
fn shell(target: target::Target, cli: &Cli) -> Result<i32, Failure> {
    let mut session = repl::Session::new(target, cli.format, cli.timeout.map(std::time::Duration::from_millis));
    session.memory_limit = cli.memory_limit.map(|mib| mib.saturating_mul(1 << 20));
    if let Some(statement) = &cli.command {
        return Ok(session.run_script(statement));
    }
    if let Some(file) = &cli.file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Error::Usage(format!("cannot read '{}': {e}", file.display())))?;
        return Ok(session.run_script(&text));
    }
    if std::io::stdin().is_terminal() {
        Ok(session.interactive())
    } else {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(Error::from)?;
        Ok(session.run_script(&text))
    }
}

fn xpath_only(what: QueryCommand) -> Result<XPathArgs, Failure> {
    match what {
        QueryCommand::Xpath(args) => Ok(args),
        QueryCommand::Cypher(_) => Err(Error::Usage("explain/profile cypher are dispatched above".into()).into()),
    }
}

/// `load graph`: a progress bar on a terminal, one summary line after.
fn load_graph(db: &Database, graph: &str, nodes: &Path, edges: &Path, format: Format) -> Result<(), Failure> {
    let open = |p: &Path| -> Result<Box<dyn std::io::Read>, Failure> {
        let f = std::fs::File::open(p).map_err(|e| Error::Usage(format!("cannot open '{}': {e}", p.display())))?;
        Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, f)))
    };
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {pos} rows read ({per_sec}) {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        Some(bar)
    } else {
        None
    };
    let started = std::time::Instant::now();
    let mut progress = |rows: u64| {
        if let Some(b) = &bar {
            b.set_position(rows);
        }
    };
    let stats = db.load_graph_csv(
        graph,
        (&nodes.display().to_string(), open(nodes)?),
        (&edges.display().to_string(), open(edges)?),
        &mut progress,
    );
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    cypher_output::print_graph_load(graph, &stats?, started.elapsed().as_secs_f64(), format)?;
    Ok(())
}

fn only_collection(db: &Database) -> Result<String, Failure> {
    let all = db.collections()?;
    match all.as_slice() {
        [one] => Ok(one.name.clone()),
        [] => Err(Error::Usage("the database has no collections; load one with 'sprig load xml FILE'".into()).into()),
        _ => Err(Error::Usage(format!(
            "name a collection with --collection (one of: {})",
            all.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
        ))
        .into()),
    }
}

fn parse_bindings(items: &[String], flag: &str) -> Result<Vec<(String, String)>, Failure> {
    items
        .iter()
        .map(|item| match item.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(Error::Usage(format!("{flag} takes NAME=VALUE, not '{item}'")).into()),
        })
        .collect()
}

/// `load xml`: each file its own collection (named by its stem), a directory one
/// collection of its `.xml` files, or everything into `--collection`.
/// The collections `sprig load xml FILES [--collection C]` makes, in order, each
/// with its files: a file is its own collection (named after its stem), a
/// directory's `.xml` files make one, and `--collection` puts everything in one.
pub(crate) fn load_groups(files: &[PathBuf], collection: Option<&str>) -> Result<Vec<(String, Vec<PathBuf>)>, Error> {
    let mut groups: Vec<(String, Vec<PathBuf>)> = Vec::new();
    for f in files {
        let members = if f.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(f)
                .map_err(|e| Error::Usage(format!("cannot read directory '{}': {e}", f.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("xml")))
                .collect();
            found.sort();
            found
        } else if f.is_file() {
            vec![f.clone()]
        } else {
            return Err(Error::Usage(format!("no such file or directory: '{}'", f.display())));
        };
        let name = match collection {
            Some(c) => c.to_string(),
            None => stem(f),
        };
        match groups.iter_mut().find(|(n, _)| *n == name) {
            Some((_, list)) => list.extend(members),
            None => groups.push((name, members)),
        }
    }
    Ok(groups)
}

fn load_xml(db: &Database, files: &[PathBuf], collection: Option<&str>, format: Format) -> Result<(), Failure> {
    let groups = load_groups(files, collection)?;
    for (name, members) in groups {
        let start = std::time::Instant::now();
        let mut docs: Vec<(String, Box<dyn std::io::Read>)> = Vec::new();
        let total: u64 = members.iter().filter_map(|m| std::fs::metadata(m).ok()).map(|m| m.len()).sum();
        // On a terminal, a bar of bytes read (with rate and ETA); nothing when piped.
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:30} {bytes}/{total_bytes} ({bytes_per_sec}, ETA {eta}) {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_message(name.clone());
            bar
        });
        for m in &members {
            let file =
                std::fs::File::open(m).map_err(|e| Error::Usage(format!("cannot open '{}': {e}", m.display())))?;
            let file = std::io::BufReader::with_capacity(1 << 20, file);
            match &bar {
                Some(bar) => docs.push((stem(m), Box::new(bar.wrap_read(file)))),
                None => docs.push((stem(m), Box::new(file))),
            }
        }
        let stats = db.load_xml_documents(&name, docs);
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        let stats = stats?;
        output::print_load(&name, members.len(), &stats, start.elapsed(), format)?;
    }
    Ok(())
}

/// The text of a Cypher script named on the command line.
pub(crate) fn read_script(script: &Path) -> Result<String, Error> {
    std::fs::read_to_string(script).map_err(|e| Error::Usage(format!("cannot read '{}': {e}", script.display())))
}

pub(crate) fn stem(path: &Path) -> String {
    path.file_stem().and_then(|s| s.to_str()).unwrap_or("collection").to_string()
}

impl ValueEnum for Format {
    fn value_variants<'a>() -> &'a [Self] {
        &[Format::Table, Format::Json, Format::Jsonl, Format::Csv, Format::Markdown, Format::Xml]
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}
