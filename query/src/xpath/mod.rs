//! XPath 1.0: text -> AST (`syntax`) -> compiled expression (`compile`) -> path plans
//! over one collection (`plan`) -> evaluation (`exec`) -> a [`value::Value`].

pub mod compile;
pub mod exec;
pub mod plan;
pub mod syntax;
pub mod value;

use crate::Result;
use compile::{CompileOptions, XPathPlan};
use value::Value;

/// Parses and compiles an XPath expression (no data needed).
pub fn prepare_xpath(text: &str, options: &CompileOptions) -> Result<XPathPlan> {
    let ast = syntax::parse(text)?;
    compile::compile(&ast, options)
}

/// Parses, compiles, plans (letting the rules choose every join) and evaluates `text`
/// over `collection`.
pub fn evaluate_xpath(collection: &sprig_index::Collection, text: &str, options: &CompileOptions) -> Result<Value> {
    let plan = plan::plan(prepare_xpath(text, options)?, collection, plan::JoinAlgorithm::Auto);
    exec::Navigator::new(collection)?.evaluate(&plan)
}
