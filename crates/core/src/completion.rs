//! From a model's text to a program: where a completion ends, and the code in a chat reply.

use crate::Problem;

/// Where a plain completion of a HumanEval-style prompt ends: the start of the next
/// top-level statement (Codex's stop list), or a closing Markdown fence (chat-tuned models
/// close the code block, then explain it at length). The function body before is the answer.
pub const STOP_SEQUENCES: [&str; 6] = [
    "\ndef ",
    "\nclass ",
    "\nif __name__",
    "\nprint(",
    "\n#",
    "\n```",
];

/// Where a completion ends when the prompt does not start the function (MBPP's prompt is the
/// task and its tests in a docstring): the model writes the whole program, helper functions
/// included, so only a top-level statement that is not a definition ends it (not a comment:
/// small models open a program with one).
pub const PROGRAM_STOP_SEQUENCES: [&str; 4] = ["\nif __name__", "\nprint(", "\nassert ", "\n```"];

/// The stop sequences of a plain completion of `problem`'s prompt: Codex's when the prompt
/// begins the entry point's definition (the answer is its body), else those that let the
/// model define functions (a `\ndef ` stop would cut the answer before its first line).
pub fn stop_sequences(problem: &Problem) -> &'static [&'static str] {
    if problem
        .prompt
        .contains(&format!("def {}(", problem.entry_point))
    {
        &STOP_SEQUENCES
    } else {
        &PROGRAM_STOP_SEQUENCES
    }
}

/// `text` cut before the first of `stops`.
pub fn cut_at_stop<'a>(text: &'a str, stops: &[impl AsRef<str>]) -> &'a str {
    let end = stops
        .iter()
        .filter_map(|stop| text.find(stop.as_ref()))
        .min()
        .unwrap_or(text.len());
    &text[..end]
}

/// The prompt a completion model continues: the problem's prompt without trailing
/// whitespace after the last line break (a prompt ending in spaces makes small models stop
/// at once), so the model writes the indentation itself.
pub fn completion_prompt(problem: &Problem) -> &str {
    problem.prompt.trim_end_matches([' ', '\t'])
}

/// The program a completion stands for: the prompt it continued, then the completion up to
/// the problem's first [`stop_sequences`].
pub fn program_of_completion(problem: &Problem, completion: &str) -> String {
    format!(
        "{}{}",
        completion_prompt(problem),
        cut_at_stop(completion, stop_sequences(problem))
    )
}

/// What a chat model is asked for a problem: the whole function, in one Python code block.
pub fn chat_request(problem: &Problem) -> String {
    format!(
        "Complete the following Python function. Reply with the whole function in one \
         ```python code block.\n\n```python\n{}\n```",
        problem.prompt.trim_end()
    )
}

/// The program in a chat reply: the first fenced code block that defines the entry point
/// (else the first fenced block, else the whole reply). A block that does not define the
/// entry point is taken as the function's body and put after the prompt.
pub fn program_of_chat_reply(problem: &Problem, reply: &str) -> String {
    let blocks = fenced_blocks(reply);
    let defines = |code: &str| code.contains(&format!("def {}", problem.entry_point));
    let code = blocks
        .iter()
        .find(|b| defines(b))
        .or(blocks.first())
        .map_or(reply, |b| b.as_str());
    if defines(code) {
        with_prompt_imports(problem, code)
    } else {
        format!("{}{}", completion_prompt(problem), code)
    }
}

/// `code` after the prompt's top-level imports it lacks: a reply that rewrites the whole
/// function often drops the `from typing import List` the prompt began with, and would fail
/// on a name the task provided, not on its logic.
fn with_prompt_imports(problem: &Problem, code: &str) -> String {
    let present: Vec<&str> = code.lines().map(str::trim_end).collect();
    let missing: Vec<&str> = (problem.prompt.lines())
        .map(str::trim_end)
        .filter(|line| line.starts_with("import ") || line.starts_with("from "))
        .filter(|line| !present.contains(line))
        .collect();
    if missing.is_empty() {
        return code.to_string();
    }
    format!("{}\n\n{code}", missing.join("\n"))
}

/// The contents of ``` fenced blocks, in order.
fn fenced_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            match current.take() {
                Some(block) => blocks.push(block),
                None => current = Some(String::new()),
            }
        } else if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    blocks.extend(current);
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem() -> Problem {
        let mut problem = crate::embedded::problems().remove(0);
        problem.prompt = "def add(a, b):\n    \"\"\"Sum.\"\"\"\n    ".into();
        problem.entry_point = "add".into();
        problem
    }

    #[test]
    fn a_completion_ends_at_the_next_top_level_statement() {
        let program =
            program_of_completion(&problem(), "    return a + b\n\n\ndef main():\n    pass\n");
        assert_eq!(
            program,
            "def add(a, b):\n    \"\"\"Sum.\"\"\"\n    return a + b\n\n"
        );
    }

    #[test]
    fn a_completion_of_a_task_without_a_signature_keeps_its_functions() {
        let mut mbpp = problem();
        mbpp.prompt = "\"\"\"\nWrite a function to add.\nassert add(1, 2) == 3\n\"\"\"".into();
        let completion = "\ndef helper(a):\n    return a\n\ndef add(a, b):\n    \
                          return helper(a) + b\n\nassert add(1, 2) == 3\n";
        let program = program_of_completion(&mbpp, completion);
        assert!(program.ends_with("return helper(a) + b\n"), "{program}");
        assert!(program.contains("def helper(a)"), "{program}");
        assert_eq!(stop_sequences(&problem()), &STOP_SEQUENCES);
    }

    #[test]
    fn a_chat_reply_gives_its_block_that_defines_the_entry_point() {
        let reply =
            "Here:\n```\nimport math\n```\n```python\ndef add(a, b):\n    return a + b\n```\nDone.";
        assert_eq!(
            program_of_chat_reply(&problem(), reply),
            "def add(a, b):\n    return a + b\n"
        );
        let mut typed = problem();
        typed.prompt = format!("from typing import List\nimport math\n\n\n{}", typed.prompt);
        let reply = "```python\nimport math\ndef add(a, b):\n    return a + b\n```";
        assert_eq!(
            program_of_chat_reply(&typed, reply),
            "from typing import List\n\nimport math\ndef add(a, b):\n    return a + b\n",
            "the prompt's imports the reply dropped come back, once"
        );
        let body_only = "```python\n    return a + b\n```";
        assert_eq!(
            program_of_chat_reply(&problem(), body_only),
            "def add(a, b):\n    \"\"\"Sum.\"\"\"\n    return a + b\n"
        );
    }
}
