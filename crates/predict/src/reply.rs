//! What a model's reply to a row is cut to before it is judged, and where its generation
//! stops: the same for local models, servers and GRPO's samples.

use crate::rows::Task;

/// A reply cut to its answer: what follows any leading blank lines, and for a value, an
/// argument list or a path outside a code fence, its first line.
pub fn trimmed(reply: &str, task: Task) -> String {
    let reply = reply.trim_start();
    match task {
        Task::Output | Task::Input | Task::Path if !reply.starts_with("```") => {
            reply.lines().next().unwrap_or_default().to_string()
        }
        _ => reply.to_string(),
    }
}

/// The prompt with the rationale before its question (the text after the code block).
pub fn with_rationale(prompt: &str, rationale: &str) -> String {
    let (code, question) = prompt.rsplit_once("```\n").unwrap_or((prompt, ""));
    format!("{code}```\n\nIts execution, step by step:\n```\n{rationale}\n```\n{question}")
}

/// Where an answer ends: a blank line, or two after a rationale (whose steps may be
/// separated by one).
pub fn stop(task: Task) -> &'static str {
    match task {
        Task::Rationale => "\n\n\n",
        _ => "\n\n",
    }
}
