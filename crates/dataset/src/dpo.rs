//! DPO pairs: chosen = a passing program, rejected = a failing one, for the same prompt, in
//! TRL's columns (`prompt`, `chosen`, `rejected`: `chosen`/`rejected` are completions of
//! `prompt`, see [`crate::completion`]) plus masks of where they differ.
//!
//! Pairing ([`Pairing`]): `nearest` pairs every failing program with the passing program
//! nearest to it by token edit distance (insertions and deletions of tree-sitter tokens, so
//! formatting and comments are free); `all` pairs every passing with every failing program;
//! `random` draws up to `max_pairs` of those per problem, seeded. A problem with failing
//! programs and no passing one pairs them with its reference solution (`<id>#reference`).
//!
//! Masks, one entry per character of the completion (or per token of `chosen_input_ids` /
//! `rejected_input_ids` with a tokenizer, the end-of-sequence token 0): `chosen_diff_mask`
//! and `rejected_diff_mask` are 1 on the tokens the diff finds changed on that side;
//! `rejected_fault_mask` (with fault reports) is 1 on the content of the rejected program's
//! most suspicious lines: the top `fault_lines` by score, ties included, score above 0.

use serde::Serialize;
use tracealign_core::sample::reference_id;
use tracealign_core::stats::mean;
use tracealign_core::FaultReport;
use tracealign_localize::diff::common_subsequence;
use tracealign_localize::program::Program;

use crate::align::Aligner;
use crate::completion::Split;
use crate::corpus::{Corpus, Group};
use crate::error::{DatasetError, Result};
use crate::lines::LineIndex;
use crate::rows::mask;
use crate::sensitive::Segments;

/// Which passing and failing programs make pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pairing {
    /// Each failing program with its nearest passing program.
    #[default]
    Nearest,
    /// Every passing with every failing program.
    All,
    /// Up to `max_pairs` pairs per problem drawn from all of them.
    Random { max_pairs: usize, seed: u64 },
}

/// How pairs are made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DpoOptions {
    /// Default: [`Pairing::Nearest`].
    pub pairing: Pairing,
    /// How many of the most suspicious lines the fault mask covers (ties included). Default: 1.
    pub fault_lines: usize,
}

impl Default for DpoOptions {
    fn default() -> Self {
        DpoOptions {
            pairing: Pairing::Nearest,
            fault_lines: 1,
        }
    }
}

/// One preference pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DpoRow {
    pub problem_id: String,
    pub chosen_id: String,
    pub rejected_id: String,
    pub prompt: String,
    pub chosen: String,
    pub rejected: String,
    /// Token edit distance between the two programs.
    pub distance: usize,
    pub chosen_diff_mask: Vec<u8>,
    pub rejected_diff_mask: Vec<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_fault_mask: Option<Vec<u8>>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<DpoTokens>,
}

/// TRL's tokenized DPO columns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DpoTokens {
    pub prompt_input_ids: Vec<u32>,
    pub chosen_input_ids: Vec<u32>,
    pub rejected_input_ids: Vec<u32>,
}

/// What a build produced.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DpoSummary {
    pub pairs: usize,
    /// Pairs whose chosen program is a problem's reference because no sample passed.
    pub with_reference: usize,
    /// Rejected programs with no fault report although reports were given (their fault
    /// mask is all 0).
    pub without_report: usize,
    /// The mean share of rejected characters (or tokens) under the diff mask.
    pub mean_rejected_masked: f64,
    /// Pairs with a side that restated the prompt as a whole program: both sides are cut
    /// after the prompt, so neither is preferred for its format.
    pub restated: usize,
}

/// A program that can be paired.
struct Side<'a> {
    id: &'a str,
    code: &'a str,
    tokens: Vec<String>,
    fault: Option<&'a FaultReport>,
}

impl<'a> Side<'a> {
    fn new(id: &'a str, code: &'a str, fault: Option<&'a FaultReport>) -> Side<'a> {
        let tokens = Program::parse(code)
            .tokens()
            .into_iter()
            .map(|t| t.text)
            .collect();
        Side {
            id,
            code,
            tokens,
            fault,
        }
    }

    fn distance(&self, other: &Side) -> usize {
        let common = common_subsequence(&self.tokens, &other.tokens).len();
        self.tokens.len() + other.tokens.len() - 2 * common
    }
}

/// Pairs for every problem of the corpus.
pub fn build(
    corpus: &Corpus,
    options: &DpoOptions,
    aligner: Option<&Aligner>,
) -> Result<(Vec<DpoRow>, DpoSummary)> {
    if let Pairing::Random { max_pairs: 0, .. } = options.pairing {
        return Err(DatasetError::InvalidOption {
            option: "--max-pairs",
            expected: "at least 1",
            value: "0".into(),
        });
    }
    if options.fault_lines == 0 {
        return Err(DatasetError::InvalidOption {
            option: "--fault-lines",
            expected: "at least 1",
            value: "0".into(),
        });
    }
    let mut rows = Vec::new();
    let mut summary = DpoSummary::default();
    for (k, group) in corpus.groups.iter().enumerate() {
        let reference = reference_id(&group.problem.id);
        let chosen = chosen_sides(group, &reference);
        let rejected: Vec<Side> = group
            .failing
            .iter()
            .map(|e| Side::new(&e.sample_id, &e.code, corpus.fault(e)))
            .collect();
        for (c, r, distance) in pairs(&chosen, &rejected, options.pairing, k as u64) {
            let row = row(
                group,
                &chosen[c],
                &rejected[r],
                distance,
                corpus,
                options,
                aligner,
            )?;
            let prompt = &group.problem.prompt;
            let restated = |side: &Side| Split::of(prompt, side.code).restated(prompt);
            summary.restated += usize::from(restated(&chosen[c]) || restated(&rejected[r]));
            summary.with_reference += usize::from(group.passing.is_empty());
            summary.without_report +=
                usize::from(corpus.has_faults() && rejected[r].fault.is_none());
            summary.mean_rejected_masked += mean(&row.rejected_diff_mask);
            rows.push(row);
        }
    }
    summary.pairs = rows.len();
    if summary.pairs > 0 {
        summary.mean_rejected_masked /= summary.pairs as f64;
    }
    Ok((rows, summary))
}

/// The passing programs, or the reference solution when none passed.
fn chosen_sides<'a>(group: &Group<'a>, reference_id: &'a str) -> Vec<Side<'a>> {
    if group.passing.is_empty() {
        return vec![Side::new(reference_id, &group.problem.reference, None)];
    }
    group
        .passing
        .iter()
        .map(|e| Side::new(&e.sample_id, &e.code, None))
        .collect()
}

/// `(chosen, rejected, distance)` index pairs.
fn pairs(
    chosen: &[Side],
    rejected: &[Side],
    pairing: Pairing,
    salt: u64,
) -> Vec<(usize, usize, usize)> {
    match pairing {
        Pairing::Nearest => rejected
            .iter()
            .enumerate()
            .filter_map(|(r, side)| {
                chosen
                    .iter()
                    .enumerate()
                    .map(|(c, other)| (c, r, other.distance(side)))
                    .min_by_key(|&(_, _, d)| d)
            })
            .collect(),
        Pairing::All => all_pairs(chosen, rejected),
        Pairing::Random { max_pairs, seed } => {
            let mut all = all_pairs(chosen, rejected);
            shuffle(&mut all, seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            all.truncate(max_pairs);
            all
        }
    }
}

fn all_pairs(chosen: &[Side], rejected: &[Side]) -> Vec<(usize, usize, usize)> {
    chosen
        .iter()
        .enumerate()
        .flat_map(|(c, a)| {
            rejected
                .iter()
                .enumerate()
                .map(move |(r, b)| (c, r, a.distance(b)))
        })
        .collect()
}

fn row(
    group: &Group,
    chosen: &Side,
    rejected: &Side,
    distance: usize,
    corpus: &Corpus,
    options: &DpoOptions,
    aligner: Option<&Aligner>,
) -> Result<DpoRow> {
    let prompt = &group.problem.prompt;
    let (good, bad) = (
        Split::of(prompt, chosen.code),
        Split::of(prompt, rejected.code),
    );
    let bad_index = LineIndex::new(rejected.code);
    let chosen_diff = good.cut(
        &Segments::between(chosen.code, rejected.code).token_mask(&LineIndex::new(chosen.code)),
    );
    let rejected_diff =
        bad.cut(&Segments::between(rejected.code, chosen.code).token_mask(&bad_index));
    let fault = corpus
        .has_faults()
        .then(|| bad.cut(&fault_mask(rejected.fault, options.fault_lines, &bad_index)));
    let mut row = DpoRow {
        problem_id: group.problem.id.clone(),
        chosen_id: chosen.id.to_string(),
        rejected_id: rejected.id.to_string(),
        prompt: prompt.clone(),
        chosen: good.completion.to_string(),
        rejected: bad.completion.to_string(),
        distance,
        chosen_diff_mask: mask(&chosen_diff),
        rejected_diff_mask: mask(&rejected_diff),
        rejected_fault_mask: fault.as_deref().map(mask),
        tokens: None,
    };
    if let Some(aligner) = aligner {
        tokenize(
            &mut row,
            aligner,
            &chosen_diff,
            &rejected_diff,
            fault.as_deref(),
        )?;
    }
    Ok(row)
}

/// Replaces the character masks by token masks and adds the token ids.
fn tokenize(
    row: &mut DpoRow,
    aligner: &Aligner,
    chosen_diff: &[f64],
    rejected_diff: &[f64],
    fault: Option<&[f64]>,
) -> Result<()> {
    let prompt_input_ids = aligner
        .encode(&row.prompt, true)
        .map_err(|e| e.at(&row.rejected_id, "prompt"))?
        .ids;
    let (chosen_input_ids, chosen_mask) = aligner
        .completion(&row.chosen, chosen_diff, 0.0)
        .map_err(|e| e.at(&row.chosen_id, "completion"))?;
    let (rejected_input_ids, rejected_mask) = aligner
        .completion(&row.rejected, rejected_diff, 0.0)
        .map_err(|e| e.at(&row.rejected_id, "completion"))?;
    if let Some(fault) = fault {
        let (_, fault_mask) = aligner
            .completion(&row.rejected, fault, 0.0)
            .map_err(|e| e.at(&row.rejected_id, "completion"))?;
        row.rejected_fault_mask = Some(mask(&fault_mask));
    }
    row.chosen_diff_mask = mask(&chosen_mask);
    row.rejected_diff_mask = mask(&rejected_mask);
    row.tokens = Some(DpoTokens {
        prompt_input_ids,
        chosen_input_ids,
        rejected_input_ids,
    });
    Ok(())
}

/// 1 on the content of the report's `top` most suspicious lines (ties included, score > 0).
fn fault_mask(report: Option<&FaultReport>, top: usize, index: &LineIndex) -> Vec<f64> {
    let mut values = vec![0.0; index.chars()];
    let Some(report) = report else {
        return values;
    };
    for line in report.most_suspicious(top) {
        values[index.content(line)].fill(1.0);
    }
    values
}

/// A seeded Fisher–Yates shuffle on SplitMix64: the same seed, the same pairs, everywhere.
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for i in (1..items.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_pairs_each_failing_program_with_the_closest_passing_one() {
        let near = "def f(x):\n    return x + 1\n";
        let far = "def f(x):\n    y = x\n    y = y + 1\n    return y\n";
        let bad = "def f(x):\n    return x - 1\n";
        let chosen = [Side::new("far", far, None), Side::new("near", near, None)];
        let rejected = [Side::new("bad", bad, None)];
        assert_eq!(
            pairs(&chosen, &rejected, Pairing::Nearest, 0),
            vec![(1, 0, 2)]
        );
        assert_eq!(pairs(&chosen, &rejected, Pairing::All, 0).len(), 2);
        let random = Pairing::Random {
            max_pairs: 1,
            seed: 7,
        };
        let drawn = pairs(&chosen, &rejected, random, 0);
        assert_eq!(drawn.len(), 1);
        assert_eq!(drawn, pairs(&chosen, &rejected, random, 0), "seeded");
    }

    #[test]
    fn the_fault_mask_covers_the_top_lines_with_ties() {
        let code = "def f(x):\n    y = x\n    return y\n";
        let line = |line, score| tracealign_core::LineFault {
            line,
            score,
            signals: vec![],
        };
        let report = FaultReport {
            problem_id: "p".into(),
            sample_id: "s".into(),
            model: None,
            method: "combined".into(),
            passed: false,
            code: code.into(),
            lines: vec![line(2, 0.5), line(3, 0.5), line(1, 0.0)],
            spans: vec![],
        };
        let index = LineIndex::new(code);
        let values = fault_mask(Some(&report), 1, &index);
        let masked: String = code
            .chars()
            .zip(&values)
            .filter(|(_, &v)| v > 0.0)
            .map(|(c, _)| c)
            .collect();
        assert_eq!(masked, "y = xreturn y");
        assert!(fault_mask(None, 1, &index).iter().all(|&v| v == 0.0));
    }
}
