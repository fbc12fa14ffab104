//! `tracealign build KIND`: training data from a runs file (and fault reports), through the
//! library's row steps. One shape for every builder: `--problems P --runs RUNS [--faults F]
//! [--tokenizer T] -o OUT`. The only programs run here are the mutants the SFT builder asks
//! for when a passing program has no similar failing one.

use std::fmt::Display;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use tracealign_core::formats::faults::{read_faults, Faults};
use tracealign_core::formats::runs::read_runs;
use tracealign_core::{Execution, Problem};
use tracealign_dataset::contrast::{ContrastMode, ContrastOptions};
use tracealign_dataset::dpo::{DpoOptions, Pairing};
use tracealign_dataset::repair::{RepairOptions, Representation};
use tracealign_dataset::rewards::{RewardOptions, Scheme};
use tracealign_dataset::rows::write_jsonl;
use tracealign_dataset::sft::SftOptions;
use tracealign_dataset::{Aligner, SensitiveWeights};
use tracealign_exec::resolve_python;
use tracealign_pipeline::rows::{self, RowInputs};
use tracealign_pipeline::{Built, SftSettings};
use tracealign_predict::rows::interleave;
use tracealign_predict::{build_rows, Checker, PredictOptions, Task};
use tracealign_trace::render::Style;

use crate::args::{
    BuildCommand, BuildDpoArgs, BuildInputs, BuildRepairArgs, BuildRewardsArgs, BuildSftArgs,
    BuildTracedArgs, ContrastArg, FaitArgs, PairingArg, ReprArg, SchemeArg,
};
use crate::commands::workers::{refuse_to_replace, with_workers};
use crate::printer;

pub fn build(command: BuildCommand) -> Result<()> {
    match command {
        BuildCommand::Sft(args) => build_sft(args),
        BuildCommand::Dpo(args) => build_dpo(args),
        BuildCommand::Repair(args) => build_repair(args),
        BuildCommand::Rewards(args) => build_rewards(args),
        BuildCommand::Traced(args) => build_traced(args),
    }
}

fn build_traced(args: BuildTracedArgs) -> Result<()> {
    refuse_to_replace(&args.output, args.force, None)?;
    let problems = args.set.load()?;
    let executions = read_runs(&args.runs)?;
    let traced = executions
        .iter()
        .any(|e| e.tests.iter().any(|t| t.trace.is_some()));
    if !executions.is_empty() && !traced {
        bail!(
            "{} holds no traces: run the programs with `tracealign run --trace full`",
            args.runs.display()
        );
    }
    let options = PredictOptions {
        tasks: args.kinds.iter().map(|&k| Task::from(k)).collect(),
        per_problem: args.per_problem,
        failing: !args.passing_only,
    };
    let rows = build_rows(&problems, &executions, &options);
    write_jsonl(&args.output, &rows)?;
    for task in &options.tasks {
        let of_kind = rows.iter().filter(|r| r.kind == *task);
        let failing = of_kind.clone().filter(|r| r.from_failing).count();
        printer::line(format_args!(
            "{:>6} {} rows ({failing} from failing programs)",
            of_kind.count(),
            task.name()
        ));
    }
    printer::line(format_args!("  → {}", args.output.display()));
    if args.verify {
        let checker = Checker::start(resolve_python(args.python.as_deref())?)?;
        let mut confirmed = 0;
        for row in &rows {
            let fresh = checker.fresh(row)?;
            let judged = match &fresh {
                Some(fresh) => checker.judge(row, &fresh.completion)?.correct,
                None => false,
            };
            confirmed += usize::from(judged);
            if !judged {
                printer::warning(&format!(
                    "{}: a fresh run does not give this row's answer",
                    row.id
                ));
            }
        }
        printer::line(format_args!(
            "verified: {confirmed} of {} rows give the same answer when their call runs again",
            rows.len()
        ));
        if confirmed < rows.len() {
            bail!("{} rows did not verify", rows.len() - confirmed);
        }
    }
    Ok(())
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
        refuse_to_replace(&args.output, args.force, None)?;
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
            problems: args.set.load()?,
            executions: read_runs(&args.runs)?,
            faults: args.faults.as_deref().map(read_faults).transpose()?,
            aligner,
        })
    }

    fn rows(&self) -> RowInputs<'_> {
        RowInputs {
            problems: &self.problems,
            executions: &self.executions,
            faults: self.faults.as_ref(),
            aligner: self.aligner.as_ref(),
        }
    }
}

/// Writes the rows and prints their summary.
fn finish<R: Serialize, S>(args: &BuildInputs, built: Built<R, S>) -> Result<()>
where
    Built<R, S>: Display,
{
    write_jsonl(&args.output, &built.rows)?;
    printer::out(&built);
    printer::line(format_args!("  → {}", args.output.display()));
    Ok(())
}

fn build_sft(args: BuildSftArgs) -> Result<()> {
    let inputs = Inputs::load(&args.inputs)?;
    let settings = SftSettings {
        options: SftOptions {
            weights: weights(&args.fait)?,
            normalize: args.normalize,
            contrast: contrast(&args.fait)?,
        },
        mutants: args.mutants,
        run_mutants: !args.no_run_mutants,
        seed: args.seed,
    };
    let built = with_workers(&args.exec, args.inputs.quiet, |workers| {
        Ok(rows::sft_rows(&inputs.rows(), &settings, workers)?)
    })
    .with_context(|| runs(&args.inputs))?;
    if args.traced_kinds.is_empty() {
        return finish(&args.inputs, built);
    }
    let options = PredictOptions {
        tasks: args.traced_kinds.iter().map(|&k| Task::from(k)).collect(),
        per_problem: 1,
        failing: true,
    };
    let predictions = build_rows(&inputs.problems, &inputs.executions, &options);
    if predictions.is_empty() {
        bail!(
            "{} gives no execution-prediction rows: --traced-kinds needs runs from `tracealign run --trace full`",
            args.inputs.runs.display()
        );
    }
    let mixed = interleave(&built.rows, &predictions);
    let added = mixed.len() - built.rows.len();
    printer::out(&built);
    write_jsonl(&args.inputs.output, &mixed)?;
    printer::line(format_args!(
        "{added} execution-prediction rows interleaved ({} rows in all)",
        mixed.len()
    ));
    printer::line(format_args!("  → {}", args.inputs.output.display()));
    Ok(())
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
    let options = DpoOptions {
        pairing,
        fault_lines: args.fault_lines,
    };
    let built = rows::dpo_rows(&inputs.rows(), &options).with_context(|| runs(&args.inputs))?;
    finish(&args.inputs, built)
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
    let options = RepairOptions {
        representations,
        style,
        budget: args.budget,
        leave_alone: args.leave_alone,
        fl_lines: args.fl_lines,
    };
    let built = rows::repair_rows(&inputs.rows(), &options).with_context(|| runs(&args.inputs))?;
    finish(&args.inputs, built)
}

fn build_rewards(args: BuildRewardsArgs) -> Result<()> {
    let inputs = Inputs::load(&args.inputs)?;
    let mut schemes: Vec<Scheme> = Vec::new();
    for scheme in args.schemes.iter().map(|&s| scheme(s)) {
        if !schemes.contains(&scheme) {
            schemes.push(scheme);
        }
    }
    if schemes.is_empty() {
        let has_faults = inputs.faults.is_some();
        schemes = (Scheme::ALL.into_iter())
            .filter(|&s| s != Scheme::FaultPenalty || has_faults)
            .collect();
    }
    let options = RewardOptions {
        schemes,
        weights: weights(&args.fait)?,
        contrast: contrast(&args.fait)?,
    };
    let built = rows::reward_rows(&inputs.rows(), &options).with_context(|| runs(&args.inputs))?;
    finish(&args.inputs, built)?;
    if inputs.faults.is_none() && args.schemes.is_empty() {
        printer::line("  (fault_penalty needs --faults)");
    }
    Ok(())
}

/// The runs file, naming it in errors about its contents.
fn runs(args: &BuildInputs) -> String {
    args.runs.display().to_string()
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
