//! The `blocks` style: each frame's execution as basic blocks, like LDB.
//!
//! ```text
//! call f(xs=[1, 2, 3])
//!   [block 1] lines 2-4
//!     before: xs=[1, 2, 3]
//!     2  total = 0
//!     3  for x in xs:
//!     4  total = total + x
//!     after: total=1, x=1
//! ```
//!
//! A block is a maximal run of one frame's line events with nothing else between them and no
//! step backwards: a line at or above the previous one starts a new block, and so does
//! anything a call, return, yield or exception interrupts. `before` is every variable of the
//! frame at entry; `after` is what the block changed, with the values it left. `after` is
//! printed where the trace reports it, so after any call the block's last line made. All of a
//! block's rows belong to its first event: a block is shown or hidden whole.

use super::frames::Frames;
use super::lines::{describe, indentation, inset};
use super::rows::Row;
use super::source::Program;
use super::text::State;
use super::{Focus, MARK};

/// A basic block: its line events, in order.
struct Block {
    lines: Vec<usize>,
}

impl Block {
    fn start(&self) -> usize {
        self.lines[0]
    }

    fn last(&self) -> usize {
        self.lines[self.lines.len() - 1]
    }
}

/// The rows of the `blocks` style.
pub(crate) fn rows(frames: &Frames, program: &Program, focus: Option<&Focus>) -> Vec<Row> {
    let blocks = find_blocks(frames);
    let mut block_of = vec![None; frames.len()];
    // Blocks whose `after` is reported at each event (the last slot: at the end of the trace).
    let mut reported_at: Vec<Vec<usize>> = vec![Vec::new(); frames.len() + 1];
    for (number, block) in blocks.iter().enumerate() {
        for &line in &block.lines {
            block_of[line] = Some(number);
        }
        reported_at[frames.next(block.last()).unwrap_or(frames.len())].push(number);
    }
    let mut states = vec![State::default(); frames.frames.len()];
    let mut rows = Vec::new();
    for (index, event) in frames.events.iter().enumerate() {
        let afters = reported_at[index].iter().map(|&n| &blocks[n]);
        rows.extend(afters_rows(frames, afters));
        let state = &mut states[frames.frame_of(index)];
        state.set_arguments(event, program);
        state.set_all(&event.changed);
        // The blamed line itself: a block's `after` mixes the changes of all its lines.
        let mark = match focus {
            Some(focus) if focus.event == index && focus.mark.is_some() => MARK,
            _ => "",
        };
        let indent = indentation(event.depth);
        match block_of[index] {
            Some(number) => {
                let block = &blocks[number];
                if block.start() == index {
                    rows.extend(opening(frames, block, number, state, indent + 2));
                }
                let statement = program.statement(event.line).unwrap_or_default();
                rows.push(detail(
                    block,
                    indent + 4,
                    format!("{}  {statement}{mark}", event.line),
                ));
            }
            None => rows.push(Row {
                event: index,
                indent: indent + inset(event.kind),
                text: format!("{}{mark}", describe(frames, program, index)),
                shows: 1,
            }),
        }
    }
    let at_end = reported_at[frames.len()].iter().map(|&n| &blocks[n]);
    rows.extend(afters_rows(frames, at_end));
    rows
}

/// Blocks of every frame, in the order they start.
fn find_blocks(frames: &Frames) -> Vec<Block> {
    let mut blocks = Vec::new();
    for segment in &frames.segments {
        let mut current: Vec<usize> = Vec::new();
        for &event in &segment.lines {
            let continues = current.last().is_some_and(|&previous| {
                previous + 1 == event && frames.events[event].line > frames.events[previous].line
            });
            if !continues && !current.is_empty() {
                blocks.push(Block {
                    lines: std::mem::take(&mut current),
                });
            }
            current.push(event);
        }
        if !current.is_empty() {
            blocks.push(Block { lines: current });
        }
    }
    blocks.sort_by_key(Block::start);
    blocks
}

/// The `after` rows of blocks that changed something.
fn afters_rows<'a>(frames: &Frames, blocks: impl Iterator<Item = &'a Block>) -> Vec<Row> {
    blocks
        .filter_map(|block| {
            let changed = after(frames, block);
            let indent = indentation(frames.events[block.start()].depth) + 4;
            let text = format!("after: {}", changed.describe());
            (!changed.is_empty()).then(|| detail(block, indent, text))
        })
        .collect()
}

/// What the block changed: the changes reported after each of its lines.
fn after(frames: &Frames, block: &Block) -> State {
    let mut state = State::default();
    let reports = block.lines[1..]
        .iter()
        .copied()
        .chain(frames.next(block.last()));
    for event in reports {
        state.set_all(&frames.events[event].changed);
    }
    state
}

/// The block's title and the state it starts from.
fn opening(
    frames: &Frames,
    block: &Block,
    number: usize,
    state: &State,
    indent: usize,
) -> Vec<Row> {
    let first = frames.events[block.start()].line;
    let last = frames.events[block.last()].line;
    let span = if first == last {
        format!("line {first}")
    } else {
        format!("lines {first}-{last}")
    };
    let mut rows = vec![Row {
        event: block.start(),
        indent,
        text: format!("[block {}] {span}", number + 1),
        shows: block.lines.len(),
    }];
    if !state.is_empty() {
        rows.push(detail(
            block,
            indent + 2,
            format!("before: {}", state.describe()),
        ));
    }
    rows
}

/// A row that belongs to the block as a whole.
fn detail(block: &Block, indent: usize, text: String) -> Row {
    Row {
        event: block.start(),
        indent,
        text,
        shows: 0,
    }
}
