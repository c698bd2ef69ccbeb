//! Helpers shared by the differential tests.

use sprig::ResultValue;

/// The rows of a statement as sorted text (a bag: row order is free), or the error
/// kind when it fails.
pub fn sorted_rows(rows: sprig::Result<sprig::Rows>) -> Result<Vec<String>, String> {
    let rows = rows.map_err(|e| format!("error {}", e.kind()))?;
    let columns = rows.columns().to_vec();
    let mut out = Vec::new();
    for r in rows {
        let r = r.map_err(|e| format!("error {}", e.kind()))?;
        let cells: Vec<String> = columns
            .iter()
            .map(|c| r.get::<ResultValue>(c).map_or_else(|e| format!("error {e}"), |v| format!("{v:?}")))
            .collect();
        out.push(cells.join("|"));
    }
    out.sort();
    Ok(out)
}
