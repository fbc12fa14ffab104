//! A program as a prompt and a completion, the shape TRL's prompt–completion datasets take.
//!
//! The prompt is the problem's prompt (what a model is shown). The completion is what
//! follows it:
//! - a program that starts with the prompt (HumanEval-style samples: prompt plus body) is
//!   cut after it;
//! - a whole program that restates the prompt (its imports first, or other whitespace at its
//!   end, as programs written out whole are) is cut after the restated prompt, which then
//!   stands as the prompt: training on the restatement would teach the model to repeat what
//!   it was shown, and a pair of a whole program and a body would prefer a file format;
//! - any other program (a model that rewrote the signature, a problem whose prompt is prose)
//!   is a whole completion.
//!
//! `prompt + completion == program` in the first two cases; `offset` says where the
//! completion starts in the program in every case, so per-character vectors of the program
//! can be cut to the completion.

/// A program cut into what the model was shown and what it wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split<'a> {
    /// The problem's prompt.
    pub prompt: &'a str,
    /// The part of the program that is trained on.
    pub completion: &'a str,
    /// Characters of the program before the completion.
    pub offset: usize,
}

impl<'a> Split<'a> {
    /// Splits `program` under `prompt` (see the module docs).
    pub fn of(prompt: &'a str, program: &'a str) -> Split<'a> {
        if prompt.trim().is_empty() {
            return Split::whole(prompt, program);
        }
        // What the model wrote: after the prompt when the program starts with it. A model
        // may restate the prompt there too (a whole file after the prompt it was shown).
        let start = match program.starts_with(prompt) {
            true => prompt.len(),
            false => 0,
        };
        let end = match restated_end(prompt, &program[start..]) {
            Some(end) => start + end,
            None if start > 0 => start,
            None => return Split::whole(prompt, program),
        };
        Split {
            prompt: &program[..end],
            completion: &program[end..],
            offset: program[..end].chars().count(),
        }
    }

    fn whole(prompt: &'a str, program: &'a str) -> Split<'a> {
        Split {
            prompt,
            completion: program,
            offset: 0,
        }
    }

    /// Whether the program restated the prompt rather than continuing it.
    pub fn restated(&self, prompt: &str) -> bool {
        self.offset > 0 && self.prompt != prompt
    }

    /// The completion's part of a per-character vector of the whole program.
    pub fn cut<T: Clone>(&self, program_values: &[T]) -> Vec<T> {
        let end = self.offset + self.completion.chars().count();
        program_values[self.offset.min(program_values.len())..end.min(program_values.len())]
            .to_vec()
    }
}

/// Where the prompt ends in a program that restates it: after the prompt's text (trimmed)
/// found in the program and the line break that ended it; else, when the program restates
/// the signature the prompt ends with (its own imports, spacing or docstring around it),
/// after that signature line and the docstring that follows it, if any.
fn restated_end(prompt: &str, program: &str) -> Option<usize> {
    let core = prompt.trim();
    if let Some(at) = program.find(core) {
        let mut end = at + core.len();
        if prompt.ends_with('\n') && program[end..].starts_with('\n') {
            end += 1;
        }
        return Some(end);
    }
    let signature = (prompt.lines().rev())
        .map(str::trim)
        .find(|line| line.starts_with("def "))?;
    let mut offset = 0;
    for line in program.split_inclusive('\n') {
        offset += line.len();
        if line.trim() == signature {
            return Some(offset + docstring_len(&program[offset..]));
        }
    }
    None
}

/// The length of the docstring lines `body` starts with (blank lines before it included);
/// 0 when it starts with code.
fn docstring_len(body: &str) -> usize {
    let start = body.len() - body.trim_start().len();
    let text = &body[start..];
    let Some(quote) = ["\"\"\"", "\'\'\'"]
        .into_iter()
        .find(|q| text.starts_with(q))
    else {
        return 0;
    };
    let Some(close) = text[3..].find(quote) else {
        return 0;
    };
    let after = start + 3 + close + 3;
    match body[after..].find('\n') {
        Some(line_end) => after + line_end + 1,
        None => body.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_that_starts_with_the_prompt_completes_it() {
        let prompt = "def f(x):\n    \"\"\"é\"\"\"\n";
        let program = format!("{prompt}    return x\n");
        let split = Split::of(prompt, &program);
        assert_eq!(split.completion, "    return x\n");
        assert_eq!(split.offset, prompt.chars().count());
        let values: Vec<usize> = (0..program.chars().count()).collect();
        assert_eq!(split.cut(&values)[0], split.offset);
        assert_eq!(split.cut(&values).len(), split.completion.chars().count());
    }

    #[test]
    fn a_whole_program_that_restates_the_prompt_is_cut_after_it() {
        let prompt = "def f(x):\n    \"\"\"Twice x.\"\"\"\n";
        let program = "import math\n\n\ndef f(x):\n    \"\"\"Twice x.\"\"\"\n    return 2 * x\n";
        let split = Split::of(prompt, program);
        assert_eq!(split.completion, "    return 2 * x\n");
        assert_eq!(
            split.prompt,
            &program[..program.len() - split.completion.len()]
        );
        assert_eq!(format!("{}{}", split.prompt, split.completion), program);
        assert!(split.restated(prompt));
        // Other whitespace after the docstring: still the same prompt.
        let prompt = "def f(x):\n    \"\"\"Twice x.\"\"\"\n\n";
        let split = Split::of(
            prompt,
            "def f(x):\n    \"\"\"Twice x.\"\"\"\n    return 2 * x\n",
        );
        assert_eq!(split.completion, "    return 2 * x\n");
        assert!(!Split::of(prompt, &format!("{prompt}    pass\n")).restated(prompt));
    }

    #[test]
    fn a_restated_signature_is_cut_after_its_docstring_or_itself() {
        let prompt = "from typing import List\n\n\ndef f(xs: List[int]) -> int:\n    \"\"\" Sum.\n    >>> f([1])\n    1\n    \"\"\"\n";
        let with_doc = "\n\nfrom typing import List\n\ndef f(xs: List[int]) -> int:\n    \"\"\" Sum.\n    >>> f([1])\n    1\n    \"\"\"\n    return sum(xs)\n";
        assert_eq!(
            Split::of(prompt, with_doc).completion,
            "    return sum(xs)\n"
        );
        let bare = "from typing import List\n\ndef f(xs: List[int]) -> int:\n    return sum(xs)\n";
        let split = Split::of(prompt, bare);
        assert_eq!(split.completion, "    return sum(xs)\n");
        assert!(split.restated(prompt));
        let other = "def g(xs):\n    return sum(xs)\n";
        assert_eq!(Split::of(prompt, other).offset, 0);
    }

    #[test]
    fn a_whole_file_written_after_the_prompt_is_cut_after_its_restatement() {
        let prompt = "def f(x):\n    \"\"\"Twice x.\"\"\"\n";
        let program =
            format!("{prompt}\n\ndef f(x):\n    \"\"\"Twice x.\"\"\"\n    return 2 * x\n");
        let split = Split::of(prompt, &program);
        assert_eq!(split.completion, "    return 2 * x\n");
        assert!(split.restated(prompt));
    }

    #[test]
    fn any_other_program_is_a_whole_completion() {
        let split = Split::of("def f(x):\n", "def f(y):\n    return y\n");
        assert_eq!(
            (split.completion, split.offset),
            ("def f(y):\n    return y\n", 0)
        );
        let split = Split::of("", "x = 1\n");
        assert_eq!((split.completion, split.offset), ("x = 1\n", 0));
    }
}
