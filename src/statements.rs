//! Cutting a script into statements at `;`, by the rules of the language each
//! statement is written in.
//!
//! Cypher has `//` and `/* */` comments, and strings with backslash escapes. XPath
//! has neither: `//` is the descendant path and `'a\'` is the string `a\`. A statement
//! is XPath when the shell is in XPath mode or when it starts with the keyword
//! `xpath` (`xpath books //book/title;`), else Cypher.

/// The language a script's statements are read in when they do not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Cypher: `//` and `/* */` comments, strings with backslash escapes.
    Cypher,
    /// XPath 1.0: no comments, no escapes in strings.
    XPath,
}

/// The first statement of `text` (without its `;`, comments left out) and the text
/// after it; `None` when only whitespace and comments are left.
pub fn next_statement(text: &str, dialect: Dialect) -> Option<(String, &str)> {
    let mut rest = text;
    loop {
        let (statement, after) = cut(rest, dialect);
        if !statement.trim().is_empty() {
            return Some((statement, after));
        }
        if after.is_empty() {
            return None;
        }
        rest = after;
    }
}

/// Every statement of a Cypher script, in order; empty ones dropped.
pub fn split_statements(text: &str) -> Vec<String> {
    let mut res = Vec::new();
    let mut rest = text;
    while let Some((statement, after)) = next_statement(rest, Dialect::Cypher) {
        res.push(statement);
        rest = after;
    }
    res
}

fn starts_with_xpath_keyword(text: &str) -> bool {
    let t = text.trim_start();
    t.get(..5).is_some_and(|k| k.eq_ignore_ascii_case("xpath")) && t[5..].starts_with(|c: char| c.is_whitespace())
}

/// One statement up to the first `;` outside strings and comments, and the rest.
fn cut(text: &str, dialect: Dialect) -> (String, &str) {
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut xpath = dialect == Dialect::XPath;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if current.trim().is_empty() && !c.is_whitespace() && dialect == Dialect::Cypher {
            xpath = starts_with_xpath_keyword(&text[at..]);
        }
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) if c == '\\' && !xpath => {
                current.push(c);
                if let Some((_, n)) = chars.next() {
                    current.push(n);
                }
                continue;
            }
            Some(_) => {}
            None if c == '\'' || c == '"' || (c == '`' && !xpath) => quote = Some(c),
            None if !xpath && c == '/' && chars.peek().is_some_and(|&(_, n)| n == '/') => {
                for (_, n) in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
                current.push('\n');
                continue;
            }
            None if !xpath && c == '/' && chars.peek().is_some_and(|&(_, n)| n == '*') => {
                chars.next();
                let mut last = ' ';
                for (_, n) in chars.by_ref() {
                    if last == '*' && n == '/' {
                        break;
                    }
                    last = n;
                }
                current.push(' ');
                continue;
            }
            None if c == ';' => return (current, &text[at + 1..]),
            None => {}
        }
        current.push(c);
    }
    (current, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str, dialect: Dialect) -> Vec<String> {
        let mut res = Vec::new();
        let mut rest = text;
        while let Some((s, after)) = next_statement(rest, dialect) {
            res.push(s.trim().to_string());
            rest = after;
        }
        res
    }

    #[test]
    fn xpath_mode_keeps_descendant_paths() {
        assert_eq!(all("//book/title;\n//price;", Dialect::XPath), ["//book/title", "//price"]);
        assert_eq!(all("'a\\';//b", Dialect::XPath), ["'a\\'", "//b"]);
    }

    #[test]
    fn cypher_drops_comments_but_not_xpath_statements() {
        assert_eq!(
            all("// a comment; with a semicolon\nRETURN 1; /* it's; */ RETURN 2 // don't;\n;", Dialect::Cypher),
            ["RETURN 1", "RETURN 2"]
        );
        assert_eq!(
            all("xpath books\n//book/title;RETURN 'x;y'", Dialect::Cypher),
            ["xpath books\n//book/title", "RETURN 'x;y'"]
        );
        assert_eq!(all("RETURN 'a\\'b;c';", Dialect::Cypher), ["RETURN 'a\\'b;c'"]);
    }
}
