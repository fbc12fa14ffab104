//! Which parts of a program may be mutated.
//!
//! Faults are injected only into function bodies, because that is where the behaviour
//! under test lives: module-level code is set-up (imports, constants, test drivers), and
//! a fault there would often break every test at once instead of producing a localizable
//! failure. Inside bodies, some subtrees are still off limits because editing them does not
//! model a logic mistake: string literals (text, including docstrings and f-strings),
//! decorators, imports, parameter lists (the interface the tests call), type annotations,
//! `global`/`nonlocal` declarations and `match` patterns.

use tracealign_core::python::Node;

/// Subtrees never entered, even inside a function body.
const OPAQUE: [&str; 13] = [
    "string",
    "concatenated_string",
    "comment",
    "decorator",
    "import_statement",
    "import_from_statement",
    "future_import_statement",
    "parameters",
    "lambda_parameters",
    "type",
    "global_statement",
    "nonlocal_statement",
    "case_pattern",
];

/// Every node (named or not) that lies in some function body and outside the opaque
/// subtrees, in source order (pre-order).
pub(crate) fn mutable_nodes(root: Node<'_>) -> Vec<Node<'_>> {
    let mut found = Vec::new();
    visit(root, false, &mut found);
    found
}

fn visit<'t>(node: Node<'t>, in_body: bool, found: &mut Vec<Node<'t>>) {
    if OPAQUE.contains(&node.kind()) {
        return;
    }
    if in_body {
        found.push(node);
    }
    match node.kind() {
        // Only the body of a definition is code; its name, parameters and return
        // annotation are interface.
        "function_definition" => {
            if let Some(body) = node.child_by_field_name("body") {
                visit(body, true, found);
            }
        }
        // A class body (even one nested in a function) is declarations, like module
        // level; its methods' bodies are entered through their own definitions.
        "class_definition" => {
            if let Some(body) = node.child_by_field_name("body") {
                visit(body, false, found);
            }
        }
        _ => {
            let mut cursor = node.walk();
            for child in node.children(&mut cursor) {
                visit(child, in_body, found);
            }
        }
    }
}
