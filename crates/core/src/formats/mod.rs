//! Readers and writers of every file format at tracealign's edges.
//!
//! Every reader takes plain or gzip-compressed files ([`read_text`]) and names the file and
//! line in its errors; every writer writes JSON Lines, one complete line per record.

pub mod faults;
pub mod jsonl;
pub mod problems;
pub mod python_tests;
pub mod runs;
pub mod samples;

pub use jsonl::read_text;
