//! Command-line arguments. Doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Turn program executions into fine-grained training signal for code models.
#[derive(Debug, Parser)]
#[command(name = "tracealign", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The main job: mutants of the reference solutions, plus the given (default: embedded)
    /// samples, run with traces, fault reports, then SFT, DPO, repair and reward rows, all in
    /// one directory. Finished stages are reused when their inputs are unchanged.
    Pipeline(PipelineArgs),
    /// Run samples (or the reference solutions) against every test of their problems, safely,
    /// and write one execution record per sample to a JSON Lines file.
    Run(RunArgs),
    /// Trace one program on one test and print the trace as text for a prompt (or as JSON
    /// events), optionally with its first divergence from the reference solution.
    Trace(TraceArgs),
    /// Put single synthetic faults into the reference solutions (operator swaps, boundary
    /// shifts, misused variables, deleted statements, ...) and keep the mutants some test
    /// catches, with the fault's location as ground truth.
    Mutate(MutateArgs),
    /// Score every line of each failing program in a runs file by how likely it holds the
    /// fault, and write one fault report per program.
    Localize(LocalizeArgs),
    /// Print a program from a fault-reports file with a per-line suspiciousness column.
    Show(ShowArgs),
    /// Turn runs (and fault reports) into training data as JSON Lines for Hugging Face
    /// `datasets`: weighted SFT rows, DPO pairs, repair prompts or rewards.
    #[command(subcommand)]
    Build(BuildCommand),
    /// Benchmarks of record.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Localization accuracy (top-1/3/5, EXAM) of every method: on killed mutants of the
    /// problems' reference solutions, or with --samples on real failing programs whose
    /// ground truth is the diff to the nearest passing program of another model.
    Localize(BenchLocalizeArgs),
}

#[derive(Debug, Args)]
pub struct MutateArgs {
    /// Problems whose reference solutions are mutated. Default: the embedded problem set.
    #[arg(long, short = 'p', value_name = "FILE")]
    pub problems: Option<PathBuf>,

    /// Problem file format, when detection guesses wrong.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,

    /// Where to write the mutants (tracealign samples with a `mutation` field).
    #[arg(
        long,
        short = 'o',
        value_name = "FILE",
        default_value = "mutants.jsonl"
    )]
    pub output: PathBuf,

    /// Killed mutants kept per problem (fewer when a program has fewer).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub per_problem: usize,

    /// Seed of the order mutants are tried in; the same seed gives the same mutants.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,

    #[command(flatten)]
    pub exec: ExecArgs,

    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct LocalizeArgs {
    /// A runs file from `tracealign run` (best with `--trace full`: spectrum methods need
    /// coverage, divergence needs traces).
    #[arg(value_name = "RUNS")]
    pub runs: PathBuf,

    /// The problems the runs are of (for the reference solutions). Default: the embedded set.
    #[arg(long, short = 'p', value_name = "FILE")]
    pub problems: Option<PathBuf>,

    /// Problem file format, when detection guesses wrong.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,

    /// Where to write the fault reports (JSON Lines, one per sample).
    #[arg(long, short = 'o', value_name = "FILE", default_value = "faults.jsonl")]
    pub output: PathBuf,

    /// combined, divergence, values, mutation, exception, diff, ochiai, tarantula, dstar,
    /// recency or trivial.
    #[arg(long, short = 'm', value_name = "METHOD", default_value = "combined")]
    pub method: String,

    /// Mutants of each failing program run for mutation-based localization (0: none; they
    /// cost a run each).
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub mutation_budget: usize,

    #[command(flatten)]
    pub exec: ExecArgs,

    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A fault-reports file from `tracealign localize`.
    #[arg(value_name = "FAULTS")]
    pub faults: PathBuf,

    /// The sample to show. Default: every failing sample.
    #[arg(long, value_name = "ID")]
    pub sample: Option<String>,
}

#[derive(Debug, Args)]
pub struct BenchLocalizeArgs {
    /// Problems (with reference solutions and tests). Default: the embedded problem set.
    #[arg(long, short = 'p', value_name = "FILE")]
    pub problems: Option<PathBuf>,

    /// Problem file format, when detection guesses wrong.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,

    /// Real programs instead of mutants: a samples file, or a directory of them (one per
    /// model, e.g. the LDB seeds). Default: mutants of the reference solutions.
    #[arg(long, short = 's', value_name = "PATH")]
    pub samples: Option<PathBuf>,

    /// Mutants per problem.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub per_problem: usize,

    /// Seed of the mutants.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,

    /// Also write the figures as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Also write one JSON line per case: the program, its faulty lines and each method's
    /// ranking (for looking into misses).
    #[arg(long, value_name = "FILE")]
    pub cases: Option<PathBuf>,

    /// Search the combination's weights on these cases and print the best (for tuning on our
    /// own embedded problems only).
    #[arg(long)]
    pub fit: bool,

    /// Mutants of each failing program run for mutation-based localization (0: none).
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub mutation_budget: usize,

    #[command(flatten)]
    pub exec: ExecArgs,

    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// Problems (any supported format). Default: the embedded problem set.
    #[arg(long, short = 'p', value_name = "FILE")]
    pub problems: Option<PathBuf>,

    /// The program to trace, as a file.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "sample",
        required_unless_present = "sample"
    )]
    pub code: Option<PathBuf>,

    /// With --code: the problem it solves. Default: the only problem, or an error.
    #[arg(long, value_name = "ID", requires = "code")]
    pub problem: Option<String>,

    /// The program to trace, as a sample id (from --samples; default the embedded samples).
    #[arg(long, value_name = "ID")]
    pub sample: Option<String>,

    /// The samples file holding --sample.
    #[arg(long, short = 's', value_name = "FILE", requires = "sample")]
    pub samples: Option<PathBuf>,

    /// The test to run (its name in the problem). Default: the first test the program fails,
    /// else the first test.
    #[arg(long, short = 't', value_name = "NAME")]
    pub test: Option<String>,

    /// Rendering style: lines (PySnooper-like), blocks (LDB-like), inline (values as
    /// comments in the source) or summary.
    #[arg(long, default_value = "lines")]
    pub style: String,

    /// Token budget for the rendering.
    #[arg(long, value_name = "TOKENS")]
    pub budget: Option<usize>,

    /// Count tokens with this Hugging Face tokenizer.json (default: characters / 4).
    #[arg(long, value_name = "FILE")]
    pub tokenizer: Option<PathBuf>,

    /// Also trace the reference solution and report the first divergence from it.
    #[arg(long)]
    pub against_reference: bool,

    /// Print the events (and divergence) as JSON instead of text.
    #[arg(long)]
    pub json: bool,

    /// Problem file format, when detection guesses wrong.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,

    /// The Python interpreter to run programs with.
    #[arg(long, value_name = "PATH", env = "TRACEALIGN_PYTHON")]
    pub python: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Problems (JSONL or JSONL.gz: tracealign, HumanEval, MBPP or EvalPlus format).
    /// Default: the embedded problem set.
    #[arg(long, short = 'p', value_name = "FILE")]
    pub problems: Option<PathBuf>,

    /// Samples to run (HumanEval/EvalPlus `completion`/`solution`, or tracealign format);
    /// `embedded` for the embedded faulty samples. Default: each problem's reference solution.
    #[arg(long, short = 's', value_name = "FILE")]
    pub samples: Option<PathBuf>,

    /// Where to write the executions (JSON Lines, one per sample).
    #[arg(long, short = 'o', value_name = "FILE", default_value = "runs.jsonl")]
    pub output: PathBuf,

    /// Problem file format, when detection guesses wrong.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,

    /// Keep the samples already in the output file and run only the rest.
    #[arg(long)]
    pub resume: bool,

    /// Skip samples whose problem is not in the problem set (an error otherwise).
    #[arg(long)]
    pub skip_unknown: bool,

    #[command(flatten)]
    pub exec: ExecArgs,

    /// Record what each test did: `coverage` (lines run, cheap) or `full` (events with
    /// variable values). Traces over 64 KiB per sample go to `<output>.traces.jsonl`.
    #[arg(long, value_enum, default_value = "none")]
    pub trace: TraceArg,

    /// Events recorded per test before a trace is cut (marked `truncated`).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub trace_max_events: u64,

    /// Characters kept of each value's repr in traces.
    #[arg(long, value_name = "N", default_value_t = 60)]
    pub trace_value_chars: u64,

    /// Also write the summary as JSON.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,

    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// How programs are run: workers, limits, isolation, the prepared-problem cache.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Parallel workers. Default: one per core.
    #[arg(long, short = 'j', value_name = "N", env = "TRACEALIGN_JOBS")]
    pub jobs: Option<usize>,

    /// A test's time limit is max(floor, factor × the reference solution's time on it).
    #[arg(long, value_name = "F", default_value_t = 4.0)]
    pub timeout_factor: f64,

    /// Minimum time limit per test, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    pub timeout_floor: f64,

    /// Minimum time for all tests of one sample together, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 20.0)]
    pub sample_timeout: f64,

    /// Memory (address space) limit per program, in MiB.
    #[arg(long, value_name = "MB", default_value_t = 1024)]
    pub memory_mb: u64,

    /// The Python interpreter to run programs with.
    #[arg(long, value_name = "PATH", env = "TRACEALIGN_PYTHON")]
    pub python: Option<PathBuf>,

    /// Do not use namespaces (no network/filesystem isolation; resource limits only).
    #[arg(long)]
    pub no_isolation: bool,

    /// Where prepared problems (reference results and times) are cached.
    /// Default: $XDG_CACHE_HOME/tracealign or ~/.cache/tracealign.
    #[arg(long, value_name = "DIR", env = "TRACEALIGN_CACHE")]
    pub cache_dir: Option<PathBuf>,

    /// Run the reference solutions again instead of using the cache.
    #[arg(long)]
    pub no_cache: bool,
}

/// Trace modes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TraceArg {
    None,
    Coverage,
    Full,
}

/// Problem file formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Tracealign,
    Humaneval,
    Mbpp,
    Evalplus,
}

#[derive(Debug, Subcommand)]
pub enum BuildCommand {
    /// Weighted SFT rows (FAIT): every passing program, its error-sensitive segments (where
    /// it differs from similar failing programs of its problem, else from killed mutants of
    /// itself) weighing more.
    Sft(BuildSftArgs),
    /// DPO pairs in TRL's columns (prompt, chosen, rejected): chosen passes, rejected fails,
    /// with masks of where they differ and of the rejected program's suspicious lines.
    Dpo(BuildDpoArgs),
    /// Repair examples: failing program and feedback in, fixed program out, as RepairLLaMA's
    /// buggy-line markers or cloze, or with the failing test's trace under a token budget.
    Repair(BuildRepairArgs),
    /// Rewards per program: scalar (binary, pass ratio, RLTF, adaptive) and dense (fault
    /// penalty, error line, FAIT), each row naming its scheme.
    Rewards(BuildRewardsArgs),
}

/// What every builder reads and writes.
#[derive(Debug, Args)]
pub struct BuildInputs {
    /// The problems the runs are of. Default: the embedded problem set.
    #[arg(long, short = 'p', value_name = "FILE")]
    pub problems: Option<PathBuf>,

    /// Problem file format, when detection guesses wrong.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,

    /// A runs file from `tracealign run` (with `--trace full` for trace-augmented repair).
    #[arg(long, value_name = "FILE")]
    pub runs: PathBuf,

    /// Fault reports from `tracealign localize` on the same runs.
    #[arg(long, value_name = "FILE")]
    pub faults: Option<PathBuf>,

    /// A Hugging Face tokenizer.json: adds token columns (input_ids, attention_mask and
    /// labels; for dpo TRL's prompt/chosen/rejected_input_ids) and puts weights, masks and
    /// dense rewards on tokens instead of characters.
    #[arg(long, value_name = "FILE")]
    pub tokenizer: Option<PathBuf>,

    /// With --tokenizer: a token appended to every completion (e.g. `<|endoftext|>`).
    #[arg(long, value_name = "TOKEN", requires = "tokenizer")]
    pub eos_token: Option<String>,

    /// Where to write the rows (JSON Lines).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,

    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// FAIT's weights and how the programs compared with are chosen.
#[derive(Debug, Args)]
pub struct FaitArgs {
    /// Extra weight of the tokens that differ (they weigh 1 + alpha).
    #[arg(long, value_name = "A", default_value_t = 1.0)]
    pub alpha: f64,

    /// Extra weight of the rest of the lines that differ (they weigh 1 + beta).
    #[arg(long, value_name = "B", default_value_t = 0.5)]
    pub beta: f64,

    /// Compare with every similar program of the other verdict, or only the nearest.
    #[arg(long, value_enum, default_value = "all")]
    pub contrast: ContrastArg,

    /// A program is similar when the diff changes at most this share of its code lines.
    #[arg(long, value_name = "SHARE", default_value_t = 0.5)]
    pub max_changed_share: f64,
}

#[derive(Debug, Args)]
pub struct BuildSftArgs {
    #[command(flatten)]
    pub inputs: BuildInputs,

    #[command(flatten)]
    pub fait: FaitArgs,

    /// Scale each row's trained weights to a mean of 1.
    #[arg(long)]
    pub normalize: bool,

    /// Mutants tried for a passing program with no similar failing program (run, and only
    /// those some test kills kept).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub mutants: usize,

    /// Seed of the mutants.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,

    /// Use the mutants without running them (no Python needed; some may be equivalent).
    #[arg(long)]
    pub no_run_mutants: bool,

    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(Debug, Args)]
pub struct BuildDpoArgs {
    #[command(flatten)]
    pub inputs: BuildInputs,

    /// nearest: each failing program with its nearest passing one (token edit distance);
    /// all: every pair; random: --max-pairs pairs per problem drawn from all.
    #[arg(long, value_enum, default_value = "nearest")]
    pub pairing: PairingArg,

    /// With --pairing random: pairs per problem.
    #[arg(long, value_name = "K")]
    pub max_pairs: Option<usize>,

    /// Seed of --pairing random.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,

    /// Most suspicious lines of the rejected program the fault mask covers (ties included).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub fault_lines: usize,
}

#[derive(Debug, Args)]
pub struct BuildRepairArgs {
    #[command(flatten)]
    pub inputs: BuildInputs,

    /// Representations to write (comma-separated). Default: all.
    #[arg(
        long = "repr",
        value_enum,
        value_delimiter = ',',
        default_value = "markers,cloze,trace"
    )]
    pub representations: Vec<ReprArg>,

    /// Trace style in trace prompts: lines, blocks, inline or summary.
    #[arg(long, default_value = "lines")]
    pub style: String,

    /// Most tokens a trace prompt may take (counted with --tokenizer, else characters / 4).
    #[arg(long, value_name = "TOKENS", default_value_t = 2048)]
    pub budget: usize,
}

#[derive(Debug, Args)]
pub struct BuildRewardsArgs {
    #[command(flatten)]
    pub inputs: BuildInputs,

    /// Schemes to score (comma-separated). Default: all (fault_penalty only with --faults).
    #[arg(long = "scheme", value_enum, value_delimiter = ',')]
    pub schemes: Vec<SchemeArg>,

    #[command(flatten)]
    pub fait: FaitArgs,
}

/// Which programs a program is compared with.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ContrastArg {
    All,
    Nearest,
}

/// DPO pairing strategies.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PairingArg {
    Nearest,
    All,
    Random,
}

/// Repair representations.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReprArg {
    Markers,
    Cloze,
    Trace,
}

/// Reward schemes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemeArg {
    Binary,
    #[value(name = "pass_ratio")]
    PassRatio,
    Rltf,
    Adaptive,
    #[value(name = "fault_penalty")]
    FaultPenalty,
    #[value(name = "error_line")]
    ErrorLine,
    Fait,
}

#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// Problems (any supported format). Default: the embedded problem set.
    #[arg(long, short = 'p', value_name = "FILE")]
    pub problems: Option<PathBuf>,

    /// Samples to run besides the mutants. Default: the embedded faulty and correct samples.
    #[arg(long, short = 's', value_name = "FILE")]
    pub samples: Option<PathBuf>,

    /// Where every stage's output goes.
    #[arg(long, value_name = "DIR", default_value = "tracealign-out")]
    pub out: PathBuf,

    /// A Hugging Face tokenizer.json for the training rows' token columns.
    #[arg(long, value_name = "FILE")]
    pub tokenizer: Option<PathBuf>,

    /// Killed mutants generated per problem.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub mutants_per_problem: usize,
}
