//! Sandboxed execution of programs against tests, fast.
//!
//! An [`Executor`] keeps one warm Python worker per core. Each worker runs our harness
//! (`harness.py`, embedded), isolates itself once at start-up (user, pid, mount and network
//! namespaces; `pivot_root` into a minimal read-only root holding only the interpreter's
//! trees and system libraries, a private `/tmp` and its own `/proc`; undumpable; a seccomp
//! filter), then forks a child per job that drops to an unprivileged uid (or, unprivileged,
//! to no capabilities) under resource limits. Every reply echoes its request's nonce and
//! every read from a worker has a deadline (see [`worker`]).
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
pub mod script;
pub mod worker;

pub use cache::PreparedCache;
pub use error::ExecError;
pub use executor::{ExecConfig, Executor};
pub use limits::{Limits, TraceLimits, TraceMode};
pub use plan::PreparedProblem;
pub use python::resolve_python;
pub use script::{Script, ScriptEnd, ScriptRun};
pub use worker::Isolation;
