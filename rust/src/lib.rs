//! receiptcore's native core.
//!
//! Pure Rust modules know nothing of Python and are tested with `cargo test`; the `python`
//! module (built only with the `python` feature, which maturin turns on) is the one door:
//! it converts types, releases the GIL around long work and maps errors to exceptions.

pub mod canonical;
pub mod copy;
pub mod digest;
pub mod ed25519;
pub mod git;
pub mod git_index;
pub mod grep;
pub mod merkle;
pub mod scan_cache;
pub mod sniff;
pub mod triage;
pub mod walk;

#[cfg(feature = "python")]
mod python;
