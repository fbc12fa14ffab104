//! `tracealign build KIND`: training data from a runs file (and fault reports), through
//! tracealign-dataset. One shape for every builder: `--problems P --runs RUNS [--faults F]
//! [--tokenizer T] -o OUT`. The only programs run here are the mutants the SFT builder asks
//! for when a passing program has no similar failing one.

use std::collections::{HashMap, HashSet};

use anyhow::{bail, Context, Result};
use tracealign_core::formats::runs::read_runs;
use tracealign_core::{Execution, Problem, Sample};
use tracealign_dataset::contrast::{ContrastMode, ContrastOptions};
use tracealign_dataset::dpo::{self, DpoOptions, Pairing};
use tracealign_dataset::repair::{self, RepairOptions, Representation};
use tracealign_dataset::rewards::{self, RewardOptions, Scheme};
use tracealign_dataset::rows::write_jsonl;
use tracealign_dataset::sft::{self, SftOptions};
use tracealign_dataset::{read_faults, Aligner, Corpus, Faults, SensitiveWeights};
use tracealign_exec::{Executor, TraceMode};
use tracealign_trace::render::Style;

use crate::args::{
    BuildCommand, BuildDpoArgs, BuildInputs, BuildRepairArgs, BuildRewardsArgs, BuildSftArgs,
    ContrastArg, FaitArgs, PairingArg, ReprArg, SchemeArg,
};
use crate::commands::run::problem_set;
use crate::commands::workers::{exec_config, prepare, warn_about_isolation};
use crate::printer;

pub fn build(command: BuildCommand) -> Result<()> {
    match command {
        BuildCommand::Sft(args) => build_sft(args),
        BuildCommand::Dpo(args) => build_dpo(args),
        BuildCommand::Repair(args) => build_repair(args),
        BuildCommand::Rewards(args) => build_rewards(args),
    }
}

/// The inputs of a build, read and checked.
struct Inputs {
    problems: Vec<Problem>,
    executions: Vec<Execution>,
    faults: Option<Faults>,
    aligner: Option<Aligner>,
}

impl Inputs {
    fn load(args: &BuildInputs) -> Result<Inputs> {
        let problems = problem_set(args.problems.as_deref(), args.format)?;
        let executions = read_runs(&args.runs)?;
        let faults = args.faults.as_deref().map(read_faults).transpose()?;
        let aligner = match &args.tokenizer {
            Some(path) => {
                let aligner = Aligner::from_file(path)?;
                Some(match &args.eos_token {
                    Some(token) => aligner.with_eos(token)?,
                    None => aligner,
                })
            }
            None => None,
        };
        Ok(Inputs {
            problems,
            executions,
            faults,
            aligner,
        })
    }

    fn corpus(&self, args: &BuildInputs) -> Result<Corpus<'_>> {
        Corpus::new(&self.problems, &self.executions, self.faults.as_ref())
            .with_context(|| format!("{}", args.runs.display()))
    }

    /// What per-position columns are counted in.
    fn unit(&self) -> &'static str {
        if self.aligner.is_some() {
            "tokens"
        } else {
            "characters"
        }
    }
}

fn build_sft(args: BuildSftArgs) -> Result<()> {
    let inputs = Inputs::load(&args.inputs)?;
    let corpus = inputs.corpus(&args.inputs)?;
    let options = SftOptions {
        weights: weights(&args.fait)?,
        normalize: args.normalize,
        contrast: contrast(&args.fait)?,
    };
    let mutants = if args.mutants == 0 {
        Vec::new()
    } else if args.no_run_mutants {
        sft::mutant_requests(&corpus, &options, args.mutants, args.seed)
    } else {
        let requests = sft::mutant_requests(&corpus, &options, 2 * args.mutants, args.seed);
        killed(&args, &inputs.problems, requests)?
    };
    let (rows, summary) = sft::build(&corpus, &options, &mutants, inputs.aligner.as_ref())?;
    write_jsonl(&args.inputs.output, &rows)?;
    println!(
        "{} SFT rows → {}",
        summary.rows,
        args.inputs.output.display()
    );
    println!(
        "  weighted against failing programs {}, against killed mutants {}, uniform {}",
        summary.from_failing, summary.from_mutants, summary.uniform
    );
    println!(
        "  up-weighted: {:.1}% of completion {} on average",
        100.0 * summary.mean_up_weighted,
        inputs.unit()
    );
    Ok(())
}

/// The mutants some test kills, at most `--mutants` per program they were made from.
fn killed(args: &BuildSftArgs, problems: &[Problem], requests: Vec<Sample>) -> Result<Vec<Sample>> {
    if requests.is_empty() {
        return Ok(requests);
    }
    let needed: HashSet<&str> = requests.iter().map(|s| s.problem_id.as_str()).collect();
    let problems: Vec<Problem> = problems
        .iter()
        .filter(|p| needed.contains(p.id.as_str()))
        .cloned()
        .collect();
    let executor = Executor::start(exec_config(&args.exec, TraceMode::None)?)?;
    warn_about_isolation(&executor);
    let prepared = prepare(&executor, &args.exec, &problems, args.inputs.quiet)?;
    let bar = printer::progress(requests.len(), "mutants", args.inputs.quiet);
    let mut failed = HashSet::new();
    executor.run(&prepared, &requests, |execution| {
        bar.inc(1);
        if !execution.passed {
            failed.insert(execution.sample_id);
        }
    });
    bar.finish_and_clear();
    let mut kept: HashMap<String, usize> = HashMap::new();
    Ok(requests
        .into_iter()
        .filter(|s| failed.contains(&s.sample_id))
        .filter(|s| {
            let origin = s.mutation.as_ref().map_or("", |m| m.origin.as_str());
            let count = kept.entry(origin.to_string()).or_default();
            *count += 1;
            *count <= args.mutants
        })
        .collect())
}

fn build_dpo(args: BuildDpoArgs) -> Result<()> {
    let pairing = match (args.pairing, args.max_pairs) {
        (PairingArg::Nearest, None) => Pairing::Nearest,
        (PairingArg::All, None) => Pairing::All,
        (PairingArg::Random, Some(max_pairs)) => Pairing::Random {
            max_pairs,
            seed: args.seed,
        },
        (PairingArg::Random, None) => bail!("--pairing random needs --max-pairs K"),
        (_, Some(_)) => bail!("--max-pairs goes with --pairing random"),
    };
    let inputs = Inputs::load(&args.inputs)?;
    let corpus = inputs.corpus(&args.inputs)?;
    let options = DpoOptions {
        pairing,
        fault_lines: args.fault_lines,
    };
    let (rows, summary) = dpo::build(&corpus, &options, inputs.aligner.as_ref())?;
    write_jsonl(&args.inputs.output, &rows)?;
    println!(
        "{} DPO pairs → {}",
        summary.pairs,
        args.inputs.output.display()
    );
    println!(
        "  chosen is the reference solution (no sample passed) in {}; rejected without a fault report {}",
        summary.with_reference, summary.without_report
    );
    println!(
        "  diff mask: {:.1}% of rejected {} on average",
        100.0 * summary.mean_rejected_masked,
        inputs.unit()
    );
    Ok(())
}

fn build_repair(args: BuildRepairArgs) -> Result<()> {
    let style: Style = args.style.parse().map_err(|_| {
        anyhow::anyhow!(
            "unknown --style `{}`; expected lines, blocks, inline or summary",
            args.style
        )
    })?;
    let mut representations: Vec<Representation> = Vec::new();
    for arg in &args.representations {
        let representation = match arg {
            ReprArg::Markers => Representation::Markers,
            ReprArg::Cloze => Representation::Cloze,
            ReprArg::Trace => Representation::Trace,
            ReprArg::Feedback => Representation::Feedback,
            ReprArg::FlMarkers => Representation::FlMarkers,
        };
        if !representations.contains(&representation) {
            representations.push(representation);
        }
    }
    if representations.contains(&Representation::FlMarkers) && args.inputs.faults.is_none() {
        anyhow::bail!(
            "--repr fl-markers marks the lines fault reports find suspicious; \
             hint: pass them with --faults (from `tracealign localize`)"
        );
    }
    let inputs = Inputs::load(&args.inputs)?;
    let corpus = inputs.corpus(&args.inputs)?;
    let options = RepairOptions {
        representations,
        style,
        budget: args.budget,
        leave_alone: args.leave_alone,
        fl_lines: args.fl_lines,
    };
    let (rows, summary) = repair::build(&corpus, &options, inputs.aligner.as_ref())?;
    write_jsonl(&args.inputs.output, &rows)?;
    let per: Vec<String> = summary
        .per_representation
        .iter()
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    println!(
        "{} repair rows → {} ({})",
        summary.rows,
        args.inputs.output.display(),
        per.join(", ")
    );
    println!(
        "  no single region the fix rewrites (no markers/cloze row): {}",
        summary.without_region
    );
    if options.representations.contains(&Representation::FlMarkers) {
        println!(
            "  no fault report with a suspicious line (no fl-markers row): {}",
            summary.without_report
        );
    }
    if options.leave_alone {
        println!(
            "  passing programs left alone (unchanged rows): {}",
            summary.unchanged
        );
    }
    if options.representations.contains(&Representation::Trace) {
        println!(
            "  trace prompts: {} with a trace, {} without one, {} over the {}-token budget left out",
            summary.with_trace, summary.without_trace, summary.over_budget, options.budget
        );
    }
    Ok(())
}

fn build_rewards(args: BuildRewardsArgs) -> Result<()> {
    let inputs = Inputs::load(&args.inputs)?;
    let corpus = inputs.corpus(&args.inputs)?;
    let schemes: Vec<Scheme> = if args.schemes.is_empty() {
        Scheme::ALL
            .into_iter()
            .filter(|&s| s != Scheme::FaultPenalty || corpus.has_faults())
            .collect()
    } else {
        let mut chosen = Vec::new();
        for scheme in args.schemes.iter().map(|&s| scheme(s)) {
            if !chosen.contains(&scheme) {
                chosen.push(scheme);
            }
        }
        chosen
    };
    let options = RewardOptions {
        schemes,
        weights: weights(&args.fait)?,
        contrast: contrast(&args.fait)?,
    };
    let (rows, summary) = rewards::build(&corpus, &options, inputs.aligner.as_ref())?;
    write_jsonl(&args.inputs.output, &rows)?;
    println!(
        "{} reward rows → {}",
        summary.rows,
        args.inputs.output.display()
    );
    for (name, count, mean) in &summary.per_scheme {
        println!("  {name:<14} {count:>6} rows  mean {mean:+.3}");
    }
    if !corpus.has_faults() && args.schemes.is_empty() {
        println!("  (fault_penalty needs --faults)");
    } else if summary.without_report > 0 {
        println!(
            "  programs without a fault report (no fault_penalty row): {}",
            summary.without_report
        );
    }
    Ok(())
}

fn scheme(arg: SchemeArg) -> Scheme {
    match arg {
        SchemeArg::Binary => Scheme::Binary,
        SchemeArg::PassRatio => Scheme::PassRatio,
        SchemeArg::Rltf => Scheme::Rltf,
        SchemeArg::Adaptive => Scheme::Adaptive,
        SchemeArg::FaultPenalty => Scheme::FaultPenalty,
        SchemeArg::ErrorLine => Scheme::ErrorLine,
        SchemeArg::Fait => Scheme::Fait,
    }
}

fn weights(args: &FaitArgs) -> Result<SensitiveWeights> {
    if !(args.alpha.is_finite() && args.beta.is_finite() && args.alpha > -1.0 && args.beta > -1.0) {
        bail!("--alpha and --beta must be finite and above -1 (weights stay positive)");
    }
    Ok(SensitiveWeights {
        alpha: args.alpha,
        beta: args.beta,
    })
}

fn contrast(args: &FaitArgs) -> Result<ContrastOptions> {
    if !(0.0..=1.0).contains(&args.max_changed_share) {
        bail!(
            "--max-changed-share must be between 0 and 1 (got {})",
            args.max_changed_share
        );
    }
    Ok(ContrastOptions {
        mode: match args.contrast {
            ContrastArg::All => ContrastMode::All,
            ContrastArg::Nearest => ContrastMode::Nearest,
        },
        max_changed_share: args.max_changed_share,
    })
}
