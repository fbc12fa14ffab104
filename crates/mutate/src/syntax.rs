//! Parsing Python with tree-sitter, and the few questions about its trees that several
//! operators ask.

use tree_sitter::{InputEdit, Node, Parser, Point, Tree};

/// A parser for Python.
///
/// Panics only if the bundled grammar is ABI-incompatible with the tree-sitter runtime,
/// which is a build misconfiguration rather than a runtime condition.
pub(crate) fn python_parser() -> Parser {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .expect("tree-sitter-python is compatible with the tree-sitter runtime");
    parser
}

/// Parses `text`, keeping the tree only when it has no ERROR or MISSING node: a mutant
/// the grammar has to repair is a syntax error, not a semantic fault.
pub(crate) fn parse_clean(parser: &mut Parser, text: &str) -> Option<Tree> {
    parser
        .parse(text, None)
        .filter(|tree| !tree.root_node().has_error())
}

/// Re-parses `text`, which is `old`'s text changed as `edit` says, reusing `old`'s
/// unchanged subtrees: mutants differ from the original in a few bytes, and incremental
/// parsing makes checking each one cost a fraction of a fresh parse on long programs.
/// Like [`parse_clean`], keeps only trees without ERROR or MISSING nodes.
pub(crate) fn reparse_clean(
    parser: &mut Parser,
    old: &Tree,
    edit: &InputEdit,
    text: &str,
) -> Option<Tree> {
    let mut reused = old.clone();
    reused.edit(edit);
    parser
        .parse(text, Some(&reused))
        .filter(|tree| !tree.root_node().has_error())
}

/// The row and byte column of byte `at` in `text`, as tree-sitter counts them.
pub(crate) fn point_at(text: &str, at: usize) -> Point {
    let before = &text.as_bytes()[..at];
    let row = before.iter().filter(|&&b| b == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    Point::new(row, at - line_start)
}

/// The program being mutated: its text and syntax tree.
pub(crate) struct Program<'a> {
    text: &'a str,
    tree: Tree,
}

impl<'a> Program<'a> {
    pub(crate) fn new(text: &'a str, tree: Tree) -> Self {
        Program { text, tree }
    }

    pub(crate) fn tree(&self) -> &Tree {
        &self.tree
    }

    pub(crate) fn root(&self) -> Node<'_> {
        self.tree.root_node()
    }

    /// The source text of `node`.
    pub(crate) fn text(&self, node: Node<'_>) -> &'a str {
        &self.text[node.byte_range()]
    }

    /// The whole source text.
    pub(crate) fn source(&self) -> &'a str {
        self.text
    }
}

/// Named children other than comments: comments are "extra" nodes that may sit anywhere,
/// and counting them would make `a, # note\n b` look like three arguments.
pub(crate) fn code_children<'t>(node: Node<'t>) -> Vec<Node<'t>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor)
        .filter(|child| child.kind() != "comment")
        .collect()
}

/// Whether `child` is (one of) `parent`'s `field` children.
pub(crate) fn is_field(parent: Node<'_>, field: &str, child: Node<'_>) -> bool {
    let mut cursor = parent.walk();
    let found = parent
        .children_by_field_name(field, &mut cursor)
        .any(|candidate| candidate == child);
    found
}

/// Whether `node` is a string literal (plain, f-string or implicitly concatenated), which
/// operators must treat as opaque text.
pub(crate) fn is_string(node: Node<'_>) -> bool {
    matches!(node.kind(), "string" | "concatenated_string")
}
