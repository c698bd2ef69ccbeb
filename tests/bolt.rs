//! `sprig serve --bolt` against a Bolt client sprig did not write (the `neo4j`
//! crate, a Rust driver by the maintainer of Neo4j's Python driver), and against
//! raw bytes: the messages a driver never sends (DISCARD halfway, RESET mid-stream,
//! out-of-state messages) and malformed ones, each of which must get a FAILURE or a
//! closed connection, never a panic, a hang or a memory blow-up.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use neo4j::address::Address;
use neo4j::driver::auth::AuthToken;
use neo4j::driver::{ConnectionConfig, Driver, DriverConfig};
use neo4j::session::SessionConfig;
use neo4j::{Neo4jError, ValueReceive, ValueSend};

/// A `sprig serve --bolt` on ephemeral ports, stopped with SIGTERM when dropped.
struct Served {
    child: Option<Child>,
    bolt: String,
}

impl Served {
    fn start(db: &Path, token: Option<&str>, extra: &[&str]) -> Served {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("sprig"));
        cmd.arg("--db").arg(db).args(["serve", "--listen", "127.0.0.1:0", "--bolt", "127.0.0.1:0"]).args(extra);
        if let Some(token) = token {
            cmd.env("BOLT_TOKEN", token).args(["--token-env", "BOLT_TOKEN"]);
        }
        let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("sprig serve starts");
        let stderr = child.stderr.take().expect("piped");
        let (found, address) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(bolt) = line.strip_prefix("listening on bolt://") {
                    let _ = found.send(bolt.to_string());
                }
            }
        });
        let bolt = address.recv_timeout(Duration::from_secs(60)).expect("the server says where Bolt listens");
        Served { child: Some(child), bolt }
    }

    /// A driver with basic credentials, or with none (scheme `none`) for "".
    fn driver(&self, password: &str) -> Driver {
        let (host, port) = self.bolt.rsplit_once(':').expect("host:port");
        let address = Address::from((host, port.parse::<u16>().expect("a port")));
        let auth = match password {
            "" => AuthToken::new_none_auth(),
            password => AuthToken::new_basic_auth("neo4j", password),
        };
        Driver::new(ConnectionConfig::new(address), DriverConfig::new().with_auth(Arc::new(auth)))
    }

    fn stop(mut self) -> i32 {
        let child = self.child.take().expect("running");
        stop(child)
    }
}

fn stop(mut child: Child) -> i32 {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    child.wait().expect("the server exits").code().unwrap_or(-1)
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            stop(child);
        }
    }
}

fn temp_db(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("sprig-bolt-{name}")).tempdir().expect("a temp dir")
}

fn server_error(e: &Neo4jError) -> (String, String) {
    match e {
        Neo4jError::ServerError { error, .. } => (error.code().to_string(), error.message().to_string()),
        other => (format!("not a server error: {other}"), String::new()),
    }
}

fn query(driver: &Driver, text: &str, params: HashMap<String, ValueSend>) -> neo4j::Result<Vec<Vec<ValueReceive>>> {
    let result = driver.execute_query(text).with_parameters(params).run()?;
    Ok(result.records.into_iter().map(|r| r.into_values().collect()).collect())
}

#[test]
fn a_driver_authenticates_sends_and_reads_every_value_and_transacts() {
    let dir = temp_db("driver");
    let served = Served::start(&dir.path().join("db"), Some("s3cret"), &[]);

    let refused = query(&served.driver("wrong"), "RETURN 1", HashMap::new()).expect_err("a wrong token");
    assert_eq!(server_error(&refused).0, "Neo.ClientError.Security.Unauthorized");
    let refused = query(&served.driver(""), "RETURN 1", HashMap::new()).expect_err("no credentials");
    assert_eq!(server_error(&refused).0, "Neo.ClientError.Security.Unauthorized");

    let driver = served.driver("s3cret");
    let sent: HashMap<String, ValueSend> = [
        ("null", ValueSend::Null),
        ("bool", ValueSend::Boolean(true)),
        ("int", ValueSend::Integer(i64::MIN)),
        ("float", ValueSend::Float(-2.5e-300)),
        ("string", ValueSend::String("héllo \u{1F600}".into())),
        ("list", ValueSend::List(vec![ValueSend::Integer(1), ValueSend::String("two".into()), ValueSend::Null])),
        ("map", ValueSend::Map([("k".to_string(), ValueSend::List(vec![ValueSend::Boolean(false)]))].into())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let rows = query(&driver, "RETURN $null, $bool, $int, $float, $string, $list, $map", sent).expect("answered");
    let expected = vec![
        ValueReceive::Null,
        ValueReceive::Boolean(true),
        ValueReceive::Integer(i64::MIN),
        ValueReceive::Float(-2.5e-300),
        ValueReceive::String("héllo \u{1F600}".into()),
        ValueReceive::List(vec![ValueReceive::Integer(1), ValueReceive::String("two".into()), ValueReceive::Null]),
        ValueReceive::Map([("k".to_string(), ValueReceive::List(vec![ValueReceive::Boolean(false)]))].into()),
    ];
    assert_eq!(rows, vec![expected]);

    // Temporal values go both ways as the driver's own types, and sprig computes on them.
    let date = chrono::NaiveDate::from_ymd_opt(2024, 1, 2).expect("a date");
    let moment = chrono::DateTime::parse_from_rfc3339("2024-01-02T10:30:00.5+05:30").expect("a date-time");
    let local = date.and_hms_opt(23, 59, 59).expect("a local date-time");
    let span = neo4j::value::time::Duration::new(14, 3, 7200, 5).expect("a duration");
    let sent: HashMap<String, ValueSend> = [
        ("d".to_string(), ValueSend::Date(date)),
        ("m".to_string(), ValueSend::DateTimeFixed(moment)),
        ("l".to_string(), ValueSend::LocalDateTime(local)),
        ("s".to_string(), ValueSend::Duration(span)),
    ]
    .into();
    let rows = query(&driver, "RETURN $d, $m, $l, $s, $d + duration('P1D'), toString($m), $m.offsetMinutes", sent)
        .expect("temporal parameters");
    let next_day = chrono::NaiveDate::from_ymd_opt(2024, 1, 3).expect("a date");
    let expected = vec![
        ValueReceive::Date(date),
        ValueReceive::DateTimeFixed(moment),
        ValueReceive::LocalDateTime(local),
        ValueReceive::Duration(span),
        ValueReceive::Date(next_day),
        ValueReceive::String("2024-01-02T10:30:00.500+05:30".into()),
        ValueReceive::Integer(330),
    ];
    assert_eq!(rows, vec![expected]);

    // A parameter sprig has no type for is refused, by name.
    let point = neo4j::value::spatial::Cartesian2D::new(1.0, 2.0);
    let refused =
        query(&driver, "RETURN $p", [("p".to_string(), ValueSend::Cartesian2D(point))].into()).expect_err("a point");
    let (code, message) = server_error(&refused);
    assert_eq!(code, "Neo.ClientError.Statement.TypeError");
    assert!(message.contains("$p is a point"), "{message}");

    // Nodes, relationships and a path.
    let created = driver
        .execute_query("CREATE (a:P {name: 'a'})-[:R {w: 1}]->(b:P:Q {name: 'b'})-[:R {w: 2}]->(c:P {name: 'c'})")
        .run()
        .expect("created");
    assert_eq!((created.summary.counters.nodes_created, created.summary.counters.relationships_created), (3, 2));
    let rows = query(&driver, "MATCH p = (a {name: 'a'})-[r1]->(b)-[r2]->(c) RETURN a, r1, p", HashMap::new())
        .expect("matched");
    let [ValueReceive::Node(a), ValueReceive::Relationship(r1), ValueReceive::Path(p)] = &rows[0][..] else {
        panic!("not a node, a relationship and a path: {:?}", rows[0]);
    };
    assert_eq!(
        (a.labels.clone(), a.properties.get("name")),
        (vec!["P".to_string()], Some(&ValueReceive::String("a".into())))
    );
    assert_eq!((r1.type_.as_str(), r1.start_node_element_id.as_str()), ("R", a.element_id.as_str()));
    assert_eq!(p.nodes.len(), 3);
    assert_eq!(p.indices, vec![1, 1, 2, 2]);
    assert_eq!(
        p.relationships.iter().map(|r| r.properties.get("w").cloned()).collect::<Vec<_>>(),
        vec![Some(ValueReceive::Integer(1)), Some(ValueReceive::Integer(2))]
    );

    // An explicit transaction commits; another rolls back.
    let mut session = driver.session(SessionConfig::new());
    session
        .transaction()
        .run(|tx| {
            tx.query("CREATE (:Kept)").run()?.consume()?;
            tx.commit()
        })
        .expect("committed");
    session
        .transaction()
        .run(|tx| {
            tx.query("CREATE (:Gone)").run()?.consume()?;
            tx.rollback()
        })
        .expect("rolled back");
    let counts =
        query(&driver, "MATCH (k:Kept) WITH count(k) AS k OPTIONAL MATCH (g:Gone) RETURN k, count(g)", HashMap::new());
    assert_eq!(counts.expect("counted"), vec![vec![ValueReceive::Integer(1), ValueReceive::Integer(0)]]);

    // Many rows, fetched a hundred at a time.
    let config = SessionConfig::new().with_fetch_size(100).expect("a fetch size");
    let mut session = driver.session(config);
    let total = session
        .auto_commit("UNWIND range(1, 25000) AS i RETURN i")
        .with_receiver(|stream| {
            let mut total = 0i64;
            for record in stream {
                total += record?.into_values().next().and_then(|v| v.try_into_int().ok()).unwrap_or(0);
            }
            Ok(total)
        })
        .run()
        .expect("streamed");
    assert_eq!(total, 25000 * 25001 / 2);

    // An error's code, and the connection goes on.
    let broken = query(&driver, "MATCH (n RETURN n", HashMap::new()).expect_err("a syntax error");
    let (code, message) = server_error(&broken);
    assert_eq!(code, "Neo.ClientError.Statement.SyntaxError");
    assert!(message.contains("line 1, column 10"), "{message}");
    assert_eq!(query(&driver, "RETURN 7", HashMap::new()).expect("answered"), vec![vec![ValueReceive::Integer(7)]]);
    drop(driver);
    assert_eq!(served.stop(), 0);
}

// ---- A raw client: PackStream written here, independently of the server's. ----

fn pack(v: &Raw, out: &mut Vec<u8>) {
    fn size(out: &mut Vec<u8>, len: usize, tiny: u8, wide: u8) {
        if len < 16 {
            out.push(tiny | len as u8);
        } else {
            out.push(wide);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
    match v {
        Raw::Int(i) => {
            out.push(0xCB);
            out.extend_from_slice(&i.to_be_bytes());
        }
        Raw::Str(s) => {
            size(out, s.len(), 0x80, 0xD2);
            out.extend_from_slice(s.as_bytes());
        }
        Raw::Map(entries) => {
            size(out, entries.len(), 0xA0, 0xDA);
            for (k, v) in entries {
                pack(&Raw::Str(k.to_string()), out);
                pack(v, out);
            }
        }
        Raw::Struct(tag, fields) => {
            out.push(0xB0 | fields.len() as u8);
            out.push(*tag);
            fields.iter().for_each(|f| pack(f, out));
        }
    }
}

enum Raw {
    Int(i64),
    Str(String),
    Map(Vec<(&'static str, Raw)>),
    Struct(u8, Vec<Raw>),
}

fn s(text: &str) -> Raw {
    Raw::Str(text.to_string())
}

fn map(entries: Vec<(&'static str, Raw)>) -> Raw {
    Raw::Map(entries)
}

const HELLO: u8 = 0x01;
const RESET: u8 = 0x0F;
const RUN: u8 = 0x10;
const BEGIN: u8 = 0x11;
const PULL: u8 = 0x3F;
const DISCARD: u8 = 0x2F;
const LOGON: u8 = 0x6A;

/// One Bolt connection spoken byte by byte.
struct Wire {
    stream: TcpStream,
}

impl Wire {
    /// Connects and agrees on `major.minor`.
    fn open(address: &str, major: u8, minor: u8) -> Wire {
        let mut stream = TcpStream::connect(address).expect("connects");
        stream.set_read_timeout(Some(Duration::from_secs(20))).expect("a timeout");
        let mut opening = vec![0x60, 0x60, 0xB0, 0x17, 0, 0, minor, major];
        opening.extend_from_slice(&[0; 12]);
        stream.write_all(&opening).expect("sent");
        let mut chosen = [0u8; 4];
        stream.read_exact(&mut chosen).expect("a version");
        assert_eq!(chosen, [0, 0, minor, major]);
        Wire { stream }
    }

    fn send_bytes(&mut self, message: &[u8]) {
        let mut framed = Vec::new();
        for piece in message.chunks(0xFFFF) {
            framed.extend_from_slice(&(piece.len() as u16).to_be_bytes());
            framed.extend_from_slice(piece);
        }
        framed.extend_from_slice(&[0, 0]);
        let _ = self.stream.write_all(&framed);
    }

    fn send(&mut self, tag: u8, fields: Vec<Raw>) {
        let mut message = Vec::new();
        pack(&Raw::Struct(tag, fields), &mut message);
        self.send_bytes(&message);
    }

    /// The next reply's tag (0x70 SUCCESS, 0x71 RECORD, 0x7E IGNORED, 0x7F FAILURE)
    /// and its bytes; `None` when the server closed the connection.
    fn reply(&mut self) -> Option<(u8, Vec<u8>)> {
        let mut message = Vec::new();
        loop {
            let mut size = [0u8; 2];
            self.stream.read_exact(&mut size).ok()?;
            let size = u16::from_be_bytes(size) as usize;
            if size == 0 {
                break;
            }
            let start = message.len();
            message.resize(start + size, 0);
            self.stream.read_exact(&mut message[start..]).ok()?;
        }
        Some((*message.get(1)?, message))
    }

    fn expect(&mut self, tag: u8) -> Vec<u8> {
        let (got, bytes) = self.reply().expect("a reply");
        assert_eq!(got, tag, "reply {bytes:02X?}");
        bytes
    }

    fn closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.stream.read(&mut byte), Ok(0) | Err(_))
    }

    fn hello(&mut self, token: &str) {
        let auth = vec![("scheme", s("basic")), ("principal", s("neo4j")), ("credentials", s(token))];
        self.send(HELLO, vec![map(auth)]);
        self.expect(0x70);
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn the_state_machine_discards_resets_and_never_lets_an_unauthenticated_message_through() {
    let dir = temp_db("states");
    let served = Served::start(&dir.path().join("db"), Some("tok"), &[]);

    // 4.4: credentials in HELLO; PULL part way, DISCARD the rest, RESET mid-stream.
    let mut wire = Wire::open(&served.bolt, 4, 4);
    wire.hello("tok");
    wire.send(RUN, vec![s("UNWIND range(1, 10) AS i RETURN i"), map(vec![]), map(vec![])]);
    wire.expect(0x70);
    wire.send(PULL, vec![map(vec![("n", Raw::Int(3))])]);
    for _ in 0..3 {
        wire.expect(0x71);
    }
    assert!(contains(&wire.expect(0x70), "has_more"));
    wire.send(DISCARD, vec![map(vec![("n", Raw::Int(-1))])]);
    let done = wire.expect(0x70);
    assert!(contains(&done, "bookmark") && !contains(&done, "has_more"));
    wire.send(RUN, vec![s("UNWIND range(1, 10) AS i RETURN i"), map(vec![]), map(vec![])]);
    wire.expect(0x70);
    wire.send(PULL, vec![map(vec![("n", Raw::Int(2))])]);
    wire.expect(0x71);
    wire.expect(0x71);
    wire.expect(0x70);
    wire.send(RESET, vec![]);
    wire.expect(0x70);
    // Out of state: PULL with nothing open fails; then everything is IGNORED until RESET.
    wire.send(PULL, vec![map(vec![])]);
    assert!(contains(&wire.expect(0x7F), "Neo.ClientError.Request.Invalid"));
    wire.send(RUN, vec![s("RETURN 1"), map(vec![]), map(vec![])]);
    wire.expect(0x7E);
    wire.send(RESET, vec![]);
    wire.expect(0x70);
    // A node in 4.4 has no element id: three fields.
    wire.send(RUN, vec![s("CREATE (n:N) RETURN n"), map(vec![]), map(vec![])]);
    wire.expect(0x70);
    wire.send(PULL, vec![map(vec![("n", Raw::Int(-1))])]);
    let record = wire.expect(0x71);
    assert_eq!(&record[..5], [0xB1, 0x71, 0x91, 0xB3, 0x4E]);
    wire.expect(0x70);

    // 5.1+: a failed LOGON closes the connection; RESET cannot authenticate it.
    let mut wire = Wire::open(&served.bolt, 5, 4);
    wire.send(HELLO, vec![map(vec![("user_agent", s("raw/1"))])]);
    wire.expect(0x70);
    wire.send(RESET, vec![]);
    wire.expect(0x70);
    wire.send(RUN, vec![s("RETURN 1"), map(vec![]), map(vec![])]);
    assert!(contains(&wire.expect(0x7F), "Neo.ClientError.Security.Unauthorized"));
    assert!(wire.closed());
    let mut wire = Wire::open(&served.bolt, 5, 4);
    wire.send(HELLO, vec![map(vec![])]);
    wire.expect(0x70);
    wire.send(LOGON, vec![map(vec![("scheme", s("basic")), ("principal", s("x")), ("credentials", s("bad"))])]);
    assert!(contains(&wire.expect(0x7F), "Unauthorized"));
    wire.send(RESET, vec![]);
    wire.send(RUN, vec![s("RETURN 1"), map(vec![]), map(vec![])]);
    assert!(wire.reply().is_none() || wire.closed());

    // An explicit transaction: a failing statement rolls it back.
    let mut wire = Wire::open(&served.bolt, 5, 0);
    wire.hello("tok");
    wire.send(BEGIN, vec![map(vec![])]);
    wire.expect(0x70);
    wire.send(RUN, vec![s("CREATE (:InTx)"), map(vec![]), map(vec![])]);
    wire.expect(0x70);
    wire.send(PULL, vec![map(vec![("n", Raw::Int(-1))])]);
    wire.expect(0x70);
    wire.send(RUN, vec![s("RETURN 1/0"), map(vec![]), map(vec![])]);
    wire.expect(0x7F);
    wire.send(RESET, vec![]);
    wire.expect(0x70);
    wire.send(RUN, vec![s("MATCH (n:InTx) RETURN count(n)"), map(vec![]), map(vec![])]);
    wire.expect(0x70);
    wire.send(PULL, vec![map(vec![])]);
    assert_eq!(wire.expect(0x71)[3], 0x00, "the transaction's node is gone");
    drop(wire);
    assert_eq!(served.stop(), 0);
}

/// Bytes no driver sends: each gets a FAILURE or a closed connection, and the
/// server goes on answering others.
#[test]
fn malformed_messages_get_a_failure_or_a_closed_connection() {
    let dir = temp_db("malformed");
    let served = Served::start(&dir.path().join("db"), Some("tok"), &["--max-body-mb", "1"]);
    let deep: Vec<u8> = std::iter::repeat_n(0x91, 10_000).chain([0xC0]).collect();
    let mut wide_list = vec![0xB1, RUN, 0xD6, 0x7F, 0xFF, 0xFF, 0xFF];
    wide_list.push(0x01);
    let corpus: Vec<(&str, Vec<u8>)> = vec![
        ("not a structure", vec![0x01]),
        ("an unknown message", vec![0xB0, 0x99]),
        ("a truncated string", vec![0xB1, RUN, 0xD0, 0x20, 0x41]),
        ("a deprecated marker", vec![0xB1, RUN, 0xD7]),
        ("a list longer than the message", wide_list),
        ("a map with an integer key", vec![0xB1, HELLO, 0xA1, 0x01, 0x01]),
        ("nesting ten thousand deep", [vec![0xB1, HELLO], deep].concat()),
        ("invalid UTF-8", vec![0xB1, RUN, 0x82, 0xC3, 0x28, 0xA0, 0xA0]),
        ("RUN without a query", vec![0xB0, RUN]),
        ("PULL with n zero", vec![0xB1, PULL, 0xA1, 0x81, b'n', 0x00]),
    ];
    for authenticated in [false, true] {
        for (what, bytes) in &corpus {
            let mut wire = Wire::open(&served.bolt, 5, 0);
            if authenticated {
                wire.hello("tok");
            }
            wire.send_bytes(bytes);
            match wire.reply() {
                None => {}
                Some((0x7F, _)) => assert!(wire.closed() || authenticated, "{what}: still open unauthenticated"),
                Some((tag, reply)) => panic!("{what}: answered 0x{tag:02X} {reply:02X?}"),
            }
        }
    }
    // A message larger than allowed: before authentication 64 KiB, after it the body limit.
    let mut wire = Wire::open(&served.bolt, 5, 0);
    wire.send_bytes(&[vec![0xB1, HELLO, 0xD2, 0x00, 0x01, 0x00, 0x00], vec![b'x'; 65536]].concat());
    assert!(matches!(wire.reply(), Some((0x7F, _)) | None));
    assert!(wire.closed());
    let mut wire = Wire::open(&served.bolt, 5, 0);
    wire.hello("tok");
    let huge = 2 << 20;
    let mut message = vec![0xB3, RUN, 0xD2];
    message.extend_from_slice(&(huge as u32).to_be_bytes());
    message.extend(std::iter::repeat_n(b'x', huge));
    wire.send_bytes(&message);
    assert!(matches!(wire.reply(), Some((0x7F, _)) | None));
    // A truncated chunk, then silence: the server drops the connection, not itself.
    let mut wire = Wire::open(&served.bolt, 5, 0);
    let _ = wire.stream.write_all(&[0x00, 0x10, 0xB1, HELLO]);
    drop(wire);
    // A client that is not Bolt at all.
    let mut stream = TcpStream::connect(&served.bolt).expect("connects");
    let _ = stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut answer = Vec::new();
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("a timeout");
    let _ = stream.read_to_end(&mut answer);
    assert!(answer.is_empty(), "{answer:02X?}");

    // Valid messages with bytes flipped, cut or repeated at random (a fixed seed):
    // whatever each gets, the server stays up and answers the next client.
    let mut valid = Vec::new();
    for (tag, fields) in [
        (RUN, vec![s("UNWIND range(1, 3) AS i RETURN i, {a: [i, 'x']}"), map(vec![("p", Raw::Int(7))]), map(vec![])]),
        (PULL, vec![map(vec![("n", Raw::Int(2)), ("qid", Raw::Int(-1))])]),
        (BEGIN, vec![map(vec![("db", s("neo4j")), ("mode", s("w"))])]),
    ] {
        let mut bytes = Vec::new();
        pack(&Raw::Struct(tag, fields), &mut bytes);
        valid.push(bytes);
    }
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..150 {
        let mut bytes = valid[round % valid.len()].clone();
        match next() % 3 {
            0 => {
                let at = (next() as usize) % bytes.len();
                bytes[at] ^= (next() as u8) | 1;
            }
            1 => bytes.truncate((next() as usize) % bytes.len()),
            _ => {
                let at = (next() as usize) % bytes.len();
                let piece = bytes[at..].to_vec();
                bytes.extend(piece);
            }
        }
        let mut wire = Wire::open(&served.bolt, 5, 4);
        wire.send(HELLO, vec![map(vec![])]);
        wire.expect(0x70);
        wire.send(LOGON, vec![map(vec![("scheme", s("basic")), ("principal", s("x")), ("credentials", s("tok"))])]);
        wire.expect(0x70);
        wire.send_bytes(&bytes);
        while let Some((tag, _)) = wire.reply() {
            assert!(matches!(tag, 0x70 | 0x71 | 0x7E | 0x7F), "round {round}: reply 0x{tag:02X}");
            if tag != 0x71 {
                break;
            }
        }
    }

    let driver = served.driver("tok");
    assert_eq!(
        query(&driver, "RETURN 42", HashMap::new()).expect("still serving"),
        vec![vec![ValueReceive::Integer(42)]]
    );
    drop(driver);
    assert_eq!(served.stop(), 0);
}

/// A client that runs a read and stops pulling holds the read only until the result
/// timeout: a writer gets through, and the abandoned result's next PULL fails.
#[test]
fn a_result_nobody_pulls_lets_writers_through() {
    let dir = temp_db("stall");
    let served = Served::start(&dir.path().join("db"), None, &["--result-timeout", "1"]);
    let mut wire = Wire::open(&served.bolt, 5, 0);
    wire.hello("");
    wire.send(RUN, vec![s("UNWIND range(1, 1000000) AS i RETURN i"), map(vec![]), map(vec![])]);
    wire.expect(0x70);
    wire.send(PULL, vec![map(vec![("n", Raw::Int(1))])]);
    wire.expect(0x71);
    wire.expect(0x70);
    let started = std::time::Instant::now();
    let driver = served.driver("");
    let written = query(&driver, "CREATE (:W) RETURN 1", HashMap::new()).expect("written");
    assert_eq!(written, vec![vec![ValueReceive::Integer(1)]]);
    assert!(started.elapsed() < Duration::from_secs(30), "the write waited {:?}", started.elapsed());
    wire.send(PULL, vec![map(vec![("n", Raw::Int(1))])]);
    assert!(contains(&wire.expect(0x7F), "Neo.TransientError"));
    drop(driver);
    assert_eq!(served.stop(), 0);
}

/// A transaction its client abandons is rolled back after the transaction timeout,
/// which frees the writer for others.
#[test]
fn an_abandoned_transaction_rolls_back_and_frees_the_writer() {
    let dir = temp_db("abandoned");
    let served = Served::start(&dir.path().join("db"), None, &["--transaction-timeout", "1"]);
    let mut wire = Wire::open(&served.bolt, 5, 0);
    wire.hello("");
    wire.send(BEGIN, vec![map(vec![])]);
    wire.expect(0x70);
    wire.send(RUN, vec![s("CREATE (:Abandoned)"), map(vec![]), map(vec![])]);
    wire.expect(0x70);
    wire.send(PULL, vec![map(vec![])]);
    wire.expect(0x70);
    let started = std::time::Instant::now();
    let driver = served.driver("");
    let written = query(&driver, "CREATE (:Other) WITH 1 AS one MATCH (a:Abandoned) RETURN count(a)", HashMap::new());
    assert_eq!(written.expect("written"), vec![vec![ValueReceive::Integer(0)]]);
    assert!(started.elapsed() < Duration::from_secs(30), "the write waited {:?}", started.elapsed());
    assert!(wire.closed(), "the abandoned connection is closed");
    drop(driver);
    assert_eq!(served.stop(), 0);
}
