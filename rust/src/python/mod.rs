//! The one door between Python and the pure Rust modules. Each submodule binds one domain and
//! adds itself to the extension module in `register`; arguments are converted in `convert`,
//! exceptions are made in `errors`.
//!
//! Free threading: the module declares `gil_used = true`, and means it. The canonical JSON
//! walk (`canonical/objects.rs`) reads dicts and lists through borrowed pointers, which is
//! sound only while the GIL keeps other threads from changing them; so a free-threaded
//! interpreter turns the GIL back on when it imports us (and warns). Everything else would
//! run without it: `Hasher` is a frozen class around a `Mutex`, and long work (hashing,
//! walking, parsing) already runs detached.

use pyo3::prelude::*;

mod canonical;
mod convert;
mod copy;
mod digest;
mod ed25519;
mod errors;
mod fillable;
mod memory;
mod merkle;
mod progress;
mod sniff;
mod walk;

#[pymodule(gil_used = true)]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The one place the version is written is Cargo.toml; pyproject.toml and Python read it.
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    digest::register(m)?;
    ed25519::register(m)?;
    copy::register(m)?;
    fillable::register(m)?;
    canonical::register(m)?;
    merkle::register(m)?;
    sniff::register(m)?;
    walk::register(m)?;
    Ok(())
}
