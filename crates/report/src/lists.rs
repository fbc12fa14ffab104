//! The long parts of the page: the per-problem table, the failing programs and the mutants.
//! Every row and program is in the page; the inline script (`lists.js`) pages through them
//! and filters them by id, category or model. Without the script the controls stay hidden
//! and every program is a collapsed section, reachable from the table.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::markup::{escape, heat};
use crate::{ModelRow, ProblemRow, ProgramSection};

/// Rows or programs on one page of a list.
const PAGE: usize = 25;

/// One row per problem: samples, passes (per model when several), failures by category and
/// the most suspicious line of its first failing program, linked to that program.
pub fn problems(rows: &[ProblemRow], models: &[ModelRow]) -> String {
    let compare = models.len() > 1;
    let mut html = String::from(
        "<h2 id=\"problems\">Problems</h2>\n<p>Every problem with its samples; a problem's \
         first failing program is linked from its most suspicious line.</p>\n",
    );
    let with_failures = rows.iter().filter(|r| r.passed < r.samples).count();
    html.push_str(&list_start(
        "problem-list",
        "problem id or category",
        &[],
        true,
    ));
    let _ = writeln!(
        html,
        "<p class=\"note\">Problems with a failing sample: {with_failures} of {}.</p>",
        rows.len()
    );
    html.push_str(
        "<table class=\"problems\"><thead><tr><th>problem</th><th>samples</th><th>passed</th>",
    );
    if compare {
        for model in models {
            let _ = write!(html, "<th>{}</th>", escape(&model.model));
        }
    }
    html.push_str("<th>failures</th><th>most suspicious line</th></tr></thead>\n<tbody>\n");
    for row in rows {
        html.push_str(&problem_row(row, compare));
    }
    html.push_str("</tbody></table>\n</div>\n");
    html
}

fn problem_row(row: &ProblemRow, compare: bool) -> String {
    let failing = row.passed < row.samples;
    let failures: Vec<String> = (row.failures.iter())
        .map(|(name, n)| format!("{} ×{n}", escape(name)))
        .collect();
    let search = format!(
        "{} {}",
        row.problem_id,
        row.failures
            .iter()
            .map(|f| f.0.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut html = format!(
        "<tr class=\"item{}\" data-search=\"{}\" data-failing=\"{}\"><td>{}</td><td>{}</td><td>{}</td>",
        if failing { "" } else { " all-passed" },
        escape(&search),
        if failing { "yes" } else { "no" },
        escape(&row.problem_id),
        row.samples,
        row.passed
    );
    if compare {
        for (passed, samples) in &row.by_model {
            let _ = write!(html, "<td>{passed}/{samples}</td>");
        }
    }
    let top = match (&row.top_line, row.first_program) {
        (Some(top), Some(index)) => format!(
            "<a href=\"#p{index}\">{}</a> line {}: <code>{}</code> <span class=\"ci\">{:.2}</span>",
            escape(&top.sample_id),
            top.line,
            escape(top.text.trim()),
            top.score
        ),
        (None, Some(index)) => format!("<a href=\"#p{index}\">first failing program</a>"),
        _ => String::new(),
    };
    let _ = writeln!(
        html,
        "<td class=\"failures\">{}</td><td class=\"top\">{top}</td></tr>",
        failures.join(" · ")
    );
    html
}

/// The user's failing programs, each a collapsed section (the first open).
pub fn programs(programs: &[ProgramSection]) -> String {
    let mut html = String::from(
        "<h2 id=\"programs\">Failing programs</h2>\n<p class=\"legend\">The model's failing programs, \
         ordered by problem. Each line is shaded by the rank of its fault suspiciousness \
         within the program (red: the most suspicious line, then four lighter shades, \
         white: the rest; the number is the score).</p>\n",
    );
    let models = distinct(programs.iter().filter_map(|p| p.model.as_deref()));
    let mut facets = vec![("category", "every category", categories(programs))];
    if models.len() > 1 {
        facets.push(("model", "every model", models));
    }
    html.push_str(&list_start(
        "program-list",
        "problem or sample id",
        &facets,
        false,
    ));
    for (i, program) in programs.iter().enumerate() {
        html.push_str(&program_section(program, &format!("p{i}"), i == 0));
    }
    html.push_str("</div>\n");
    html
}

/// The mutants: synthetic faults with known faulty lines, and where localization ranked them.
pub fn mutants(mutants: &[ProgramSection]) -> String {
    let mut html = String::from(
        "<h2 id=\"mutants\">Mutants</h2>\n<p class=\"legend\">Synthetic faults: small edits of the \
         reference solutions, made to measure localization where the faulty line is known \
         (▶). They are not the model's programs and are not in pass@k. Shading as above; \
         the summary says where the faulty line ranked.</p>\n",
    );
    let facets = vec![("category", "every category", categories(mutants))];
    html.push_str(&list_start(
        "mutant-list",
        "problem or mutant id",
        &facets,
        false,
    ));
    for (i, mutant) in mutants.iter().enumerate() {
        html.push_str(&program_section(mutant, &format!("m{i}"), i == 0));
    }
    html.push_str("</div>\n");
    html
}

/// A select of a list's controls: the items' `data-{key}` attribute, the label of "any",
/// and each value with its count.
type Facet<'a> = (&'a str, &'a str, Vec<(String, usize)>);

/// The opening of a paged list and its controls (hidden until the script shows them): a
/// search box, a select per facet, and for the problem table a "failing only" box.
fn list_start(class: &str, placeholder: &str, facets: &[Facet], failing_box: bool) -> String {
    let mut html = format!(
        "<div class=\"list {class}\" data-page-size=\"{PAGE}\">\n<div class=\"controls\" hidden>\
         <input class=\"q\" type=\"search\" placeholder=\"filter: {placeholder}\">"
    );
    for (key, all, values) in facets {
        let _ = write!(
            html,
            "<select name=\"{key}\"><option value=\"\">{all}</option>"
        );
        for (value, n) in values {
            let _ = write!(
                html,
                "<option value=\"{0}\">{0} ({n})</option>",
                escape(value)
            );
        }
        html.push_str("</select>");
    }
    if failing_box {
        html.push_str(
            "<label><input type=\"checkbox\" name=\"failing\"> with failures only</label>",
        );
    }
    html.push_str(
        "<span class=\"pager\"><button type=\"button\" class=\"prev\">‹ previous</button>\
         <span class=\"where\"></span><button type=\"button\" class=\"next\">next ›</button></span></div>\n",
    );
    html
}

fn categories(programs: &[ProgramSection]) -> Vec<(String, usize)> {
    distinct(programs.iter().map(|p| p.verdict.as_str()))
}

/// Each distinct value with its count, commonest first.
fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for value in values {
        *counts.entry(value).or_default() += 1;
    }
    let mut counts: Vec<(String, usize)> = counts
        .into_iter()
        .map(|(v, n)| (v.to_string(), n))
        .collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
}

fn program_section(program: &ProgramSection, id: &str, open: bool) -> String {
    let model = program.model.as_deref().unwrap_or_default();
    let search = format!("{} {} {model}", program.problem_id, program.sample_id);
    let mut html = format!(
        "<details class=\"program item\" id=\"{id}\" data-search=\"{}\" data-category=\"{}\" data-model=\"{}\"{}>\
         <summary>{} <span class=\"verdict\">{}</span>{}{}</summary>\n<div class=\"program-body\">\n",
        escape(&search),
        escape(&program.verdict),
        escape(model),
        if open { " open" } else { "" },
        escape(&program.sample_id),
        escape(&program.verdict),
        match model {
            "" => String::new(),
            model => format!(" <span class=\"model\">{}</span>", escape(model)),
        },
        faulty_rank(program).map_or(String::new(), |rank| format!(
            " <span class=\"rank\">faulty line ranked {rank}</span>"
        )),
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

/// Where the best-ranked known faulty line stands in the program's fault report (ties counted
/// against: a faulty line tied with two others ranks third), when both are known.
fn faulty_rank(program: &ProgramSection) -> Option<usize> {
    let best = (program.scores.iter())
        .filter(|(line, _)| program.faulty_lines.contains(line))
        .map(|s| s.1)
        .max_by(f64::total_cmp)?;
    Some(program.scores.iter().filter(|s| s.1 >= best).count())
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

    /// A faulty line tied with another ranks second; a program without known faults has no rank.
    #[test]
    fn faulty_lines_rank_with_ties_counted_against() {
        let mut program = ProgramSection {
            scores: vec![(1, 0.2), (2, 0.9), (3, 0.9), (4, 0.1)],
            faulty_lines: vec![3, 4],
            ..ProgramSection::default()
        };
        assert_eq!(faulty_rank(&program), Some(2));
        program.faulty_lines.clear();
        assert_eq!(faulty_rank(&program), None);
    }

    /// Every program is in the list, with the data the filters read, and the controls start
    /// hidden (shown by the script).
    #[test]
    fn program_lists_hold_every_program_with_its_facets() {
        let program = |i: usize, verdict: &str, model: &str| ProgramSection {
            problem_id: format!("P/{i}"),
            sample_id: format!("P/{i}#0"),
            model: Some(model.into()),
            verdict: verdict.into(),
            code: "x = 1\n".into(),
            ..ProgramSection::default()
        };
        let list: Vec<ProgramSection> = (0..60)
            .map(|i| {
                program(
                    i,
                    if i % 3 == 0 {
                        "timeout"
                    } else {
                        "wrong_answer"
                    },
                    ["a", "b"][i % 2],
                )
            })
            .collect();
        let html = programs(&list);
        assert_eq!(html.matches("<details class=\"program item\"").count(), 60);
        assert!(html.contains("id=\"p59\""));
        assert!(html.contains("<option value=\"wrong_answer\">wrong_answer (40)</option>"));
        assert!(html.contains("<option value=\"a\">a (30)</option>"));
        assert!(html.contains("<div class=\"controls\" hidden>"));
        assert!(html.contains("data-category=\"timeout\" data-model=\"a\""));
    }
}
