//! Parsing Python for mutation: clean trees only, re-parsed incrementally per mutant, over
//! the shared front end ([`tracealign_core::python`]), whose helpers the operators use.

pub(crate) use tracealign_core::python::{
    code_children, is_field, is_string, parser as python_parser, point_at,
};
use tracealign_core::python::{has_syntax_error, InputEdit, Node, Parser, Tree};

/// Parses `text`, keeping the tree only when it has no ERROR or MISSING node: a mutant
/// the grammar has to repair is a syntax error, not a semantic fault.
pub(crate) fn parse_clean(parser: &mut Parser, text: &str) -> Option<Tree> {
    parser
        .parse(text, None)
        .filter(|tree| !has_syntax_error(tree))
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
        .filter(|tree| !has_syntax_error(tree))
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
