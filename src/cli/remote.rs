//! `sprig --connect URL ...`: the subcommands against a database that `sprig serve`
//! holds, over HTTP. Answers are read back into the values a local database gives
//! (Cypher rows, XPath nodes), so every `--format` prints them as it prints local
//! results, and a server's error prints as a local one would, with its kind,
//! position and exit code.

use std::path::Path;
use std::time::Instant;

use serde_json::{json, Value as Json};
use sprig::json::result_value;
use sprig::plan_json::explained_from_answer;
use sprig::{
    CollectionInfo, DocStats, Error, Explained, JoinAlgorithm, NodeInfo, NodeType, Rows, WriteStats, XPathOptions,
};

use super::output::{self, Format, XPathOut};
use super::{cypher_output, exit, parse_bindings, Command, CypherArgs, Failure, LoadCommand, QueryCommand, XPathArgs};

/// A server and the token to send it.
pub struct Remote {
    pub(super) base: String,
    token: Option<String>,
    pub(super) agent: ureq::Agent,
}

impl Remote {
    /// A client of the server at `url` (`http://` or `https://`). An `https://` server's
    /// certificate is checked against the webpki roots, or, when `SSL_CERT_FILE` names
    /// a PEM file (as for curl and OpenSSL), against the certificates in it.
    pub fn new(url: &str, token: Option<String>) -> Result<Remote, Error> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::Usage(format!("--connect {url}: the address must begin with http:// or https://")));
        }
        let mut config = ureq::Agent::config_builder().http_status_as_error(false);
        if let Some(file) = std::env::var_os("SSL_CERT_FILE").filter(|f| !f.is_empty()) {
            config = config.tls_config(
                ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::Specific(trusted(&file)?)).build(),
            );
        }
        Ok(Remote { base: url.trim_end_matches('/').to_string(), token, agent: config.build().into() })
    }

    pub(super) fn with_token<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.token {
            Some(token) => request.header("Authorization", &format!("Bearer {token}")),
            None => request,
        }
    }

    /// The body of a 2xx answer; an error answer as the error it carries.
    pub(super) fn answer_text(&self, sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<String, Error> {
        let mut response = sent.map_err(|e| Error::Usage(format!("cannot reach the server at {}: {e}", self.base)))?;
        let status = response.status();
        let text = response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_string()
            .map_err(|e| Error::Usage(format!("the server's answer broke off: {e}")))?;
        if status.is_success() {
            return Ok(text);
        }
        match serde_json::from_str::<Json>(&text) {
            Ok(body) => Err(remote_error(&body, status.as_u16())),
            Err(_) => Err(Error::Usage(format!("the server answered {status} with: {}", text.trim()))),
        }
    }

    /// The JSON body of a 2xx answer; an error answer as the error it carries.
    pub(super) fn answer(&self, sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Json, Error> {
        let text = self.answer_text(sent)?;
        serde_json::from_str(&text).map_err(|_| Error::Usage(format!("the server answered with: {}", text.trim())))
    }

    pub(super) fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Json, Error> {
        let mut request = self.with_token(self.agent.get(&format!("{}{path}", self.base)));
        for (k, v) in query {
            request = request.query(k, v);
        }
        self.answer(request.call())
    }

    pub(super) fn post(&self, path: &str, body: &Json) -> Result<Json, Error> {
        let request = self.with_token(self.agent.post(&format!("{}{path}", self.base)));
        let request = request.header("Content-Type", "application/json").header("Accept", sprig::server::SPRIG_JSON);
        self.answer(request.send(body.to_string()))
    }
}

/// The certificates in the PEM file `SSL_CERT_FILE` names.
fn trusted(file: &std::ffi::OsStr) -> Result<std::sync::Arc<Vec<ureq::tls::Certificate<'static>>>, Error> {
    let unreadable = |e: &dyn std::fmt::Display| Error::Usage(format!("SSL_CERT_FILE {}: {e}", file.to_string_lossy()));
    let pem = std::fs::read(file).map_err(|e| unreadable(&e))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        if let ureq::tls::PemItem::Certificate(cert) = item.map_err(|e| unreadable(&e))? {
            certs.push(cert);
        }
    }
    if certs.is_empty() {
        return Err(unreadable(&"no PEM certificate in it"));
    }
    Ok(std::sync::Arc::new(certs))
}

/// The error a server's answer carries (`{"errors": [{"kind", "message", "position"}]}`).
fn remote_error(body: &Json, status: u16) -> Error {
    let first = &body["errors"][0];
    let position = first["position"]["line"].as_u64().zip(first["position"]["column"].as_u64());
    let mut message = first["message"].as_str().unwrap_or("the server refused the request").to_string();
    // The server adds the position to the message for clients that do not read it apart.
    if let Some((line, column)) = position {
        if let Some(bare) = message.strip_suffix(&format!(" (line {line}, column {column})")) {
            message = bare.to_string();
        }
    }
    let kind = match first["kind"].as_str() {
        Some(kind) => Error::kind_named(kind),
        None if status == 401 => "auth",
        None => "remote",
    };
    Error::Remote { kind, message, position }
}

/// Runs one subcommand against the server.
pub fn dispatch(remote: &Remote, command: Option<&Command>, format: Format) -> Result<i32, Failure> {
    match command {
        Some(Command::Cypher(args)) => cypher(remote, args, format).map_err(|e| args.failure(e))?,
        Some(Command::Xpath(args)) => xpath(remote, args, format).map_err(|e| args.failure(e))?,
        Some(Command::Load { what: LoadCommand::Xml { files, collection } }) => {
            load_xml(remote, files, collection.as_deref(), format)?
        }
        Some(Command::Load { what: LoadCommand::Graph { nodes, edges, graph } }) => {
            let started = Instant::now();
            let stats = remote.load_graph(graph, nodes, edges)?;
            cypher_output::print_graph_load(graph, &stats, started.elapsed().as_secs_f64(), format)?;
        }
        Some(Command::Load { what: LoadCommand::Cypher { script, graph } }) => {
            let text = super::read_script(script)?;
            let started = Instant::now();
            let stats = remote.load_cypher(graph, &text)?;
            cypher_output::print_script_load(script, graph, &stats, started.elapsed().as_secs_f64(), format)?;
        }
        Some(Command::Explain { what }) => plan(remote, what, None, format)?,
        Some(Command::Profile { what, runs }) => plan(remote, what, Some(*runs), format)?,
        Some(Command::Collections) => output::print_collections(&remote.collections()?, format)?,
        Some(Command::Registry { what }) => super::registry::run(remote, what, format)?,
        Some(Command::Graphs) => {
            let rows = remote.graphs()?.into_iter().map(|g| Ok(vec![json!(g)]));
            output::print_table(&["graph"], rows, format)?;
        }
        _ => {
            return Err(Error::Usage(
                "over --connect: cypher, xpath, explain, profile, load, collections, graphs and registry (the rest \
                 needs the database itself)"
                    .into(),
            )
            .into())
        }
    }
    Ok(exit::OK)
}

pub(super) fn stats_of(counters: &Json) -> WriteStats {
    let n = |k: &str| counters[k].as_u64().unwrap_or_default();
    WriteStats {
        nodes_created: n("nodesCreated"),
        nodes_deleted: n("nodesDeleted"),
        relationships_created: n("relationshipsCreated"),
        relationships_deleted: n("relationshipsDeleted"),
        properties_set: n("propertiesSet"),
        labels_added: n("labelsAdded"),
        labels_removed: n("labelsRemoved"),
        indexes_added: n("indexesAdded"),
        indexes_removed: n("indexesRemoved"),
    }
}

/// `--param name=JSON` bindings as a request body's `parameters`.
fn parameters(args: &CypherArgs) -> Result<serde_json::Map<String, Json>, Error> {
    let mut parameters = serde_json::Map::new();
    for (name, text) in parse_bindings(&args.params, "--param").map_err(|f| f.error)? {
        let value: Json =
            serde_json::from_str(&text).map_err(|e| Error::Usage(format!("--param {name}: not JSON ({e}): {text}")))?;
        parameters.insert(name, value);
    }
    Ok(parameters)
}

fn cypher(remote: &Remote, args: &CypherArgs, format: Format) -> Result<(), Error> {
    let rows = remote.cypher_rows(&args.graph, &args.query, parameters(args)?)?;
    cypher_output::print_cypher(rows, format, true)
}

impl Remote {
    /// Runs a statement on the server; its rows as a local statement gives them.
    pub fn cypher_rows(
        &self,
        graph: &str,
        query: &str,
        parameters: serde_json::Map<String, Json>,
    ) -> Result<Rows, Error> {
        let started = Instant::now();
        let path = format!("/db/{}/query/v2", url_segment(graph));
        let body = self.post(&path, &json!({"statement": query, "parameters": parameters}))?;
        if body["errors"].is_array() {
            // The rows were cut short by an error after the first (the status was sent).
            return Err(remote_error(&body, 400));
        }
        let columns = body["data"]["fields"]
            .as_array()
            .map(|f| f.iter().filter_map(|c| c.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let rows = body["data"]["values"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| r.as_array().map(|r| r.iter().map(result_value).collect()).unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Rows::from_values(columns, rows, stats_of(&body["counters"]), started.elapsed()))
    }

    pub fn graphs(&self) -> Result<Vec<String>, Error> {
        let graphs = self.get("/db", &[])?;
        Ok(graphs["graphs"].as_array().into_iter().flatten().filter_map(|g| g.as_str().map(str::to_string)).collect())
    }

    pub fn collections(&self) -> Result<Vec<CollectionInfo>, Error> {
        let list = self.get("/xml", &[])?;
        Ok(list
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| CollectionInfo {
                name: c["collection"].as_str().unwrap_or_default().to_string(),
                generation: 0,
                documents: c["documents"].as_u64().unwrap_or_default() as u32,
                nodes: c["nodes"].as_u64().unwrap_or_default(),
                bytes: c["bytes"].as_u64().unwrap_or_default(),
            })
            .collect())
    }
}

/// The collection and options of an XPath subcommand, as a local one resolves them.
fn xpath_request(remote: &Remote, args: &XPathArgs) -> Result<(String, XPathOptions), Error> {
    let collection = match &args.collection {
        Some(c) => c.clone(),
        None => match remote.collections()?.as_slice() {
            [only] => only.name.clone(),
            _ => return Err(Error::Usage("name the collection with --collection".into())),
        },
    };
    let options = XPathOptions {
        variables: parse_bindings(&args.vars, "--var").map_err(|f| f.error)?,
        namespaces: parse_bindings(&args.namespaces, "--ns").map_err(|f| f.error)?,
        join: JoinAlgorithm::from_name(&args.join)
            .ok_or_else(|| Error::Usage(format!("unknown join algorithm '{}'", args.join)))?,
        ..Default::default()
    };
    Ok((collection, options))
}

fn xpath(remote: &Remote, args: &XPathArgs, format: Format) -> Result<(), Error> {
    let (collection, options) = xpath_request(remote, args)?;
    remote.print_xpath(&collection, &args.expr, &options, format)
}

/// `explain|profile xpath|cypher` over `--connect`: the server's plan, printed as a
/// local plan prints.
fn plan(remote: &Remote, what: &QueryCommand, runs: Option<usize>, format: Format) -> Result<(), Failure> {
    let explained = match what {
        QueryCommand::Cypher(args) => remote
            .cypher_plan(&args.graph, &args.query, parameters(args)?, runs)
            .map_err(|e| args.failure(e))?,
        QueryCommand::Xpath(args) => {
            let (collection, options) = xpath_request(remote, args)?;
            remote.xpath_plan(&collection, &args.expr, &options, runs).map_err(|e| args.failure(e))?
        }
    };
    Ok(output::print_plan(&explained, format)?)
}

impl Remote {
    /// `GET /xml/{collection}` with the expression, its options and `extra` parameters.
    fn xpath_get(
        &self,
        collection: &str,
        expr: &str,
        options: &XPathOptions,
        extra: &[(&'static str, String)],
    ) -> Result<Json, Error> {
        let mut query = vec![("query", expr.to_string())];
        query.extend(options.variables.iter().map(|(k, v)| ("var", format!("{k}={v}"))));
        query.extend(options.namespaces.iter().map(|(k, v)| ("ns", format!("{k}={v}"))));
        if options.join != JoinAlgorithm::Auto {
            query.push(("join", options.join.name().to_string()));
        }
        query.extend(extra.iter().cloned());
        let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.get(&format!("/xml/{}", url_segment(collection)), &pairs)
    }

    /// The plan of an XPath expression (`runs` for a profile), as the server made it.
    pub fn xpath_plan(
        &self,
        collection: &str,
        expr: &str,
        options: &XPathOptions,
        runs: Option<usize>,
    ) -> Result<Explained, Error> {
        let extra = match runs {
            None => vec![("plan", "explain".to_string())],
            Some(n) => vec![("plan", "profile".to_string()), ("runs", n.to_string())],
        };
        let body = self.xpath_get(collection, expr, options, &extra)?;
        explained_from_answer(&body)?.ok_or_else(|| Error::Usage("the server answered without a plan".into()))
    }

    /// The plan of a Cypher statement (`runs` for a profile), asked for as Neo4j's
    /// clients do, with `EXPLAIN` or `PROFILE` before the statement.
    pub fn cypher_plan(
        &self,
        graph: &str,
        query: &str,
        parameters: serde_json::Map<String, Json>,
        runs: Option<usize>,
    ) -> Result<Explained, Error> {
        let keyword = if runs.is_some() { "PROFILE " } else { "EXPLAIN " };
        let path = format!("/db/{}/query/v2", url_segment(graph));
        let request = json!({"statement": format!("{keyword}{query}"), "parameters": parameters, "runs": runs});
        let body = self.post(&path, &request).map_err(|e| match e {
            // Positions count from the keyword on the first line; the user wrote none.
            Error::Remote { kind, message, position: Some((1, column)) } => Error::Remote {
                kind,
                message,
                position: Some((1, column.saturating_sub(keyword.len() as u64).max(1))),
            },
            other => other,
        })?;
        explained_from_answer(&body)?.ok_or_else(|| Error::Usage("the server answered without a plan".into()))
    }

    /// Evaluates an expression on the server and prints it as a local result.
    pub fn print_xpath(&self, collection: &str, expr: &str, options: &XPathOptions, format: Format) -> Result<(), Error> {
        let body = self.xpath_get(collection, expr, options, &[])?;
        if body["kind"] != "nodeset" {
            let kind = match body["kind"].as_str() {
                Some("number") => "number",
                Some("boolean") => "boolean",
                _ => "string",
            };
            let text = match &body["value"] {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            return output::print_xpath_out(XPathOut::Scalar(kind, body["value"].clone(), text), format);
        }
        let nodes: Vec<NodeInfo> = body["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|n| NodeInfo {
                doc: n["doc"].as_str().unwrap_or_default().to_string(),
                node_type: n["type"].as_str().and_then(NodeType::from_name).unwrap_or(NodeType::Element),
                path: n["path"].as_str().unwrap_or_default().to_string(),
                name: n["name"].as_str().unwrap_or_default().to_string(),
                string: n["string"].as_str().unwrap_or_default().to_string(),
            })
            .collect();
        output::print_xpath_out(XPathOut::Nodes(nodes.len(), Box::new(nodes.into_iter().map(Ok))), format)
    }
}

/// Loads as a local `load xml` does: each collection named by [`super::load_groups`]
/// is replaced by its files. The first file replaces the collection
/// (`?replace=collection`) and each later one is added to it, so each step is
/// atomic but the group is not: a failure part way leaves the files before it.
fn load_xml(
    remote: &Remote,
    files: &[std::path::PathBuf],
    collection: Option<&str>,
    format: Format,
) -> Result<(), Error> {
    for (name, members) in super::load_groups(files, collection)? {
        let started = Instant::now();
        let mut total = DocStats::default();
        let mut documents: Vec<String> = Vec::new();
        for (i, file) in members.iter().enumerate() {
            let document = super::stem(file);
            if documents.contains(&document) {
                return Err(Error::Usage(format!(
                    "two files named '{document}' for collection '{name}': over --connect a document's name \
                     must be unique in its collection"
                )));
            }
            let stats = remote.put_document(file, &name, &document, i == 0)?;
            documents.push(document);
            total.add(&stats);
        }
        output::print_load(&name, members.len(), &total, started.elapsed(), format)?;
    }
    Ok(())
}

impl Remote {
    /// Streams a file to the server as document `document` of collection `name`,
    /// replacing the collection first when `replace_collection`.
    pub fn put_document(
        &self,
        file: &Path,
        name: &str,
        document: &str,
        replace_collection: bool,
    ) -> Result<DocStats, Error> {
        let mut input =
            std::fs::File::open(file).map_err(|e| Error::Usage(format!("cannot open '{}': {e}", file.display())))?;
        let path = format!("{}/xml/{}/{}", self.base, url_segment(name), url_segment(document));
        let mut request = self.with_token(self.agent.put(&path));
        if replace_collection {
            request = request.query("replace", "collection");
        }
        let loaded = self.answer(request.send(ureq::SendBody::from_reader(&mut input)))?;
        let n = |k: &str| loaded[k].as_u64().unwrap_or_default();
        Ok(DocStats {
            nodes: n("nodes"),
            elements: n("elements"),
            attributes: n("attributes"),
            texts: n("texts"),
            bytes: n("bytes"),
        })
    }

    /// Loads a file as collection `name`'s one document (named after the file's
    /// stem, as a local load names it), streamed, and prints what was loaded.
    pub fn load_file(&self, file: &Path, name: &str, format: Format) -> Result<(), Error> {
        let started = Instant::now();
        let stats = self.put_document(file, name, &super::stem(file), true)?;
        output::print_load(name, 1, &stats, started.elapsed(), format)
    }
}

pub(super) fn url_segment(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl super::registry::RegistrySource for Remote {
    fn import(&self, text: &str, kind: sprig::registry::Format) -> Result<Json, Error> {
        let content_type = match kind {
            sprig::registry::Format::Xml => "application/xml",
            sprig::registry::Format::Json => "application/json",
        };
        let request = self.with_token(self.agent.post(&format!("{}/registry", self.base)));
        self.answer(request.header("Content-Type", content_type).send(text))
    }

    fn list(&self) -> Result<Vec<Json>, Error> {
        Ok(self.get("/registry/models", &[])?.as_array().cloned().unwrap_or_default())
    }

    fn show(&self, name: &str) -> Result<Option<Json>, Error> {
        match self.get(&format!("/registry/models/{}", url_segment(name)), &[]) {
            Ok(shown) => Ok(Some(shown)),
            Err(Error::Remote { kind: "usage", message, .. }) if message.starts_with("no model named") => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn export(&self, xml: bool) -> Result<String, Error> {
        let request = self.with_token(self.agent.get(&format!("{}/registry", self.base)));
        let request = request.header("Accept", if xml { "application/xml" } else { "application/json" });
        self.answer_text(request.call())
    }
}
