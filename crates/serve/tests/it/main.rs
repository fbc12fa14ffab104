//! The service end to end: a real server on 127.0.0.1 (an ephemeral port), real Python
//! programs, a plain HTTP client. Every request loop is bounded.

mod harness;

mod evaluate;
mod hostile;
mod limits;
mod reward;
mod sandbox_fusion;
