//! `tracealign pipeline`: the main job. Mutants → samples → runs with traces → fault
//! reports → SFT, DPO, repair and reward rows, each stage writing `OUT/<stage>.jsonl`.
//!
//! Each stage is the `tracealign` command a user would type (so a stage can be rerun by
//! hand), and is skipped when its output exists and its fingerprint is unchanged: the hash
//! of its command line, the contents of the files it reads from outside the pipeline, and
//! the fingerprints of the stages it depends on. A stage that reruns gets a new fingerprint
//! (it includes when the stage last ran), so everything after it reruns too; an interrupted
//! pipeline resumes at the first stage without a finished output.

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use anyhow::{Context, Result};
use clap::Parser;
use sha2::{Digest, Sha256};
use tracealign_core::embedded;

use crate::args::{Cli, PipelineArgs};
use crate::commands::dispatch;

/// Mutation budget per failing program for localization. Off: running mutants of every
/// failing program costs more than the rest of the pipeline together (its weight in the
/// combination is small); `tracealign localize --mutation-budget N` turns it on.
const MUTATION_BUDGET: &str = "0";

/// One step of the pipeline.
struct Stage {
    name: &'static str,
    /// Its output file in the pipeline's directory.
    output: String,
    /// Stages whose outputs this one reads.
    after: Vec<&'static str>,
    /// Files from outside the pipeline this one reads.
    reads: Vec<PathBuf>,
    /// `tracealign` arguments, or `None` for the in-process samples stage.
    command: Option<Vec<String>>,
}

pub fn pipeline(args: PipelineArgs) -> Result<()> {
    let started = Instant::now();
    std::fs::create_dir_all(args.out.join(".stages"))
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let stages = plan(&args);
    for stage in &stages {
        let fingerprint = fingerprint(&args.out, stage)?;
        let output = args.out.join(&stage.output);
        let manifest = args.out.join(".stages").join(stage.name);
        let done = std::fs::read_to_string(&manifest).ok();
        let unchanged = done.as_deref().is_some_and(|d| d.starts_with(&fingerprint));
        if unchanged && output.exists() {
            eprintln!("{:<8} up to date   {}", stage.name, output.display());
            continue;
        }
        let clock = Instant::now();
        run_stage(&args, stage)?;
        // A fresh run marks itself, so the stages after it see a new fingerprint.
        let ran_at = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        std::fs::write(&manifest, format!("{fingerprint} {ran_at}\n"))
            .with_context(|| format!("cannot write {}", manifest.display()))?;
        eprintln!(
            "{:<8} done in {:>5.1}s {}",
            stage.name,
            clock.elapsed().as_secs_f64(),
            output.display()
        );
    }
    println!(
        "pipeline finished in {:.1}s; outputs in {}",
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}

fn plan(args: &PipelineArgs) -> Vec<Stage> {
    let out = |name: &str| args.out.join(format!("{name}.jsonl")).display().to_string();
    let mut problems: Vec<String> = Vec::new();
    let mut reads = Vec::new();
    if let Some(path) = &args.problems {
        problems = vec!["--problems".into(), path.display().to_string()];
        reads.push(path.clone());
    }
    let with = |mut head: Vec<String>, tail: &[String]| {
        head.extend(problems.iter().cloned());
        head.extend(tail.iter().cloned());
        head.push("-q".into());
        head
    };
    let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut stages = vec![Stage {
        name: "mutants",
        output: "mutants.jsonl".into(),
        after: vec![],
        reads: reads.clone(),
        command: Some(with(
            strings(&["mutate", "-o", &out("mutants")]),
            &strings(&["--per-problem", &args.mutants_per_problem.to_string()]),
        )),
    }];
    stages.push(Stage {
        name: "samples",
        output: "samples.jsonl".into(),
        after: vec!["mutants"],
        reads: args.samples.iter().cloned().collect(),
        command: None,
    });
    stages.push(Stage {
        name: "runs",
        output: "runs.jsonl".into(),
        after: vec!["samples"],
        reads: reads.clone(),
        command: Some(with(
            strings(&["run", "-s", &out("samples"), "-o", &out("runs")]),
            &strings(&["--trace", "full"]),
        )),
    });
    // The reference solutions traced: the report's first divergences compare with them.
    stages.push(Stage {
        name: "references",
        output: "references.jsonl".into(),
        after: vec![],
        reads: reads.clone(),
        command: Some(with(
            strings(&["run", "-o", &out("references")]),
            &strings(&["--trace", "full"]),
        )),
    });
    stages.push(Stage {
        name: "faults",
        output: "faults.jsonl".into(),
        after: vec!["runs"],
        reads: reads.clone(),
        command: Some(with(
            strings(&["localize", &out("runs"), "-o", &out("faults")]),
            &strings(&["--mutation-budget", MUTATION_BUDGET]),
        )),
    });
    let mut tokenizer = Vec::new();
    let mut build_reads = reads.clone();
    if let Some(path) = &args.tokenizer {
        tokenizer = vec!["--tokenizer".to_string(), path.display().to_string()];
        build_reads.push(path.clone());
    }
    for kind in ["sft", "dpo", "repair", "rewards"] {
        let mut tail = strings(&["--runs", &out("runs"), "--faults", &out("faults")]);
        tail.extend(tokenizer.iter().cloned());
        stages.push(Stage {
            name: kind,
            output: format!("{kind}.jsonl"),
            after: vec!["runs", "faults"],
            reads: build_reads.clone(),
            command: Some(with(strings(&["build", kind, "-o", &out(kind)]), &tail)),
        });
    }
    let mut eval = strings(&["eval", "--runs", &out("runs"), "--samples", &out("samples")]);
    eval.extend(strings(&["--faults", &out("faults"), "-k", "1", "-o"]));
    eval.push(args.out.display().to_string());
    stages.push(Stage {
        name: "eval",
        output: "eval.json".into(),
        after: vec!["samples", "runs", "faults"],
        reads: reads.clone(),
        command: Some(with(eval, &[])),
    });
    let dir = args.out.display().to_string();
    stages.push(Stage {
        name: "report",
        output: "report.html".into(),
        after: vec!["samples", "runs", "references", "faults", "sft", "eval"],
        reads,
        command: Some(report_command(&dir, &problems)),
    });
    stages
}

/// `report` takes the directory and problems but no `-q` (it has no progress bar).
fn report_command(dir: &str, problems: &[String]) -> Vec<String> {
    let mut command = vec!["report".to_string(), dir.to_string()];
    command.extend(problems.iter().cloned());
    command.extend(["--title".to_string(), "tracealign pipeline".to_string()]);
    command
}

/// The stage's fingerprint: its command, the files it reads, its predecessors' manifests.
fn fingerprint(out: &Path, stage: &Stage) -> Result<String> {
    let mut hash = Sha256::new();
    hash.update(stage.name);
    if let Some(command) = &stage.command {
        hash.update(command.join("\u{1f}"));
    }
    for path in &stage.reads {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        hash.update(&bytes);
    }
    for before in &stage.after {
        hash.update(std::fs::read(out.join(".stages").join(before)).unwrap_or_default());
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn run_stage(args: &PipelineArgs, stage: &Stage) -> Result<()> {
    match &stage.command {
        Some(command) => {
            let argv = std::iter::once("tracealign".to_string()).chain(command.iter().cloned());
            dispatch(Cli::try_parse_from(argv)?.command)
        }
        None => write_samples(args),
    }
}

/// The samples to run: the user's file, or the embedded faulty samples; plus the mutants.
fn write_samples(args: &PipelineArgs) -> Result<()> {
    let mut text = match &args.samples {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        None => embedded::samples()?
            .iter()
            .map(|s| serde_json::to_string(s).map(|line| line + "\n"))
            .collect::<Result<String, _>>()?,
    };
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&std::fs::read_to_string(args.out.join("mutants.jsonl"))?);
    let path = args.out.join("samples.jsonl");
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}
