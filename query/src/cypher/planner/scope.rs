//! Variables in scope while a statement is planned: their slots and what they hold
//! (node, relationship, path, value), which the semantic checks read.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Node,
    Rel,
    RelList,
    Path,
    /// A value that is known not to be a node, relationship or path.
    Value,
    Any,
}

#[derive(Debug, Clone)]
pub(super) struct Var {
    pub(super) name: String,
    pub(super) kind: Kind,
    pub(super) hidden: bool,
}

/// Variables in scope, in slot order.
#[derive(Debug, Clone, Default)]
pub(super) struct Scope {
    pub(super) vars: Vec<Var>,
}

impl Scope {
    pub(super) fn lookup(&self, name: &str) -> Option<(usize, Kind)> {
        self.vars.iter().enumerate().rev().find(|(_, v)| !v.hidden && v.name == name).map(|(i, v)| (i, v.kind))
    }

    pub(super) fn add(&mut self, name: &str, kind: Kind) -> usize {
        self.vars.push(Var { name: name.to_string(), kind, hidden: false });
        self.vars.len() - 1
    }

    pub(super) fn add_hidden(&mut self, kind: Kind) -> usize {
        self.vars.push(Var { name: String::new(), kind, hidden: true });
        self.vars.len() - 1
    }

    pub(super) fn len(&self) -> usize {
        self.vars.len()
    }

    pub(super) fn visible_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.vars.iter().filter(|v| !v.hidden).map(|v| v.name.clone()).collect();
        names.sort();
        names.dedup();
        names
    }
}
