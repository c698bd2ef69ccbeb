//! The core function library ([XPath 1.0 section 4](https://www.w3.org/TR/xpath/#corelib)).

use sprig_index::{NodeKind, XML_NAMESPACE};

use crate::xpath::compile::{Expr, Function};
use crate::xpath::value::{round, string_to_number, Node, Value};
use crate::{Error, Result};

use super::navigate::*;

impl Eval<'_, '_> {
    pub(super) fn node_set_arg(&mut self, args: &[Expr], ctx: Context, name: &str) -> Result<Vec<Node>> {
        match args.first() {
            None => Ok(vec![ctx.node]),
            Some(a) => match self.expr(a, ctx)? {
                Value::NodeSet(n) => Ok(n),
                _ => Err(Error::type_error(format!("{name}() expects a node-set"))),
            },
        }
    }

    pub(super) fn string_arg(&mut self, args: &[Expr], i: usize, ctx: Context) -> Result<String> {
        match args.get(i) {
            Some(a) => self.string(a, ctx),
            None => self.string_value(ctx.node),
        }
    }

    pub(super) fn call(&mut self, f: Function, args: &[Expr], ctx: Context) -> Result<Value> {
        use Function as F;
        Ok(match f {
            F::Last => Value::Number(ctx.size as f64),
            F::Position => Value::Number(ctx.position as f64),
            F::Count => match self.summary_count(&args[0])? {
                Some(n) => Value::Number(n as f64),
                None => Value::Number(self.node_set_arg(args, ctx, "count")?.len() as f64),
            },
            F::Id => {
                let tokens = match self.expr(&args[0], ctx)? {
                    Value::NodeSet(nodes) => {
                        let mut all = Vec::new();
                        for n in nodes {
                            all.push(self.string_value(n)?);
                        }
                        all.join(" ")
                    }
                    v => self.to_string(&v)?,
                };
                let doc = self.doc(ctx.node)?;
                let mut res = Vec::new();
                for token in tokens.split([' ', '\t', '\r', '\n']).filter(|t| !t.is_empty()) {
                    if let Some(pre) = doc.element_by_id(token)? {
                        res.push(Node::stored(ctx.node.doc, pre));
                    }
                }
                res.sort_unstable();
                res.dedup();
                Value::NodeSet(res)
            }
            F::LocalName | F::NamespaceUri | F::Name => {
                let nodes = self.node_set_arg(args, ctx, "name")?;
                let Some(&n) = nodes.first() else { return Ok(Value::String(String::new())) };
                let (prefix, local, uri) = self.name_parts(n)?;
                Value::String(match f {
                    F::LocalName => local,
                    F::NamespaceUri => uri,
                    _ if prefix.is_empty() => local,
                    _ => format!("{prefix}:{local}"),
                })
            }
            F::String => Value::String(self.string_arg(args, 0, ctx)?),
            F::Concat => {
                let mut s = String::new();
                for a in args {
                    s.push_str(&self.string(a, ctx)?);
                }
                Value::String(s)
            }
            F::StartsWith => {
                let (a, b) = (self.string(&args[0], ctx)?, self.string(&args[1], ctx)?);
                Value::Boolean(a.starts_with(&b))
            }
            F::Contains => {
                let (a, b) = (self.string(&args[0], ctx)?, self.string(&args[1], ctx)?);
                Value::Boolean(a.contains(&b))
            }
            F::SubstringBefore => {
                let (a, b) = (self.string(&args[0], ctx)?, self.string(&args[1], ctx)?);
                Value::String(a.find(&b).map(|i| a[..i].to_string()).unwrap_or_default())
            }
            F::SubstringAfter => {
                let (a, b) = (self.string(&args[0], ctx)?, self.string(&args[1], ctx)?);
                Value::String(a.find(&b).map(|i| a[i + b.len()..].to_string()).unwrap_or_default())
            }
            F::Substring => {
                let s = self.string(&args[0], ctx)?;
                let start = round(self.number(&args[1], ctx)?);
                let end = match args.get(2) {
                    Some(len) => start + round(self.number(len, ctx)?),
                    None => f64::INFINITY,
                };
                // Characters at 1-based positions p with start <= p < end; NaN fails both.
                Value::String(
                    s.chars()
                        .enumerate()
                        .filter(|(i, _)| {
                            let p = (*i + 1) as f64;
                            p >= start && p < end
                        })
                        .map(|(_, c)| c)
                        .collect(),
                )
            }
            F::StringLength => Value::Number(self.string_arg(args, 0, ctx)?.chars().count() as f64),
            F::NormalizeSpace => {
                let s = self.string_arg(args, 0, ctx)?;
                Value::String(s.split([' ', '\t', '\r', '\n']).filter(|t| !t.is_empty()).collect::<Vec<_>>().join(" "))
            }
            F::Translate => {
                let s = self.string(&args[0], ctx)?;
                let from: Vec<char> = self.string(&args[1], ctx)?.chars().collect();
                let to: Vec<char> = self.string(&args[2], ctx)?.chars().collect();
                Value::String(
                    s.chars()
                        .filter_map(|c| match from.iter().position(|&f| f == c) {
                            Some(i) => to.get(i).copied(),
                            None => Some(c),
                        })
                        .collect(),
                )
            }
            F::Boolean => Value::Boolean(self.boolean(&args[0], ctx)?),
            F::Not => Value::Boolean(!self.boolean(&args[0], ctx)?),
            F::True => Value::Boolean(true),
            F::False => Value::Boolean(false),
            F::Lang => {
                let want = self.string(&args[0], ctx)?.to_lowercase();
                Value::Boolean(match self.xml_lang(ctx.node)? {
                    Some(lang) => {
                        let lang = lang.to_lowercase();
                        lang == want || lang.strip_prefix(&want).is_some_and(|r| r.starts_with('-'))
                    }
                    None => false,
                })
            }
            F::Number => Value::Number(match args.first() {
                Some(a) => self.number(a, ctx)?,
                None => string_to_number(&self.string_value(ctx.node)?),
            }),
            F::Sum => {
                let Value::NodeSet(nodes) = self.expr(&args[0], ctx)? else {
                    return Err(type_error("sum() expects a node-set"));
                };
                let mut acc = 0.0;
                for n in nodes {
                    acc += string_to_number(&self.string_value(n)?);
                }
                Value::Number(acc)
            }
            F::Floor => Value::Number(self.number(&args[0], ctx)?.floor()),
            F::Ceiling => Value::Number(self.number(&args[0], ctx)?.ceil()),
            F::Round => Value::Number(round(self.number(&args[0], ctx)?)),
        })
    }

    /// (prefix, local name, namespace URI) of a node; empty strings where it has none.
    pub(super) fn name_parts(&self, node: Node) -> Result<(String, String, String)> {
        if node.is_namespace() {
            let (prefix, _) = self.namespace_node(node)?;
            return Ok((String::new(), prefix, String::new()));
        }
        let rec = self.record(node)?;
        let names = self.nav.collection.names();
        Ok(match (rec.kind, names.get(rec.name)) {
            (NodeKind::Element | NodeKind::Attribute, Some(q)) => (q.prefix.clone(), q.local.clone(), q.uri.clone()),
            (NodeKind::ProcessingInstruction, Some(q)) => (String::new(), q.local.clone(), String::new()),
            _ => (String::new(), String::new(), String::new()),
        })
    }

    /// The `xml:lang` in effect at `node`.
    pub(super) fn xml_lang(&self, node: Node) -> Result<Option<String>> {
        let doc = self.doc(node)?;
        let lang_ids = self.nav.collection.names().matching(XML_NAMESPACE, Some("lang"));
        if lang_ids.is_empty() {
            return Ok(None);
        }
        // A namespace node's `pre` is its element's; other nodes that are not
        // elements look from their parent on.
        let mut pre = node.pre;
        let mut cur = doc.node(pre)?;
        loop {
            if cur.kind == NodeKind::Element {
                let mut a = pre + 1;
                while a <= cur.end {
                    let arec = doc.node(a)?;
                    if !arec.kind.is_attribute_like() {
                        break;
                    }
                    if arec.kind == NodeKind::Attribute && lang_ids.contains(&arec.name) {
                        return Ok(Some(doc.text(a)?));
                    }
                    a += 1;
                }
            }
            if cur.kind == NodeKind::Root {
                return Ok(None);
            }
            pre = cur.parent;
            cur = doc.node(pre)?;
        }
    }
}
