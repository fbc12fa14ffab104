//! Samples from an OpenAI-compatible server (vLLM, llama.cpp's server, ...) as a
//! [`Generator`] for the evaluation job: every problem `n` times, completions continued from
//! the prompt or chat replies' code blocks, written as they arrive.

use serde_json::json;
use tracealign_core::completion::{
    chat_request, completion_prompt, program_of_chat_reply, program_of_completion, stop_sequences,
};
use tracealign_core::formats::samples::SamplesWriter;
use tracealign_core::{Problem, Sample};
use tracealign_endpoint::{Api, Endpoint, Request};

use crate::eval_job::{GenerateError, Generation, Generator};
use crate::stages::Start;

/// How a server is sampled.
#[derive(Debug, Clone)]
pub struct ServerSampling {
    /// Samples per problem.
    pub n: usize,
    pub temperature: f64,
    pub top_p: f64,
    pub max_tokens: u32,
    /// Sample `i` of a problem asks for `seed + i` (when sampling, for servers that take one).
    pub seed: u64,
    /// Requests in flight at once.
    pub concurrency: usize,
}

/// Samples from an OpenAI-compatible server.
pub struct ServerSamples {
    endpoint: Endpoint,
    api: Api,
    model: String,
    sampling: ServerSampling,
}

impl ServerSamples {
    pub fn new(endpoint: Endpoint, api: Api, model: String, sampling: ServerSampling) -> Self {
        ServerSamples {
            endpoint,
            api,
            model,
            sampling,
        }
    }

    fn request(&self, problem: &Problem, seed: u64) -> Request {
        let s = &self.sampling;
        Request {
            prompt: match self.api {
                Api::Completions => completion_prompt(problem).into(),
                Api::Chat => chat_request(problem),
            },
            max_tokens: s.max_tokens,
            temperature: s.temperature,
            top_p: s.top_p,
            stop: match self.api {
                Api::Completions => (stop_sequences(problem).iter())
                    .map(|s| s.to_string())
                    .collect(),
                Api::Chat => Vec::new(),
            },
            seed: (s.temperature > 0.0).then_some(seed),
        }
    }

    fn program(&self, problem: &Problem, reply: &str) -> String {
        match self.api {
            Api::Completions => program_of_completion(problem, reply),
            Api::Chat => program_of_chat_reply(problem, reply),
        }
    }
}

impl Generator for ServerSamples {
    fn settings(&self) -> serde_json::Value {
        let s = &self.sampling;
        json!({
            "url": self.endpoint.url(), "model": self.model, "api": format!("{:?}", self.api),
            "n": s.n, "temperature": s.temperature, "top_p": s.top_p,
            "max_tokens": s.max_tokens, "seed": s.seed,
        })
    }

    fn command(&self) -> String {
        let s = &self.sampling;
        format!(
            "tracealign eval --endpoint {} --model-name {} --api {} -n {} --temperature {} \
             --top-p {} --max-tokens {} --seed {}",
            self.endpoint.url(),
            self.model,
            format!("{:?}", self.api).to_lowercase(),
            s.n,
            s.temperature,
            s.top_p,
            s.max_tokens,
            s.seed
        )
    }

    /// Every problem `n` times; what an interrupted call finished is kept.
    fn generate(&self, to: &Generation) -> Result<(), GenerateError> {
        let (s, path, progress) = (&self.sampling, to.path, to.progress);
        let (mut writer, done) = match to.start {
            Start::Continue => SamplesWriter::resume(path)?,
            Start::Fresh => (SamplesWriter::create(path)?, Default::default()),
        };
        let wanted: Vec<(&Problem, String, u64)> = (to.problems.iter())
            .flat_map(|p| (0..s.n as u64).map(move |i| (p, i)))
            .map(|(p, i)| (p, format!("{}#{i}", p.id), s.seed + i))
            .filter(|(_, id, _)| !done.contains(id))
            .collect();
        let requests: Vec<Request> = (wanted.iter())
            .map(|(problem, _, seed)| self.request(problem, *seed))
            .collect();
        let sample = |index: usize, reply: &str| {
            let (problem, id, _) = &wanted[index];
            Sample {
                problem_id: problem.id.clone(),
                sample_id: id.clone(),
                code: self.program(problem, reply),
                model: Some(self.model.clone()),
                mutation: None,
            }
        };
        let Some(first) = requests.first() else {
            return Ok(());
        };
        progress.begin("generating", requests.len());
        // One request alone first: a server that is not there fails in seconds, instead of
        // every request of the batch retrying in turn.
        let reply = self
            .endpoint
            .complete(first)
            .inspect_err(|_| progress.end())?;
        writer.write(&sample(0, &reply))?;
        progress.advance();
        let mut failures = Vec::new();
        let mut write_error = None;
        let rest = &requests[1..];
        self.endpoint
            .complete_all(rest, s.concurrency, |index, result| {
                progress.advance();
                match result {
                    Ok(reply) if write_error.is_none() => {
                        write_error = writer.write(&sample(index + 1, &reply)).err();
                    }
                    Ok(_) => {}
                    Err(error) => failures.push(error),
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
