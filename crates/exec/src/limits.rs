//! Resource limits for jobs, with the defaults a user gets.

/// What the tracer records during each test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceMode {
    /// Nothing: the fastest.
    #[default]
    None,
    /// Which lines of the candidate's code each test ran.
    Coverage,
    /// Events with variable values (and coverage).
    Full,
}

/// Caps on one test's trace.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TraceLimits {
    /// Events recorded per test before the trace is cut (`truncated`). Default 10 000.
    pub max_events: u64,
    /// Approximate bytes per test trace. Default 256 KiB.
    pub max_bytes: u64,
    /// Characters per value `repr`. Default 60.
    pub max_value_chars: u64,
}

impl Default for TraceLimits {
    fn default() -> Self {
        TraceLimits {
            max_events: 10_000,
            max_bytes: 1 << 18,
            max_value_chars: 60,
        }
    }
}

impl TraceLimits {
    /// What a program's traced time depends on, the key under which a reference's traced
    /// times are kept ([`PreparedProblem::traced_seconds`](crate::PreparedProblem)): the
    /// mode, and for full traces these caps (how much is recorded). None untraced.
    pub fn timing_key(&self, mode: TraceMode) -> Option<String> {
        match mode {
            TraceMode::None => None,
            TraceMode::Coverage => Some("coverage".to_string()),
            TraceMode::Full => Some(format!(
                "full:events={},bytes={},chars={}",
                self.max_events, self.max_bytes, self.max_value_chars
            )),
        }
    }
}

/// Limits applied to every job. Defaults follow EvalPlus where it has one.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Limits {
    /// A test's wall-clock limit is `max(timeout_floor_s, timeout_factor × the reference
    /// solution's time on that test)`, the reference traced as the samples are. Default 1 s.
    pub timeout_floor_s: f64,
    /// Default 4.
    pub timeout_factor: f64,
    /// Per-test limit while running reference solutions (whose times set the others).
    /// Default 20 s.
    pub reference_timeout_s: f64,
    /// All tests of one sample together get at least this long; more when the reference
    /// needs it (`2 × timeout_factor × its total time`). Default 20 s.
    pub sample_budget_s: f64,
    /// Address-space limit of a job, in MiB (clamped to any lower hard limit). Default 1024.
    pub memory_mb: u64,
    /// Largest file a job may write, its stdout and stderr included. Default 1 MiB.
    pub output_bytes: u64,
    /// How much of stdout/stderr is kept in the run record. Default 2000 bytes.
    pub capture_bytes: u64,
    /// Processes (and threads) a job may have at once. Default 32.
    pub processes: u64,
    /// Threads of a job's numeric libraries' pools (`OMP_NUM_THREADS`,
    /// `OPENBLAS_NUM_THREADS`, ...): the job's share of the machine. Each is granted 64 MiB
    /// of address space on top of `memory_mb` for its stack and buffers. Default: the
    /// machine's cores, at most 4.
    pub threads: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout_floor_s: 1.0,
            timeout_factor: 4.0,
            reference_timeout_s: 20.0,
            sample_budget_s: 20.0,
            memory_mb: 1024,
            output_bytes: 1 << 20,
            capture_bytes: 2000,
            processes: 32,
            threads: default_threads(),
        }
    }
}

/// The machine's cores, at most 4: enough for a threaded library to use threads, few
/// enough that the jobs running side by side do not each start one per core.
fn default_threads() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4) as u64)
}

impl Limits {
    /// The `limits` object of a run request.
    pub(crate) fn wire(&self, budget_s: f64) -> serde_json::Value {
        serde_json::json!({
            "memory_bytes": self.memory_mb << 20,
            "cpu_seconds": (budget_s * 1.5).ceil() as u64 + 1,
            "output_bytes": self.output_bytes,
            "capture_bytes": self.capture_bytes,
            "processes": self.processes,
            "threads": self.threads.clamp(1, self.processes.max(1)),
            "sample_seconds": budget_s,
        })
    }
}
