//! A program's lines and tokens as localization sees them: which lines can hold a fault
//! (code, not blank lines, comments, docstrings or module-level test scaffolding), the
//! tokens on each line, and the names a line reads and assigns.

use std::collections::{BTreeMap, BTreeSet};

use tracealign_core::python::{self, end_line, named_children, start_line, visit, Node, Tree};

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
        Program {
            source,
            tree: python::parse(source),
        }
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
        for child in named_children(self.tree.root_node()) {
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

    /// Lines of module-level test scaffolding (see [`Program::code_lines`]).
    pub fn scaffolding_lines(&self) -> BTreeSet<u32> {
        named_children(self.tree.root_node())
            .filter(|child| is_scaffolding(*child, self.source))
            .flat_map(|c| start_line(c)..=end_line(c))
            .collect()
    }

    /// The program without its module-level test scaffolding, every byte of it but line
    /// breaks turned into a space: the same lines at the same numbers, less the code that
    /// tries the solution (and can fail before any test runs).
    pub fn without_scaffolding(&self) -> String {
        let mut bytes = self.source.as_bytes().to_vec();
        for child in named_children(self.tree.root_node()) {
            if is_scaffolding(child, self.source) {
                for byte in &mut bytes[child.byte_range()] {
                    if *byte != b'\n' {
                        *byte = b' ';
                    }
                }
            }
        }
        String::from_utf8(bytes).expect("ASCII spaces in place of whole characters")
    }

    /// The lines a fault is looked for in: code lines inside function bodies (without
    /// nested `def`/`class` headers and imports), and the `def` line of each top-level
    /// function — a wrong signature, or a missing import or helper, which a fix inserts
    /// above it. Other module-level code is setup, not the solution. A program with no
    /// code in function bodies falls back to all its code lines.
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
        let defs: Vec<u32> = self.top_level_functions().iter().map(|f| f.0).collect();
        if !code.iter().any(|&line| self.line_has(line, &inside)) {
            return code;
        }
        code.into_iter()
            .filter(|&line| self.line_has(line, &inside) || defs.contains(&line))
            .collect()
    }

    /// The top-level functions (decorated or not) as `(def line, last line)`.
    pub fn top_level_functions(&self) -> Vec<(u32, u32)> {
        python::top_level_functions(self.tree.root_node())
            .map(|f| (start_line(f), end_line(f)))
            .collect()
    }

    /// Every name the program binds anywhere: functions, classes, imports, parameters and
    /// assignment, loop, `with`/`except` and walrus targets. `None` when a wildcard import
    /// could bind anything.
    pub fn defined_names(&self) -> Option<BTreeSet<String>> {
        let mut names: BTreeSet<String> = self.assignments().into_iter().map(|(_, n)| n).collect();
        let mut wildcard = false;
        let text = |n: Node| python::text(n, self.source).to_string();
        visit(self.tree.root_node(), &mut |node| match node.kind() {
            "function_definition" | "class_definition" => {
                names.extend(node.child_by_field_name("name").map(text))
            }
            "aliased_import" => names.extend(node.child_by_field_name("alias").map(text)),
            "dotted_name"
                if node
                    .parent()
                    .is_some_and(|p| p.kind().starts_with("import")) =>
            {
                // `import os.path` binds `os`; `from m import name` binds `name`, not `m`.
                match node
                    .parent()
                    .filter(|p| p.kind() == "import_from_statement")
                {
                    Some(from) if from.child_by_field_name("module_name") == Some(node) => {}
                    Some(_) => {
                        names.insert(text(node));
                    }
                    None => names.extend(node.named_child(0).map(text)),
                }
            }
            "wildcard_import" => wildcard = true,
            "as_pattern_target" | "named_expression" => {
                let target = node.child_by_field_name("name").unwrap_or(node);
                visit(target, &mut |n| {
                    if n.kind() == "identifier" {
                        names.insert(text(n));
                    }
                });
            }
            _ => {}
        });
        (!wildcard).then_some(names)
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
                    line: start_line(node),
                    text: python::text(node, self.source).to_string(),
                    is_identifier: node.kind() == "identifier",
                });
            }
        });
        tokens.sort_by_key(|t| t.start);
        tokens.dedup_by_key(|t| t.start);
        tokens
    }

    /// Lines of assignments whose right side reads nothing: a literal, or a container of
    /// literals (`count = 0`, `vowels = ['a', 'e']`). Their value cannot depend on the
    /// input, so on its own it is a choice of representation, not a computation that went
    /// wrong; what the program does with it is.
    pub fn constant_assignments(&self) -> BTreeSet<u32> {
        let mut lines = BTreeSet::new();
        visit(self.tree.root_node(), &mut |node| {
            if node.kind() != "assignment" {
                return;
            }
            let Some(right) = node.child_by_field_name("right") else {
                return;
            };
            let mut reads = false;
            visit(right, &mut |n| reads |= n.kind() == "identifier");
            if !reads {
                lines.insert(start_line(node));
            }
        });
        lines
    }

    /// For each `return` of a literal (`return False`, `return -1`) inside a conditional
    /// branch, the line of the condition that chose the branch: such a return computes
    /// nothing, so when its value is wrong, the decision to return it is. For an `else`,
    /// the last condition before it.
    pub fn literal_return_deciders(&self) -> BTreeMap<u32, u32> {
        let mut found = BTreeMap::new();
        visit(self.tree.root_node(), &mut |node| {
            if node.kind() != "return_statement" {
                return;
            }
            let mut reads = false;
            visit(node, &mut |n| reads |= n.kind() == "identifier");
            if !reads {
                if let Some(decider) = deciding_condition(node) {
                    found.insert(start_line(node), start_line(decider));
                }
            }
        });
        found
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
                // Annotations and default values are read, not bound.
                visit_bindings(target, &mut |n| {
                    if n.kind() == "identifier" {
                        found.push((start_line(n), python::text(n, self.source).to_string()));
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
            .is_some_and(|c| python::text(c, source).contains("__name__")),
        _ => false,
    }
}

/// The condition whose outcome sent control into the branch holding `node`, within the
/// same function: `if`/`elif`/`while` conditions, or for an `else` branch of an `if` the
/// last condition before it.
fn deciding_condition(node: Node) -> Option<Node> {
    let mut child = node;
    while let Some(parent) = child.parent() {
        let condition = parent.child_by_field_name("condition");
        match parent.kind() {
            "function_definition" | "lambda" | "class_definition" => return None,
            "if_statement" | "elif_clause" | "while_statement"
                if parent.child_by_field_name("consequence") == Some(child)
                    || parent.child_by_field_name("body") == Some(child) =>
            {
                return condition;
            }
            "else_clause" => {
                let owner = parent.parent()?;
                if owner.kind() != "if_statement" {
                    return None; // a loop's or a try's else: no condition chose it
                }
                let mut last = owner.child_by_field_name("condition");
                let mut cursor = owner.walk();
                for clause in owner.children_by_field_name("alternative", &mut cursor) {
                    if clause == parent {
                        break;
                    }
                    last = clause.child_by_field_name("condition").or(last);
                }
                return last;
            }
            _ => child = parent,
        }
    }
    None
}

/// Pre-order walk that leaves out the `type` and `value` fields (a parameter's annotation
/// and default).
fn visit_bindings<'t>(node: Node<'t>, f: &mut impl FnMut(Node<'t>)) {
    f(node);
    let mut cursor = node.walk();
    if !cursor.goto_first_child() {
        return;
    }
    loop {
        if !matches!(cursor.field_name(), Some("type" | "value")) {
            visit_bindings(cursor.node(), f);
        }
        if !cursor.goto_next_sibling() {
            break;
        }
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
    fn scaffolding_is_blanked_in_place() {
        let program = Program::parse(PROGRAM);
        assert_eq!(
            program.scaffolding_lines().into_iter().collect::<Vec<_>>(),
            [12, 13, 14, 15]
        );
        let bare = program.without_scaffolding();
        assert_eq!(bare.lines().count(), PROGRAM.lines().count());
        assert_eq!(bare.lines().nth(8), PROGRAM.lines().nth(8));
        assert!(bare.lines().skip(11).all(|l| l.trim().is_empty()));
    }

    #[test]
    fn fault_lines_are_function_bodies() {
        let program = "import os\nLIMIT = 3\n\n@cache\ndef f(x,\n      y):\n    import re\n    def g():\n        return 1\n    return x + g()\n";
        assert_eq!(Program::parse(program).fault_lines(), vec![5, 9, 10]);
        assert_eq!(Program::parse("x = 1\nprint(x)\n").fault_lines(), vec![1]);
        let only_import = "def f(x):\n    import math\n    # to do\n";
        assert_eq!(Program::parse(only_import).fault_lines(), vec![1, 2]);
    }

    #[test]
    fn tokens_and_assignments() {
        let program = Program::parse("def f(a: List[int], b=N):\n    s = a + b\n    return s\n");
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

    #[test]
    fn defined_names_cover_every_binding() {
        let program = "import os.path\nimport numpy as np\nfrom typing import List, Dict as D\nclass C: pass\ndef f(a, *b, k=1):\n    x, y = 1, 2\n    for i in a: pass\n    with open(a) as fh: pass\n    try: pass\n    except ValueError as e: pass\n    if (n := len(a)): pass\n    return [j for j in b]\n";
        let names = Program::parse(program).defined_names().unwrap();
        let expected = [
            "C", "D", "List", "a", "b", "e", "f", "fh", "i", "j", "k", "n", "np", "os", "x", "y",
        ];
        assert_eq!(
            names.iter().map(String::as_str).collect::<Vec<_>>(),
            expected
        );
        assert_eq!(Program::parse("from math import *\n").defined_names(), None);
    }

    #[test]
    fn literal_returns_are_decided_by_the_condition_that_chose_their_branch() {
        let program = "def f(x, xs):
    if x > 1:
        return True
    elif x < -1:
        return -1
    else:
        return None
    while x:
        return 0
    for y in xs:
        return 1
    if xs:
        return x
    return ''
";
        let deciders = Program::parse(program).literal_return_deciders();
        let pairs: Vec<(u32, u32)> = deciders.into_iter().collect();
        assert_eq!(pairs, [(3, 2), (5, 4), (7, 4), (9, 8)]);
    }

    #[test]
    fn constant_assignments_read_no_name() {
        let program = "def f(xs):\n    count = 0\n    vowels = ['a', (-1, None)]\n    n = len(xs)\n    s = 'x'.upper()\n    t = [c for c in 'ab']\n    count += 1\n    return count\n";
        let lines: Vec<u32> = Program::parse(program)
            .constant_assignments()
            .into_iter()
            .collect();
        assert_eq!(lines, [2, 3]);
    }
}
