//! The page's sections, each a function from its data to HTML.

use std::fmt::Write as _;

use tracealign_eval::Evaluation;

use crate::charts;
use crate::markup::{escape, heat};
use crate::{Figure, LocalizationRow, ProgramSection, Report, WeightedText};

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
    let mut categories: Vec<(String, f64)> = evaluation
        .categories
        .iter()
        .map(|(name, &n)| (name.clone(), n as f64))
        .collect();
    categories.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let bars: Vec<(usize, f64, f64, f64)> = evaluation
        .pass_at_k
        .iter()
        .map(|p| (p.k, p.interval.mean, p.interval.low, p.interval.high))
        .collect();
    html.push_str("<div class=\"charts\">\n");
    if !bars.is_empty() {
        chart(&mut html, &charts::pass_at_k(&bars));
    }
    chart(
        &mut html,
        &charts::horizontal_bars("Outcome of each sample", &categories, "samples"),
    );
    html.push_str("</div>\n");
    html
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

pub fn programs(programs: &[ProgramSection]) -> String {
    let mut html = String::from(
        "<h2 id=\"programs\">Failing programs</h2>\n<p class=\"legend\">Each line is shaded by the rank of its \
         fault suspiciousness within the program (red: the most suspicious line, then four \
         lighter shades, white: the rest; the number is the score); ▶ marks a line known \
         to be faulty.</p>\n",
    );
    for (i, program) in programs.iter().enumerate() {
        html.push_str(&program_section(program, i == 0));
    }
    html
}

fn program_section(program: &ProgramSection, open: bool) -> String {
    let mut html = format!(
        "<details class=\"program\"{}><summary>{} <span class=\"verdict\">{}</span></summary>\n<div class=\"program-body\">\n",
        if open { " open" } else { "" },
        escape(&program.sample_id),
        escape(&program.verdict)
    );
    html.push_str("<div class=\"kv\">");
    let mut pair = |key: &str, value: &Option<String>| {
        if let Some(value) = value {
            let _ = write!(
                html,
                "<div class=\"k\">{key}</div><div class=\"v\">{}</div>",
                escape(value)
            );
        }
    };
    pair("problem", &Some(program.problem_id.clone()));
    pair("failing test", &program.failing_test);
    pair("outcome", &program.outcome);
    pair("first divergence", &program.divergence);
    html.push_str("</div>\n");
    html.push_str(&code_heat_map(program));
    if let Some(trace) = &program.trace {
        let _ = writeln!(
            html,
            "<h3>Trace of the failing test</h3>\n<pre class=\"trace\">{}</pre>",
            escape(trace)
        );
    }
    html.push_str("</div></details>\n");
    html
}

/// The program, a row per line, shaded by the rank of its score within the program: the most
/// suspicious line darkest, then the next four lighter, the rest plain. Raw scores sit close
/// together in a program with much evidence (1.16–1.32 on every line of one), so shading by
/// score painted nearly every line alike.
fn code_heat_map(program: &ProgramSection) -> String {
    let mut distinct: Vec<f64> = program
        .scores
        .iter()
        .map(|s| s.1)
        .filter(|s| *s > 0.0)
        .collect();
    distinct.sort_by(|a, b| b.total_cmp(a));
    distinct.dedup();
    let score_of = |line: u32| program.scores.iter().find(|s| s.0 == line).map(|s| s.1);
    let mut html = String::from("<div class=\"code\">\n");
    for (i, text) in program.code.lines().enumerate() {
        let line = i as u32 + 1;
        let score = score_of(line);
        let rank = score.and_then(|s| distinct.iter().position(|d| *d == s));
        let strength = rank.map_or(0.0, |r| (1.0 - r as f64 / HEAT_RANKS).max(0.0));
        let shade = match strength > 0.0 {
            true => heat(strength),
            false => "transparent".to_string(),
        };
        let mut class = String::from("row");
        if program.faulty_lines.contains(&line) {
            class.push_str(" faulty");
        }
        if strength >= 0.6 {
            class.push_str(" hot");
        }
        let _ = writeln!(
            html,
            "<div class=\"{class}\" style=\"background:{shade}\"><span class=\"no\">{line}</span><span class=\"score\">{}</span><span class=\"src\">{}</span></div>",
            score.map_or(String::new(), |s| format!("{s:.2}")),
            escape(text)
        );
    }
    html.push_str("</div>\n");
    html
}

/// How many of a program's most suspicious scores are shaded (by rank).
const HEAT_RANKS: f64 = 5.0;

pub fn weighted_rows(rows: &[WeightedText]) -> String {
    let mut html = String::from(
        "<h2 id=\"weights\">Training weights</h2>\n<p class=\"legend\">SFT rows as the trainer sees them: \
         each token shaded by its loss weight (white: 1, darker: more; grey: 0, not \
         trained on). Fault-aware weighting puts the loss where correct and incorrect \
         programs differ.</p>\n",
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
                format!("background:{}", heat((weight - 1.0) / (top - 1.0)))
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

fn chart(html: &mut String, svg: &str) {
    if !svg.is_empty() {
        let _ = writeln!(html, "<div class=\"chart\">{svg}</div>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scores close together (as on a program with much evidence) still shade by rank: the
    /// top line hot, the sixth and later plain.
    #[test]
    fn heat_maps_shade_by_rank_within_the_program() {
        let code: String = (1..=7).map(|i| format!("x{i} = {i}\n")).collect();
        let program = ProgramSection {
            code,
            scores: (1..=7)
                .map(|line| (line, 1.32 - 0.02 * line as f64))
                .collect(),
            faulty_lines: vec![1],
            ..ProgramSection::default()
        };
        let html = code_heat_map(&program);
        let rows: Vec<&str> = html
            .lines()
            .filter(|l| l.starts_with("<div class=\"row"))
            .collect();
        assert_eq!(rows.len(), 7);
        assert!(
            rows[0].starts_with("<div class=\"row faulty hot\""),
            "{}",
            rows[0]
        );
        assert!(rows[0].contains(&heat(1.0)), "{}", rows[0]);
        assert!(!rows[4].contains("transparent"), "{}", rows[4]);
        assert!(rows[5].contains("background:transparent"), "{}", rows[5]);
        assert!(rows[6].contains("background:transparent"), "{}", rows[6]);
    }
}
