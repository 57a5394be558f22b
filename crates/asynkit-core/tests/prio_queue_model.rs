//! Model-based property test of `PosPriorityQueue` against a naive sorted `Vec`.
//!
//! The model keeps its entries in pop order (sorted by class, `priority()`, sequence)
//! and restates every rule of priority.md §8–§9 directly: counters, the maintenance
//! trigger, positional insert, reschedule, reschedule_all and straggler boosting. The
//! random source is a constant `r` (drawn per test case), which makes the boosts
//! independent of the order in which stragglers are visited.

use std::collections::HashMap;

use asynkit_core::indexed_heap::EntryId;
use asynkit_core::prio_queue::{PosPriorityQueue, PriorityValue};
use proptest::prelude::*;

const PRIS: [f64; 6] = [-2.0, -1.0, 0.0, 0.5, 1.0, 3.0];

#[derive(Debug, Clone)]
enum Op {
    Append(usize),
    Pop,
    Remove(usize),
    Detach(usize),
    Reschedule(usize, usize),
    Insert(usize),
    Boost,
    RescheduleAll(u32),
    IterSorted,
    Clear,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..PRIS.len()).prop_map(Op::Append),
        6 => Just(Op::Pop),
        2 => any::<usize>().prop_map(Op::Remove),
        1 => any::<usize>().prop_map(Op::Detach),
        3 => (any::<usize>(), 0..PRIS.len()).prop_map(|(k, p)| Op::Reschedule(k, p)),
        2 => (0usize..12).prop_map(Op::Insert),
        1 => Just(Op::Boost),
        1 => (0u32..5).prop_map(Op::RescheduleAll),
        1 => Just(Op::IterSorted),
        1 => Just(Op::Clear),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    item: u32,
    val: PriorityValue,
    seq: u64,
}

fn precedes(a: &Entry, b: &Entry) -> bool {
    let (x, y) = (&a.val, &b.val);
    let lt = |x: &PriorityValue, y: &PriorityValue| {
        if x.priority_class != y.priority_class {
            x.priority_class < y.priority_class
        } else {
            x.base_priority + x.priority_boost < y.base_priority + y.priority_boost
        }
    };
    lt(x, y) || (!lt(y, x) && a.seq < b.seq)
}

struct Model {
    entries: Vec<Entry>, // pop order
    seq: u64,
    n_inserted: u64,
    n_removed: u64,
    last_maintenance: u64,
    factor: f64,
    r: f64,
}

impl Model {
    fn push(&mut self, item: u32, val: PriorityValue) {
        let e = Entry {
            item,
            val,
            seq: self.seq,
        };
        self.seq += 1;
        let at = self
            .entries
            .iter()
            .position(|x| precedes(&e, x))
            .unwrap_or(self.entries.len());
        self.entries.insert(at, e);
    }

    fn resort(&mut self) {
        // Total for NaN-free values; insertion sort keeps it obviously correct.
        let old = std::mem::take(&mut self.entries);
        for e in old {
            let at = self
                .entries
                .iter()
                .position(|x| precedes(&e, x))
                .unwrap_or(self.entries.len());
            self.entries.insert(at, e);
        }
    }

    fn take(&mut self, idx: usize) -> Entry {
        let e = self.entries.remove(idx);
        if self.entries.is_empty() {
            self.seq = 0;
        }
        e
    }

    fn count_removal(&mut self) {
        if self.entries.is_empty() {
            self.n_inserted = 0;
            self.n_removed = 0;
        } else {
            self.n_removed += 1;
        }
    }

    fn count_insertion(&mut self) {
        self.n_inserted += 1;
        let throughput = self.n_inserted.min(self.n_removed);
        let limit = (self.entries.len() as u64).max(10) + self.last_maintenance;
        if throughput > limit {
            self.do_maintenance();
            self.last_maintenance = throughput;
        }
    }

    fn pop(&mut self) -> Option<u32> {
        if self.entries.is_empty() {
            return None;
        }
        let e = self.take(0);
        self.count_removal();
        Some(e.item)
    }

    fn do_maintenance(&mut self) {
        if self.factor == 0.0 || self.entries.is_empty() {
            return;
        }
        let head = self.entries[0].val;
        let mut min_pri = head.base_priority + head.priority_boost;
        let mut max_pri = min_pri;
        let len = self.entries.len() as i128;
        let mut stragglers = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            if e.val.priority_class != 1 {
                continue;
            }
            let p = e.val.base_priority + e.val.priority_boost;
            min_pri = min_pri.min(p);
            max_pri = max_pri.max(p);
            if (e.val.inserted_at as i128) < self.n_inserted as i128 - len {
                stragglers.push(i);
            }
        }
        let _ = max_pri;
        let mut boosted = false;
        for i in stragglers {
            let base = self.entries[i].val.base_priority;
            if base > min_pri {
                let b = self.r * (min_pri - base) * self.factor;
                if b != 0.0 {
                    self.entries[i].val.priority_boost = b;
                    boosted = true;
                }
            }
        }
        if boosted {
            self.resort();
        }
    }
}

struct Harness {
    q: PosPriorityQueue<u32>,
    m: Model,
    ids: HashMap<u32, EntryId>,
    next_item: u32,
}

impl Harness {
    fn new(r: f64, factor: f64) -> Self {
        let mut q = PosPriorityQueue::new();
        q.priority_boost_factor = factor;
        Harness {
            q,
            m: Model {
                entries: Vec::new(),
                seq: 0,
                n_inserted: 0,
                n_removed: 0,
                last_maintenance: 0,
                factor,
                r,
            },
            ids: HashMap::new(),
            next_item: 0,
        }
    }

    fn fresh(&mut self) -> u32 {
        self.next_item += 1;
        self.next_item
    }

    fn nth(&self, k: usize) -> Option<u32> {
        (!self.m.entries.is_empty()).then(|| self.m.entries[k % self.m.entries.len()].item)
    }

    fn apply(&mut self, op: &Op) {
        let r = self.m.r;
        match *op {
            Op::Append(p) => {
                let x = self.fresh();
                let ins = self.q.append(x, PRIS[p]);
                if ins.maintenance.is_some() {
                    assert!(
                        self.q.value(ins.id).is_some(),
                        "item queued before maintenance"
                    );
                }
                self.q.maintain(ins.maintenance, || r);
                self.ids.insert(x, ins.id);
                let val = PriorityValue::new(PRIS[p], self.m.n_inserted);
                self.m.push(x, val);
                self.m.count_insertion();
            }
            Op::Pop => {
                let got = self.q.pop_front();
                assert_eq!(got, self.m.pop());
                if let Some(x) = got {
                    self.ids.remove(&x);
                }
            }
            Op::Remove(k) | Op::Detach(k) => {
                let Some(x) = self.nth(k) else { return };
                let id = self.ids.remove(&x).unwrap();
                let counted = matches!(op, Op::Remove(_));
                let got = if counted {
                    self.q.remove(id)
                } else {
                    self.q.detach(id)
                };
                assert_eq!(got, Some(x));
                assert_eq!(self.q.remove(id), None, "id is stale after removal");
                let idx = self.m.entries.iter().position(|e| e.item == x).unwrap();
                self.m.take(idx);
                if counted {
                    self.m.count_removal();
                }
            }
            Op::Reschedule(k, p) => {
                let Some(x) = self.nth(k) else { return };
                let id = self.ids[&x];
                assert_eq!(self.q.rfind(|y| *y == x), Some(id));
                let changed = self.q.reschedule(id, PRIS[p]).unwrap();
                let new = PriorityValue::new(PRIS[p], self.m.n_inserted);
                let idx = self.m.entries.iter().position(|e| e.item == x).unwrap();
                let cur = self.m.entries[idx].val;
                let same =
                    cur.priority_class == 1 && cur.base_priority + cur.priority_boost == PRIS[p];
                assert_eq!(changed, !same);
                if !same {
                    self.m.entries[idx].val = new;
                    self.m.resort();
                }
            }
            Op::Insert(pos) => {
                let x = self.fresh();
                let before: Vec<u32> = self.m.entries.iter().map(|e| e.item).collect();
                let ins = self.q.insert(pos, x);
                let inserted_id = ins.id;
                self.q.maintain(ins.maintenance, || r);
                self.ids.insert(x, inserted_id);
                // The spec's algorithm, step by step, on the model.
                let mut moved = Vec::new();
                while moved.len() < pos {
                    match self.m.pop() {
                        Some(y) => moved.push(y),
                        None => break,
                    }
                }
                let v = match self.m.entries.first() {
                    Some(h) if h.val.priority_class == 0 => h.val.base_priority - 1.0,
                    _ => 0.0,
                };
                let val = PriorityValue::immediate(v, self.m.n_inserted);
                for y in moved {
                    self.m.push(y, val);
                }
                self.m.push(x, val);
                // Moved items keep their ids (the queue re-adds them as new entries).
                let mut after = before.clone();
                after.insert(pos.min(before.len()), x);
                let needs_ids: Vec<u32> =
                    after.iter().copied().take(pos.min(before.len())).collect();
                for y in needs_ids {
                    let id = self.q.rfind(|z| *z == y).unwrap();
                    self.ids.insert(y, id);
                }
                self.m.count_insertion();
                // list.insert semantics (if maintenance ran, boosts only touch class 1
                // entries behind the immediate block, so the prefix is unaffected).
                let now: Vec<u32> = self.m.entries.iter().map(|e| e.item).collect();
                let k = pos.min(before.len()) + 1;
                assert_eq!(&now[..k], &after[..k]);
            }
            Op::Boost => {
                self.q.do_maintenance(|| r);
                self.m.do_maintenance();
            }
            Op::RescheduleAll(shift) => {
                let f = |x: u32| PRIS[((x + shift) as usize) % PRIS.len()];
                let storage: Vec<u32> = self.q.iter().map(|(_, _, x)| *x).collect();
                self.q.reschedule_all(|x| f(*x));
                for e in &mut self.m.entries {
                    if e.val.priority_class == 1 {
                        e.val.base_priority = f(e.item);
                    }
                }
                for e in &mut self.m.entries {
                    e.seq = storage.iter().position(|x| *x == e.item).unwrap() as u64;
                }
                self.m.seq = storage.len() as u64;
                self.m.resort();
            }
            Op::IterSorted => {
                let listed: Vec<u32> = self.q.iter_sorted().map(|(_, _, x)| *x).collect();
                let model: Vec<u32> = self.m.entries.iter().map(|e| e.item).collect();
                assert_eq!(listed, model);
            }
            Op::Clear => {
                self.q.clear();
                self.m.entries.clear();
                self.m.seq = 0;
                self.ids.clear();
            }
        }
    }

    fn check(&self) {
        self.q.heap().check_invariants(true).unwrap();
        assert_eq!(self.q.len(), self.m.entries.len());
        assert_eq!(self.q.heap().sequence(), self.m.seq);
        assert_eq!(
            (self.q.n_inserted, self.q.n_removed, self.q.last_maintenance),
            (self.m.n_inserted, self.m.n_removed, self.m.last_maintenance)
        );
        let got: Vec<Entry> = self
            .q
            .ordered()
            .map(|(id, val, item)| Entry {
                item: *item,
                val: *val,
                seq: self.q.heap().seq(id).unwrap(),
            })
            .collect();
        assert_eq!(got, self.m.entries);
        assert_eq!(self.ids.len(), self.m.entries.len());
        for (x, id) in &self.ids {
            assert_eq!(self.q.get(*id), Some(x));
        }
        if let Some((_, _, head)) = self.q.peek() {
            assert_eq!(*head, self.m.entries[0].item);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    #[test]
    fn matches_sorted_vec_model(
        ops in prop::collection::vec(op(), 1..300),
        r in 0.0f64..1.0,
        factor in prop_oneof![Just(1.2f64), Just(0.0), 0.1f64..3.0],
    ) {
        let mut h = Harness::new(r, factor);
        for op in &ops {
            h.apply(op);
            h.check();
        }
    }

    /// Positional inserts only, at priority 0: the queue behaves as a `list` with
    /// `list.insert` and `pop(0)` (the "equivalent to a SchedulingSelectorEventLoop"
    /// contract of §11).
    #[test]
    fn priority_zero_is_a_list(ops in prop::collection::vec((0usize..4, 0usize..15), 1..200)) {
        let mut q = PosPriorityQueue::new();
        let mut list: Vec<u32> = Vec::new();
        for (i, (kind, pos)) in ops.into_iter().enumerate() {
            let x = i as u32;
            match kind {
                0 => { let d = q.append(x, 0.0).maintenance; q.maintain(d, || 0.5); list.push(x); }
                1 => { let d = q.insert(pos, x).maintenance; q.maintain(d, || 0.5); list.insert(pos.min(list.len()), x); }
                2 => { let got = q.pop_front(); let want = (!list.is_empty()).then(|| list.remove(0)); prop_assert_eq!(got, want); }
                _ => {
                    if !list.is_empty() {
                        let y = list.remove(pos % list.len());
                        let id = q.rfind(|z| *z == y).unwrap();
                        prop_assert_eq!(q.remove(id), Some(y));
                    }
                }
            }
            let now: Vec<u32> = q.ordered().map(|(_, _, x)| *x).collect();
            prop_assert_eq!(&now, &list);
        }
    }
}
