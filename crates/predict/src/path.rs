//! Execution paths as text: line numbers in the order they run, a repeated block written
//! once with its count (`4, [5, 6] × 3, 7`), as TRACED compresses loops.

/// The compressed text of `lines`: at each position the block (of at most 8 lines) that
/// repeats most times in a row is written `[a, b] × n` (a single line `a × n`).
pub fn compress(lines: &[u32]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let (period, times) = best_repeat(&lines[i..]);
        let block: Vec<String> = lines[i..i + period].iter().map(u32::to_string).collect();
        parts.push(match (times, period) {
            (1, _) => block.join(", "),
            (_, 1) => format!("{} × {times}", block[0]),
            _ => format!("[{}] × {times}", block.join(", ")),
        });
        i += period * times;
    }
    parts.join(", ")
}

/// The (period, repetitions) starting at `lines[0]` that covers most lines; (1, 1) if none
/// repeats.
fn best_repeat(lines: &[u32]) -> (usize, usize) {
    let mut best = (1, 1);
    for period in 1..=8.min(lines.len() / 2) {
        let block = &lines[..period];
        let times = 1
            + (1..)
                .take_while(|k| lines.get(k * period..(k + 1) * period) == Some(block))
                .count();
        if times > 1 && period * times > best.0 * best.1 {
            best = (period, times);
        }
    }
    best
}

/// The lines `text` stands for, or `None` when it is not in the notation (numbers, `[...]`
/// blocks, `× n` or `x n` counts, separated by commas or spaces).
pub fn expand(text: &str) -> Option<Vec<u32>> {
    let text = text.replace('×', " x ").replace(['\n', ','], " ");
    let mut tokens = text.split_whitespace().peekable();
    let mut out = Vec::new();
    while let Some(token) = tokens.next() {
        let block = match token.strip_prefix('[') {
            Some(first) => {
                let mut block = Vec::new();
                let mut token = first.to_string();
                loop {
                    let last = token.ends_with(']');
                    let number = token.trim_end_matches(']');
                    if !number.is_empty() {
                        block.push(number.parse().ok()?);
                    }
                    if last {
                        break;
                    }
                    token = tokens.next()?.to_string();
                }
                block
            }
            None => vec![token.parse().ok()?],
        };
        let mut times = 1;
        if tokens.peek().is_some_and(|t| t.eq_ignore_ascii_case("x")) {
            tokens.next();
            times = tokens.next()?.parse().ok()?;
        }
        for _ in 0..times {
            out.extend_from_slice(&block);
        }
    }
    Some(out)
}

/// Partial credit of a predicted path: the longest common prefix over the longer length.
pub fn credit(predicted: &[u32], actual: &[u32]) -> f64 {
    let prefix = predicted
        .iter()
        .zip(actual)
        .take_while(|(a, b)| a == b)
        .count();
    prefix as f64 / predicted.len().max(actual.len()).max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_are_written_once_with_their_count_and_expand_back() {
        let lines = [2, 3, 4, 5, 4, 5, 4, 5, 6, 6, 7];
        let text = compress(&lines);
        assert_eq!(text, "2, 3, [4, 5] × 3, 6 × 2, 7");
        assert_eq!(expand(&text).unwrap(), lines);
        assert_eq!(expand("2 3 [4, 5] x 3 6 x2 7"), None); // `x2` is not a count
        assert_eq!(expand("2 3 [4 5] x 3 6 x 2 7").unwrap(), lines);
        assert_eq!(expand("two"), None);
    }

    #[test]
    fn credit_is_the_shared_prefix_over_the_longer_path() {
        assert_eq!(credit(&[1, 2, 3], &[1, 2, 3]), 1.0);
        assert_eq!(credit(&[1, 2], &[1, 2, 3, 4]), 0.5);
        assert_eq!(credit(&[9], &[1]), 0.0);
    }
}
