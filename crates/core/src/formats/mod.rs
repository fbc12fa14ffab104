//! Readers and writers of every file format at tracealign's edges.

pub mod jsonl;
pub mod problems;
pub mod python_tests;
pub mod runs;
pub mod samples;
