//! `and` ↔ `or`: the classic mix-up of a conjunction and a disjunction.

use tracealign_core::python::Node;

use crate::edit::Edit;
use crate::syntax::Program;
use crate::Operator;

pub(crate) fn edits(program: &Program<'_>, node: Node<'_>) -> Vec<Edit> {
    if node.kind() != "boolean_operator" {
        return Vec::new();
    }
    let Some(operator) = node.child_by_field_name("operator") else {
        return Vec::new();
    };
    let text = program.text(operator);
    let new = match text {
        "and" => "or",
        "or" => "and",
        _ => return Vec::new(),
    };
    vec![Edit::replace(
        Operator::Boolean,
        operator.byte_range(),
        text,
        new,
    )]
}

#[cfg(test)]
mod tests {
    use crate::{mutants_with, Operator};

    #[test]
    fn and_becomes_or() {
        let code = "def ok(a, b):\n    x = a > 0\n    return x and b\n";
        let found = mutants_with(code, 0, &[Operator::Boolean]);
        assert_eq!(found.len(), 1);
        let m = &found[0];
        assert_eq!(m.code, "def ok(a, b):\n    x = a > 0\n    return x or b\n");
        assert_eq!(m.operator, Operator::Boolean);
        assert_eq!(m.lines, vec![3]);
        assert_eq!(&m.code[m.span.0..m.span.1], "or");
        assert_eq!(m.description, "`and` → `or`");
    }
}
