//! The XML value index (attribute values, text-only elements, numbers) must give the
//! answers of evaluating without it: every predicate below runs with the planner's
//! join (which uses the index where it can) and with `--join navigate` (which never
//! does), on documents built to trip an index: mixed content, comments in leaves,
//! long values, numbers with spaces, empty elements, several documents. `check`
//! re-derives the index and must find it whole.

use std::fmt::Write as _;

use sprig::{Database, JoinAlgorithm, XPathOptions, XPathValue};

fn document(seed: u32) -> String {
    let mut doc = String::from("<shop>");
    for i in 0..300u32 {
        let k = i * 7 + seed;
        let price = match k % 5 {
            0 => format!("{}", k % 90),
            1 => format!(" {}.5 ", k % 90),
            2 => "n/a".to_string(),
            3 => format!("-{}", k % 13),
            _ => format!("{}", k % 90),
        };
        let name = match k % 6 {
            // Mixed content: the string-value is "red wine" but not one text node.
            0 if seed == 1 => "red<b> </b>wine".to_string(),
            1 => "red wine".to_string(),
            2 => format!("item {}", k % 17),
            3 => "x".repeat(80), // longer than the index keeps as a string
            4 => String::new(),
            _ => "blue".to_string(),
        };
        let note = if k % 11 == 0 { "<note>a<!-- c -->b</note>" } else { "<note>ab</note>" };
        write!(
            doc,
            "<item id='i{k}' code='{}' size=' {} '><name>{name}</name><price>{price}</price>{note}<tag/></item>",
            k % 4,
            k % 9
        )
        .unwrap();
    }
    doc.push_str("</shop>");
    doc
}

const QUERIES: &[&str] = &[
    "//item[@id = 'i7']",
    "//item[@id = 'i7' or @id = 'i1000']",
    "//item[@code = '2']/name",
    "//item[@code = 2]",
    "//item[@size = 3]",
    "//item[@size > 4]",
    "//item[@size = ' 3 ']",
    "//item[name = 'red wine']",
    "//item[name = 'blue']/price",
    "//item[name = '']",
    "//item[name = 'item 3']",
    "//item[price > 50]",
    "//item[price >= 44.5]",
    "//item[price < 0]",
    "//item[price = 12]",
    "//item[price = 'n/a']",
    "//item[note = 'ab']",
    "//item[tag = '']",
    "/shop/item[price <= 3]/@id",
    "//shop[item/price > 88]",
    "//item[50 < price]",
    // A few ancestors, then a large partition: read by binary search.
    "/shop/item[@id = 'i7']/name/text()",
    "/shop/item[@id = 'i14' or @id = 'i21']/note",
    "//item[@id = 'i700']/price",
];

/// Each query's answer: the nodes (document and canonical path) or the value.
fn answers(db: &Database, join: JoinAlgorithm) -> Vec<String> {
    let options = XPathOptions { join, ..Default::default() };
    QUERIES
        .iter()
        .map(|q| match db.xpath_with("shop", q, &options).unwrap() {
            XPathValue::NodeSet(nodes) => {
                let paths: Vec<String> = nodes.iter().map(|n| format!("{n:?}")).collect();
                format!("{q}: count: {} {}", paths.len(), paths.join(" "))
            }
            other => format!("{q}: {other:?}"),
        })
        .collect()
}

#[test]
fn the_value_index_answers_as_evaluation_does() {
    let db = Database::in_memory().unwrap();
    let docs: Vec<(String, Box<dyn std::io::Read>)> = (0..3)
        .map(|s| (format!("d{s}"), Box::new(std::io::Cursor::new(document(s))) as Box<dyn std::io::Read>))
        .collect();
    db.load_xml_documents("shop", docs).unwrap();
    let navigated = answers(&db, JoinAlgorithm::Navigate);
    for join in [JoinAlgorithm::Auto, JoinAlgorithm::Sisj, JoinAlgorithm::TwigStack, JoinAlgorithm::StackTree] {
        assert_eq!(answers(&db, join), navigated, "{join:?}");
    }
    // Not vacuous: the queries find nodes, and the index answered some of them.
    assert!(navigated.iter().filter(|a| !a.contains("count: 0")).count() > 10, "{navigated:?}");
    let report = db.check().unwrap();
    assert!(report.is_ok(), "{report:?}");
}

#[test]
fn explain_shows_what_the_index_found_and_the_plan_reads_only_that() {
    let db = Database::in_memory().unwrap();
    db.load_xml("shop", document(0).as_bytes()).unwrap();
    let explained = db.explain_xpath("shop", "/shop/item[@id = 'i7']/name", &XPathOptions::default()).unwrap();
    let text = format!("{:?}", explained.plan);
    assert!(text.contains("value_index") && text.contains("1 leaves"), "{text}");
    assert!(text.contains("candidates_from"), "{text}");
    // Mixed content under `name` in document 1: elements of that name are not indexed.
    let db = Database::in_memory().unwrap();
    db.load_xml("shop", document(1).as_bytes()).unwrap();
    let explained = db.explain_xpath("shop", "//item[name = 'red wine']", &XPathOptions::default()).unwrap();
    assert!(!format!("{:?}", explained.plan).contains("value_index"), "{:?}", explained.plan);
}
