//! Position arithmetic shared by the scheduling extensions.
//!
//! The scheduling functions take a queue position that may be negative (counted from
//! the end, like a Python index) or past either end (clamped). `insert_index` turns such
//! a position into the index where an item is inserted in a queue of `len` items, with
//! the semantics of Python's `list.insert(pos, item)`.

/// Index at which `list.insert(pos, item)` would place the item in a list of `len`.
///
/// ```
/// use asynkit_core::ready::insert_index;
/// assert_eq!(insert_index(0, 3), 0);
/// assert_eq!(insert_index(10, 3), 3);
/// assert_eq!(insert_index(-1, 3), 2);
/// assert_eq!(insert_index(-10, 3), 0);
/// ```
pub fn insert_index(pos: i64, len: usize) -> usize {
    let len_i = len as i64;
    if pos < 0 {
        (len_i + pos).max(0) as usize
    } else {
        pos.min(len_i) as usize
    }
}

/// Index of the item that Python's `items[pos]` would address, if any.
///
/// ```
/// use asynkit_core::ready::item_index;
/// assert_eq!(item_index(-1, 3), Some(2));
/// assert_eq!(item_index(3, 3), None);
/// ```
pub fn item_index(pos: i64, len: usize) -> Option<usize> {
    let len_i = len as i64;
    let i = if pos < 0 { len_i + pos } else { pos };
    (0..len_i).contains(&i).then_some(i as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn insert_positions() {
        assert_eq!(insert_index(0, 0), 0);
        assert_eq!(insert_index(1, 0), 0);
        assert_eq!(insert_index(-1, 0), 0);
        assert_eq!(insert_index(1, 5), 1);
        assert_eq!(insert_index(5, 5), 5);
        assert_eq!(insert_index(-5, 5), 0);
        assert_eq!(insert_index(-6, 5), 0);
    }

    #[test]
    fn item_positions() {
        assert_eq!(item_index(0, 0), None);
        assert_eq!(item_index(0, 1), Some(0));
        assert_eq!(item_index(-1, 1), Some(0));
        assert_eq!(item_index(-2, 1), None);
    }

    proptest! {
        /// Same answer as inserting into a Vec the way Python's list.insert does.
        #[test]
        fn insert_matches_list_model(pos in -20i64..20, len in 0usize..10) {
            let mut v: Vec<i32> = (0..len as i32).collect();
            let idx = insert_index(pos, len);
            v.insert(idx, -1);
            // Model: Python's list.insert clamps like this.
            let model = if pos < 0 { (len as i64 + pos).max(0) } else { pos.min(len as i64) } as usize;
            prop_assert_eq!(v.iter().position(|&x| x == -1), Some(model));
            prop_assert!(idx <= len);
        }

        #[test]
        fn item_index_in_range(pos in -20i64..20, len in 0usize..10) {
            match item_index(pos, len) {
                Some(i) => prop_assert!(i < len),
                None => prop_assert!(pos >= len as i64 || pos < -(len as i64)),
            }
        }
    }
}
