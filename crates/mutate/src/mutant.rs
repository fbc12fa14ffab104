//! The result type: one faulty version of a program.

use serde::{Deserialize, Serialize};

use crate::Operator;

/// One mutant of a program: the original with a single edit applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mutant {
    /// The whole mutated program.
    pub code: String,
    /// The operator that made the edit.
    pub operator: Operator,
    /// 1-based lines of the mutated program that hold the fault: the lines the edited span
    /// covers. For a deleted statement that leaves nothing behind, the two lines around
    /// the gap a fix would fill: the code line before it (the previous statement's last
    /// line, or the header of the enclosing block) and the statement that now runs in its
    /// place (the next one in its block, else the one after the enclosing loop or `if`,
    /// within the function; the previous statement when nothing follows) — never a line
    /// outside the function.
    pub lines: Vec<u32>,
    /// Byte span `[start, end)` in `code` of the replacement text; empty (`start == end`)
    /// at the deletion point for a pure deletion.
    pub span: (usize, usize),
    /// A short human-readable description, e.g. "`<` → `<=`" or "deleted `total += x`".
    pub description: String,
}
