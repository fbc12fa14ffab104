//! A seeded random number generator whose streams never change.
//!
//! Results that record "the first N for seed S" (mutant orders, bootstrap intervals) must be
//! identical on every machine and with every build. That rules out the `rand` crate (its
//! generators' output streams have changed between releases) and anything hashed with a
//! per-process key; SplitMix64 is fully specified by a few lines of integer arithmetic.

/// SplitMix64 (Steele, Lea & Flood 2014, as used to seed xoshiro): tiny, fast and with
/// good statistical quality for shuffling.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n > 0`), by the multiply-shift mapping: its bias (at most
    /// n / 2^64) is irrelevant here and, unlike rejection sampling, it consumes exactly one
    /// draw, which keeps sequences easy to reason about.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}
