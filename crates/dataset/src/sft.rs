//! Weighted SFT rows, fault-aware (FAIT): every passing program is a row whose
//! error-sensitive segments — where it differs from similar failing programs of its problem
//! (see [`crate::contrast`]) — weigh more in the loss.
//!
//! A row's `weights` are `1 + alpha` on the tokens that differ, `1 + beta` on the rest of
//! their lines and 1 elsewhere ([`SensitiveWeights`]); one per character of the completion,
//! or, with a tokenizer, one per token of `input_ids` (0 over the prompt, where `labels` is
//! -100; see [`crate::align`]). With `normalize`, the trained weights are scaled to a mean of
//! 1, so the loss keeps its scale whatever share of a program is weighted.
//!
//! A passing program with no similar failing program is compared with killed mutants of
//! itself, when the caller supplies them (`mutation.origin` is the program's sample id), and
//! otherwise kept with uniform weights: it is still a correct program to train on.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use tracealign_core::{Execution, Sample};

use crate::align::Aligner;
use crate::completion::Split;
use crate::contrast::{contrast, mutant_candidates, Contrast, ContrastOptions};
use crate::corpus::{Corpus, Group};
use crate::error::Result;
use crate::lines::LineIndex;
use crate::rows::TokenColumns;
use crate::sensitive::SensitiveWeights;

/// How SFT rows are weighted.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SftOptions {
    pub weights: SensitiveWeights,
    /// Scale trained weights to a mean of 1. Default: off.
    pub normalize: bool,
    pub contrast: ContrastOptions,
}

/// One training row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SftRow {
    pub problem_id: String,
    pub sample_id: String,
    pub prompt: String,
    pub completion: String,
    /// Per completion character, or per token of `input_ids` with a tokenizer.
    pub weights: Vec<f64>,
    /// What the weights come from: `failing` programs, `mutants`, or `none` (uniform).
    pub contrast: &'static str,
    /// The sample ids of the programs compared with.
    pub contrast_ids: Vec<String>,
    /// 1-based program lines holding error-sensitive segments.
    pub sensitive_lines: Vec<u32>,
    /// The share of trained characters (or tokens) weighted above 1, before normalizing.
    pub up_weighted: f64,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenColumns>,
}

/// What a build produced, for the closing summary.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SftSummary {
    pub rows: usize,
    /// Rows weighted against failing programs, against mutants, and not weighted.
    pub from_failing: usize,
    pub from_mutants: usize,
    pub uniform: usize,
    /// The mean of the rows' `up_weighted`.
    pub mean_up_weighted: f64,
    /// Rows of whole programs that restated the prompt, cut after the restatement.
    pub restated: usize,
    /// Passing programs left out because an earlier one of the same problem had the same
    /// completion.
    pub duplicates: usize,
}

/// The passing programs that have no similar failing program, with up to `count` mutant
/// candidates of each (see [`mutant_candidates`]); run them and pass the killed ones to
/// [`build`].
pub fn mutant_requests(
    corpus: &Corpus,
    options: &SftOptions,
    count: usize,
    seed: u64,
) -> Vec<Sample> {
    let mut requests = Vec::new();
    for group in &corpus.groups {
        for passing in &group.passing {
            if against_failing(passing, group, options).ids.is_empty() {
                requests.extend(mutant_candidates(
                    &group.problem.id,
                    &passing.sample_id,
                    &passing.code,
                    count,
                    seed,
                ));
            }
        }
    }
    requests
}

/// One row per passing program, weighted against similar failing programs of its problem,
/// else against the `mutants` whose origin it is.
pub fn build(
    corpus: &Corpus,
    options: &SftOptions,
    mutants: &[Sample],
    aligner: Option<&Aligner>,
) -> Result<(Vec<SftRow>, SftSummary)> {
    let mut by_origin: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
    for mutant in mutants {
        if let Some(fault) = &mutant.mutation {
            by_origin
                .entry(fault.origin.as_str())
                .or_default()
                .push((mutant.sample_id.as_str(), mutant.code.as_str()));
        }
    }
    let mut rows = Vec::new();
    let mut summary = SftSummary::default();
    let mut seen: HashSet<(&str, &str)> = HashSet::new();
    for group in &corpus.groups {
        for passing in &group.passing {
            let mut found = against_failing(passing, group, options);
            let mut source = "failing";
            if found.ids.is_empty() {
                let candidates = by_origin.get(passing.sample_id.as_str());
                found = contrast(
                    &passing.code,
                    candidates.map_or(&[][..], Vec::as_slice),
                    &options.contrast,
                );
                source = if found.ids.is_empty() {
                    "none"
                } else {
                    "mutants"
                };
            }
            let split = Split::of(&group.problem.prompt, &passing.code);
            if !seen.insert((group.problem.id.as_str(), split.completion)) {
                summary.duplicates += 1;
                continue;
            }
            summary.restated += usize::from(split.restated(&group.problem.prompt));
            let row = row(group, passing, found, source, options, aligner)?;
            match row.contrast {
                "failing" => summary.from_failing += 1,
                "mutants" => summary.from_mutants += 1,
                _ => summary.uniform += 1,
            }
            summary.mean_up_weighted += row.up_weighted;
            rows.push(row);
        }
    }
    summary.rows = rows.len();
    if summary.rows > 0 {
        summary.mean_up_weighted /= summary.rows as f64;
    }
    Ok((rows, summary))
}

fn against_failing(passing: &Execution, group: &Group, options: &SftOptions) -> Contrast {
    let failing: Vec<(&str, &str)> = group
        .failing
        .iter()
        .map(|e| (e.sample_id.as_str(), e.code.as_str()))
        .collect();
    contrast(&passing.code, &failing, &options.contrast)
}

fn row(
    group: &Group,
    passing: &Execution,
    found: Contrast,
    source: &'static str,
    options: &SftOptions,
    aligner: Option<&Aligner>,
) -> Result<SftRow> {
    let split = Split::of(&group.problem.prompt, &passing.code);
    let index = LineIndex::new(&passing.code);
    let char_weights = split.cut(&found.segments.weights(&index, &options.weights));
    let (tokens, mut weights) = match aligner {
        Some(aligner) => {
            let sequence = aligner
                .sequence(split.prompt, split.completion, &char_weights, 1.0)
                .map_err(|e| e.at(&passing.sample_id, "program"))?;
            let (columns, values) = TokenColumns::split(sequence);
            (Some(columns), values)
        }
        None => (None, char_weights),
    };
    let trained = |k: usize| tokens.as_ref().is_none_or(|t| t.labels[k] >= 0);
    let up_weighted = share(&weights, |k, w| trained(k).then_some(w > 1.0));
    if options.normalize {
        normalize(&mut weights, trained);
    }
    Ok(SftRow {
        problem_id: group.problem.id.clone(),
        sample_id: passing.sample_id.clone(),
        prompt: split.prompt.to_string(),
        completion: split.completion.to_string(),
        weights,
        contrast: source,
        contrast_ids: found.ids,
        sensitive_lines: found.segments.lines.into_iter().collect(),
        up_weighted,
        tokens,
    })
}

/// The share of the counted entries (those `test` answers for) that it answers true for.
fn share(values: &[f64], test: impl Fn(usize, f64) -> Option<bool>) -> f64 {
    let (mut yes, mut counted) = (0usize, 0usize);
    for (k, &v) in values.iter().enumerate() {
        if let Some(answer) = test(k, v) {
            counted += 1;
            yes += usize::from(answer);
        }
    }
    if counted == 0 {
        0.0
    } else {
        yes as f64 / counted as f64
    }
}

/// Scales the trained entries to a mean of 1.
fn normalize(weights: &mut [f64], trained: impl Fn(usize) -> bool) {
    let (sum, count) = weights
        .iter()
        .enumerate()
        .filter(|&(k, _)| trained(k))
        .fold((0.0, 0usize), |(s, c), (_, &w)| (s + w, c + 1));
    if count == 0 || sum <= 0.0 {
        return;
    }
    let mean = sum / count as f64;
    for (k, w) in weights.iter_mut().enumerate() {
        if trained(k) {
            *w /= mean;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizing_keeps_untrained_entries_and_sets_the_mean_to_one() {
        let mut weights = vec![0.0, 2.0, 1.0, 1.0, 2.0];
        normalize(&mut weights, |k| k > 0);
        assert_eq!(weights[0], 0.0);
        let mean: f64 = weights[1..].iter().sum::<f64>() / 4.0;
        assert!((mean - 1.0).abs() < 1e-12);
        assert!(
            (share(&[0.0, 2.0, 1.0, 1.0], |k, w| (k > 0).then_some(w > 1.0)) - 1.0 / 3.0).abs()
                < 1e-12
        );
    }
}
