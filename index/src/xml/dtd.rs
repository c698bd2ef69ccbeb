//! The parts of an internal DTD subset that change the XPath data model: attributes
//! declared with type `ID` (which `id()` needs) and internal general entities.
//!
//! quick-xml hands the DOCTYPE over as text and leaves DTDs to its caller. External
//! subsets and parameter entities are not read (as in non-validating parsers).

use std::collections::{HashMap, HashSet};

/// What the loader needs from a DOCTYPE.
#[derive(Debug, Default)]
pub struct DtdInfo {
    /// `(element name, attribute name)` pairs declared `ID`.
    pub id_attributes: HashSet<(String, String)>,
    /// Internal general entities, already expanded to their replacement text.
    pub entities: HashMap<String, String>,
}

impl DtdInfo {
    /// Reads the declarations of a DOCTYPE's content (the text after `<!DOCTYPE`).
    pub fn parse(doctype: &str) -> Result<DtdInfo, String> {
        let mut res = DtdInfo::default();
        let Some(open) = doctype.find('[') else { return Ok(res) };
        let mut rest = &doctype[open + 1..];
        let mut raw_entities: Vec<(String, String)> = Vec::new();
        while let Some(pos) = rest.find('<') {
            rest = &rest[pos..];
            if let Some(body) = rest.strip_prefix("<!--") {
                let end = body.find("-->").ok_or("unterminated comment in DTD")?;
                rest = &body[end + 3..];
                continue;
            }
            let end = find_decl_end(rest).ok_or("unterminated declaration in DTD")?;
            let decl = &rest[..end];
            rest = &rest[end + 1..];
            if let Some(body) = decl.strip_prefix("<!ATTLIST") {
                parse_attlist(body, &mut res.id_attributes);
            } else if let Some(body) = decl.strip_prefix("<!ENTITY") {
                match parse_entity(body) {
                    Some((name, value)) => raw_entities.push((name, value)),
                    None => {
                        let toks = tokens(body);
                        let skipped =
                            toks.first() == Some(&"%") || (toks.len() >= 3 && matches!(toks[1], "SYSTEM" | "PUBLIC"));
                        if !skipped {
                            return Err(format!("malformed entity declaration '{}'", decl.trim()));
                        }
                    }
                }
            }
        }
        for (name, value) in &raw_entities {
            if !res.entities.contains_key(name) {
                let expanded = expand(value, &raw_entities, 0)?;
                res.entities.insert(name.clone(), expanded);
            }
        }
        Ok(res)
    }
}

/// The index of the `>` that closes the declaration at the start of `s`, skipping quoted text.
fn find_decl_end(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '>' => return Some(i),
            None => {}
        }
    }
    None
}

/// Splits into whitespace-separated tokens, keeping quoted strings and parenthesised
/// groups whole.
fn tokens(s: &str) -> Vec<&str> {
    let mut res = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        match bytes[i] {
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    i += 1;
                }
                i = (i + 1).min(bytes.len());
            }
            b'(' => {
                while i < bytes.len() && bytes[i] != b')' {
                    i += 1;
                }
                i = (i + 1).min(bytes.len());
            }
            _ => {
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
            }
        }
        res.push(&s[start..i]);
    }
    res
}

fn parse_attlist(body: &str, ids: &mut HashSet<(String, String)>) {
    let toks = tokens(body);
    let Some((element, mut rest)) = toks.split_first() else { return };
    // Each definition is: name type default, where NOTATION takes a group and #FIXED a value.
    while let Some((attr, tail)) = rest.split_first() {
        let Some((ty, tail)) = tail.split_first() else { return };
        let tail = if *ty == "NOTATION" { tail.get(1..).unwrap_or(&[]) } else { tail };
        let Some((default, tail)) = tail.split_first() else { return };
        let tail = if *default == "#FIXED" { tail.get(1..).unwrap_or(&[]) } else { tail };
        if *ty == "ID" {
            ids.insert((element.to_string(), attr.to_string()));
        }
        rest = tail;
    }
}

fn parse_entity(body: &str) -> Option<(String, String)> {
    let toks = tokens(body);
    // Parameter entities (`%`) and external entities (SYSTEM/PUBLIC) are not read.
    let name = toks.first()?;
    if *name == "%" {
        return None;
    }
    let value = toks.get(1)?;
    let unquoted = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))?;
    Some((name.to_string(), unquoted.to_string()))
}

/// Resolves character and entity references inside an entity's literal value.
/// Longest replacement text an entity may expand to. Entities that refer to each
/// other grow geometrically ("billion laughs": ten levels of ten references are 10^10
/// characters); past this the document is refused.
pub const MAX_ENTITY_TEXT: usize = 1 << 20;

fn expand(value: &str, entities: &[(String, String)], depth: usize) -> Result<String, String> {
    if depth > 16 {
        return Err("entity references nest too deep (or are recursive)".into());
    }
    let mut res = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(amp) = rest.find('&') {
        res.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let semi = after.find(';').ok_or("unterminated reference in entity value")?;
        let name = &after[..semi];
        res.push_str(&resolve_reference(name, |n| {
            entities.iter().find(|(k, _)| k == n).map(|(_, v)| expand(v, entities, depth + 1))
        })?);
        if res.len() > MAX_ENTITY_TEXT {
            return Err(format!(
                "an entity expands to more than {} KiB of text (refused, as a defence against entity expansion attacks)",
                MAX_ENTITY_TEXT >> 10
            ));
        }
        rest = &after[semi + 1..];
    }
    res.push_str(rest);
    Ok(res)
}

/// The text of the reference `&name;`: a character reference, a predefined entity or
/// one found by `lookup`.
pub fn resolve_reference(
    name: &str,
    lookup: impl FnOnce(&str) -> Option<Result<String, String>>,
) -> Result<String, String> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix('x') {
            Some(hex) => u32::from_str_radix(hex, 16),
            None => num.parse::<u32>(),
        }
        .map_err(|_| format!("invalid character reference '&{name};'"))?;
        return match char::from_u32(code) {
            Some(c) if code != 0 => Ok(c.to_string()),
            _ => Err(format!("invalid character reference '&{name};'")),
        };
    }
    match name {
        "lt" => Ok("<".into()),
        "gt" => Ok(">".into()),
        "amp" => Ok("&".into()),
        "apos" => Ok("'".into()),
        "quot" => Ok("\"".into()),
        _ => lookup(name).unwrap_or_else(|| Err(format!("undefined entity '&{name};'"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_id_attributes_and_entities() {
        let dtd = DtdInfo::parse(
            "doc [\n <!ATTLIST item id ID #IMPLIED kind (a|b) 'a' ref IDREF #FIXED \"x\">\n <!-- c > -->\n <!ENTITY company \"Acme &amp; Sons\">\n <!ENTITY both \"&company;!\">]",
        )
        .unwrap();
        assert!(dtd.id_attributes.contains(&("item".to_string(), "id".to_string())));
        assert_eq!(dtd.id_attributes.len(), 1);
        assert_eq!(dtd.entities["company"], "Acme & Sons");
        assert_eq!(dtd.entities["both"], "Acme & Sons!");
    }

    #[test]
    fn recursive_entities_are_an_error() {
        assert!(DtdInfo::parse("d [<!ENTITY a \"&b;\"><!ENTITY b \"&a;\">]").is_err());
    }
}
