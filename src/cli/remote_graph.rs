//! Graph loads over `--connect`: `load graph` streams both CSV files to the
//! server's bulk loader in one `multipart/form-data` request, and `load cypher`
//! runs a script's statements in one explicit transaction, as a local load does.

use std::io::Read;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value as Json};
use sprig::{split_statements, BulkLoadStats, Error, WriteStats};

use super::remote::{stats_of, url_segment, Remote};

/// A multipart boundary no CSV file is likely to hold.
fn boundary() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("sprig-csv-{nanos:x}-{:x}-7f3a9c1e5b2d", std::process::id())
}

/// A part's header: its name and the file's name (quotes and line breaks dropped).
fn part_head(boundary: &str, name: &str, file: &Path, first: bool) -> Vec<u8> {
    let file_name: String = file
        .file_name()
        .map(|n| n.to_string_lossy().chars().filter(|c| !matches!(c, '"' | '\r' | '\n')).collect())
        .unwrap_or_default();
    let lead = if first { "" } else { "\r\n" };
    format!(
        "{lead}--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\
         Content-Type: text/csv\r\n\r\n"
    )
    .into_bytes()
}

fn open(file: &Path) -> Result<std::fs::File, Error> {
    std::fs::File::open(file).map_err(|e| Error::Usage(format!("cannot open '{}': {e}", file.display())))
}

fn count(counters: &Json, key: &str) -> u64 {
    counters[key].as_u64().unwrap_or_default()
}

impl Remote {
    /// Bulk-loads `nodes` and `edges` into `graph` on the server, streamed.
    pub fn load_graph(&self, graph: &str, nodes: &Path, edges: &Path) -> Result<BulkLoadStats, Error> {
        let boundary = boundary();
        let body = std::io::Cursor::new(part_head(&boundary, "nodes", nodes, true))
            .chain(open(nodes)?)
            .chain(std::io::Cursor::new(part_head(&boundary, "edges", edges, false)))
            .chain(open(edges)?)
            .chain(std::io::Cursor::new(format!("\r\n--{boundary}--\r\n").into_bytes()));
        let path = format!("{}/db/{}/load/csv", self.base, url_segment(graph));
        let request = self
            .with_token(self.agent.post(&path))
            .query("nodes", nodes.display().to_string())
            .query("edges", edges.display().to_string())
            .header("Content-Type", &format!("multipart/form-data; boundary={boundary}"));
        let loaded = self.answer(request.send(ureq::SendBody::from_owned_reader(body)))?;
        Ok(BulkLoadStats {
            nodes: count(&loaded, "nodes"),
            relationships: count(&loaded, "relationships"),
            labels: count(&loaded, "labels"),
            relationship_types: count(&loaded, "relationship_types"),
        })
    }

    /// Runs a script's `;`-separated statements in one transaction on the server:
    /// all of them or none. Returns the summed write counters.
    pub fn load_cypher(&self, graph: &str, script: &str) -> Result<WriteStats, Error> {
        let base = format!("/db/{}/query/v2/tx", url_segment(graph));
        let opened = self.post(&base, &json!({}))?;
        let id = opened["transaction"]["id"]
            .as_str()
            .ok_or_else(|| Error::Usage("the server opened no transaction".into()))?
            .to_string();
        let at = format!("{base}/{}", url_segment(&id));
        let mut total = WriteStats::default();
        for statement in split_statements(script) {
            // A failed statement rolls the transaction back on the server.
            let answer = self.post(&at, &json!({"statement": statement}))?;
            total.add(&stats_of(&answer["counters"]));
        }
        self.post(&format!("{at}/commit"), &json!({}))?;
        Ok(total)
    }
}
