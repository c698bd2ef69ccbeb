//! The bundled sample data a new default database is seeded with, compiled into the
//! binary so that the first query works wherever sprig runs.

use crate::{Database, Result};

/// Sample documents: (collection name, XML text).
pub const SAMPLE_XML: &[(&str, &str)] =
    &[("auction", include_str!("../fixtures/xml/auction.xml")), ("books", include_str!("../fixtures/xml/books.xml"))];

/// The sample graph: (nodes CSV, edges CSV), loaded into graph `default`.
pub const SAMPLE_GRAPH: (&str, &str) =
    (include_str!("../fixtures/graph/nodes.csv"), include_str!("../fixtures/graph/edges.csv"));

/// The registry's seed records (the results of the papers in `../shared/seeds/`).
pub const REGISTRY_SEED: &str = include_str!("../fixtures/registry/seed.json");

/// Statements the shell's banner suggests: one XPath, one Cypher, one registry query.
/// Each answers on a database seeded with [`seed`] (`tests/cli.rs` checks).
pub const EXAMPLES: [&str; 3] = [
    "xpath auction count(//item[payment = 'Cash']);",
    "MATCH (p:Person)-[:KNOWS]->(f:Person) RETURN p.name, count(f) AS friends ORDER BY friends DESC, p.name LIMIT 3;",
    "USE registry MATCH (m:Model)-[d:DEPLOYED_ON]->(h:Hardware {kind: 'FPGA'}) RETURN m.name, d.speedup, h.name ORDER BY m.name;",
];

/// Loads the bundled fixtures into `db`.
pub fn seed(db: &Database) -> Result<()> {
    for (name, text) in SAMPLE_XML {
        db.load_xml(name, text.as_bytes())?;
    }
    db.load_graph_csv(
        crate::DEFAULT_GRAPH,
        ("fixtures/graph/nodes.csv", Box::new(SAMPLE_GRAPH.0.as_bytes())),
        ("fixtures/graph/edges.csv", Box::new(SAMPLE_GRAPH.1.as_bytes())),
        &mut |_| {},
    )?;
    db.registry_import_text(REGISTRY_SEED, crate::registry::Format::Json)?;
    Ok(())
}
