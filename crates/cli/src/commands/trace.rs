//! `tracealign trace`: one program, one test, its trace as prompt text or JSON events.

use anyhow::{anyhow, bail, Context, Result};
use tracealign_core::formats::problems::ProblemIndex;
use tracealign_core::formats::samples::read_samples;
use tracealign_core::{embedded, Execution, Problem, Sample};
use tracealign_exec::{Executor, PreparedProblem, TraceMode};
use tracealign_pipeline::{NoProgress, Workers};
use tracealign_trace::render::{
    self, CharsPerToken, HfTokenizer, RenderInput, RenderOptions, Style, TestContext, TokenCounter,
};
use tracealign_trace::{divergence::Side, first_divergence};

use crate::args::TraceArgs;
use crate::commands::workers::traced_exec_settings;
use crate::printer;

pub fn trace(args: TraceArgs) -> Result<()> {
    let style: Style = args.style.parse().map_err(|_| {
        anyhow!(
            "unknown --style `{}`; expected lines, blocks, inline or summary",
            args.style
        )
    })?;
    let problems = args.set.load()?;
    let sample = pick_sample(&args, &problems)?;
    let problem = problems
        .iter()
        .find(|p| p.id == sample.problem_id)
        .ok_or_else(|| anyhow!("problem `{}` is not in the problem set", sample.problem_id))?;

    let settings = traced_exec_settings(&args.exec, &args.trace_caps)?;
    let workers = Workers {
        settings: &settings,
        progress: &NoProgress,
    };
    let executor = workers.start_with(TraceMode::Full, |config| config.workers = 1)?;
    let prepared = workers
        .prepare(&executor, std::slice::from_ref(problem))?
        .remove(0);

    let full = run_one(&executor, &prepared, &sample)?;
    let index = pick_test(&args, problem, &full)?;
    let one = only_test(&prepared, index);
    let candidate = run_one(&executor, &one, &sample)?;
    let candidate_trace = candidate.tests[0].trace.clone().unwrap_or_default();
    // A program that passes the test may compute its answer another way: a difference from
    // the reference there is no fault, so no divergence is reported for it.
    let passed = candidate.tests[0].outcome.is_passed();
    if args.against_reference && passed {
        printer::note("the program passes this test: no divergence from the reference to show");
    }
    let (reference_trace, divergence) = if args.against_reference && !passed {
        let reference = run_one(&executor, &one, &Sample::reference(problem))?;
        let reference_trace = reference.tests[0].trace.clone().unwrap_or_default();
        let divergence = first_divergence(
            Side {
                source: &sample.code,
                trace: &candidate_trace,
            },
            Side {
                source: &problem.reference,
                trace: &reference_trace,
            },
        );
        (Some(reference_trace), divergence)
    } else {
        (None, None)
    };

    let test = &candidate.tests[0];
    if args.json {
        let report = serde_json::json!({
            "problem_id": problem.id,
            "sample_id": sample.sample_id,
            "test": test.name,
            "outcome": test.outcome,
            "trace": candidate_trace,
            "reference_trace": reference_trace,
            "divergence": divergence,
        });
        printer::line(serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let counter: Box<dyn TokenCounter> = match &args.tokenizer {
        Some(path) => Box::new(HfTokenizer::from_file(path)?),
        None => Box::new(CharsPerToken),
    };
    let test_code = test_source(problem, index);
    let outcome = test.outcome.describe();
    let input = RenderInput {
        source: &sample.code,
        trace: &candidate_trace,
        test: Some(TestContext {
            name: &test.name,
            code: test_code.as_deref(),
            outcome: &outcome,
        }),
        divergence: divergence.as_ref(),
    };
    let options = RenderOptions {
        style,
        budget: args.budget,
        ..RenderOptions::default()
    };
    let rendered = render::render(&input, &options, counter.as_ref());
    printer::out(&rendered.text);
    if !rendered.text.ends_with('\n') {
        printer::line("");
    }
    Ok(())
}

fn pick_sample(args: &TraceArgs, problems: &[Problem]) -> Result<Sample> {
    if let Some(path) = &args.code {
        let code = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let problem = match (&args.problem, problems) {
            (Some(id), _) => ProblemIndex::new(problems)
                .get(id)
                .ok_or_else(|| anyhow!("--problem `{id}` is not in the problem set"))?,
            (None, [only]) => only,
            (None, _) => bail!(
                "the problem set has {} problems: say which one with --problem",
                problems.len()
            ),
        };
        let name = path
            .file_name()
            .map_or("code".into(), |n| n.to_string_lossy().to_string());
        return Ok(Sample {
            problem_id: problem.id.clone(),
            sample_id: name,
            code,
            model: None,
            mutation: None,
        });
    }
    let id = args
        .sample
        .as_deref()
        .expect("clap requires --code or --sample");
    let mut samples = match &args.samples {
        Some(path) => read_samples(path, problems)?.samples,
        None if args.set.problems.is_none() => embedded::samples()?,
        None => bail!("--sample needs --samples when --problems is given"),
    };
    if let Some(found) = samples.iter().position(|s| s.sample_id == id) {
        return Ok(samples.swap_remove(found));
    }
    bail!(
        "no sample `{id}` in the samples{}",
        suggestion(id, &samples)
    )
}

/// `; did you mean …?` with the sample ids that start with `id` (a problem's id names its
/// samples `<problem>#<n>`), else those that contain it; empty when none does.
fn suggestion(id: &str, samples: &[Sample]) -> String {
    let ids = |keep: &dyn Fn(&str) -> bool| -> Vec<&str> {
        (samples.iter().map(|s| s.sample_id.as_str()))
            .filter(|s| keep(s))
            .take(5)
            .collect()
    };
    let mut near = ids(&|s| s.starts_with(id));
    if near.is_empty() {
        near = ids(&|s| s.contains(id));
    }
    match near.is_empty() {
        true => String::new(),
        false => format!("; did you mean `{}`?", near.join("`, `")),
    }
}

fn pick_test(args: &TraceArgs, problem: &Problem, run: &Execution) -> Result<usize> {
    match &args.test {
        Some(name) => problem
            .tests
            .iter()
            .position(|t| &t.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = problem
                    .tests
                    .iter()
                    .map(|t| t.name.as_str())
                    .take(10)
                    .collect();
                anyhow!(
                    "problem `{}` has no test `{name}` (tests: {})",
                    problem.id,
                    names.join(", ")
                )
            }),
        None => Ok(run
            .tests
            .iter()
            .position(|t| !t.outcome.is_passed())
            .unwrap_or(0)),
    }
}

/// The prepared problem with only test `index`.
fn only_test(prepared: &PreparedProblem, index: usize) -> PreparedProblem {
    let mut one = prepared.clone();
    one.tests = vec![prepared.tests[index].clone()];
    one.timeouts = vec![prepared.timeouts[index]];
    one.reference_seconds = vec![prepared.reference_seconds[index]];
    one
}

fn run_one(executor: &Executor, problem: &PreparedProblem, sample: &Sample) -> Result<Execution> {
    let mut result = None;
    executor.run(
        std::slice::from_ref(problem),
        std::slice::from_ref(sample),
        |e| result = Some(e),
    );
    result.ok_or_else(|| anyhow!("the program was not run"))
}

fn test_source(problem: &Problem, index: usize) -> Option<String> {
    match &problem.tests[index].kind {
        tracealign_core::TestKind::Code { code } => Some(code.trim().to_string()),
        tracealign_core::TestKind::Call { args, .. } => Some(match args {
            tracealign_core::Args::Json(json) => {
                let args: Vec<serde_json::Value> = serde_json::from_str(json).unwrap_or_default();
                let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
                format!("{}({})", problem.entry_point, args.join(", "))
            }
            tracealign_core::Args::Python(source) => format!("{}({source})", problem.entry_point),
        }),
    }
}
