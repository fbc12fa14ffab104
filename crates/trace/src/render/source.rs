//! The candidate's program as the renderers need it: lines by number, the parameter order of
//! a `def`, and text cut to a length without splitting a character.

use std::borrow::Cow;

/// Longest source line shown in the event styles; the rest is elided in the middle.
const MAX_LINE_CHARS: usize = 120;

/// The program, by 1-based line number.
pub(crate) struct Program<'a> {
    lines: Vec<&'a str>,
}

impl<'a> Program<'a> {
    pub(crate) fn new(source: &'a str) -> Self {
        Self {
            lines: source.lines().collect(),
        }
    }

    /// How many lines the program has.
    pub(crate) fn len(&self) -> usize {
        self.lines.len()
    }

    /// Line `number` as written, indentation included.
    pub(crate) fn raw(&self, number: u32) -> Option<&'a str> {
        let index = usize::try_from(number).ok()?.checked_sub(1)?;
        self.lines.get(index).copied()
    }

    /// Line `number` without its indentation, cut to a readable length: what the event styles
    /// print beside a line number.
    pub(crate) fn statement(&self, number: u32) -> Option<Cow<'a, str>> {
        let text = self.raw(number)?.trim();
        (!text.is_empty()).then(|| shorten(text, MAX_LINE_CHARS))
    }

    /// The parameter names of the function defined at (or just below, past decorators) line
    /// `number`, in order; empty when no `def` is found there.
    pub(crate) fn params(&self, number: u32) -> Vec<String> {
        let Some(header) = self.def_header(number) else {
            return Vec::new();
        };
        let Some(open) = header.find('(') else {
            return Vec::new();
        };
        split_top_level(&header[open + 1..])
            .into_iter()
            .filter_map(param_name)
            .collect()
    }

    /// The `def` line and its continuation lines, up to the closing parenthesis.
    fn def_header(&self, number: u32) -> Option<String> {
        // A decorated function's code starts at its first decorator; a few lines is plenty.
        let start = (number..number.saturating_add(8)).find(|&n| {
            self.raw(n).is_some_and(|line| {
                let line = line.trim_start();
                line.starts_with("def ") || line.starts_with("async def ")
            })
        })?;
        let mut header = String::new();
        for n in start..start.saturating_add(16) {
            header.push_str(self.raw(n)?);
            header.push(' ');
            if parens_closed(&header) {
                break;
            }
        }
        Some(header)
    }
}

fn parens_closed(text: &str) -> bool {
    let opened = text.matches('(').count();
    opened > 0 && opened <= text.matches(')').count()
}

/// The parameter list up to its closing parenthesis, split at top-level commas.
fn split_top_level(params: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (at, c) in params.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => {
                parts.push(&params[start..at]);
                return parts;
            }
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&params[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&params[start..]);
    parts
}

/// `*args: int = 3` → `args`; the bare `*` and `/` markers are no names.
fn param_name(param: &str) -> Option<String> {
    let name: String = param
        .trim()
        .trim_start_matches('*')
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// `text` cut to at most `max_chars` characters, keeping its head and tail around `…`.
/// Cuts fall on character boundaries, so multibyte text is safe.
pub(crate) fn shorten(text: &str, max_chars: usize) -> Cow<'_, str> {
    let count = text.chars().count();
    if count <= max_chars {
        return Cow::Borrowed(text);
    }
    let kept = max_chars.saturating_sub(1);
    let head = kept - kept / 3;
    let tail = kept / 3;
    let head_end = text
        .char_indices()
        .nth(head)
        .map_or(text.len(), |(at, _)| at);
    let tail_start = text
        .char_indices()
        .nth(count - tail)
        .map_or(text.len(), |(at, _)| at);
    Cow::Owned(format!("{}…{}", &text[..head_end], &text[tail_start..]))
}

/// `text` on one line (line breaks written as `\n`), cut to `max_chars`.
pub(crate) fn one_line(text: &str, max_chars: usize) -> String {
    let flat = text.replace('\r', "\\r").replace('\n', "\\n");
    shorten(&flat, max_chars).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_follow_the_def_across_lines_and_decorators() {
        let program = Program::new(
            "@cache\ndef f(a, b: list[int] = [1, 2],\n      *rest, key=None, **kw):\n    pass\n",
        );
        assert_eq!(program.params(1), ["a", "b", "rest", "key", "kw"]);
        assert!(program.params(4).is_empty());
    }

    #[test]
    fn params_skip_the_bare_star_and_slash() {
        let program = Program::new("def g(x, /, *, y):\n    return x\n");
        assert_eq!(program.params(1), ["x", "y"]);
    }

    #[test]
    fn shorten_keeps_head_and_tail_on_character_boundaries() {
        assert_eq!(shorten("short", 10), "short");
        let cut = shorten("日本語のテキストはここで切られる", 9);
        assert_eq!(cut.chars().count(), 9);
        assert!(cut.starts_with("日本語のテキ…"), "{cut}");
        assert!(cut.ends_with("…れる"), "{cut}");
        assert_eq!(shorten("éééé", 1), "…");
        assert_eq!(shorten("éééé", 0), "…");
    }

    #[test]
    fn one_line_escapes_line_breaks() {
        assert_eq!(one_line("a\nb\r\n", 80), "a\\nb\\r\\n");
    }

    #[test]
    fn statements_are_trimmed_and_lines_out_of_range_are_none() {
        let program = Program::new("def f():\n    return 1\n");
        assert_eq!(program.statement(2).as_deref(), Some("return 1"));
        assert_eq!(program.statement(3), None);
        assert_eq!(program.statement(0), None);
    }
}
