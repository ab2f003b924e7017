//! Bindings for RFC 8785 canonical JSON: `canonicalize`, `canonicalize_json`, `canonical_sha256`.
//!
//! Python objects are walked directly into the canonical writer (no intermediate JSON value, no
//! `json.dumps`), so `canonical_sha256` of a large manifest costs one pass and 64 KiB of buffer.
//! The walk (`objects.rs`) reads containers through borrowed pointers and runs no Python code,
//! which is what lets it keep pace with orjson.

mod objects;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use super::convert::{Bytes, DETACH_MIN};
use super::errors::canonicalization_error;
use crate::canonical::{canonicalize_text, Sha256Sink};
use objects::write_object;

/// canonicalize(obj) -> bytes
#[pyfunction]
fn canonicalize<'py>(py: Python<'py>, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let mut out = Vec::with_capacity(4096);
    write_object(obj, &mut out)?;
    Ok(PyBytes::new(py, &out))
}

/// canonical_sha256(obj) -> str
#[pyfunction]
fn canonical_sha256(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    let mut sink = Sha256Sink::new();
    write_object(obj, &mut sink)?;
    Ok(sink.hexdigest())
}

/// canonicalize_json(text) -> bytes
#[pyfunction]
fn canonicalize_json<'py>(
    py: Python<'py>,
    text: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    // str and bytes cannot change while the GIL is released; other buffers are parsed with
    // it held (see `Bytes::detach`).
    let run = |bytes: &[u8], detach: bool| {
        if detach {
            py.detach(|| canonicalize_text(bytes))
        } else {
            canonicalize_text(bytes)
        }
    };
    let result = if let Ok(s) = text.cast::<PyString>() {
        match s.to_str() {
            Ok(s) => run(s.as_bytes(), s.len() >= DETACH_MIN),
            // Lone surrogates: encode them anyway so the parser can say where they are.
            Err(_) => {
                let raw = s.call_method1("encode", ("utf-8", "surrogatepass"))?;
                let raw = raw.cast::<PyBytes>()?.as_bytes();
                run(raw, raw.len() >= DETACH_MIN)
            }
        }
    } else {
        let what = "canonicalize_json takes str or bytes (or another bytes-like object)";
        let bytes = Bytes::get(text, what)?;
        run(bytes.as_slice(), bytes.detach(true))
    };
    let out = result.map_err(|e| canonicalization_error(py, e))?;
    Ok(PyBytes::new(py, &out))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(canonicalize, m)?)?;
    m.add_function(wrap_pyfunction!(canonicalize_json, m)?)?;
    m.add_function(wrap_pyfunction!(canonical_sha256, m)?)?;
    Ok(())
}
