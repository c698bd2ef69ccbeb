//! XPath 1.0 values and the conversions between them
//! ([section 4](https://www.w3.org/TR/xpath/#corelib)).

/// A node of a collection: a stored node (`ns == 0`) or the `ns`-th in-scope namespace
/// node of element `pre`. The derived order is document order: documents in load
/// order, then pre-order, and an element's namespace nodes right after it, before its
/// attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Node {
    pub doc: u32,
    pub pre: u32,
    pub ns: u32,
}

impl Node {
    pub fn stored(doc: u32, pre: u32) -> Node {
        Node { doc, pre, ns: 0 }
    }
    pub fn is_namespace(self) -> bool {
        self.ns != 0
    }
}

/// The four XPath 1.0 result types. Node-sets are kept in document order, without
/// duplicates.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    NodeSet(Vec<Node>),
    Number(f64),
    String(String),
    Boolean(bool),
}

/// XPath's `number(string)`: optional whitespace, an optional minus, digits with an
/// optional fraction; anything else is NaN (no `+`, no exponent). The value index
/// converts stored values with the same function.
pub fn string_to_number(s: &str) -> f64 {
    sprig_index::xml::value_index::xpath_number(s)
}

/// XPath's `string(number)`: no exponent, as few digits as distinguish the value.
pub fn number_to_string(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
    } else if n.is_infinite() {
        if n > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else if n == 0.0 {
        "0".into()
    } else {
        // Rust's Display for f64 prints the shortest round-tripping digits and never
        // an exponent, which is exactly section 4.2.
        format!("{n}")
    }
}

/// `round()`: the closest integer, halves toward positive infinity; keeps -0, NaN, ±∞.
pub fn round(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let floor = x.floor();
    let res = if x - floor >= 0.5 { floor + 1.0 } else { floor };
    if res == 0.0 && x.is_sign_negative() {
        -0.0
    } else {
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_from_strings() {
        assert_eq!(string_to_number(" 12 "), 12.0);
        assert_eq!(string_to_number("-3.5"), -3.5);
        assert_eq!(string_to_number("5."), 5.0);
        assert_eq!(string_to_number(".5"), 0.5);
        for bad in ["", "+5", "1e5", "- 3", "12a", ".", "-", "1.2.3"] {
            assert!(string_to_number(bad).is_nan(), "{bad}");
        }
    }

    #[test]
    fn numbers_to_strings() {
        assert_eq!(number_to_string(1.0 / 3.0), "0.3333333333333333");
        assert_eq!(number_to_string(-0.0), "0");
        assert_eq!(number_to_string(1e21), "1000000000000000000000");
        assert_eq!(number_to_string(0.000001), "0.000001");
        assert_eq!(number_to_string(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn rounding() {
        assert_eq!(round(2.5), 3.0);
        assert_eq!(round(-2.5), -2.0);
        assert!(round(-0.4).is_sign_negative());
        assert_eq!(round(0.49999999999999994), 0.0);
    }
}
