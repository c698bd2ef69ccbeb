//! Putting documents into a collection one at a time (`Database::put_xml_document`,
//! the server's `PUT /xml/{collection}/{document}`) against loading the final set of
//! documents whole: a metamorphic check, since both must answer every query alike.

use sprig::json::xpath_json;
use sprig::Database;

const QUERIES: [&str; 14] = [
    "count(//book)",
    "//book",
    "//book/@year",
    "//book[@year > 1900]/text()",
    "string(/)",
    "id('b2')",
    "id('b1')",
    "//x",
    "count(//node())",
    "name(/*)",
    "/*/*[last()]",
    "//book[x = 'y']/@id",
    "sum(//book/@year)",
    "//*[not(*)]",
];

fn answers(db: &Database, collection: &str) -> Vec<String> {
    QUERIES
        .iter()
        .map(|q| {
            let value = db.xpath(collection, q).unwrap_or_else(|e| panic!("{q}: {e}"));
            let json = xpath_json(&value).expect("described").to_string();
            // The collection's name is not part of what is compared.
            format!("{q} => {}", json.replace(collection, "C"))
        })
        .collect()
}

const A: &str = "<lib><book id='a1' year='1965'>Dune</book></lib>";
const B: &str = "<lib><book id='b1' year='1815'>Emma</book><mag/></lib>";
const B2: &str = "<shelf><book id='b2' year='2001'>New<x>y</x></book><dvd/></shelf>";
const C: &str = "<lib><book id='c1'>Odd</book></lib>";

fn whole(db: &Database, name: &str, docs: &[(&str, &str)]) {
    let docs = docs.iter().map(|(n, x)| (n.to_string(), Box::new(x.as_bytes()) as Box<dyn std::io::Read>)).collect();
    db.load_xml_documents(name, docs).expect("loaded");
}

#[test]
fn documents_put_one_by_one_answer_as_the_collection_loaded_whole() {
    let db = Database::in_memory().expect("a database");
    assert!(!db.put_xml_document("put", "a", A.as_bytes()).expect("put").1);
    assert!(!db.put_xml_document("put", "b", B.as_bytes()).expect("put").1);
    whole(&db, "ab", &[("a", A), ("b", B)]);
    assert_eq!(answers(&db, "put"), answers(&db, "ab"));

    // B2 replaces b in its place, with names and paths the collection has not seen.
    let (stats, replaced) = db.put_xml_document("put", "b", B2.as_bytes()).expect("put");
    assert!(replaced);
    assert_eq!(stats.elements, 4);
    db.put_xml_document("put", "c", C.as_bytes()).expect("put");
    whole(&db, "whole", &[("a", A), ("b", B2), ("c", C)]);
    let expected = answers(&db, "whole");
    assert_eq!(answers(&db, "put"), expected);
    assert!(expected[0].ends_with("3}"), "{}", expected[0]);
    let info = db.collections().expect("listed").into_iter().find(|c| c.name == "put").expect("put is listed");
    let whole_info = db.collections().expect("listed").into_iter().find(|c| c.name == "whole").expect("listed");
    assert_eq!((info.documents, info.nodes, info.bytes), (3, whole_info.nodes, whole_info.bytes));

    // A broken document changes nothing, and its error names it and its position.
    let error = db.put_xml_document("put", "b", "<shelf>\n  <book></shelf>".as_bytes()).expect_err("malformed");
    let message = error.to_string();
    assert!(message.contains("b: ") && error.position() == Some((2, 9)), "{message} {:?}", error.position());
    assert_eq!(answers(&db, "put"), expected);
    assert!(db.put_xml_document("", "a", A.as_bytes()).is_err());
    // The path summary's counts lost the replaced document's nodes.
    let report = db.check().expect("checked");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn a_put_survives_reopening_and_leaves_no_old_generation_behind() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("db");
    {
        let db = Database::open(&path).expect("opened");
        db.put_xml_document("put", "a", A.as_bytes()).expect("put");
        db.put_xml_document("put", "b", B.as_bytes()).expect("put");
        db.put_xml_document("put", "a", C.as_bytes()).expect("put");
    }
    let db = Database::open(&path).expect("reopened");
    whole(&db, "whole", &[("a", C), ("b", B)]);
    assert_eq!(answers(&db, "put"), answers(&db, "whole"));
    let report = db.check().expect("checked");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}
