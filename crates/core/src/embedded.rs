//! The default problem set, written for tracealign and compiled into the binary: what
//! `tracealign run` uses when no problem file is given.

use std::path::Path;

use crate::error::Result;
use crate::formats::{problems::parse_problems, samples::parse_samples};
use crate::{Problem, Sample};

const PROBLEMS: &str = include_str!("../../../data/problems/default.jsonl");
const SAMPLES: &str = include_str!("../../../data/samples/default.jsonl");

/// The embedded problems.
pub fn problems() -> Vec<Problem> {
    parse_problems(Path::new("<embedded>/problems.jsonl"), PROBLEMS, None)
        .expect("the embedded problems are valid (checked by tests)")
}

/// The embedded faulty (and a few correct) samples of the embedded problems.
pub fn samples() -> Result<Vec<Sample>> {
    Ok(parse_samples(Path::new("<embedded>/samples.jsonl"), SAMPLES, &problems())?.samples)
}
