//! A model answering rows greedily, local ([`answer_rows`]) or behind an OpenAI-compatible
//! server ([`answer_rows_at`]): the same stops and cuts for `tracealign eval --task` and the
//! experiment's prediction stages, so that their figures compare.

use tracealign_endpoint::{Endpoint, EndpointError, Request as EndpointRequest};
use tracealign_train::generate::{generate_batched, Request, SamplingConfig};
use tracealign_train::sampling::{GenerateSettings, SamplingError};
use tracealign_train::{load_model, load_with_adapter, training::device};

use crate::reply::{stop, trimmed};
use crate::rows::PredictRow;

/// Each row's answer, in order: greedy (whatever `settings.temperature` says), through the
/// chat template when `settings.chat`, ending at a blank line (at three for a rationale) or
/// `settings.max_new_tokens`, then cut to the answer ([`trimmed`]). `on_answer` is called
/// once per row as it is finished.
pub fn answer_rows(
    settings: &GenerateSettings,
    rows: &[PredictRow],
    on_answer: &mut dyn FnMut(),
) -> Result<Vec<String>, SamplingError> {
    let load = |source| SamplingError::Load {
        model: settings.model.clone(),
        source,
    };
    let device = device(None).map_err(load)?;
    let mut loaded = match &settings.adapter {
        Some(adapter) => load_with_adapter(&settings.model, adapter, &device),
        None => load_model(&settings.model, None, &device),
    }
    .map_err(load)?;
    (loaded.model)
        .set_decode_weights(settings.decode_weights)
        .map_err(SamplingError::Quantize)?;
    let requests = (rows.iter().enumerate())
        .map(|(i, row)| {
            let prompt = match settings.chat {
                true => loaded.tokenizer.chat_prompt(&row.prompt),
                false => Ok(row.prompt.clone()),
            };
            Ok(Request {
                prompt: prompt.map_err(|source| SamplingError::Prompt {
                    key: row.id.clone(),
                    source,
                })?,
                n: 1,
                seed: settings.seed + i as u64,
                stop: vec![stop(row.kind).to_string()],
            })
        })
        .collect::<Result<Vec<Request>, SamplingError>>()?;
    let config = SamplingConfig {
        temperature: 0.0,
        max_new_tokens: settings.max_new_tokens,
        seed: settings.seed,
        ..SamplingConfig::default()
    };
    let mut answers = vec![String::new(); rows.len()];
    generate_batched(
        &loaded.model,
        &loaded.tokenizer,
        &requests,
        &config,
        settings.batch,
        |i, done| {
            let text = done.into_iter().next().map(|c| c.text).unwrap_or_default();
            answers[i] = trimmed(&text, rows[i].kind);
            on_answer();
            Ok(())
        },
    )
    .map_err(SamplingError::Generate)?;
    Ok(answers)
}

/// Each row's answer from a server (greedy, one request per row, `concurrency` in flight),
/// stopped and cut as [`answer_rows`] does; a row whose request failed after the client's
/// retries is an error.
pub fn answer_rows_at(
    endpoint: &Endpoint,
    rows: &[PredictRow],
    max_tokens: u32,
    concurrency: usize,
    on_answer: &mut (dyn FnMut() + Send),
) -> Result<Vec<String>, EndpointError> {
    let requests: Vec<EndpointRequest> = (rows.iter())
        .map(|row| EndpointRequest {
            prompt: row.prompt.clone(),
            max_tokens,
            temperature: 0.0,
            top_p: 1.0,
            stop: vec![stop(row.kind).to_string()],
            seed: Some(0),
        })
        .collect();
    let mut answers: Vec<Option<Result<String, EndpointError>>> =
        (0..rows.len()).map(|_| None).collect();
    endpoint.complete_all(&requests, concurrency, |i, result| {
        answers[i] = Some(result.map(|text| trimmed(&text, rows[i].kind)));
        on_answer();
    });
    answers
        .into_iter()
        .map(|a| a.expect("every request finishes"))
        .collect()
}
