//! Temporal values and procedures end to end: a temporal property survives a load, a
//! restart, JSON and CSV output and the embedding API; ORDER BY and range predicates
//! on it use its index (and answer as without it); declared procedures run.

use assert_cmd::Command;
use sprig::{CypherOptions, CypherValue, Database, Params, ResultValue, Temporal};

fn sprig(db: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("sprig").expect("the sprig binary");
    cmd.arg("--db").arg(db).env_remove("SPRIG_DB");
    cmd
}

fn strings(db: &Database, query: &str) -> Vec<String> {
    db.cypher(query, ())
        .expect("query")
        .map(|r| {
            let r = r.expect("row");
            match &r.values()[0] {
                ResultValue::Temporal(t) => ResultValue::temporal_string(t),
                ResultValue::String(s) => s.clone(),
                other => format!("{other:?}"),
            }
        })
        .collect()
}

#[test]
fn a_temporal_property_survives_load_restart_output_and_the_api() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db_dir = dir.path().join("db");
    let script = dir.path().join("events.cypher");
    std::fs::write(
        &script,
        "CREATE (:Event {name: 'launch', at: datetime('2024-03-31T01:30[Europe/Stockholm]'), \
                         day: date('2024-02-29'), took: duration('P1DT2H3.5S'), \
                         slots: [localtime('09:00'), localtime('13:30:15.25')]});\n\
         CREATE (:Event {name: 'review', at: datetime('2024-03-31T03:30+02:00'), day: date('+12024-01-01'), \
                         took: duration({minutes: -90}), slots: []});\n",
    )
    .expect("script");
    sprig(&db_dir).args(["load", "cypher"]).arg(&script).assert().success();

    // JSON and CSV write the ISO 8601 forms.
    let out = sprig(&db_dir)
        .args([
            "cypher",
            "MATCH (e:Event) RETURN e.name, e.at, e.day, e.took, e.slots ORDER BY e.name",
            "--format",
            "json",
        ])
        .output()
        .expect("ran");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        json["rows"],
        serde_json::json!([
            [
                "launch",
                "2024-03-31T01:30+01:00[Europe/Stockholm]",
                "2024-02-29",
                "P1DT2H3.5S",
                ["09:00", "13:30:15.250"]
            ],
            ["review", "2024-03-31T03:30+02:00", "+12024-01-01", "PT-1H-30M", []]
        ]),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    sprig(&db_dir)
        .args(["cypher", "MATCH (e:Event {name: 'review'}) RETURN e.took AS t", "--format", "csv"])
        .assert()
        .success()
        .stdout("t\nPT-1H-30M\n");

    // After a restart (a new process above, a new handle here) the values compare,
    // compute and come back through the API as they went in.
    let db = Database::open(&db_dir).expect("reopen");
    let rows: Vec<String> = strings(&db, "MATCH (e:Event) WHERE e.at < datetime('2024-03-31T01:00Z') RETURN e.name");
    assert_eq!(rows, vec!["launch"], "01:30+01:00 is 00:30Z, 03:30+02:00 is 01:30Z");
    let later = strings(&db, "MATCH (e:Event {name: 'launch'}) RETURN e.at + duration('PT1H')");
    // One hour after 01:30+01:00 is 03:30+02:00: the clocks moved forward that night.
    assert_eq!(later, vec!["2024-03-31T03:30+02:00[Europe/Stockholm]"]);
    let day: Temporal = db
        .cypher("MATCH (e:Event {name: 'launch'}) RETURN e.day AS d", ())
        .expect("query")
        .single()
        .expect("one row")
        .get("d")
        .expect("a temporal");
    assert_eq!(ResultValue::temporal_string(&day), "2024-02-29");
    // The value goes back in as a parameter and matches the stored one.
    let options = CypherOptions { params: Params(vec![("d".into(), CypherValue::from(day))]), ..Default::default() };
    let n: i64 = db
        .cypher_with("MATCH (e:Event) WHERE e.day = $d RETURN count(*) AS n", &options)
        .expect("query")
        .single()
        .expect("one row")
        .get("n")
        .expect("a count");
    assert_eq!(n, 1);
    // A duration's minutes leave out its day (a day has no fixed length).
    let parts = strings(
        &db,
        "MATCH (e:Event {name: 'launch'}) RETURN [e.at.offset, toString(e.day.week), toString(e.took.minutes)]",
    );
    assert_eq!(parts, vec![r#"List([String("+01:00"), String("9"), String("120")])"#]);
}

/// The plan's operators, pre-order; an index seek that gives the order is
/// `NodeIndexSeek ordered`.
fn operators(plan: &sprig::PlanNode) -> Vec<String> {
    let ordered = plan.get("order").is_some();
    let mut out = vec![if ordered { format!("{} ordered", plan.operator) } else { plan.operator.clone() }];
    for c in &plan.children {
        out.extend(operators(c));
    }
    out
}

#[test]
fn order_by_and_ranges_on_a_temporal_property_use_its_index() {
    let db = Database::in_memory().expect("db");
    db.cypher("CREATE INDEX FOR (e:Ev) ON (e.at)", ()).expect("index");
    db.cypher(
        "UNWIND range(1, 400) AS i CREATE (:Ev {i: i, at: date('2020-01-01') + duration({days: (i * 151) % 400})})",
        (),
    )
    .expect("create");
    // A few nodes without the property or with a value of another type: neither may
    // appear, as without the index.
    db.cypher(
        "CREATE (:Ev {i: 0}), (:Ev {i: -1, at: 'not a date'}), (:Ev {i: -2, at: localdatetime('2020-06-01T00:00')})",
        (),
    )
    .expect("others");
    let queries = [
        "MATCH (e:Ev) WHERE e.at >= date('2020-03-01') RETURN e.i, e.at ORDER BY e.at LIMIT 5",
        "MATCH (e:Ev) WHERE e.at < date('2020-01-20') RETURN e.at ORDER BY e.at DESC",
        "MATCH (e:Ev) WHERE date('2020-02-01') <= e.at AND e.at < date('2020-02-08') WITH e ORDER BY e.at RETURN e.i",
        "MATCH (e:Ev) WHERE e.at > date('2021-01-01') RETURN e.i ORDER BY e.at",
    ];
    for q in queries {
        let plan = db.explain_cypher(q, &CypherOptions::default()).expect("explain").plan;
        let ops = operators(&plan);
        assert!(ops.contains(&"NodeIndexSeek ordered".to_string()), "{q}: {ops:?}");
        assert!(!ops.iter().any(|o| o == "Sort" || o == "Top"), "the index gives the order: {q}: {ops:?}");
        let with_index = strings(&db, q);
        let without = strings(&db, &format!("CYPHER rules=off {q}"));
        assert_eq!(with_index, without, "{q}");
        assert!(!with_index.is_empty() || q.contains("2021"), "{q}");
    }
    assert_eq!(
        strings(&db, "MATCH (e:Ev) WHERE e.at >= date('2020-03-01') RETURN e.at ORDER BY e.at LIMIT 3"),
        vec!["2020-03-01", "2020-03-02", "2020-03-03"]
    );
}
