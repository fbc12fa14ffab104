//! Rendering a trace as compact text for a prompt, in one of four styles, under a token
//! budget.
//!
//! - [`Style::Lines`]: one line per event, like PySnooper: calls with their arguments, each
//!   line with its source text and, under it, the variables it changed; returns, yields,
//!   exceptions. Nested calls are indented.
//! - [`Style::Blocks`]: each frame's execution cut into basic blocks, like LDB: the block's
//!   lines between the variables at its entry and those it changed.
//! - [`Style::Inline`]: the program itself, each line annotated with the values it produced
//!   (first and last few when it ran often), what it returned or raised, or that it never ran.
//! - [`Style::Summary`]: per function, the calls, the last value of each variable and what it
//!   returned or raised.
//!
//! Every rendering starts with the failing test and its outcome (when given) and the first
//! divergence (when given); those lines survive any budget. Loops run many times keep only
//! their first and last iterations (`… N iterations omitted`), and so do long chains of
//! linear recursion. With a budget the text is shrunk step by step (see `budget.rs`) so that
//! [`Rendered::tokens`] stays within it whenever the header alone does.
//!
//! A `line` event reports the variables the frame's *previous* line changed; the renderers
//! attribute changes to the line that made them (see `frames.rs` and `rows.rs`).

mod blocks;
mod budget;
mod frames;
mod header;
mod inline;
mod lines;
mod loops;
mod rows;
mod source;
mod summary;
mod text;
mod tokens;

use std::fmt;
use std::str::FromStr;

use tracealign_core::{EventKind, Trace};

pub use tokens::{CharsPerToken, HfTokenizer, RenderError, TokenCounter};

use crate::Divergence;
use budget::{Layout, Surround};
use frames::Frames;
use rows::EventLayout;
use source::Program;

/// How a trace is laid out (see the module docs); named by [`Style::name`] in configs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Style {
    /// One line per event.
    #[default]
    Lines,
    /// Basic blocks with the state before and after.
    Blocks,
    /// The program with values as end-of-line comments.
    Inline,
    /// Final values, returns and exceptions per function.
    Summary,
}

impl Style {
    /// Every style, in documentation order.
    pub const ALL: [Style; 4] = [Style::Lines, Style::Blocks, Style::Inline, Style::Summary];

    /// The style's name: `lines`, `blocks`, `inline` or `summary`.
    pub fn name(self) -> &'static str {
        match self {
            Style::Lines => "lines",
            Style::Blocks => "blocks",
            Style::Inline => "inline",
            Style::Summary => "summary",
        }
    }
}

impl fmt::Display for Style {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Style {
    type Err = RenderError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Style::ALL
            .into_iter()
            .find(|style| style.name() == name)
            .ok_or_else(|| RenderError::UnknownStyle {
                name: name.to_string(),
            })
    }
}

/// The test a trace was recorded on, for the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestContext<'a> {
    /// The test's name.
    pub name: &'a str,
    /// The test's source or assertion, when known.
    pub code: Option<&'a str>,
    /// How it ended, in words: `failed: expected 6, got 5`,
    /// `error: IndexError: list index out of range (line 4)`.
    pub outcome: &'a str,
}

/// What to render.
#[derive(Debug, Clone, Copy)]
pub struct RenderInput<'a> {
    /// The candidate program the trace was recorded from.
    pub source: &'a str,
    /// The trace of one test.
    pub trace: &'a Trace,
    /// The test, for the header.
    pub test: Option<TestContext<'a>>,
    /// Where the candidate first departs from the reference on this test.
    pub divergence: Option<&'a Divergence>,
}

/// How to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// The layout. Default: [`Style::Lines`].
    pub style: Style,
    /// The most tokens the text may take. Default: none.
    pub budget: Option<usize>,
    /// Loop iterations (and recursion levels, and repeated values in `inline` and `summary`)
    /// kept at each end of a run; 0 counts as 1. Default: 2.
    pub loop_keep: usize,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            style: Style::Lines,
            budget: None,
            loop_keep: 2,
        }
    }
}

/// A rendered trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The rendering, lines joined by `\n`, without a final newline.
    pub text: String,
    /// Tokens of `text` by the counter it was rendered with.
    pub tokens: usize,
    /// What the text leaves out: recorded events not shown (`lines`, `blocks`), or recorded
    /// values not shown (`inline`, `summary`, whose values stand for their events). Events
    /// the tracer never recorded are not counted; the truncation note reports them.
    pub omitted_events: usize,
}

/// Renders `input` as `options` say, counting tokens with `counter`.
pub fn render(
    input: &RenderInput,
    options: &RenderOptions,
    counter: &dyn TokenCounter,
) -> Rendered {
    let program = Program::new(input.source);
    let frames = Frames::new(&input.trace.events);
    let focus = Focus::find(input, &frames);
    let head = header::head(input);
    let foot = header::foot(input.trace);
    let surround = Surround {
        head: &head,
        foot: foot.as_deref(),
    };
    let layout: Box<dyn Layout + '_> = match options.style {
        Style::Lines => Box::new(EventLayout::new(
            &frames,
            lines::rows(&frames, &program, focus.as_ref()),
            focus.as_ref(),
        )),
        Style::Blocks => Box::new(EventLayout::new(
            &frames,
            blocks::rows(&frames, &program, focus.as_ref()),
            focus.as_ref(),
        )),
        Style::Inline => Box::new(inline::Inline::new(
            &frames,
            &program,
            focus.as_ref(),
            input.trace.truncated,
        )),
        Style::Summary => Box::new(summary::Summary::new(&frames, &program, input.divergence)),
    };
    budget::fit(&surround, layout.as_ref(), options, counter)
}

/// Where a reader should look first: the divergence, else the first exception raised, else
/// the last event. Compression never hides it and a budget's window is centred on it.
#[derive(Debug, Clone)]
pub(crate) struct Focus {
    pub(crate) event: usize,
    pub(crate) line: u32,
    /// Where the divergence marker goes, when the focus is a divergence.
    pub(crate) mark: Option<Mark>,
}

/// Which row carries the divergence marker ([`MARK`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mark {
    /// The change of this variable made by the focus event (a divergence blames the line
    /// that assigned the wrong value; the trace reports the value on the frame's next event).
    Change(String),
    /// The focus event's own row.
    Row,
}

impl Focus {
    fn find(input: &RenderInput, frames: &Frames) -> Option<Focus> {
        let events = &input.trace.events;
        if let Some(divergence) = input.divergence {
            let step = divergence.candidate.step;
            let event = events
                .partition_point(|e| e.step < step)
                .min(events.len().checked_sub(1)?);
            let reported = |name: &String| {
                let next = frames.next(event);
                next.is_some_and(|next| events[next].changed.contains_key(name))
            };
            let mark = match &divergence.subject {
                Some(name) if reported(name) => Mark::Change(name.clone()),
                _ => Mark::Row,
            };
            return Some(Focus {
                event,
                line: divergence.candidate.line,
                mark: Some(mark),
            });
        }
        let raised = (0..events.len())
            .find(|&e| events[e].kind == EventKind::Exception && !frames.is_propagated(e));
        let event = raised.or(events.len().checked_sub(1))?;
        Some(Focus {
            event,
            line: events[event].line,
            mark: None,
        })
    }

    /// The marker for the row of `event`, or of its change of `variable`.
    pub(crate) fn mark(&self, event: usize, variable: Option<&str>) -> &'static str {
        let wanted = match (&self.mark, variable) {
            (Some(Mark::Change(name)), Some(variable)) => name == variable,
            (Some(Mark::Row), None) => true,
            _ => false,
        };
        if wanted && event == self.event {
            MARK
        } else {
            ""
        }
    }
}

/// Appended to the row where the candidate first departs from the reference.
pub(crate) const MARK: &str = "  <- first divergence";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styles_parse_their_names() {
        for style in Style::ALL {
            assert_eq!(style.to_string().parse::<Style>().unwrap(), style);
        }
        let err = "Lines".parse::<Style>().unwrap_err();
        assert!(err.to_string().contains("`Lines`"), "{err}");
    }
}
