//! The terms an LIndex stores, and the patterns a lookup matches them with.
//!
//! A term is `STEP* 0x01 property 0x01 token`: the walk from the indexed node to a
//! node that holds the text (no step: the node's own text), the property, and one
//! token of its value. A step is a direction byte (`0x02` outgoing, `0x03` incoming),
//! the relationship type, `0x05`, and the labels of the node reached, joined by `0x06`.
//! Tokens are the maximal runs of non-whitespace characters, kept as written, so a
//! needle without whitespace occurs in a text exactly when it occurs in one of its
//! tokens: a lookup that scans the dictionary for tokens containing the needle cannot
//! miss a `CONTAINS` match. That is why tokens are not lower-cased or stemmed here
//! (full-text indexes do that; see `fulltext.rs`).

use crate::graph::Direction;

pub(crate) const PROP_SEP: char = '\u{1}';
const OUT: char = '\u{2}';
const IN: char = '\u{3}';
const LABELS: char = '\u{5}';
const LABEL_SEP: char = '\u{6}';
/// Replaces the separators in names, so a name never breaks a term apart (two names
/// that differ only there share terms: a lookup then keeps more candidates, never fewer).
const MASK: char = '\u{7}';
/// Tokens are cut at this many bytes; a node with a longer token also gets the
/// `LONG` marker for that path and property, and every lookup keeps such nodes.
pub(crate) const MAX_TOKEN: usize = 200;
pub(crate) const LONG: &str = "\u{7}long";

/// The marker of a document whose walks of `length` relationships were too many to
/// list: lookups along paths of that length keep it.
pub(crate) fn saturated_term(length: usize) -> String {
    format!("{MASK}walks:{length}")
}

/// One relationship of a walk from the indexed node.
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkStep {
    pub direction: Direction,
    pub rel_type: String,
    /// Labels of the node reached, sorted.
    pub labels: Vec<String>,
}

fn masked(name: &str, out: &mut String) {
    out.extend(name.chars().map(|c| if c <= MASK { MASK } else { c }));
}

/// The path part of a term: every step of the walk.
#[cfg(test)]
pub(crate) fn path_prefix(steps: &[WalkStep]) -> String {
    let mut s = String::new();
    for step in steps {
        push_step(&mut s, step.direction, &step.rel_type, &step.labels);
    }
    s
}

/// Appends one step of a walk to `path`.
pub(crate) fn push_step(path: &mut String, direction: Direction, rel_type: &str, labels: &[String]) {
    path.push(if direction == Direction::Outgoing { OUT } else { IN });
    masked(rel_type, path);
    path.push(LABELS);
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            path.push(LABEL_SEP);
        }
        masked(l, path);
    }
}

/// `path + property` part, to which a token is appended.
pub(crate) fn term_stem(path: &str, property: &str) -> String {
    let mut s = String::with_capacity(path.len() + property.len() + 2);
    s.push_str(path);
    s.push(PROP_SEP);
    masked(property, &mut s);
    s.push(PROP_SEP);
    s
}

/// Calls `f` with every token of `text`, cut to [`MAX_TOKEN`] bytes; returns true when
/// some token was cut.
pub(crate) fn for_each_token(text: &str, mut f: impl FnMut(&str)) -> bool {
    let mut cut = false;
    for token in text.split(char::is_whitespace).filter(|t| !t.is_empty()) {
        if token.len() > MAX_TOKEN {
            let mut end = MAX_TOKEN;
            while !token.is_char_boundary(end) {
                end -= 1;
            }
            f(&token[..end]);
            cut = true;
        } else {
            f(token);
        }
    }
    cut
}

/// What a predicate asks of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextTest {
    Contains(String),
    StartsWith(String),
    EndsWith(String),
    Equals(String),
}

/// The needle fragments a lookup matches against tokens: each fragment occurs inside
/// one token of any text that passes the test. `None`: the test has no fragment (an
/// empty needle), so the index cannot prune.
pub(crate) fn fragments(test: &TextTest) -> Option<Vec<Fragment>> {
    let (needle, whole) = match test {
        TextTest::Contains(n) | TextTest::StartsWith(n) | TextTest::EndsWith(n) => (n, false),
        TextTest::Equals(n) => (n, true),
    };
    let parts: Vec<&str> = needle.split(char::is_whitespace).filter(|t| !t.is_empty()).collect();
    if parts.is_empty() {
        return None;
    }
    let last = parts.len() - 1;
    let starts_clean = !needle.starts_with(char::is_whitespace);
    let ends_clean = !needle.ends_with(char::is_whitespace);
    Some(
        parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                // A fragment with whitespace on both sides inside the needle is a whole token.
                let left_bounded = i > 0 || !starts_clean || whole || matches!(test, TextTest::StartsWith(_));
                let right_bounded = i < last || !ends_clean || whole || matches!(test, TextTest::EndsWith(_));
                let kind = match (left_bounded, right_bounded) {
                    (true, true) => FragmentKind::Whole,
                    (true, false) => FragmentKind::Prefix,
                    (false, true) => FragmentKind::Suffix,
                    (false, false) => FragmentKind::Inside,
                };
                Fragment { text: (*p).to_string(), kind }
            })
            .collect(),
    )
}

/// How a fragment must sit in a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FragmentKind {
    Whole,
    Prefix,
    Suffix,
    Inside,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fragment {
    pub text: String,
    pub kind: FragmentKind,
}

impl Fragment {
    /// Whether a token (possibly cut to [`MAX_TOKEN`]) can hold this fragment.
    pub(crate) fn matches(&self, token: &str, finder: &memchr::memmem::Finder<'_>) -> bool {
        match self.kind {
            FragmentKind::Whole => token == self.text,
            FragmentKind::Prefix => token.starts_with(&self.text),
            FragmentKind::Suffix => token.ends_with(&self.text),
            FragmentKind::Inside => finder.find(token.as_bytes()).is_some(),
        }
    }
}

/// One step a lookup's pattern asks for, from the pruned node towards the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepPattern {
    /// `None`: either direction.
    pub direction: Option<Direction>,
    /// Any of these types; empty: any type.
    pub types: Vec<String>,
    /// Labels the node reached must have.
    pub labels: Vec<String>,
}

/// Whether the path part of a term (`path`, without the property) fits `steps`.
pub(crate) fn path_matches(path: &str, steps: &[StepPattern]) -> bool {
    let mut rest = path;
    for step in steps {
        let mut chars = rest.chars();
        let dir = match chars.next() {
            Some(OUT) => Direction::Outgoing,
            Some(IN) => Direction::Incoming,
            _ => return false,
        };
        if step.direction.is_some_and(|d| d != dir) {
            return false;
        }
        let body = chars.as_str();
        let end = body.find([OUT, IN]).unwrap_or(body.len());
        let (this, next) = body.split_at(end);
        let Some((rel_type, labels)) = this.split_once(LABELS) else { return false };
        let mut buf = String::new();
        if !step.types.is_empty()
            && !step.types.iter().any(|t| {
                buf.clear();
                masked(t, &mut buf);
                buf == rel_type
            })
        {
            return false;
        }
        for wanted in &step.labels {
            buf.clear();
            masked(wanted, &mut buf);
            if !labels.split(LABEL_SEP).any(|l| l == buf) {
                return false;
            }
        }
        rest = next;
    }
    rest.is_empty()
}

/// The dictionary range that holds every term a pattern can match: the longest prefix
/// fixed by its first step (direction and a single type) or, without steps, the stem.
pub(crate) fn scan_prefix(steps: &[StepPattern], property: &str) -> String {
    match steps.first() {
        None => term_stem("", property),
        Some(first) => {
            let mut s = String::new();
            if let Some(d) = first.direction {
                s.push(if d == Direction::Outgoing { OUT } else { IN });
                if let [only] = first.types.as_slice() {
                    masked(only, &mut s);
                    s.push(LABELS);
                }
            }
            s
        }
    }
}

/// Splits a term into (path, property, token).
pub(crate) fn split_term(term: &str) -> Option<(&str, &str, &str)> {
    let (path, rest) = term.split_once(PROP_SEP)?;
    let (prop, token) = rest.split_once(PROP_SEP)?;
    Some((path, prop, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(dir: Direction, t: &str, labels: &[&str]) -> WalkStep {
        WalkStep { direction: dir, rel_type: t.into(), labels: labels.iter().map(|s| s.to_string()).collect() }
    }

    #[test]
    fn fragments_never_miss_a_substring() {
        let f = fragments(&TextTest::Contains("ab cd e".into())).unwrap();
        let kinds: Vec<_> = f.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, [FragmentKind::Suffix, FragmentKind::Whole, FragmentKind::Prefix]);
        let f = fragments(&TextTest::Equals("x y".into())).unwrap();
        assert!(f.iter().all(|f| f.kind == FragmentKind::Whole));
        assert!(fragments(&TextTest::Contains("  ".into())).is_none());
        let f = fragments(&TextTest::StartsWith("ab".into())).unwrap();
        assert_eq!(f[0].kind, FragmentKind::Prefix);
    }

    #[test]
    fn paths_match_patterns() {
        let path =
            path_prefix(&[step(Direction::Outgoing, "KNOWS", &["A", "Person"]), step(Direction::Incoming, "W", &[])]);
        let any = StepPattern { direction: None, types: vec![], labels: vec![] };
        let knows = StepPattern {
            direction: Some(Direction::Outgoing),
            types: vec!["KNOWS".into()],
            labels: vec!["Person".into()],
        };
        assert!(path_matches(&path, &[knows.clone(), any.clone()]));
        assert!(!path_matches(&path, &[knows.clone()]));
        assert!(!path_matches(&path, &[any.clone(), knows.clone()]));
        let wrong_label = StepPattern { labels: vec!["City".into()], ..knows };
        assert!(!path_matches(&path, &[wrong_label, any]));
        let term = format!("{}tok", term_stem(&path, "bio"));
        assert_eq!(split_term(&term), Some((path.as_str(), "bio", "tok")));
    }

    #[test]
    fn long_tokens_are_cut_on_a_char_boundary() {
        let long = "é".repeat(150);
        let mut seen = Vec::new();
        assert!(for_each_token(&format!("a {long}"), |t| seen.push(t.len())));
        assert_eq!(seen, [1, 200]);
    }
}
