//! Index creation and removal, and the operator that discards rows.

use crate::{Error, Result};

use super::context::{BoxOp, Ctx, Operator, Row};

#[derive(Default)]
pub(super) struct SchemaOp {
    pub(super) create: Option<sprig_index::graph::IndexDef>,
    pub(super) create_text: Option<(sprig_index::graph::text::TextIndexDef, bool)>,
    pub(super) drop: Option<String>,
    pub(super) done: bool,
}

impl Operator for SchemaOp {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        if !self.done {
            self.done = true;
            if let Some(def) = &self.create {
                if ctx.graph.create_index(def.clone())? {
                    ctx.stats.indexes_added += 1;
                }
            }
            if let Some((def, if_not_exists)) = &self.create_text {
                if ctx.graph.create_text_index(def.clone())? {
                    ctx.stats.indexes_added += 1;
                } else if !if_not_exists {
                    return Err(Error::Semantic {
                        kind: "IndexAlreadyExists",
                        message: format!("an index named '{}' or on the same properties exists already", def.name),
                    });
                }
            }
            if let Some(name) = &self.drop {
                if !ctx.graph.drop_index(name)? {
                    return Err(Error::Semantic {
                        kind: "IndexNotFound",
                        message: format!("there is no index '{name}'"),
                    });
                }
                ctx.stats.indexes_removed += 1;
            }
            return Ok(Some(Vec::new()));
        }
        Ok(None)
    }
    fn reset(&mut self, _arg: &Row) {
        self.done = false;
    }
}

pub(super) struct Discard {
    pub(super) input: BoxOp,
}

impl Operator for Discard {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Row>> {
        while self.input.next(ctx)?.is_some() {}
        Ok(None)
    }
    fn reset(&mut self, arg: &Row) {
        self.input.reset(arg);
    }
}
