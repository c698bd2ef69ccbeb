//! What a result node looks like from outside: its document, type, canonical path,
//! name as written and string-value (SPEC section 4).

use std::collections::HashMap;

use sprig_index::{Collection, Document, NodeKind};

use super::navigate::in_scope_namespaces;
use crate::xpath::value::Node;
use crate::{Error, Result};

/// The XPath node types, as named in output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeType {
    Root,
    Element,
    Attribute,
    Text,
    Comment,
    ProcessingInstruction,
    Namespace,
}

impl NodeType {
    /// The type [`NodeType::as_str`] names, read back.
    pub fn from_name(name: &str) -> Option<NodeType> {
        [
            NodeType::Root,
            NodeType::Element,
            NodeType::Attribute,
            NodeType::Text,
            NodeType::Comment,
            NodeType::ProcessingInstruction,
            NodeType::Namespace,
        ]
        .into_iter()
        .find(|t| t.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NodeType::Root => "root",
            NodeType::Element => "element",
            NodeType::Attribute => "attribute",
            NodeType::Text => "text",
            NodeType::Comment => "comment",
            NodeType::ProcessingInstruction => "processing-instruction",
            NodeType::Namespace => "namespace",
        }
    }
}

/// A described node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    pub doc: String,
    pub node_type: NodeType,
    /// Canonical path: `/site[1]/people[1]/person[3]/@id`, `/a[1]/text()[2]`, `/`.
    pub path: String,
    /// The name as written (`prefix:local`), "" for nameless nodes.
    pub name: String,
    pub string: String,
}

/// Describes nodes of one collection, remembering sibling positions per parent so
/// that describing many children of one parent stays linear.
pub struct NodeDescriber<'c> {
    collection: &'c Collection,
    docs: Vec<Document>,
    /// (doc, parent) -> child pre -> step text (`name[k]`, `text()[k]`, ...).
    steps: HashMap<(u32, u32), HashMap<u32, String>>,
    /// (doc, element) -> its path.
    paths: HashMap<(u32, u32), String>,
}

impl<'c> NodeDescriber<'c> {
    pub fn new(collection: &'c Collection) -> Result<Self> {
        let docs = (0..collection.len()).map(|i| collection.document(i)).collect::<Result<_, _>>()?;
        Ok(NodeDescriber { collection, docs, steps: HashMap::new(), paths: HashMap::new() })
    }

    fn doc(&self, idx: u32) -> Result<&Document> {
        self.docs.get(idx as usize).ok_or_else(|| Error::type_error(format!("no document {idx}")))
    }

    pub fn describe(&mut self, node: Node) -> Result<NodeInfo> {
        let names = self.collection.names();
        let doc_name = self.doc(node.doc)?.name().to_string();
        if node.is_namespace() {
            let scope = in_scope_namespaces(self.doc(node.doc)?, names, node.pre)?;
            let (prefix, uri) = scope
                .get(node.ns as usize - 1)
                .cloned()
                .ok_or_else(|| Error::type_error("namespace node out of range"))?;
            let path = format!("{}/namespace::{prefix}", self.path(node.doc, node.pre)?);
            return Ok(NodeInfo { doc: doc_name, node_type: NodeType::Namespace, path, name: prefix, string: uri });
        }
        let doc = self.doc(node.doc)?;
        let rec = doc.node(node.pre)?;
        let string = doc.string_value(node.pre)?;
        let written = names.get(rec.name).map(|q| q.written()).unwrap_or_default();
        let node_type = match rec.kind {
            NodeKind::Root => NodeType::Root,
            NodeKind::Element => NodeType::Element,
            NodeKind::Attribute => NodeType::Attribute,
            NodeKind::Text => NodeType::Text,
            NodeKind::Comment => NodeType::Comment,
            NodeKind::ProcessingInstruction => NodeType::ProcessingInstruction,
            NodeKind::NamespaceDecl => NodeType::Namespace,
        };
        let name = match rec.kind {
            NodeKind::Element | NodeKind::Attribute | NodeKind::ProcessingInstruction => written,
            _ => String::new(),
        };
        let path = self.path(node.doc, node.pre)?;
        Ok(NodeInfo { doc: doc_name, node_type, path, name, string })
    }

    /// The canonical path of stored node `pre`.
    fn path(&mut self, doc_idx: u32, pre: u32) -> Result<String> {
        if pre == 0 {
            return Ok("/".to_string());
        }
        if let Some(p) = self.paths.get(&(doc_idx, pre)) {
            return Ok(p.clone());
        }
        let rec = self.doc(doc_idx)?.node(pre)?;
        let step = self.step(doc_idx, rec.parent, pre)?;
        let parent_path = self.path(doc_idx, rec.parent)?;
        let res = if parent_path == "/" { format!("/{step}") } else { format!("{parent_path}/{step}") };
        if rec.kind == NodeKind::Element {
            self.paths.insert((doc_idx, pre), res.clone());
        }
        Ok(res)
    }

    /// The step naming `child` under `parent`.
    fn step(&mut self, doc_idx: u32, parent: u32, child: u32) -> Result<String> {
        if !self.steps.contains_key(&(doc_idx, parent)) {
            let steps = self.child_steps(doc_idx, parent)?;
            self.steps.insert((doc_idx, parent), steps);
        }
        self.steps
            .get(&(doc_idx, parent))
            .and_then(|m| m.get(&child))
            .cloned()
            .ok_or_else(|| Error::type_error(format!("node {child} is not a child of {parent}")))
    }

    fn child_steps(&self, doc_idx: u32, parent: u32) -> Result<HashMap<u32, String>> {
        let doc = self.doc(doc_idx)?;
        let names = self.collection.names();
        let prec = doc.node(parent)?;
        let mut counts: HashMap<(NodeKind, String), u32> = HashMap::new();
        let mut res = HashMap::new();
        let mut c = parent + 1;
        while c <= prec.end {
            let rec = doc.node(c)?;
            let written = names.get(rec.name).map(|q| q.written()).unwrap_or_default();
            let step = match rec.kind {
                NodeKind::Attribute => format!("@{written}"),
                NodeKind::NamespaceDecl => String::new(),
                kind => {
                    let key = if kind == NodeKind::Element { written.clone() } else { String::new() };
                    let k = counts.entry((kind, key)).or_default();
                    *k += 1;
                    match kind {
                        NodeKind::Element => format!("{written}[{k}]"),
                        NodeKind::Text => format!("text()[{k}]"),
                        NodeKind::Comment => format!("comment()[{k}]"),
                        _ => format!("processing-instruction()[{k}]"),
                    }
                }
            };
            res.insert(c, step);
            c = if rec.kind.is_attribute_like() { c + 1 } else { rec.end + 1 };
        }
        Ok(res)
    }
}
