//! `tracealign run`: execute samples (or reference solutions) and stream executions to disk.

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use tracealign_core::formats::problems::{read_problems, ProblemFormat};
use tracealign_core::formats::runs::{finished_samples, RunsWriter};
use tracealign_core::formats::samples::read_samples;
use tracealign_core::{embedded, Problem, Sample};
use tracealign_exec::{ExecConfig, Executor, TraceMode};

use crate::args::{FormatArg, RunArgs, TraceArg};
use crate::commands::summary::Summary;
use crate::commands::workers::{self, prepare, warn_about_isolation};
use crate::printer;

pub fn run(args: RunArgs) -> Result<()> {
    let started = Instant::now();
    // Starting the workers (finding the interpreter, imports, namespaces) takes a few hundred
    // milliseconds: it happens while the inputs are read. Input errors are reported first.
    std::thread::scope(|scope| {
        let starting =
            scope.spawn(|| -> Result<Executor> { Ok(Executor::start(exec_config(&args)?)?) });
        let inputs = load_problems(&args).and_then(|problems| {
            let samples = load_samples(&args, &problems)?;
            Ok((problems, samples))
        });
        let executor = starting.join().expect("starting workers does not panic");
        let (problems, samples) = inputs?;
        run_loaded(&args, started, executor?, problems, samples)
    })
}

fn run_loaded(
    args: &RunArgs,
    started: Instant,
    executor: Executor,
    problems: Vec<Problem>,
    mut samples: Vec<Sample>,
) -> Result<()> {
    let total_samples = samples.len();
    let mut writer = if args.resume {
        let finished = finished_samples(&args.output)?;
        samples.retain(|s| !finished.contains(&s.sample_id));
        if total_samples > samples.len() {
            eprintln!(
                "resuming: {} of {} samples already in {}",
                total_samples - samples.len(),
                total_samples,
                args.output.display()
            );
        }
        RunsWriter::append(&args.output)?
    } else {
        RunsWriter::create(&args.output)?
    };
    let needed: HashSet<&str> = samples.iter().map(|s| s.problem_id.as_str()).collect();
    let problems_to_prepare: Vec<Problem> = problems
        .iter()
        .filter(|p| needed.contains(p.id.as_str()))
        .cloned()
        .collect();

    warn_about_isolation(&executor);
    let prepared = prepare(&executor, &args.exec, &problems_to_prepare, args.quiet)?;

    let mut summary = Summary::new(problems.len(), total_samples - samples.len());
    let bar = printer::progress(samples.len(), "samples", args.quiet);
    let running = Instant::now();
    let mut write_error = None;
    executor.run(&prepared, &samples, |execution| {
        summary.add(&execution);
        if write_error.is_none() {
            write_error = writer.write(execution).err();
        }
        bar.set_message(summary.short());
        bar.inc(1);
    });
    bar.finish_and_clear();
    if let Some(error) = write_error {
        return Err(error.into());
    }
    summary.finish(
        started.elapsed().as_secs_f64(),
        running.elapsed().as_secs_f64(),
    );
    print!("{}", summary.table());
    if let Some(path) = &args.summary_json {
        std::fs::write(path, summary.json())
            .with_context(|| format!("cannot write the summary to {}", path.display()))?;
    }
    Ok(())
}

fn load_problems(args: &RunArgs) -> Result<Vec<Problem>> {
    problem_set(args.problems.as_deref(), args.format)
}

/// The problems in `path`, or the embedded problem set.
pub fn problem_set(path: Option<&Path>, format: Option<FormatArg>) -> Result<Vec<Problem>> {
    match path {
        Some(path) => Ok(read_problems(path, problem_format(format))?),
        None => Ok(embedded::problems()),
    }
}

/// The library's format for the `--format` flag.
pub fn problem_format(format: Option<FormatArg>) -> Option<ProblemFormat> {
    format.map(|f| match f {
        FormatArg::Tracealign => ProblemFormat::Tracealign,
        FormatArg::Humaneval => ProblemFormat::HumanEval,
        FormatArg::Mbpp => ProblemFormat::Mbpp,
        FormatArg::Evalplus => ProblemFormat::EvalPlus,
    })
}

fn load_samples(args: &RunArgs, problems: &[Problem]) -> Result<Vec<Sample>> {
    let Some(path) = &args.samples else {
        return Ok(problems.iter().map(Sample::reference).collect());
    };
    if path == Path::new("embedded") {
        if args.problems.is_some() {
            bail!("`--samples embedded` goes with the embedded problems; leave out --problems");
        }
        return Ok(embedded::samples()?);
    }
    let file = read_samples(path, problems)?;
    if !file.unknown.is_empty() {
        let listed: Vec<String> = file
            .unknown
            .iter()
            .take(5)
            .map(|(line, id)| format!("`{id}` (line {line})"))
            .collect();
        let more = file.unknown.len().saturating_sub(5);
        let message = format!(
            "{} sample(s) in {} name problems that are not in the problem set: {}{}",
            file.unknown.len(),
            path.display(),
            listed.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
        if !args.skip_unknown {
            bail!(message);
        }
        printer::warning(&format!("{message}; skipping them"));
    }
    Ok(file.samples)
}

fn exec_config(args: &RunArgs) -> Result<ExecConfig> {
    let trace = match args.trace {
        TraceArg::None => TraceMode::None,
        TraceArg::Coverage => TraceMode::Coverage,
        TraceArg::Full => TraceMode::Full,
    };
    let mut config = workers::exec_config(&args.exec, trace)?;
    args.trace_caps.apply(&mut config.trace_limits);
    Ok(config)
}
