//! Scalar functions as the planner resolves them: lookup by name (case-insensitive),
//! arity, determinism. `eval::functions` evaluates them.

use crate::cypher::temporal::TemporalFunction;

macro_rules! functions {
    ($($variant:ident => $name:literal, $min:literal..=$max:literal;)*) => {
        /// A scalar function.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Function {
            $($variant,)*
            /// The temporal constructors and functions (`date`, `duration.between`, ...).
            Temporal(TemporalFunction),
        }

        impl Function {
            /// Every function's name, in lower case.
            pub const NAMES: &'static [&'static str] = &[$($name),*];

            /// The function called `name` (any case), if there is one.
            pub fn lookup(name: &str) -> Option<Function> {
                let lower = name.to_ascii_lowercase();
                match lower.as_str() {
                    $($name => Some(Function::$variant),)*
                    other => TemporalFunction::lookup(other).map(Function::Temporal),
                }
            }

            /// The least and most arguments it takes.
            pub fn arity(self) -> (usize, usize) {
                match self {
                    $(Function::$variant => ($min, $max),)*
                    Function::Temporal(t) => t.arity(),
                }
            }

            pub fn name(self) -> &'static str {
                match self {
                    $(Function::$variant => $name,)*
                    Function::Temporal(t) => t.name(),
                }
            }
        }
    };
}

functions! {
    Id => "id", 1..=1;
    ElementId => "elementid", 1..=1;
    Labels => "labels", 1..=1;
    Type => "type", 1..=1;
    Keys => "keys", 1..=1;
    Properties => "properties", 1..=1;
    Size => "size", 1..=1;
    Length => "length", 1..=1;
    Nodes => "nodes", 1..=1;
    Relationships => "relationships", 1..=1;
    StartNode => "startnode", 1..=1;
    EndNode => "endnode", 1..=1;
    Coalesce => "coalesce", 1..=64;
    XPath => "xpath", 2..=2;
    Head => "head", 1..=1;
    Last => "last", 1..=1;
    Tail => "tail", 1..=1;
    Range => "range", 2..=3;
    Reverse => "reverse", 1..=1;
    ToInteger => "tointeger", 1..=1;
    ToFloat => "tofloat", 1..=1;
    ToString => "tostring", 1..=1;
    ToBoolean => "toboolean", 1..=1;
    Abs => "abs", 1..=1;
    Ceil => "ceil", 1..=1;
    Floor => "floor", 1..=1;
    Round => "round", 1..=1;
    Sqrt => "sqrt", 1..=1;
    Sign => "sign", 1..=1;
    Exp => "exp", 1..=1;
    Log => "log", 1..=1;
    Log10 => "log10", 1..=1;
    Sin => "sin", 1..=1;
    Cos => "cos", 1..=1;
    Tan => "tan", 1..=1;
    Asin => "asin", 1..=1;
    Acos => "acos", 1..=1;
    Atan => "atan", 1..=1;
    Atan2 => "atan2", 2..=2;
    Pi => "pi", 0..=0;
    E => "e", 0..=0;
    Rand => "rand", 0..=0;
    ToUpper => "toupper", 1..=1;
    ToLower => "tolower", 1..=1;
    Trim => "trim", 1..=1;
    LTrim => "ltrim", 1..=1;
    RTrim => "rtrim", 1..=1;
    Replace => "replace", 3..=3;
    Substring => "substring", 2..=3;
    Left => "left", 2..=2;
    Right => "right", 2..=2;
    Split => "split", 2..=2;
    Exists => "exists", 1..=1;
}

impl Function {
    pub fn is_nondeterministic(self) -> bool {
        match self {
            Function::Rand => true,
            Function::Temporal(t) => t.is_nondeterministic(),
            _ => false,
        }
    }
}
