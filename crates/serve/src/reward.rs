//! `POST /v1/reward`: for each completion, scalar rewards by scheme (binary, pass_ratio,
//! rltf, adaptive), its fault report, per-line rewards of a dense scheme and **per-token
//! rewards aligned to the caller's tokens** (what an RL trainer writes into its reward
//! tensor), and the first divergence from the reference solution's trace as a character
//! span of the completion (where a wrong program first departs from a correct one);
//! optionally the first failing test's trace rendered as feedback under a token budget.
//!
//! Programs run traced on the traced executor; failing ones are localized with the
//! reference runs traced at start (`localize_with`, no mutant runs); rewards come from
//! `rewards::score`. Tokens: `token_offsets` (character spans of the completion, half-open),
//! or `token_ids` (with a tokenizer loaded: each token's span is where decoding it moves
//! the end of the decoded text), or, with a tokenizer and neither, the server's own
//! encoding of the completion (its ids returned); with no tokens at all, one value per
//! character of the completion.

use std::collections::BTreeMap;
use std::ops::Range;
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use tracealign_core::{Execution, FaultReport, Problem};
use tracealign_dataset::align::{token_values, Aligner};
use tracealign_dataset::contrast::ContrastOptions;
use tracealign_dataset::feedback::Failure;
use tracealign_dataset::lines::LineIndex;
use tracealign_dataset::rewards::{score, Evidence, Scheme};
use tracealign_dataset::sensitive::SensitiveWeights;
use tracealign_localize::Method;
use tracealign_pipeline::{localize_with, LocalizeInputs, LocalizeSettings, NoProgress};
use tracealign_trace::divergence::first_failing_divergence;
use tracealign_trace::render::{self, CharsPerToken, RenderInput, RenderOptions, TestContext};
use tracealign_trace::Divergence;

use crate::api_error::ApiError;
use crate::app::AppState;
use crate::body::JsonBody;
use crate::evaluate::{
    check_programs, in_order, prepared_of, record_outcomes, ProgramInput, ProgramText,
};
use crate::registry::Entry;

const SCALAR_SCHEMES: [Scheme; 4] = [
    Scheme::Binary,
    Scheme::PassRatio,
    Scheme::Rltf,
    Scheme::Adaptive,
];

fn fault_penalty() -> String {
    "fault_penalty".to_string()
}

/// The request.
#[derive(Debug, Deserialize)]
pub struct RewardRequest {
    #[serde(default)]
    pub problems: Vec<serde_json::Value>,
    pub completions: Vec<RewardInput>,
    /// The dense scheme of the line and token arrays: `fault_penalty` (default),
    /// `error_line` or `fait` (contrasted with the request's other completions of the same
    /// problem that got the other verdict; a failing one with none, with the reference).
    #[serde(default = "fault_penalty")]
    pub dense: String,
    /// Render the first failing test's trace as repair feedback within this many tokens.
    #[serde(default)]
    pub feedback_budget: Option<usize>,
}

/// One completion, as `/v1/evaluate` takes it, with its tokens.
#[derive(Debug, Clone, Deserialize)]
pub struct RewardInput {
    pub problem_id: String,
    #[serde(default)]
    pub sample_id: Option<String>,
    #[serde(default)]
    pub completion: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    /// Character spans `[start, end)` of the completion (or of `code`), one per token.
    #[serde(default)]
    pub token_offsets: Option<Vec<(usize, usize)>>,
    /// Token ids of the completion (needs `serve --tokenizer`).
    #[serde(default)]
    pub token_ids: Option<Vec<u32>>,
}

/// The first divergence, placed in the completion.
#[derive(Debug, Serialize)]
pub struct DivergenceSpan {
    /// The failing test it was found on.
    pub test: String,
    /// The candidate's line (1-based, in the whole program).
    pub line: u32,
    /// Characters `[start, end)` of the completion: the line's content; null when the
    /// line is in the prompt.
    pub start: Option<usize>,
    pub end: Option<usize>,
    #[serde(flatten)]
    pub divergence: Divergence,
}

/// One completion's rewards.
#[derive(Debug, Serialize)]
pub struct RewardItem {
    pub sample_id: String,
    pub problem_id: String,
    pub passed: bool,
    /// Scalar rewards by scheme name.
    pub rewards: BTreeMap<&'static str, f64>,
    pub dense_scheme: &'static str,
    /// One value per line of the whole program.
    pub line_rewards: Vec<f64>,
    /// One value per token, when tokens were given or a tokenizer is loaded.
    pub token_rewards: Option<Vec<f64>>,
    /// The server's tokens of the completion, when it tokenized it.
    pub token_ids: Option<Vec<u32>>,
    /// Each token's characters `[start, end)` of the completion, when the server's tokenizer
    /// placed them (its own tokens, or the `token_ids` given).
    pub token_spans: Option<Vec<(usize, usize)>>,
    /// One value per character of the completion, when there are no tokens.
    pub char_rewards: Option<Vec<f64>>,
    /// Characters of the program before the completion (the prompt's, for a completion).
    pub completion_offset: usize,
    pub fault: FaultReport,
    pub divergence: Option<DivergenceSpan>,
    pub feedback: Option<String>,
    /// The run's record (traces left out).
    pub execution: Execution,
}

#[derive(Debug, Serialize)]
pub struct RewardResponse {
    pub results: Vec<RewardItem>,
}

pub async fn reward(
    State(state): State<Arc<AppState>>,
    JsonBody(request): JsonBody<RewardRequest>,
) -> Result<Json<RewardResponse>, ApiError> {
    let dense = dense_scheme(&request.dense)?;
    let inputs: Vec<ProgramInput> = request.completions.iter().map(program_input).collect();
    let checked = check_programs(&state, &request.problems, &inputs, "completions")?;
    let tokens = (request.completions.iter().enumerate())
        .map(|(index, input)| tokens_of(&state, index, input))
        .collect::<Result<Vec<_>, ApiError>>()?;
    let texts: Vec<ProgramText> = checked.programs.iter().map(|p| p.text.clone()).collect();
    let ticket = state.admission.admit(state.metrics.mean_seconds())?;
    let shared = Arc::clone(&state);
    let budget = request.feedback_budget;
    let results = (state.admission)
        .run(&ticket, move || {
            let entries = checked.entries(&shared)?;
            let samples = checked.samples(&entries);
            let executions = in_order(&samples, |done| {
                let prepared = prepared_of(&entries, |e| &e.traced);
                shared.engine.traced.run(&prepared, &samples, done)
            });
            record_outcomes(&shared, &executions);
            let reports = localize(&shared, &entries, &executions)?;
            let job = Job {
                aligner: shared.aligner.as_ref(),
                entries: &entries,
                executions: &executions,
                dense,
                budget,
            };
            (0..executions.len())
                .map(|k| job.item(k, &reports[k], &texts[k], &tokens[k]))
                .collect::<Result<Vec<_>, ApiError>>()
        })
        .await??;
    Ok(Json(RewardResponse { results }))
}

fn dense_scheme(name: &str) -> Result<Scheme, ApiError> {
    match Scheme::from_str(name) {
        Ok(scheme) if scheme.is_dense() => Ok(scheme),
        _ => Err(ApiError::invalid(
            "dense",
            "expected fault_penalty, error_line or fait",
        )),
    }
}

fn program_input(input: &RewardInput) -> ProgramInput {
    ProgramInput {
        problem_id: input.problem_id.clone(),
        sample_id: input.sample_id.clone(),
        completion: input.completion.clone(),
        code: input.code.clone(),
        model: None,
    }
}

/// Per-token rewards; the server's token ids when it encoded the completion itself; the
/// tokens' character spans when its tokenizer placed them.
#[derive(Default)]
struct TokenRewards {
    rewards: Option<Vec<f64>>,
    ids: Option<Vec<u32>>,
    spans: Option<Vec<(usize, usize)>>,
}

impl TokenRewards {
    fn placed(chars: &[f64], spans: Vec<Range<usize>>, ids: Option<Vec<u32>>) -> TokenRewards {
        TokenRewards {
            rewards: Some(token_values(&spans, chars, 0.0)),
            ids,
            spans: Some(spans.iter().map(|s| (s.start, s.end)).collect()),
        }
    }
}

/// How a completion's tokens are known.
enum Tokens {
    Spans(Vec<Range<usize>>),
    /// Spans from the server's tokenizer: of the ids given, or of its own encoding.
    Tokenizer(Option<Vec<u32>>),
    None,
}

fn tokens_of(state: &AppState, index: usize, input: &RewardInput) -> Result<Tokens, ApiError> {
    let at = format!("completions[{index}]");
    match (&input.token_offsets, &input.token_ids) {
        (Some(_), Some(_)) => Err(ApiError::invalid(
            &at,
            "give `token_offsets` or `token_ids`, not both",
        )),
        (Some(offsets), None) => {
            crate::RequestLimits::check_count(
                &format!("{at}.token_offsets"),
                offsets.len(),
                state.limits.code_bytes,
            )?;
            match offsets.iter().position(|(s, e)| s > e) {
                Some(k) => Err(ApiError::invalid(
                    &format!("{at}.token_offsets[{k}]"),
                    "start after end",
                )),
                None => Ok(Tokens::Spans(offsets.iter().map(|&(s, e)| s..e).collect())),
            }
        }
        (None, Some(ids)) if state.aligner.is_none() => Err(ApiError::invalid(
            &format!("{at}.token_ids"),
            "this server has no tokenizer (serve --tokenizer tokenizer.json); send `token_offsets`",
        )),
        (None, Some(ids)) => {
            crate::RequestLimits::check_count(
                &format!("{at}.token_ids"),
                ids.len(),
                state.limits.code_bytes,
            )?;
            Ok(Tokens::Tokenizer(Some(ids.clone())))
        }
        (None, None) if state.aligner.is_some() => Ok(Tokens::Tokenizer(None)),
        (None, None) => Ok(Tokens::None),
    }
}

/// Fault reports of every execution, on the traced executor with the references traced at
/// start; no mutant runs (they would multiply a request's cost).
fn localize(
    state: &AppState,
    entries: &BTreeMap<String, Arc<Entry>>,
    executions: &[Execution],
) -> Result<Vec<FaultReport>, ApiError> {
    let problems: Vec<Problem> = entries.values().map(|e| e.problem.clone()).collect();
    let references: Vec<Execution> = entries.values().map(|e| e.reference.clone()).collect();
    let prepared = prepared_of(entries, |e| &e.traced);
    let lane = state.engine.traced.take();
    let settings = LocalizeSettings {
        method: Method::Combined,
        mutation_budget: 0,
        exec: state.engine.settings.clone(),
    };
    let inputs = LocalizeInputs {
        problems: &problems,
        executions,
        references: &references,
        traced: Some((&lane, &prepared)),
    };
    localize_with(&settings, &inputs, &NoProgress).map_err(ApiError::internal)
}

/// What every item of one request shares.
struct Job<'a> {
    aligner: Option<&'a Aligner>,
    entries: &'a BTreeMap<String, Arc<Entry>>,
    executions: &'a [Execution],
    dense: Scheme,
    budget: Option<usize>,
}

impl Job<'_> {
    fn item(
        &self,
        k: usize,
        report: &FaultReport,
        text: &ProgramText,
        tokens: &Tokens,
    ) -> Result<RewardItem, ApiError> {
        let execution = &self.executions[k];
        let entry = &self.entries[&execution.problem_id];
        let offset = match text {
            ProgramText::Code(_) => 0,
            ProgramText::Completion(_) => entry.problem.prompt.chars().count(),
        };
        let contrast = self.contrast(execution, entry);
        let evidence = Evidence {
            execution,
            fault: Some(report),
            contrast: &contrast,
            weights: SensitiveWeights::default(),
            contrast_options: ContrastOptions::default(),
        };
        let mut rewards = BTreeMap::new();
        for scheme in SCALAR_SCHEMES {
            let value = score(&evidence, scheme).map_err(ApiError::internal)?.value;
            rewards.insert(scheme.name(), value.unwrap_or(0.0));
        }
        let dense = score(&evidence, self.dense).map_err(ApiError::internal)?;
        let completion_chars = dense.chars.get(offset..).unwrap_or_default();
        let completion: String = execution.code.chars().skip(offset).collect();
        let tokens = self.per_token(k, &completion, completion_chars, tokens)?;
        let divergence = divergence_of(execution, entry, offset);
        Ok(RewardItem {
            sample_id: execution.sample_id.clone(),
            problem_id: execution.problem_id.clone(),
            passed: execution.passed,
            rewards,
            dense_scheme: self.dense.name(),
            line_rewards: dense.lines,
            char_rewards: tokens.rewards.is_none().then(|| completion_chars.to_vec()),
            token_rewards: tokens.rewards,
            token_ids: tokens.ids,
            token_spans: tokens.spans,
            completion_offset: offset,
            fault: report.clone(),
            feedback: self
                .budget
                .and_then(|b| self.feedback(execution, entry, &divergence, b)),
            divergence,
            execution: without_traces(execution),
        })
    }

    /// For `fait`: the request's other programs of the same problem with the other
    /// verdict; a failing program with none is contrasted with the reference.
    fn contrast<'e>(&'e self, execution: &Execution, entry: &'e Entry) -> Vec<&'e str> {
        let others: Vec<&str> = (self.executions.iter())
            .filter(|e| e.problem_id == execution.problem_id && e.passed != execution.passed)
            .map(|e| e.code.as_str())
            .collect();
        match others.is_empty() && !execution.passed {
            true => vec![entry.problem.reference.as_str()],
            false => others,
        }
    }

    /// Per-token rewards (and the server's token ids when it encoded the completion).
    fn per_token(
        &self,
        k: usize,
        completion: &str,
        chars: &[f64],
        tokens: &Tokens,
    ) -> Result<TokenRewards, ApiError> {
        let field = format!("completions[{k}].token_ids");
        match (tokens, self.aligner) {
            (Tokens::Spans(spans), _) => Ok(TokenRewards {
                rewards: Some(token_values(spans, chars, 0.0)),
                ..TokenRewards::default()
            }),
            (Tokens::Tokenizer(Some(ids)), Some(aligner)) => {
                let spans = spans_of_ids(aligner, ids).map_err(|e| ApiError::invalid(&field, e))?;
                Ok(TokenRewards::placed(chars, spans, None))
            }
            (Tokens::Tokenizer(None), Some(aligner)) => {
                let encoded = aligner.encode(completion, false).map_err(|e| {
                    ApiError::internal(format!("the tokenizer failed on completion {k}: {e:?}"))
                })?;
                Ok(TokenRewards::placed(
                    chars,
                    encoded.spans,
                    Some(encoded.ids),
                ))
            }
            _ => Ok(TokenRewards::default()),
        }
    }

    fn feedback(
        &self,
        execution: &Execution,
        entry: &Entry,
        divergence: &Option<DivergenceSpan>,
        budget: usize,
    ) -> Option<String> {
        let failure = Failure::first(&entry.problem, execution)?;
        let trace = execution.tests.get(failure.test?)?.trace.as_ref()?;
        let input = RenderInput {
            source: &execution.code,
            trace,
            test: Some(TestContext {
                name: &failure.name,
                code: failure.code.as_deref(),
                outcome: &failure.outcome,
            }),
            divergence: divergence.as_ref().map(|d| &d.divergence),
        };
        let options = RenderOptions {
            budget: Some(budget),
            ..RenderOptions::default()
        };
        let rendered = match self.aligner {
            Some(aligner) => render::render(&input, &options, aligner),
            None => render::render(&input, &options, &CharsPerToken),
        };
        Some(rendered.text)
    }
}

/// Each token's character span: where decoding the ids up to it moves the end of the text.
fn spans_of_ids(aligner: &Aligner, ids: &[u32]) -> Result<Vec<Range<usize>>, String> {
    let tokenizer = aligner.tokenizer();
    let mut spans = Vec::with_capacity(ids.len());
    let mut before = 0;
    for end in 1..=ids.len() {
        let text = tokenizer
            .decode(&ids[..end], false)
            .map_err(|e| e.to_string())?;
        let now = text.chars().count();
        spans.push(before.min(now)..now);
        before = now;
    }
    Ok(spans)
}

/// The first divergence on the first failing test both traces cover.
fn divergence_of(execution: &Execution, entry: &Entry, offset: usize) -> Option<DivergenceSpan> {
    let (test, divergence) =
        first_failing_divergence(execution, &entry.reference, &entry.problem.reference)?;
    let line = divergence.candidate.line;
    let content = LineIndex::new(&execution.code).content(line);
    let (start, end) = match content.start >= offset {
        true => (Some(content.start - offset), Some(content.end - offset)),
        false => (None, None),
    };
    Some(DivergenceSpan {
        test,
        line,
        start,
        end,
        divergence,
    })
}

fn without_traces(execution: &Execution) -> Execution {
    let mut execution = execution.clone();
    for test in &mut execution.tests {
        test.trace = None;
        test.coverage = None;
    }
    execution
}
