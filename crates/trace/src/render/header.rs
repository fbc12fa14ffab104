//! The lines around every rendering: which test failed and how, where the candidate first
//! departs from the reference, and whether the trace was cut short by the tracer.

use tracealign_core::Trace;

use super::source::one_line;
use super::RenderInput;

/// Longest header line; an outcome can quote long values.
const MAX_HEADER_CHARS: usize = 300;
/// Lines of a test's code shown; the rest are counted.
const MAX_CODE_LINES: usize = 8;

/// The test and the first divergence: the lines a budget never drops.
pub(crate) fn head(input: &RenderInput) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(test) = &input.test {
        lines.push(one_line(
            &format!("test {}: {}", test.name, test.outcome),
            MAX_HEADER_CHARS,
        ));
        if let Some(code) = test.code {
            lines.extend(code_lines(code));
        }
    }
    if let Some(divergence) = input.divergence {
        lines.push(one_line(
            &format!(
                "first divergence at line {}: {}",
                divergence.candidate.line, divergence.reason
            ),
            MAX_HEADER_CHARS,
        ));
    }
    lines
}

fn code_lines(code: &str) -> Vec<String> {
    let code: Vec<&str> = code
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    let mut lines: Vec<String> = code
        .iter()
        .take(MAX_CODE_LINES)
        .map(|line| format!("  {}", one_line(line, MAX_HEADER_CHARS)))
        .collect();
    if code.len() > MAX_CODE_LINES {
        lines.push(format!("  … ({} more lines)", code.len() - MAX_CODE_LINES));
    }
    lines
}

/// `… trace truncated after N of M events` when the tracer hit its cap.
pub(crate) fn foot(trace: &Trace) -> Option<String> {
    if !trace.truncated {
        return None;
    }
    let recorded = trace.events.len();
    let total = usize::try_from(trace.events_total).unwrap_or(usize::MAX);
    // A tracer that stops counting at the cap reports one event past it: no real total.
    Some(if total > recorded + 1 {
        format!("… trace truncated after {recorded} of {total} events")
    } else {
        format!("… trace truncated after {recorded} events")
    })
}
