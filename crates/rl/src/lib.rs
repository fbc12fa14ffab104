//! Online reinforcement learning for code models, with execution-grounded credit: GRPO
//! whose advantages land on the tokens that execution blames.
//!
//! [`credit`] turns a group of scored samples of one prompt into per-token advantages and
//! loss masks under one [`Credit`] mode, and measures how much of a batch carries signal.
//! [`grpo`] trains on a [`grpo::Task`]: writing programs for problems, or
//! [`prediction`]: execution prediction rows with the checker's verdict as the reward.

pub mod credit;
pub mod grpo;
pub mod prediction;
pub mod rollout;

pub use credit::{
    assign, group_advantages, Credit, CreditSettings, Rollout, SignalShare, TokenCredit,
};
