//! A line's suspiciousness, as localizers that score lines one by one return it. Ranking
//! (ties counted pessimistically) is `tracealign_core::FaultReport::rank_of`.

/// One line's suspiciousness.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineScore {
    pub line: u32,
    pub score: f64,
}
