//! The structural-join algorithms a location path may be evaluated with.

/// The structural-join algorithm used for a location path (`--join`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum JoinAlgorithm {
    /// Let the planner choose by cost.
    #[default]
    Auto,
    /// Structural join on the structure-context index, with partition pruning.
    Sisj,
    /// Holistic twig join (Bruno, Koudas, Srivastava 2002) over per-name streams.
    TwigStack,
    /// Binary Stack-Tree-Desc joins (Al-Khalifa et al. 2002), one per edge.
    StackTree,
    /// No joins: the navigational evaluator.
    Navigate,
}

impl JoinAlgorithm {
    pub fn name(self) -> &'static str {
        match self {
            JoinAlgorithm::Auto => "auto",
            JoinAlgorithm::Sisj => "sisj",
            JoinAlgorithm::TwigStack => "twigstack",
            JoinAlgorithm::StackTree => "stacktree",
            JoinAlgorithm::Navigate => "navigate",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "auto" => JoinAlgorithm::Auto,
            "sisj" => JoinAlgorithm::Sisj,
            "twigstack" => JoinAlgorithm::TwigStack,
            "stacktree" => JoinAlgorithm::StackTree,
            "navigate" => JoinAlgorithm::Navigate,
            _ => return None,
        })
    }
}
