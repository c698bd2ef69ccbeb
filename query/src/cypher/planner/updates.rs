//! Writes: CREATE patterns, MERGE, SET and REMOVE.

use std::sync::Arc;

use crate::cypher::plan::expr::CExpr;
use crate::Result;

use super::*;

pub(super) fn remap_create(mut create: CreatePattern, remap: &[(usize, usize)], _len: usize) -> CreatePattern {
    let map = |s: usize| remap.iter().find(|(from, _)| *from == s).map_or(s, |(_, to)| *to);
    for n in &mut create.nodes {
        n.slot = map(n.slot);
    }
    for r in &mut create.rels {
        r.slot = map(r.slot);
        r.start = map(r.start);
        r.end = map(r.end);
    }
    create
}

impl Planner<'_> {
    pub(super) fn create_pattern(&mut self, scope: &mut Scope, parts: &[PatternPart]) -> Result<CreatePattern> {
        self.create_pattern_with(scope, parts, false)
    }

    /// `undirected_out`: MERGE creates an undirected relationship pointing right.
    pub(super) fn create_pattern_with(
        &mut self,
        scope: &mut Scope,
        parts: &[PatternPart],
        undirected_out: bool,
    ) -> Result<CreatePattern> {
        let mut pattern = CreatePattern::default();
        for part in parts {
            // `MATCH (n) CREATE (n)` would create nothing: a lone node must be new.
            if let (true, Some(name)) = (part.element.chain.is_empty(), &part.element.start.variable) {
                if scope.lookup(name).is_some() {
                    return Err(semantic("VariableAlreadyBound", format!("variable '{name}' is already defined")));
                }
            }
            let mut steps = Vec::new();
            let mut prev = self.create_node(scope, &part.element.start, &mut pattern)?;
            steps.push(PathStep::Node(prev));
            for (rp, np) in &part.element.chain {
                let next = self.create_node(scope, np, &mut pattern)?;
                if rp.length.is_some() {
                    return Err(semantic("CreatingVarLength", "CREATE cannot make variable-length relationships"));
                }
                if rp.types.len() != 1 {
                    return Err(semantic("NoSingleRelationshipType", "a created relationship needs exactly one type"));
                }
                let (start, end) = match rp.direction {
                    RelDirection::Right => (prev, next),
                    RelDirection::Left => (next, prev),
                    RelDirection::Both if undirected_out => (prev, next),
                    RelDirection::Both => {
                        return Err(semantic(
                            "RequiresDirectedRelationship",
                            "a created relationship needs a direction",
                        ))
                    }
                };
                let slot = match &rp.variable {
                    Some(name) => {
                        if scope.lookup(name).is_some() {
                            return Err(semantic(
                                "VariableAlreadyBound",
                                format!("variable '{name}' is already defined"),
                            ));
                        }
                        scope.add(name, Kind::Rel)
                    }
                    None => scope.add_hidden(Kind::Rel),
                };
                let props = self.create_props(&rp.properties, scope)?;
                pattern.rels.push(CreateRel { slot, start, end, rel_type: rp.types[0].clone(), props });
                steps.push(PathStep::Rel(slot));
                steps.push(PathStep::Node(next));
                prev = next;
            }
            if let Some(name) = &part.variable {
                if scope.lookup(name).is_some() {
                    return Err(semantic("VariableAlreadyBound", format!("variable '{name}' is already defined")));
                }
                let slot = scope.add(name, Kind::Path);
                pattern.paths.push((slot, steps));
            }
        }
        Ok(pattern)
    }

    pub(super) fn create_props(&mut self, props: &Option<Box<Expr>>, scope: &mut Scope) -> Result<Option<CExpr>> {
        match props.as_deref() {
            None => Ok(None),
            Some(e @ (Expr::Map(_) | Expr::Parameter(_))) => Ok(Some(self.expr_in(e, scope)?)),
            Some(_) => Err(semantic("InvalidArgumentType", "expected a property map")),
        }
    }

    pub(super) fn create_node(
        &mut self,
        scope: &mut Scope,
        np: &NodePattern,
        pattern: &mut CreatePattern,
    ) -> Result<usize> {
        if let Some(name) = &np.variable {
            if let Some((slot, kind)) = scope.lookup(name) {
                if !matches!(kind, Kind::Node | Kind::Any) {
                    return Err(semantic("VariableTypeConflict", format!("'{name}' is not a node")));
                }
                if !np.labels.is_empty() || np.properties.is_some() {
                    return Err(semantic("VariableAlreadyBound", format!("variable '{name}' is already defined")));
                }
                if !pattern.nodes.iter().any(|n| n.slot == slot) {
                    pattern.nodes.push(CreateNode { slot, bound: true, labels: Vec::new(), props: None });
                }
                return Ok(slot);
            }
        }
        let props = self.create_props(&np.properties, scope)?;
        let slot = match &np.variable {
            Some(name) => scope.add(name, Kind::Node),
            None => scope.add_hidden(Kind::Node),
        };
        pattern.nodes.push(CreateNode { slot, bound: false, labels: np.labels.clone(), props });
        Ok(slot)
    }

    pub(super) fn plan_merge(
        &mut self,
        input: LogicalOp,
        scope: &mut Scope,
        part: &PatternPart,
        on_create: &[SetItem],
        on_match: &[SetItem],
    ) -> Result<LogicalOp> {
        for (rp, _) in &part.element.chain {
            if rp.types.len() != 1 {
                return Err(semantic("NoSingleRelationshipType", "MERGE needs exactly one relationship type"));
            }
            if rp.length.is_some() {
                return Err(semantic("CreatingVarLength", "MERGE cannot make variable-length relationships"));
            }
        }
        if part.element.chain.is_empty() {
            if let Some(name) = &part.element.start.variable {
                if scope.lookup(name).is_some() {
                    return Err(semantic("VariableAlreadyBound", format!("variable '{name}' is already defined")));
                }
            }
        }
        let before = scope.len();
        let mut match_scope = scope.clone();
        let matcher = self.plan_match(LogicalOp::Argument, &mut match_scope, std::slice::from_ref(part), None)?;
        let mut create_scope = scope.clone();
        let create = self.create_pattern_with(&mut create_scope, std::slice::from_ref(part), true)?;
        // Both scopes must lay out the new variables the same way.
        let match_names: Vec<&str> =
            match_scope.vars[before..].iter().filter(|v| !v.hidden).map(|v| v.name.as_str()).collect();
        let create_names: Vec<&str> =
            create_scope.vars[before..].iter().filter(|v| !v.hidden).map(|v| v.name.as_str()).collect();
        let mut remap = Vec::new();
        if match_names != create_names || match_scope.len() != create_scope.len() {
            // Fall back to a mapping from create slots to match slots by name.
            for (i, v) in create_scope.vars.iter().enumerate().skip(before) {
                if v.hidden {
                    continue;
                }
                if let Some((s, _)) = match_scope.lookup(&v.name) {
                    remap.push((i, s));
                }
            }
        }
        let create = if remap.is_empty() && match_scope.len() == create_scope.len() {
            create
        } else {
            remap_create(create, &remap, match_scope.len())
        };
        *scope = match_scope;
        let on_create = on_create.iter().map(|it| self.set_op(it, scope)).collect::<Result<Vec<_>>>()?;
        let on_match = on_match.iter().map(|it| self.set_op(it, scope)).collect::<Result<Vec<_>>>()?;
        Ok(LogicalOp::Merge {
            input: Box::new(input),
            matcher: Arc::new(matcher),
            create: Box::new(create),
            on_create,
            on_match,
            added: scope.len() - before,
        })
    }

    pub(super) fn entity_slot(&self, name: &str, scope: &Scope) -> Result<usize> {
        match scope.lookup(name) {
            Some((slot, Kind::Node | Kind::Rel | Kind::Any)) => Ok(slot),
            Some(_) => Err(semantic("VariableTypeConflict", format!("'{name}' is not a node or relationship"))),
            None => Err(semantic("UndefinedVariable", format!("variable '{name}' is not defined"))),
        }
    }

    pub(super) fn set_op(&mut self, item: &SetItem, scope: &Scope) -> Result<SetOp> {
        Ok(match item {
            SetItem::Property { value: Expr::Pattern(_), .. } => {
                return Err(semantic("UnexpectedSyntax", "a pattern can only be used as a predicate"))
            }
            SetItem::Property { target, key, value } => {
                SetOp::Property { target: self.expr(target, scope)?, key: key.clone(), value: self.expr(value, scope)? }
            }
            SetItem::Replace { variable, value } => {
                SetOp::Replace { slot: self.entity_slot(variable, scope)?, value: self.expr(value, scope)? }
            }
            SetItem::Merge { variable, value } => {
                SetOp::MergeMap { slot: self.entity_slot(variable, scope)?, value: self.expr(value, scope)? }
            }
            SetItem::Labels { variable, labels } => {
                SetOp::AddLabels { slot: self.entity_slot(variable, scope)?, labels: labels.clone() }
            }
        })
    }

    pub(super) fn remove_op(&mut self, item: &RemoveItem, scope: &Scope) -> Result<SetOp> {
        Ok(match item {
            RemoveItem::Property { target, key } => {
                SetOp::RemoveProperty { target: self.expr(target, scope)?, key: key.clone() }
            }
            RemoveItem::Labels { variable, labels } => {
                SetOp::RemoveLabels { slot: self.entity_slot(variable, scope)?, labels: labels.clone() }
            }
        })
    }
}
