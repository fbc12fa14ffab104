//! `tracealign eval`: pass@k and failure categories of samples — given, already run, or
//! generated now by an OpenAI-compatible server or a local model (the library's evaluation
//! job: resumable stages in OUT, `samples.jsonl` when generated, `runs.jsonl`, `eval.json`,
//! `report.html`). `--fresh` discards the samples and runs an earlier call made.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use serde_json::json;
use tracealign_core::completion::{
    chat_request, completion_prompt, program_of_chat_reply, program_of_completion, stop_sequences,
};
use tracealign_core::formats::samples::SamplesWriter;
use tracealign_core::{Problem, Sample};
use tracealign_endpoint::{Api, Endpoint, Request};
use tracealign_pipeline::{
    run_eval, EvalLayout, EvalPrograms, EvalSettings, Generator, Progress, SampleSource, Start,
};
use tracealign_train::progress::ProgressEvent;
use tracealign_train::sampling::{generate_into, problem_prompts};

use crate::args::{ApiArg, EvalArgs};
use crate::commands::pipeline::print_event;
use crate::commands::run::trace_mode;
use crate::commands::workers::exec_settings;
use crate::printer;

type GenerateError = Box<dyn std::error::Error + Send + Sync>;

pub fn eval(args: EvalArgs) -> Result<()> {
    let started = Instant::now();
    let layout = EvalLayout {
        dir: args.out.clone(),
    };
    if args.fresh {
        for path in layout.made_here() {
            let _ = std::fs::remove_file(path);
        }
    }
    let server = args
        .endpoint
        .as_ref()
        .map(|url| ServerSamples::new(&args, url));
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
    let mut exec = exec_settings(&args.exec)?;
    exec.config.trace = trace_mode(args.trace);
    let settings = EvalSettings {
        problems: args.set.source(),
        programs,
        ks: args.k.clone(),
        faults: args.faults.clone(),
        exec,
        report_programs: 12,
    };
    let bars = printer::Bars::new(args.quiet);
    let outcome = run_eval(&settings, &layout, &bars, &mut print_event)?;
    if let Some(runs) = &outcome.runs {
        print!("{runs}");
    }
    print!("{}", outcome.evaluation);
    println!(
        "eval finished in {:.1}s → {} (report: {})",
        started.elapsed().as_secs_f64(),
        layout.eval().display(),
        layout.report().display()
    );
    Ok(())
}

/// Samples from an OpenAI-compatible server.
struct ServerSamples<'a> {
    args: &'a EvalArgs,
    endpoint: Endpoint,
    api: Api,
    model: String,
}

impl ServerSamples<'_> {
    fn new<'a>(args: &'a EvalArgs, url: &str) -> ServerSamples<'a> {
        let api = match args.api {
            ApiArg::Completions => Api::Completions,
            ApiArg::Chat => Api::Chat,
        };
        let model = args.model_name.clone().unwrap_or_default();
        let endpoint = Endpoint::new(url, &model, api).with_api_key(args.api_key.clone());
        ServerSamples {
            args,
            endpoint,
            api,
            model,
        }
    }

    fn request(&self, problem: &Problem, seed: u64) -> Request {
        let args = self.args;
        Request {
            prompt: match self.api {
                Api::Completions => completion_prompt(problem).into(),
                Api::Chat => chat_request(problem),
            },
            max_tokens: args.max_tokens,
            temperature: args.temperature,
            top_p: args.top_p,
            stop: match self.api {
                Api::Completions => (stop_sequences(problem).iter())
                    .map(|s| s.to_string())
                    .collect(),
                Api::Chat => Vec::new(),
            },
            seed: (args.temperature > 0.0).then_some(seed),
        }
    }
}

impl Generator for ServerSamples<'_> {
    fn settings(&self) -> serde_json::Value {
        let a = self.args;
        json!({
            "url": self.endpoint.url(), "model": self.model, "api": format!("{:?}", a.api),
            "n": a.samples_per_problem, "temperature": a.temperature, "top_p": a.top_p,
            "max_tokens": a.max_tokens, "seed": a.seed,
        })
    }

    fn command(&self) -> String {
        let a = self.args;
        format!(
            "tracealign eval --endpoint {} --model-name {} --api {:?} -n {} --temperature {} \
             --top-p {} --max-tokens {} --seed {}",
            self.endpoint.url(),
            self.model,
            a.api,
            a.samples_per_problem,
            a.temperature,
            a.top_p,
            a.max_tokens,
            a.seed
        )
    }

    /// Every problem `-n` times; what an interrupted call finished is kept.
    fn generate(
        &self,
        problems: &[Problem],
        path: &Path,
        start: Start,
        progress: &dyn Progress,
    ) -> Result<(), GenerateError> {
        let args = self.args;
        let (mut writer, done) = match start {
            Start::Continue => SamplesWriter::resume(path)?,
            Start::Fresh => (SamplesWriter::create(path)?, Default::default()),
        };
        let wanted: Vec<(&Problem, String, u64)> = problems
            .iter()
            .flat_map(|p| (0..args.samples_per_problem as u64).map(move |i| (p, i)))
            .map(|(p, i)| (p, format!("{}#{i}", p.id), args.seed + i))
            .filter(|(_, id, _)| !done.contains(id))
            .collect();
        let requests: Vec<Request> = (wanted.iter())
            .map(|(problem, _, seed)| self.request(problem, *seed))
            .collect();
        let mut failures = Vec::new();
        let mut write_error = None;
        progress.begin("generating", requests.len());
        self.endpoint
            .complete_all(&requests, args.concurrency, |index, result| {
                progress.advance();
                let (problem, id, _) = &wanted[index];
                let text = match result {
                    Ok(text) => text,
                    Err(error) => return failures.push(error),
                };
                let code = match self.api {
                    Api::Completions => program_of_completion(problem, &text),
                    Api::Chat => program_of_chat_reply(problem, &text),
                };
                let sample = Sample {
                    problem_id: problem.id.clone(),
                    sample_id: id.clone(),
                    code,
                    model: Some(self.model.clone()),
                    mutation: None,
                };
                if write_error.is_none() {
                    write_error = writer.write(&sample).err();
                }
            });
        progress.end();
        if let Some(error) = write_error {
            return Err(error.into());
        }
        match failures.first() {
            None => Ok(()),
            Some(first) => Err(format!(
                "{} of {} requests failed (the {} finished samples are kept in {}; rerun to \
                 generate the rest): {first}",
                failures.len(),
                requests.len(),
                requests.len() - failures.len(),
                path.display()
            )
            .into()),
        }
    }
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

    fn generate(
        &self,
        problems: &[Problem],
        path: &Path,
        start: Start,
        progress: &dyn Progress,
    ) -> Result<(), GenerateError> {
        let prompts = problem_prompts(problems);
        let resume = start == Start::Continue;
        let result =
            generate_into(
                &self.settings(),
                &prompts,
                path,
                resume,
                &mut |event| match event {
                    ProgressEvent::Begin { total, done } => {
                        progress.begin("generating", total - done)
                    }
                    ProgressEvent::Advance { status } => {
                        progress.message(&status);
                        progress.advance()
                    }
                },
            );
        progress.end();
        result.map(|_| ()).map_err(Into::into)
    }
}
