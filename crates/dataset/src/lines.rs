//! Where a program's lines and bytes are, in characters.
//!
//! Every per-character vector of this crate (weights, masks, dense rewards) is indexed by
//! Unicode scalar value, as Python indexes a `str`, so that `completion[i]` and `weights[i]`
//! agree in Python. Localization reports lines (1-based) and the diff reports byte spans:
//! [`LineIndex`] converts both.

use std::ops::Range;

/// Character positions of a text's lines and bytes.
#[derive(Debug, Clone)]
pub struct LineIndex {
    /// Per line, the character its line starts at.
    starts: Vec<usize>,
    /// Per line: the characters from its first non-blank character to its last one (empty at
    /// the line's start for a blank line). Indentation and the newline are never content.
    content: Vec<Range<usize>>,
    /// For every byte offset (and the end), the characters before it.
    chars_before: Vec<usize>,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> LineIndex {
        let mut chars_before = Vec::with_capacity(text.len() + 1);
        for (k, c) in text.chars().enumerate() {
            chars_before.extend(std::iter::repeat_n(k, c.len_utf8()));
        }
        chars_before.push(text.chars().count());
        let (mut starts, mut content) = (Vec::new(), Vec::new());
        let mut start = 0;
        for line in text.split('\n') {
            let chars: Vec<char> = line.chars().collect();
            let first = chars.iter().position(|c| !c.is_whitespace());
            let last = chars.iter().rposition(|c| !c.is_whitespace());
            starts.push(start);
            content.push(match (first, last) {
                (Some(first), Some(last)) => start + first..start + last + 1,
                _ => start..start,
            });
            start += chars.len() + 1;
        }
        LineIndex {
            starts,
            content,
            chars_before,
        }
    }

    /// How many lines the text has (a final newline starts an empty last line).
    pub fn lines(&self) -> usize {
        self.starts.len()
    }

    /// How many characters the text has.
    pub fn chars(&self) -> usize {
        *self.chars_before.last().expect("never empty")
    }

    /// The content characters of 1-based `line` (empty past the end).
    pub fn content(&self, line: u32) -> Range<usize> {
        let index = (line as usize).wrapping_sub(1);
        self.content.get(index).cloned().unwrap_or(0..0)
    }

    /// The character offset of byte offset `byte` (clamped to the text).
    pub fn char_at(&self, byte: usize) -> usize {
        self.chars_before[byte.min(self.chars_before.len() - 1)]
    }

    /// The character span of a byte span.
    pub fn chars_of(&self, bytes: (usize, usize)) -> Range<usize> {
        self.char_at(bytes.0)..self.char_at(bytes.1)
    }

    /// The 1-based line holding character `offset` (a newline belongs to the line it ends).
    pub fn line_of(&self, offset: usize) -> u32 {
        self.starts.partition_point(|&start| start <= offset) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_content_and_offsets_are_in_characters() {
        let text = "def f():\n    é = 'ü'\n\n  \treturn é\n";
        let index = LineIndex::new(text);
        assert_eq!(index.lines(), 5);
        let chars: Vec<char> = text.chars().collect();
        let content = |line| chars[index.content(line)].iter().collect::<String>();
        assert_eq!(content(2), "é = 'ü'");
        assert_eq!(content(3), "");
        assert_eq!(content(4), "return é");
        assert_eq!(index.content(9), 0..0);
        let byte = text.find("return").unwrap();
        assert_eq!(index.char_at(byte), text[..byte].chars().count());
        assert_eq!(index.line_of(index.char_at(byte)), 4);
        assert_eq!(index.line_of(8), 1, "the newline ends line 1");
        assert_eq!(index.line_of(9), 2);
        assert_eq!(index.chars(), chars.len());
    }
}
