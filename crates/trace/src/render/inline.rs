//! The `inline` style: the program itself, each line annotated with what it did.
//!
//! ```text
//! 1 | def f(xs):  # f(xs=[1, 2, 3]) → 6
//! 2 |     total = 0  # total: 0
//! 3 |     for x in xs:  # x: 1 → 2 → 3
//! 4 |         total = total + x  # total: 1 → 3 → 6
//! 5 |     return total  # returns 6
//! ```
//!
//! A line collects, over the whole test, the calls of the function it defines, the values it
//! gave each variable, what it returned or yielded and what it raised; runs of values keep
//! their first and last `keep`. Lines of a called function that never ran say so, except in a
//! truncated trace, where nothing can be said of what came after the cut.

use tracealign_core::EventKind;

use super::budget::{BodyLine, Detail, Layout};
use super::frames::Frames;
use super::rows::{around, plural};
use super::source::Program;
use super::text::{self, is_machinery, series};
use super::{Focus, MARK};

/// What one source line did during the test.
#[derive(Default)]
struct Notes {
    /// Calls of the function defined here: `f(x=1) → 2`.
    calls: Vec<String>,
    /// Values given to each variable, variables in order of first assignment.
    assigned: Vec<(String, Vec<String>)>,
    returns: Vec<String>,
    yields: Vec<String>,
    raised: Vec<String>,
    never_ran: bool,
    diverges: bool,
}

impl Notes {
    fn assign(&mut self, name: &str, value: &str) {
        match self.assigned.iter_mut().find(|(known, _)| known == name) {
            Some((_, values)) => values.push(value.to_string()),
            None => self
                .assigned
                .push((name.to_string(), vec![value.to_string()])),
        }
    }

    fn values(&self) -> usize {
        let assigned: usize = self.assigned.iter().map(|(_, values)| values.len()).sum();
        self.calls.len() + assigned + self.returns.len() + self.yields.len() + self.raised.len()
    }

    /// The end-of-line comment and how many values it shows.
    fn comment(&self, keep: usize) -> (String, usize) {
        let mut parts = Vec::new();
        let mut shown = 0;
        let mut add = |prefix: String, values: &[String], separator: &str| {
            if !values.is_empty() {
                let run = series(values, keep, separator);
                shown += run.shown;
                parts.push(format!("{prefix}{}", run.text));
            }
        };
        add(String::new(), &self.calls, ", ");
        for (name, values) in &self.assigned {
            add(format!("{name}: "), values, " → ");
        }
        add("returns ".into(), &self.returns, " → ");
        add("yields ".into(), &self.yields, " → ");
        add("raised ".into(), &self.raised, ", ");
        if self.never_ran {
            parts.push("never ran".into());
        }
        let mut comment = parts.join("; ");
        if self.diverges {
            comment.push_str(MARK);
        }
        (comment, shown)
    }
}

/// The `inline` layout: notes per source line, windowed by source line under a budget.
pub(crate) struct Inline<'a> {
    program: &'a Program<'a>,
    notes: Vec<Notes>,
    focus_line: Option<usize>,
}

impl<'a> Inline<'a> {
    pub(crate) fn new(
        frames: &Frames,
        program: &'a Program<'a>,
        focus: Option<&Focus>,
        truncated: bool,
    ) -> Self {
        let mut notes: Vec<Notes> = (0..program.len()).map(|_| Notes::default()).collect();
        let mut ran = vec![false; program.len()];
        collect(frames, program, &mut notes, &mut ran);
        if !truncated {
            for line in unrun_lines(frames, program, &ran) {
                notes[line].never_ran = true;
            }
        }
        let focus_line = focus.and_then(|f| usize::try_from(f.line).ok()?.checked_sub(1));
        if focus.is_some_and(|f| f.mark.is_some()) {
            if let Some(line) = focus_line.and_then(|line| notes.get_mut(line)) {
                line.diverges = true;
            }
        }
        Self {
            program,
            notes,
            focus_line,
        }
    }

    fn line(&self, index: usize, keep: usize, width: usize) -> BodyLine {
        let code = self.program.raw(index as u32 + 1).unwrap_or_default();
        let (comment, shows) = self.notes[index].comment(keep);
        let text = if comment.is_empty() {
            format!("{:>width$} | {code}", index + 1)
        } else {
            format!("{:>width$} | {code}  # {comment}", index + 1)
        };
        BodyLine {
            text: text.trim_end().to_string(),
            shows,
        }
    }
}

impl Layout for Inline<'_> {
    fn body(&self, detail: Detail) -> Vec<BodyLine> {
        let lines = self.notes.len();
        let width = lines.to_string().len();
        let shown = match (detail.window, self.focus_line) {
            (Some(size), Some(focus)) => around(focus.min(lines.saturating_sub(1)), size, lines),
            _ => 0..lines,
        };
        let mut body = Vec::new();
        if shown.start > 0 {
            body.push(skipped(shown.start));
        }
        body.extend(
            shown
                .clone()
                .map(|index| self.line(index, detail.keep, width)),
        );
        if shown.end < lines {
            body.push(skipped(lines - shown.end));
        }
        body
    }

    fn window_units(&self) -> usize {
        self.notes.len()
    }

    fn total(&self) -> usize {
        self.notes.iter().map(Notes::values).sum()
    }
}

fn skipped(lines: usize) -> BodyLine {
    BodyLine {
        text: format!("… {lines} {} omitted", plural(lines, "line")),
        shows: 0,
    }
}

/// Files each event's information under the source line it belongs to.
fn collect(frames: &Frames, program: &Program, notes: &mut [Notes], ran: &mut [bool]) {
    let slot = |line: u32| usize::try_from(line).ok()?.checked_sub(1);
    for (index, event) in frames.events.iter().enumerate() {
        let fresh_call = event.kind == EventKind::Call && !event.resumed;
        let cause = &frames.events[frames.cause(index)];
        // What a frame sees on entry (a closure's cells) is no line's doing.
        let entry = cause.kind == EventKind::Call && !cause.resumed;
        if !fresh_call && !entry {
            if let Some(notes) = slot(cause.line).and_then(|line| notes.get_mut(line)) {
                for (name, value) in event.changed.iter().filter(|(n, _)| !is_machinery(n)) {
                    notes.assign(name, value);
                }
            }
        }
        let Some(here) = slot(event.line).filter(|&line| line < notes.len()) else {
            continue;
        };
        let frame = frames.frame_of(index);
        let ours = !event.func.starts_with('<');
        let generator = frames.frames[frame].generator;
        match event.kind {
            EventKind::Line => ran[here] = true,
            EventKind::Call if fresh_call && ours => {
                notes[here]
                    .calls
                    .push(call_outcome(frames, program, index, frame));
            }
            EventKind::Return if ours && !generator && !frames.is_unwinding(index) => {
                // A function that ends without `return` returns from its last line; its
                // call's note already says `→ None`.
                if !program.statement(event.line).is_some_and(|s| is_return(&s)) {
                    continue;
                }
                let value = event.value.as_deref().unwrap_or("None");
                notes[here].returns.push(value.to_string());
            }
            EventKind::Yield => {
                let value = event.value.as_deref().unwrap_or("None");
                notes[here].yields.push(value.to_string());
            }
            EventKind::Exception if !frames.is_propagated(index) => {
                notes[here].raised.push(text::exception(event));
            }
            _ => {}
        }
    }
}

fn is_return(statement: &str) -> bool {
    statement
        .strip_prefix("return")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '(', '[', '{', '\'', '"']))
}

/// `f(x=1) → 2`, `f(x=1) raised ValueError`, or just `f(x=1)` for a generator.
fn call_outcome(frames: &Frames, program: &Program, call: usize, frame: usize) -> String {
    let called = text::call(&frames.events[call], program);
    let end = frames.frames[frame]
        .end
        .map(|end| (end, &frames.events[end]));
    match end {
        _ if frames.frames[frame].generator => called,
        Some((end, _)) if frames.is_unwinding(end) => {
            let raised = frames.previous(end).map(|at| &frames.events[at]);
            let kind = raised
                .and_then(|e| e.exc_type.as_deref())
                .unwrap_or("exception");
            format!("{called} raised {kind}")
        }
        Some((_, returned)) => {
            let value = returned.value.as_deref().unwrap_or("None");
            format!("{called} → {}", text::value(value))
        }
        None => called,
    }
}

/// Statement lines, inside functions the test called, that no line event reached (0-based).
///
/// Only lines that certainly produce a line event when run count: not blank or comment
/// lines, continuation lines, strings spanning lines, or `else:`/`try:`/`finally:` headers
/// and declarations that compile to no code.
fn unrun_lines(frames: &Frames, program: &Program, ran: &[bool]) -> Vec<usize> {
    let mut defs: Vec<u32> = frames
        .frames
        .iter()
        .map(|frame| &frames.events[frame.call])
        .filter(|call| call.kind == EventKind::Call && !call.func.starts_with('<'))
        .map(|call| call.line)
        .collect();
    defs.sort_unstable();
    defs.dedup();
    let mut unrun: Vec<usize> = defs
        .into_iter()
        .flat_map(|def| body_statements(program, def))
        .filter(|&line| !ran[line])
        .collect();
    unrun.sort_unstable();
    unrun.dedup();
    unrun
}

/// Statement lines (0-based) of the body of the `def` at line `def` (1-based).
fn body_statements(program: &Program, def: u32) -> Vec<usize> {
    let Some(header) = program.raw(def).filter(|line| is_def(line)) else {
        return Vec::new();
    };
    let def_indent = indentation(header);
    let mut statements = Vec::new();
    let mut open_brackets = bracket_balance(header);
    let mut in_string = false;
    let mut continued = header.trim_end().ends_with('\\');
    for number in def + 1..=program.len() as u32 {
        let line = program.raw(number).unwrap_or_default();
        let stripped = line.trim();
        let inside = open_brackets > 0 || in_string || continued;
        if !inside && !stripped.is_empty() && !stripped.starts_with('#') {
            if indentation(line) <= def_indent {
                break;
            }
            if !line.contains("\"\"\"") && !line.contains("'''") && produces_code(stripped) {
                statements.push(number as usize - 1);
            }
        }
        let triple_quotes = line.matches("\"\"\"").count() + line.matches("'''").count();
        in_string ^= triple_quotes % 2 == 1;
        if !in_string {
            open_brackets = (open_brackets + bracket_balance(line)).max(0);
        }
        continued = stripped.ends_with('\\');
    }
    statements
}

fn is_def(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with("def ") || line.starts_with("async def ")
}

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Opening minus closing brackets outside strings and comments (one-line strings only).
fn bracket_balance(line: &str) -> i32 {
    let mut balance = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(_), _) if escaped => escaped = false,
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '#') => break,
            (None, '(' | '[' | '{') => balance += 1,
            (None, ')' | ']' | '}') => balance -= 1,
            (None, _) => {}
        }
    }
    balance
}

/// Whether a statement line yields a line event when it runs.
fn produces_code(statement: &str) -> bool {
    let keyword = statement
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
        .unwrap_or_default();
    let no_code = ["else", "try", "finally", "global", "nonlocal"];
    !no_code.contains(&keyword) && !statement.starts_with('@') && !is_bare_annotation(statement)
}

/// `x: int` with no value compiles to nothing inside a function.
fn is_bare_annotation(statement: &str) -> bool {
    let Some((target, annotation)) = statement.split_once(':') else {
        return false;
    };
    let target = target.trim();
    !target.is_empty()
        && target
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        && !annotation.contains('=')
        && !annotation.trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_statements_skip_what_never_has_a_line_event() {
        let source = "\
def f(xs):
    \"\"\"Docstring
    spanning lines.\"\"\"
    total = (1 +
             2)
    # a comment
    global g
    n: int
    try:
        pass
    except ValueError:
        return None
    else:
        total += 1
    return total

x = 1
";
        let program = Program::new(source);
        let lines: Vec<usize> = body_statements(&program, 1).iter().map(|l| l + 1).collect();
        assert_eq!(lines, [4, 10, 11, 12, 14, 15]);
    }
}
