//! How a long step tells its caller how far it got: the CLI draws progress bars with it, a
//! service could report it, a library user can ignore it ([`NoProgress`]).

/// Receives a step's phases, one at a time: `begin`, `advance` once per item, `end`.
pub trait Progress: Sync {
    /// A phase of `total` items starts (`label`: what is counted, e.g. "references").
    fn begin(&self, label: &str, total: usize);
    /// One more item of the current phase is done.
    fn advance(&self);
    /// The current phase is over.
    fn end(&self);
    /// A short note on the current phase (running counts), replacing the last one.
    fn message(&self, _text: &str) {}
}

/// Progress nobody watches.
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _label: &str, _total: usize) {}
    fn advance(&self) {}
    fn end(&self) {}
}
