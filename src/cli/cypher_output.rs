//! Rendering Cypher results (SPEC section 4): JSON values with `~type` markers, and
//! cypher-shell style text for tables.

use std::io::Write;

use serde_json::{json, Value as Json};
use sprig::json::value_json;
use sprig::{BulkLoadStats, Error, NodeValue, RelValue, ResultValue, Rows, WriteStats};

use super::output::{csv_field, io, markdown_cell, new_table, out, shorten, xml_escape, Format};

fn props_text(props: &std::collections::BTreeMap<String, ResultValue>) -> String {
    if props.is_empty() {
        return String::new();
    }
    let items: Vec<String> = props.iter().map(|(k, v)| format!("{k}: {}", value_text(v))).collect();
    format!(" {{{}}}", items.join(", "))
}

fn node_text(n: &NodeValue) -> String {
    let labels: String = n.labels.iter().map(|l| format!(":{l}")).collect();
    format!("({labels}{})", props_text(&n.properties))
}

fn rel_text(r: &RelValue) -> String {
    format!("[:{}{}]", r.rel_type, props_text(&r.properties))
}

/// A result value as cypher-shell prints it.
pub fn value_text(v: &ResultValue) -> String {
    match v {
        ResultValue::Null => "NULL".into(),
        ResultValue::Bool(b) => b.to_string(),
        ResultValue::Int(i) => i.to_string(),
        ResultValue::Float(f) => sprig_query::cypher::eval::functions::format_float(*f),
        ResultValue::String(s) => format!("{s:?}"),
        ResultValue::Temporal(t) => ResultValue::temporal_string(t),
        ResultValue::List(l) => format!("[{}]", l.iter().map(value_text).collect::<Vec<_>>().join(", ")),
        ResultValue::Map(m) => {
            format!("{{{}}}", m.iter().map(|(k, v)| format!("{k}: {}", value_text(v))).collect::<Vec<_>>().join(", "))
        }
        ResultValue::Node(n) => node_text(n),
        ResultValue::Relationship(r) => rel_text(r),
        ResultValue::Path { nodes, relationships } => {
            let mut s = nodes.first().map(node_text).unwrap_or_default();
            for (i, r) in relationships.iter().enumerate() {
                let Some(next) = nodes.get(i + 1) else { break };
                let forward = r.start == nodes[i].id;
                if forward {
                    s.push_str(&format!("-{}->{}", rel_text(r), node_text(next)));
                } else {
                    s.push_str(&format!("<-{}-{}", rel_text(r), node_text(next)));
                }
            }
            s
        }
    }
}

fn cell_text(v: &ResultValue) -> String {
    match v {
        ResultValue::String(s) => s.clone(),
        other => value_text(other),
    }
}

fn stats_json(s: &WriteStats, elapsed_ms: f64) -> Json {
    let mut m = serde_json::Map::new();
    for (k, v) in [
        ("nodes_created", s.nodes_created),
        ("nodes_deleted", s.nodes_deleted),
        ("relationships_created", s.relationships_created),
        ("relationships_deleted", s.relationships_deleted),
        ("properties_set", s.properties_set),
        ("labels_added", s.labels_added),
        ("labels_removed", s.labels_removed),
        ("indexes_added", s.indexes_added),
        ("indexes_removed", s.indexes_removed),
    ] {
        if v > 0 {
            m.insert(k.into(), json!(v));
        }
    }
    m.insert("elapsed_ms".into(), json!(elapsed_ms));
    Json::Object(m)
}

fn stats_line(s: &WriteStats) -> Option<String> {
    let parts: Vec<String> = [
        ("nodes created", s.nodes_created),
        ("nodes deleted", s.nodes_deleted),
        ("relationships created", s.relationships_created),
        ("relationships deleted", s.relationships_deleted),
        ("properties set", s.properties_set),
        ("labels added", s.labels_added),
        ("labels removed", s.labels_removed),
        ("indexes added", s.indexes_added),
        ("indexes removed", s.indexes_removed),
    ]
    .iter()
    .filter(|(_, n)| *n > 0)
    .map(|(k, n)| format!("{n} {k}"))
    .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Prints rows in `format`; a table ends with a footer of rows (and time if `timer`).
/// The statement runs to the end first, so that the footer's time is the whole run's.
pub fn print_cypher(rows: Rows, format: Format, timer: bool) -> Result<(), Error> {
    let mut rows = rows.collect_rows()?;
    let columns = rows.columns().to_vec();
    let stats = rows.stats().clone();
    let elapsed_ms = (rows.elapsed().as_secs_f64() * 1e6).round() / 1e3;
    let mut w = out();
    match format {
        Format::Json => {
            let mut all = Vec::new();
            for r in rows {
                all.push(Json::Array(r?.values().iter().map(value_json).collect()));
            }
            let obj = json!({"columns": columns, "rows": all, "stats": stats_json(&stats, elapsed_ms)});
            writeln!(w, "{obj}").map_err(io)?;
        }
        Format::Jsonl => {
            for r in rows {
                let r = r?;
                let obj: serde_json::Map<String, Json> =
                    columns.iter().cloned().zip(r.values().iter().map(value_json)).collect();
                writeln!(w, "{}", Json::Object(obj)).map_err(io)?;
            }
        }
        Format::Csv => {
            writeln!(w, "{}", columns.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(",")).map_err(io)?;
            for r in rows {
                let line: Vec<String> = r?.values().iter().map(|v| csv_field(&cell_text(v))).collect();
                writeln!(w, "{}", line.join(",")).map_err(io)?;
            }
        }
        Format::Markdown => {
            writeln!(w, "| {} |\n|{}", columns.join(" | "), "---|".repeat(columns.len())).map_err(io)?;
            for r in rows {
                let cells: Vec<String> = r?.values().iter().map(|v| markdown_cell(&value_text(v))).collect();
                writeln!(w, "| {} |", cells.join(" | ")).map_err(io)?;
            }
        }
        Format::Xml => {
            writeln!(w, "<rows>").map_err(io)?;
            for r in rows {
                writeln!(w, "  <row>").map_err(io)?;
                for (c, v) in columns.iter().zip(r?.values()) {
                    writeln!(w, "    <value column=\"{}\">{}</value>", xml_escape(c), xml_escape(&cell_text(v)))
                        .map_err(io)?;
                }
                writeln!(w, "  </row>").map_err(io)?;
            }
            writeln!(w, "</rows>").map_err(io)?;
        }
        Format::Table => {
            let n = rows.len();
            if !columns.is_empty() {
                let header: Vec<&str> = columns.iter().map(String::as_str).collect();
                let mut table = new_table(&header);
                // On a terminal long values are cut to keep the table readable; piped
                // output keeps them whole.
                let cut = std::io::IsTerminal::is_terminal(&std::io::stdout());
                for r in rows {
                    let row = r?;
                    let cells = row.values().iter().map(|v| if cut { shorten(&value_text(v)) } else { value_text(v) });
                    table.add_row(cells.collect::<Vec<_>>());
                }
                writeln!(w, "{table}").map_err(io)?;
            }
            let mut footer = format!("{n} row{}", if n == 1 { "" } else { "s" });
            if timer {
                footer.push_str(&format!(", {elapsed_ms} ms"));
            }
            if let Some(s) = stats_line(&stats) {
                footer.push_str(&format!("; {s}"));
            }
            writeln!(w, "{footer}").map_err(io)?;
        }
    }
    Ok(())
}

/// Prints what a graph load added.
pub fn print_graph_load(graph: &str, stats: &BulkLoadStats, seconds: f64, format: Format) -> Result<(), Error> {
    let mut w = out();
    match format {
        Format::Json | Format::Jsonl => {
            let obj = json!({
                "graph": graph, "nodes": stats.nodes, "relationships": stats.relationships,
                "labels": stats.labels, "relationship_types": stats.relationship_types, "seconds": seconds,
            });
            writeln!(w, "{obj}").map_err(io)?;
        }
        _ => writeln!(
            w,
            "graph {graph}: {} nodes, {} relationships loaded in {seconds:.2} s",
            stats.nodes, stats.relationships
        )
        .map_err(io)?,
    }
    Ok(())
}

/// What `load cypher` prints: the script's created nodes and relationships.
pub fn print_script_load(
    script: &std::path::Path,
    graph: &str,
    stats: &WriteStats,
    seconds: f64,
    format: Format,
) -> Result<(), Error> {
    let mut w = out();
    match format {
        Format::Json | Format::Jsonl => {
            let obj = json!({"graph": graph, "nodes_created": stats.nodes_created,
                "relationships_created": stats.relationships_created, "seconds": seconds});
            writeln!(w, "{obj}").map_err(io)?;
        }
        _ => writeln!(
            w,
            "{}: {} nodes, {} relationships created in {seconds:.2} s",
            script.display(),
            stats.nodes_created,
            stats.relationships_created
        )
        .map_err(io)?,
    }
    Ok(())
}
