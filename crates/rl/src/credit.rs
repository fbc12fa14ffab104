//! Credit assignment: from a group of samples of one prompt, each scored by executing it,
//! to an advantage and a loss mask per completion token.
//!
//! Every mode starts from GRPO's group-normalised advantage, `(r - mean) / std` over the
//! group (zero when the rewards are all equal: such a group teaches plain GRPO nothing).
//! The dense modes add what execution says about *where* a failing sample went wrong, so a
//! group whose samples all fail, differently, still carries a gradient:
//!
//! - [`Credit::Sequence`]: the advantage on every token (plain GRPO, binary reward).
//! - [`Credit::PassRatio`]: the same, with the share of tests passed as the reward (RLTF's
//!   adaptive reward); the caller scores it so.
//! - [`Credit::Fault`]: a failing sample's tokens get its advantage minus
//!   `fault_penalty × suspicion`, the suspicion of the token's line from the fault report
//!   scaled to 1 at the most suspicious line (RLTF's error-line penalty, generalised from
//!   the crashing line to a ranking of lines).
//! - [`Credit::Divergence`]: execution-grounded credit (EGCA): a failing sample's credit
//!   goes only to the tokens of its first divergent span against the reference trace, at
//!   most `-failure_floor`; tokens before it (which did what the reference did) get none,
//!   tokens after it are masked out of the loss (what follows a wrong step is not judged).
//!   A failing sample without a span (it never ran: a syntax error) keeps sequence credit.
//!
//! Passing samples keep sequence credit in every mode.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use tracealign_dataset::rewards::Scheme;

/// How a group's rewards become per-token credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Credit {
    Sequence,
    PassRatio,
    Fault,
    Divergence,
}

impl Credit {
    /// The scalar reward scheme the mode's group advantage uses (the one `tracealign build
    /// rewards` and the service score with).
    pub fn reward_scheme(self) -> Scheme {
        match self {
            Credit::Sequence => Scheme::Binary,
            Credit::PassRatio | Credit::Fault | Credit::Divergence => Scheme::PassRatio,
        }
    }
}

/// The dense modes' strengths.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CreditSettings {
    /// [`Credit::Fault`]: the advantage taken from a failing sample's most suspicious
    /// tokens. Default 1.
    pub fault_penalty: f32,
    /// [`Credit::Divergence`]: the least negative credit on a failing sample's divergent
    /// span. Default 1.
    pub failure_floor: f32,
}

impl Default for CreditSettings {
    fn default() -> Self {
        CreditSettings {
            fault_penalty: 1.0,
            failure_floor: 1.0,
        }
    }
}

/// One sample of a group, as execution scored it, on its completion's tokens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollout {
    /// Its scalar reward under the mode's scheme.
    pub reward: f64,
    pub passed: bool,
    /// Tokens in its completion.
    pub tokens: usize,
    /// Per token, the suspicion of its line from the fault report (any non-negative scale);
    /// empty when there is none.
    pub suspicion: Vec<f32>,
    /// The tokens of its first divergent span against the reference trace, if found.
    pub divergence: Option<Range<usize>>,
}

/// One sample's per-token advantage and loss mask (1 in the loss, 0 out).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenCredit {
    pub advantages: Vec<f32>,
    pub mask: Vec<f32>,
}

/// GRPO's group-normalised advantages: `(r - mean) / (std + 1e-4)`, population std; all
/// zero when the rewards are equal.
pub fn group_advantages(rewards: &[f64]) -> Vec<f64> {
    let n = rewards.len().max(1) as f64;
    let mean = rewards.iter().sum::<f64>() / n;
    let var = rewards.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n;
    let std = var.sqrt();
    if std < 1e-9 {
        return vec![0.0; rewards.len()];
    }
    rewards.iter().map(|r| (r - mean) / (std + 1e-4)).collect()
}

/// The per-token credit of every sample of one group.
pub fn assign(credit: Credit, group: &[Rollout], settings: &CreditSettings) -> Vec<TokenCredit> {
    let rewards: Vec<f64> = group.iter().map(|r| r.reward).collect();
    let advantages = group_advantages(&rewards);
    group
        .iter()
        .zip(advantages)
        .map(|(rollout, advantage)| {
            let advantage = advantage as f32;
            match (credit, rollout.passed) {
                (Credit::Sequence | Credit::PassRatio, _) | (_, true) => {
                    uniform(rollout.tokens, advantage)
                }
                (Credit::Fault, false) => fault(rollout, advantage, settings.fault_penalty),
                (Credit::Divergence, false) => {
                    divergence(rollout, advantage, settings.failure_floor)
                }
            }
        })
        .collect()
}

fn uniform(tokens: usize, advantage: f32) -> TokenCredit {
    TokenCredit {
        advantages: vec![advantage; tokens],
        mask: vec![1.0; tokens],
    }
}

fn fault(rollout: &Rollout, advantage: f32, penalty: f32) -> TokenCredit {
    let top = rollout.suspicion.iter().copied().fold(0.0f32, f32::max);
    let mut credit = uniform(rollout.tokens, advantage);
    if top > 0.0 {
        for (value, &suspicion) in credit.advantages.iter_mut().zip(&rollout.suspicion) {
            *value -= penalty * suspicion.max(0.0) / top;
        }
    }
    credit
}

fn divergence(rollout: &Rollout, advantage: f32, floor: f32) -> TokenCredit {
    let Some(span) = rollout.divergence.clone() else {
        return uniform(rollout.tokens, advantage);
    };
    let (start, end) = (span.start.min(rollout.tokens), span.end.min(rollout.tokens));
    let mut credit = TokenCredit {
        advantages: vec![0.0; rollout.tokens],
        mask: vec![1.0; rollout.tokens],
    };
    credit.advantages[start..end].fill(advantage.min(-floor));
    credit.mask[end..].fill(0.0);
    credit
}

/// How much of a batch carries a learning signal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SignalShare {
    /// Share of groups with any non-zero token advantage.
    pub groups: f64,
    /// Share of the tokens in the loss whose advantage is non-zero.
    pub tokens: f64,
}

impl SignalShare {
    /// Over groups of per-sample credits.
    pub fn of(groups: &[Vec<TokenCredit>]) -> SignalShare {
        let carries = |credit: &TokenCredit| credit.advantages.iter().any(|a| *a != 0.0);
        let with_signal = groups.iter().filter(|g| g.iter().any(carries)).count();
        let (mut live, mut counted) = (0usize, 0usize);
        for credit in groups.iter().flatten() {
            for (advantage, mask) in credit.advantages.iter().zip(&credit.mask) {
                if *mask > 0.0 {
                    counted += 1;
                    live += usize::from(*advantage != 0.0);
                }
            }
        }
        SignalShare {
            groups: with_signal as f64 / groups.len().max(1) as f64,
            tokens: live as f64 / counted.max(1) as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failing(tokens: usize, suspicious: Range<usize>) -> Rollout {
        let mut suspicion = vec![0.1; tokens];
        suspicion[suspicious.clone()].fill(0.9);
        Rollout {
            reward: 0.0,
            passed: false,
            tokens,
            suspicion,
            divergence: Some(suspicious),
        }
    }

    #[test]
    fn identical_binary_rewards_give_no_signal_under_sequence_credit() {
        let group = [failing(6, 1..3), failing(6, 3..5), failing(6, 0..2)];
        let credits = assign(Credit::Sequence, &group, &CreditSettings::default());
        assert!(credits
            .iter()
            .all(|c| c.advantages.iter().all(|a| *a == 0.0)));
        assert_eq!(SignalShare::of(&[credits]).groups, 0.0);
    }

    #[test]
    fn the_same_group_carries_signal_where_its_failures_differ_under_fault_and_divergence() {
        let group = [failing(6, 1..3), failing(6, 3..5)];
        let settings = CreditSettings::default();
        let fault = assign(Credit::Fault, &group, &settings);
        // The most suspicious tokens lose the full penalty, the others a ninth of it.
        assert_eq!(fault[0].advantages[1], -1.0);
        assert!((fault[0].advantages[0] + 0.1 / 0.9).abs() < 1e-6);
        assert_ne!(fault[0].advantages, fault[1].advantages);
        let divergence = assign(Credit::Divergence, &group, &settings);
        assert_eq!(
            divergence[0].advantages,
            vec![0.0, -1.0, -1.0, 0.0, 0.0, 0.0]
        );
        assert_eq!(divergence[0].mask, vec![1.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
        assert_eq!(
            divergence[1].advantages,
            vec![0.0, 0.0, 0.0, -1.0, -1.0, 0.0]
        );
        let share = SignalShare::of(&[divergence]);
        assert_eq!(share.groups, 1.0);
        assert!((share.tokens - 4.0 / 8.0).abs() < 1e-9, "{share:?}");
    }

    #[test]
    fn passing_samples_keep_sequence_credit_and_failing_ones_at_most_the_floor() {
        let passing = Rollout {
            reward: 1.0,
            passed: true,
            tokens: 4,
            ..Rollout::default()
        };
        let group = [passing, failing(4, 2..3)];
        let advantages = group_advantages(&[1.0, 0.0]);
        assert!((advantages[0] - 1.0).abs() < 1e-3 && (advantages[1] + 1.0).abs() < 1e-3);
        let settings = CreditSettings {
            failure_floor: 0.5,
            ..CreditSettings::default()
        };
        let credits = assign(Credit::Divergence, &group, &settings);
        assert!(credits[0]
            .advantages
            .iter()
            .all(|a| (*a - 1.0).abs() < 1e-3));
        // The group's own advantage (-1) is below the floor (-0.5), so it is kept.
        assert!((credits[1].advantages[2] + 1.0).abs() < 1e-3);
        assert_eq!(credits[1].mask, vec![1.0, 1.0, 1.0, 0.0]);
    }

    #[test]
    fn a_failure_without_a_span_or_suspicion_falls_back_to_sequence_credit() {
        let broken = Rollout {
            reward: 0.0,
            passed: false,
            tokens: 3,
            ..Rollout::default()
        };
        let passing = Rollout {
            reward: 1.0,
            passed: true,
            tokens: 3,
            ..Rollout::default()
        };
        for credit in [Credit::Fault, Credit::Divergence] {
            let credits = assign(
                credit,
                &[broken.clone(), passing.clone()],
                &CreditSettings::default(),
            );
            assert!(credits[0]
                .advantages
                .iter()
                .all(|a| (*a + 1.0).abs() < 1e-3));
            assert_eq!(credits[0].mask, vec![1.0; 3]);
        }
    }
}
