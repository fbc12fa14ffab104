//! Fitting a rendering into a token budget.
//!
//! A style lays its body out at a given [`Detail`]; [`fit`] lowers the detail step by step
//! until the whole text fits: fewer loop iterations kept (down to one at each end), then a
//! window of events (or source lines) around the point of interest, narrowed until it fits,
//! and last of all a plain cut with a closing line saying so. The head (test and first
//! divergence) is never dropped; when it alone is over the budget it is returned alone.

use super::tokens::TokenCounter;
use super::{RenderOptions, Rendered};

/// One output line of a style's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BodyLine {
    pub(crate) text: String,
    /// Events (or values) this line is the first to show; they add up to what is shown.
    pub(crate) shows: usize,
}

/// How much a body may show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Detail {
    /// Iterations (or repeated values) kept at each end of a run.
    pub(crate) keep: usize,
    /// Events (or source lines) kept around the point of interest; `None` keeps them all.
    pub(crate) window: Option<usize>,
}

/// A style, as the budget sees it.
pub(crate) trait Layout {
    /// The body at this level of detail.
    fn body(&self, detail: Detail) -> Vec<BodyLine>;
    /// How many units a window counts in; 0 when the style has no window.
    fn window_units(&self) -> usize;
    /// What the bodies' `shows` add up to when nothing is left out.
    fn total(&self) -> usize;
}

/// The lines around a body that every rendering keeps.
pub(crate) struct Surround<'a> {
    /// Test and divergence: never dropped.
    pub(crate) head: &'a [String],
    /// The truncation note: dropped only when nothing else is left to drop.
    pub(crate) foot: Option<&'a str>,
}

/// A composed text, its tokens, and how much of the trace it shows.
struct Draft {
    text: String,
    tokens: usize,
    shown: usize,
}

/// Renders `layout` inside `surround`, within `options.budget` when there is one.
pub(crate) fn fit(
    surround: &Surround,
    layout: &dyn Layout,
    options: &RenderOptions,
    counter: &dyn TokenCounter,
) -> Rendered {
    let total = layout.total();
    let draft = |detail: Detail| compose(surround, &layout.body(detail), None, counter);
    let keep = options.loop_keep.max(1);
    let full = draft(Detail { keep, window: None });
    let Some(budget) = options.budget else {
        return finish(full, total);
    };
    let fits = |draft: &Draft| draft.tokens <= budget;
    let fewer_iterations = fewer(keep).map(|keep| Detail { keep, window: None });
    if let Some(fitting) = std::iter::once(full)
        .chain(fewer_iterations.map(draft))
        .find(fits)
    {
        return finish(fitting, total);
    }
    let units = layout.window_units();
    let windowed = |width| {
        draft(Detail {
            keep: 1,
            window: Some(width),
        })
    };
    if let Some(fitting) = (units > 0)
        .then(|| widest(units, |width| Some(windowed(width)).filter(fits)))
        .flatten()
    {
        return finish(fitting, total);
    }
    let smallest = Detail {
        keep: 1,
        window: (units > 0).then_some(1),
    };
    finish(
        cut(surround, &layout.body(smallest), budget, counter),
        total,
    )
}

/// Loop keeps below `keep`, halving down to 1.
fn fewer(keep: usize) -> impl Iterator<Item = usize> {
    std::iter::successors(Some(keep), |&k| (k > 1).then_some(k / 2)).skip(1)
}

/// The draft of the widest window in `1..units` that `attempt` accepts, assuming a narrower
/// window never takes more tokens than a wider one.
fn widest(units: usize, attempt: impl Fn(usize) -> Option<Draft>) -> Option<Draft> {
    let mut best = attempt(1)?;
    let (mut fitting, mut too_wide) = (1, units);
    while too_wide - fitting > 1 {
        let middle = fitting + (too_wide - fitting) / 2;
        match attempt(middle) {
            Some(draft) => (best, fitting) = (draft, middle),
            None => too_wide = middle,
        }
    }
    Some(best)
}

/// The longest prefix of `body` that fits with a closing line saying the trace was cut; the
/// head alone when not even that fits.
fn cut(surround: &Surround, body: &[BodyLine], budget: usize, counter: &dyn TokenCounter) -> Draft {
    let closing = format!("… (trace cut to fit {budget} tokens)");
    let prefix = |lines: usize| compose(surround, &body[..lines], Some(&closing), counter);
    if prefix(0).tokens <= budget {
        let (mut fitting, mut too_long) = (0, body.len() + 1);
        while too_long - fitting > 1 {
            let middle = fitting + (too_long - fitting) / 2;
            if prefix(middle).tokens <= budget {
                fitting = middle;
            } else {
                too_long = middle;
            }
        }
        return prefix(fitting);
    }
    let head_only = Surround {
        head: surround.head,
        foot: None,
    };
    let closed = compose(&head_only, &[], Some(&closing), counter);
    if closed.tokens <= budget {
        return closed;
    }
    compose(&head_only, &[], None, counter)
}

fn compose(
    surround: &Surround,
    body: &[BodyLine],
    closing: Option<&str>,
    counter: &dyn TokenCounter,
) -> Draft {
    let mut lines: Vec<&str> = surround.head.iter().map(String::as_str).collect();
    lines.extend(body.iter().map(|line| line.text.as_str()));
    lines.extend(surround.foot);
    lines.extend(closing);
    let text = lines.join("\n");
    Draft {
        tokens: counter.count(&text),
        shown: body.iter().map(|line| line.shows).sum(),
        text,
    }
}

fn finish(draft: Draft, total: usize) -> Rendered {
    Rendered {
        text: draft.text,
        tokens: draft.tokens,
        omitted_events: total.saturating_sub(draft.shown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_halve_down_to_one() {
        assert_eq!(fewer(8).collect::<Vec<_>>(), [4, 2, 1]);
        assert_eq!(fewer(3).collect::<Vec<_>>(), [1]);
        assert_eq!(fewer(1).count(), 0);
    }

    #[test]
    fn the_widest_fitting_window_is_found() {
        let attempt = |width: usize| {
            (width <= 37).then(|| Draft {
                text: String::new(),
                tokens: 0,
                shown: width,
            })
        };
        assert_eq!(widest(100, attempt).map(|d| d.shown), Some(37));
        assert!(widest(100, |_| None).is_none());
    }
}
