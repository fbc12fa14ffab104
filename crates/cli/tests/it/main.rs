//! Integration tests of the `tracealign` binary: real Python processes, real files.
//! One test binary; `workspace` gives each test its own directory and a command wrapper.

mod bad_input;
mod bench;
mod datasets;
mod embedded;
mod eval;
mod experiment;
mod formats;
mod help;
mod hostile;
mod localization;
mod pipeline;
mod predict;
mod report;
mod resume;
mod sandbox;
mod traces;
mod train;
mod verdicts;
mod workers;
mod workspace;
