//! Bindings for signature detection: `sniff(path_or_bytes) -> Sniff | None` and `Sniff`.

use std::path::PathBuf;

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyMemoryView};

use crate::sniff::{sniff_bytes, sniff_path, Sniff};

/// What a file was recognised as: `format`, `family`, `evidence`.
#[pyclass(frozen, eq, hash, module = "receiptcore._core", name = "Sniff")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PySniff {
    #[pyo3(get)]
    format: &'static str,
    #[pyo3(get)]
    family: &'static str,
    #[pyo3(get)]
    evidence: String,
}

impl From<Sniff> for PySniff {
    fn from(s: Sniff) -> Self {
        PySniff {
            format: s.format,
            family: s.family.as_str(),
            evidence: s.evidence,
        }
    }
}

impl PySniff {
    pub fn format(&self) -> &'static str {
        self.format
    }
}

#[pymethods]
impl PySniff {
    fn __repr__(&self) -> String {
        format!(
            "Sniff(format={:?}, family={:?}, evidence={:?})",
            self.format, self.family, self.evidence
        )
    }
}

/// `OSError(errno, strerror, filename)`, so Python picks FileNotFoundError, PermissionError...
pub fn io_error(err: std::io::Error, path: &std::path::Path) -> PyErr {
    const EINVAL: i32 = 22;
    let errno = err.raw_os_error().unwrap_or(EINVAL);
    let text = err.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text).to_string();
    PyOSError::new_err((errno, text, path.as_os_str().to_os_string()))
}

/// sniff(path_or_bytes) -> Sniff | None
#[pyfunction]
fn sniff(py: Python<'_>, path_or_bytes: &Bound<'_, PyAny>) -> PyResult<Option<PySniff>> {
    if let Ok(bytes) = path_or_bytes.cast::<PyBytes>() {
        let data = bytes.as_bytes();
        return Ok(py.detach(|| sniff_bytes(data)).map(PySniff::from));
    }
    if path_or_bytes.is_instance_of::<PyByteArray>()
        || path_or_bytes.is_instance_of::<PyMemoryView>()
    {
        let data: Vec<u8> = path_or_bytes
            .call_method0("__bytes__")
            .or_else(|_| {
                py.import("builtins")?
                    .getattr("bytes")?
                    .call1((path_or_bytes,))
            })?
            .extract()?;
        return Ok(py.detach(|| sniff_bytes(&data)).map(PySniff::from));
    }
    let path: PathBuf = path_or_bytes.extract()?;
    py.detach(|| sniff_path(&path))
        .map(|found| found.map(PySniff::from))
        .map_err(|e| io_error(e, &path))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sniff, m)?)?;
    m.add_class::<PySniff>()?;
    Ok(())
}
