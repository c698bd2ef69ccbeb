//! The bundled sample data a new default database is seeded with, compiled into the
//! binary so that the first query works wherever sprig runs.

use crate::{Database, Result};

/// Sample documents: (collection name, XML text).
pub const SAMPLE_XML: &[(&str, &str)] =
    &[("auction", include_str!("../fixtures/xml/auction.xml")), ("books", include_str!("../fixtures/xml/books.xml"))];

/// Loads the bundled fixtures into `db`.
pub fn seed(db: &Database) -> Result<()> {
    for (name, text) in SAMPLE_XML {
        db.load_xml(name, text.as_bytes())?;
    }
    Ok(())
}
