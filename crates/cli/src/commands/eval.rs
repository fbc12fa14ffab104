//! `tracealign eval`: pass@k and failure categories of samples — given, already run, or
//! generated now by an OpenAI-compatible server or a local model (the library's evaluation
//! job: resumable stages in OUT, `samples.jsonl` when generated, `runs.jsonl`, `eval.json`,
//! `report.html`). `--fresh` discards the samples and runs an earlier call made.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use serde_json::json;
use tracealign_endpoint::{Api, Endpoint};
use tracealign_localize::Method;
use tracealign_pipeline::generation::{ServerSamples, ServerSampling};
use tracealign_pipeline::{
    run_eval, EvalPrograms, EvalSettings, GenerateError, Generation, Generator, LocalizeSettings,
    OutputLayout, SampleSource, Start,
};
use tracealign_train::progress::ProgressEvent;
use tracealign_train::sampling::{generate_into, problem_prompts};

use crate::args::{ApiArg, EvalArgs};
use crate::commands::run::trace_mode;
use crate::commands::workers::traced_exec_settings;
use crate::printer;

pub fn eval(args: EvalArgs) -> Result<()> {
    if let Some(task) = args.task {
        return crate::commands::eval_task::eval_task(&args, task);
    }
    let started = Instant::now();
    let layout = OutputLayout::new(&args.out);
    if args.fresh {
        for path in layout.made_by_eval() {
            let _ = std::fs::remove_file(path);
        }
    }
    let server = (args.endpoint.as_ref()).map(|url| server_samples(&args, url));
    let local = args
        .model
        .as_ref()
        .map(|model| LocalSamples { args: &args, model });
    let programs = match (&server, &local, &args.runs) {
        (Some(server), _, _) => EvalPrograms::Generated(server),
        (None, Some(local), _) => EvalPrograms::Generated(local),
        (None, None, Some(runs)) => EvalPrograms::Runs {
            runs: runs.clone(),
            samples: args.samples.clone(),
        },
        (None, None, None) => EvalPrograms::Samples(match &args.samples {
            Some(path) if path != Path::new("embedded") => SampleSource::File(path.clone()),
            _ => SampleSource::Embedded,
        }),
    };
    let mut exec = traced_exec_settings(&args.exec, &args.trace_caps)?;
    exec.config.trace = trace_mode(args.trace);
    let settings = EvalSettings {
        problems: args.set.source(),
        programs,
        ks: args.k.clone(),
        faults: args.faults.clone(),
        localize: args.localize.then(|| LocalizeSettings {
            method: Method::Combined,
            mutation_budget: 0,
            exec: exec.clone(),
        }),
        exec,
        report_programs: None,
    };
    let bars = printer::Bars::new(args.quiet);
    let outcome = run_eval(&settings, &layout, &bars, &mut printer::stage)?;
    if let Some(runs) = &outcome.runs {
        printer::out(runs);
    }
    printer::out(&outcome.evaluation);
    printer::line(format_args!(
        "eval finished in {:.1}s → {} (report: {})",
        started.elapsed().as_secs_f64(),
        layout.eval().display(),
        layout.report().display()
    ));
    Ok(())
}

/// The server `--endpoint` names, sampled as the flags say.
fn server_samples(args: &EvalArgs, url: &str) -> ServerSamples {
    let api = match args.api {
        ApiArg::Completions => Api::Completions,
        ApiArg::Chat => Api::Chat,
    };
    let model = args.model_name.clone().unwrap_or_default();
    let endpoint = Endpoint::new(url, &model, api).with_api_key(args.api_key.clone());
    let sampling = ServerSampling {
        n: args.samples_per_problem,
        temperature: args.temperature,
        top_p: args.top_p,
        max_tokens: args.max_tokens,
        seed: args.seed,
        concurrency: args.concurrency,
    };
    ServerSamples::new(endpoint, api, model, sampling)
}

/// Samples from a local model.
struct LocalSamples<'a> {
    args: &'a EvalArgs,
    model: &'a PathBuf,
}

impl LocalSamples<'_> {
    fn settings(&self) -> tracealign_train::GenerateSettings {
        let a = self.args;
        tracealign_train::GenerateSettings {
            model: self.model.clone(),
            adapter: a.adapter.clone(),
            samples: a.samples_per_problem,
            temperature: a.temperature,
            top_p: a.top_p,
            max_new_tokens: a.max_tokens as usize,
            seed: a.seed,
            batch: a.batch,
            chat: matches!(a.api, ApiArg::Chat),
            decode_weights: a.decode_weights.into(),
            name: None,
        }
    }
}

impl Generator for LocalSamples<'_> {
    fn settings(&self) -> serde_json::Value {
        let a = self.args;
        json!({
            "model": self.model, "adapter": a.adapter, "chat": matches!(a.api, ApiArg::Chat),
            "decode_weights": format!("{:?}", a.decode_weights),
            "n": a.samples_per_problem, "temperature": a.temperature, "top_p": a.top_p,
            "max_tokens": a.max_tokens, "seed": a.seed,
        })
    }

    fn command(&self) -> String {
        let a = self.args;
        format!(
            "tracealign generate --model {} -n {} --temperature {} --top-p {} \
             --max-new-tokens {} --seed {}",
            self.model.display(),
            a.samples_per_problem,
            a.temperature,
            a.top_p,
            a.max_tokens,
            a.seed
        )
    }

    fn generate(&self, to: &Generation) -> Result<(), GenerateError> {
        let (prompts, progress) = (problem_prompts(to.problems), to.progress);
        let resume = to.start == Start::Continue;
        let mut on_progress = |event| match event {
            ProgressEvent::Begin { total, done } => progress.begin("generating", total - done),
            ProgressEvent::Advance { status } => {
                progress.message(&status);
                progress.advance()
            }
        };
        let result = generate_into(
            &self.settings(),
            &prompts,
            to.path,
            resume,
            &mut on_progress,
        );
        progress.end();
        result.map(|_| ()).map_err(Into::into)
    }
}
