//! Bindings for signature detection: `sniff(path_or_bytes) -> Sniff | None` and `Sniff`.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::convert::{is_path_like, Bytes, FsPath};
use super::errors::os_error;
use crate::sniff::{
    is_allowed_global, sniff_bytes, sniff_path, sniff_text, Sniff, ALLOWED_GLOBALS,
};

/// What a file was recognised as: `format`, `family`, `evidence`, and for pickles the
/// `globals` they import and the `unsafe_globals` that make loading them unsafe.
#[pyclass(frozen, eq, hash, module = "receiptcore._core", name = "Sniff")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PySniff {
    #[pyo3(get)]
    format: &'static str,
    #[pyo3(get)]
    family: &'static str,
    #[pyo3(get)]
    evidence: String,
    globals: Vec<String>,
    unsafe_globals: Vec<String>,
}

impl From<Sniff> for PySniff {
    fn from(s: Sniff) -> Self {
        PySniff {
            format: s.format,
            family: s.family.as_str(),
            evidence: s.evidence,
            globals: s.globals,
            unsafe_globals: s.unsafe_globals,
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
    /// Every `module.name` a pickle in the file imports, in the order first seen.
    #[getter]
    fn globals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.globals)
    }

    /// Why loading the file could run code: imports outside the allow-list, and more.
    #[getter]
    fn unsafe_globals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.unsafe_globals)
    }

    fn __repr__(&self) -> String {
        let mut out = format!(
            "Sniff(format={:?}, family={:?}, evidence={:?}",
            self.format, self.family, self.evidence
        );
        if !self.unsafe_globals.is_empty() {
            out.push_str(&format!(", unsafe_globals={:?}", self.unsafe_globals));
        }
        out.push(')');
        out
    }
}

/// sniff(path_or_bytes, *, text=False) -> Sniff | None
#[pyfunction]
#[pyo3(signature = (path_or_bytes, /, *, text = false))]
fn sniff(
    py: Python<'_>,
    path_or_bytes: &Bound<'_, PyAny>,
    text: bool,
) -> PyResult<Option<PySniff>> {
    if is_path_like(path_or_bytes) {
        let FsPath(path) = path_or_bytes.extract()?;
        return py
            .detach(|| match sniff_path(&path)? {
                None if text && path.is_file() => sniff_text(Some(&path), None),
                found => Ok(found),
            })
            .map(|found| found.map(PySniff::from))
            .map_err(|e| os_error(&e, &path));
    }
    let what = "sniff takes a path (str or os.PathLike) or a bytes-like object";
    let data = Bytes::get(path_or_bytes, what)?;
    let bytes = data.as_slice();
    let run = || {
        sniff_bytes(bytes).or_else(|| {
            if text {
                sniff_text(None, Some(bytes)).ok().flatten()
            } else {
                None
            }
        })
    };
    let found = if data.detach(true) {
        py.detach(run)
    } else {
        run()
    };
    Ok(found.map(PySniff::from))
}

/// files_containing(paths, needles) -> list[bool]
#[pyfunction]
fn files_containing(py: Python<'_>, paths: Vec<FsPath>, needles: Vec<Vec<u8>>) -> Vec<bool> {
    let paths: Vec<PathBuf> = paths.into_iter().map(|p| p.0).collect();
    let needles: Vec<&[u8]> = needles.iter().map(Vec::as_slice).collect();
    py.detach(|| crate::grep::files_containing(&paths, &needles))
}

/// allowed_globals() -> tuple[str, ...]: the pickle imports judged safe (`*` matches part of
/// one name).
#[pyfunction]
fn allowed_globals<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, ALLOWED_GLOBALS)
}

/// is_allowed_global(name) -> bool
#[pyfunction(name = "is_allowed_global")]
#[pyo3(signature = (name, /))]
fn py_is_allowed_global(name: &str) -> bool {
    is_allowed_global(name)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("HEAD_BYTES", crate::sniff::HEAD)?;
    m.add_function(wrap_pyfunction!(sniff, m)?)?;
    m.add_function(wrap_pyfunction!(allowed_globals, m)?)?;
    m.add_function(wrap_pyfunction!(files_containing, m)?)?;
    m.add_function(wrap_pyfunction!(py_is_allowed_global, m)?)?;
    m.add_class::<PySniff>()?;
    Ok(())
}
