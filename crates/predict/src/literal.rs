//! Python literals recognised in source text (tree-sitter, nothing evaluated): what a
//! row's values must be to be asked about (the checker reads them with
//! `ast.literal_eval`), and what an `input` answer must be to be run.

use tracealign_core::python::{named_children, parse, text};
use tree_sitter::Node;

/// Whether `answer` is an argument list of literals only (numbers, strings without
/// interpolation, `True`/`False`/`None`, `set()`, and lists, tuples, sets and dicts of
/// them, by position or keyword): nothing in it can run code.
pub fn literal_arguments(answer: &str) -> bool {
    literal_call(answer, |_| true)
}

/// Whether `value` (a `repr`) is one Python literal, as `ast.literal_eval` reads it.
pub fn literal_value(value: &str) -> bool {
    literal_call(value, |arguments| {
        arguments.named_child_count() == 1
            && arguments
                .named_child(0)
                .is_some_and(|a| a.kind() != "keyword_argument")
    })
}

/// Whether `f(arguments)` parses as one call whose arguments are all literals and whose
/// argument list passes `shape`.
fn literal_call(arguments: &str, shape: impl Fn(Node<'_>) -> bool) -> bool {
    let source = format!("f({arguments})\n");
    let tree = parse(&source);
    let root = tree.root_node();
    let call = (root.named_child_count() == 1)
        .then(|| root.named_child(0))
        .flatten()
        .filter(|s| s.kind() == "expression_statement" && s.named_child_count() == 1)
        .and_then(|s| s.named_child(0))
        .filter(|c| c.kind() == "call");
    let Some(list) = call.and_then(|c| c.child_by_field_name("arguments")) else {
        return false;
    };
    let literal = |node| Literals { source: &source }.literal(node);
    !root.has_error()
        && list.kind() == "argument_list"
        && shape(list)
        && named_children(list).all(|a| match a.kind() {
            "keyword_argument" => a.child_by_field_name("value").is_some_and(literal),
            _ => literal(a),
        })
}

struct Literals<'s> {
    source: &'s str,
}

impl Literals<'_> {
    fn literal(&self, node: Node<'_>) -> bool {
        match node.kind() {
            "integer" | "float" | "true" | "false" | "none" => true,
            "string" => named_children(node).all(|part| part.kind() != "interpolation"),
            "list"
            | "tuple"
            | "set"
            | "parenthesized_expression"
            | "concatenated_string"
            | "dictionary"
            | "pair" => named_children(node).all(|n| self.literal(n)),
            "unary_operator" => {
                let operand = node.child_by_field_name("argument");
                operand.is_some_and(|o| matches!(o.kind(), "integer" | "float"))
            }
            // `set()`: the empty set has no other literal form.
            "call" => {
                let callee = node.child_by_field_name("function");
                let arguments = node.child_by_field_name("arguments");
                callee.is_some_and(|f| text(f, self.source) == "set")
                    && arguments.is_some_and(|a| a.named_child_count() == 0)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{literal_arguments, literal_value};

    #[test]
    fn only_literal_argument_lists_are_answers() {
        for answer in [
            "1",
            "[1, -2.5], 'a'",
            "x=(1,), y={'k': None}",
            "",
            "{1, 2}, b'x'",
        ] {
            assert!(literal_arguments(answer), "{answer}");
        }
        for answer in [
            "len('ab')",
            "[f'{1}']",
            "x := 1",
            "1) or (2",
            "*[1, 2]",
            "**{'x': 1}",
            "lambda: 1",
            "-x",
            "[1] + [2]",
        ] {
            assert!(!literal_arguments(answer), "{answer}");
        }
    }

    #[test]
    fn a_value_is_one_literal_as_literal_eval_reads_it() {
        for value in [
            "1",
            "-2.5",
            "(1, 2)",
            "set()",
            "{'a': [1]}",
            "'<x>'",
            "None",
        ] {
            assert!(literal_value(value), "{value}");
        }
        for value in [
            "1, 2",
            "[<__candidate__.Pair object>]",
            "x=1",
            "frozenset()",
            "inf",
            "",
        ] {
            assert!(!literal_value(value), "{value}");
        }
    }
}
