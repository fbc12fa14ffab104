//! The `build` steps: SFT, DPO, repair and reward rows from executions (and fault reports),
//! through tracealign-dataset. Each returns its rows with a summary people can read
//! (`Display`), which says why when there are none.
//!
//! SFT rows are the passing programs: a problem whose runs hold only failing programs gets
//! its reference solution as the passing program (said in the summary), as DPO and repair
//! rows already take it as the chosen program and the fix.

use std::collections::{HashMap, HashSet};
use std::fmt;

use tracealign_core::formats::faults::Faults;
use tracealign_core::sample::reference_id;
use tracealign_core::{Execution, Problem, Sample};
use tracealign_dataset::dpo::{self, DpoOptions, DpoRow, DpoSummary};
use tracealign_dataset::repair::{self, RepairOptions, RepairRow, RepairSummary, Representation};
use tracealign_dataset::rewards::{self, RewardOptions, RewardRow, RewardSummary};
use tracealign_dataset::sft::{self, SftOptions, SftRow, SftSummary};
use tracealign_dataset::{Aligner, Corpus, DatasetError};
use tracealign_exec::{ExecError, TraceMode};

use crate::workers::{evaluate, Workers};

/// What every builder reads.
pub struct RowInputs<'a> {
    pub problems: &'a [Problem],
    pub executions: &'a [Execution],
    pub faults: Option<&'a Faults>,
    /// Per-token columns when given; per-character weights otherwise.
    pub aligner: Option<&'a Aligner>,
}

impl RowInputs<'_> {
    fn unit(&self) -> &'static str {
        match self.aligner {
            Some(_) => "tokens",
            None => "characters",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Exec(#[from] ExecError),
}

/// Rows of one kind and what building them found.
#[derive(Debug)]
pub struct Built<R, S> {
    pub rows: Vec<R>,
    pub summary: S,
    /// `tokens` or `characters`: what per-position columns count.
    pub unit: &'static str,
    /// Problems whose reference solution stood in for a passing program (SFT only).
    pub references_added: usize,
}

/// How SFT rows are made: the weights, and killed mutants for passing programs with no
/// similar failing one.
#[derive(Debug, Clone)]
pub struct SftSettings {
    pub options: SftOptions,
    /// Killed mutants per such program (0: none).
    pub mutants: usize,
    /// Use the mutant candidates without running them (untested: some may be equivalent).
    pub run_mutants: bool,
    pub seed: u64,
}

/// One weighted row per passing program (or reference solution standing in for one).
pub fn sft_rows(
    inputs: &RowInputs,
    settings: &SftSettings,
    workers: &Workers,
) -> Result<Built<SftRow, SftSummary>, BuildError> {
    let references = missing_references(inputs.problems, inputs.executions);
    let corpus =
        Corpus::new(inputs.problems, inputs.executions, inputs.faults)?.with_passing(&references);
    let options = &settings.options;
    let mutants = match (settings.mutants, settings.run_mutants) {
        (0, _) => Vec::new(),
        (n, false) => sft::mutant_requests(&corpus, options, n, settings.seed),
        (n, true) => {
            let requests = sft::mutant_requests(&corpus, options, 2 * n, settings.seed);
            killed(workers, inputs.problems, requests, n)?
        }
    };
    let (rows, summary) = sft::build(&corpus, options, &mutants, inputs.aligner)?;
    Ok(Built {
        rows,
        summary,
        unit: inputs.unit(),
        references_added: references.len(),
    })
}

/// The reference solutions of problems whose executions hold failing programs only, as
/// passing executions (the reference passes every test: preparing a problem checks it).
fn missing_references(problems: &[Problem], executions: &[Execution]) -> Vec<Execution> {
    let passing: HashSet<&str> = (executions.iter().filter(|e| e.passed))
        .map(|e| e.problem_id.as_str())
        .collect();
    let failing: HashSet<&str> = (executions.iter().filter(|e| !e.passed))
        .map(|e| e.problem_id.as_str())
        .collect();
    problems
        .iter()
        .filter(|p| failing.contains(p.id.as_str()) && !passing.contains(p.id.as_str()))
        .map(|p| Execution::with_outcomes(&p.id, &reference_id(&p.id), &p.reference, &[]))
        .collect()
}

/// The mutants some test kills, at most `per_origin` per program they were made from.
fn killed(
    workers: &Workers,
    problems: &[Problem],
    requests: Vec<Sample>,
    per_origin: usize,
) -> Result<Vec<Sample>, ExecError> {
    if requests.is_empty() {
        return Ok(requests);
    }
    let needed: HashSet<&str> = requests.iter().map(|s| s.problem_id.as_str()).collect();
    let problems: Vec<Problem> = (problems.iter())
        .filter(|p| needed.contains(p.id.as_str()))
        .cloned()
        .collect();
    let executor = workers.start(TraceMode::None)?;
    let prepared = workers.prepare(&executor, &problems)?;
    let mut failed = HashSet::new();
    evaluate(
        &executor,
        &prepared,
        &requests,
        "mutants",
        workers.progress,
        |e| {
            if !e.passed {
                failed.insert(e.sample_id);
            }
        },
    );
    let mut kept: HashMap<String, usize> = HashMap::new();
    Ok(requests
        .into_iter()
        .filter(|s| failed.contains(&s.sample_id))
        .filter(|s| {
            let origin = s.mutation.as_ref().map_or("", |m| m.origin.as_str());
            let count = kept.entry(origin.to_string()).or_default();
            *count += 1;
            *count <= per_origin
        })
        .collect())
}

/// Preference pairs: passing (or reference) programs over failing ones, with fault masks.
pub fn dpo_rows(
    inputs: &RowInputs,
    options: &DpoOptions,
) -> Result<Built<DpoRow, DpoSummary>, BuildError> {
    let corpus = Corpus::new(inputs.problems, inputs.executions, inputs.faults)?;
    let (rows, summary) = dpo::build(&corpus, options, inputs.aligner)?;
    Ok(built(rows, summary, inputs))
}

/// Repair prompts with their fixes, in each representation asked for.
pub fn repair_rows(
    inputs: &RowInputs,
    options: &RepairOptions,
) -> Result<Built<RepairRow, RepairReport>, BuildError> {
    let corpus = Corpus::new(inputs.problems, inputs.executions, inputs.faults)?;
    let (rows, summary) = repair::build(&corpus, options, inputs.aligner)?;
    let report = RepairReport {
        summary,
        options: options.clone(),
    };
    Ok(built(rows, report, inputs))
}

/// A repair build's summary with the options it read (what it reports depends on them).
#[derive(Debug)]
pub struct RepairReport {
    pub summary: RepairSummary,
    pub options: RepairOptions,
}

/// Scores of every program under each scheme.
pub fn reward_rows(
    inputs: &RowInputs,
    options: &RewardOptions,
) -> Result<Built<RewardRow, RewardSummary>, BuildError> {
    let corpus = Corpus::new(inputs.problems, inputs.executions, inputs.faults)?;
    let (rows, summary) = rewards::build(&corpus, options, inputs.aligner)?;
    Ok(built(rows, summary, inputs))
}

fn built<R, S>(rows: Vec<R>, summary: S, inputs: &RowInputs) -> Built<R, S> {
    Built {
        rows,
        summary,
        unit: inputs.unit(),
        references_added: 0,
    }
}

/// Why a builder made no rows, from what its input holds.
fn why_none(f: &mut fmt::Formatter<'_>, what: &str, needs: &str, hint: &str) -> fmt::Result {
    writeln!(f, "  no {what}: {needs}")?;
    writeln!(f, "  hint: {hint}")
}

impl fmt::Display for Built<SftRow, SftSummary> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.summary;
        writeln!(f, "{} SFT rows", s.rows)?;
        if s.rows == 0 {
            return why_none(
                f,
                "rows",
                "an SFT row is a passing program, and the runs hold none (nor failing programs \
                 whose problem's reference solution could stand in)",
                "pass --runs with executions of samples (`tracealign run -s SAMPLES`)",
            );
        }
        writeln!(
            f,
            "  weighted against failing programs {}, against killed mutants {}, uniform {}",
            s.from_failing, s.from_mutants, s.uniform
        )?;
        if s.restated + s.duplicates > 0 {
            writeln!(
                f,
                "  whole programs that restated the prompt, cut after it: {}; duplicates left out: {}",
                s.restated, s.duplicates
            )?;
        }
        if self.references_added > 0 {
            writeln!(
                f,
                "  reference solutions standing in for a passing program: {} problems",
                self.references_added
            )?;
        }
        writeln!(
            f,
            "  up-weighted: {:.1}% of completion {} on average",
            100.0 * s.mean_up_weighted,
            self.unit
        )
    }
}

impl fmt::Display for Built<DpoRow, DpoSummary> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.summary;
        writeln!(f, "{} DPO pairs", s.pairs)?;
        if s.pairs == 0 {
            return why_none(
                f,
                "pairs",
                "a pair needs a failing program (the rejected side), and the runs hold none",
                "pass --runs with executions of model samples or mutants, some of them failing",
            );
        }
        writeln!(
            f,
            "  chosen is the reference solution (no sample passed) in {}; rejected without a fault report {}",
            s.with_reference, s.without_report
        )?;
        if s.restated > 0 {
            writeln!(
                f,
                "  pairs with a whole program that restated the prompt (both sides cut after it): {}",
                s.restated
            )?;
        }
        writeln!(
            f,
            "  diff mask: {:.1}% of rejected {} on average",
            100.0 * s.mean_rejected_masked,
            self.unit
        )
    }
}

impl fmt::Display for Built<RepairRow, RepairReport> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, options) = (&self.summary.summary, &self.summary.options);
        let per: Vec<String> = (s.per_representation.iter())
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        writeln!(f, "{} repair rows ({})", s.rows, per.join(", "))?;
        let seen = s.with_trace + s.without_trace + s.over_budget + s.without_region;
        if s.rows == 0 && seen + s.without_report == 0 {
            return why_none(
                f,
                "rows",
                "a repair row is a failing program to fix, and the runs hold none",
                "pass --runs with failing executions; add --leave-alone for rows of passing programs",
            );
        }
        writeln!(
            f,
            "  no single region the fix rewrites (no markers/cloze row): {}",
            s.without_region
        )?;
        let asked = |r: Representation| options.representations.contains(&r);
        if asked(Representation::FlMarkers) {
            writeln!(
                f,
                "  no fault report with a suspicious line (no fl-markers row): {}",
                s.without_report
            )?;
        }
        if options.leave_alone {
            writeln!(
                f,
                "  passing programs left alone (unchanged rows): {}",
                s.unchanged
            )?;
        }
        if asked(Representation::Trace) {
            writeln!(
                f,
                "  trace prompts: {} with a trace, {} without one, {} over the {}-token budget left out",
                s.with_trace, s.without_trace, s.over_budget, options.budget
            )?;
        }
        if s.rows == 0 {
            let hint = match s.over_budget > 0 {
                true => "raise --budget, or ask for other representations (--repr)",
                false => "ask for other representations (--repr), or pass --faults for fl-markers",
            };
            why_none(
                f,
                "rows",
                "no failing program gave a row in the representations asked for (counts above)",
                hint,
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for Built<RewardRow, RewardSummary> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.summary;
        writeln!(f, "{} reward rows", s.rows)?;
        if s.rows == 0 {
            return why_none(
                f,
                "rows",
                "a reward row scores a program, and the runs hold none",
                "pass --runs with executions (`tracealign run`)",
            );
        }
        for (name, count, mean) in &s.per_scheme {
            writeln!(f, "  {name:<14} {count:>6} rows  mean {mean:+.3}")?;
        }
        if s.without_report > 0 {
            writeln!(
                f,
                "  programs without a fault report (no fault_penalty row): {}",
                s.without_report
            )?;
        }
        Ok(())
    }
}
