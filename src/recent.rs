//! `RecentMap`: a bounded map that forgets what was not used lately, in O(1).
//!
//! Two generations: lookups see both, a hit in the older one moves to the current one, and when
//! the current one would exceed half the budget it replaces the older one (dropped whole). So the
//! map never holds more than its budget, and an entry used at least once per generation stays.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

/// Entries, each with the cost it was inserted at, bounded by a total cost.
pub struct RecentMap<K, V> {
    current: HashMap<K, (V, usize)>,
    previous: HashMap<K, (V, usize)>,
    current_cost: usize,
    budget: usize,
}

impl<K: Hash + Eq, V> RecentMap<K, V> {
    /// An empty map holding at most `budget` in total cost.
    pub fn new(budget: usize) -> Self {
        RecentMap {
            current: HashMap::new(),
            previous: HashMap::new(),
            current_cost: 0,
            budget,
        }
    }

    /// The value under `key`, now counted as used.
    pub fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if !self.current.contains_key(key) {
            let (key, (value, cost)) = self.previous.remove_entry(key)?;
            self.insert(key, value, cost);
        }
        self.current.get(key).map(|(value, _)| value)
    }

    /// Stores `value` under `key` at `cost`, replacing any earlier value.
    pub fn insert(&mut self, key: K, value: V, cost: usize) {
        if self.current_cost + cost > self.budget / 2 {
            self.previous = std::mem::take(&mut self.current);
            self.current_cost = 0;
        }
        self.previous.remove(&key);
        self.current_cost += cost;
        if let Some((_, replaced)) = self.current.insert(key, (value, cost)) {
            self.current_cost -= replaced;
        }
    }

    /// Entries held, in both generations.
    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total cost held, in both generations (at most the budget).
    pub fn cost(&self) -> usize {
        self.current_cost + self.previous.values().map(|(_, cost)| cost).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_at_most_its_budget_and_keeps_what_is_used() {
        // Goal: however many keys pass through, the total cost stays within the budget, a key
        // used once per generation survives, and one unused for two generations is forgotten.
        let mut map = RecentMap::new(100);
        map.insert(0, "hot", 1);
        map.insert(1, "cold", 1);
        for key in 2..1_000 {
            map.insert(key, "filler", 1);
            if key % 25 == 0 {
                assert_eq!(map.get(&0), Some(&"hot"));
            }
            assert!(map.cost() <= 100);
        }
        assert_eq!(map.get(&0), Some(&"hot"));
        assert_eq!(map.get(&1), None);
        assert!(map.len() <= 100);
    }
}
