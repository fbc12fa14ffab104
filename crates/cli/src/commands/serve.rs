//! `tracealign serve`: the execution and dense-reward HTTP service (the `tracealign-serve`
//! library's server), from flags to settings, started, then waited on until SIGTERM or
//! SIGINT stops it gracefully.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use tracealign_core::Problem;
use tracealign_dataset::align::Aligner;
use tracealign_pipeline::ProblemSource;
use tracealign_serve::{RequestLimits, ServeSettings, Server, TokenizerSource};
use tracealign_train::gguf::read_gguf;
use tracealign_train::Device;

use crate::args::{ExecArgs, FormatArg, TraceCapArgs};
use crate::commands::workers::{problem_format, traced_exec_settings};
use crate::printer;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen. Anything but loopback should also get --token-file.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Problems prepared at start and addressed by id (repeatable; any problem-file format).
    /// Default: the embedded problem set. Requests may also send problems inline.
    #[arg(long, short = 'p', value_name = "FILE")]
    pub problems: Vec<PathBuf>,

    /// The problems' format, when detection guesses wrong.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,

    /// A `tokenizer.json`, or a GGUF model file whose tokenizer to use (its weights are read
    /// once and dropped): /v1/reward then takes token ids, and tokenizes completions sent
    /// without tokens.
    #[arg(long, value_name = "FILE")]
    pub tokenizer: Option<PathBuf>,

    /// Requests held at once, running or waiting; past it the server answers 429 with
    /// Retry-After. Default: 64 per worker.
    #[arg(long, value_name = "N")]
    pub queue: Option<usize>,

    /// A file holding a bearer token that every route but /health then requires
    /// (`Authorization: Bearer TOKEN`).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    #[command(flatten)]
    pub exec: ExecArgs,

    #[command(flatten)]
    pub trace_caps: TraceCapArgs,

    #[command(flatten)]
    pub request_limits: RequestLimitArgs,
}

/// What one request may ask for; past a bound the answer is a 413 or 422 naming the field.
#[derive(Debug, Args)]
#[command(next_help_heading = "Request limits")]
pub struct RequestLimitArgs {
    /// Largest request body, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 16)]
    pub max_body_mb: usize,

    /// Largest program (`code`, `completion`), in KiB.
    #[arg(long, value_name = "KIB", default_value_t = 256)]
    pub max_code_kb: usize,

    /// Most programs in one /v1/evaluate or /v1/reward request.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_programs: usize,

    /// Most test cases in one /submit.
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub max_tests: usize,

    /// Longest `run_timeout` a request may set, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub max_run_timeout: f64,

    /// Largest `memory_limit_MB` a request may set.
    #[arg(long, value_name = "MIB", default_value_t = 16384)]
    pub max_memory_mb: u64,
}

impl RequestLimitArgs {
    fn limits(&self) -> Result<RequestLimits> {
        let positive = [
            ("--max-body-mb", self.max_body_mb),
            ("--max-code-kb", self.max_code_kb),
            ("--max-programs", self.max_programs),
            ("--max-tests", self.max_tests),
            ("--max-memory-mb", self.max_memory_mb as usize),
        ];
        if let Some((flag, _)) = positive.iter().find(|(_, value)| *value == 0) {
            bail!("{flag} must be at least 1");
        }
        if !(self.max_run_timeout > 0.0 && self.max_run_timeout.is_finite()) {
            bail!("--max-run-timeout must be a positive number of seconds");
        }
        Ok(RequestLimits {
            body_bytes: self.max_body_mb << 20,
            code_bytes: self.max_code_kb << 10,
            programs: self.max_programs,
            tests: self.max_tests,
            run_timeout_s: self.max_run_timeout,
            memory_mb: self.max_memory_mb,
            ..RequestLimits::default()
        })
    }
}

pub fn serve(args: ServeArgs) -> Result<()> {
    let mut settings = ServeSettings::new(traced_exec_settings(&args.exec, &args.trace_caps)?);
    settings.addr = args.addr;
    settings.problems = problems(&args)?;
    settings.tokenizer = args.tokenizer.as_deref().map(tokenizer).transpose()?;
    settings.token = token(args.token_file.as_deref())?;
    settings.signals = true;
    settings.limits = args.request_limits.limits()?;
    if let Some(queue) = args.queue {
        if queue == 0 {
            bail!("--queue must be at least 1");
        }
        settings.queue = queue;
    }
    if !args.addr.ip().is_loopback() && settings.token.is_none() {
        printer::warning(&format!(
            "listening on {} without --token-file: anyone who reaches it can run programs",
            args.addr
        ));
    }
    let (count, workers) = (settings.problems.len(), settings.exec.config.workers);
    printer::note(format_args!(
        "preparing {count} problems on {workers} workers (references run and traced once)"
    ));
    let server = Server::start(settings)?;
    printer::line(format_args!(
        "listening on http://{} ({count} problems, {workers} workers); SIGTERM or Ctrl-C stops it",
        server.addr
    ));
    server.wait()?;
    printer::note("stopped");
    Ok(())
}

fn problems(args: &ServeArgs) -> Result<Vec<Problem>> {
    let format = args.format.map(problem_format);
    if args.problems.is_empty() {
        return Ok(ProblemSource::default().load()?);
    }
    let mut problems = Vec::new();
    for path in &args.problems {
        let source = ProblemSource {
            path: Some(path.clone()),
            format,
        };
        problems.extend(source.load()?);
    }
    Ok(problems)
}

/// A `tokenizer.json` (read by the server), or a GGUF model's tokenizer, read here as
/// `tracealign train` and `generate` read it.
fn tokenizer(path: &Path) -> Result<TokenizerSource> {
    if path.extension().is_none_or(|e| e != "gguf") {
        return Ok(TokenizerSource::File(path.to_path_buf()));
    }
    let model = read_gguf(path, &Device::Cpu)
        .with_context(|| format!("cannot read the tokenizer of {}", path.display()))?;
    Ok(TokenizerSource::Built {
        name: path.display().to_string(),
        aligner: Box::new(Aligner::new(model.tokenizer.inner)),
    })
}

fn token(path: Option<&std::path::Path>) -> Result<Option<String>> {
    let Some(path) = path else { return Ok(None) };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the token file {}", path.display()))?;
    let token = text.trim();
    if token.is_empty() {
        bail!("the token file {} is empty", path.display());
    }
    Ok(Some(token.to_string()))
}
