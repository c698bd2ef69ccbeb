//! A few seconds of the metamorphic Cypher checks (`tests/metamorphic/mod.rs`) on fixed
//! seeds, so that what they found stays found. Longer runs:
//! `cargo run --release --example cypher_metamorphic -- MINUTES`.

mod metamorphic;

use std::time::Duration;

#[test]
fn predicates_partition_and_indexes_rules_and_aggregates_agree() {
    let secs: f64 = std::env::var("SPRIG_METAMORPHIC_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(4.0);
    let mut out = Vec::new();
    let report = metamorphic::run(Duration::from_secs_f64(secs), 18, &mut out);
    print!("{}", String::from_utf8_lossy(&out));
    let checks: Vec<String> = report.per_check.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!("{} graphs; checks run: {}", report.graphs, checks.join(", "));
    for f in &report.findings {
        println!("finding [{}]: {}", f.check, f.detail.lines().next().unwrap_or(""));
    }
    println!("{} passed, {} failed", report.passed, report.findings.len());
    assert!(report.passed > 0, "no check ran");
    assert!(report.findings.is_empty(), "{} disagreements", report.findings.len());
}
