//! Binding for `ed25519_verify_many`: every signature of a batch of receipts checked in one
//! call, with the GIL released (the server's event loop goes on meanwhile).

use pyo3::prelude::*;

use super::convert::Bytes;
use crate::ed25519::{self, Check};

/// ed25519_verify_many(checks) -> list[bool]: for each `(public_key, message, signature)`,
/// whether the signature is the key's over the message (strict RFC 8032 verification).
#[pyfunction]
fn ed25519_verify_many(
    py: Python<'_>,
    checks: Vec<(Bound<'_, PyAny>, Bound<'_, PyAny>, Bound<'_, PyAny>)>,
) -> PyResult<Vec<bool>> {
    let what = "ed25519_verify_many takes (public_key, message, signature) bytes-like objects";
    let buffers = checks
        .iter()
        .map(|(k, m, s)| {
            Ok((
                Bytes::get(k, what)?,
                Bytes::get(m, what)?,
                Bytes::get(s, what)?,
            ))
        })
        .collect::<PyResult<Vec<_>>>()?;
    // Only `bytes` are read detached: a mutable buffer changed by another thread meanwhile
    // would make the answer about bytes the caller no longer holds.
    let detach = checks.iter().all(|(k, m, s)| {
        k.is_exact_instance_of::<pyo3::types::PyBytes>()
            && m.is_exact_instance_of::<pyo3::types::PyBytes>()
            && s.is_exact_instance_of::<pyo3::types::PyBytes>()
    });
    let views: Vec<Check<'_>> = buffers
        .iter()
        .map(|(k, m, s)| Check {
            public_key: k.as_slice(),
            message: m.as_slice(),
            signature: s.as_slice(),
        })
        .collect();
    Ok(if detach {
        py.detach(|| ed25519::verify_many(&views))
    } else {
        ed25519::verify_many(&views)
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(ed25519_verify_many, m)?)?;
    Ok(())
}
