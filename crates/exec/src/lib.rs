//! Sandboxed execution of programs against tests, fast.
//!
//! An [`Executor`] keeps one warm Python worker per core. Each worker runs our harness
//! (`harness.py`, embedded), isolates itself once at start-up (user, pid, mount and network
//! namespaces: no network, a read-only filesystem but for a private `/tmp`, and every process
//! a job leaves behind killed after it), then forks a child per job with resource limits.
//! Verdicts are computed here, in Rust, from values the child serializes: see [`plan`].
//!
//! Invariants: every test of every sample gets exactly one [`tracealign_core::TestOutcome`];
//! a program's misbehaviour is an outcome, never an `Err`; `Err` means the machinery itself
//! failed (no Python, a worker that cannot start).

pub mod cache;
pub mod error;
pub mod executor;
pub mod limits;
pub mod plan;
pub mod python;
pub mod worker;

pub use cache::PreparedCache;
pub use error::ExecError;
pub use executor::{ExecConfig, Executor};
pub use limits::{Limits, TraceLimits, TraceMode};
pub use plan::PreparedProblem;
pub use python::resolve_python;
pub use worker::Isolation;
