//! `tracealign serve`: the execution and dense-reward HTTP service for RL training loops.
//!
//! Endpoints (see [`router`] and `GET /openapi.json`):
//! - `POST /run_code`, `POST /submit`: SandboxFusion's API, so its clients (and verl's
//!   `sandbox_fusion` reward) work unchanged ([`sandbox_fusion`]).
//! - `POST /v1/evaluate`: many programs of one or more problems in one request, one
//!   runs-file record per program ([`evaluate`]).
//! - `POST /v1/reward`: scalar rewards by scheme, the fault report, per-line and per-token
//!   rewards aligned to the caller's tokens, and the first divergence from the reference
//!   ([`reward`]).
//! - `GET /health`, `GET /metrics` (Prometheus text), `GET /openapi.json`.
//!
//! Handlers only translate: requests become the library's types (`Sample`, `Script`,
//! `Problem`), one library call does the work (`Executor::run`, `Executor::run_script`,
//! `localize_with`, `rewards::score`), and its result becomes the response.
//!
//! Invariants: at most `queue` requests are admitted at once (past it: 429 with
//! `Retry-After`), at most `jobs` of them execute at once; every request's body and fields
//! are bounded ([`RequestLimits`]) and a violation is a 4xx naming the field; a program's
//! misbehaviour is its own outcome and never another request's; with a token, every route
//! but `/health` needs `Authorization: Bearer TOKEN`.

mod admission;
mod api_error;
mod app;
mod auth;
mod body;
pub mod evaluate;
mod lanes;
mod metrics;
mod openapi;
mod registry;
mod request_limits;
pub mod reward;
pub mod sandbox_fusion;
mod server;

pub use app::router;
pub use request_limits::RequestLimits;
pub use server::{RunningServer, ServeError, ServeSettings, Server, TokenizerSource};
