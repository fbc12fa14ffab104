//! Ranking lines by suspiciousness, with ties counted pessimistically: a line tied with
//! others ranks as the last of them, so a localizer gains nothing from ties it cannot break.

/// One line's suspiciousness.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineScore {
    pub line: u32,
    pub score: f64,
}

/// The 1-based rank of `line` among `scores`: the number of lines scoring at least as high
/// (so ties count against it). `None` when the line has no score (it never ran).
pub fn rank_of(scores: &[LineScore], line: u32) -> Option<usize> {
    let target = scores.iter().find(|s| s.line == line)?.score;
    Some(scores.iter().filter(|s| s.score >= target).count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_rank_pessimistically() {
        let scores = [
            LineScore {
                line: 1,
                score: 0.5,
            },
            LineScore {
                line: 2,
                score: 0.9,
            },
            LineScore {
                line: 3,
                score: 0.9,
            },
            LineScore {
                line: 4,
                score: 0.1,
            },
        ];
        assert_eq!(
            rank_of(&scores, 2),
            Some(2),
            "tied for first: counts as second"
        );
        assert_eq!(rank_of(&scores, 3), Some(2));
        assert_eq!(rank_of(&scores, 1), Some(3));
        assert_eq!(rank_of(&scores, 4), Some(4));
        assert_eq!(rank_of(&scores, 9), None);
    }
}
