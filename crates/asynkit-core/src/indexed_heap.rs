//! An indexed binary min-heap with FIFO tie-breaking and stable entry handles.
//!
//! This is the storage engine under [`crate::prio_queue::PosPriorityQueue`]; it mirrors
//! `asynkit.tools.PriorityQueue` (eager-tasks.md §9.5, priority.md §7):
//!
//! * every entry is `(key, sequence, item)`; entry `a` precedes `b` iff
//!   `a.key < b.key`, or (`!(b.key < a.key)` and `a.sequence < b.sequence`). Only
//!   [`PriorityKey::lt`] (Python's `<`) is ever applied to keys;
//! * each insertion takes the current sequence counter and increments it; the counter
//!   is reset to 0 by [`IndexedHeap::clear`] and whenever a removal leaves the heap empty;
//! * push, pop and re-heapify use exactly the algorithms of CPython's `heapq`
//!   (`heappush`, `heappop`, `heapify` with its leaf-first `_siftup`), so for the same
//!   sequence of pushes, pops and refreshes the *storage order* (which
//!   `find`/iteration expose) is the same as the Python reference's `list`.
//!
//! Every entry gets an [`EntryId`] (slot index + generation) that stays valid while the
//! entry is queued, whatever moves the heap makes, and is never confused with a later
//! entry that reuses the slot. That gives O(log n) removal and re-keying by handle.
//!
//! | operation | cost |
//! | --- | --- |
//! | `push` | O(log n) (amortised O(1) slab growth) |
//! | `pop`, `peek` | O(log n), O(1) |
//! | `remove(id)`, `set_key(id)` | O(log n) |
//! | `get`, `key`, `contains`, `position` | O(1) |
//! | `heapify` (refresh), `reassign_sequences` | O(n) |
//! | `sort` (storage into pop order) | O(n log n) |
//! | `ordered()` (lazy, non-destructive pop order) | O(k log k) for the first k items |
//! | `iter` (storage order), `find`/`rfind` | O(n) |
//! | `clear` | O(n) (drops items) |
//!
//! NaN: `f64` keys use IEEE `<`, exactly Python's `<` on floats, so NaN "ties with
//! everything" and is ordered by sequence against any key. That relation is not
//! transitive, so with NaN keys present the pop order is only "what heapq would do"; the
//! heap never panics, loses or duplicates an entry, and every other operation stays
//! well-defined. Only NaN-free keys get the sorted-order guarantee.

use std::fmt;

/// The ordering a key must provide: Python's `<`. Nothing else is ever used.
pub trait PriorityKey {
    /// `self < other` (strict). Keys for which neither `a.lt(b)` nor `b.lt(a)` holds
    /// are "equal" and ordered FIFO by sequence.
    fn lt(&self, other: &Self) -> bool;
}

impl PriorityKey for f64 {
    #[inline]
    fn lt(&self, other: &Self) -> bool {
        *self < *other
    }
}

impl PriorityKey for i64 {
    #[inline]
    fn lt(&self, other: &Self) -> bool {
        *self < *other
    }
}

/// Stable handle to a queued entry. Becomes stale (all lookups return `None`) once the
/// entry leaves the heap; a later entry reusing the slot gets a different generation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryId {
    slot: u32,
    generation: u32,
}

impl EntryId {
    /// Pack into a `u64` (e.g. to hand to Python as an int).
    pub fn to_bits(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.slot)
    }

    /// Inverse of [`EntryId::to_bits`]. Any `u64` is accepted; a value that names no
    /// live entry simply behaves as a stale id.
    pub fn from_bits(bits: u64) -> Self {
        EntryId {
            slot: bits as u32,
            generation: (bits >> 32) as u32,
        }
    }
}

impl fmt::Debug for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntryId({}v{})", self.slot, self.generation)
    }
}

/// One heap node: the entry itself plus the slot that names it.
#[derive(Debug, Clone)]
struct Node<K, T> {
    key: K,
    seq: u64,
    slot: u32,
    item: T,
}

/// Per-slot bookkeeping: current generation and heap position (`NONE` when free).
#[derive(Debug, Clone, Copy)]
struct Slot {
    generation: u32,
    pos: u32,
}

const NONE: u32 = u32::MAX;

/// Indexed, FIFO-stable binary min-heap. See the module docs.
#[derive(Debug, Clone)]
pub struct IndexedHeap<K, T> {
    heap: Vec<Node<K, T>>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    sequence: u64,
}

impl<K, T> Default for IndexedHeap<K, T> {
    fn default() -> Self {
        IndexedHeap {
            heap: Vec::new(),
            slots: Vec::new(),
            free: Vec::new(),
            sequence: 0,
        }
    }
}

impl<K: PriorityKey, T> IndexedHeap<K, T> {
    /// Empty heap, sequence counter 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The next sequence number to be handed out (`_sequence` in the reference).
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// Heap push (`add(pri, obj)`): takes the current sequence number. O(log n).
    pub fn push(&mut self, key: K, item: T) -> EntryId {
        let seq = self.sequence;
        self.sequence += 1;
        let pos = self.heap.len();
        let id = self.alloc_slot(pos);
        self.heap.push(Node {
            key,
            seq,
            slot: id.slot,
            item,
        });
        self.sift_down(0, pos);
        id
    }

    /// Remove and return the first entry (`popitem()`), `None` when empty. O(log n).
    pub fn pop(&mut self) -> Option<(K, T)> {
        let node = self.pop_root()?;
        self.free_slot(node.slot);
        self.reset_if_empty();
        Some((node.key, node.item))
    }

    /// The first entry without removing it. O(1).
    pub fn peek(&self) -> Option<(EntryId, &K, &T)> {
        self.heap.first().map(|n| (self.id_of(n), &n.key, &n.item))
    }

    /// Remove the entry `id` keeping the heap valid; `None` if `id` is stale. O(log n).
    pub fn remove(&mut self, id: EntryId) -> Option<(K, T)> {
        let pos = self.position(id)?;
        let last = self.heap.pop().expect("a live id implies a non-empty heap");
        let node = if pos == self.heap.len() {
            last
        } else {
            let node = std::mem::replace(&mut self.heap[pos], last);
            self.set_pos(pos);
            // heapq idiom: `heap[i] = heap.pop(); _siftup(heap, i); _siftdown(heap, 0, i)`.
            self.sift_up(pos);
            self.sift_down(0, pos);
            node
        };
        self.free_slot(node.slot);
        self.reset_if_empty();
        Some((node.key, node.item))
    }

    /// Replace the key of `id`, keeping its sequence number, and restore heap order.
    /// Returns the old key, or `None` (and no change) if `id` is stale. O(log n).
    pub fn set_key(&mut self, id: EntryId, key: K) -> Option<K> {
        let pos = self.position(id)?;
        let old = std::mem::replace(&mut self.heap[pos].key, key);
        self.sift_up(pos);
        self.sift_down(0, pos);
        Some(old)
    }

    /// Mutable access to one key. The caller must restore order afterwards with
    /// [`IndexedHeap::heapify`] (or use [`IndexedHeap::set_key`] instead). O(1).
    pub fn key_mut(&mut self, id: EntryId) -> Option<&mut K> {
        let pos = self.position(id)?;
        Some(&mut self.heap[pos].key)
    }

    /// Rebuild heap order from the current storage (`refresh()`, `heapq.heapify`). O(n).
    pub fn heapify(&mut self) {
        for i in (0..self.heap.len() / 2).rev() {
            self.sift_up(i);
        }
    }

    /// Give the entries sequence numbers `0..n` in current storage order, set the
    /// counter to `n`, and re-heapify: the effect of `clear()` followed by
    /// `extend(items())` in the reference. O(n).
    pub fn reassign_sequences(&mut self) {
        for (i, node) in self.heap.iter_mut().enumerate() {
            node.seq = i as u64;
        }
        self.sequence = self.heap.len() as u64;
        self.heapify();
    }

    /// Put the storage into exact pop order (a sorted array is also a valid heap).
    /// Implemented by popping, so it never relies on the key order being total and
    /// `iter()` afterwards yields exactly what successive pops would. O(n log n).
    pub fn sort(&mut self) {
        let mut out = Vec::with_capacity(self.heap.len());
        while let Some(node) = self.pop_root() {
            out.push(node);
        }
        self.heap = out;
        for i in 0..self.heap.len() {
            self.set_pos(i);
        }
    }

    /// Remove everything and reset the sequence counter. O(n).
    pub fn clear(&mut self) {
        for node in &self.heap {
            let s = &mut self.slots[node.slot as usize];
            s.pos = NONE;
            s.generation = s.generation.wrapping_add(1);
            self.free.push(node.slot);
        }
        self.heap.clear();
        self.sequence = 0;
    }

    /// Entries in storage (heap array) order. Double-ended: `.rev()` scans from the end.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (EntryId, &K, &T)> + ExactSizeIterator {
        self.heap
            .iter()
            .map(move |n| (self.id_of(n), &n.key, &n.item))
    }

    /// Entries in pop order without modifying the heap, lazily: O(k log k) for the first
    /// k entries (a side heap over node positions). Exact pop order for NaN-free keys.
    pub fn ordered(&self) -> Ordered<'_, K, T> {
        let mut frontier = Vec::new();
        if !self.heap.is_empty() {
            frontier.push(0);
        }
        Ordered {
            heap: self,
            frontier,
        }
    }

    /// First entry scanning storage from the **end** backwards whose item satisfies
    /// `pred` (the reference's `find`/`reschedule` scan). O(n).
    pub fn rfind(&self, mut pred: impl FnMut(&T) -> bool) -> Option<EntryId> {
        self.heap
            .iter()
            .rev()
            .find(|n| pred(&n.item))
            .map(|n| self.id_of(n))
    }

    /// First entry scanning storage from the **front** whose item satisfies `pred` (the
    /// reference's `remove(obj)` scan). O(n).
    pub fn find(&self, mut pred: impl FnMut(&T) -> bool) -> Option<EntryId> {
        self.heap
            .iter()
            .find(|n| pred(&n.item))
            .map(|n| self.id_of(n))
    }

    /// The item of `id`. O(1).
    pub fn get(&self, id: EntryId) -> Option<&T> {
        self.position(id).map(|p| &self.heap[p].item)
    }

    /// The key of `id`. O(1).
    pub fn key(&self, id: EntryId) -> Option<&K> {
        self.position(id).map(|p| &self.heap[p].key)
    }

    /// The sequence number of `id`. O(1).
    pub fn seq(&self, id: EntryId) -> Option<u64> {
        self.position(id).map(|p| self.heap[p].seq)
    }

    /// Whether `id` names a queued entry. O(1).
    pub fn contains(&self, id: EntryId) -> bool {
        self.position(id).is_some()
    }

    /// Index of `id` in storage order. O(1).
    pub fn position(&self, id: EntryId) -> Option<usize> {
        let s = self.slots.get(id.slot as usize)?;
        (s.generation == id.generation && s.pos != NONE).then_some(s.pos as usize)
    }

    /// Check every structural invariant (heap order, slot/position agreement, free
    /// list). For tests; O(n). Heap order is only checked when `check_order`.
    #[doc(hidden)]
    pub fn check_invariants(&self, check_order: bool) -> Result<(), String> {
        for (i, n) in self.heap.iter().enumerate() {
            let s = self.slots.get(n.slot as usize).ok_or("slot out of range")?;
            if s.pos as usize != i {
                return Err(format!(
                    "slot {} says pos {} but node is at {i}",
                    n.slot, s.pos
                ));
            }
            if n.seq >= self.sequence {
                return Err(format!("seq {} >= counter {}", n.seq, self.sequence));
            }
            if check_order && i > 0 && self.precedes(i, (i - 1) / 2) {
                return Err(format!("heap order violated at {i}"));
            }
        }
        let live = self.slots.iter().filter(|s| s.pos != NONE).count();
        if live != self.heap.len() || live + self.free.len() != self.slots.len() {
            return Err("slot accounting mismatch".into());
        }
        Ok(())
    }

    // ----- internals -------------------------------------------------------------

    fn id_of(&self, n: &Node<K, T>) -> EntryId {
        EntryId {
            slot: n.slot,
            generation: self.slots[n.slot as usize].generation,
        }
    }

    fn alloc_slot(&mut self, pos: usize) -> EntryId {
        let pos = u32::try_from(pos).expect("IndexedHeap holds at most u32::MAX - 1 entries");
        assert!(
            pos != NONE,
            "IndexedHeap holds at most u32::MAX - 1 entries"
        );
        if let Some(slot) = self.free.pop() {
            let s = &mut self.slots[slot as usize];
            s.pos = pos;
            EntryId {
                slot,
                generation: s.generation,
            }
        } else {
            let slot = self.slots.len() as u32;
            self.slots.push(Slot { generation: 0, pos });
            EntryId {
                slot,
                generation: 0,
            }
        }
    }

    fn free_slot(&mut self, slot: u32) {
        let s = &mut self.slots[slot as usize];
        s.pos = NONE;
        s.generation = s.generation.wrapping_add(1);
        self.free.push(slot);
    }

    fn reset_if_empty(&mut self) {
        if self.heap.is_empty() {
            self.sequence = 0;
        }
    }

    /// `heapq.heappop` on the node array (slots of moved nodes updated; the popped
    /// node's slot is left for the caller).
    fn pop_root(&mut self) -> Option<Node<K, T>> {
        let last = self.heap.pop()?;
        if self.heap.is_empty() {
            return Some(last);
        }
        let root = std::mem::replace(&mut self.heap[0], last);
        self.set_pos(0);
        self.sift_up(0);
        Some(root)
    }

    #[inline]
    fn set_pos(&mut self, pos: usize) {
        let slot = self.heap[pos].slot as usize;
        self.slots[slot].pos = pos as u32;
    }

    /// Entry at `a` precedes entry at `b` (the `PriEntry.__lt__` rule).
    #[inline]
    fn precedes(&self, a: usize, b: usize) -> bool {
        let (x, y) = (&self.heap[a], &self.heap[b]);
        x.key.lt(&y.key) || (!y.key.lt(&x.key) && x.seq < y.seq)
    }

    /// `heapq._siftdown(heap, startpos, pos)`: move the node at `pos` towards the root
    /// (not above `startpos`) while it precedes its parent.
    fn sift_down(&mut self, startpos: usize, mut pos: usize) {
        while pos > startpos {
            let parent = (pos - 1) >> 1;
            if self.precedes(pos, parent) {
                self.heap.swap(pos, parent);
                self.set_pos(pos);
                pos = parent;
            } else {
                break;
            }
        }
        self.set_pos(pos);
    }

    /// `heapq._siftup(heap, pos)`: move the smaller child up until a leaf is reached,
    /// put the node there, then `_siftdown` it back (bounded by the start position).
    fn sift_up(&mut self, mut pos: usize) {
        let end = self.heap.len();
        let start = pos;
        let mut child = 2 * pos + 1;
        while child < end {
            let right = child + 1;
            if right < end && !self.precedes(child, right) {
                child = right;
            }
            self.heap.swap(pos, child);
            self.set_pos(pos);
            pos = child;
            child = 2 * pos + 1;
        }
        self.sift_down(start, pos);
    }
}

/// Lazy pop-order iterator returned by [`IndexedHeap::ordered`].
pub struct Ordered<'a, K, T> {
    heap: &'a IndexedHeap<K, T>,
    /// Binary min-heap of node positions, ordered by the nodes they point at.
    frontier: Vec<usize>,
}

impl<'a, K: PriorityKey, T> Ordered<'a, K, T> {
    fn less(&self, a: usize, b: usize) -> bool {
        self.heap.precedes(self.frontier[a], self.frontier[b])
    }

    fn push(&mut self, pos: usize) {
        self.frontier.push(pos);
        let mut i = self.frontier.len() - 1;
        while i > 0 {
            let p = (i - 1) / 2;
            if self.less(i, p) {
                self.frontier.swap(i, p);
                i = p;
            } else {
                break;
            }
        }
    }

    fn pop(&mut self) -> Option<usize> {
        let n = self.frontier.len();
        if n == 0 {
            return None;
        }
        self.frontier.swap(0, n - 1);
        let top = self.frontier.pop();
        let n = n - 1;
        let mut i = 0;
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut m = i;
            if l < n && self.less(l, m) {
                m = l;
            }
            if r < n && self.less(r, m) {
                m = r;
            }
            if m == i {
                break;
            }
            self.frontier.swap(i, m);
            i = m;
        }
        top
    }
}

impl<'a, K: PriorityKey, T> Iterator for Ordered<'a, K, T> {
    type Item = (EntryId, &'a K, &'a T);

    fn next(&mut self) -> Option<Self::Item> {
        let pos = self.pop()?;
        let len = self.heap.heap.len();
        for child in [2 * pos + 1, 2 * pos + 2] {
            if child < len {
                self.push(child);
            }
        }
        let heap: &'a IndexedHeap<K, T> = self.heap;
        let n = &heap.heap[pos];
        Some((heap.id_of(n), &n.key, &n.item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(h: &mut IndexedHeap<f64, u32>) -> Vec<u32> {
        std::iter::from_fn(|| h.pop().map(|(_, x)| x)).collect()
    }

    // "Entry A precedes B iff A.priority < B.priority, or (not (B.priority < A.priority)
    //  and A.sequence < B.sequence)." / "Hence equal priorities pop in insertion order."
    #[test]
    fn lower_first_fifo_among_equals() {
        let mut h = IndexedHeap::new();
        for (i, p) in [3.0, 1.0, 2.0, 1.0, 3.0, 1.0].into_iter().enumerate() {
            h.push(p, i as u32);
        }
        assert_eq!(drain(&mut h), vec![1, 3, 5, 2, 0, 4]);
    }

    // "The counter is reset to 0 by clear() and whenever the queue becomes empty through
    //  pop/popitem/remove/find(remove=True)."
    #[test]
    fn sequence_counter_resets_when_emptied() {
        let mut h = IndexedHeap::new();
        h.push(0.0, 1);
        h.push(0.0, 2);
        assert_eq!(h.sequence(), 2);
        h.pop();
        assert_eq!(h.sequence(), 2);
        h.pop();
        assert_eq!(h.sequence(), 0);
        let a = h.push(0.0, 3);
        assert_eq!(h.seq(a), Some(0));
        h.remove(a);
        assert_eq!(h.sequence(), 0);
        h.push(0.0, 4);
        h.clear();
        assert_eq!(h.sequence(), 0);
        assert!(h.is_empty());
    }

    // heapq parity: same storage order as Python's heappush/heappop for the same ops.
    #[test]
    fn storage_order_matches_heapq() {
        // Python: h=[]; for x in [5,3,8,1,9,2]: heappush(h,x); heappop(h) -> h == [2,3,8,5,9]
        let mut h = IndexedHeap::new();
        for x in [5i64, 3, 8, 1, 9, 2] {
            h.push(x, x as u32);
        }
        let storage: Vec<i64> = h.iter().map(|(_, k, _)| *k).collect();
        assert_eq!(storage, vec![1, 3, 2, 5, 9, 8]);
        h.pop();
        let storage: Vec<i64> = h.iter().map(|(_, k, _)| *k).collect();
        assert_eq!(storage, vec![2, 3, 8, 5, 9]);
        h.check_invariants(true).unwrap();
    }

    #[test]
    fn ids_survive_moves_and_go_stale() {
        let mut h = IndexedHeap::new();
        let ids: Vec<_> = (0..20).map(|i| h.push(f64::from(20 - i), i)).collect();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(h.get(*id), Some(&(i as u32)));
        }
        let (_, x) = h.pop().unwrap();
        assert_eq!(x, 19);
        assert!(!h.contains(ids[19]));
        let reuse = h.push(100.0, 99);
        assert_ne!(reuse, ids[19]);
        assert_eq!(h.get(ids[19]), None);
        assert_eq!(h.remove(ids[19]), None);
        assert_eq!(h.set_key(ids[19], 0.0), None);
        assert_eq!(EntryId::from_bits(reuse.to_bits()), reuse);
        h.check_invariants(true).unwrap();
    }

    #[test]
    fn remove_and_set_key_keep_order() {
        let mut h = IndexedHeap::new();
        let ids: Vec<_> = (0..50u32).map(|i| h.push(f64::from(i % 7), i)).collect();
        for id in ids.iter().step_by(3) {
            h.remove(*id).unwrap();
            h.check_invariants(true).unwrap();
        }
        h.set_key(ids[1], -1.0).unwrap();
        h.set_key(ids[2], 100.0).unwrap();
        h.check_invariants(true).unwrap();
        let order = drain(&mut h);
        assert_eq!(order[0], 1);
        assert_eq!(*order.last().unwrap(), 2);
    }

    // "find(key, remove=False) — scan storage from the end backwards"; remove(obj) scans
    // "storage front to back".
    #[test]
    fn find_directions() {
        let mut h = IndexedHeap::new();
        for i in 0..6u32 {
            h.push(0.0, i);
        }
        assert_eq!(h.get(h.rfind(|x| x % 2 == 0).unwrap()), Some(&4));
        assert_eq!(h.get(h.find(|x| x % 2 == 0).unwrap()), Some(&0));
        assert_eq!(h.rfind(|x| *x > 10), None);
    }

    // "sort() — sort the storage in place ... afterwards __iter__/items() yield pop order."
    #[test]
    fn sort_and_ordered_give_pop_order() {
        let mut h = IndexedHeap::new();
        for i in 0..40u32 {
            h.push(f64::from((i * 17) % 5), i);
        }
        let lazy: Vec<u32> = h.ordered().map(|(_, _, x)| *x).collect();
        h.sort();
        h.check_invariants(true).unwrap();
        let storage: Vec<u32> = h.iter().map(|(_, _, x)| *x).collect();
        assert_eq!(lazy, storage);
        assert_eq!(drain(&mut h), storage);
    }

    // "priorities that are mutually 'not less' are equal; e.g. NaN ties with everything":
    // NaN keys never panic nor lose entries.
    #[test]
    fn nan_keys_are_safe() {
        let mut h = IndexedHeap::new();
        let mut ids = Vec::new();
        for i in 0..30u32 {
            let k = if i % 3 == 0 {
                f64::NAN
            } else {
                f64::from(i % 4)
            };
            ids.push(h.push(k, i));
        }
        h.set_key(ids[4], f64::NAN);
        h.remove(ids[7]);
        h.heapify();
        h.sort();
        let _ = h.ordered().count();
        h.check_invariants(false).unwrap();
        let mut got = drain(&mut h);
        got.sort_unstable();
        let want: Vec<u32> = (0..30).filter(|i| *i != 7).collect();
        assert_eq!(got, want);
    }
}
