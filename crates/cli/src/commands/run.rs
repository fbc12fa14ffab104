//! `tracealign run`: execute samples (or reference solutions) and stream executions to disk.

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use tracealign_core::formats::problems::{read_problems, ProblemFormat};
use tracealign_core::formats::runs::{finished_samples, RunsWriter};
use tracealign_core::formats::samples::read_samples;
use tracealign_core::{embedded, Problem, Sample};
use tracealign_exec::{resolve_python, ExecConfig, Executor, Limits, PreparedCache, TraceMode};

use crate::args::{FormatArg, RunArgs, TraceArg};
use crate::commands::summary::Summary;
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

    let isolation = executor.isolation();
    if !isolation.namespaces || !isolation.notes.is_empty() {
        for note in &isolation.notes {
            printer::warning(&format!("isolation: {note}"));
        }
    }

    let bar = printer::progress(problems_to_prepare.len(), "references", args.quiet);
    let cache = (!args.no_cache)
        .then(|| args.cache_dir.clone().or_else(PreparedCache::default_dir))
        .flatten()
        .map(|dir| PreparedCache::new(&dir, &executor.config().python, &isolation.python));
    let prepared = executor.prepare(&problems_to_prepare, cache.as_ref(), |_| bar.inc(1))?;
    bar.finish_and_clear();

    let mut summary = Summary::new(problems.len(), total_samples - samples.len());
    let bar = printer::progress(samples.len(), "samples", args.quiet);
    let running = Instant::now();
    let mut write_error = None;
    executor.run(&prepared, &samples, |execution| {
        summary.add(&execution);
        if write_error.is_none() {
            write_error = writer.write(&execution).err();
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
    match &args.problems {
        Some(path) => Ok(read_problems(path, problem_format(args.format))?),
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
    if !(args.timeout_factor > 0.0 && args.timeout_floor > 0.0 && args.sample_timeout > 0.0) {
        bail!("--timeout-factor, --timeout-floor and --sample-timeout must be positive");
    }
    let mut config = ExecConfig::new(resolve_python(args.python.as_deref())?);
    if let Some(jobs) = args.jobs {
        if jobs == 0 {
            bail!("--jobs must be at least 1");
        }
        config.workers = jobs;
    }
    config.isolate = !args.no_isolation;
    config.trace = match args.trace {
        TraceArg::None => TraceMode::None,
        TraceArg::Coverage => TraceMode::Coverage,
        TraceArg::Full => TraceMode::Full,
    };
    config.trace_limits.max_events = args.trace_max_events;
    config.trace_limits.max_value_chars = args.trace_value_chars;
    config.limits = Limits {
        timeout_factor: args.timeout_factor,
        timeout_floor_s: args.timeout_floor,
        sample_budget_s: args.sample_timeout,
        memory_mb: args.memory_mb,
        ..Limits::default()
    };
    Ok(config)
}
