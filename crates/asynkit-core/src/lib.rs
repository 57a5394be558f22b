//! Pure-Rust data structures behind asynkit (no PyO3).
pub mod indexed_heap;
pub mod prio_queue;
pub mod ready;
