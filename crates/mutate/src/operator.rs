//! The catalogue of mutation operators and their stable names.

use serde::{Deserialize, Serialize};

/// One mutation operator: a family of single-edit faults that models commonly make.
///
/// The snake_case names are part of the data format (they land in benchmark files and
/// command-line flags), so they must never change once published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// `+ - * / // % **` swapped for a plausible other arithmetic operator, in binary
    /// expressions and augmented assignments (`+=` …).
    Arithmetic,
    /// A comparison replaced by its opposite: `==`↔`!=`, `<`↔`>`, `<=`↔`>=`, `in`↔`not in`,
    /// `is`↔`is not`.
    Comparison,
    /// The off-by-one of comparisons: `<`↔`<=`, `>`↔`>=`.
    Boundary,
    /// `and`↔`or`.
    Boolean,
    /// An integer literal moved by ±1 (outside subscripts), or `True`↔`False`.
    Constant,
    /// A subscript index moved by ±1: `a[i]` → `a[i + 1]`, `a[0]` → `a[1]`.
    Index,
    /// A slice bound moved by ±1, dropped, or added.
    SliceBounds,
    /// A read of a local variable replaced by another local of the same function.
    VariableMisuse,
    /// A returned value replaced: negated, off by one, or `None`.
    WrongReturn,
    /// A simple statement of a function body deleted (`pass` where the block would empty).
    DeleteStatement,
    /// Two adjacent positional arguments of a call swapped.
    SwapArguments,
    /// The condition of an `if`/`elif`/`while`/conditional expression/comprehension filter
    /// negated.
    NegateCondition,
}

impl Operator {
    /// Every operator, in the canonical order used for tie-breaking and de-duplication.
    pub const ALL: [Operator; 12] = [
        Operator::Arithmetic,
        Operator::Comparison,
        Operator::Boundary,
        Operator::Boolean,
        Operator::Constant,
        Operator::Index,
        Operator::SliceBounds,
        Operator::VariableMisuse,
        Operator::WrongReturn,
        Operator::DeleteStatement,
        Operator::SwapArguments,
        Operator::NegateCondition,
    ];

    /// The operator's stable snake_case name (the same string serde uses).
    pub fn name(self) -> &'static str {
        match self {
            Operator::Arithmetic => "arithmetic",
            Operator::Comparison => "comparison",
            Operator::Boundary => "boundary",
            Operator::Boolean => "boolean",
            Operator::Constant => "constant",
            Operator::Index => "index",
            Operator::SliceBounds => "slice_bounds",
            Operator::VariableMisuse => "variable_misuse",
            Operator::WrongReturn => "wrong_return",
            Operator::DeleteStatement => "delete_statement",
            Operator::SwapArguments => "swap_arguments",
            Operator::NegateCondition => "negate_condition",
        }
    }

    /// The operator called `name` (as [`Operator::name`] spells it), if any.
    pub fn from_name(name: &str) -> Option<Operator> {
        Operator::ALL.into_iter().find(|op| op.name() == name)
    }
}

impl std::fmt::Display for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::Operator;

    #[test]
    fn names_round_trip() {
        for op in Operator::ALL {
            assert_eq!(Operator::from_name(op.name()), Some(op));
        }
        assert_eq!(Operator::from_name("nope"), None);
    }

    #[test]
    fn serde_uses_the_same_names() {
        for op in Operator::ALL {
            let json = serde_json::to_string(&op).unwrap();
            assert_eq!(json, format!("\"{}\"", op.name()));
            assert_eq!(serde_json::from_str::<Operator>(&json).unwrap(), op);
        }
    }

    #[test]
    fn all_is_sorted_and_complete() {
        let mut sorted = Operator::ALL;
        sorted.sort();
        assert_eq!(sorted, Operator::ALL);
    }
}
