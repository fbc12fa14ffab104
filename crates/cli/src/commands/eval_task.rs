//! `tracealign eval --task output|path|state --rows FILE --model M`: a local model answers
//! execution prediction rows (`tracealign build traced`, or CRUXEval's JSONL), greedily, and
//! the checker judges every answer by running it (`tracealign_predict`). Writes
//! OUT/answers.jsonl (row id, answer, verdict, credit) and OUT/eval.json (accuracy with its
//! 95% bootstrap interval, mean partial credit), and prints the headline.

use anyhow::{bail, Context, Result};
use serde_json::json;
use tracealign_endpoint::{Api, Endpoint};
use tracealign_eval::bootstrap::interval;
use tracealign_exec::resolve_python;
use tracealign_predict::answer::{answer_rows, answer_rows_at};
use tracealign_predict::reply::with_rationale;
use tracealign_predict::{read_rows, Checker, PredictRow, Task};
use tracealign_train::sampling::GenerateSettings;
use tracealign_train::DecodeWeights;

use crate::args::{ApiArg, EvalArgs, TracedKindArg};
use crate::commands::workers::refuse_to_replace;
use crate::printer;

pub fn eval_task(args: &EvalArgs, kind: TracedKindArg) -> Result<()> {
    let task = Task::from(kind);
    if args.model.is_none() && args.endpoint.is_none() {
        bail!("--task needs a model to answer the rows: give --model (a GGUF file or a model directory) or --endpoint URL --model-name NAME");
    }
    let path = args.rows.as_deref().context("--task needs --rows FILE")?;
    let mut rows: Vec<PredictRow> = read_rows(path)?
        .into_iter()
        .filter(|r| r.kind == task)
        .collect();
    if rows.is_empty() {
        bail!("{} has no `{}` rows", path.display(), task.name());
    }
    if args.with_rationale {
        for row in &mut rows {
            let Some(rationale) = &row.rationale else {
                bail!(
                    "row {} has no rationale (`tracealign build traced` writes one for output rows)",
                    row.id
                );
            };
            row.prompt = with_rationale(&row.prompt, rationale);
        }
    }
    let answers_path = args.out.join("answers.jsonl");
    refuse_to_replace(&answers_path, args.fresh, Some("--fresh"))?;
    let bar = printer::progress(rows.len(), "answering", args.quiet);
    let answers = answer(args, &rows, &mut || bar.inc(1))?;
    bar.finish_and_clear();
    let checker = Checker::start(resolve_python(args.exec.python.as_deref())?)?;
    let score = checker.score(&rows, &answers)?;
    std::fs::create_dir_all(&args.out)?;
    std::fs::write(&answers_path, score.answer_lines(&rows, &answers))?;
    let corrects: Vec<f64> = score
        .judgements
        .iter()
        .map(|j| f64::from(u8::from(j.correct)))
        .collect();
    let accuracy = interval(&corrects, args.seed);
    let summary = json!({"task": task.name(), "with_rationale": args.with_rationale, "rows": score.rows, "correct": score.correct,
        "accuracy": accuracy, "credit": score.credit(), "model": args.model.as_ref().map(|m| m.display().to_string()).or(args.model_name.clone()),
        "endpoint": args.endpoint, "source": path});
    std::fs::write(
        args.out.join("eval.json"),
        serde_json::to_string_pretty(&summary)? + "\n",
    )?;
    printer::line(format_args!(
        "{} prediction{}: {:.1}% [{:.1}, {:.1}] of {} rows right (mean credit {:.3})",
        task.name(),
        if args.with_rationale {
            " with the trace rationale"
        } else {
            ""
        },
        100.0 * accuracy.mean,
        100.0 * accuracy.low,
        100.0 * accuracy.high,
        score.rows,
        score.credit()
    ));
    printer::line(format_args!("  → {}", args.out.display()));
    Ok(())
}

/// The rows answered greedily by `--model` (with `--adapter`) or by `--endpoint`.
fn answer(
    args: &EvalArgs,
    rows: &[PredictRow],
    on_answer: &mut (dyn FnMut() + Send),
) -> Result<Vec<String>> {
    let chat = args.api == ApiArg::Chat;
    if let Some(url) = &args.endpoint {
        let api = if chat { Api::Chat } else { Api::Completions };
        let name = args.model_name.clone().unwrap_or_default();
        let endpoint = Endpoint::new(url, &name, api).with_api_key(args.api_key.clone());
        let answers = answer_rows_at(
            &endpoint,
            rows,
            args.max_tokens,
            args.concurrency,
            on_answer,
        )?;
        return Ok(answers);
    }
    let model = args
        .model
        .as_ref()
        .context("--task needs --model or --endpoint")?;
    let settings = GenerateSettings {
        adapter: args.adapter.clone(),
        max_new_tokens: args.max_tokens as usize,
        seed: args.seed,
        batch: args.batch,
        // `--api chat`: each row as a user message through the model's own chat template.
        chat,
        decode_weights: DecodeWeights::from(args.decode_weights),
        ..GenerateSettings::new(model)
    };
    Ok(answer_rows(&settings, rows, on_answer)?)
}
