//! Wrong constants: an integer literal off by one (`range(1, n)` → `range(0, n)`), or a
//! boolean literal flipped.
//!
//! Integers inside subscripts and slices are left to the index and slice operators, which
//! model the same mistake with index-aware rewrites; handling them here too would only
//! produce duplicates.

use tracealign_core::python::Node;

use super::index::is_inside_index;
use crate::edit::Edit;
use crate::offset::{literal_text, literal_value};
use crate::syntax::Program;
use crate::Operator;

pub(crate) fn edits(program: &Program<'_>, node: Node<'_>) -> Vec<Edit> {
    match node.kind() {
        "true" => flip(program, node, "False"),
        "false" => flip(program, node, "True"),
        "integer" if !negated_literal(node.parent()) => off_by_one(program, node, node, 1),
        "unary_operator" if negated_literal(Some(node)) => {
            let literal = node.child_by_field_name("argument");
            literal.map_or_else(Vec::new, |lit| off_by_one(program, node, lit, -1))
        }
        _ => Vec::new(),
    }
}

fn flip(program: &Program<'_>, node: Node<'_>, new: &str) -> Vec<Edit> {
    vec![Edit::replace(
        Operator::Constant,
        node.byte_range(),
        program.text(node),
        new,
    )]
}

/// Whether `node` is `-<integer literal>`, which is one constant, not an operation.
fn negated_literal(node: Option<Node<'_>>) -> bool {
    node.filter(|n| n.kind() == "unary_operator")
        .is_some_and(|n| {
            n.child_by_field_name("operator")
                .is_some_and(|op| op.kind() == "-")
                && n.child_by_field_name("argument")
                    .is_some_and(|arg| arg.kind() == "integer")
        })
}

/// `node` (the literal, or the unary minus around it) replaced by its value ±1.
fn off_by_one(program: &Program<'_>, node: Node<'_>, literal: Node<'_>, sign: i128) -> Vec<Edit> {
    if is_inside_index(node) {
        return Vec::new();
    }
    let like = program.text(literal);
    let Some(value) = literal_value(like).map(|v| sign * v) else {
        return Vec::new();
    };
    [value + 1, value - 1]
        .into_iter()
        .filter(|&new| !(new < 0 && value >= 0 && is_right_operand(node)))
        .map(|new| {
            let text = literal_text(new, like);
            Edit::replace(
                Operator::Constant,
                node.byte_range(),
                program.text(node),
                text,
            )
        })
        .collect()
}

/// `x - 0` must not become `x - -1`: nobody writes that, so it is not a realistic slip.
fn is_right_operand(node: Node<'_>) -> bool {
    node.parent()
        .filter(|parent| parent.kind() == "binary_operator")
        .and_then(|parent| parent.child_by_field_name("right"))
        == Some(node)
}

#[cfg(test)]
mod tests {
    use crate::{mutants_with, Operator};

    const PROGRAM: &str = "def count(xs):\n    n = 0\n    for i in range(1, len(xs)):\n        if xs[0] > -2:\n            n += 1\n    return n - 1, True\n";

    fn codes(found: &[crate::Mutant]) -> Vec<&str> {
        found.iter().map(|m| m.code.as_str()).collect()
    }

    #[test]
    fn integers_move_by_one() {
        let found = mutants_with(PROGRAM, 0, &[Operator::Constant]);
        let range = found
            .iter()
            .find(|m| m.code.contains("range(2, len(xs))"))
            .unwrap();
        assert_eq!(
            range.code,
            "def count(xs):\n    n = 0\n    for i in range(2, len(xs)):\n        if xs[0] > -2:\n            n += 1\n    return n - 1, True\n"
        );
        assert_eq!(range.operator, Operator::Constant);
        assert_eq!(range.lines, vec![3]);
        assert_eq!(&range.code[range.span.0..range.span.1], "2");
        assert_eq!(range.description, "`1` → `2`");
        let all = codes(&found);
        assert!(all.iter().any(|c| c.contains("range(0, len(xs))")));
        assert!(all.iter().any(|c| c.contains("n = -1\n")));
        assert!(all.iter().any(|c| c.contains("n = 1\n")));
        assert!(all.iter().any(|c| c.contains("> -1:")));
        assert!(all.iter().any(|c| c.contains("> -3:")));
        assert!(all.iter().any(|c| c.contains("return n - 2")));
        assert!(all.iter().any(|c| c.contains("return n - 0")));
    }

    #[test]
    fn booleans_flip_and_indices_are_skipped() {
        let found = mutants_with(PROGRAM, 0, &[Operator::Constant]);
        let flipped = found.iter().find(|m| m.code.contains("False")).unwrap();
        assert_eq!(flipped.lines, vec![6]);
        assert_eq!(&flipped.code[flipped.span.0..flipped.span.1], "False");
        assert!(codes(&found).iter().all(|c| c.contains("xs[0]")));
        // n = 0 (±1), range start (±1), -2 (±1), += 1 (±1), n - 1 (±1), True.
        assert_eq!(found.len(), 11);
    }

    #[test]
    fn subtracting_zero_does_not_go_negative() {
        let code = "def f(x):\n    return x - 0\n";
        let found = mutants_with(code, 0, &[Operator::Constant]);
        assert_eq!(codes(&found), ["def f(x):\n    return x - 1\n"]);
    }
}
