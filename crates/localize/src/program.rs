//! A program's lines and tokens as localization sees them: which lines can hold a fault
//! (code, not blank lines, comments, docstrings or module-level test scaffolding), the
//! tokens on each line, and the names a line reads and assigns.

use std::collections::BTreeSet;

use tree_sitter::{Node, Parser, Tree};

/// One leaf token of the syntax tree (comments left out).
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// Byte span in the program.
    pub start: usize,
    pub end: usize,
    /// 1-based line of its first byte.
    pub line: u32,
    pub text: String,
    pub is_identifier: bool,
}

/// A parsed Python program.
pub struct Program<'a> {
    pub source: &'a str,
    tree: Tree,
}

impl<'a> Program<'a> {
    pub fn parse(source: &'a str) -> Program<'a> {
        let mut parser = Parser::new();
        parser
            .set_language(&tree_sitter_python::LANGUAGE.into())
            .expect("the Python grammar matches the tree-sitter version");
        let tree = parser
            .parse(source, None)
            .expect("parsing without a timeout or cancellation flag always yields a tree");
        Program { source, tree }
    }

    /// Lines that can hold a fault, ascending: those with a character of code that is not
    /// part of a comment, a docstring or module-level test scaffolding (`if __name__ ...`,
    /// top-level asserts, calls and loops — what a model appends to try its function).
    pub fn code_lines(&self) -> Vec<u32> {
        let mut ignored = vec![false; self.source.len()];
        let mut mark = |node: Node| ignored[node.start_byte()..node.end_byte()].fill(true);
        visit(self.tree.root_node(), &mut |node| {
            if node.kind() == "comment" || is_docstring(node) {
                mark(node);
            }
        });
        let root = self.tree.root_node();
        for child in root.named_children(&mut root.walk()) {
            if is_scaffolding(child, self.source) {
                mark(child);
            }
        }
        let mut lines = BTreeSet::new();
        let mut line = 1;
        for (i, byte) in self.source.bytes().enumerate() {
            if byte == b'\n' {
                line += 1;
            } else if !byte.is_ascii_whitespace() && !ignored[i] {
                lines.insert(line);
            }
        }
        lines.into_iter().collect()
    }

    /// The lines a fault is looked for in: code lines inside function bodies, without
    /// nested `def`/`class` headers and imports. The signature comes with the task (a
    /// HumanEval prompt fixes it), and module-level code is setup, not the solution. A
    /// program with no function falls back to all its code lines.
    pub fn fault_lines(&self) -> Vec<u32> {
        let mut inside = vec![false; self.source.len()];
        visit(self.tree.root_node(), &mut |node| {
            if node.kind() == "function_definition" {
                if let Some(body) = node.child_by_field_name("body") {
                    inside[body.byte_range()].fill(true);
                }
            }
        });
        visit(self.tree.root_node(), &mut |node| {
            let header = |n: Node| {
                n.child_by_field_name("body")
                    .map_or(n.end_byte(), |b| b.start_byte())
            };
            match node.kind() {
                "function_definition" | "class_definition" => {
                    inside[node.start_byte()..header(node)].fill(false)
                }
                "decorator" | "import_statement" | "import_from_statement" => {
                    inside[node.byte_range()].fill(false)
                }
                _ => {}
            }
        });
        let code = self.code_lines();
        let lines: Vec<u32> = code
            .iter()
            .copied()
            .filter(|&line| self.line_has(line, &inside))
            .collect();
        if lines.is_empty() {
            code
        } else {
            lines
        }
    }

    /// Whether `line` has a non-blank byte marked in `mask`.
    fn line_has(&self, line: u32, mask: &[bool]) -> bool {
        let start: usize = self
            .source
            .split_inclusive('\n')
            .take(line as usize - 1)
            .map(str::len)
            .sum();
        let text = self.source[start..].split('\n').next().unwrap_or("");
        text.bytes()
            .enumerate()
            .any(|(i, b)| !b.is_ascii_whitespace() && mask[start + i])
    }

    /// Every leaf token except comments, in source order.
    pub fn tokens(&self) -> Vec<Token> {
        let mut tokens = Vec::new();
        visit(self.tree.root_node(), &mut |node| {
            let leaf = node.child_count() == 0 || node.kind() == "string";
            if leaf && node.kind() != "comment" && node.end_byte() > node.start_byte() {
                tokens.push(Token {
                    start: node.start_byte(),
                    end: node.end_byte(),
                    line: node.start_position().row as u32 + 1,
                    text: self.source[node.byte_range()].to_string(),
                    is_identifier: node.kind() == "identifier",
                });
            }
        });
        tokens.sort_by_key(|t| t.start);
        tokens.dedup_by_key(|t| t.start);
        tokens
    }

    /// Names assigned on each line (assignment and augmented-assignment targets, loop
    /// variables, parameters): `(line, name)`.
    pub fn assignments(&self) -> Vec<(u32, String)> {
        let mut found = Vec::new();
        visit(self.tree.root_node(), &mut |node| {
            let target = match node.kind() {
                "assignment" | "augmented_assignment" => node.child_by_field_name("left"),
                "for_statement" | "for_in_clause" => node.child_by_field_name("left"),
                "parameters" | "lambda_parameters" => Some(node),
                _ => None,
            };
            if let Some(target) = target {
                visit(target, &mut |n| {
                    if n.kind() == "identifier" {
                        found.push((
                            n.start_position().row as u32 + 1,
                            self.source[n.byte_range()].to_string(),
                        ));
                    }
                });
            }
        });
        found
    }
}

/// A statement that is only a string: a docstring (or a string used as a comment).
fn is_docstring(node: Node) -> bool {
    node.kind() == "expression_statement"
        && node.named_child_count() == 1
        && node.named_child(0).is_some_and(|c| c.kind() == "string")
}

/// Module-level code that tries the solution rather than being part of it.
fn is_scaffolding(node: Node, source: &str) -> bool {
    match node.kind() {
        "assert_statement" | "for_statement" | "while_statement" => true,
        "expression_statement" => node
            .named_child(0)
            .is_some_and(|c| matches!(c.kind(), "call" | "await")),
        "if_statement" => node
            .child_by_field_name("condition")
            .is_some_and(|c| source[c.byte_range()].contains("__name__")),
        _ => false,
    }
}

/// Pre-order walk over every node.
fn visit<'t>(node: Node<'t>, f: &mut impl FnMut(Node<'t>)) {
    f(node);
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        visit(child, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROGRAM: &str = r#"import math

def area(r):
    """Area of a circle.

    Radius r."""
    # pi times r squared
    result = math.pi * r ** 2  # the formula
    return result


assert area(1) > 3
print(area(2))
if __name__ == "__main__":
    area(3)
"#;

    #[test]
    fn code_lines_leave_out_docstrings_comments_and_scaffolding() {
        assert_eq!(Program::parse(PROGRAM).code_lines(), vec![1, 3, 8, 9]);
    }

    #[test]
    fn fault_lines_are_function_bodies() {
        let program = "import os\nLIMIT = 3\n\n@cache\ndef f(x,\n      y):\n    import re\n    def g():\n        return 1\n    return x + g()\n";
        assert_eq!(Program::parse(program).fault_lines(), vec![9, 10]);
        assert_eq!(Program::parse("x = 1\nprint(x)\n").fault_lines(), vec![1]);
    }

    #[test]
    fn tokens_and_assignments() {
        let program = Program::parse("def f(a, b):\n    s = a + b\n    return s\n");
        let texts: Vec<String> = program
            .tokens()
            .into_iter()
            .filter(|t| t.line == 2)
            .map(|t| t.text)
            .collect();
        assert_eq!(texts, ["s", "=", "a", "+", "b"]);
        assert_eq!(
            program.assignments(),
            vec![(1, "a".into()), (1, "b".into()), (2, "s".into())]
        );
    }
}
