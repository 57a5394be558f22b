//! Pure-Rust data structures behind asynkit (no PyO3).
pub mod ready;
