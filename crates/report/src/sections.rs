//! The page's sections, each a function from its data to HTML.

use std::fmt::Write as _;

use tracealign_eval::Evaluation;

use crate::charts;
use crate::markup::{escape, weight_shade};
use crate::{Figure, LocalizationRow, ModelRow, Report, WeightedText};

pub fn header(report: &Report) -> String {
    format!(
        "<h1>{}</h1>\n<p class=\"subtitle\">{}</p>\n",
        escape(&report.title),
        escape(&report.subtitle)
    )
}

pub fn figures(figures: &[Figure]) -> String {
    let mut html = String::from("<section class=\"cards\">\n");
    for figure in figures {
        let _ = writeln!(
            html,
            "<div class=\"card\"><div class=\"value\">{}</div><div class=\"label\">{}</div></div>",
            escape(&figure.value),
            escape(&figure.label)
        );
    }
    html.push_str("</section>\n");
    html
}

pub fn evaluation(evaluation: &Evaluation) -> String {
    let mut html = String::from("<h2 id=\"evaluation\">Evaluation</h2>\n");
    let _ = writeln!(
        html,
        "<p>{} samples of {} problems; {} passed every test.</p>",
        evaluation.samples, evaluation.problems, evaluation.passed
    );
    html.push_str("<table><tr><th>metric</th><th>value</th><th>95% interval</th></tr>\n");
    for p in &evaluation.pass_at_k {
        let i = &p.interval;
        let _ = writeln!(
            html,
            "<tr><td>pass@{}</td><td>{:.1}%</td><td>{:.1}% – {:.1}%</td></tr>",
            p.k,
            i.mean * 100.0,
            i.low * 100.0,
            i.high * 100.0
        );
    }
    html.push_str("</table>\n");
    let bars: Vec<(usize, f64, f64, f64)> = evaluation
        .pass_at_k
        .iter()
        .map(|p| (p.k, p.interval.mean, p.interval.low, p.interval.high))
        .collect();
    html.push_str("<div class=\"charts\">\n");
    if !bars.is_empty() {
        chart(&mut html, &charts::pass_at_k(&bars));
    }
    html.push_str("</div>\n");
    html
}

/// The failing samples by category (exception types apart), with their share of failures.
pub fn failure_categories(evaluation: &Evaluation) -> String {
    let failures = failure_counts(evaluation);
    let total: usize = failures.iter().map(|f| f.1).sum();
    if total == 0 {
        return String::new();
    }
    let mut html = format!(
        "<h2 id=\"categories\">Failure categories</h2>\n<p>Why the {total} failing samples failed: \
         the first test that did not pass decides (a program that does not compile is a \
         syntax error).</p>\n<div class=\"charts\">\n<table><tr><th>category</th><th>samples</th><th>share of failures</th></tr>\n"
    );
    for (name, n) in &failures {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{n}</td><td>{:.1}%</td></tr>",
            escape(name),
            100.0 * *n as f64 / total as f64
        );
    }
    html.push_str("</table>\n");
    let bars: Vec<(String, f64)> = failures
        .iter()
        .map(|(n, c)| (n.clone(), *c as f64))
        .collect();
    chart(
        &mut html,
        &charts::horizontal_bars("Failing samples by category", &bars, "samples"),
    );
    html.push_str("</div>\n");
    html
}

/// Failing samples per category, most first (`passed` is not a failure).
fn failure_counts(evaluation: &Evaluation) -> Vec<(String, usize)> {
    let mut failures: Vec<(String, usize)> = (evaluation.categories.iter())
        .filter(|(name, _)| name.as_str() != "passed")
        .map(|(name, &n)| (name.clone(), n))
        .collect();
    failures.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    failures
}

/// The models side by side: pass@k, passes, and each one's commonest failure.
pub fn models(models: &[ModelRow]) -> String {
    let ks: Vec<usize> = (models[0].evaluation.pass_at_k.iter())
        .map(|p| p.k)
        .filter(|k| models.iter().all(|m| m.evaluation.pass_at(*k).is_some()))
        .collect();
    let mut html = String::from(
        "<h2 id=\"models\">Models compared</h2>\n<p>The same problems, each model's samples scored \
         apart (95% bootstrap intervals over problems); a problem is solved when one of its \
         samples passes.</p>\n<table><tr><th>model</th><th>samples</th><th>passed</th>",
    );
    for k in &ks {
        let _ = write!(html, "<th>pass@{k}</th>");
    }
    html.push_str("<th>solved by it alone</th><th>commonest failure</th></tr>\n");
    for row in models {
        let e = &row.evaluation;
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td>",
            escape(&row.model),
            e.samples,
            e.passed
        );
        for k in &ks {
            if let Some(i) = e.pass_at(*k) {
                let _ = write!(
                    html,
                    "<td>{:.1}% <span class=\"ci\">({:.1}–{:.1})</span></td>",
                    i.mean * 100.0,
                    i.low * 100.0,
                    i.high * 100.0
                );
            }
        }
        let commonest = failure_counts(e).into_iter().next();
        let _ = writeln!(
            html,
            "<td>{}</td><td>{}</td></tr>",
            row.solved_alone,
            commonest.map_or("—".into(), |(name, n)| format!("{} ({n})", escape(&name)))
        );
    }
    html.push_str("</table>\n<div class=\"charts\">\n");
    if let Some(k) = ks.first() {
        let bars: Vec<(String, f64)> = (models.iter())
            .filter_map(|m| Some((m.model.clone(), m.evaluation.pass_at(*k)?.mean * 100.0)))
            .collect();
        chart(
            &mut html,
            &charts::horizontal_bars(&format!("pass@{k} by model"), &bars, "%"),
        );
    }
    html.push_str("</div>\n");
    html
}

/// Links to the sections the page has.
pub fn contents(report: &Report) -> String {
    let mut links = Vec::new();
    let mut link = |present: bool, id: &str, label: String| {
        if present {
            links.push(format!("<a href=\"#{id}\">{}</a>", escape(&label)));
        }
    };
    let evaluation = report.evaluation.as_ref();
    link(evaluation.is_some(), "evaluation", "Evaluation".into());
    let failing = evaluation.map_or(0, |e| e.samples - e.passed);
    link(failing > 0, "categories", "Failure categories".into());
    link(report.models.len() > 1, "models", "Models compared".into());
    link(
        !report.problems.is_empty(),
        "problems",
        format!("Problems ({})", report.problems.len()),
    );
    link(
        !report.programs.is_empty(),
        "programs",
        format!("Failing programs ({})", report.programs.len()),
    );
    link(
        !report.localization.is_empty(),
        "localization",
        "Localization".into(),
    );
    link(
        !report.mutants.is_empty(),
        "mutants",
        format!("Mutants ({})", report.mutants.len()),
    );
    link(
        !report.weighted_rows.is_empty(),
        "weights",
        "Training weights".into(),
    );
    link(!report.files.is_empty(), "files", "Files".into());
    format!("<nav class=\"contents\">{}</nav>\n", links.join(""))
}

pub fn localization(rows: &[LocalizationRow], note: Option<&str>) -> String {
    let mut html = String::from(
        "<h2 id=\"localization\">Fault localization</h2>\n<p>Against faults whose location is known (injected \
         mutants): a hit when a faulty line ranks within the top k (ties counted against); \
         EXAM is the share of lines examined before the first faulty one (lower is better).</p>\n\
         <table><tr><th>method</th><th>programs</th><th>top-1</th><th>top-3</th><th>top-5</th><th>EXAM</th></tr>\n",
    );
    for row in rows {
        let a = &row.accuracy;
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{:.1}%</td><td>{:.1}%</td><td>{:.1}%</td><td>{:.3}</td></tr>",
            escape(&row.method),
            a.cases,
            a.top1 * 100.0,
            a.top3 * 100.0,
            a.top5 * 100.0,
            a.exam
        );
    }
    html.push_str("</table>\n");
    if let Some(note) = note {
        let _ = writeln!(html, "<p class=\"note\">{}</p>", escape(note));
    }
    html.push_str("<div class=\"charts\">\n");
    let bars: Vec<(String, f64)> = rows
        .iter()
        .map(|r| (r.method.clone(), r.accuracy.top1 * 100.0))
        .collect();
    chart(
        &mut html,
        &charts::horizontal_bars("Top-1 accuracy", &bars, "% of faulty programs"),
    );
    html.push_str("</div>\n");
    html
}

pub fn weighted_rows(rows: &[WeightedText]) -> String {
    let mut html = String::from(
        "<h2 id=\"weights\">Training weights</h2>\n<p class=\"legend\">SFT rows (correct programs) as the \
         trainer sees them: each token shaded by its loss weight (white: 1, deeper blue: \
         more; grey: 0, not trained on). Fault-aware weighting puts the loss where correct \
         and incorrect programs differ; the blue marks weight, not faults.</p>\n",
    );
    for row in rows {
        let top = row.pieces.iter().map(|p| p.1).fold(1.0_f64, f64::max);
        let _ = writeln!(
            html,
            "<h3>{}</h3>\n<div class=\"weights\">",
            escape(&row.title)
        );
        for (text, weight) in &row.pieces {
            let style = if *weight <= 0.0 {
                "color:#9aa3b2".to_string()
            } else if *weight > 1.0 && top > 1.0 {
                format!("background:{}", weight_shade((weight - 1.0) / (top - 1.0)))
            } else {
                String::new()
            };
            let _ = write!(
                html,
                "<span style=\"{style}\" title=\"weight {weight:.2}\">{}</span>",
                escape(text)
            );
        }
        html.push_str("</div>\n");
    }
    html
}

pub fn files(files: &[(String, usize)]) -> String {
    let mut html =
        String::from("<h2 id=\"files\">Files</h2>\n<table><tr><th>file</th><th>rows</th></tr>\n");
    for (name, rows) in files {
        let _ = writeln!(html, "<tr><td>{}</td><td>{rows}</td></tr>", escape(name));
    }
    html.push_str("</table>\n");
    html
}

pub(crate) fn chart(html: &mut String, svg: &str) {
    if !svg.is_empty() {
        let _ = writeln!(html, "<div class=\"chart\">{svg}</div>");
    }
}
