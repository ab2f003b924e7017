//! Fuzzing, on stable Rust and inside `cargo test`, of every parser that reads bytes an attacker
//! may choose: the strict JSON parser behind canonical JSON ([`canonical`]), every `sniff`
//! format ([`sniff`]), and the git index as the walk reads it ([`git`]).
//!
//! proptest, not bolero: bolero's coverage-guided engines (libFuzzer, AFL, honggfuzz) need
//! `cargo bolero` and a nightly compiler; under plain `cargo test` on stable it feeds random
//! inputs, as proptest does. proptest's strategies compose into the structure-aware mutations
//! of [`mutate`], a failure is shrunk to the fewest mutations that still fail, and the budget is
//! a fixed number of cases per sample (times `RECEIPTCORE_FUZZ_SCALE`, default 1), so every
//! `make test` costs the same. The samples are real ones (see [`seeds`]): adding a format is one
//! line in `tests/support/fuzz_seeds.py`.

mod canonical;
mod git;
mod mutate;
mod seeds;
mod sniff;

use proptest::test_runner::Config;

/// `cases` per sample, scaled by `$RECEIPTCORE_FUZZ_SCALE` (a longer hunt: `=50`).
pub fn config(cases: u32) -> Config {
    let scale: f64 = std::env::var("RECEIPTCORE_FUZZ_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    Config {
        cases: ((cases as f64) * scale).max(1.0) as u32,
        // A failure prints the shrunk case; nothing is written into the source tree.
        failure_persistence: None,
        ..Config::default()
    }
}
