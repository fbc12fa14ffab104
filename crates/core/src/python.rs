//! The Python front end: tree-sitter's Python grammar, set up in one place, and the questions
//! about its trees that reading tests, localization and mutation all ask.
//!
//! The tree-sitter types are re-exported, so the crates that walk trees use the same
//! versions as the parser that built them and need no dependency on tree-sitter of their
//! own. Positions follow tree-sitter: byte offsets, rows from 0; the `line` functions
//! here turn rows into the 1-based lines the rest of tracealign counts in.

pub use tree_sitter::{InputEdit, Node, Parser, Point, Tree, TreeCursor};

/// A parser for Python, for callers that parse many versions of one program (incremental
/// re-parsing reuses the parser and the old tree).
///
/// Panics only if the bundled grammar is ABI-incompatible with the tree-sitter runtime,
/// which is a build misconfiguration rather than a runtime condition.
pub fn parser() -> Parser {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .expect("tree-sitter-python is compatible with the tree-sitter runtime");
    parser
}

/// Parses `source`. Every text gives a tree: what the grammar cannot read becomes ERROR or
/// MISSING nodes ([`has_syntax_error`]).
pub fn parse(source: &str) -> Tree {
    parser()
        .parse(source, None)
        .expect("parsing without a timeout or cancellation flag always yields a tree")
}

/// Whether the grammar had to repair `tree` (it holds an ERROR or MISSING node).
pub fn has_syntax_error(tree: &Tree) -> bool {
    tree.root_node().has_error()
}

/// The source text of `node`.
pub fn text<'s>(node: Node<'_>, source: &'s str) -> &'s str {
    &source[node.byte_range()]
}

/// The 1-based line of a position.
pub fn line(point: Point) -> u32 {
    point.row as u32 + 1
}

/// The 1-based line `node` starts on.
pub fn start_line(node: Node<'_>) -> u32 {
    line(node.start_position())
}

/// The 1-based line `node` ends on.
pub fn end_line(node: Node<'_>) -> u32 {
    line(node.end_position())
}

/// The row and byte column of byte `at` in `text`, as tree-sitter counts them.
pub fn point_at(text: &str, at: usize) -> Point {
    let before = &text.as_bytes()[..at];
    let row = before.iter().filter(|&&b| b == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    Point::new(row, at - line_start)
}

/// `node`'s named children (comments included: they are "extra" nodes that may sit
/// anywhere), in source order.
pub fn named_children(node: Node<'_>) -> impl Iterator<Item = Node<'_>> {
    (0..node.named_child_count()).filter_map(move |i| node.named_child(i as u32))
}

/// Named children other than comments: counting comments would make `a, # note\n b` look
/// like three arguments.
pub fn code_children(node: Node<'_>) -> Vec<Node<'_>> {
    named_children(node)
        .filter(|child| child.kind() != "comment")
        .collect()
}

/// Pre-order walk over every node (named or not) of `node`'s subtree.
pub fn visit<'t>(node: Node<'t>, f: &mut impl FnMut(Node<'t>)) {
    f(node);
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        visit(child, f);
    }
}

/// The function a statement defines: a `def`, or the `def` under decorators.
pub fn function_definition(node: Node<'_>) -> Option<Node<'_>> {
    match node.kind() {
        "function_definition" => Some(node),
        "decorated_definition" => node
            .child_by_field_name("definition")
            .filter(|d| d.kind() == "function_definition"),
        _ => None,
    }
}

/// The functions defined at the top level of a module (decorated or not), in source order.
pub fn top_level_functions(root: Node<'_>) -> impl Iterator<Item = Node<'_>> {
    named_children(root).filter_map(function_definition)
}

/// The name a definition (`def`, `class`) binds.
pub fn definition_name<'s>(definition: Node<'_>, source: &'s str) -> Option<&'s str> {
    definition
        .child_by_field_name("name")
        .map(|name| text(name, source))
}

/// Whether `child` is (one of) `parent`'s `field` children.
pub fn is_field(parent: Node<'_>, field: &str, child: Node<'_>) -> bool {
    let mut cursor = parent.walk();
    let found = parent
        .children_by_field_name(field, &mut cursor)
        .any(|candidate| candidate == child);
    found
}

/// Whether `node` is a string literal (plain, f-string or implicitly concatenated).
pub fn is_string(node: Node<'_>) -> bool {
    matches!(node.kind(), "string" | "concatenated_string")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROGRAM: &str = "import os\n\n@cache\ndef f(x):\n    return x  # done\n\nclass C:\n    def m(self):\n        pass\n\ndef g(a, # first\n      b):\n    return 'a' 'b'\n";

    #[test]
    fn top_level_functions_include_decorated_ones_and_leave_out_methods() {
        let tree = parse(PROGRAM);
        let found: Vec<(Option<&str>, u32, u32)> = top_level_functions(tree.root_node())
            .map(|f| (definition_name(f, PROGRAM), start_line(f), end_line(f)))
            .collect();
        assert_eq!(found, [(Some("f"), 4, 5), (Some("g"), 11, 13)]);
    }

    #[test]
    fn code_children_leave_out_comments() {
        let tree = parse(PROGRAM);
        let g = top_level_functions(tree.root_node()).nth(1).unwrap();
        let parameters = g.child_by_field_name("parameters").unwrap();
        assert_eq!(named_children(parameters).count(), 3);
        let names: Vec<&str> = code_children(parameters)
            .into_iter()
            .map(|p| text(p, PROGRAM))
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert!(is_field(g, "parameters", parameters));
        assert!(!is_field(g, "body", parameters));
    }

    #[test]
    fn visit_reaches_every_node_and_strings_are_recognised() {
        let tree = parse(PROGRAM);
        let mut strings = Vec::new();
        visit(tree.root_node(), &mut |node| {
            if is_string(node) && node.parent().is_some_and(|p| !is_string(p)) {
                strings.push(text(node, PROGRAM));
            }
        });
        assert_eq!(strings, ["'a' 'b'"]);
    }

    #[test]
    fn syntax_errors_are_marked_not_refused() {
        assert!(!has_syntax_error(&parse(PROGRAM)));
        assert!(has_syntax_error(&parse("def f(:\n")));
    }

    #[test]
    fn points_count_rows_and_byte_columns() {
        assert_eq!(point_at("ab\ncd", 4), Point::new(1, 1));
        assert_eq!(point_at("ab", 0), Point::new(0, 0));
        assert_eq!(point_at("é\nx", 4), Point::new(1, 1));
    }
}
