//! Which programs a program is compared with to find its error-sensitive segments, and the
//! mutants that stand in when there are none.
//!
//! FAIT compares a correct program with *similar* incorrect ones: a failing program that
//! solves the problem another way differs everywhere and would weight everything. So a
//! program is only compared with programs whose diff changes at most
//! [`ContrastOptions::max_changed_share`] of its code lines; then with all of them (the union
//! of their segments) or only the nearest (fewest lines, then tokens, edited).
//!
//! When no similar program is at hand, single-fault mutants of the program itself are:
//! [`mutant_candidates`] proposes them (tracealign-mutate, seeded), the caller may run them
//! and keep the killed ones, and the program is compared with those.

use tracealign_core::fault::char_span;
use tracealign_core::sample::mutant_id;
use tracealign_core::{InjectedFault, Sample};
use tracealign_localize::diff::diff;

use crate::lines::LineIndex;
use crate::sensitive::{changed_share, Segments};

/// Whether a program is compared with all similar programs or the nearest one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContrastMode {
    /// The union of the segments against every similar program.
    #[default]
    All,
    /// The segments against the most similar program only.
    Nearest,
}

/// How contrast programs are chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContrastOptions {
    /// Default: [`ContrastMode::All`].
    pub mode: ContrastMode,
    /// The largest share of the program's code lines a similar program's diff may change.
    /// Default: 0.5.
    pub max_changed_share: f64,
}

impl Default for ContrastOptions {
    fn default() -> Self {
        ContrastOptions {
            mode: ContrastMode::All,
            max_changed_share: 0.5,
        }
    }
}

/// A program's segments against the programs it was compared with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Contrast {
    /// The sample ids of the programs compared with, in the order given.
    pub ids: Vec<String>,
    pub segments: Segments,
}

/// Compares `program` with the similar ones among `others` (`(sample id, code)`).
pub fn contrast(program: &str, others: &[(&str, &str)], options: &ContrastOptions) -> Contrast {
    let index = LineIndex::new(program);
    let mut similar: Vec<(&str, tracealign_localize::diff::LineDiff)> = others
        .iter()
        .map(|&(id, code)| (id, diff(program, code)))
        .filter(|(_, d)| !d.changed.is_empty() && changed_share(d) <= options.max_changed_share)
        .collect();
    if options.mode == ContrastMode::Nearest {
        let nearest = similar
            .iter()
            .enumerate()
            .min_by_key(|(_, (_, d))| (d.lines_edited, d.tokens_edited))
            .map(|(k, _)| k);
        similar = nearest
            .map(|k| similar.swap_remove(k))
            .into_iter()
            .collect();
    }
    let mut result = Contrast::default();
    for (id, found) in similar {
        result.ids.push(id.to_string());
        result.segments.merge(Segments::from_diff(&found, &index));
    }
    result
}

/// Up to `count` single-fault mutants of `program` (sample `origin_id` of `problem_id`), in
/// the seeded order of tracealign-mutate, as samples whose `mutation.origin` is `origin_id`.
pub fn mutant_candidates(
    problem_id: &str,
    origin_id: &str,
    program: &str,
    count: usize,
    seed: u64,
) -> Vec<Sample> {
    tracealign_mutate::mutants(program, seed)
        .into_iter()
        .take(count)
        .enumerate()
        .map(|(k, mutant)| Sample {
            problem_id: problem_id.to_string(),
            sample_id: mutant_id(origin_id, k),
            model: Some("mutant".into()),
            mutation: Some(InjectedFault {
                operator: mutant.operator.name().to_string(),
                lines: mutant.lines,
                span: char_span(&mutant.code, mutant.span),
                description: mutant.description,
                origin: origin_id.to_string(),
            }),
            code: mutant.code,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    const PASSING: &str =
        "def total(xs):\n    s = 0\n    for x in xs:\n        s += x\n    return s\n";

    #[test]
    fn only_similar_programs_count_and_nearest_keeps_one() {
        let one = "def total(xs):\n    s = 1\n    for x in xs:\n        s += x\n    return s\n";
        let two = "def total(xs):\n    s = 1\n    for x in xs:\n        s -= x\n    return s\n";
        let other_way = "def total(xs):\n    return sum(xs) + 1\n";
        let others = [("two", two), ("other", other_way), ("one", one)];
        let all = contrast(PASSING, &others, &ContrastOptions::default());
        assert_eq!(all.ids, ["two", "one"]);
        assert_eq!(all.segments.lines, BTreeSet::from([2, 4]));
        let nearest = contrast(
            PASSING,
            &others,
            &ContrastOptions {
                mode: ContrastMode::Nearest,
                ..ContrastOptions::default()
            },
        );
        assert_eq!(nearest.ids, ["one"]);
        assert_eq!(nearest.segments.lines, BTreeSet::from([2]));
    }

    #[test]
    fn mutant_candidates_name_their_origin() {
        let mutants = mutant_candidates("p", "p#reference", PASSING, 3, 0);
        assert_eq!(mutants.len(), 3);
        for m in &mutants {
            assert_ne!(m.code, PASSING);
            assert_eq!(m.mutation.as_ref().unwrap().origin, "p#reference");
            assert!(m.sample_id.starts_with("p#reference#mutant"));
        }
    }
}
