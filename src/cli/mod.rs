//! Argument parsing and dispatch (SPEC section 3).

mod output;
mod repl;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};
use sprig::{Database, Error, JoinAlgorithm, XPathOptions};

pub use output::Format;

/// sprig: an embedded, indexed query engine for XML (XPath 1.0).
#[derive(Debug, Parser)]
#[command(name = "sprig", version, about)]
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
    Load {
        #[command(subcommand)]
        what: LoadCommand,
    },
    /// Evaluate an XPath 1.0 expression.
    Xpath(XPathArgs),
    /// Show the plan of a query: operators, join choices and index pruning.
    Explain {
        #[command(subcommand)]
        what: QueryCommand,
    },
    /// Run a query and show its plan with actual rows and times per operator.
    Profile {
        #[command(subcommand)]
        what: QueryCommand,
        /// Run the query this many times; report the median as elapsed_ms.
        #[arg(long, global = true, default_value_t = 1)]
        runs: usize,
    },
    /// List the collections.
    Collections,
    /// Show statistics of every collection.
    Stats,
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
}

#[derive(Debug, Subcommand)]
enum QueryCommand {
    /// An XPath 1.0 expression.
    Xpath(XPathArgs),
    /// A Cypher query (not available in this version).
    Cypher {
        /// The query.
        query: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct XPathArgs {
    /// The collection to query (default: the only collection, if there is one).
    #[arg(long)]
    collection: Option<String>,
    /// The expression.
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

fn default_db_path() -> PathBuf {
    PathBuf::from("sprig.db")
}

fn dispatch(cli: Cli) -> Result<i32, Failure> {
    let path = cli.db.clone().unwrap_or_else(default_db_path);
    let is_new = !path.exists();
    let db = Database::open(&path)?;
    match cli.subcommand {
        Some(Command::Load { what: LoadCommand::Xml { files, collection } }) => {
            load_xml(&db, &files, collection.as_deref(), cli.format)?;
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
        Some(Command::Collections) => {
            output::print_collections(&db.collections()?, cli.format)?;
            Ok(exit::OK)
        }
        Some(Command::Stats) => {
            let mut all = Vec::new();
            for c in db.collections()? {
                all.push(db.collection_stats(&c.name)?);
            }
            output::print_stats(&all, cli.format)?;
            Ok(exit::OK)
        }
        None => {
            if is_new && !cli.empty {
                sprig::fixtures::seed(&db)?;
            }
            let mut session = repl::Session::new(db, cli.format, cli.timeout.map(std::time::Duration::from_millis));
            if let Some(statement) = cli.command {
                return Ok(session.run_script(&statement));
            }
            if let Some(file) = cli.file {
                let text = std::fs::read_to_string(&file)
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
    }
}

fn xpath_only(what: QueryCommand) -> Result<XPathArgs, Failure> {
    match what {
        QueryCommand::Xpath(args) => Ok(args),
        QueryCommand::Cypher { .. } => {
            Err(Error::Usage("Cypher is not available in this version; explain and profile take xpath".into()).into())
        }
    }
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
fn load_xml(db: &Database, files: &[PathBuf], collection: Option<&str>, format: Format) -> Result<(), Failure> {
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
            return Err(Error::Usage(format!("no such file or directory: '{}'", f.display())).into());
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
    for (name, members) in groups {
        let start = std::time::Instant::now();
        let mut docs: Vec<(String, Box<dyn std::io::Read>)> = Vec::new();
        for m in &members {
            let file =
                std::fs::File::open(m).map_err(|e| Error::Usage(format!("cannot open '{}': {e}", m.display())))?;
            docs.push((stem(m), Box::new(file)));
        }
        let stats = db.load_xml_documents(&name, docs)?;
        output::print_load(&name, members.len(), &stats, start.elapsed(), format)?;
    }
    Ok(())
}

fn stem(path: &Path) -> String {
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
