//! Regressions found by an independent check (issue 18): each failed before its fix.

use std::sync::Arc;

use sprig_index::{Collection, MemoryStorage, XmlStore};
use sprig_query::xpath::exec::Navigator;
use sprig_query::xpath::plan::{self, JoinAlgorithm};
use sprig_query::{prepare_xpath, CompileOptions, Value};

fn collection(xml: &str) -> Collection {
    let store = XmlStore::open(Arc::new(MemoryStorage::default())).expect("memory store");
    let mut load = store.begin_load("c").expect("begin load");
    load.add_document("d", xml.as_bytes()).expect("document");
    load.commit().expect("commit");
    store.collection("c").expect("collection")
}

fn eval(nav: &mut Navigator<'_>, text: &str) -> Value {
    let plan = prepare_xpath(text, &CompileOptions::default()).expect("compiles");
    let plan = plan::plan(plan, nav.collection(), JoinAlgorithm::Auto);
    nav.evaluate(&plan).expect("evaluates")
}

/// A decimal literal at the very end of the expression kept only its integer part.
#[test]
fn decimal_literal_at_end_of_expression() {
    let c = collection("<r><price>29.99</price><price>35.5</price></r>");
    let mut nav = Navigator::new(&c).expect("navigator");
    assert_eq!(eval(&mut nav, "29.99"), Value::Number(29.99));
    assert_eq!(eval(&mut nav, "1.5 = 1.5"), Value::Boolean(true));
    assert_eq!(eval(&mut nav, "//price = 29.99"), Value::Boolean(true));
    assert_eq!(eval(&mut nav, "count(//price[. > 35.4])"), Value::Number(1.0));
    assert_eq!(eval(&mut nav, "sum(//price) div 2.5"), Value::Number((29.99 + 35.5) / 2.5));
    assert_eq!(eval(&mut nav, ".5"), Value::Number(0.5));
    assert_eq!(eval(&mut nav, "7."), Value::Number(7.0));
}

/// Path plans were cached under the address of their expression: a second plan
/// allocated where a freed one had been was answered with the first plan's pattern.
#[test]
fn path_plans_do_not_alias_across_plans() {
    let c = collection("<r><a/><a/><b/></r>");
    let mut nav = Navigator::new(&c).expect("navigator");
    for _ in 0..50 {
        // Same shape and size: the allocator readily hands out the same addresses.
        assert_eq!(eval(&mut nav, "count(/r/a)"), Value::Number(2.0));
        assert_eq!(eval(&mut nav, "count(/r/b)"), Value::Number(1.0));
    }
}
