//! Rendering results and errors in the formats of SPEC section 4.

use sprig::plan_json::{explained_json, millis};
use std::io::Write;
use std::time::Duration;

use comfy_table::{presets, Table};
use serde_json::{json, Value as Json};
use sprig::json::XPATH_NODE_COLUMNS as NODE_COLUMNS;
use sprig::json::{xpath_node_json as node_json, xpath_node_row as node_row, xpath_scalar as scalar};
use sprig::{
    CacheStats, CollectionInfo, CollectionStats, Detail, DocStats, Error, Explained, NodeInfo, PlanNode, XPathValue,
};

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Jsonl,
    Csv,
    Markdown,
    Xml,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Markdown => "markdown",
            Format::Xml => "xml",
        }
    }
}

fn row_object(header: &[&str], row: Vec<Json>) -> Json {
    Json::Object(header.iter().map(|h| h.to_string()).zip(row).collect())
}

pub(crate) fn out() -> std::io::StdoutLock<'static> {
    std::io::stdout().lock()
}

pub(crate) fn io(e: std::io::Error) -> Error {
    Error::Io(e)
}

/// An XPath result to print: a number, string or boolean (its kind, JSON value and
/// text), or a node-set's size and its nodes, described one at a time.
pub enum XPathOut<'a> {
    Scalar(&'static str, Json, String),
    Nodes(usize, Box<dyn Iterator<Item = Result<NodeInfo, Error>> + 'a>),
}

/// Prints an XPath result.
pub fn print_xpath(value: &XPathValue, format: Format) -> Result<(), Error> {
    if let Some((kind, json_value, text)) = scalar(value) {
        return print_xpath_out(XPathOut::Scalar(kind, json_value, text), format);
    }
    let XPathValue::NodeSet(nodes) = value else { return Ok(()) };
    print_xpath_out(XPathOut::Nodes(nodes.len(), Box::new(nodes.iter())), format)
}

/// Prints an XPath result from wherever it came (a local query, a server's answer).
pub fn print_xpath_out(value: XPathOut<'_>, format: Format) -> Result<(), Error> {
    let mut w = out();
    let (count, nodes) = match value {
        XPathOut::Scalar(kind, json_value, text) => {
            match format {
                Format::Json | Format::Jsonl => {
                    writeln!(w, "{}", json!({"kind": kind, "value": json_value})).map_err(io)?
                }
                Format::Csv => writeln!(w, "value\n{}", csv_field(&text)).map_err(io)?,
                Format::Markdown => writeln!(w, "| value |\n|---|\n| {} |", markdown_cell(&text)).map_err(io)?,
                Format::Xml => writeln!(w, "<result kind=\"{kind}\">{}</result>", xml_escape(&text)).map_err(io)?,
                Format::Table => writeln!(w, "{text}").map_err(io)?,
            }
            return Ok(());
        }
        XPathOut::Nodes(count, nodes) => (count, nodes),
    };
    match format {
        Format::Json => {
            // Streamed: the count is known up front, nodes are described one by one.
            write!(w, "{{\"kind\":\"nodeset\",\"count\":{},\"nodes\":[", count).map_err(io)?;
            for (i, n) in nodes.enumerate() {
                let n = n?;
                write!(w, "{}{}", if i > 0 { "," } else { "" }, node_json(&n)).map_err(io)?;
            }
            writeln!(w, "]}}").map_err(io)?;
        }
        Format::Jsonl | Format::Csv | Format::Markdown => {
            let rows = nodes.map(|n| n.map(|n| node_row(&n)));
            print_rows(&NODE_COLUMNS, rows, format)?;
        }
        Format::Xml => {
            writeln!(w, "<result kind=\"nodeset\" count=\"{}\">", count).map_err(io)?;
            for n in nodes {
                let n = n?;
                writeln!(
                    w,
                    "  <node doc=\"{}\" type=\"{}\" path=\"{}\" name=\"{}\">{}</node>",
                    xml_escape(&n.doc),
                    n.node_type.as_str(),
                    xml_escape(&n.path),
                    xml_escape(&n.name),
                    xml_escape(&n.string)
                )
                .map_err(io)?;
            }
            writeln!(w, "</result>").map_err(io)?;
        }
        Format::Table => {
            let mut table = new_table(&["#", "type", "path", "name", "string"]);
            for (i, n) in nodes.enumerate() {
                let n = n?;
                table.add_row(vec![
                    (i + 1).to_string(),
                    n.node_type.as_str().to_string(),
                    n.path,
                    n.name,
                    shorten(&n.string),
                ]);
            }
            writeln!(w, "{table}").map_err(io)?;
            writeln!(w, "{} node{}", count, if count == 1 { "" } else { "s" }).map_err(io)?;
        }
    }
    Ok(())
}

/// A table that fits the terminal's width when stdout is one (long cells wrap); piped
/// output keeps every row on one line.
pub(crate) fn new_table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    // A terminal that reports no usable width (a bare pty says 0) gets whole rows.
    if table.width().is_some_and(|w| w >= 40) {
        table.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    }
    table.set_header(header.to_vec());
    table
}

/// Long values are cut in tables; the other formats print them whole.
pub(crate) fn shorten(s: &str) -> String {
    let one_line: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if one_line.chars().count() > 60 {
        format!("{}…", one_line.chars().take(59).collect::<String>())
    } else {
        one_line
    }
}

pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub(crate) fn markdown_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub(crate) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Prints rows of a simple table in any format, one row at a time.
fn print_rows(
    header: &[&str],
    rows: impl Iterator<Item = Result<Vec<Json>, Error>>,
    format: Format,
) -> Result<(), Error> {
    let mut w = out();
    let text = |v: &Json| match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    match format {
        Format::Json => {
            write!(w, "[").map_err(io)?;
            for (i, r) in rows.enumerate() {
                write!(w, "{}{}", if i > 0 { "," } else { "" }, row_object(header, r?)).map_err(io)?;
            }
            writeln!(w, "]").map_err(io)?;
        }
        Format::Jsonl => {
            for r in rows {
                writeln!(w, "{}", row_object(header, r?)).map_err(io)?;
            }
        }
        Format::Csv => {
            writeln!(w, "{}", header.join(",")).map_err(io)?;
            for r in rows {
                writeln!(w, "{}", r?.iter().map(|v| csv_field(&text(v))).collect::<Vec<_>>().join(",")).map_err(io)?;
            }
        }
        Format::Markdown => {
            writeln!(w, "| {} |\n|{}", header.join(" | "), "---|".repeat(header.len())).map_err(io)?;
            for r in rows {
                writeln!(w, "| {} |", r?.iter().map(|v| markdown_cell(&text(v))).collect::<Vec<_>>().join(" | "))
                    .map_err(io)?;
            }
        }
        Format::Xml => {
            writeln!(w, "<rows>").map_err(io)?;
            for r in rows {
                let attrs: Vec<String> =
                    header.iter().zip(r?).map(|(h, v)| format!("{h}=\"{}\"", xml_escape(&text(&v)))).collect();
                writeln!(w, "  <row {}/>", attrs.join(" ")).map_err(io)?;
            }
            writeln!(w, "</rows>").map_err(io)?;
        }
        Format::Table => {
            let mut table = new_table(header);
            for r in rows {
                table.add_row(r?.iter().map(text).collect::<Vec<_>>());
            }
            writeln!(w, "{table}").map_err(io)?;
        }
    }
    Ok(())
}

/// Prints a simple table of JSON cells in any format.
pub fn print_table(
    header: &[&str],
    rows: impl Iterator<Item = Result<Vec<Json>, Error>>,
    format: Format,
) -> Result<(), Error> {
    print_rows(header, rows, format)
}

pub fn print_collections(all: &[CollectionInfo], format: Format) -> Result<(), Error> {
    let rows = all.iter().map(|c| Ok(vec![json!(c.name), json!(c.documents), json!(c.nodes), json!(c.bytes)]));
    print_rows(&["collection", "documents", "nodes", "bytes"], rows, format)
}

pub fn print_stats(all: &[CollectionStats], format: Format) -> Result<(), Error> {
    let mut rows = Vec::new();
    for c in all {
        for (doc, s) in &c.documents {
            rows.push(Ok(vec![
                json!(c.info.name),
                json!(doc),
                json!(s.bytes),
                json!(s.nodes),
                json!(s.elements),
                json!(s.attributes),
                json!(s.texts),
                json!(c.names),
                json!(c.paths),
            ]));
        }
    }
    let header = ["collection", "document", "bytes", "nodes", "elements", "attributes", "texts", "names", "paths"];
    print_rows(&header, rows.into_iter(), format)
}

pub fn print_load(
    name: &str,
    documents: usize,
    stats: &DocStats,
    elapsed: Duration,
    format: Format,
) -> Result<(), Error> {
    let secs = elapsed.as_secs_f64();
    let mbps = if secs > 0.0 { stats.bytes as f64 / 1e6 / secs } else { 0.0 };
    let row = vec![
        json!(name),
        json!(documents),
        json!(stats.bytes),
        json!(stats.nodes),
        json!(stats.elements),
        json!((secs * 1000.0).round() / 1000.0),
        json!((mbps * 10.0).round() / 10.0),
    ];
    let header = ["collection", "documents", "bytes", "nodes", "elements", "seconds", "mb_per_s"];
    print_rows(&header, std::iter::once(Ok(row)), format)
}

fn plan_text(node: &PlanNode, prefix: &str, last: bool, root: bool, out: &mut String) {
    let (branch, next) = match (root, last) {
        (true, _) => ("", String::new()),
        (false, true) => ("└─ ", format!("{prefix}   ")),
        (false, false) => ("├─ ", format!("{prefix}│  ")),
    };
    let details: Vec<String> = node
        .details
        .iter()
        .map(|(k, v)| match v {
            Detail::Int(n) => format!("{k}={n}"),
            Detail::Text(s) => format!("{k}={s:?}"),
        })
        .collect();
    let mut figures = Vec::new();
    if let Some(e) = node.estimated_rows {
        figures.push(format!("est. {e}"));
    }
    if let Some(r) = node.rows {
        figures.push(format!("rows {r}"));
    }
    if let Some(t) = node.time {
        figures.push(format!("{} ms", millis(t)));
    }
    out.push_str(&format!("{prefix}{branch}{}", node.operator));
    if !details.is_empty() {
        out.push_str(&format!(" {}", details.join(" ")));
    }
    if !figures.is_empty() {
        out.push_str(&format!("  ({})", figures.join(", ")));
    }
    out.push('\n');
    for (i, child) in node.children.iter().enumerate() {
        plan_text(child, &next, i + 1 == node.children.len(), false, out);
    }
}

/// Prints an EXPLAIN or PROFILE answer: a tree of operators, or with `--format json`
/// `{"plan": OP, "elapsed_ms": F, "first_ms": F}` (SPEC section 4).
pub fn print_plan(explained: &Explained, format: Format) -> Result<(), Error> {
    let mut w = out();
    match format {
        Format::Json | Format::Jsonl => {
            writeln!(w, "{}", explained_json(explained)).map_err(io)?;
        }
        _ => {
            let mut text = String::new();
            plan_text(&explained.plan, "", true, true, &mut text);
            write!(w, "{text}").map_err(io)?;
            if let (Some(e), Some(f)) = (explained.elapsed, explained.first) {
                writeln!(w, "elapsed {} ms (median), first run {} ms", millis(e), millis(f)).map_err(io)?;
            }
            if let Some(c) = &explained.cache {
                writeln!(w, "{}", cache_text(c)).map_err(io)?;
            }
        }
    }
    Ok(())
}

/// The read cache during a profiled run: `{"hits", "misses", "hit_rate", "evictions",
/// "bytes", "budget_bytes", "spaces": {NAME: {"hits", "misses", "evictions"}}}`.
/// One line: `cache: 97.1% hits (1204 of 1240 lookups), 0 evictions, 812 of 1024 MiB held`.
fn cache_text(c: &CacheStats) -> String {
    let lookups = c.hits() + c.misses();
    let rate = c.hit_rate().map_or("-".to_string(), |r| format!("{:.1}%", r * 100.0));
    let mib = |b: usize| b / (1024 * 1024);
    format!(
        "cache: {rate} hits ({} of {lookups} lookups), {} evictions, {} of {} MiB held",
        c.hits(),
        c.evictions(),
        mib(c.bytes),
        mib(c.capacity)
    )
}

/// Prints `error[KIND]: message` to stderr (with the query line and a caret for parse
/// errors) and, with `--format json`, the error object to stdout.
pub fn print_error(error: &Error, query: Option<&str>, format: Format) {
    let position = error.position();
    let mut text = format!("error[{}]: {}", error.kind(), error.message());
    if let Some((line, column)) = position {
        text.push_str(&format!(" at line {line}, column {column}"));
        if let Some(q) = query {
            if let Some(src) = q.lines().nth(line.saturating_sub(1) as usize) {
                text.push_str(&format!("\n  {src}\n  {}^", " ".repeat(column.saturating_sub(1) as usize)));
            }
        }
    }
    // A closed stdout or stderr (a pipe whose reader quit) must not turn an error into a panic.
    let _ = writeln!(std::io::stderr(), "{text}");
    if matches!(format, Format::Json | Format::Jsonl) {
        let mut obj = serde_json::Map::new();
        obj.insert("kind".into(), json!(error.kind()));
        obj.insert("message".into(), json!(error.message()));
        if let Some((line, column)) = position {
            obj.insert("line".into(), json!(line));
            obj.insert("column".into(), json!(column));
        }
        let _ = writeln!(out(), "{}", json!({"error": Json::Object(obj)}));
    }
}

/// `sprig check`: one row per thing checked, problem found and note; JSON gives one
/// object with `ok`.
pub fn print_check(report: &sprig::CheckReport, format: Format) -> Result<(), Error> {
    if matches!(format, Format::Json) {
        let value = json!({"ok": report.is_ok(), "checked": report.checked, "problems": report.problems,
            "notes": report.notes});
        println!("{value}");
        return Ok(());
    }
    let rows = (report.checked.iter().map(|c| ("ok", c)))
        .chain(report.notes.iter().map(|n| ("note", n)))
        .chain(report.problems.iter().map(|p| ("problem", p)))
        .map(|(status, what)| Ok(vec![json!(status), json!(what)]));
    print_rows(&["status", "what"], rows, format)
}
