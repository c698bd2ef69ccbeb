//! `xpath(collection, expr)`: an XPath 1.0 expression evaluated over an XML
//! collection from inside a Cypher expression. A node-set becomes the list of its
//! nodes' string-values (in document order); a number, string or boolean stays one.

use std::sync::Arc;

use crate::cypher::exec::context::Ctx;
use crate::cypher::value::CypherValue as V;
use crate::{Error, Result, Value};

pub(super) fn xpath(ctx: &mut Ctx<'_>, collection: Arc<str>, expr: Arc<str>) -> Result<V> {
    let key = (collection, expr);
    if let Some(v) = ctx.xpath_answers.get(&key) {
        return Ok(v.clone());
    }
    let store = ctx.xml.clone().ok_or_else(|| {
        Error::argument("InvalidArgumentValue", "xpath(): this statement runs without XML collections")
    })?;
    let (collection, expr) = &key;
    // The position of an XPath syntax error is in `expr`, not in the Cypher text.
    let plan = crate::prepare_xpath(expr, &crate::CompileOptions::default()).map_err(|e| match e {
        Error::Syntax(s) => Error::argument(
            "InvalidArgumentValue",
            format!("xpath(): {} at column {} of '{expr}'", s.message, s.position.column + 1),
        ),
        other => other,
    })?;
    let coll = store.collection(collection)?;
    let plan = crate::xpath::plan::plan(plan, &coll, crate::xpath::plan::JoinAlgorithm::Auto);
    let mut navigator = crate::xpath::exec::Navigator::new(&coll)?;
    if let Some(flag) = &ctx.stop.interrupt {
        navigator = navigator.with_interrupt(flag.clone());
    }
    let value = match navigator.evaluate(&plan)? {
        Value::NodeSet(nodes) => {
            let mut describer = crate::NodeDescriber::new(&coll)?;
            let mut strings = Vec::with_capacity(nodes.len());
            for node in nodes {
                strings.push(V::string(describer.describe(node)?.string));
            }
            V::list(strings)
        }
        Value::Number(n) => V::Float(n),
        Value::String(s) => V::string(s),
        Value::Boolean(b) => V::Bool(b),
    };
    ctx.xpath_answers.insert(key, value.clone());
    Ok(value)
}
