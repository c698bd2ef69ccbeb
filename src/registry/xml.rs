//! The registry's XML shape: one self-contained `<model>` document per model (the
//! documents of collection `registry`), and `<registry>` files for import and export.
//! `fixtures/registry/registry.xsd` describes the same shape.

use std::collections::BTreeMap;

use quick_xml::escape::escape;
use quick_xml::events::Event;

use super::record::*;
use super::RegistryError;

/// The document of collection `registry` for `model`: its fields as attributes, its
/// relationships as children that carry the related record's fields too, so that
/// XPath needs no joins across documents.
pub fn model_document(records: &Records, model: &Model) -> String {
    let mut out = String::new();
    write_model(&mut out, records, model, "");
    // No whitespace-only text nodes: values never hold a raw newline (see `esc`).
    out.replace('\n', "")
}

/// Escapes markup and the whitespace that attribute-value normalization would turn
/// into spaces, so that a value reads back exactly.
fn esc(v: &str) -> String {
    escape(v).replace('\n', "&#10;").replace('\r', "&#13;").replace('\t', "&#9;")
}

/// A whole registry as one `<registry>` document: the shared records, then the models.
pub fn registry_document(records: &Records) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<registry>\n");
    for p in &records.papers {
        write_paper(&mut out, p, "  ");
    }
    for m in &records.methods {
        element(&mut out, "  ", "method", &method_attrs(m, "name"), "");
    }
    for d in &records.datasets {
        element(&mut out, "  ", "dataset", &[("name", Some(d.name.clone())), ("domain", d.domain.clone())], "");
    }
    for h in &records.hardware {
        element(&mut out, "  ", "hardware", &[("name", Some(h.name.clone())), ("kind", h.kind.clone())], "");
    }
    for m in &records.models {
        write_model(&mut out, records, m, "  ");
    }
    out.push_str("</registry>\n");
    out
}

type Attrs = [(&'static str, Option<String>)];

fn num(v: Option<f64>) -> Option<String> {
    v.map(|v| v.to_string())
}

fn int(v: Option<i64>) -> Option<String> {
    v.map(|v| v.to_string())
}

fn element(out: &mut String, indent: &str, name: &str, attrs: &Attrs, body: &str) {
    out.push_str(indent);
    out.push('<');
    out.push_str(name);
    for (k, v) in attrs {
        if let Some(v) = v {
            out.push_str(&format!(" {k}=\"{}\"", esc(v)));
        }
    }
    if body.is_empty() {
        out.push_str("/>\n");
    } else {
        out.push_str(">\n");
        out.push_str(body);
        out.push_str(indent);
        out.push_str(&format!("</{name}>\n"));
    }
}

fn method_attrs(m: &Method, key: &'static str) -> Vec<(&'static str, Option<String>)> {
    vec![
        (key, Some(m.name.clone())),
        ("kind", m.kind.clone()),
        ("granularity", m.granularity.clone()),
        ("criterion", m.criterion.clone()),
        ("schedule", m.schedule.clone()),
    ]
}

fn write_paper(out: &mut String, p: &Paper, indent: &str) {
    let mut body = String::new();
    for a in &p.authors {
        body.push_str(&format!("{indent}  <author>{}</author>\n", esc(a)));
    }
    element(
        out,
        indent,
        "paper",
        &[("title", Some(p.title.clone())), ("venue", p.venue.clone()), ("year", int(p.year))],
        &body,
    );
}

fn write_model(out: &mut String, records: &Records, m: &Model, indent: &str) {
    let inner = format!("{indent}  ");
    let mut body = String::new();
    for d in &m.derived_from {
        element(
            &mut body,
            &inner,
            "derived-from",
            &[("model", Some(d.model.clone())), ("relation", Some(d.relation.clone()))],
            "",
        );
    }
    for p in &m.pruned_with {
        let mut attrs = vec![("method", Some(p.method.clone())), ("ratio", num(p.ratio)), ("target", p.target.clone())];
        if let Some(method) = records.method(&p.method) {
            attrs.extend(method_attrs(method, "method").into_iter().skip(1));
        }
        element(&mut body, &inner, "pruning", &attrs, "");
    }
    for e in &m.evaluated_on {
        let domain = records.dataset(&e.dataset).and_then(|d| d.domain.clone());
        element(
            &mut body,
            &inner,
            "evaluation",
            &[
                ("dataset", Some(e.dataset.clone())),
                ("domain", domain),
                ("metric", e.metric.clone()),
                ("value", num(e.value)),
                ("baseline", num(e.baseline)),
                ("delta", num(e.delta)),
                ("delta_best", num(e.delta_best)),
                ("compared_to", e.compared_to.clone()),
            ],
            "",
        );
    }
    for d in &m.deployed_on {
        let kind = records.hardware(&d.hardware).and_then(|h| h.kind.clone());
        element(
            &mut body,
            &inner,
            "deployment",
            &[
                ("hardware", Some(d.hardware.clone())),
                ("kind", kind),
                ("latency_ms", num(d.latency_ms)),
                ("speedup", num(d.speedup)),
                ("speedup_low", num(d.speedup_low)),
                ("throughput", num(d.throughput)),
                ("throughput_unit", d.throughput_unit.clone()),
                ("power_w", num(d.power_w)),
                ("compared_to", d.compared_to.clone()),
            ],
            "",
        );
    }
    for title in &m.reported_in {
        match records.paper(title) {
            Some(p) => write_paper(&mut body, p, &inner),
            None => element(&mut body, &inner, "paper", &[("title", Some(title.clone()))], ""),
        }
    }
    element(
        out,
        indent,
        "model",
        &[
            ("name", Some(m.name.clone())),
            ("family", m.family.clone()),
            ("task", m.task.clone()),
            ("params", int(m.params)),
            ("params_after", int(m.params_after)),
            ("sparsity", num(m.sparsity)),
            ("compression", num(m.compression)),
            ("size_mb", num(m.size_mb)),
            ("notes", m.notes.clone()),
        ],
        &body,
    );
}

/// A parsed element: name, attributes, child elements, text, and where it starts.
struct Element {
    name: String,
    attrs: BTreeMap<String, String>,
    children: Vec<Element>,
    text: String,
    at: (u64, u64),
}

fn line_column(text: &str, offset: usize) -> (u64, u64) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let column = (before.len() - before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1)) as u64 + 1;
    (line, column)
}

fn parse_tree(text: &str) -> Result<Element, RegistryError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    loop {
        let start = reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| {
            RegistryError::at(format!("malformed XML: {e}"), line_column(text, reader.error_position() as usize))
        })?;
        let at = line_column(text, start);
        let xml_error = |e: String| RegistryError::at(format!("malformed XML: {e}"), at);
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = e.name().0.to_string();
                let mut attrs = BTreeMap::new();
                for attr in e.attributes() {
                    let attr = attr.map_err(|e| xml_error(e.to_string()))?;
                    let key = attr.key.0.to_string();
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| xml_error(e.to_string()))?
                        .into_owned();
                    attrs.insert(key, value);
                }
                let el = Element { name, attrs, children: Vec::new(), text: String::new(), at };
                if matches!(event, Event::Start(_)) {
                    stack.push(el);
                } else if let Some(parent) = stack.last_mut() {
                    parent.children.push(el);
                } else if root.replace(el).is_some() {
                    return Err(xml_error("more than one root element".into()));
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| xml_error("unexpected end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => {
                        if root.replace(el).is_some() {
                            return Err(xml_error("more than one root element".into()));
                        }
                    }
                }
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&content);
                } else if !content.chars().all(char::is_whitespace) {
                    return Err(xml_error("text outside the root element".into()));
                }
            }
            Event::CData(t) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let name: &str = &r;
                let text = sprig_index::xml::dtd::resolve_reference(name, |_| None).map_err(xml_error)?;
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&text);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(RegistryError::at(format!("malformed XML: <{}> is never closed", open.name), open.at));
    }
    root.ok_or_else(|| RegistryError::new("malformed XML: no root element"))
}

/// Reads the attributes of one element, refusing any it does not know.
struct Fields<'a> {
    el: &'a Element,
}

impl<'a> Fields<'a> {
    fn new(el: &'a Element, allowed: &[&str]) -> Result<Fields<'a>, RegistryError> {
        for key in el.attrs.keys() {
            if !allowed.contains(&key.as_str()) {
                return Err(RegistryError::at(
                    format!("unknown field '{key}' on <{}> (known: {})", el.name, allowed.join(", ")),
                    el.at,
                ));
            }
        }
        Ok(Fields { el })
    }

    fn text(&self, key: &str) -> Option<String> {
        self.el.attrs.get(key).cloned()
    }

    fn required(&self, key: &str) -> Result<String, RegistryError> {
        self.text(key)
            .ok_or_else(|| RegistryError::at(format!("<{}> needs the attribute '{key}'", self.el.name), self.el.at))
    }

    fn number(&self, key: &str) -> Result<Option<f64>, RegistryError> {
        self.el
            .attrs
            .get(key)
            .map(|v| {
                v.trim().parse::<f64>().ok().filter(|n| n.is_finite()).ok_or_else(|| {
                    RegistryError::at(format!("{key}=\"{v}\" on <{}> is not a number", self.el.name), self.el.at)
                })
            })
            .transpose()
    }

    fn integer(&self, key: &str) -> Result<Option<i64>, RegistryError> {
        self.el
            .attrs
            .get(key)
            .map(|v| {
                v.trim().parse::<i64>().map_err(|_| {
                    RegistryError::at(format!("{key}=\"{v}\" on <{}> is not an integer", self.el.name), self.el.at)
                })
            })
            .transpose()
    }
}

const MODEL_FIELDS: [&str; 9] =
    ["name", "family", "task", "params", "params_after", "sparsity", "compression", "size_mb", "notes"];
const METHOD_FIELDS: [&str; 4] = ["kind", "granularity", "criterion", "schedule"];

/// Adds a shared record defined in a file; every definition of one key must agree.
fn define<T: PartialEq + std::fmt::Debug>(
    list: &mut Vec<T>,
    item: T,
    key: impl Fn(&T) -> &str,
    what: &str,
    at: (u64, u64),
) -> Result<(), RegistryError> {
    add_once(list, item, key).map_err(|c| {
        RegistryError::at(
            format!("{what} '{}' is given twice with different fields: {} and {}", c.key, c.kept, c.given),
            at,
        )
    })
}

/// Parses a registry import file: a `<registry>` of shared records and models, or
/// one `<model>` document.
pub fn parse(text: &str) -> Result<Records, RegistryError> {
    let root = parse_tree(text)?;
    let mut defs = Records::default();
    match root.name.as_str() {
        "registry" => {
            Fields::new(&root, &[])?;
            for child in &root.children {
                match child.name.as_str() {
                    "paper" => {
                        let p = parse_paper(child)?;
                        define(&mut defs.papers, p, |p| &p.title, "paper", child.at)?;
                    }
                    "method" => {
                        let f = Fields::new(child, &["name", "kind", "granularity", "criterion", "schedule"])?;
                        let m = method_from(&f, "name")?;
                        define(&mut defs.methods, m, |m| &m.name, "method", child.at)?;
                    }
                    "dataset" => {
                        let f = Fields::new(child, &["name", "domain"])?;
                        let d = Dataset { name: f.required("name")?, domain: f.text("domain") };
                        define(&mut defs.datasets, d, |d| &d.name, "dataset", child.at)?;
                    }
                    "hardware" => {
                        let f = Fields::new(child, &["name", "kind"])?;
                        let h = Hardware { name: f.required("name")?, kind: f.text("kind") };
                        define(&mut defs.hardware, h, |h| &h.name, "hardware", child.at)?;
                    }
                    "model" => parse_model(child, &mut defs)?,
                    other => return Err(unknown_element(other, "registry", child.at)),
                }
            }
        }
        "model" => parse_model(&root, &mut defs)?,
        other => {
            return Err(RegistryError::at(
                format!("the root element is <{other}>; a registry file holds <registry> or <model>"),
                root.at,
            ))
        }
    }
    Ok(defs)
}

fn unknown_element(name: &str, parent: &str, at: (u64, u64)) -> RegistryError {
    RegistryError::at(format!("unknown element <{name}> in <{parent}>"), at)
}

fn method_from(f: &Fields<'_>, key: &str) -> Result<Method, RegistryError> {
    Ok(Method {
        name: f.required(key)?,
        kind: f.text("kind"),
        granularity: f.text("granularity"),
        criterion: f.text("criterion"),
        schedule: f.text("schedule"),
    })
}

fn parse_paper(el: &Element) -> Result<Paper, RegistryError> {
    let f = Fields::new(el, &["title", "venue", "year"])?;
    let mut authors = Vec::new();
    for child in &el.children {
        if child.name != "author" {
            return Err(unknown_element(&child.name, "paper", child.at));
        }
        Fields::new(child, &[])?;
        authors.push(child.text.trim().to_string());
    }
    Ok(Paper { title: f.required("title")?, venue: f.text("venue"), year: f.integer("year")?, authors })
}

/// A `<model>`; the fields of related records it carries become their definitions
/// (a reference that carries none only names a record defined elsewhere).
fn parse_model(el: &Element, defs: &mut Records) -> Result<(), RegistryError> {
    let f = Fields::new(el, &MODEL_FIELDS)?;
    let mut model = Model {
        name: f.required("name")?,
        family: f.text("family"),
        task: f.text("task"),
        params: f.integer("params")?,
        params_after: f.integer("params_after")?,
        sparsity: f.number("sparsity")?,
        compression: f.number("compression")?,
        size_mb: f.number("size_mb")?,
        notes: f.text("notes"),
        ..Model::default()
    };
    for child in &el.children {
        match child.name.as_str() {
            "derived-from" => {
                let f = Fields::new(child, &["model", "relation"])?;
                model.derived_from.push(Derivation { model: f.required("model")?, relation: f.required("relation")? });
            }
            "pruning" => {
                let mut allowed = vec!["method", "ratio", "target"];
                allowed.extend(METHOD_FIELDS);
                let f = Fields::new(child, &allowed)?;
                model.pruned_with.push(Pruning {
                    method: f.required("method")?,
                    ratio: f.number("ratio")?,
                    target: f.text("target"),
                });
                if METHOD_FIELDS.iter().any(|k| child.attrs.contains_key(*k)) {
                    let m = method_from(&f, "method")?;
                    define(&mut defs.methods, m, |m| &m.name, "method", child.at)?;
                }
            }
            "evaluation" => {
                let f = Fields::new(
                    child,
                    &["dataset", "domain", "metric", "value", "baseline", "delta", "delta_best", "compared_to"],
                )?;
                let dataset = f.required("dataset")?;
                if let Some(domain) = f.text("domain") {
                    let d = Dataset { name: dataset.clone(), domain: Some(domain) };
                    define(&mut defs.datasets, d, |d| &d.name, "dataset", child.at)?;
                }
                model.evaluated_on.push(Evaluation {
                    dataset,
                    metric: f.text("metric"),
                    value: f.number("value")?,
                    baseline: f.number("baseline")?,
                    delta: f.number("delta")?,
                    delta_best: f.number("delta_best")?,
                    compared_to: f.text("compared_to"),
                });
            }
            "deployment" => {
                let f = Fields::new(
                    child,
                    &[
                        "hardware",
                        "kind",
                        "latency_ms",
                        "speedup",
                        "speedup_low",
                        "throughput",
                        "throughput_unit",
                        "power_w",
                        "compared_to",
                    ],
                )?;
                let hardware = f.required("hardware")?;
                if let Some(kind) = f.text("kind") {
                    let h = Hardware { name: hardware.clone(), kind: Some(kind) };
                    define(&mut defs.hardware, h, |h| &h.name, "hardware", child.at)?;
                }
                model.deployed_on.push(Deployment {
                    hardware,
                    latency_ms: f.number("latency_ms")?,
                    speedup: f.number("speedup")?,
                    speedup_low: f.number("speedup_low")?,
                    throughput: f.number("throughput")?,
                    throughput_unit: f.text("throughput_unit"),
                    power_w: f.number("power_w")?,
                    compared_to: f.text("compared_to"),
                });
            }
            "paper" => {
                let p = parse_paper(child)?;
                model.reported_in.push(p.title.clone());
                if p.venue.is_some() || p.year.is_some() || !p.authors.is_empty() {
                    define(&mut defs.papers, p, |p| &p.title, "paper", child.at)?;
                }
            }
            other => return Err(unknown_element(other, "model", child.at)),
        }
    }
    if !el.text.trim().is_empty() {
        return Err(RegistryError::at("text inside <model>: its fields are attributes", el.at));
    }
    defs.models.push(model);
    Ok(())
}
