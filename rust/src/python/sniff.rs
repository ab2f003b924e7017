//! Bindings for signature detection: `sniff(path_or_bytes) -> Sniff | None` and `Sniff`.

use pyo3::prelude::*;

use super::convert::{is_path_like, Bytes, FsPath};
use super::errors::os_error;
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

/// sniff(path_or_bytes) -> Sniff | None
#[pyfunction]
#[pyo3(signature = (path_or_bytes, /))]
fn sniff(py: Python<'_>, path_or_bytes: &Bound<'_, PyAny>) -> PyResult<Option<PySniff>> {
    if is_path_like(path_or_bytes) {
        let FsPath(path) = path_or_bytes.extract()?;
        return py
            .detach(|| sniff_path(&path))
            .map(|found| found.map(PySniff::from))
            .map_err(|e| os_error(&e, &path));
    }
    let what = "sniff takes a path (str or os.PathLike) or a bytes-like object";
    let data = Bytes::get(path_or_bytes, what)?;
    let bytes = data.as_slice();
    let found = if data.detach(true) {
        py.detach(|| sniff_bytes(bytes))
    } else {
        sniff_bytes(bytes)
    };
    Ok(found.map(PySniff::from))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sniff, m)?)?;
    m.add_class::<PySniff>()?;
    Ok(())
}
