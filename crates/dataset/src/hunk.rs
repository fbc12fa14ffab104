//! The one region of a buggy program a fix rewrites, and the fix's text for it: what
//! RepairLLaMA's representations mark (buggy-lines markers) or cut out (a cloze with a fill
//! token, whose answer is the fix's text for the hole).
//!
//! Both directions of `tracealign_localize::diff` say which lines differ: the buggy
//! program's lines the fix replaces, deletes or inserts after, and the fix's lines the buggy
//! program lacks. The region spans the first to the last of them on each side (several
//! hunks become one, with the unchanged lines between them on both sides), so the fill is a
//! run of whole lines of the fix. The buggy lines are the fix's, an oracle location as in
//! RepairLLaMA, not a localizer's guess. A region is only returned when putting the fill in
//! the hole gives a program token-for-token equal to the fix.

use tracealign_localize::diff::{diff, LineDiff};

/// A contiguous run of the buggy program's lines and what the fix puts there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// The first buggy line of the region (1-based).
    pub first: u32,
    /// The last buggy line; `first - 1` for an empty region (the fix only inserts code,
    /// before line `first`).
    pub last: u32,
    /// The fix's lines for the region, each with its newline; empty when the fix only
    /// deletes.
    pub fill: String,
}

impl Hunk {
    /// The region where `fix` differs from `buggy`; `None` when they are equal up to
    /// formatting or no single region explains the difference.
    pub fn between(buggy: &str, fix: &str) -> Option<Hunk> {
        let ours = region(&diff(buggy, fix))?;
        let fix_lines: Vec<&str> = fix.split_inclusive('\n').collect();
        let theirs = region(&diff(fix, buggy)).unwrap_or((ours.0, ours.0 - 1));
        // The two diffs may pair repeated lines differently (`return True` twice); then the
        // fix's lines between the same number of lines before and after the region, as
        // when only the region differs.
        let after = (buggy.split_inclusive('\n').count() as u32).saturating_sub(ours.1);
        let same_frame = (ours.0, (fix_lines.len() as u32).saturating_sub(after));
        [theirs, same_frame].into_iter().find_map(|(first, last)| {
            let hunk = Hunk {
                first: ours.0,
                last: ours.1,
                fill: lines_text(&fix_lines, first, last),
            };
            (diff(&hunk.apply(buggy), fix).lines_edited == 0).then_some(hunk)
        })
    }

    /// The buggy lines of the region (empty for an insertion).
    pub fn lines(&self) -> Vec<u32> {
        (self.first..=self.last).collect()
    }

    /// `buggy` with the region replaced by the fill.
    pub fn apply(&self, buggy: &str) -> String {
        let lines: Vec<&str> = buggy.split_inclusive('\n').collect();
        let before = lines_text(&lines, 1, self.first - 1);
        let after = lines_text(&lines, self.last + 1, lines.len() as u32);
        let mut fill = self.fill.clone();
        if !fill.is_empty() && !fill.ends_with('\n') && !after.is_empty() {
            fill.push('\n');
        }
        format!("{before}{fill}{after}")
    }
}

/// `(first, last)` lines a diff blames, with an insertion after line k counting as the
/// empty region before line k + 1; `None` when nothing differs.
fn region(found: &LineDiff) -> Option<(u32, u32)> {
    let starts = found
        .changed
        .iter()
        .copied()
        .chain(found.insertions.iter().map(|k| k + 1));
    let ends = found
        .changed
        .iter()
        .copied()
        .chain(found.insertions.iter().copied());
    Some((starts.min()?, ends.max()?))
}

/// Lines `first..=last` (1-based) of a text split after each newline.
fn lines_text(lines: &[&str], first: u32, last: u32) -> String {
    let from = (first as usize).saturating_sub(1).min(lines.len());
    let to = (last as usize).min(lines.len()).max(from);
    lines[from..to].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIX: &str = "def f(xs):\n    s = 0\n    for x in xs:\n        s += x\n    return s\n";

    #[test]
    fn a_changed_line_is_the_region_and_its_fix_the_fill() {
        let buggy = "def f(xs):\n    s = 0\n    for x in xs:\n        s -= x\n    return s\n";
        let hunk = Hunk::between(buggy, FIX).unwrap();
        assert_eq!((hunk.first, hunk.last), (4, 4));
        assert_eq!(hunk.fill, "        s += x\n");
        assert_eq!(hunk.apply(buggy), FIX);
    }

    #[test]
    fn a_missing_line_is_an_empty_region_and_an_extra_line_an_empty_fill() {
        let missing = "def f(xs):\n    s = 0\n    for x in xs:\n        pass\n    return s\n";
        let fix =
            "def f(xs):\n    s = 0\n    for x in xs:\n        pass\n        s += x\n    return s\n";
        let hunk = Hunk::between(missing, fix).unwrap();
        assert_eq!((hunk.first, hunk.last), (5, 4));
        assert!(hunk.lines().is_empty());
        assert_eq!(hunk.fill, "        s += x\n");
        assert_eq!(hunk.apply(missing), fix);
        let extra =
            "def f(xs):\n    s = 0\n    s = 1\n    for x in xs:\n        s += x\n    return s\n";
        let hunk = Hunk::between(extra, FIX).unwrap();
        assert_eq!((hunk.first, hunk.last, hunk.fill.as_str()), (3, 3, ""));
        assert_eq!(hunk.apply(extra), FIX);
    }

    #[test]
    fn repeated_lines_paired_differently_by_the_two_diffs_still_give_the_region() {
        let fix = "def f(l, t):\n    for e in l:\n        if e >= t:\n            return False\n    return True\n";
        let buggy = fix.replace("return False", "return True");
        let hunk = Hunk::between(&buggy, fix).unwrap();
        assert_eq!((hunk.first, hunk.last), (4, 4));
        assert_eq!(hunk.fill, "            return False\n");
    }

    #[test]
    fn two_hunks_become_one_region_and_formatting_alone_is_no_region() {
        let buggy = "def f(xs):\n    s = 1\n    for x in xs:\n        s -= x\n    return s\n";
        let hunk = Hunk::between(buggy, FIX).unwrap();
        assert_eq!((hunk.first, hunk.last), (2, 4));
        assert_eq!(hunk.apply(buggy), FIX);
        let reformatted =
            "def f(xs):\n    s = 0  # start\n    for x in xs:\n        s  +=  x\n    return s\n";
        assert_eq!(Hunk::between(reformatted, FIX), None);
    }
}
