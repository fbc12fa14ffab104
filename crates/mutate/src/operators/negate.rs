//! Negated conditions: `if c:` → `if not c:`, `while not done:` → `while done:`, in
//! `if`/`elif`/`while` statements, conditional expressions and comprehension filters.

use tracealign_core::python::Node;

use crate::edit::Edit;
use crate::syntax::{code_children, Program};
use crate::Operator;

/// Expressions that bind tighter than `not`, so `not` can precede them unparenthesized:
/// the mutant then reads like code someone would write (`not done`, `not xs[i]`).
const ATOMS: [&str; 10] = [
    "identifier",
    "call",
    "attribute",
    "subscript",
    "parenthesized_expression",
    "integer",
    "float",
    "none",
    "list",
    "tuple",
];

pub(crate) fn edits(program: &Program<'_>, node: Node<'_>) -> Vec<Edit> {
    let condition = match node.kind() {
        "if_statement" | "elif_clause" | "while_statement" => node.child_by_field_name("condition"),
        "conditional_expression" => code_children(node).get(1).copied(),
        "if_clause" => code_children(node).first().copied(),
        _ => None,
    };
    condition
        .map(|c| {
            let old = program.text(c);
            Edit::replace(
                Operator::NegateCondition,
                c.byte_range(),
                old,
                negation(program, c),
            )
        })
        .into_iter()
        .collect()
}

/// The logical negation of `node` as source text: `not` removed if present, boolean
/// literals flipped, otherwise `not` prefixed (with parentheses unless `node` is atomic).
pub(crate) fn negation(program: &Program<'_>, node: Node<'_>) -> String {
    match node.kind() {
        "not_operator" => node
            .child_by_field_name("argument")
            .map_or_else(String::new, |arg| program.text(arg).to_string()),
        "true" => "False".to_string(),
        "false" => "True".to_string(),
        kind if ATOMS.contains(&kind) => format!("not {}", program.text(node)),
        _ => format!("not ({})", program.text(node)),
    }
}

#[cfg(test)]
mod tests {
    use crate::{mutants_with, Operator};

    const PROGRAM: &str = "\
def walk(xs, done):
    i = 0
    while not done:
        if xs[i] > 0:
            i += 1
        elif done:
            break
    evens = [x for x in xs if x % 2 == 0]
    return i if evens else -1
";

    #[test]
    fn every_kind_of_condition_is_negated() {
        let found = mutants_with(PROGRAM, 0, &[Operator::NegateCondition]);
        let codes: Vec<&str> = found.iter().map(|m| m.code.as_str()).collect();
        assert_eq!(found.len(), 5);
        let has = |fragment: &str| codes.iter().any(|c| c.contains(fragment));
        assert!(has("    while done:\n"));
        assert!(has("        if not (xs[i] > 0):\n"));
        assert!(has("        elif not done:\n"));
        assert!(has("if not (x % 2 == 0)]"));
        assert!(has("return i if not evens else -1"));
        let m = found
            .iter()
            .find(|m| m.code.contains("if not (xs"))
            .unwrap();
        assert_eq!(m.operator, Operator::NegateCondition);
        assert_eq!(m.lines, vec![4]);
        assert_eq!(&m.code[m.span.0..m.span.1], "not (xs[i] > 0)");
        assert_eq!(m.description, "`xs[i] > 0` → `not (xs[i] > 0)`");
    }
}
