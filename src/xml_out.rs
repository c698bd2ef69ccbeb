//! XPath results serialized as XML (the server's answer for `Accept:
//! application/xml`): a node-set's nodes as markup, each element with its whole
//! subtree, inside one `<result>` element so that the answer is a well-formed
//! document whatever was selected. A stored subtree is written by walking its
//! region `pre..=end` in document order: the region labels say where each element
//! closes, so no node is read twice.
//!
//! Namespace declarations are written where the document made them; an element
//! selected below one does not repeat its ancestors' declarations.

use std::fmt::Write;

use sprig_index::{Document, NameTable, NodeKind};

use crate::{Result, XPathValue};

fn escape(s: &str, out: &mut String, in_attribute: bool) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' if in_attribute => out.push_str("&quot;"),
            '\n' if in_attribute => out.push_str("&#10;"),
            c => out.push(c),
        }
    }
}

fn written(names: &NameTable, id: u32) -> String {
    names.get(id).map(|q| q.written()).unwrap_or_default()
}

/// Writes node `pre` of `doc` and, for an element or the root, its subtree.
fn write_node(doc: &Document, names: &NameTable, pre: u32, out: &mut String) -> Result<()> {
    let top = doc.node(pre)?;
    match top.kind {
        NodeKind::Attribute | NodeKind::NamespaceDecl => {
            out.push_str(&written(names, top.name));
            out.push_str("=\"");
            escape(&doc.text(pre)?, out, true);
            out.push('"');
            return Ok(());
        }
        NodeKind::Text | NodeKind::Comment | NodeKind::ProcessingInstruction => {
            return write_leaf(doc, names, pre, top.kind, top.name, out);
        }
        NodeKind::Root | NodeKind::Element => {}
    }
    // Elements whose start tag is written, innermost last, with their end; the last
    // one's tag may still wait for its '>' (its attributes come right after it).
    let mut open: Vec<(String, u32)> = Vec::new();
    let mut tag_pending = false;
    for p in pre..=top.end {
        let rec = doc.node(p)?;
        if matches!(rec.kind, NodeKind::Attribute | NodeKind::NamespaceDecl) {
            if tag_pending {
                out.push(' ');
                out.push_str(&written(names, rec.name));
                out.push_str("=\"");
                escape(&doc.text(p)?, out, true);
                out.push('"');
            }
            continue;
        }
        if tag_pending {
            // The element holds this node, or it held nothing but attributes.
            if open.last().is_some_and(|&(_, end)| end >= p) {
                out.push('>');
            } else {
                out.push_str("/>");
                open.pop();
            }
            tag_pending = false;
        }
        while let Some((name, _)) = open.pop_if(|(_, end)| *end < p) {
            let _ = write!(out, "</{name}>");
        }
        match rec.kind {
            NodeKind::Root => {}
            NodeKind::Element => {
                let name = written(names, rec.name);
                let _ = write!(out, "<{name}");
                open.push((name, rec.end));
                tag_pending = true;
            }
            kind => write_leaf(doc, names, p, kind, rec.name, out)?,
        }
    }
    if tag_pending {
        out.push_str("/>");
        open.pop();
    }
    while let Some((name, _)) = open.pop() {
        let _ = write!(out, "</{name}>");
    }
    Ok(())
}

fn write_leaf(doc: &Document, names: &NameTable, pre: u32, kind: NodeKind, name: u32, out: &mut String) -> Result<()> {
    let text = doc.text(pre)?;
    match kind {
        NodeKind::Text => escape(&text, out, false),
        NodeKind::Comment => {
            let _ = write!(out, "<!--{text}-->");
        }
        NodeKind::ProcessingInstruction => {
            let target = written(names, name);
            if text.is_empty() {
                let _ = write!(out, "<?{target}?>");
            } else {
                let _ = write!(out, "<?{target} {text}?>");
            }
        }
        _ => {}
    }
    Ok(())
}

impl XPathValue {
    /// The value as an XML document: `<result kind="number">3</result>` for a number,
    /// string or boolean, and for a node-set `<result kind="nodeset" count="N">`
    /// holding each selected node serialized (an element with its subtree, an
    /// attribute as `name="value"`, text as text), in document order.
    pub fn to_xml(&self) -> Result<String> {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        if let Some((kind, _, text)) = crate::json::xpath_scalar(self) {
            let _ = write!(out, "<result kind=\"{kind}\">");
            escape(&text, &mut out, false);
            out.push_str("</result>\n");
            return Ok(out);
        }
        let XPathValue::NodeSet(set) = self else { return Ok(out) };
        let _ = write!(out, "<result kind=\"nodeset\" count=\"{}\">", set.len());
        let names = set.collection.names();
        let mut current: Option<(u32, Document)> = None;
        for node in set.nodes.iter().filter(|n| !n.is_namespace()) {
            if current.as_ref().is_none_or(|(d, _)| *d != node.doc) {
                current = Some((node.doc, set.collection.document(node.doc)?));
            }
            if let Some((_, doc)) = &current {
                write_node(doc, names, node.pre, &mut out)?;
            }
        }
        out.push_str("</result>\n");
        Ok(out)
    }
}
