//! Plans as JSON, both ways: what `sprig explain|profile --format json` prints, and
//! what the server answers `EXPLAIN` and `PROFILE` with. The server's shape is the
//! Neo4j Query API's (`queryPlan` / `profiledQueryPlan`, operators with
//! `operatorType`, `arguments` and `children`) with what sprig's own clients need
//! to print a plan exactly as a local one: the arguments' order, exact times, and
//! the profile's run times and cache counters.

use std::time::Duration;

use serde_json::{json, Map, Value as Json};

use crate::{CacheSpace, CacheStats, Detail, Error, Explained, PlanNode, Result, SpaceStats};

/// Milliseconds with three decimals, as plans print times.
pub fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn detail_json(v: &Detail) -> Json {
    match v {
        Detail::Int(n) => json!(n),
        Detail::Text(s) => json!(s),
    }
}

/// One operator and its subtree, as `sprig explain --format json` prints it.
pub fn plan_json(node: &PlanNode) -> Json {
    let details: Map<String, Json> = node.details.iter().map(|(k, v)| (k.clone(), detail_json(v))).collect();
    let mut obj = Map::new();
    obj.insert("operator".into(), json!(node.operator));
    obj.insert("details".into(), Json::Object(details));
    obj.insert("estimated_rows".into(), node.estimated_rows.map_or(Json::Null, |n| json!(n)));
    if let Some(rows) = node.rows {
        obj.insert("rows".into(), json!(rows));
    }
    if let Some(time) = node.time {
        obj.insert("time_ms".into(), json!(millis(time)));
    }
    obj.insert("children".into(), Json::Array(node.children.iter().map(plan_json).collect()));
    Json::Object(obj)
}

/// The read cache's counters, as profiles print them.
pub fn cache_json(c: &CacheStats) -> Json {
    let spaces: Map<String, Json> = c
        .spaces
        .iter()
        .map(|s| (s.space.name().to_string(), json!({"hits": s.hits, "misses": s.misses, "evictions": s.evictions})))
        .collect();
    json!({"hits": c.hits(), "misses": c.misses(), "hit_rate": c.hit_rate(), "evictions": c.evictions(),
        "bytes": c.bytes, "budget_bytes": c.capacity, "spaces": spaces})
}

/// `{"plan", "elapsed_ms", "first_ms", "cache"}`, as `--format json` prints a plan.
pub fn explained_json(explained: &Explained) -> Json {
    let mut obj = Map::new();
    obj.insert("plan".into(), plan_json(&explained.plan));
    if let Some(e) = explained.elapsed {
        obj.insert("elapsed_ms".into(), json!(millis(e)));
    }
    if let Some(f) = explained.first {
        obj.insert("first_ms".into(), json!(millis(f)));
    }
    if let Some(c) = &explained.cache {
        obj.insert("cache".into(), cache_json(c));
    }
    Json::Object(obj)
}

/// An operator as the Neo4j Query API writes one, with `argumentOrder` (JSON objects
/// keep no order) and, after PROFILE, `records` and `time` in nanoseconds.
fn neo4j_operator(node: &PlanNode) -> Json {
    let mut arguments: Map<String, Json> = node.details.iter().map(|(k, v)| (k.clone(), detail_json(v))).collect();
    if let Some(n) = node.estimated_rows {
        arguments.insert("EstimatedRows".into(), json!(n));
    }
    let mut obj = Map::new();
    obj.insert("operatorType".into(), json!(node.operator));
    obj.insert("arguments".into(), Json::Object(arguments));
    obj.insert("argumentOrder".into(), json!(node.details.iter().map(|(k, _)| k).collect::<Vec<_>>()));
    obj.insert("identifiers".into(), json!([]));
    if let Some(rows) = node.rows {
        obj.insert("records".into(), json!(rows));
    }
    if let Some(time) = node.time {
        obj.insert("time".into(), json!(u64::try_from(time.as_nanos()).unwrap_or(u64::MAX)));
    }
    obj.insert("children".into(), Json::Array(node.children.iter().map(neo4j_operator).collect()));
    Json::Object(obj)
}

/// What the server answers `EXPLAIN` (`queryPlan`) or `PROFILE` (`profiledQueryPlan`,
/// with `profile`: `elapsed`, `first` in nanoseconds and `cache`) with, besides the
/// result.
pub fn plan_answer(explained: &Explained) -> Map<String, Json> {
    let mut out = Map::new();
    let profiled = explained.elapsed.is_some();
    let key = if profiled { "profiledQueryPlan" } else { "queryPlan" };
    out.insert(key.into(), neo4j_operator(&explained.plan));
    if profiled {
        let nanos = |d: Option<Duration>| d.map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        let cache = explained.cache.as_ref().map(|c| {
            let spaces: Vec<Json> = c
                .spaces
                .iter()
                .map(|s| json!({"space": s.space.name(), "hits": s.hits, "misses": s.misses, "evictions": s.evictions}))
                .collect();
            json!({"bytes": c.bytes, "capacity": c.capacity, "entries": c.entries, "spaces": spaces})
        });
        out.insert(
            "profile".into(),
            json!({"elapsed": nanos(explained.elapsed), "first": nanos(explained.first), "cache": cache}),
        );
    }
    out
}

fn malformed(what: &str) -> Error {
    Error::Usage(format!("the server's plan is malformed: {what}"))
}

fn u64_of(v: &Json, what: &str) -> Result<u64> {
    v.as_u64().ok_or_else(|| malformed(what))
}

fn operator_of(v: &Json) -> Result<PlanNode> {
    let operator = v["operatorType"].as_str().ok_or_else(|| malformed("an operator without operatorType"))?;
    let arguments = v["arguments"].as_object().ok_or_else(|| malformed("an operator without arguments"))?;
    let order = v["argumentOrder"].as_array().ok_or_else(|| malformed("an operator without argumentOrder"))?;
    let mut details = Vec::with_capacity(order.len());
    for key in order {
        let key = key.as_str().ok_or_else(|| malformed("a non-string argument name"))?;
        let detail = match arguments.get(key) {
            Some(Json::String(s)) => Detail::Text(s.clone()),
            Some(n) if n.is_u64() => Detail::Int(u64_of(n, "an argument")?),
            _ => return Err(malformed(&format!("argument {key}"))),
        };
        details.push((key.to_string(), detail));
    }
    let children = match v.get("children") {
        Some(Json::Array(children)) => children.iter().map(operator_of).collect::<Result<Vec<_>>>()?,
        _ => Vec::new(),
    };
    Ok(PlanNode {
        operator: operator.to_string(),
        details,
        estimated_rows: arguments.get("EstimatedRows").map(|n| u64_of(n, "EstimatedRows")).transpose()?,
        rows: v.get("records").map(|n| u64_of(n, "records")).transpose()?,
        time: v.get("time").map(|n| u64_of(n, "time").map(Duration::from_nanos)).transpose()?,
        children,
    })
}

fn cache_of(v: &Json) -> Result<CacheStats> {
    let count = |k: &str| u64_of(&v[k], k).map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let mut spaces = Vec::new();
    for s in v["spaces"].as_array().ok_or_else(|| malformed("cache without spaces"))? {
        let name = s["space"].as_str().unwrap_or_default();
        let space = CacheSpace::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| malformed(&format!("cache space '{name}'")))?;
        spaces.push(SpaceStats {
            space,
            hits: u64_of(&s["hits"], "hits")?,
            misses: u64_of(&s["misses"], "misses")?,
            evictions: u64_of(&s["evictions"], "evictions")?,
        });
    }
    Ok(CacheStats { capacity: count("capacity")?, bytes: count("bytes")?, entries: count("entries")?, spaces })
}

/// The plan in a server's answer ([`plan_answer`]); `None` when it has none.
pub fn explained_from_answer(body: &Json) -> Result<Option<Explained>> {
    let (plan, profiled) = match (body.get("profiledQueryPlan"), body.get("queryPlan")) {
        (Some(plan), _) => (plan, true),
        (None, Some(plan)) => (plan, false),
        (None, None) => return Ok(None),
    };
    let plan = operator_of(plan)?;
    if !profiled {
        return Ok(Some(Explained { plan, elapsed: None, first: None, cache: None }));
    }
    let profile = &body["profile"];
    let nanos = |k: &str| profile[k].as_u64().map(Duration::from_nanos);
    let cache = match &profile["cache"] {
        Json::Null => None,
        c => Some(cache_of(c)?),
    };
    Ok(Some(Explained { plan, elapsed: nanos("elapsed"), first: nanos("first"), cache }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_comes_back_from_the_answer_as_it_went() {
        let leaf = PlanNode {
            operator: "NodeByLabelScan".into(),
            details: vec![("label".into(), Detail::Text("P\"q".into())), ("a".into(), Detail::Int(7))],
            estimated_rows: Some(12),
            rows: Some(11),
            time: Some(Duration::from_nanos(1_234_567)),
            children: vec![],
        };
        let root = PlanNode {
            operator: "ProduceResults".into(),
            details: vec![("z".into(), Detail::Int(0))],
            estimated_rows: None,
            rows: Some(1),
            time: Some(Duration::from_nanos(5)),
            children: vec![leaf.clone(), leaf],
        };
        let cache = CacheStats {
            capacity: 1 << 30,
            bytes: 4096,
            entries: 3,
            spaces: vec![SpaceStats { space: CacheSpace::GraphOut, hits: 9, misses: 2, evictions: 1 }],
        };
        let profiled = Explained {
            plan: root.clone(),
            elapsed: Some(Duration::from_nanos(987_654)),
            first: Some(Duration::from_millis(3)),
            cache: Some(cache),
        };
        let explained = Explained { plan: root, elapsed: None, first: None, cache: None };
        for e in [profiled, explained] {
            let answer = Json::Object(plan_answer(&e));
            let back = explained_from_answer(&answer).expect("well formed").expect("a plan");
            assert_eq!(explained_json(&back), explained_json(&e));
            assert_eq!(back.plan, e.plan);
            assert_eq!((back.elapsed, back.first, back.cache), (e.elapsed, e.first, e.cache));
        }
        assert!(explained_from_answer(&json!({"data": {}})).expect("no plan").is_none());
        let broken = json!({"queryPlan": {"operatorType": "X", "arguments": {}, "argumentOrder": ["gone"]}});
        assert!(explained_from_answer(&broken).is_err());
    }
}
