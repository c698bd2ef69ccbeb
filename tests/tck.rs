//! openCypher TCK harness: reads Gherkin feature files from `SPRIG_TCK_DIR` (default
//! `tests/tck/public`, named graphs in `DIR/../graphs`), runs every scenario on a fresh
//! in-memory database and compares results the way the TCK defines. Prints
//! `N passed, N failed, N skipped` and a per-feature table; fails when the pass count
//! falls below `tests/tck/FLOOR`. `SPRIG_TCK_FILTER=text` runs only scenarios whose
//! feature path or name contains `text` and prints why each failed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

#[path = "common/redis.rs"]
mod redis;

use sprig::{CypherOptions, CypherValue, Database, Params, ResultValue};

// ---------------------------------------------------------------------------
// Gherkin

#[derive(Debug, Clone)]
enum Step {
    EmptyGraph,
    NamedGraph(String),
    Execute(String),
    Parameters(Vec<Vec<String>>),
    Query(String),
    ControlQuery(String),
    Result {
        table: Vec<Vec<String>>,
        ordered: bool,
        list_bags: bool,
    },
    Empty,
    NoSideEffects,
    SideEffects(Vec<Vec<String>>),
    /// `a CLASS should be raised at PHASE: DETAIL`.
    Error {
        class: String,
        phase: String,
        detail: String,
    },
    /// `there exists a procedure SIGNATURE:` with the table of its inputs and outputs.
    Procedure {
        signature: String,
        table: Vec<Vec<String>>,
    },
    Unknown(String),
}

#[derive(Debug, Clone)]
struct Scenario {
    feature: String,
    name: String,
    steps: Vec<Step>,
}

fn table_row(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    // Cells are separated by unescaped `|` outside quotes.
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '\'' | '"' if quote.is_none() => {
                quote = Some(c);
                cur.push(c);
            }
            c2 if Some(c2) == quote => {
                quote = None;
                cur.push(c2);
            }
            '|' if quote.is_none() => {
                cells.push(cur.trim().to_string());
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    cells.push(cur.trim().to_string());
    // Gherkin escapes inside table cells: `\\` is a backslash, `\|` a bar.
    cells.into_iter().map(|c| c.replace("\\\\", "\u{0}").replace("\\|", "|").replace('\u{0}', "\\")).collect()
}

fn parse_feature(path: &Path, rel: &str) -> Vec<Scenario> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let mut scenarios = Vec::new();
    let mut i = 0;
    // (name, raw steps as (keyword line, docstring, table)), examples
    let mut current: Option<(String, Vec<(String, Option<String>, Vec<Vec<String>>)>, Vec<Vec<String>>)> = None;
    let flush = |cur: &mut Option<(String, Vec<(String, Option<String>, Vec<Vec<String>>)>, Vec<Vec<String>>)>,
                 out: &mut Vec<Scenario>| {
        let Some((name, raw, examples)) = cur.take() else { return };
        let runs: Vec<Vec<(String, String)>> = if examples.len() > 1 {
            let header = examples[0].clone();
            examples[1..].iter().map(|row| header.iter().cloned().zip(row.iter().cloned()).collect()).collect()
        } else {
            vec![Vec::new()]
        };
        for (n, subst) in runs.iter().enumerate() {
            let sub = |s: &str| {
                let mut s = s.to_string();
                for (k, v) in subst {
                    s = s.replace(&format!("<{k}>"), v);
                }
                s
            };
            let steps = raw
                .iter()
                .map(|(line, doc, table)| {
                    let doc = doc.as_deref().map(sub);
                    let table: Vec<Vec<String>> = table.iter().map(|r| r.iter().map(|c| sub(c)).collect()).collect();
                    to_step(line, doc, table)
                })
                .collect();
            let name = if runs.len() > 1 { format!("{name} #{}", n + 1) } else { name.clone() };
            out.push(Scenario { feature: rel.to_string(), name, steps });
        }
    };
    let mut in_examples = false;
    let mut background: Vec<(String, Option<String>, Vec<Vec<String>>)> = Vec::new();
    while i < lines.len() {
        let line = lines[i].trim();
        if line.starts_with("Background") {
            current = Some((String::from("background"), Vec::new(), Vec::new()));
        } else if line.starts_with("Scenario") {
            if current.as_ref().is_some_and(|c| c.0 == "background") {
                background = current.take().map(|c| c.1).unwrap_or_default();
            }
            flush(&mut current, &mut scenarios);
            let name = line.split_once(':').map_or(line, |x| x.1).trim().to_string();
            current = Some((name, background.clone(), Vec::new()));
            in_examples = false;
        } else if line.starts_with("Examples") {
            in_examples = true;
        } else if line.starts_with('|') {
            if let Some(cur) = &mut current {
                if in_examples {
                    cur.2.push(table_row(line));
                } else if let Some(last) = cur.1.last_mut() {
                    last.2.push(table_row(line));
                }
            }
        } else if line.starts_with("\"\"\"") {
            let mut doc = Vec::new();
            i += 1;
            while i < lines.len() && !lines[i].trim().starts_with("\"\"\"") {
                doc.push(lines[i]);
                i += 1;
            }
            let indent =
                doc.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
            let doc: Vec<&str> = doc.iter().map(|l| if l.len() >= indent { &l[indent..] } else { l.trim() }).collect();
            if let Some(cur) = &mut current {
                if let Some(last) = cur.1.last_mut() {
                    last.1 = Some(doc.join("\n"));
                }
            }
        } else if ["Given", "When", "Then", "And", "But"].iter().any(|k| line.starts_with(k)) {
            if let Some(cur) = &mut current {
                cur.1.push((line.to_string(), None, Vec::new()));
            }
        }
        i += 1;
    }
    flush(&mut current, &mut scenarios);
    scenarios
}

fn to_step(line: &str, doc: Option<String>, table: Vec<Vec<String>>) -> Step {
    let body = line.splitn(2, ' ').nth(1).unwrap_or("").trim();
    let doc = doc.unwrap_or_default();
    if body == "an empty graph" || body == "any graph" {
        Step::EmptyGraph
    } else if let Some(rest) = body.strip_prefix("the ").and_then(|r| r.strip_suffix(" graph")) {
        Step::NamedGraph(rest.to_string())
    } else if body.starts_with("having executed") {
        Step::Execute(doc)
    } else if let Some(signature) = body.strip_prefix("there exists a procedure ") {
        Step::Procedure { signature: signature.trim().trim_end_matches(':').trim().to_string(), table }
    } else if body.starts_with("parameters are") {
        Step::Parameters(table)
    } else if body.starts_with("executing query") {
        Step::Query(doc)
    } else if body.starts_with("executing control query") {
        Step::ControlQuery(doc)
    } else if body.starts_with("the result should be empty") {
        Step::Empty
    } else if body.starts_with("the result should be") {
        Step::Result { table, ordered: body.contains("in order"), list_bags: body.contains("ignoring element order") }
    } else if body.starts_with("no side effects") {
        Step::NoSideEffects
    } else if body.starts_with("the side effects should be") {
        Step::SideEffects(table)
    } else if body.starts_with("a ") && body.contains("should be raised") {
        // `a TypeError should be raised at runtime: InvalidArgumentType`
        let rest = &body[2..];
        let class = rest.split_whitespace().next().unwrap_or("").to_string();
        let after_at = rest.split_once(" raised at ").map_or("", |(_, a)| a);
        let (phase, detail) = after_at.split_once(':').unwrap_or((after_at, ""));
        Step::Error { class, phase: phase.trim().to_string(), detail: detail.trim().to_string() }
    } else {
        Step::Unknown(line.to_string())
    }
}

// ---------------------------------------------------------------------------
// Expected values (TCK literal syntax)

#[derive(Debug, Clone, PartialEq)]
enum TVal {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<TVal>),
    Map(BTreeMap<String, TVal>),
    Node {
        labels: BTreeSet<String>,
        props: BTreeMap<String, TVal>,
    },
    Rel {
        rel_type: String,
        props: BTreeMap<String, TVal>,
    },
    /// Nodes and (relationship, points forward) in order.
    Path {
        nodes: Vec<TVal>,
        rels: Vec<(TVal, bool)>,
    },
}

struct P<'a> {
    s: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }
    fn name(&mut self) -> Option<String> {
        self.ws();
        if self.s.get(self.i) == Some(&b'`') {
            let start = self.i + 1;
            let end = start + self.s[start..].iter().position(|&c| c == b'`')?;
            self.i = end + 1;
            return Some(String::from_utf8_lossy(&self.s[start..end]).into_owned());
        }
        let start = self.i;
        while self.i < self.s.len() && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_') {
            self.i += 1;
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }
    fn props(&mut self) -> Option<BTreeMap<String, TVal>> {
        let mut m = BTreeMap::new();
        if !self.eat(b'{') {
            return Some(m);
        }
        if self.eat(b'}') {
            return Some(m);
        }
        loop {
            let k = self.name()?;
            if !self.eat(b':') {
                return None;
            }
            let v = self.value()?;
            m.insert(k, v);
            if self.eat(b'}') {
                return Some(m);
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }
    fn node(&mut self) -> Option<TVal> {
        if !self.eat(b'(') {
            return None;
        }
        let mut labels = BTreeSet::new();
        while self.eat(b':') {
            labels.insert(self.name()?);
        }
        let props = self.props()?;
        if !self.eat(b')') {
            return None;
        }
        Some(TVal::Node { labels, props })
    }
    fn rel_body(&mut self) -> Option<TVal> {
        if !self.eat(b'[') {
            return None;
        }
        let mut rel_type = String::new();
        if self.eat(b':') {
            rel_type = self.name()?;
        }
        let props = self.props()?;
        if !self.eat(b']') {
            return None;
        }
        Some(TVal::Rel { rel_type, props })
    }
    fn value(&mut self) -> Option<TVal> {
        match self.peek()? {
            b'[' => {
                // A relationship `[:T]` or a list.
                let save = self.i;
                self.i += 1;
                if self.peek() == Some(b':') {
                    self.i = save;
                    return self.rel_body();
                }
                let mut items = Vec::new();
                if self.eat(b']') {
                    return Some(TVal::List(items));
                }
                loop {
                    items.push(self.value()?);
                    if self.eat(b']') {
                        return Some(TVal::List(items));
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b'{' => self.props().map(TVal::Map),
            b'(' => self.node(),
            b'<' => {
                self.i += 1;
                let mut nodes = vec![self.node()?];
                let mut rels = Vec::new();
                while !self.eat(b'>') {
                    let back = self.eat(b'<');
                    if !self.eat(b'-') {
                        return None;
                    }
                    let r = self.rel_body()?;
                    if !self.eat(b'-') {
                        return None;
                    }
                    let fwd = self.eat(b'>');
                    rels.push((r, fwd && !back));
                    nodes.push(self.node()?);
                }
                Some(TVal::Path { nodes, rels })
            }
            b'\'' | b'"' => {
                let q = self.s[self.i];
                self.i += 1;
                let mut out = Vec::new();
                while self.i < self.s.len() && self.s[self.i] != q {
                    if self.s[self.i] == b'\\' && self.i + 1 < self.s.len() {
                        self.i += 1;
                        out.push(match self.s[self.i] {
                            b'n' => b'\n',
                            b't' => b'\t',
                            c => c,
                        });
                    } else {
                        out.push(self.s[self.i]);
                    }
                    self.i += 1;
                }
                self.i += 1;
                Some(TVal::Str(String::from_utf8_lossy(&out).into_owned()))
            }
            _ => {
                let start = self.i;
                while self.i < self.s.len() && !b",]}) \t".contains(&self.s[self.i]) {
                    self.i += 1;
                }
                let tok = std::str::from_utf8(&self.s[start..self.i]).ok()?;
                Some(match tok {
                    "null" => TVal::Null,
                    "true" => TVal::Bool(true),
                    "false" => TVal::Bool(false),
                    "NaN" => TVal::Float(f64::NAN),
                    "Inf" | "Infinity" => TVal::Float(f64::INFINITY),
                    "-Inf" | "-Infinity" => TVal::Float(f64::NEG_INFINITY),
                    t if t.contains(['.', 'e', 'E']) && !t.starts_with("0x") => TVal::Float(t.parse().ok()?),
                    t => TVal::Int(t.parse().ok()?),
                })
            }
        }
    }
}

fn parse_tval(s: &str) -> Option<TVal> {
    let mut p = P { s: s.as_bytes(), i: 0 };
    let v = p.value()?;
    p.ws();
    (p.i == s.len()).then_some(v)
}

fn to_param(v: &TVal) -> CypherValue {
    match v {
        TVal::Null => CypherValue::Null,
        TVal::Bool(b) => CypherValue::Bool(*b),
        TVal::Int(i) => CypherValue::Int(*i),
        TVal::Float(f) => CypherValue::Float(*f),
        TVal::Str(s) => CypherValue::from(s.as_str()),
        TVal::List(l) => CypherValue::list(l.iter().map(to_param).collect()),
        TVal::Map(m) => CypherValue::map(m.iter().map(|(k, v)| (k.clone(), to_param(v))).collect()),
        _ => CypherValue::Null,
    }
}

fn props_eq(expected: &BTreeMap<String, TVal>, actual: &BTreeMap<String, ResultValue>, bags: bool) -> bool {
    expected.len() == actual.len() && expected.iter().all(|(k, v)| actual.get(k).is_some_and(|a| value_eq(v, a, bags)))
}

fn value_eq(e: &TVal, a: &ResultValue, bags: bool) -> bool {
    match (e, a) {
        (TVal::Null, ResultValue::Null) => true,
        (TVal::Bool(x), ResultValue::Bool(y)) => x == y,
        (TVal::Int(x), ResultValue::Int(y)) => x == y,
        (TVal::Float(x), ResultValue::Float(y)) => {
            (x.is_nan() && y.is_nan()) || x == y || ((x - y).abs() <= 1e-12 * x.abs().max(y.abs()))
        }
        (TVal::Str(x), ResultValue::String(y)) => x == y,
        // The TCK writes temporal values as their ISO 8601 strings.
        (TVal::Str(x), ResultValue::Temporal(t)) => *x == ResultValue::temporal_string(t),
        (TVal::List(x), ResultValue::List(y)) => {
            if x.len() != y.len() {
                return false;
            }
            if bags {
                let mut used = vec![false; y.len()];
                x.iter().all(|xe| {
                    let found = y.iter().enumerate().position(|(j, ye)| !used[j] && value_eq(xe, ye, bags));
                    found.map(|j| used[j] = true).is_some()
                })
            } else {
                x.iter().zip(y).all(|(p, q)| value_eq(p, q, bags))
            }
        }
        (TVal::Map(x), ResultValue::Map(y)) => props_eq(x, y, bags),
        (TVal::Node { labels, props }, ResultValue::Node(n)) => {
            let actual: BTreeSet<String> = n.labels.iter().cloned().collect();
            &actual == labels && props_eq(props, &n.properties, bags)
        }
        (TVal::Rel { rel_type, props }, ResultValue::Relationship(r)) => {
            &r.rel_type == rel_type && props_eq(props, &r.properties, bags)
        }
        (TVal::Path { nodes, rels }, ResultValue::Path { nodes: an, relationships: ar }) => {
            nodes.len() == an.len()
                && rels.len() == ar.len()
                && nodes.iter().zip(an).all(|(x, y)| value_eq(x, &ResultValue::Node(y.clone()), bags))
                && rels.iter().enumerate().all(|(i, (r, fwd))| {
                    // A self-loop runs both ways; any other relationship must leave
                    // the path's i-th node exactly when the expected one points forward.
                    let self_loop = ar[i].start == ar[i].end;
                    value_eq(r, &ResultValue::Relationship(ar[i].clone()), bags)
                        && (self_loop || (ar[i].start == an[i].id) == *fwd)
                })
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Running

/// The class, phase and detail sprig reports for `e`, in the TCK's words.
fn error_status(e: &sprig::Error) -> (String, String, String) {
    match e.cypher_status() {
        Some(s) => (s.class.to_string(), s.phase.as_str().to_string(), s.detail.to_string()),
        None => ("Other".into(), "any time".into(), e.kind().into()),
    }
}

#[derive(Debug, Default, Clone, PartialEq)]
struct GraphState {
    nodes: BTreeSet<u64>,
    rels: BTreeSet<u64>,
    labels: BTreeSet<String>,
    props: BTreeSet<String>,
}

fn state(db: &Database) -> GraphState {
    let mut s = GraphState::default();
    if let Ok(rows) = db.cypher("MATCH (n) RETURN n", ()) {
        for row in rows.flatten() {
            if let ResultValue::Node(n) = &row.values()[0] {
                s.nodes.insert(n.id);
                s.labels.extend(n.labels.iter().cloned());
                for (k, v) in &n.properties {
                    s.props.insert(format!("n{}.{k}={v:?}", n.id));
                }
            }
        }
    }
    if let Ok(rows) = db.cypher("MATCH ()-[r]->() RETURN r", ()) {
        for row in rows.flatten() {
            if let ResultValue::Relationship(r) = &row.values()[0] {
                s.rels.insert(r.id);
                for (k, v) in &r.properties {
                    s.props.insert(format!("r{}.{k}={v:?}", r.id));
                }
            }
        }
    }
    s
}

fn side_effects(before: &GraphState, after: &GraphState) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: usize| {
        if v > 0 {
            m.insert(k.to_string(), v);
        }
    };
    put("+nodes", after.nodes.difference(&before.nodes).count());
    put("-nodes", before.nodes.difference(&after.nodes).count());
    put("+relationships", after.rels.difference(&before.rels).count());
    put("-relationships", before.rels.difference(&after.rels).count());
    put("+labels", after.labels.difference(&before.labels).count());
    put("-labels", before.labels.difference(&after.labels).count());
    put("+properties", after.props.difference(&before.props).count());
    put("-properties", before.props.difference(&after.props).count());
    m
}

enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

/// Opens an empty database for a scenario (in memory, or on a cluster).
type OpenEmpty<'a> = &'a (dyn Fn() -> sprig::Result<Database> + Sync);

fn run_scenario(sc: &Scenario, graphs_dir: &Path, open: OpenEmpty<'_>) -> Outcome {
    let mut db = match open() {
        Ok(db) => db,
        Err(e) => return Outcome::Fail(format!("open: {e}")),
    };
    let mut params = Params::default();
    let mut result: Option<Result<(Vec<String>, Vec<Vec<ResultValue>>), sprig::Error>> = None;
    let mut before = GraphState::default();
    let mut after = GraphState::default();
    for step in &sc.steps {
        match step {
            Step::EmptyGraph => match open() {
                Ok(d) => db = d,
                Err(e) => return Outcome::Fail(format!("open: {e}")),
            },
            Step::NamedGraph(name) => {
                let file = graphs_dir.join(name).join(format!("{name}.cypher"));
                let Ok(text) = std::fs::read_to_string(&file) else {
                    return Outcome::Skip(format!("missing graph {}", file.display()));
                };
                if let Err(e) = db.cypher(&text, ()) {
                    return Outcome::Fail(format!("graph {name}: {e}"));
                }
            }
            Step::Execute(q) => {
                if let Err(e) = db.cypher(q, params.clone()) {
                    return Outcome::Fail(format!("setup query failed: {e}\n{q}"));
                }
            }
            Step::Parameters(table) => {
                for row in table {
                    if row.len() < 2 {
                        continue;
                    }
                    match parse_tval(&row[1]) {
                        Some(v) => params.0.push((row[0].clone(), to_param(&v))),
                        None => return Outcome::Skip(format!("cannot read parameter {}", row[1])),
                    }
                }
            }
            Step::Query(q) | Step::ControlQuery(q) => {
                before = state(&db);
                let options = CypherOptions { params: params.clone(), ..Default::default() };
                // An error on any row fails the query, as it would for a client.
                result = Some(db.cypher_with(q, &options).and_then(|rows| {
                    let cols = rows.columns().to_vec();
                    let rows = rows.map(|r| r.map(|r| r.values().to_vec())).collect::<Result<Vec<_>, _>>()?;
                    Ok((cols, rows))
                }));
                after = state(&db);
            }
            Step::Empty => match &result {
                Some(Ok((_, rows))) if rows.is_empty() => {}
                Some(Ok((_, rows))) => return Outcome::Fail(format!("expected no rows, got {rows:?}")),
                Some(Err(e)) => return Outcome::Fail(format!("query failed: {e}")),
                None => return Outcome::Fail("no query".into()),
            },
            Step::Result { table, ordered, list_bags } => {
                let (cols, rows) = match &result {
                    Some(Ok(r)) => r,
                    Some(Err(e)) => return Outcome::Fail(format!("query failed: {e} {:?}", error_status(e))),
                    None => return Outcome::Fail("no query".into()),
                };
                let Some(header) = table.first() else { return Outcome::Fail("no header".into()) };
                let mut order = Vec::new();
                for h in header {
                    match cols.iter().position(|c| c == h) {
                        Some(p) => order.push(p),
                        None => return Outcome::Fail(format!("column {h:?} missing; got {cols:?}")),
                    }
                }
                if cols.len() != header.len() {
                    return Outcome::Fail(format!("columns {cols:?}, expected {header:?}"));
                }
                let mut expected = Vec::new();
                for row in &table[1..] {
                    let mut vals = Vec::new();
                    for cell in row {
                        match parse_tval(cell) {
                            Some(v) => vals.push(v),
                            None => return Outcome::Skip(format!("cannot read expected value {cell}")),
                        }
                    }
                    expected.push(vals);
                }
                if expected.len() != rows.len() {
                    return Outcome::Fail(format!("{} rows, expected {}: {rows:?}", rows.len(), expected.len()));
                }
                let row_eq = |e: &Vec<TVal>, a: &Vec<ResultValue>| {
                    e.iter().zip(&order).all(|(ev, &p)| a.get(p).is_some_and(|av| value_eq(ev, av, *list_bags)))
                };
                if *ordered {
                    for (e, a) in expected.iter().zip(rows) {
                        if !row_eq(e, a) {
                            return Outcome::Fail(format!("row {a:?} expected {e:?}"));
                        }
                    }
                } else {
                    let mut used = vec![false; rows.len()];
                    for e in &expected {
                        match rows.iter().enumerate().position(|(j, a)| !used[j] && row_eq(e, a)) {
                            Some(j) => used[j] = true,
                            None => return Outcome::Fail(format!("expected row {e:?} not found in {rows:?}")),
                        }
                    }
                }
            }
            Step::NoSideEffects => {
                let fx = side_effects(&before, &after);
                if !fx.is_empty() {
                    return Outcome::Fail(format!("unexpected side effects {fx:?}"));
                }
            }
            Step::SideEffects(table) => {
                let fx = side_effects(&before, &after);
                let mut want = BTreeMap::new();
                for row in table {
                    if row.len() == 2 {
                        let n: usize = row[1].parse().unwrap_or(0);
                        if n > 0 {
                            want.insert(row[0].clone(), n);
                        }
                    }
                }
                if fx != want {
                    return Outcome::Fail(format!("side effects {fx:?}, expected {want:?}"));
                }
            }
            Step::Error { class, phase, detail } => match &result {
                Some(Err(e)) => {
                    let got = error_status(e);
                    // `any time` and `*` are the TCK's wildcards.
                    let phase_ok = phase == "any time" || got.1 == *phase;
                    let detail_ok = detail == "*" || got.2 == *detail;
                    if got.0 != *class || !phase_ok || !detail_ok {
                        return Outcome::Fail(format!("expected {class} at {phase}: {detail}, got {got:?}: {e}"));
                    }
                }
                Some(Ok((_, rows))) => {
                    return Outcome::Fail(format!("expected {class}: {detail}, got {} rows", rows.len()))
                }
                None => return Outcome::Fail("no query".into()),
            },
            Step::Procedure { signature, table } => {
                if let Err(why) = declare_procedure(&db, signature, table) {
                    return Outcome::Fail(format!("declaring {signature}: {why}"));
                }
            }
            Step::Unknown(line) => return Outcome::Skip(format!("unknown step {line}")),
        }
    }
    Outcome::Pass
}

/// Declares a TCK test procedure: its table's rows, the inputs' columns first, are
/// its answers; a call returns the outputs of the rows whose inputs equal the
/// arguments (null matching null), in the table's order.
fn declare_procedure(db: &Database, signature: &str, table: &[Vec<String>]) -> Result<(), String> {
    let open = signature.find('(').ok_or("no '('")?;
    let close = signature[open..].find(')').ok_or("no ')'")? + open;
    let inputs = signature[open + 1..close].split(',').filter(|f| !f.trim().is_empty()).count();
    let mut rows = Vec::new();
    for row in table.iter().skip(1) {
        let mut values = Vec::new();
        for cell in row {
            values.push(to_param(&parse_tval(cell).ok_or_else(|| format!("cannot read {cell}"))?));
        }
        rows.push(values);
    }
    let matches = |a: &CypherValue, b: &CypherValue| a.equals(b) == Some(true) || (a.is_null() && b.is_null());
    db.register_procedure(signature, move |args| {
        Ok(rows
            .iter()
            .filter(|r| r.len() >= inputs && r[..inputs].iter().zip(args).all(|(x, y)| matches(x, y)))
            .map(|r| r[inputs..].to_vec())
            .collect())
    })
    .map_err(|e| e.to_string())
}

fn features(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            features(&p, out);
        } else if p.extension().is_some_and(|e| e == "feature") {
            out.push(p);
        }
    }
}

/// The scenarios' counts: passed, failed, skipped.
struct Tally {
    pass: usize,
    fail: usize,
    skip: usize,
}

/// Runs every scenario (or those SPRIG_TCK_FILTER names) on databases from `open`
/// and prints the table by feature group and `N passed, N failed, N skipped`.
fn run_tck(open: OpenEmpty<'_>) -> Tally {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var("SPRIG_TCK_DIR").map(PathBuf::from).unwrap_or_else(|_| root.join("tests/tck/public"));
    let graphs = dir.join("../graphs");
    let filter = std::env::var("SPRIG_TCK_FILTER").ok();
    let mut files = Vec::new();
    features(&dir, &mut files);
    assert!(!files.is_empty(), "no feature files under {}", dir.display());
    let mut per_feature: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let (mut pass, mut fail, mut skip) = (0, 0, 0);
    let mut failures: HashMap<String, usize> = HashMap::new();
    for f in &files {
        let rel = f.strip_prefix(&dir).unwrap_or(f).display().to_string();
        for sc in parse_feature(f, &rel) {
            if let Some(flt) = &filter {
                if !sc.feature.contains(flt.as_str()) && !sc.name.contains(flt.as_str()) {
                    continue;
                }
            }
            let group = rel.rsplit_once('/').map_or(rel.clone(), |(d, _)| d.to_string());
            let entry = per_feature.entry(group).or_default();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_scenario(&sc, &graphs, open)))
                .unwrap_or_else(|_| Outcome::Fail("panicked".to_string()));
            match outcome {
                Outcome::Pass => {
                    pass += 1;
                    entry.0 += 1;
                }
                Outcome::Fail(why) => {
                    fail += 1;
                    entry.1 += 1;
                    let short: String = why.chars().take(60).collect();
                    *failures.entry(short).or_default() += 1;
                    if filter.is_some() {
                        println!(
                            "FAIL {} :: {}\n    {}",
                            sc.feature,
                            sc.name,
                            why.chars().take(600).collect::<String>()
                        );
                    }
                }
                Outcome::Skip(why) => {
                    skip += 1;
                    entry.2 += 1;
                    if filter.is_some() {
                        println!("SKIP {} :: {}: {why}", sc.feature, sc.name);
                    }
                }
            }
        }
    }
    println!("{:<50} {:>6} {:>6} {:>6}", "feature group", "pass", "fail", "skip");
    for (g, (p, f, s)) in &per_feature {
        println!("{g:<50} {p:>6} {f:>6} {s:>6}");
    }
    if std::env::var("SPRIG_TCK_REASONS").is_ok() {
        let mut reasons: Vec<_> = failures.into_iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(&a.1));
        for (r, n) in reasons.iter().take(40) {
            println!("{n:>5}  {r}");
        }
    }
    println!("{pass} passed, {fail} failed, {skip} skipped");
    Tally { pass, fail, skip }
}

/// The floor (tests/tck/FLOOR) when every scenario ran, else none.
fn floor() -> Option<usize> {
    if std::env::var("SPRIG_TCK_FILTER").is_ok() {
        return None;
    }
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tck/FLOOR");
    Some(std::fs::read_to_string(file).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0))
}

#[test]
fn opencypher_tck() {
    let tally = run_tck(&Database::in_memory);
    if let Some(floor) = floor() {
        assert!(tally.pass >= floor, "{} scenarios passed, below the floor of {floor}", tally.pass);
    }
}

/// The same scenarios with each database on a Redis Cluster (a new database name per
/// scenario): the same count passes as in memory.
#[test]
fn opencypher_tck_on_a_redis_cluster() {
    if !redis::cluster_tests_run() {
        return;
    }
    let cluster = redis::Cluster::start("7900");
    let next = std::sync::atomic::AtomicUsize::new(0);
    let open = || {
        let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Database::open(format!("redis://{}/tck{n}", cluster.seeds))
    };
    let on_cluster = run_tck(&open);
    let in_memory = run_tck(&Database::in_memory);
    assert_eq!(
        (on_cluster.pass, on_cluster.fail, on_cluster.skip),
        (in_memory.pass, in_memory.fail, in_memory.skip),
        "the TCK on the cluster differs from the TCK in memory"
    );
}
