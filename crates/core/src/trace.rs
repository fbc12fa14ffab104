//! Execution traces: what the candidate's own code did during one test.
//!
//! Events come from the harness's tracer in execution order. A `line` event is reported
//! when a line is *about to run* and carries the variables the previous event in the same
//! frame left changed; `return`/`yield` carry the value and the last changes. Values are
//! bounded `repr`s (long strings cut as head…tail, large containers summarised). A trace is
//! capped in events and bytes; `truncated` says the cap was hit. Tracing stops soon after
//! the cap (so that capped programs are not slowed further), so `events_total` counts the
//! events seen until then: exact when not truncated, a lower bound when truncated.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Variable name → bounded `repr` of its value.
pub type Vars = BTreeMap<String, String>;

/// The events of one test's execution.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Trace {
    pub events: Vec<TraceEvent>,
    #[serde(default)]
    pub truncated: bool,
    /// Events seen, recorded or not (a lower bound when `truncated`).
    #[serde(default)]
    pub events_total: u64,
}

/// What kind of thing happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A function of the candidate's started (or a generator resumed: `resumed`).
    Call,
    /// A line is about to run.
    Line,
    Return,
    /// A generator produced a value and paused.
    Yield,
    /// An exception was raised in (or passed through) this frame.
    Exception,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceEvent {
    /// Position in the whole execution, counting unrecorded events too.
    pub step: u64,
    pub kind: EventKind,
    /// The function's name (`<module>`, `<listcomp>`, ... for other code objects).
    pub func: String,
    /// 1-based line in the candidate's program.
    pub line: u32,
    /// Nesting of candidate frames: 0 for the function a test called.
    pub depth: u32,
    /// Call arguments (`call` only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args: Vars,
    /// Variables changed since the previous event of the same frame.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub changed: Vars,
    /// Returned or yielded value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A generator resuming, rather than a new call.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resumed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exc_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Trace {
    /// Lines of the candidate's program that ran, sorted and unique.
    pub fn covered_lines(&self) -> Vec<u32> {
        let mut lines: Vec<u32> = self.events.iter().map(|e| e.line).collect();
        lines.sort_unstable();
        lines.dedup();
        lines
    }
}
