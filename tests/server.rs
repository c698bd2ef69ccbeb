//! `sprig serve` end to end: the real binary on an ephemeral port, driven by a real
//! HTTP client (ureq). Every endpoint, authentication, errors with positions,
//! explicit transactions (commit, rollback, idle timeout), a locked database,
//! shutdown on SIGTERM, and many clients at once.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

/// A running `sprig serve`, stopped with SIGTERM when dropped.
struct Server {
    child: Option<Child>,
    base: String,
    log: Arc<Mutex<Vec<String>>>,
    token: Option<String>,
    agent: ureq::Agent,
}

fn sprig() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("sprig"))
}

fn temp_db(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sprig-server-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

impl Server {
    fn start(db: &Path, token: Option<&str>, extra: &[&str]) -> Server {
        let mut cmd = sprig();
        cmd.arg("--db").arg(db).args(["serve", "--listen", "127.0.0.1:0"]).args(extra);
        if let Some(token) = token {
            cmd.env("TEST_TOKEN", token).args(["--token-env", "TEST_TOKEN"]);
        }
        let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("sprig serve starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (ready, address) = std::sync::mpsc::channel();
        let lines = Arc::clone(&log);
        // Read every line, always: a full pipe would block the server's logging.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = ready.send(url.to_string());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let base = address.recv_timeout(Duration::from_secs(60)).expect("the server prints its address");
        let agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        Server { child: Some(child), base, log, token: token.map(str::to_string), agent }
    }

    fn auth<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.token {
            Some(token) => request.header("Authorization", &format!("Bearer {token}")),
            None => request,
        }
    }

    fn post(&self, path: &str, body: &Json) -> (u16, Json) {
        let request = self.auth(self.agent.post(&format!("{}{path}", self.base)));
        reply(request.header("Content-Type", "application/json").send(body.to_string()))
    }

    fn post_raw(&self, path: &str, body: &str) -> (u16, Json) {
        let request = self.auth(self.agent.post(&format!("{}{path}", self.base)));
        reply(request.header("Content-Type", "application/json").send(body))
    }

    fn get(&self, path: &str, query: &[(&str, &str)]) -> (u16, Json) {
        let mut request = self.auth(self.agent.get(&format!("{}{path}", self.base)));
        for (k, v) in query {
            request = request.query(k, v);
        }
        reply(request.call())
    }

    fn get_text(&self, path: &str, query: &[(&str, &str)], accept: &str) -> (u16, String) {
        let mut request = self.auth(self.agent.get(&format!("{}{path}", self.base))).header("Accept", accept);
        for (k, v) in query {
            request = request.query(k, v);
        }
        let mut response = request.call().expect("the server answers");
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().expect("a text body"))
    }

    fn put(&self, path: &str, body: &str) -> (u16, Json) {
        reply(self.auth(self.agent.put(&format!("{}{path}", self.base))).send(body))
    }

    fn delete(&self, path: &str) -> (u16, Json) {
        reply(self.auth(self.agent.delete(&format!("{}{path}", self.base))).call())
    }

    /// A Cypher statement committed on its own; its rows.
    fn cypher(&self, statement: &str, parameters: Json) -> Vec<Json> {
        let (status, body) =
            self.post("/db/default/query/v2", &json!({"statement": statement, "parameters": parameters}));
        assert_eq!(status, 202, "{statement}: {body}");
        body["data"]["values"].as_array().cloned().unwrap_or_default()
    }

    /// SIGTERM, then the exit code.
    fn stop(mut self) -> i32 {
        let mut child = self.child.take().expect("running");
        terminate(&child);
        let status = child.wait().expect("the server exits");
        status.code().unwrap_or(-1)
    }
}

fn terminate(child: &Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&child);
            let _ = child.wait();
        }
    }
}

fn reply(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Json) {
    let mut response = result.expect("the server answers");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().expect("a text body");
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, json)
}

fn error_code(body: &Json) -> &str {
    body["errors"][0]["code"].as_str().unwrap_or_default()
}

#[test]
fn cypher_over_the_query_api() {
    let db = temp_db("cypher");
    let server = Server::start(&db, None, &[]);
    let (status, about) = server.get("/", &[]);
    assert_eq!((status, about["sprig"].as_str()), (200, Some(env!("CARGO_PKG_VERSION"))));

    let (status, created) = server.post(
        "/db/default/query/v2",
        &json!({"statement": "CREATE (a:Person {name: $a})-[:KNOWS {since: 2020}]->(b:Person {name: 'Bo'}) RETURN a.name",
                "parameters": {"a": "Ann"}}),
    );
    assert_eq!(status, 202, "{created}");
    assert_eq!(created["data"], json!({"fields": ["a.name"], "values": [["Ann"]]}));

    // EXPLAIN and PROFILE as Neo4j's clients send them: a plan, and no rows.
    let (status, explained) =
        server.post("/db/default/query/v2", &json!({"statement": "explain\nMATCH (p:Person) RETURN p.name"}));
    assert_eq!(status, 202, "{explained}");
    assert_eq!(explained["data"]["values"], json!([]));
    assert!(explained["queryPlan"]["operatorType"].is_string(), "{explained}");
    assert!(explained.get("profiledQueryPlan").is_none());
    let (status, profiled) =
        server.post("/db/default/query/v2", &json!({"statement": " PROFILE MATCH (p:Person) RETURN p.name", "runs": 2}));
    assert_eq!(status, 202, "{profiled}");
    assert_eq!(profiled["profiledQueryPlan"]["records"], 2, "the rows: {profiled}");
    assert!(profiled["profile"]["elapsed"].is_u64(), "{profiled}");
    let (status, refused) =
        server.post("/db/default/query/v2", &json!({"statement": "PROFILE RETURN 1", "runs": 0}));
    assert_eq!(status, 400, "{refused}");
    let (status, broken) = server.post("/db/default/query/v2", &json!({"statement": "EXPLAIN MATCH (n RETURN n"}));
    assert_eq!((status, &broken["errors"][0]["position"]), (400, &json!({"line": 1, "column": 18})), "{broken}");
    assert_eq!(created["counters"]["nodesCreated"], 2);
    assert_eq!(created["counters"]["relationshipsCreated"], 1);
    assert_eq!(created["counters"]["containsUpdates"], true);
    // Bookmarks: a write makes a new one, a read gives the latest.
    assert_eq!(created["bookmarks"], json!(["sprig:1"]), "{created}");
    let (_, read) = server.post("/db/default/query/v2", &json!({"statement": "MATCH (n) RETURN count(n)"}));
    assert_eq!(read["bookmarks"], json!(["sprig:1"]), "{read}");

    let rows = server.cypher("MATCH p = (a:Person {name: 'Ann'})-[r:KNOWS]->(b) RETURN a, r, p", json!({}));
    let [row] = rows.as_slice() else { panic!("one row: {rows:?}") };
    let (a, r, p) = (&row[0], &row[1], &row[2]);
    assert_eq!(a["labels"], json!(["Person"]));
    assert_eq!(a["properties"], json!({"name": "Ann"}));
    assert_eq!(r["type"], "KNOWS");
    assert_eq!(r["properties"], json!({"since": 2020}));
    assert_eq!(r["startNodeElementId"], a["elementId"]);
    assert_eq!(p.as_array().map(Vec::len), Some(3));
    assert_eq!((&p[0], &p[1]), (a, r));
    // The element id is what elementId() gives inside a query.
    let ids = server.cypher("MATCH (a:Person {name: 'Ann'}) RETURN elementId(a)", json!({}));
    assert_eq!(ids[0][0], a["elementId"]);

    // Errors: Neo4j's codes, the position of a syntax error, 400s.
    let (status, body) = server.post("/db/default/query/v2", &json!({"statement": "MATCH (n RETURN n"}));
    assert_eq!((status, error_code(&body)), (400, "Neo.ClientError.Statement.SyntaxError"));
    assert_eq!(body["errors"][0]["position"], json!({"line": 1, "column": 10}));
    let (status, body) = server.post("/db/default/query/v2", &json!({"statement": "RETURN $missing"}));
    assert_eq!((status, error_code(&body)), (400, "Neo.ClientError.Statement.ParameterMissing"));
    let (status, body) = server.post_raw("/db/default/query/v2", "{\"statement\": ");
    assert_eq!((status, error_code(&body)), (400, "Neo.ClientError.Request.Invalid"));
    assert!(body["errors"][0]["position"]["line"].is_u64(), "{body}");
    let (status, body) = server.post("/db/default/query/v2", &json!({"parameters": {}}));
    assert_eq!((status, error_code(&body)), (400, "Neo.ClientError.Request.Invalid"));
    let (status, _) = server.get("/nowhere", &[]);
    assert_eq!(status, 404);
    assert_eq!(server.stop(), 0);
}

#[test]
fn transactions_commit_roll_back_and_time_out() {
    let db = temp_db("tx");
    let server = Server::start(&db, None, &["--transaction-timeout", "1"]);
    let count = |server: &Server| server.cypher("MATCH (n:T) RETURN count(n)", json!({}))[0][0].as_i64();

    // Commit: the statements see each other; others see nothing until the commit.
    let (status, opened) =
        server.post("/db/default/query/v2/tx", &json!({"statement": "CREATE (:T {k: 1}) RETURN 1 AS one"}));
    assert_eq!(status, 202, "{opened}");
    let id = opened["transaction"]["id"].as_str().expect("a transaction id").to_string();
    assert!(opened["transaction"]["expires"].as_str().is_some_and(|e| e.ends_with("GMT")), "{opened}");
    let (status, seen) =
        server.post(&format!("/db/default/query/v2/tx/{id}"), &json!({"statement": "MATCH (n:T) RETURN count(n)"}));
    assert_eq!((status, &seen["data"]["values"]), (202, &json!([[1]])));
    assert_eq!(count(&server), Some(0));
    let (status, done) = server.post(&format!("/db/default/query/v2/tx/{id}/commit"), &json!({}));
    assert_eq!(status, 202, "{done}");
    let bookmark = done["bookmarks"][0].as_str().expect("a bookmark after a commit");
    assert!(bookmark.starts_with("sprig:"), "{done}");
    assert_eq!(count(&server), Some(1));
    let (status, gone) = server.post(&format!("/db/default/query/v2/tx/{id}"), &json!({"statement": "RETURN 1"}));
    assert_eq!((status, error_code(&gone)), (404, "Neo.ClientError.Transaction.TransactionNotFound"));

    // Rollback.
    let (_, opened) = server.post("/db/default/query/v2/tx", &json!({"statement": "CREATE (:T {k: 2})"}));
    let id = opened["transaction"]["id"].as_str().expect("an id").to_string();
    let (status, _) = server.delete(&format!("/db/default/query/v2/tx/{id}"));
    assert_eq!(status, 200);
    assert_eq!(count(&server), Some(1));

    // A failed statement rolls the transaction back, as Neo4j does.
    let (_, opened) = server.post("/db/default/query/v2/tx", &json!({"statement": "CREATE (:T {k: 3})"}));
    let id = opened["transaction"]["id"].as_str().expect("an id").to_string();
    let (status, _) = server.post(&format!("/db/default/query/v2/tx/{id}"), &json!({"statement": "RETURN 1/0"}));
    assert_eq!(status, 400);
    let (status, _) = server.post(&format!("/db/default/query/v2/tx/{id}/commit"), &json!({}));
    assert_eq!(status, 404);
    assert_eq!(count(&server), Some(1));

    // Abandoned: rolled back after the idle timeout, and the writer lock is free again.
    let (_, opened) = server.post("/db/default/query/v2/tx", &json!({"statement": "CREATE (:T {k: 4})"}));
    let id = opened["transaction"]["id"].as_str().expect("an id").to_string();
    std::thread::sleep(Duration::from_millis(2500));
    let (status, _) = server.post(&format!("/db/default/query/v2/tx/{id}/commit"), &json!({}));
    assert_eq!(status, 404);
    server.cypher("CREATE (:T {k: 5})", json!({}));
    assert_eq!(count(&server), Some(2));
    assert_eq!(server.stop(), 0);
}

#[test]
fn xml_documents_and_xpath() {
    let db = temp_db("xml");
    let server = Server::start(&db, None, &[]);
    let doc = "<shelf><book id='b1'><title>Dune</title><price>9.5</price></book>\
               <book id='b2'><title>Emma &amp; Co</title><price>30</price><note/></book></shelf>";
    let (status, loaded) = server.put("/xml/books/shelf.xml", doc);
    assert_eq!(status, 201, "{loaded}");
    assert_eq!(loaded["elements"], 8);
    let (status, list) = server.get("/xml", &[]);
    assert_eq!((status, &list[0]["collection"], &list[0]["documents"]), (200, &json!("books"), &json!(1)));

    let (status, n) = server.get("/xml/books", &[("query", "count(//book)")]);
    assert_eq!((status, n), (200, json!({"kind": "number", "value": 2})));
    let (_, titles) = server.get("/xml/books", &[("query", "//book[price > $p]/title"), ("var", "p=10")]);
    assert_eq!(titles["count"], 1);
    assert_eq!(titles["nodes"][0]["string"], "Emma & Co");
    let (status, posted) = server.post("/xml/books", &json!({"query": "string(//book[1]/@id)"}));
    assert_eq!((status, posted), (200, json!({"kind": "string", "value": "b1"})));

    // Serialized nodes for Accept: application/xml.
    let (status, xml) = server.get_text("/xml/books", &[("query", "//book[2] | //book[1]/@id")], "application/xml");
    assert_eq!(status, 200);
    assert_eq!(
        xml,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<result kind=\"nodeset\" count=\"2\">id=\"b1\"\
         <book id=\"b2\"><title>Emma &amp; Co</title><price>30</price><note/></book></result>\n"
    );

    // Errors with positions; a broken document leaves the collection as it was.
    let (status, body) = server.get("/xml/books", &[("query", "//book[")]);
    assert_eq!(status, 400, "{body}");
    assert!(body["errors"][0]["position"]["column"].is_u64(), "{body}");
    let (status, body) = server.put("/xml/books/shelf.xml", "<shelf><book></shelf>");
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["position"]["line"], 1);
    assert_eq!(server.get("/xml/books", &[("query", "count(//book)")]).1["value"], 2);

    // A second document joins the first; putting it again replaces it in its place;
    // ?replace=collection leaves it alone in the collection.
    let (status, added) = server.put("/xml/books/more", "<shelf><book id='b3'/></shelf>");
    assert_eq!((status, &added["replaced"]), (201, &json!(false)), "{added}");
    let (status, replaced) = server.put("/xml/books/more", "<shelf><book id='b4'/><book id='b5'/></shelf>");
    assert_eq!((status, &replaced["replaced"]), (200, &json!(true)), "{replaced}");
    let (_, ids) = server.get("/xml/books", &[("query", "//book/@id")]);
    let ids: Vec<(&Json, &Json)> = ids["nodes"].as_array().expect("nodes").iter().map(|n| (&n["doc"], &n["string"])).collect();
    let shelf = json!("shelf.xml");
    let more = json!("more");
    let expected = [("b1", &shelf), ("b2", &shelf), ("b4", &more), ("b5", &more)].map(|(id, doc)| (doc.clone(), json!(id)));
    assert_eq!(ids, expected.iter().map(|(d, i)| (d, i)).collect::<Vec<_>>());
    let (status, body) = server.put("/xml/books/more?replace=everything", "<x/>");
    assert_eq!(status, 400, "{body}");
    let (status, _) = server.put("/xml/books/only?replace=collection", "<shelf><book/></shelf>");
    assert_eq!(status, 201);
    let (_, list) = server.get("/xml", &[]);
    assert_eq!(list[0]["documents"], 1, "{list}");

    let (status, _) = server.get("/xml/nothing", &[("query", "1")]);
    assert_eq!(status, 404);
    let (status, _) = server.delete("/xml/books");
    assert_eq!(status, 200);
    let (status, _) = server.get("/xml/books", &[("query", "count(//book)")]);
    assert_eq!(status, 404);
    assert_eq!(server.stop(), 0);
}

#[test]
fn every_request_needs_the_token_and_public_addresses_need_one() {
    let db = temp_db("auth");
    let server = Server::start(&db, Some("s3cret"), &[]);
    let url = format!("{}/db/default/query/v2", server.base);
    let body = json!({"statement": "RETURN 1 AS one"}).to_string();
    let send = |auth: Option<&str>| {
        let mut request = server.agent.post(&url).header("Content-Type", "application/json");
        if let Some(a) = auth {
            request = request.header("Authorization", a);
        }
        reply(request.send(&body))
    };
    let (status, refused) = send(None);
    assert_eq!((status, error_code(&refused)), (401, "Neo.ClientError.Security.Unauthorized"));
    assert_eq!(send(Some("Bearer wrong")).0, 401);
    assert_eq!(send(Some("Bearer s3cret")).0, 202);
    // neo4j:s3cret, as the drivers send basic credentials.
    assert_eq!(send(Some("Basic bmVvNGo6czNjcmV0")).0, 202);
    let unmatched = reply(server.agent.get(&format!("{}/anything", server.base)).call());
    assert_eq!(unmatched.0, 401);
    // A refusal given before the body arrived closes the connection, and says so, so
    // that a client does not reuse it.
    let mut slow = std::net::TcpStream::connect(server.base.trim_start_matches("http://")).expect("connects");
    write!(
        slow,
        "POST /db/default/query/v2 HTTP/1.1\r\nHost: sprig\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .expect("sent");
    let mut head = String::new();
    let mut reader = BufReader::new(&slow);
    while reader.read_line(&mut head).expect("a response") > 2 && !head.ends_with("\r\n\r\n") {}
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    assert!(head.to_ascii_lowercase().contains("connection: close"), "{head}");
    drop(reader);
    let _ = slow.write_all(body.as_bytes());
    assert_eq!(server.stop(), 0);

    let out = sprig()
        .arg("--db")
        .arg(temp_db("public"))
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .expect("sprig runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("without authentication"));
}

#[test]
fn a_served_database_is_shared_and_survives_sigterm() {
    let db = temp_db("shared");
    let server = Server::start(&db, None, &[]);
    server.cypher("CREATE (:Kept {n: 1})", json!({}));
    // Another process finds the database locked, and is told where it is served.
    let out = sprig().arg("--db").arg(&db).args(["cypher", "RETURN 1"]).output().expect("sprig runs");
    assert_eq!(out.status.code(), Some(2));
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(message.contains(&server.base), "{message}");
    // SIGTERM with a transaction open: the request finished, the transaction rolls back.
    let (_, opened) = server.post("/db/default/query/v2/tx", &json!({"statement": "CREATE (:Lost)"}));
    assert!(opened["transaction"]["id"].is_string(), "{opened}");
    let log = Arc::clone(&server.log);
    assert_eq!(server.stop(), 0);
    assert!(log.lock().unwrap().iter().any(|l| l.contains("request") && l.contains("/db/default/query/v2")));
    let out = sprig()
        .arg("--db")
        .arg(&db)
        .args(["--format", "json", "cypher", "MATCH (k:Kept) OPTIONAL MATCH (l:Lost) RETURN count(k), count(l)"])
        .output()
        .expect("sprig runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Json = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(rows["rows"], json!([[1, 0]]));
}

#[test]
fn metrics_count_requests_by_endpoint_and_status() {
    let db = temp_db("metrics");
    let server = Server::start(&db, None, &[]);
    server.cypher("RETURN 1", json!({}));
    server.post("/db/default/query/v2", &json!({"statement": "RETURN"}));
    let (status, text) = server.get_text("/metrics", &[], "text/plain");
    assert_eq!(status, 200);
    let line = |prefix: &str| text.lines().find(|l| l.starts_with(prefix)).map(str::to_string);
    let endpoint = "endpoint=\"/db/{graph}/query/v2\"";
    assert_eq!(
        line(&format!("sprig_http_requests_total{{method=\"POST\",{endpoint},status=\"202\"}}")),
        Some(format!("sprig_http_requests_total{{method=\"POST\",{endpoint},status=\"202\"}} 1"))
    );
    assert!(line(&format!("sprig_http_requests_total{{method=\"POST\",{endpoint},status=\"400\"}}")).is_some());
    assert!(
        line(&format!("sprig_http_request_duration_seconds_count{{{endpoint}}}")).is_some_and(|l| l.ends_with(" 2"))
    );
    assert_eq!(line("sprig_open_transactions "), Some("sprig_open_transactions 0".into()));
    assert!(text.contains("sprig_cache_capacity_bytes"));
}

/// 32 clients for two seconds: half read, half increment a counter in explicit
/// read-modify-write transactions. No increment is lost (the counter ends at the
/// number of commits) and no read sees half of one (both properties move together).
#[test]
fn many_clients_lose_no_update_and_see_no_torn_read() {
    let db = temp_db("concurrent");
    let server = Arc::new(Server::start(&db, None, &[]));
    server.cypher("CREATE (:Counter {a: 0, b: 0})", json!({}));
    let until = Instant::now() + Duration::from_secs(2);
    let workers: Vec<_> = (0..32)
        .map(|w| {
            let server = Arc::clone(&server);
            std::thread::spawn(move || {
                let (mut commits, mut reads) = (0u64, 0u64);
                while Instant::now() < until {
                    if w % 2 == 0 {
                        let rows = server.cypher("MATCH (c:Counter) RETURN c.a, c.b", json!({}));
                        assert_eq!(rows[0][0], rows[0][1], "a torn read: {rows:?}");
                        reads += 1;
                        continue;
                    }
                    let (status, opened) = server
                        .post("/db/default/query/v2/tx", &json!({"statement": "MATCH (c:Counter) RETURN c.a AS a"}));
                    assert_eq!(status, 202, "{opened}");
                    let id = opened["transaction"]["id"].as_str().expect("an id").to_string();
                    let a = opened["data"]["values"][0][0].as_i64().expect("a number");
                    let (status, set) = server.post(
                        &format!("/db/default/query/v2/tx/{id}"),
                        &json!({"statement": "MATCH (c:Counter) SET c.a = $n, c.b = $n", "parameters": {"n": a + 1}}),
                    );
                    assert_eq!(status, 202, "{set}");
                    let (status, done) = server.post(&format!("/db/default/query/v2/tx/{id}/commit"), &json!({}));
                    assert_eq!(status, 202, "{done}");
                    commits += 1;
                }
                (commits, reads)
            })
        })
        .collect();
    let (mut commits, mut reads) = (0, 0);
    for worker in workers {
        let (c, r) = worker.join().expect("a client");
        commits += c;
        reads += r;
    }
    assert!(commits > 16 && reads > 16, "{commits} commits, {reads} reads");
    let rows = server.cypher("MATCH (c:Counter) RETURN c.a, c.b", json!({}));
    assert_eq!(rows[0], json!([commits, commits]));
}

fn run_sprig(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = sprig();
    cmd.args(args).env_remove("SPRIG_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("sprig runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `sprig --connect` prints what the same subcommand prints on the database itself.
#[test]
fn the_command_line_connects_and_prints_as_it_does_locally() {
    let db = temp_db("connect");
    let dir = std::env::temp_dir().join(format!("sprig-connect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("books.xml");
    std::fs::write(&file, "<lib><book year='1965'>Dune</book><book year='1815'>Emma</book></lib>").unwrap();
    let server = Server::start(&db, Some("tok"), &[]);
    let url = server.base.clone();
    let token = [("SPRIG_TOKEN", "tok")];
    let (code, _, err) = run_sprig(&["--connect", &url, "load", "xml", file.to_str().unwrap()], &token);
    assert_eq!(code, 0, "{err}");
    // A directory's files make one collection, over --connect as locally.
    let lib = dir.join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(lib.join("a.xml"), "<lib><book year='2001'>A</book></lib>").unwrap();
    std::fs::write(lib.join("b.xml"), "<lib><book>B</book><book>C</book></lib>").unwrap();
    for _ in 0..2 {
        let (code, out, err) = run_sprig(&["--connect", &url, "load", "xml", lib.to_str().unwrap()], &token);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("│ lib ") && out.contains("┆ 2 "), "{out}");
    }
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/registry/seed.json");
    let (code, out, err) = run_sprig(&["--connect", &url, "registry", "import", seed], &token);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(" models, "), "{out}");
    let create = "CREATE (:P {name: 'Ann', n: 1.5})-[:R {w: 2}]->(:P {name: 'Bo'})";
    assert_eq!(run_sprig(&["--connect", &url, "cypher", create], &token).0, 0);
    let (_, listed, _) = run_sprig(&["--connect", &url, "--format", "jsonl", "registry", "list"], &token);
    let first: Json = serde_json::from_str(listed.lines().next().expect("a model")).expect("JSON");
    let model = first["model"].as_str().expect("a model name").to_string();
    let queries: [&[&str]; 14] = [
        &["--format", "csv", "registry", "list"],
        &["--format", "json", "registry", "show", &model],
        &["registry", "show", &model],
        &["--format", "xml", "registry", "export"],
        &["--format", "csv", "cypher", "MATCH p = (a:P)-[r]->(b) RETURN a.name, r.w, b.n, p ORDER BY a.name"],
        &["--format", "json", "xpath", "--collection", "books", "//book[@year > 1900]"],
        &["--format", "csv", "xpath", "--collection", "books", "count(//book)"],
        &["--format", "markdown", "collections"],
        &["--format", "json", "graphs"],
        &["--format", "xml", "xpath", "--collection", "books", "//book/@year"],
        &["explain", "cypher", "MATCH (a:P)-[r:R]->(b) WHERE a.name STARTS WITH $p RETURN b", "--param", "p=\"A\""],
        &["--format", "json", "explain", "cypher", "MATCH (a:P) RETURN count(a)"],
        &["explain", "xpath", "--collection", "books", "//book[@year > 1900]", "--join", "navigate"],
        &["--format", "json", "explain", "xpath", "--collection", "lib", "//lib//book"],
    ];
    let mut remote = Vec::new();
    for q in queries {
        let args: Vec<&str> = ["--connect", url.as_str()].into_iter().chain(q.iter().copied()).collect();
        let (code, out, err) = run_sprig(&args, &token);
        assert_eq!(code, 0, "{q:?}: {err}");
        remote.push(out);
    }
    // A syntax error prints as a local one: kind, position, caret, exit 1.
    let (code, _, err) = run_sprig(&["--connect", &url, "cypher", "MATCH (n RETURN n"], &token);
    assert_eq!(code, 1);
    assert!(err.starts_with("error[syntax]: ") && err.contains("at line 1, column 10\n  MATCH (n RETURN n\n"), "{err}");
    let (code, _, err) = run_sprig(&["--connect", &url, "explain", "cypher", "MATCH (n RETURN n"], &token);
    assert_eq!(code, 1);
    assert!(err.contains("at line 1, column 10\n  MATCH (n RETURN n\n"), "{err}");
    // Profiles run on the server: the plan with rows and times, as locally.
    for profile in [
        &["profile", "cypher", "MATCH (a:P)-[:R]->(b) RETURN b.name", "--runs", "3"][..],
        &["profile", "xpath", "--collection", "lib", "//book"],
    ] {
        let args: Vec<&str> = ["--connect", url.as_str()].into_iter().chain(profile.iter().copied()).collect();
        let (code, out, err) = run_sprig(&args, &token);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("rows ") && out.contains("elapsed ") && out.contains("cache: "), "{out}");
    }
    // Without the token: refused.
    let (code, _, err) = run_sprig(&["--connect", &url, "graphs"], &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.starts_with("error[auth]"), "{err}");
    assert_eq!(server.stop(), 0);

    for (q, remote) in queries.iter().zip(remote) {
        let args: Vec<&str> = ["--db", db.to_str().unwrap()].into_iter().chain(q.iter().copied()).collect();
        let (code, local, err) = run_sprig(&args, &[]);
        assert_eq!(code, 0, "{q:?}: {err}");
        assert_eq!(remote, local, "{q:?}");
    }
    // The directory loaded over --connect twice is the directory loaded locally once.
    let fresh = temp_db("connect-fresh");
    let (code, _, err) = run_sprig(&["--db", fresh.to_str().unwrap(), "load", "xml", lib.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    let books = ["--format", "json", "xpath", "--collection", "lib", "//book"];
    let answers: Vec<String> = [&db, &fresh]
        .iter()
        .map(|d| {
            let args: Vec<&str> = ["--db", d.to_str().unwrap()].into_iter().chain(books).collect();
            run_sprig(&args, &[]).1
        })
        .collect();
    assert!(answers[0].contains("\"count\": 3") || answers[0].contains("\"count\":3"), "{}", answers[0]);
    assert_eq!(answers[0], answers[1]);
}

/// A large result streams whole; one that nobody reads is dropped after
/// `--result-timeout`, so its open rows stop holding back a commit.
#[test]
fn results_stream_and_a_result_nobody_reads_lets_writers_through() {
    let db = temp_db("stream");
    let server = Server::start(&db, None, &["--result-timeout", "1"]);
    let rows = server.cypher("UNWIND range(1, 200000) AS i RETURN i, i * 2 AS twice", json!({}));
    assert_eq!(rows.len(), 200_000);
    assert_eq!(rows[199_999], json!([200_000, 400_000]));

    // A raw connection asks for a result far larger than the socket buffers and
    // never reads it.
    let mut stalled = std::net::TcpStream::connect(server.base.trim_start_matches("http://")).expect("connects");
    let body = json!({"statement": "UNWIND range(1, 5000000) AS i RETURN i"}).to_string();
    write!(
        stalled,
        "POST /db/default/query/v2 HTTP/1.1\r\nHost: sprig\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("sent");
    std::thread::sleep(Duration::from_millis(500));
    // A commit waits for the open read, until the server gives the read up.
    let patient: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let started = Instant::now();
    let (status, created) = reply(
        patient
            .post(&format!("{}/db/default/query/v2", server.base))
            .header("Content-Type", "application/json")
            .send(json!({"statement": "CREATE (:W) RETURN 1"}).to_string()),
    );
    assert_eq!(status, 202, "{created}");
    assert!(started.elapsed() < Duration::from_secs(30), "the write waited {:?}", started.elapsed());
    // What the stalled client gets now is cut short of the whole result.
    stalled.set_read_timeout(Some(Duration::from_secs(10))).expect("a timeout");
    let mut received = Vec::new();
    let _ = std::io::Read::read_to_end(&mut stalled, &mut received);
    assert!(received.len() < 5_000_000 * 8, "{} bytes", received.len());
    assert_eq!(server.stop(), 0);
}

/// The shell with `--connect` runs a script as it runs on a local database.
#[test]
fn the_shell_connects_and_runs_a_script_as_it_does_locally() {
    let dir = temp_db("shell-files");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("notes.xml");
    std::fs::write(&file, "<notes><n k='a'>one</n><n k='b'>two</n></notes>").unwrap();
    let setup = format!(":load xml {}\n", file.display());
    let script = "CREATE (:T {x: 1})-[:R]->(:T {x: 2});\n\
                  MATCH (a:T)-[r]->(b) RETURN a.x, b.x, r;\n\
                  :param p => 40\n\
                  RETURN $p + 2 AS y;\n\
                  xpath notes //n[@k = 'b'];\n\
                  :mode xpath\n\
                  :use notes\n\
                  count(//n);\n\
                  :graphs\n\
                  :collections\n\
                  MATCH (n RETURN n;\n";
    let remote_db = temp_db("shell-remote");
    let server = Server::start(&remote_db, None, &[]);
    let url = server.base.clone();
    assert_eq!(run_sprig(&["--connect", &url, "-c", &setup], &[]).0, 0);
    let remote = run_sprig(&["--connect", &url, "--format", "csv", "-c", script], &[]);
    assert_eq!(server.stop(), 0);
    let local_db = temp_db("shell-local");
    let db = local_db.to_str().unwrap();
    assert_eq!(run_sprig(&["--db", db, "--empty", "-c", &setup], &[]).0, 0);
    let local = run_sprig(&["--db", db, "--format", "csv", "-c", script], &[]);
    assert_eq!(remote.0, 1, "the last statement fails: {}", remote.2);
    assert_eq!(remote, local);
    assert!(remote.1.contains("a.x,b.x,r\n1,2,[:R]\n"), "{}", remote.1);
}

/// With `--tls-cert` and `--tls-key` the server speaks HTTPS: a client that trusts the
/// certificate (an agent given it, the CLI through `SSL_CERT_FILE`) is answered, one
/// that does not is refused, and plain HTTP gets nothing.
#[test]
fn tls_serves_clients_that_trust_its_certificate() {
    let db = temp_db("tls");
    let dir = tempfile::tempdir().expect("a temp dir");
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("a certificate");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, generated.cert.pem()).expect("written");
    std::fs::write(&key, generated.signing_key.serialize_pem()).expect("written");
    let (cert_arg, key_arg) = (cert.to_str().expect("a UTF-8 path"), key.to_str().expect("a UTF-8 path"));

    let (code, _, err) = run_sprig(&["--db", db.to_str().expect("UTF-8"), "serve", "--tls-cert", cert_arg], &[]);
    assert_eq!(code, 2, "--tls-cert alone: {err}");

    let mut server = Server::start(&db, Some("tok"), &["--tls-cert", cert_arg, "--tls-key", key_arg]);
    assert!(server.base.starts_with("https://127.0.0.1:"), "{}", server.base);
    let port = server.base.rsplit(':').next().expect("a port").to_string();
    let plain = server.agent.get(&format!("http://127.0.0.1:{port}/")).call();
    assert!(plain.is_err() || plain.is_ok_and(|r| r.status() == 400), "plain HTTP on the TLS port");

    server.base = format!("https://localhost:{port}");
    let roots = ureq::tls::RootCerts::new_with_certs(&[ureq::tls::Certificate::from_der(generated.cert.der()).to_owned()]);
    server.agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
        .build()
        .into();
    assert_eq!(server.cypher("CREATE (:T {n: 41}) RETURN 1", json!({})), vec![json!([1])]);

    let query = ["--connect", &server.base, "--format", "csv", "cypher", "MATCH (t:T) RETURN t.n + 1 AS n"];
    let (code, out, err) = run_sprig(&query, &[("SPRIG_TOKEN", "tok"), ("SSL_CERT_FILE", cert_arg)]);
    assert_eq!((code, out.as_str()), (0, "n\n42\n"), "{err}");
    let (code, out, err) = run_sprig(&query, &[("SPRIG_TOKEN", "tok")]);
    assert_ne!(code, 0, "a certificate nobody vouches for is accepted: {out}");
    assert!(err.contains("cannot reach the server"), "{err}");
    let (code, _, err) = run_sprig(&query, &[("SPRIG_TOKEN", "tok"), ("SSL_CERT_FILE", key_arg)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("SSL_CERT_FILE") && err.contains("no PEM certificate"), "{err}");
    assert_eq!(server.stop(), 0);
}

/// `load graph` and `load cypher` over `--connect` load what the same files load
/// locally, and a broken file is refused with the error a local load gives, having
/// changed nothing.
#[test]
fn graph_and_script_loads_over_connect_match_local_loads() {
    let served = temp_db("graph-load");
    let local = temp_db("graph-load-local");
    let dir = tempfile::tempdir().expect("a temp dir");
    let nodes = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/graph/nodes.csv");
    let edges = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/graph/edges.csv");
    let script = dir.path().join("more.cypher");
    std::fs::write(&script, "CREATE (:City {name: 'Oslo'});\nMATCH (c:City) CREATE (:Person {name: 'Ola'})-[:LIVES_IN]->(c);")
        .expect("written");
    let script = script.to_str().expect("UTF-8");
    let loads: [&[&str]; 2] = [
        &["--format", "json", "load", "graph", "--nodes", nodes, "--edges", edges, "--graph", "g"],
        &["--format", "json", "load", "cypher", script, "--graph", "g"],
    ];
    // A load streams past the JSON body limit.
    let server = Server::start(&served, Some("tok"), &["--max-body-mb", "1"]);
    let token = [("SPRIG_TOKEN", "tok")];
    let many = dir.path().join("many.csv");
    let rows: String = (0..60_000).map(|i| format!("n{i},Many,name number {i}\n")).collect();
    std::fs::write(&many, format!("id,label,name\n{rows}")).expect("written");
    let no_edges = dir.path().join("none.csv");
    std::fs::write(&no_edges, "src,dst,type\n").expect("written");
    let (code, out, err) = run_sprig(
        &["--connect", &server.base, "--format", "csv", "load", "graph", "--graph", "many", "--nodes",
          many.to_str().expect("UTF-8"), "--edges", no_edges.to_str().expect("UTF-8")],
        &token,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("graph many: 60000 nodes, 0 relationships loaded"), "{out}");
    let drop_seconds = |out: &str| -> Json {
        let mut json: Json = serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"));
        json.as_object_mut().expect("an object").remove("seconds");
        json
    };
    let mut answers = Vec::new();
    for load in loads {
        let args: Vec<&str> = ["--connect", server.base.as_str()].into_iter().chain(load.iter().copied()).collect();
        let (code, out, err) = run_sprig(&args, &token);
        assert_eq!(code, 0, "{load:?}: {err}");
        answers.push(drop_seconds(&out));
    }
    // Broken files: the local error, and nothing loaded.
    let broken_nodes = dir.path().join("n.csv");
    std::fs::write(&broken_nodes, "id,label,name\nx,Thing,X\ny,Thing\n").expect("written");
    let broken = broken_nodes.to_str().expect("UTF-8");
    let (code, _, err) =
        run_sprig(&["--connect", &server.base, "load", "graph", "--nodes", broken, "--edges", edges, "--graph", "h"], &token);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("error[csv]:") && err.contains("n.csv:3: expected 3 fields, found 2"), "{err}");
    let bad_script = dir.path().join("bad.cypher");
    std::fs::write(&bad_script, "CREATE (:T);\nCREATE (:T RETURN 1;").expect("written");
    let (code, _, err) = run_sprig(
        &["--connect", &server.base, "load", "cypher", bad_script.to_str().expect("UTF-8"), "--graph", "g"],
        &token,
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("error[syntax]"), "{err}");
    let everything = "MATCH (a) OPTIONAL MATCH (a)-[r]->(b) RETURN labels(a), a.name, type(r), r.since, b.name \
                      ORDER BY a.name, type(r), b.name";
    let (_, remote_rows, _) =
        run_sprig(&["--connect", &server.base, "--format", "csv", "cypher", "--graph", "g", everything], &token);
    let (_, nothing, _) =
        run_sprig(&["--connect", &server.base, "--format", "csv", "cypher", "--graph", "g", "MATCH (t:T) RETURN count(t)"], &token);
    assert_eq!(nothing, "count(t)\n0\n");
    assert_eq!(run_sprig(&["--connect", &server.base, "--format", "csv", "graphs"], &token).1, "graph\ng\nmany\n");
    assert_eq!(server.stop(), 0);

    for (load, remote) in loads.iter().zip(&answers) {
        let args: Vec<&str> = ["--db", local.to_str().expect("UTF-8")].into_iter().chain(load.iter().copied()).collect();
        let (code, out, err) = run_sprig(&args, &[]);
        assert_eq!(code, 0, "{load:?}: {err}");
        assert_eq!(&drop_seconds(&out), remote, "{load:?}");
    }
    let (_, local_rows, _) =
        run_sprig(&["--db", local.to_str().expect("UTF-8"), "--format", "csv", "cypher", "--graph", "g", everything], &[]);
    assert_eq!(remote_rows, local_rows);
    assert!(remote_rows.lines().count() > 15, "{remote_rows}");
}
