//! Wrong return values: one per `return EXPR`, chosen by what the expression looks like.
//!
//! - a truth value (comparison, `and`/`or`, `not`, `True`/`False`) is negated — the
//!   inverted-predicate mistake;
//! - a computed number (arithmetic, `-x`, `len(…)`, `.count(…)` …) is off by one, written
//!   the way a person would (`n - 1` → `n`, `a * b` → `a * b + 1`);
//! - anything else (names, literals, containers, calls) becomes `None` — the forgotten
//!   result. Literals are included here because moving them by one is the constant
//!   operator's job.

use tracealign_core::python::Node;

use super::negate::negation;
use crate::edit::{shorten, Edit};
use crate::offset::Shifted;
use crate::syntax::{code_children, is_string, Program};
use crate::Operator;

/// Builtins whose result is a number.
const NUMERIC_CALLS: [&str; 10] = [
    "len", "sum", "abs", "min", "max", "int", "round", "pow", "ord", "divmod",
];

/// Methods whose result is a number.
const NUMERIC_METHODS: [&str; 4] = ["count", "index", "find", "bit_length"];

pub(crate) fn edits(program: &Program<'_>, node: Node<'_>) -> Vec<Edit> {
    if node.kind() != "return_statement" {
        return Vec::new();
    }
    let Some(value) = code_children(node).into_iter().next() else {
        return Vec::new();
    };
    if value.kind() == "none" {
        return Vec::new();
    }
    let old = program.text(value);
    let new = if is_truth_value(value) {
        negation(program, value)
    } else if !is_literal(value) && is_number(program, value) {
        match Shifted::of(program, value) {
            Some(shifted) => shifted.render(1),
            None => return Vec::new(),
        }
    } else {
        "None".to_string()
    };
    let description = format!("`return {}` → `return {}`", shorten(old), shorten(&new));
    vec![Edit::described(
        Operator::WrongReturn,
        value.byte_range(),
        new,
        description,
    )]
}

/// A number literal, possibly negative: moving it by one is the constant operator's job.
fn is_literal(node: Node<'_>) -> bool {
    let number = |n: Node<'_>| matches!(n.kind(), "integer" | "float");
    number(node)
        || (node.kind() == "unary_operator"
            && node.child_by_field_name("argument").is_some_and(number))
}

fn is_truth_value(node: Node<'_>) -> bool {
    matches!(
        node.kind(),
        "comparison_operator" | "boolean_operator" | "not_operator" | "true" | "false"
    )
}

/// Whether `node` evidently computes a number. Types are unknown, so this only trusts
/// syntax that rules out strings and lists: `-`, `/`, `//` and `**` are numeric; `*` and
/// `%` unless an operand is a literal string or container (`[0] * n`, `"%d" % n`); `+`
/// only when an operand is itself evidently numeric (`s + t` may concatenate).
fn is_number(program: &Program<'_>, node: Node<'_>) -> bool {
    match node.kind() {
        "integer" | "float" => true,
        "binary_operator" => is_numeric_operation(program, node),
        "unary_operator" => node
            .child_by_field_name("operator")
            .is_some_and(|op| op.kind() == "-"),
        "parenthesized_expression" => code_children(node)
            .first()
            .is_some_and(|inner| is_number(program, *inner)),
        "call" => is_numeric_call(program, node),
        _ => false,
    }
}

fn is_numeric_operation(program: &Program<'_>, node: Node<'_>) -> bool {
    let operands = || {
        ["left", "right"]
            .into_iter()
            .filter_map(|f| node.child_by_field_name(f))
    };
    let Some(operator) = node.child_by_field_name("operator") else {
        return false;
    };
    match program.text(operator) {
        "-" | "/" | "//" | "**" => true,
        "*" | "%" => operands().all(|operand| !is_sequence_literal(operand)),
        "+" => operands().any(|operand| is_number(program, operand)),
        _ => false,
    }
}

fn is_sequence_literal(node: Node<'_>) -> bool {
    is_string(node) || matches!(node.kind(), "list" | "tuple" | "list_comprehension")
}

fn is_numeric_call(program: &Program<'_>, node: Node<'_>) -> bool {
    node.child_by_field_name("function")
        .is_some_and(|function| match function.kind() {
            "identifier" => NUMERIC_CALLS.contains(&program.text(function)),
            "attribute" => function
                .child_by_field_name("attribute")
                .is_some_and(|name| NUMERIC_METHODS.contains(&program.text(name))),
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use crate::{mutants_with, Mutant, Operator};

    const PROGRAM: &str = "\
def stats(xs, k):
    if not xs:
        return None
    if k < 0:
        return xs.count(k) > 1
    if k == 0:
        return len(xs) - 1
    if k == 1:
        return not k
    if k == 2:
        return xs + xs
    if k == 3:
        return -1
    return xs
";

    fn find<'m>(found: &'m [Mutant], fragment: &str) -> &'m Mutant {
        found
            .iter()
            .find(|m| m.code.contains(fragment))
            .expect(fragment)
    }

    #[test]
    fn one_wrong_value_per_return() {
        let found = mutants_with(PROGRAM, 0, &[Operator::WrongReturn]);
        assert_eq!(found.len(), 6);
        let negated = find(&found, "return not (xs.count(k) > 1)");
        assert_eq!(negated.lines, vec![5]);
        assert_eq!(negated.operator, Operator::WrongReturn);
        assert_eq!(
            &negated.code[negated.span.0..negated.span.1],
            "not (xs.count(k) > 1)"
        );
        let number = find(&found, "return len(xs)\n");
        assert_eq!(number.lines, vec![7]);
        assert_eq!(
            number.description,
            "`return len(xs) - 1` → `return len(xs)`"
        );
        let unnegated = find(&found, "return k\n");
        assert_eq!(unnegated.lines, vec![9]);
        for line in [11, 13, 14] {
            let forgotten = found.iter().find(|m| m.lines == vec![line]).unwrap();
            assert_eq!(&forgotten.code[forgotten.span.0..forgotten.span.1], "None");
        }
        let concatenation = found.iter().find(|m| m.lines == vec![11]).unwrap();
        assert_eq!(
            concatenation.description,
            "`return xs + xs` → `return None`"
        );
    }
}
