//! Every `--join` choice must return what the navigational evaluator returns.
//! Checked on every XPath conformance case, and on random, deeply recursive
//! documents with random location paths (proptest).

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::Value as Json;
use sprig::{Database, JoinAlgorithm, XPathOptions, XPathValue};

const JOINS: [JoinAlgorithm; 4] =
    [JoinAlgorithm::Auto, JoinAlgorithm::Sisj, JoinAlgorithm::TwigStack, JoinAlgorithm::StackTree];

fn eval(
    db: &Database,
    collection: &str,
    xpath: &str,
    options: &XPathOptions,
    join: JoinAlgorithm,
) -> Result<XPathValue, String> {
    let options = XPathOptions { join, ..options.clone() };
    db.xpath_with(collection, xpath, &options).map_err(|e| e.to_string())
}

fn same(a: &Result<XPathValue, String>, b: &Result<XPathValue, String>) -> bool {
    match (a, b) {
        (Ok(x), Ok(y)) => x == y,
        (Err(x), Err(y)) => x == y,
        _ => false,
    }
}

#[test]
fn every_join_agrees_on_the_conformance_cases() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/xpath");
    let text = std::fs::read_to_string(root.join("public.jsonl")).unwrap();
    let db = Database::in_memory().unwrap();
    let mut loaded = std::collections::HashSet::new();
    let (mut checked, mut failures) = (0, Vec::new());
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Json = serde_json::from_str(line).unwrap();
        let doc = case["doc"].as_str().unwrap();
        let collection: String = Path::new(doc)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap()
            .chars()
            .map(|c| if c == '-' || c == '.' { '_' } else { c })
            .collect();
        if loaded.insert(doc.to_string()) {
            db.load_xml(&collection, std::fs::File::open(root.join(doc)).unwrap()).unwrap();
        }
        let map = |k: &str| -> Vec<(String, String)> {
            case.get(k)
                .and_then(|v| v.as_object())
                .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
                .unwrap_or_default()
        };
        let options = XPathOptions { namespaces: map("ns"), variables: map("vars"), ..Default::default() };
        let xpath = case["xpath"].as_str().unwrap();
        let expected = eval(&db, &collection, xpath, &options, JoinAlgorithm::Navigate);
        for join in JOINS {
            checked += 1;
            if !same(&expected, &eval(&db, &collection, xpath, &options, join)) {
                failures.push(format!("{} with {}: {xpath}", case["id"], join.name()));
            }
        }
    }
    println!("{} passed, {} failed", checked - failures.len(), failures.len());
    assert!(failures.is_empty(), "{failures:#?}");
}

const NAMES: [&str; 5] = ["a", "b", "c", "section", "title"];

/// Builds a document from a list of operations: open an element, close one, or add
/// text. Opening is likelier than closing, so documents nest deeply and recursively.
fn build_xml(ops: &[(u8, u8)]) -> String {
    let mut xml = String::from("<root>");
    let mut stack = Vec::new();
    for &(op, arg) in ops {
        match op % 8 {
            0..=4 => {
                let name = NAMES[(op % 8) as usize];
                xml.push_str(&format!("<{name} x='{}'>", arg % 2));
                stack.push(name);
            }
            5 | 6 => {
                if let Some(name) = stack.pop() {
                    xml.push_str(&format!("</{name}>"));
                }
            }
            _ => xml.push_str(&format!("t{}", arg % 3)),
        }
    }
    while let Some(name) = stack.pop() {
        xml.push_str(&format!("</{name}>"));
    }
    xml.push_str("</root>");
    xml
}

const PREDICATES: [&str; 19] = [
    "",
    "",
    "[b]",
    "[@x='1']",
    "[.//c]",
    "[not(a)]",
    "[title or @x='0']",
    "[2]",
    "[a/b]",
    "[.//a/c]",
    "[*]",
    "[b][@x='1']",
    "[section/*/title]",
    "[b='t1']",
    "[a/b!='t0']",
    "[@x>0]",
    "['1'=@x]",
    "[c/@x=1]",
    "[.//title='t2t0']",
];
const TAILS: [&str; 5] = ["", "", "/@x", "/text()", "/.."];

fn build_path(steps: &[(bool, u8, u8)], tail: u8) -> String {
    let mut path = String::new();
    for &(descendant, name, predicate) in steps {
        path.push_str(if descendant { "//" } else { "/" });
        path.push_str(["a", "b", "c", "section", "title", "*", "root"][name as usize % 7]);
        path.push_str(PREDICATES[predicate as usize % PREDICATES.len()]);
    }
    path.push_str(TAILS[tail as usize % TAILS.len()]);
    path
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_join_agrees_on_random_recursive_documents(
        ops in proptest::collection::vec((0u8..8, 0u8..6), 0..300),
        paths in proptest::collection::vec((proptest::collection::vec((any::<bool>(), 0u8..7, 0u8..PREDICATES.len() as u8), 1..5), 0u8..5), 1..6),
    ) {
        let db = Database::in_memory().unwrap();
        db.load_xml("doc", build_xml(&ops).as_bytes()).unwrap();
        let options = XPathOptions::default();
        for (steps, tail) in paths {
            let path = build_path(&steps, tail);
            let expected = eval(&db, "doc", &path, &options, JoinAlgorithm::Navigate);
            prop_assert!(expected.is_ok(), "{path}: {expected:?}");
            for join in JOINS {
                let got = eval(&db, "doc", &path, &options, join);
                prop_assert!(same(&expected, &got), "{} differs on {path}", join.name());
            }
        }
    }
}

/// Branches with few leaves: SISJ takes the candidates from the leaves' ancestors
/// (the `ChooseBranchSource` rule), which the random documents rarely trigger.
/// `a[b]` where the `b` leaves far outnumber the `a` candidates: SISJ searches each
/// candidate's span in the leaf partitions instead of reading them. Some `a` have
/// no `b`, some nest (so candidates overlap), and the first `a` of each section
/// holds the section's first `b` (the partition's first region).
#[test]
fn every_join_agrees_when_existence_branches_are_searched() {
    let mut xml = String::from("<root>");
    for section in 0..3 {
        xml.push_str(&format!("<s{section}>"));
        for i in 0..60 {
            xml.push_str("<a>");
            if i % 7 != 3 {
                xml.push_str(&"<b/>".repeat(12));
            }
            if i % 11 == 5 {
                xml.push_str("<a><c/></a><a><b/><c/></a>");
            }
            xml.push_str("<c/></a>");
        }
        xml.push_str(&format!("</s{section}>"));
    }
    xml.push_str("</root>");
    let db = Database::in_memory().unwrap();
    db.load_xml("doc", xml.as_bytes()).unwrap();
    let options = XPathOptions::default();
    for query in ["//a[b]/c", "//a[b]//c", "/root/s1/a[b]", "//s2//a[b]/c"] {
        let expected = eval(&db, "doc", query, &options, JoinAlgorithm::Navigate);
        assert!(matches!(&expected, Ok(XPathValue::NodeSet(n)) if n.len() > 20), "{query} should select nodes");
        for join in JOINS {
            assert!(same(&expected, &eval(&db, "doc", query, &options, join)), "{} differs on {query}", join.name());
        }
    }
}

#[test]
fn every_join_agrees_when_candidates_come_from_branch_leaves() {
    let mut xml = String::from("<root>");
    for i in 0..400 {
        xml.push_str("<a>");
        if i % 97 == 0 {
            xml.push_str(&format!("<b x='{}'>v{}</b><s><b/></s>", i % 2, i % 3));
        }
        if i % 131 == 0 {
            xml.push_str("<a><s><b>v1</b></s><c/></a>");
        }
        xml.push_str("<c/></a>");
    }
    xml.push_str("</root>");
    let db = Database::in_memory().unwrap();
    db.load_xml("doc", xml.as_bytes()).unwrap();
    let options = XPathOptions::default();
    let queries = ["//a[b]//c", "//a[b]", "//a[s/b]/c", "//a[b='v1']/c", "//a[b/@x='1']//c", "//root/a[s/b]//c"];
    for query in queries {
        let explained =
            db.explain_xpath("doc", query, &XPathOptions { join: JoinAlgorithm::Sisj, ..options.clone() }).unwrap();
        let text = format!("{:?}", explained.plan);
        assert!(text.contains("candidates_from"), "{query} should take its candidates from branch leaves: {text}");
        let expected = eval(&db, "doc", query, &options, JoinAlgorithm::Navigate);
        assert!(matches!(&expected, Ok(XPathValue::NodeSet(n)) if !n.is_empty()), "{query} should select nodes");
        for join in JOINS {
            assert!(same(&expected, &eval(&db, "doc", query, &options, join)), "{} differs on {query}", join.name());
        }
    }
}

/// Steps large enough to be split over the cores (`sprig_index::parallel`: 4,096
/// nodes per worker): residual predicates on 20,000 candidates, value-index leaves
/// located in partitions that interleave (the content repeats, as `repeat.py`'s
/// documents do), their ancestors found per partition, and existence branches whose
/// leaves outnumber the candidates. Every item's answer depends on its own
/// position, so a part joined out of order, or twice, changes the result.
#[test]
fn every_join_agrees_when_large_steps_are_split_over_cores() {
    let mut xml = String::from("<root>");
    let mut n = 0;
    for _copy in 0..2 {
        xml.push_str("<site><regions>");
        for region in ["africa", "asia"] {
            xml.push_str(&format!("<{region}>"));
            for _ in 0..5000 {
                n += 1;
                let payment = if n % 10 == 0 { "Cash" } else { "Creditcard" };
                let words = if n % 13 == 0 { "a golden ring" } else { "plain words" };
                let bidders = if n % 9 == 0 { "" } else { "<bidder/><bidder/><bidder/><bidder/><bidder/>" };
                let keyword = if n % 3 == 0 { format!("<keyword>k{n}</keyword>") } else { String::new() };
                xml.push_str(&format!(
                    "<item><payment>{payment}</payment><description><text>{words} {n}{keyword}</text></description>\
                     {bidders}<name>i{n}</name></item>"
                ));
            }
            xml.push_str(&format!("</{region}>"));
        }
        xml.push_str("</regions></site>");
    }
    xml.push_str("</root>");
    let db = Database::in_memory().unwrap();
    db.load_xml("doc", xml.as_bytes()).unwrap();
    let options = XPathOptions::default();
    let queries = [
        ("//item[contains(description, 'gold')]/name", 1538),
        ("//item[payment='Creditcard']//keyword", 6000),
        ("//item[payment='Creditcard']/name", 18000),
        ("//item[bidder]/name", 17778),
        ("//item[bidder][contains(description, '7')]//keyword", 1526),
    ];
    for (query, size) in queries {
        let expected = eval(&db, "doc", query, &options, JoinAlgorithm::Navigate);
        match &expected {
            Ok(XPathValue::NodeSet(nodes)) => assert_eq!(nodes.len(), size, "{query}"),
            other => panic!("{query} should select nodes: {other:?}"),
        }
        for join in JOINS {
            assert!(same(&expected, &eval(&db, "doc", query, &options, join)), "{} differs on {query}", join.name());
        }
    }
    // PROFILE says which steps split: with two cores or more, some operator of this
    // query (a residual predicate over 20,000 items) ran on several; never more than
    // the machine has.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let profiled = db.profile_xpath("doc", "//item[contains(description, 'gold')]/name", &options, 1).unwrap();
    fn most_workers(node: &sprig::PlanNode) -> u64 {
        let own = node
            .details
            .iter()
            .find(|(k, _)| k == "workers")
            .map_or(1, |(_, v)| if let sprig::Detail::Int(n) = v { *n } else { 0 });
        node.children.iter().map(most_workers).fold(own, u64::max)
    }
    let workers = most_workers(&profiled.plan);
    if cores >= 2 {
        assert!((2..=cores as u64).contains(&workers), "{workers} workers on {cores} cores: {:?}", profiled.plan);
    } else {
        assert_eq!(workers, 1);
    }
    let small = db.profile_xpath("doc", "(//item)[1]/name", &options, 1).unwrap();
    assert_eq!(most_workers(&small.plan), 1, "a one-row query splits nothing");
}
