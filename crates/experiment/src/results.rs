//! The results table: one row per model (the base, then each arm) and evaluation set, with
//! greedy pass@1 and sampled pass@k, each with its 95% bootstrap interval over problems, and
//! each arm's learning curve; rendered as JSON, Markdown and a self-contained HTML page.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use tracealign_eval::{bootstrap, Evaluation, Interval};
use tracealign_report::escape;

/// The row name of the model without an adapter.
pub const BASE: &str = "base";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    /// `base` or an arm's name.
    pub arm: String,
    pub eval_set: String,
    pub problems: usize,
    /// Greedy decoding, one sample per problem.
    pub pass_at_1: Interval,
    /// pass@k of sampled decoding, when the config asks for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_at_k: Option<SampledPass>,
    /// Greedy samples per failure kind (`passed`, `wrong_answer`, `runtime_error`, ...).
    pub outcomes: BTreeMap<String, usize>,
    /// An arm's greedy pass@1 against the base model's on the same problems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vs_base: Option<Paired>,
    /// The arm against the arm it is a variant of, by that arm's name: an online arm
    /// against plain GRPO (sequence credit), `traced_sft` data against `uniform_sft`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "vs_plain_grpo"
    )]
    pub vs_arm: Option<(String, Paired)>,
}

/// A paired comparison of two models' greedy pass@1 on the same problems: the mean
/// per-problem difference with its 95% bootstrap interval over problems, and the problems
/// only one of them solves. Pairing removes the spread of problem difficulty, which makes
/// two overlapping intervals of separate means say less than this one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Paired {
    pub difference: Interval,
    /// Problems the arm solves and the base model does not.
    pub won: usize,
    /// Problems the base model solves and the arm does not.
    pub lost: usize,
}

impl Paired {
    /// `model` against `base`, over the problems both were scored on (`None` if none).
    pub fn of(model: &Evaluation, base: &Evaluation) -> Option<Paired> {
        let base_scores: BTreeMap<&str, f64> = (base.per_problem.iter())
            .filter_map(|p| Some((p.problem_id.as_str(), *p.pass_at.get("pass@1")?)))
            .collect();
        let differences: Vec<f64> = (model.per_problem.iter())
            .filter_map(|p| {
                Some(p.pass_at.get("pass@1")? - base_scores.get(p.problem_id.as_str())?)
            })
            .collect();
        if differences.is_empty() {
            return None;
        }
        Some(Paired {
            difference: bootstrap::interval(&differences, 0),
            won: differences.iter().filter(|&&d| d > 0.0).count(),
            lost: differences.iter().filter(|&&d| d < 0.0).count(),
        })
    }

    fn describe(&self) -> String {
        let points = |x: f64| format!("{:+.1}", x * 100.0);
        format!(
            "{} pts [{}, {}] (won {}, lost {})",
            points(self.difference.mean),
            points(self.difference.low),
            points(self.difference.high),
            self.won,
            self.lost
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SampledPass {
    pub k: usize,
    pub n: usize,
    #[serde(flatten)]
    pub interval: Interval,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Results {
    pub rows: Vec<ResultRow>,
    /// Each arm's training loss per step (and DPO's reward margin), its learning curve.
    #[serde(default)]
    pub curves: BTreeMap<String, Vec<CurvePoint>>,
    /// The repair study: one row per condition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repair: Vec<RepairResult>,
}

/// How often the base model repaired its failing programs under one prompt condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepairResult {
    pub condition: String,
    /// Failing programs asked to be repaired (one per problem).
    pub programs: usize,
    /// The share whose repair passes every test, with its 95% bootstrap interval.
    pub repaired: Interval,
    /// Repairs per outcome (`passed`, `wrong_answer`, `syntax_error`, ...).
    pub outcomes: BTreeMap<String, usize>,
}

impl RepairResult {
    /// The row of `condition` from the evaluation of its repairs (`None` without pass@1).
    pub fn of(condition: &str, evaluation: &Evaluation) -> Option<RepairResult> {
        Some(RepairResult {
            condition: condition.into(),
            programs: evaluation.problems,
            repaired: evaluation.pass_at_k.iter().find(|p| p.k == 1)?.interval,
            outcomes: evaluation.category_kinds.clone(),
        })
    }
}

/// One step of an arm's training: its loss, and for DPO its margin; for GRPO what the
/// step's samples earned, how much of the batch carried a signal, and where the time went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub step: usize,
    pub loss: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passed: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_groups: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_tokens: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kl: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_sampling: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_execution: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_update: Option<f64>,
}

/// An online arm's run in one row: means over its steps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OnlineSummary {
    pub steps: usize,
    pub reward_first: f64,
    pub reward_last: f64,
    /// Mean share of the samples that passed.
    pub passed: f64,
    /// Mean share of groups with any non-zero advantage.
    pub signal_groups: f64,
    /// Mean share of tokens in the loss with a non-zero advantage.
    pub signal_tokens: f64,
    pub kl_last: f64,
    /// Execution, localization and credit as a share of step time.
    pub execution_share: f64,
    pub seconds_per_step: f64,
}

impl OnlineSummary {
    /// `None` for a curve without GRPO's fields.
    pub fn of(curve: &[CurvePoint]) -> Option<OnlineSummary> {
        let mean = |f: fn(&CurvePoint) -> Option<f64>| {
            curve.iter().filter_map(f).sum::<f64>() / curve.len().max(1) as f64
        };
        let total = |f: fn(&CurvePoint) -> Option<f64>| curve.iter().filter_map(f).sum::<f64>();
        let (first, last) = (curve.first()?, curve.last()?);
        let time = total(|p| p.seconds_sampling)
            + total(|p| p.seconds_execution)
            + total(|p| p.seconds_update);
        Some(OnlineSummary {
            steps: curve.len(),
            reward_first: first.reward?,
            reward_last: last.reward?,
            passed: mean(|p| p.passed),
            signal_groups: mean(|p| p.signal_groups),
            signal_tokens: mean(|p| p.signal_tokens),
            kl_last: last.kl.unwrap_or(0.0),
            execution_share: total(|p| p.seconds_execution) / time.max(1e-9),
            seconds_per_step: time / curve.len() as f64,
        })
    }

    fn markdown_row(&self, arm: &str) -> String {
        format!(
            "| {arm} | {} | {:.3} → {:.3} | {:.1}% | {:.1}% | {:.1}% | {:.4} | {:.1}% | {:.0} |",
            self.steps,
            self.reward_first,
            self.reward_last,
            100.0 * self.passed,
            100.0 * self.signal_groups,
            100.0 * self.signal_tokens,
            self.kl_last,
            100.0 * self.execution_share,
            self.seconds_per_step
        )
    }
}

const ONLINE_HEAD: &str = "| arm | steps | reward (first → last step) | samples passed | groups with signal | \
                           tokens with signal | KL (last) | execution share of step time | s per step |\n\
                           |---|---:|---|---:|---:|---:|---:|---:|---:|\n";

impl ResultRow {
    /// The row of `arm` on `eval_set` from its greedy evaluation and, when made, its
    /// sampled one (`None` when pass@k was left out or the set had too few samples).
    pub fn of(
        arm: &str,
        eval_set: &str,
        greedy: &Evaluation,
        sampled: Option<(&Evaluation, usize, usize)>,
    ) -> Option<ResultRow> {
        let pass_at_1 = greedy.pass_at_k.iter().find(|p| p.k == 1)?.interval;
        let pass_at_k = sampled.and_then(|(evaluation, k, n)| {
            let found = evaluation.pass_at_k.iter().find(|p| p.k == k)?;
            Some(SampledPass {
                k,
                n,
                interval: found.interval,
            })
        });
        Some(ResultRow {
            arm: arm.into(),
            eval_set: eval_set.into(),
            problems: greedy.problems,
            pass_at_1,
            pass_at_k,
            outcomes: greedy.category_kinds.clone(),
            vs_base: None,
            vs_arm: None,
        })
    }
}

impl Results {
    /// A Markdown table, rows grouped by evaluation set in the order they were added.
    pub fn markdown(&self) -> String {
        let mut text = String::from(
            "| eval set | model | problems | pass@1 (greedy) | vs base, paired | pass@k (sampled) |\n\
             |---|---|---:|---|---|---|\n",
        );
        let mut sets: Vec<&str> = Vec::new();
        for row in &self.rows {
            if !sets.contains(&row.eval_set.as_str()) {
                sets.push(&row.eval_set);
            }
        }
        for set in sets {
            for row in self.rows.iter().filter(|r| r.eval_set == set) {
                let sampled = row.pass_at_k.map_or("—".to_string(), |p| {
                    format!("pass@{} (n={}) {}", p.k, p.n, percent(&p.interval))
                });
                let _ = writeln!(
                    text,
                    "| {} | {} | {} | {} | {} | {} |",
                    row.eval_set,
                    row.arm,
                    row.problems,
                    percent(&row.pass_at_1),
                    row.vs_base.map_or("—".to_string(), |p| p.describe()),
                    sampled
                );
            }
        }
        if !self.repair.is_empty() {
            text.push_str(
                "\nRepair of the base model's failing greedy programs, per prompt condition:\n\n\
                 | condition | programs | repaired | outcomes |\n|---|---:|---|---|\n",
            );
            for row in &self.repair {
                let _ = writeln!(
                    text,
                    "| {} | {} | {} | {} |",
                    row.condition,
                    row.programs,
                    percent(&row.repaired),
                    outcomes(&row.outcomes)
                );
            }
        }
        let against: Vec<&ResultRow> = self.rows.iter().filter(|r| r.vs_arm.is_some()).collect();
        if !against.is_empty() {
            text.push_str(
                "\nArms against the arm they vary (online arms against plain GRPO, traced SFT \
                 against uniform SFT), paired:\n\n\
                 | eval set | model | against | difference, paired |\n|---|---|---|---|\n",
            );
            for row in against {
                let (other, paired) = row.vs_arm.as_ref().expect("filtered");
                let _ = writeln!(
                    text,
                    "| {} | {} | {other} | {} |",
                    row.eval_set,
                    row.arm,
                    paired.describe()
                );
            }
        }
        let online = self.online();
        if !online.is_empty() {
            text.push_str("\nOnline (GRPO) arms, means over their steps:\n\n");
            text.push_str(ONLINE_HEAD);
            for (arm, summary) in online {
                let _ = writeln!(text, "{}", summary.markdown_row(arm));
            }
        }
        text
    }

    /// The online arms' summaries, by arm.
    pub fn online(&self) -> Vec<(&str, OnlineSummary)> {
        (self.curves.iter())
            .filter_map(|(arm, curve)| Some((arm.as_str(), OnlineSummary::of(curve)?)))
            .collect()
    }
}

impl Results {
    /// A self-contained HTML page: the table, then each arm's learning curve as inline SVG.
    pub fn html(&self, title: &str) -> String {
        let mut body = format!("<h1>{}</h1>\n<table>\n", escape(title));
        body.push_str(
            "<tr><th>eval set</th><th>model</th><th>problems</th><th>pass@1 (greedy)</th>\
             <th>vs base, paired</th><th>pass@k (sampled)</th><th>greedy outcomes</th></tr>\n",
        );
        for row in &self.rows {
            let sampled = row.pass_at_k.map_or("—".to_string(), |p| {
                format!("pass@{} (n={}) {}", p.k, p.n, percent(&p.interval))
            });
            let _ = writeln!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td></tr>",
                escape(&row.eval_set),
                escape(&row.arm),
                row.problems,
                percent(&row.pass_at_1),
                row.vs_base.map_or("—".to_string(), |p| p.describe()),
                sampled,
                escape(&outcomes(&row.outcomes))
            );
        }
        body.push_str("</table>\n");
        if !self.repair.is_empty() {
            body.push_str(
                "<h2>Repair of the base model's failing greedy programs</h2>\n<table>\n\
                 <tr><th>condition</th><th>programs</th><th>repaired</th><th>outcomes</th></tr>\n",
            );
            for row in &self.repair {
                let _ = writeln!(
                    body,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&row.condition),
                    row.programs,
                    percent(&row.repaired),
                    escape(&outcomes(&row.outcomes))
                );
            }
            body.push_str("</table>\n");
        }
        let online = self.online();
        if !online.is_empty() {
            body.push_str("<h2>Online (GRPO) arms, means over their steps</h2>\n<table>\n");
            for line in ONLINE_HEAD.lines().take(1) {
                let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
                let _ = writeln!(body, "<tr><th>{}</th></tr>", cells.join("</th><th>"));
            }
            for (arm, summary) in &online {
                let row = summary.markdown_row(&escape(arm));
                let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
                let _ = writeln!(body, "<tr><td>{}</td></tr>", cells.join("</td><td>"));
            }
            body.push_str("</table>\n");
        }
        body.push_str("<h2>Learning curves (training loss per step)</h2>\n");
        for (arm, curve) in &self.curves {
            let _ = writeln!(
                body,
                "<h3>{}</h3>\n{}",
                escape(arm),
                curve_svg(curve, |p| Some(p.loss), "loss")
            );
            if curve.iter().any(|p| p.reward.is_some()) {
                let reward = curve_svg(curve, |p| p.reward, "mean reward");
                let signal = curve_svg(curve, |p| p.signal_groups, "share of groups with signal");
                let _ = writeln!(body, "{reward}\n{signal}");
            }
        }
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <link rel=\"icon\" href=\"data:,\">\n<title>{}</title>\n<style>{STYLE}</style>\n\
             </head>\n<body>\n{body}</body>\n</html>\n",
            escape(title)
        )
    }
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
                     td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}";

/// One quantity per step (`value`, named `what`) as a polyline scaled to its own range,
/// first and last value written beside it.
fn curve_svg(curve: &[CurvePoint], value: fn(&CurvePoint) -> Option<f64>, what: &str) -> String {
    let (width, height) = (480.0, 140.0);
    let values: Vec<f64> = curve.iter().map(|p| value(p).unwrap_or(0.0)).collect();
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = (high - low).max(1e-12);
    let last = curve.len().saturating_sub(1).max(1) as f64;
    let points: Vec<String> = (values.iter().enumerate())
        .map(|(i, v)| {
            let x = 10.0 + (width - 20.0) * i as f64 / last;
            let y = 10.0 + (height - 20.0) * (high - v) / span;
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let label = match (values.first(), values.last()) {
        (Some(a), Some(b)) => format!("{what} {a:.4} → {b:.4} over {} steps", values.len()),
        _ => "no steps".to_string(),
    };
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         style=\"border:1px solid #ddd\"><polyline fill=\"none\" stroke=\"#2f6fdd\" \
         stroke-width=\"2\" points=\"{}\"/></svg><p>{label}</p>",
        points.join(" ")
    )
}

/// `kind n · kind n …`
fn outcomes(counts: &BTreeMap<String, usize>) -> String {
    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
    parts.join(" · ")
}

fn percent(interval: &Interval) -> String {
    format!(
        "{:.1}% [{:.1}, {:.1}]",
        interval.mean * 100.0,
        interval.low * 100.0,
        interval.high * 100.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval(mean: f64) -> Interval {
        Interval {
            mean,
            low: mean / 2.0,
            high: mean * 1.5,
        }
    }

    #[test]
    fn the_markdown_table_groups_rows_by_eval_set() {
        let row = |arm: &str, set: &str, mean: f64| ResultRow {
            arm: arm.into(),
            eval_set: set.into(),
            problems: 3,
            pass_at_1: interval(mean),
            pass_at_k: None,
            outcomes: BTreeMap::new(),
            vs_base: None,
            vs_arm: None,
        };
        let results = Results {
            rows: vec![
                row(BASE, "a", 0.1),
                row(BASE, "b", 0.2),
                row("dpo", "a", 0.4),
            ],
            ..Results::default()
        };
        let table = results.markdown();
        let lines: Vec<&str> = table.lines().skip(2).collect();
        assert_eq!(lines[0], "| a | base | 3 | 10.0% [5.0, 15.0] | — | — |");
        assert!(lines[1].starts_with("| a | dpo |"));
        assert!(lines[2].starts_with("| b | base |"));
        assert_eq!(lines.len(), 3, "no repair table without a repair study");
    }

    fn scored(passes: &[(&str, f64)]) -> Evaluation {
        let per_problem = passes
            .iter()
            .map(|(id, pass)| tracealign_eval::ProblemScore {
                problem_id: id.to_string(),
                n: 1,
                correct: *pass as usize,
                pass_at: BTreeMap::from([("pass@1".to_string(), *pass)]),
            })
            .collect();
        Evaluation {
            samples: passes.len(),
            passed: 0,
            problems: passes.len(),
            pass_at_k: Vec::new(),
            skipped_k: Vec::new(),
            categories: BTreeMap::new(),
            category_kinds: BTreeMap::new(),
            per_problem,
            localization: None,
        }
    }

    #[test]
    fn a_paired_comparison_counts_the_problems_only_one_model_solves() {
        let base = scored(&[("a", 1.0), ("b", 0.0), ("c", 0.0), ("d", 1.0)]);
        let arm = scored(&[("d", 1.0), ("c", 1.0), ("b", 1.0), ("a", 0.0), ("e", 1.0)]);
        let paired = Paired::of(&arm, &base).unwrap();
        assert_eq!(
            (paired.won, paired.lost),
            (2, 1),
            "e is not scored for the base"
        );
        assert!((paired.difference.mean - 0.25).abs() < 1e-12);
        assert!(paired.difference.low <= 0.25 && paired.difference.high >= 0.25);
        assert_eq!(paired.describe().split(" pts").next(), Some("+25.0"));
        assert_eq!(Paired::of(&scored(&[("z", 1.0)]), &base), None);
    }

    #[test]
    fn the_repair_study_gets_a_table_of_its_own() {
        let results = Results {
            repair: vec![RepairResult {
                condition: "trace-lines".into(),
                programs: 4,
                repaired: interval(0.25),
                outcomes: BTreeMap::from([("passed".into(), 1), ("syntax_error".into(), 3)]),
            }],
            ..Results::default()
        };
        let table = results.markdown();
        assert!(
            table.contains("| trace-lines | 4 | 25.0% [12.5, 37.5] | passed 1 · syntax_error 3 |")
        );
        assert!(results.html("t").contains("<td>trace-lines</td><td>4</td>"));
    }

    #[test]
    fn the_html_page_has_the_table_and_a_curve_per_arm() {
        let point = |step, loss| CurvePoint {
            step,
            loss,
            ..CurvePoint::default()
        };
        let results = Results {
            rows: Vec::new(),
            curves: BTreeMap::from([("a<b".to_string(), vec![point(1, 2.0), point(2, 1.0)])]),
            ..Results::default()
        };
        let html = results.html("t");
        assert!(html.contains("<h3>a&lt;b</h3>"));
        assert!(html.contains("points=\"10.0,10.0 470.0,130.0\""));
        assert!(html.contains("loss 2.0000 → 1.0000 over 2 steps"));
    }
}

#[cfg(test)]
mod online_tests {
    use super::*;

    #[test]
    fn an_online_arm_gets_a_row_of_signal_shares_and_its_time_split() {
        let point = |step, reward, groups| CurvePoint {
            step,
            loss: 0.1,
            reward: Some(reward),
            passed: Some(0.0),
            signal_groups: Some(groups),
            signal_tokens: Some(groups / 2.0),
            kl: Some(0.01),
            seconds_sampling: Some(6.0),
            seconds_execution: Some(1.0),
            seconds_update: Some(3.0),
            ..CurvePoint::default()
        };
        let results = Results {
            curves: BTreeMap::from([
                (
                    "grpo_fault".to_string(),
                    vec![point(1, 0.1, 0.5), point(2, 0.3, 1.0)],
                ),
                (
                    "sft".to_string(),
                    vec![CurvePoint {
                        step: 1,
                        loss: 1.0,
                        ..CurvePoint::default()
                    }],
                ),
            ]),
            ..Results::default()
        };
        let online = results.online();
        assert_eq!(online.len(), 1);
        let (arm, summary) = online[0];
        assert_eq!(arm, "grpo_fault");
        assert!((summary.signal_groups - 0.75).abs() < 1e-9);
        assert!((summary.execution_share - 0.1).abs() < 1e-9);
        let markdown = results.markdown();
        assert!(
            markdown.contains(
                "| grpo_fault | 2 | 0.100 → 0.300 | 0.0% | 75.0% | 37.5% | 0.0100 | 10.0% | 10 |"
            ),
            "{markdown}"
        );
        let html = results.html("t");
        assert!(html.contains("<td>grpo_fault</td><td>2</td>"), "{html}");
        assert!(html.contains("share of groups with signal 0.5000 → 1.0000 over 2 steps"));
    }
}
