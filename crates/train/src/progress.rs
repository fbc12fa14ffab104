//! How far a long call (sampling, training) got, told to a callback as it goes: the CLI
//! draws a bar from it, a library user can ignore it (`&mut |_| {}`).

/// One report of a long call.
#[derive(Debug, Clone, PartialEq)]
pub enum ProgressEvent {
    /// The call has `total` items to do (prompts, steps), `done` of them before it started
    /// (a resumed run).
    Begin { total: usize, done: usize },
    /// One more item is done; `status` says how it goes (tokens per second, the loss).
    Advance { status: String },
}
