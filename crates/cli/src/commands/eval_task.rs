//! `tracealign eval --task output|path|state --rows FILE --model M`: a local model answers
//! execution prediction rows (`tracealign build traced`, or CRUXEval's JSONL), greedily, and
//! the checker judges every answer by running it (`tracealign_predict`). Writes
//! OUT/answers.jsonl (row id, answer, verdict, credit) and OUT/eval.json (accuracy with its
//! 95% bootstrap interval, mean partial credit), and prints the headline.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::json;
use tracealign_eval::bootstrap::interval;
use tracealign_exec::resolve_python;
use tracealign_predict::{read_rows, Checker, PredictRow, Task};
use tracealign_train::generate::{generate_batched, Request, SamplingConfig};
use tracealign_train::{load_model, load_with_adapter, training::device, DecodeWeights};

use crate::args::{ApiArg, EvalArgs, TracedKindArg};
use crate::commands::workers::refuse_to_replace;
use crate::printer;

pub fn eval_task(args: &EvalArgs, kind: TracedKindArg) -> Result<()> {
    let task = match kind {
        TracedKindArg::Output => Task::Output,
        TracedKindArg::Path => Task::Path,
        TracedKindArg::State => Task::State,
        TracedKindArg::Rationale => Task::Rationale,
    };
    let Some(model) = &args.model else {
        bail!("--task needs a local model to answer the rows: give --model (a GGUF file or a model directory)");
    };
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
    let answers = answer(args, model, &rows, task)?;
    let checker = Checker::start(resolve_python(args.exec.python.as_deref())?)?;
    let score = checker.score(&rows, &answers)?;
    std::fs::create_dir_all(&args.out)?;
    let lines: String = (rows.iter().zip(&answers).zip(&score.judgements))
        .map(|((row, answer), judged)| {
            json!({"id": row.id, "answer": answer, "expected": row.completion,
                   "correct": judged.correct, "credit": judged.credit})
            .to_string()
                + "\n"
        })
        .collect();
    std::fs::write(&answers_path, lines)?;
    let corrects: Vec<f64> = score
        .judgements
        .iter()
        .map(|j| f64::from(u8::from(j.correct)))
        .collect();
    let accuracy = interval(&corrects, args.seed);
    let summary = json!({"task": task.name(), "with_rationale": args.with_rationale, "rows": score.rows, "correct": score.correct,
        "accuracy": accuracy, "credit": score.credit(), "model": model, "source": path});
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

/// A reply cut to its answer: what follows any leading blank lines, and for a value or a
/// path outside a code fence, its first line.
fn trimmed(reply: &str, task: Task) -> String {
    let reply = reply.trim_start();
    match task {
        Task::Output | Task::Path if !reply.starts_with("```") => {
            reply.lines().next().unwrap_or_default().to_string()
        }
        _ => reply.to_string(),
    }
}

/// The prompt with the rationale before its question (the text after the code block).
fn with_rationale(prompt: &str, rationale: &str) -> String {
    let (code, question) = prompt.rsplit_once("```\n").unwrap_or((prompt, ""));
    format!("{code}```\n\nIts execution, step by step:\n```\n{rationale}\n```\n{question}")
}

/// Greedy answers, each ending at a blank line (or the token limit), then [`trimmed`].
fn answer(args: &EvalArgs, model: &Path, rows: &[PredictRow], task: Task) -> Result<Vec<String>> {
    let device = device(None)?;
    let mut loaded = match &args.adapter {
        Some(adapter) => load_with_adapter(model, adapter, &device)?,
        None => load_model(model, None, &device)?,
    };
    loaded
        .model
        .set_decode_weights(DecodeWeights::from(args.decode_weights))?;
    let stop = match task {
        Task::Rationale => vec!["\n\n\n".to_string()],
        Task::Output | Task::Path | Task::State => vec!["\n\n".to_string()],
    };
    // `--api chat`: the row as a user message through the model's own chat template.
    let chat = args.api == ApiArg::Chat;
    let requests = (rows.iter().enumerate())
        .map(|(i, row)| {
            Ok(Request {
                prompt: match chat {
                    true => loaded.tokenizer.chat_prompt(&row.prompt)?,
                    false => row.prompt.clone(),
                },
                n: 1,
                seed: args.seed + i as u64,
                stop: stop.clone(),
            })
        })
        .collect::<Result<Vec<Request>>>()?;
    let config = SamplingConfig {
        temperature: 0.0,
        max_new_tokens: args.max_tokens as usize,
        seed: args.seed,
        ..SamplingConfig::default()
    };
    let mut answers = vec![String::new(); rows.len()];
    let bar = printer::progress(rows.len(), "answering", args.quiet);
    generate_batched(
        &loaded.model,
        &loaded.tokenizer,
        &requests,
        &config,
        args.batch,
        |i, done| {
            let text = done.into_iter().next().map(|c| c.text).unwrap_or_default();
            answers[i] = trimmed(&text, task);
            bar.inc(1);
            Ok(())
        },
    )?;
    bar.finish_and_clear();
    Ok(answers)
}
