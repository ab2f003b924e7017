//! The one door between Python and the pure Rust modules. Each submodule binds one domain and
//! adds itself to the extension module in `register`.

use pyo3::prelude::*;

mod canonical;
mod digest;
mod errors;
mod sniff;
mod walk;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The one place the version is written is Cargo.toml; pyproject.toml and Python read it.
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    digest::register(m)?;
    canonical::register(m)?;
    sniff::register(m)?;
    walk::register(m)?;
    Ok(())
}
