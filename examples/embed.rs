//! The smallest useful embedding: one database, an XML document queried with XPath,
//! a graph written in a transaction and queried with Cypher and parameters.
//!
//!     cargo run --example embed

use sprig::{params, Database, XPathValue};

fn main() -> Result<(), sprig::Error> {
    let db = Database::in_memory()?;

    // XML: load a document (streamed; all or nothing), then ask XPath.
    db.load_xml("shelf", "<shelf><book year='2005'>Rust</book><book year='1999'>XML</book></shelf>".as_bytes())?;
    if let XPathValue::NodeSet(books) = db.xpath("shelf", "//book[@year > 2000]")? {
        for book in books.iter() {
            let book = book?;
            println!("{} is at {}", book.string, book.path);
        }
    }
    println!("books: {:?}", db.xpath("shelf", "count(//book)")?);

    // Graph: a write transaction commits everything or, dropped, nothing.
    let mut tx = db.begin_write()?;
    tx.cypher("CREATE (:Person {name: 'Ada'})-[:KNOWS]->(:Person {name: 'Alan'})", ())?;
    tx.cypher("MATCH (a:Person {name: 'Ada'}) CREATE (a)-[:KNOWS]->(:Person {name: 'Grace'})", ())?;
    tx.commit()?;

    let rows = db.cypher(
        "MATCH (p:Person {name: $name})-[:KNOWS]->(f) RETURN f.name AS friend ORDER BY friend",
        params! {"name" => "Ada"},
    )?;
    for row in rows {
        let friend: String = row?.get("friend")?;
        println!("Ada knows {friend}");
    }
    Ok(())
}
