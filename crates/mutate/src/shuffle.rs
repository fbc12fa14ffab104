//! Seeded, reproducible ordering of mutants.
//!
//! The order must be identical on every machine and with every build, because benchmark
//! files record "the first N mutants for seed S". That rules out the `rand` crate (its
//! generators' output streams have changed between releases) and anything hashed with a
//! per-process key; we use SplitMix64 (`tracealign_core::random`).

use std::collections::{BTreeMap, VecDeque};

use tracealign_core::random::SplitMix64;

use crate::{Mutant, Operator};

/// Orders mutants so that any prefix mixes operators: group by operator, shuffle each
/// group, shuffle the order of the operators, then deal round-robin — one mutant of each
/// operator in turn until every group is exhausted. A plain shuffle would let the
/// operators with many sites (variable misuse, constants) crowd out the rare ones in the
/// first N.
pub(crate) fn interleave(mutants: Vec<Mutant>, seed: u64) -> Vec<Mutant> {
    let mut rng = SplitMix64::new(seed);
    let mut groups: BTreeMap<Operator, Vec<Mutant>> = BTreeMap::new();
    for mutant in mutants {
        groups.entry(mutant.operator).or_default().push(mutant);
    }
    let mut queues: Vec<VecDeque<Mutant>> = groups
        .into_values()
        .map(|mut group| {
            rng.shuffle(&mut group);
            VecDeque::from(group)
        })
        .collect();
    rng.shuffle(&mut queues);
    deal(queues)
}

fn deal(mut queues: Vec<VecDeque<Mutant>>) -> Vec<Mutant> {
    let mut dealt = Vec::with_capacity(queues.iter().map(VecDeque::len).sum());
    while queues.iter().any(|queue| !queue.is_empty()) {
        for queue in &mut queues {
            dealt.extend(queue.pop_front());
        }
    }
    dealt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // First outputs of the reference C implementation seeded with 1234567.
        let mut rng = SplitMix64::new(1_234_567);
        let expected = [
            6_457_827_717_110_365_317,
            3_203_168_211_198_807_973,
            9_817_491_932_198_370_423,
            4_593_380_528_125_082_431,
            16_408_922_859_458_223_821,
        ];
        for value in expected {
            assert_eq!(rng.next_u64(), value);
        }
    }

    #[test]
    fn shuffle_is_a_permutation_and_depends_on_the_seed() {
        let original: Vec<u32> = (0..50).collect();
        let mut a = original.clone();
        let mut b = original.clone();
        SplitMix64::new(1).shuffle(&mut a);
        SplitMix64::new(2).shuffle(&mut b);
        assert_ne!(a, b);
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, original);
    }

    fn mutant(operator: Operator, code: &str) -> Mutant {
        Mutant {
            code: code.to_string(),
            operator,
            lines: vec![1],
            span: (0, 0),
            description: String::new(),
        }
    }

    #[test]
    fn interleaving_alternates_operators() {
        let mut all = Vec::new();
        for i in 0..5 {
            all.push(mutant(Operator::Constant, &format!("c{i}")));
        }
        all.push(mutant(Operator::Boolean, "b0"));
        all.push(mutant(Operator::Boolean, "b1"));
        let dealt = interleave(all, 7);
        assert_eq!(dealt.len(), 7);
        let first_two: Vec<Operator> = dealt[..2].iter().map(|m| m.operator).collect();
        assert!(first_two.contains(&Operator::Boolean));
        assert!(first_two.contains(&Operator::Constant));
        let next_two: Vec<Operator> = dealt[2..4].iter().map(|m| m.operator).collect();
        assert!(next_two.contains(&Operator::Boolean));
    }
}
