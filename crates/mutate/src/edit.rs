//! A proposed single edit of the original program, before it is applied and checked.

use std::ops::Range;

use crate::Operator;

/// Replace `range` of the original text with `replacement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Edit {
    pub(crate) range: Range<usize>,
    pub(crate) replacement: String,
    pub(crate) operator: Operator,
    pub(crate) description: String,
    /// Byte offsets of the original text whose lines are the fault's lines, for edits whose
    /// own span says nothing useful (a deleted line leaves no text behind).
    pub(crate) anchors: Vec<usize>,
}

impl Edit {
    /// An edit described as "`old` → `new`", the common case.
    pub(crate) fn replace(
        operator: Operator,
        range: Range<usize>,
        old: &str,
        replacement: impl Into<String>,
    ) -> Edit {
        let replacement = replacement.into();
        let description = format!("`{}` → `{}`", shorten(old), shorten(&replacement));
        Edit::described(operator, range, replacement, description)
    }

    /// An edit with a caller-written description.
    pub(crate) fn described(
        operator: Operator,
        range: Range<usize>,
        replacement: impl Into<String>,
        description: String,
    ) -> Edit {
        Edit {
            range,
            replacement: replacement.into(),
            operator,
            description,
            anchors: Vec::new(),
        }
    }

    pub(crate) fn with_anchor(mut self, anchor: usize) -> Edit {
        self.anchors.push(anchor);
        self
    }
}

/// Code quoted in a description, on one line and bounded, so descriptions stay readable
/// in tables even when the edit covers a multi-line condition.
pub(crate) fn shorten(code: &str) -> String {
    const LIMIT: usize = 60;
    let flat = code.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= LIMIT {
        return flat;
    }
    let kept: String = flat.chars().take(LIMIT - 1).collect();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use super::shorten;

    #[test]
    fn shorten_flattens_and_truncates() {
        assert_eq!(shorten("a and\n    b"), "a and b");
        let long = "x".repeat(100);
        let short = shorten(&long);
        assert_eq!(short.chars().count(), 60);
        assert!(short.ends_with('…'));
    }
}
