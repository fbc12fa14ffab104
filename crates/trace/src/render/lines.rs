//! The `lines` style: one line per event, like PySnooper.
//!
//! ```text
//! call f(xs=[1, 2, 3])
//!   line 2  total = 0
//!       total = 0
//!   line 3  for x in xs:
//!       x = 1
//! return 6
//! ```
//!
//! Calls, returns and yields sit at the frame's indentation (four spaces a level), its lines
//! two further in, and the variables a line changed four further still, printed after the
//! line (and after whatever it called), where the trace reports them.

use tracealign_core::{EventKind, TraceEvent};

use super::frames::Frames;
use super::rows::Row;
use super::source::Program;
use super::text::{self, is_machinery};
use super::Focus;

/// Spaces per nesting level.
const LEVEL: usize = 4;
/// Nesting levels shown by indentation. Deeper frames (a runaway recursion) stay at this
/// indentation, and their calls and returns say how deep they are.
const MAX_LEVELS: u32 = 10;

/// Leading spaces of a frame's calls and returns.
pub(crate) fn indentation(depth: u32) -> usize {
    depth.min(MAX_LEVELS) as usize * LEVEL
}

/// The rows of the `lines` style.
pub(crate) fn rows(frames: &Frames, program: &Program, focus: Option<&Focus>) -> Vec<Row> {
    let mut rows = Vec::with_capacity(frames.len() * 2);
    for (index, event) in frames.events.iter().enumerate() {
        let indent = indentation(event.depth);
        if event.kind != EventKind::Call || event.resumed {
            rows.extend(changes(frames, index, indent + 6, focus));
        }
        let mark = focus.map_or("", |f| f.mark(index, None));
        rows.push(Row {
            event: index,
            indent: indent + inset(event.kind),
            text: format!("{}{mark}", describe(frames, program, index)),
            shows: 1,
        });
    }
    rows
}

/// One row per variable `index` reports changed, belonging to the line that changed it.
fn changes<'a>(
    frames: &'a Frames,
    index: usize,
    indent: usize,
    focus: Option<&'a Focus>,
) -> impl Iterator<Item = Row> + 'a {
    let cause = frames.cause(index);
    frames.events[index]
        .changed
        .iter()
        .filter(|(name, _)| !is_machinery(name))
        .map(move |(name, value)| {
            let mark = focus.map_or("", |f| f.mark(cause, Some(name)));
            Row {
                event: cause,
                indent,
                text: format!("{name} = {}{mark}", text::value(value)),
                shows: 0,
            }
        })
}

/// Extra indentation of an event's row within its frame: lines and exceptions sit inside the
/// frame that calls and returns open and close.
pub(crate) fn inset(kind: EventKind) -> usize {
    match kind {
        EventKind::Line | EventKind::Exception => 2,
        _ => 0,
    }
}

/// An event in words: `call f(x=1)`, `line 3  y = x + 1`, `return 2`, ...
pub(crate) fn describe(frames: &Frames, program: &Program, index: usize) -> String {
    let event = &frames.events[index];
    let words = describe_kind(frames, program, index);
    match event.kind {
        EventKind::Call | EventKind::Return | EventKind::Yield if event.depth > MAX_LEVELS => {
            format!("{words}  [depth {}]", event.depth)
        }
        _ => words,
    }
}

fn describe_kind(frames: &Frames, program: &Program, index: usize) -> String {
    let event = &frames.events[index];
    match event.kind {
        EventKind::Call if event.resumed => format!("resume {}", event.func),
        EventKind::Call => format!("call {}", text::call(event, program)),
        EventKind::Line => match program.statement(event.line) {
            Some(statement) => format!("line {}  {statement}", event.line),
            None => format!("line {}", event.line),
        },
        EventKind::Return if frames.is_unwinding(index) => {
            let raised = frames.previous(index).map(|at| &frames.events[at]);
            let kind = raised
                .and_then(|e| e.exc_type.as_deref())
                .unwrap_or("exception");
            format!("exits by raising {kind}")
        }
        EventKind::Return => format!("return {}", value_of(event)),
        EventKind::Yield => format!("yield {}", value_of(event)),
        EventKind::Exception if frames.is_propagated(index) => format!(
            "exception {} passes through line {}",
            event.exc_type.as_deref().unwrap_or("exception"),
            event.line
        ),
        EventKind::Exception => {
            format!(
                "exception {} at line {}",
                text::exception(event),
                event.line
            )
        }
    }
}

fn value_of(event: &TraceEvent) -> String {
    text::value(event.value.as_deref().unwrap_or("None"))
}
