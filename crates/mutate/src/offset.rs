//! Moving an integer-valued expression by a constant: `0` → `1`, `i` → `i + 1`,
//! `n - 1` → `n`. Shared by the operators that model off-by-one mistakes, so that they all
//! produce the text a programmer would have written rather than `n - 1 + 1`.

use tracealign_core::python::Node;

use crate::syntax::Program;

/// The value of an integer literal, or `None` for literals that cannot be rewritten as
/// plain integers (complex `1j`, Python 2 longs `1L`) or that overflow.
pub(crate) fn literal_value(text: &str) -> Option<i128> {
    let digits: String = text.chars().filter(|&c| c != '_').collect();
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = match lower.get(..2) {
        Some("0x") => (16, &lower[2..]),
        Some("0o") => (8, &lower[2..]),
        Some("0b") => (2, &lower[2..]),
        _ => (10, lower.as_str()),
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    i128::from_str_radix(body, radix).ok()
}

/// `value` written in the notation of the literal `like` (hex stays hex), so a mutant
/// differs from the original only in the number.
pub(crate) fn literal_text(value: i128, like: &str) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let magnitude = value.unsigned_abs();
    match like.get(..2).map(str::to_ascii_lowercase).as_deref() {
        Some("0x") => format!("{sign}{}{magnitude:x}", &like[..2]),
        Some("0o") => format!("{sign}{}{magnitude:o}", &like[..2]),
        Some("0b") => format!("{sign}{}{magnitude:b}", &like[..2]),
        _ => format!("{sign}{magnitude}"),
    }
}

/// An expression seen as `base + offset`, where the offset is the trailing integer
/// literal if there is one (`i - 1` is `i` with offset -1; `3` has no base).
pub(crate) struct Shifted<'a> {
    base: Option<String>,
    offset: i128,
    /// The literal whose notation new offsets are written in.
    like: &'a str,
}

impl<'a> Shifted<'a> {
    pub(crate) fn of(program: &Program<'a>, node: Node<'_>) -> Option<Shifted<'a>> {
        match node.kind() {
            "integer" => literal(program, node, 1),
            "unary_operator" => negative_literal(program, node),
            "binary_operator" => {
                offset_sum(program, node).or_else(|| Some(Shifted::whole(program, node)))
            }
            _ => Some(Shifted::whole(program, node)),
        }
    }

    fn whole(program: &Program<'a>, node: Node<'_>) -> Shifted<'a> {
        let text = program.text(node);
        let base = if binds_looser_than_plus(program, node) {
            format!("({text})")
        } else {
            text.to_string()
        };
        Shifted {
            base: Some(base),
            offset: 0,
            like: "1",
        }
    }

    /// The expression moved by `delta`.
    pub(crate) fn render(&self, delta: i128) -> String {
        let value = self.offset + delta;
        let Some(base) = &self.base else {
            return literal_text(value, self.like);
        };
        match value.signum() {
            0 => base.clone(),
            1 => format!("{base} + {}", literal_text(value, self.like)),
            _ => format!("{base} - {}", literal_text(-value, self.like)),
        }
    }
}

fn literal<'a>(program: &Program<'a>, node: Node<'_>, sign: i128) -> Option<Shifted<'a>> {
    let like = program.text(node);
    Some(Shifted {
        base: None,
        offset: sign * literal_value(like)?,
        like,
    })
}

/// `-3` is a unary minus over the literal `3`; other unary expressions are opaque.
fn negative_literal<'a>(program: &Program<'a>, node: Node<'_>) -> Option<Shifted<'a>> {
    let operand = node.child_by_field_name("argument")?;
    let minus = node.child_by_field_name("operator")?.kind() == "-";
    if minus && operand.kind() == "integer" {
        literal(program, operand, -1)
    } else {
        Some(Shifted::whole(program, node))
    }
}

/// `e + 2` / `e - 2`: base `e`, offset ±2.
fn offset_sum<'a>(program: &Program<'a>, node: Node<'_>) -> Option<Shifted<'a>> {
    let sign = match node.child_by_field_name("operator")?.kind() {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    let right = node.child_by_field_name("right")?;
    if right.kind() != "integer" {
        return None;
    }
    let like = program.text(right);
    Some(Shifted {
        base: Some(program.text(node.child_by_field_name("left")?).to_string()),
        offset: sign * literal_value(like)?,
        like,
    })
}

/// Whether appending ` + 1` to `node` would bind into it instead of around it
/// (`a << b + 1` is `a << (b + 1)`), so the base needs parentheses.
fn binds_looser_than_plus(program: &Program<'_>, node: Node<'_>) -> bool {
    match node.kind() {
        "binary_operator" => node
            .child_by_field_name("operator")
            .is_some_and(|op| matches!(program.text(op), "<<" | ">>" | "&" | "|" | "^")),
        "conditional_expression"
        | "lambda"
        | "boolean_operator"
        | "not_operator"
        | "comparison_operator"
        | "named_expression" => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{parse_clean, python_parser};

    #[test]
    fn literal_values_in_every_notation() {
        assert_eq!(literal_value("42"), Some(42));
        assert_eq!(literal_value("1_000"), Some(1000));
        assert_eq!(literal_value("0x1F"), Some(31));
        assert_eq!(literal_value("0o17"), Some(15));
        assert_eq!(literal_value("0b101"), Some(5));
        assert_eq!(literal_value("3j"), None);
        assert_eq!(literal_value("3L"), None);
    }

    #[test]
    fn literal_text_keeps_the_notation() {
        assert_eq!(literal_text(32, "0x1F"), "0x20");
        assert_eq!(literal_text(-1, "0"), "-1");
        assert_eq!(literal_text(6, "0b101"), "0b110");
    }

    /// The `Shifted` view of the right-hand side of `x = <expr>`.
    fn shift(expr: &str, delta: i128) -> String {
        let code = format!("x = {expr}\n");
        let tree = parse_clean(&mut python_parser(), &code).unwrap();
        let program = Program::new(&code, tree);
        let assignment = program
            .root()
            .named_child(0)
            .unwrap()
            .named_child(0)
            .unwrap();
        let right = assignment.child_by_field_name("right").unwrap();
        Shifted::of(&program, right).unwrap().render(delta)
    }

    #[test]
    fn shifting_rewrites_the_offset() {
        assert_eq!(shift("0", 1), "1");
        assert_eq!(shift("0", -1), "-1");
        assert_eq!(shift("-1", 1), "0");
        assert_eq!(shift("i", 1), "i + 1");
        assert_eq!(shift("i", -1), "i - 1");
        assert_eq!(shift("i - 1", 1), "i");
        assert_eq!(shift("i - 1", -1), "i - 2");
        assert_eq!(shift("i + 0x1", 1), "i + 0x2");
        assert_eq!(shift("2 * i", 1), "2 * i + 1");
        assert_eq!(shift("a << b", 1), "(a << b) + 1");
    }
}
