//! Metamorphic testing of sprig's Cypher (the ideas of SQLancer's TLP and NoREC): on
//! random graphs with mixed-type and null properties, random predicates must
//! partition the rows, indexes and rewrite rules must not change any result, and
//! aggregates must agree with the same computation over `collect()`.
//!
//! Each check compares two ways to get one answer; no answer is written down here:
//! - TLP: `count(*)` equals the counts `WHERE p`, `WHERE NOT p` and
//!   `WHERE (p) IS NULL` added up, over node and relationship patterns;
//! - indexes: a query on a database with property indexes and an LIndex returns the
//!   same bag of rows as on a copy without them, and with LIndex pruning off;
//! - rules: the same with every rewrite rule off (`CYPHER rules=off`) and with each
//!   rule off in turn (`CYPHER skip=Rule`);
//! - aggregates: `count`, `sum`, `min`, `max` and `count(DISTINCT)` against `size`,
//!   `reduce` and list operations over `collect()`.
//!
//! A query that raises a data error (a type error, say) on either side is not
//! compared: which conjunct runs first is the planner's choice, so one plan may
//! short-circuit what another raises. Used by `examples/cypher_metamorphic.rs` (a run
//! of any length) and `tests/cypher_metamorphic.rs` (a few seconds in `cargo test`).

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sprig::{Database, ResultValue};

const WORDS: [&str; 8] = ["alpha", "beta", "gamma", "delta", "pruned", "sparse", "model", "x"];

/// Temporal literals, among them two date-times at the same instant in different
/// zones (not equal, but one index key) and values of several temporal kinds.
const TEMPORALS: [&str; 8] = [
    "date('2020-01-01')",
    "date('2020-01-03')",
    "datetime('2020-01-01T00:00+01:00')",
    "datetime('2019-12-31T23:00Z')",
    "datetime('2020-01-01T00:00[Europe/Stockholm]')",
    "localdatetime('2020-01-01T00:00')",
    "localtime('12:00')",
    "duration('P1D')",
];

fn literal(r: &mut StdRng) -> String {
    if r.random_bool(0.12) {
        return TEMPORALS[r.random_range(0..TEMPORALS.len())].into();
    }
    match r.random_range(0..10) {
        0 => "null".into(),
        1 | 2 => r.random_range(-3..6).to_string(),
        3 => format!("{:.1}", r.random_range(-3.0..6.0)),
        4 => ["true", "false"][r.random_range(0..2)].into(),
        5 | 6 => format!("'{}'", WORDS[r.random_range(0..WORDS.len())]),
        7 => format!("[{}, {}]", r.random_range(0..3), r.random_range(0..3)),
        8 => "''".into(),
        _ => "0.0".into(),
    }
}

/// A random graph as one CREATE script: labels A, B, C; properties p (mixed types),
/// q (integers), name (words, for the LIndex), maybe absent; relationships R and S
/// with a mixed-type property w.
fn graph_script(r: &mut StdRng) -> String {
    let n = r.random_range(5..40);
    let mut parts = Vec::new();
    for i in 0..n {
        let labels: String = ["A", "B", "C"].iter().filter(|_| r.random_bool(0.4)).map(|l| format!(":{l}")).collect();
        let mut props = vec![format!("id: {i}")];
        if r.random_bool(0.8) {
            props.push(format!("p: {}", literal(r)));
        }
        if r.random_bool(0.7) {
            props.push(format!("q: {}", r.random_range(-5..10)));
        }
        if r.random_bool(0.7) {
            let words: Vec<&str> = (0..r.random_range(1..4)).map(|_| WORDS[r.random_range(0..WORDS.len())]).collect();
            props.push(format!("name: '{}'", words.join(" ")));
        }
        parts.push(format!("(n{i}{labels} {{{}}})", props.join(", ")));
    }
    let m = r.random_range(0..n * 2);
    for _ in 0..m {
        let (a, b) = (r.random_range(0..n), r.random_range(0..n));
        let t = ["R", "S"][r.random_range(0..2)];
        let w = if r.random_bool(0.7) { format!(" {{w: {}}}", literal(r)) } else { String::new() };
        parts.push(format!("(n{a})-[:{t}{w}]->(n{b})"));
    }
    format!("CREATE {}", parts.join(",\n"))
}

/// A predicate as a tree, so that it can be shrunk.
#[derive(Clone, Debug)]
enum Pred {
    Atom(String),
    Not(Box<Pred>),
    Bin(&'static str, Box<Pred>, Box<Pred>),
}

impl std::fmt::Display for Pred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pred::Atom(a) => write!(f, "{a}"),
            Pred::Not(p) => write!(f, "NOT ({p})"),
            Pred::Bin(op, a, b) => write!(f, "({a}) {op} ({b})"),
        }
    }
}

/// A relationship variable's property, when the pattern binds `r`.
fn operand(r: &mut StdRng, v: &str) -> String {
    if v == "r" {
        return match r.random_range(0..3) {
            0 => "r.w".into(),
            1 => format!("r.w + {}", r.random_range(-2..3)),
            _ => literal(r),
        };
    }
    match r.random_range(0..8) {
        0 => format!("{v}.p"),
        1 => format!("{v}.q"),
        2 => format!("{v}.name"),
        3 => format!("{v}.q + {}", r.random_range(-2..3)),
        4 => format!("size({v}.name)"),
        5 => format!("toString({v}.q)"),
        6 => format!("{v}.p"),
        _ => literal(r),
    }
}

fn atom(r: &mut StdRng, v: &str) -> Pred {
    // Patterns that bind a relationship `r` also test its property.
    let (v, rel) = v.split_once(',').map_or((v, None), |(n, rel)| (n, Some(rel)));
    if let Some(rel) = rel {
        if r.random_bool(0.3) {
            let a = operand(r, rel);
            let op = ["=", "<>", "<", ">=", "IS NULL", "IS NOT NULL"][r.random_range(0..6)];
            return Pred::Atom(if op.starts_with("IS") {
                format!("{a} {op}")
            } else {
                format!("{a} {op} {}", operand(r, rel))
            });
        }
    }
    let a = operand(r, v);
    Pred::Atom(match r.random_range(0..10) {
        0..=3 => {
            let op = ["=", "<>", "<", "<=", ">", ">="][r.random_range(0..6)];
            format!("{a} {op} {}", operand(r, v))
        }
        4 => format!("{a} IS NULL"),
        5 => format!("{a} IS NOT NULL"),
        6 => format!("{a} IN [{}, {}, {}]", literal(r), literal(r), literal(r)),
        7 => {
            let op = ["STARTS WITH", "ENDS WITH", "CONTAINS"][r.random_range(0..3)];
            let w = WORDS[r.random_range(0..WORDS.len())];
            let needle = if r.random_bool(0.5) { &w[..w.len().min(2)] } else { w };
            format!("{v}.name {op} '{needle}'")
        }
        8 => format!("{v}:{}", ["A", "B", "C"][r.random_range(0..3)]),
        _ => format!("{v}.q = {}", r.random_range(-5..10)),
    })
}

fn pred(r: &mut StdRng, v: &str, depth: u32) -> Pred {
    if depth == 0 || r.random_bool(0.4) {
        return atom(r, v);
    }
    match r.random_range(0..4) {
        0 => Pred::Not(Box::new(pred(r, v, depth - 1))),
        k => Pred::Bin(["AND", "OR", "XOR"][k - 1], Box::new(pred(r, v, depth - 1)), Box::new(pred(r, v, depth - 1))),
    }
}

/// Smaller predicates: a part in place of the whole, or a child in place of a node.
fn shrinks(p: &Pred) -> Vec<Pred> {
    match p {
        Pred::Atom(_) => Vec::new(),
        Pred::Not(a) => {
            let mut v = vec![(**a).clone()];
            v.extend(shrinks(a).into_iter().map(|s| Pred::Not(Box::new(s))));
            v
        }
        Pred::Bin(op, a, b) => {
            let mut v = vec![(**a).clone(), (**b).clone()];
            v.extend(shrinks(a).into_iter().map(|s| Pred::Bin(op, Box::new(s), b.clone())));
            v.extend(shrinks(b).into_iter().map(|s| Pred::Bin(op, a.clone(), Box::new(s))));
            v
        }
    }
}

/// A query's rows as a sorted bag of their debug forms, or its error kind.
fn bag(db: &Database, q: &str) -> Result<Vec<String>, String> {
    let rows = db.cypher(q, ()).map_err(|e| e.kind().to_string())?;
    let mut out = Vec::new();
    for row in rows {
        let row = row.map_err(|e| e.kind().to_string())?;
        out.push(row.values().iter().map(canonical).collect::<Vec<_>>().join(" | "));
    }
    out.sort();
    Ok(out)
}

/// A value's text with floats rounded, so that sums in another order still agree.
fn canonical(v: &ResultValue) -> String {
    match v {
        ResultValue::Float(f) if f.is_finite() => format!("{:.9e}", f),
        ResultValue::List(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(", ")),
        ResultValue::Node(n) => format!("node{}", n.id),
        ResultValue::Relationship(r) => format!("rel{}", r.id),
        other => format!("{other:?}"),
    }
}

fn count(db: &Database, q: &str) -> Result<i64, String> {
    let b = bag(db, q)?;
    b.first()
        .and_then(|s| s.trim_start_matches("Int(").trim_end_matches(')').parse().ok())
        .ok_or(format!("no count: {b:?}"))
}

/// One disagreement: the check and what differed.
pub struct Finding {
    pub check: &'static str,
    pub detail: String,
}

struct Checker<'a> {
    plain: &'a Database,
    indexed: &'a Database,
    rules: Vec<&'static str>,
}

impl Checker<'_> {
    /// `None` when the check holds for `p`.
    fn tlp(&self, pattern: &str, p: &Pred) -> Option<String> {
        let q = |w: &str| format!("MATCH {pattern} {w} RETURN count(*)");
        let all = count(self.plain, &q("")).ok()?;
        let parts = [format!("WHERE {p}"), format!("WHERE NOT ({p})"), format!("WHERE ({p}) IS NULL")];
        let mut sum = 0;
        for w in &parts {
            match count(self.plain, &q(w)) {
                Ok(c) => sum += c,
                // A predicate that raises (a type error) raises in all three: not a partition.
                Err(_) => return None,
            }
        }
        (sum != all).then(|| format!("MATCH {pattern}: count(*) = {all}, but the three parts of `{p}` add up to {sum}"))
    }

    fn same_rows(&self, query: &str) -> Option<String> {
        let base = bag(self.plain, query);
        let mut variants: Vec<(String, Result<Vec<String>, String>)> = vec![
            ("with indexes".into(), bag(self.indexed, query)),
            ("with indexes, lindex=off".into(), bag(self.indexed, &format!("CYPHER lindex=off {query}"))),
            ("rules=off".into(), bag(self.indexed, &format!("CYPHER rules=off {query}"))),
        ];
        for rule in &self.rules {
            variants.push((format!("skip={rule}"), bag(self.indexed, &format!("CYPHER skip={rule} {query}"))));
        }
        for (name, got) in variants {
            // Which conjunct runs first is the planner's choice, so whether a data
            // error (`true + 1`) is raised or short-circuited may differ: compare
            // results only, as TLP and NoREC do.
            let data_error = |r: &Result<Vec<String>, String>| matches!(r, Err(k) if k == "type" || k == "argument" || k == "arithmetic");
            if data_error(&base) || data_error(&got) {
                continue;
            }
            if got != base {
                return Some(format!("{query}\n  plain: {}\n  {name}: {}", show(&base), show(&got)));
            }
        }
        None
    }

    fn aggregates(&self, pattern: &str, v: &str, p: &Pred) -> Option<String> {
        let w = format!("MATCH {pattern} WHERE {p}");
        let direct =
            format!("{w} RETURN count({v}.q), sum({v}.q), min({v}.q), max({v}.q), count(DISTINCT {v}.q), count(*)");
        let via_collect = format!(
            "{w} WITH collect({v}.q) AS xs, count(*) AS n RETURN size(xs), reduce(s = 0, x IN xs | s + x), \
             CASE size(xs) WHEN 0 THEN null ELSE reduce(m = xs[0], x IN xs | CASE WHEN x < m THEN x ELSE m END) END, \
             CASE size(xs) WHEN 0 THEN null ELSE reduce(m = xs[0], x IN xs | CASE WHEN x > m THEN x ELSE m END) END, \
             size(reduce(d = [], x IN xs | CASE WHEN x IN d THEN d ELSE d + [x] END)), n"
        );
        let (a, b) = (bag(self.plain, &direct), bag(self.plain, &via_collect));
        (a != b).then(|| format!("{direct}\n  {}\nvs {via_collect}\n  {}", show(&a), show(&b)))
    }
}

fn show(r: &Result<Vec<String>, String>) -> String {
    match r {
        Ok(rows) if rows.len() > 6 => format!("{} rows: {:?} ...", rows.len(), &rows[..6]),
        Ok(rows) => format!("{rows:?}"),
        Err(e) => format!("error {e}"),
    }
}

fn minimize(p: &Pred, fails: &dyn Fn(&Pred) -> bool) -> Pred {
    let mut p = p.clone();
    'outer: loop {
        for s in shrinks(&p) {
            if fails(&s) {
                p = s;
                continue 'outer;
            }
        }
        return p;
    }
}

fn open_pair(script: &str) -> sprig::Result<(Database, Database)> {
    let plain = Database::in_memory()?;
    let indexed = Database::in_memory()?;
    plain.cypher(script, ())?;
    indexed.cypher("CREATE INDEX a_p FOR (n:A) ON (n.p)", ())?;
    indexed.cypher("CREATE INDEX b_q FOR (n:B) ON (n.q)", ())?;
    indexed.cypher("CREATE INDEX c_name FOR (n:C) ON (n.name)", ())?;
    indexed.cypher("CREATE LINDEX names FOR (n:A) ON EACH [n.name] OPTIONS {hops: 1}", ())?;
    indexed.cypher("CREATE FULLTEXT INDEX words FOR (n:B) ON EACH [n.name]", ())?;
    indexed.cypher(script, ())?;
    Ok((plain, indexed))
}

/// A named check of one predicate: `None` when it holds, else what differed.
type Check<'a> = Box<dyn Fn(&Pred) -> Option<String> + 'a>;

/// What a run did.
pub struct Report {
    pub graphs: u64,
    pub passed: u64,
    pub per_check: BTreeMap<&'static str, u64>,
    pub findings: Vec<Finding>,
}

/// Checks random graphs from `seed` for `time`, writing each disagreement (minimized)
/// to `out` as it is found.
pub fn run(time: Duration, seed: u64, out: &mut dyn Write) -> Report {
    let deadline = Instant::now() + time;
    let mut r = StdRng::seed_from_u64(seed);
    let rules = sprig::cypher_rule_names();
    let (mut passed, mut graphs) = (0u64, 0u64);
    let mut findings: Vec<Finding> = Vec::new();
    let mut per_check: BTreeMap<&str, u64> = BTreeMap::new();
    while Instant::now() < deadline {
        let script = graph_script(&mut r);
        let Ok((plain, indexed)) = open_pair(&script) else {
            findings.push(Finding { check: "setup", detail: script.clone() });
            continue;
        };
        graphs += 1;
        let checker = Checker { plain: &plain, indexed: &indexed, rules: rules.clone() };
        for _ in 0..20 {
            if Instant::now() >= deadline {
                break;
            }
            let (pattern, v) = [
                ("(n)", "n"),
                ("(n:A)", "n"),
                ("(n:B)", "n"),
                ("(n:C)", "n"),
                ("(m)-[:R]->(n)", "n"),
                ("(n:A)-[]-(m)", "n"),
                ("(m)-[r]->(n)", "n,r"),
                ("(n:B)<-[r:S]-(m)", "n,r"),
            ][r.random_range(0..8)];
            // Predicates see `n` (and `r`); projections see `n`.
            let (pv, v) = (v, v.split(',').next().unwrap_or(v));
            let p = pred(&mut r, pv, 3);
            // Only single nodes: their ids are unique, so ORDER BY id LIMIT k has one answer.
            let order = if !pattern.contains('-') && r.random_bool(0.3) {
                format!(" ORDER BY {v}.id LIMIT {}", r.random_range(0..5))
            } else {
                String::new()
            };
            let projection = [
                format!("{v}.id, {v}.p"),
                "count(*)".to_string(),
                format!("{v}.q, count(*)"),
                format!("DISTINCT {v}.name"),
                format!("collect({v}.id)"),
            ][r.random_range(0..5)]
            .clone();
            let checks: [(&'static str, Check<'_>); 3] = [
                ("tlp", Box::new(|p: &Pred| checker.tlp(pattern, p))),
                (
                    "indexes-and-rules",
                    Box::new(|p: &Pred| {
                        let q = if projection.contains("count") || projection.contains("collect") {
                            format!("MATCH {pattern} WHERE {p} RETURN {projection}")
                        } else {
                            format!("MATCH {pattern} WHERE {p} RETURN {projection}{order}")
                        };
                        checker.same_rows(&q)
                    }),
                ),
                ("aggregates", Box::new(|p: &Pred| checker.aggregates(pattern, v, p))),
            ];
            for (name, check) in &checks {
                *per_check.entry(name).or_default() += 1;
                match check(&p) {
                    None => passed += 1,
                    Some(_) => {
                        let small = minimize(&p, &|q| check(q).is_some());
                        let detail = check(&small).unwrap_or_default();
                        let _ = writeln!(out, "DISAGREE [{name}] graph:\n{script}\n{detail}\n");
                        findings.push(Finding { check: name, detail });
                    }
                }
            }
        }
    }
    Report { graphs, passed, per_check, findings }
}
