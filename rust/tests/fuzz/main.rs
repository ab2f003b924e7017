//! Fuzzing, on stable Rust and inside `cargo test`, of every parser that reads bytes an attacker
//! may choose: the strict JSON parser behind canonical JSON ([`canonical`]), every `sniff`
//! format ([`sniff`]), and the git index as the walk reads it ([`git`]).
//!
//! proptest, not bolero: bolero's coverage-guided engines (libFuzzer, AFL, honggfuzz) need
//! `cargo bolero` and a nightly compiler; under plain `cargo test` on stable it feeds random
//! inputs, as proptest does. proptest's strategies compose into the structure-aware mutations
//! of [`mutate`], a failure is shrunk to the fewest mutations that still fail, and the budget is
//! a fixed number of cases per sample (times `RECEIPTCORE_FUZZ_SCALE`, default 1), so every
//! `make test` costs the same. The cases are drawn from a fixed seed (`RECEIPTCORE_FUZZ_SEED`),
//! so every `make test` also tries the same ones and a red run is reproducible; `make fuzz`
//! hunts with a fresh seed and a larger scale. The samples are real ones (see [`seeds`]): adding
//! a format is one line in `tests/support/fuzz_seeds.py`.

mod canonical;
mod git;
mod mutate;
mod seeds;
mod sniff;

use proptest::test_runner::{Config, RngSeed};

/// The seed `make test` draws its cases from.
const FIXED_SEED: u64 = 17;

/// `$RECEIPTCORE_FUZZ_SEED`: a number, `random` (a hunt: the seed drawn is printed, so a
/// failure can be replayed), or [`FIXED_SEED`] when unset.
fn seed() -> RngSeed {
    static SEED: std::sync::OnceLock<RngSeed> = std::sync::OnceLock::new();
    *SEED.get_or_init(|| match std::env::var("RECEIPTCORE_FUZZ_SEED").as_deref() {
        Err(_) => RngSeed::Fixed(FIXED_SEED),
        Ok("random") => {
            let drawn = std::collections::hash_map::RandomState::new();
            let n = std::hash::BuildHasher::hash_one(&drawn, std::process::id());
            eprintln!("fuzz: RECEIPTCORE_FUZZ_SEED={n} replays this run");
            RngSeed::Fixed(n)
        }
        Ok(n) => RngSeed::Fixed(
            n.parse()
                .expect("RECEIPTCORE_FUZZ_SEED: a number or random"),
        ),
    })
}

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
        rng_seed: seed(),
        ..Config::default()
    }
}
