//! `tracealign run`: execute samples (or reference solutions) and stream executions to disk
//! (the library's `run_into` step).

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use tracealign_core::{Problem, Sample};
use tracealign_exec::{Executor, TraceMode};
use tracealign_pipeline::{load_samples, open_runs, run_into, RunSummary, SampleSource, Workers};

use crate::args::{RunArgs, TraceArg};
use crate::commands::workers::{refuse_to_replace, traced_exec_settings, warn_about_isolation};
use crate::printer;

pub fn run(args: RunArgs) -> Result<()> {
    let started = Instant::now();
    if !args.resume {
        refuse_to_replace(&args.output, args.force, Some("--resume"))?;
    }
    let mut settings = traced_exec_settings(&args.exec, &args.trace_caps)?;
    settings.config.trace = trace_mode(args.trace);
    // Starting the workers (finding the interpreter, imports, namespaces) takes a few hundred
    // milliseconds: it happens while the inputs are read. Input errors are reported first.
    std::thread::scope(|scope| {
        let starting = scope.spawn(|| Executor::start(settings.config.clone()));
        let inputs = args.set.load().and_then(|problems| {
            let samples = samples(&args, &problems)?;
            Ok((problems, samples))
        });
        let executor = starting.join().expect("starting workers does not panic");
        let (problems, samples) = inputs?;
        let bars = printer::Bars::new(args.quiet);
        let workers = Workers {
            settings: &settings,
            progress: &bars,
        };
        run_loaded(&args, started, &workers, executor?, problems, samples)
    })
}

fn run_loaded(
    args: &RunArgs,
    started: Instant,
    workers: &Workers,
    executor: Executor,
    problems: Vec<Problem>,
    mut samples: Vec<Sample>,
) -> Result<()> {
    let total = samples.len();
    let (mut writer, done) = open_runs(&args.output, args.resume, &mut samples)?;
    if done > 0 {
        let output = args.output.display();
        printer::note(format_args!(
            "resuming: {done} of {total} samples already in {output}"
        ));
    }
    let needed: HashSet<&str> = samples.iter().map(|s| s.problem_id.as_str()).collect();
    let to_prepare: Vec<Problem> = (problems.iter())
        .filter(|p| needed.contains(p.id.as_str()))
        .cloned()
        .collect();
    warn_about_isolation(&executor);
    let prepared = workers.prepare(&executor, &to_prepare)?;
    let summary = RunSummary::new(problems.len(), done).since(started);
    let progress = workers.progress;
    let summary = run_into(
        &executor,
        &prepared,
        &samples,
        &mut writer,
        summary,
        progress,
    )?;
    printer::out(&summary);
    if let Some(path) = &args.summary_json {
        std::fs::write(path, summary.json())
            .with_context(|| format!("cannot write the summary to {}", path.display()))?;
    }
    Ok(())
}

fn samples(args: &RunArgs, problems: &[Problem]) -> Result<Vec<Sample>> {
    let source = match &args.samples {
        None => SampleSource::References,
        Some(path) if path == Path::new("embedded") => {
            if args.set.problems.is_some() {
                bail!("`--samples embedded` goes with the embedded problems; leave out --problems");
            }
            SampleSource::Embedded
        }
        Some(path) => SampleSource::File(path.clone()),
    };
    let (samples, warning) = load_samples(&source, problems, args.skip_unknown)?;
    if let Some(warning) = warning {
        printer::warning(&warning);
    }
    Ok(samples)
}

pub fn trace_mode(trace: TraceArg) -> TraceMode {
    match trace {
        TraceArg::None => TraceMode::None,
        TraceArg::Coverage => TraceMode::Coverage,
        TraceArg::Full => TraceMode::Full,
    }
}
