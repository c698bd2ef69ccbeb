//! Metamorphic testing of sprig's Cypher for as long as you like (see
//! `tests/metamorphic/mod.rs` for the checks):
//!
//! ```sh
//! cargo run --release --example cypher_metamorphic -- [MINUTES] [SEED]
//! ```
//!
//! Prints each disagreement (minimized by dropping predicate parts), what ran, and
//! `N passed, N failed`; exits 1 on a disagreement.

#[path = "../tests/metamorphic/mod.rs"]
mod metamorphic;

use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let minutes: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
    });
    let report = metamorphic::run(Duration::from_secs_f64(minutes * 60.0), seed, &mut std::io::stdout());
    println!(
        "seed {seed}: {} graphs, checks run: {}",
        report.graphs,
        report.per_check.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
    );
    for f in &report.findings {
        println!("finding [{}]: {}", f.check, f.detail.lines().next().unwrap_or(""));
    }
    println!("{} passed, {} failed", report.passed, report.findings.len());
    if !report.findings.is_empty() {
        std::process::exit(1);
    }
}
