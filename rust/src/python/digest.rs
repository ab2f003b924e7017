//! Bindings for the digest engine: `hash_file`, `hash_files`, `Hasher`.

use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::convert::{Bytes, FsPath};
use super::errors::digest_error;
use super::memory::release_freed;
use super::progress::run_detached;
use crate::digest::{hash_paths, Algo, Digest};

pub(crate) fn parse_algo(algo: &str) -> PyResult<Algo> {
    Algo::parse(algo).ok_or_else(|| {
        PyValueError::new_err(format!(
            "unknown algo {algo:?}: use \"sha256\" or \"blake3\""
        ))
    })
}

/// Hashes `paths` on native threads with the GIL released (see [`run_detached`]).
fn run_hashing(
    py: Python<'_>,
    paths: Vec<PathBuf>,
    algo: Algo,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Vec<String>> {
    let results = run_detached(py, threads, progress.as_ref(), |state| {
        hash_paths(&paths, algo, state)
    })?;
    results
        .into_iter()
        .map(|r| r.map_err(digest_error))
        .collect()
}

/// hash_file(path, algo="sha256") -> str
#[pyfunction]
#[pyo3(signature = (path, algo = "sha256"))]
fn hash_file(py: Python<'_>, path: FsPath, algo: &str) -> PyResult<String> {
    let algo = parse_algo(algo)?;
    let mut digests = run_hashing(py, vec![path.0], algo, None, None)?;
    Ok(digests.pop().expect("one path in, one digest out"))
}

/// hash_files(paths, algo="sha256", threads=None, progress=None) -> list[str]
#[pyfunction]
#[pyo3(signature = (paths, algo = "sha256", threads = None, progress = None))]
fn hash_files(
    py: Python<'_>,
    paths: Vec<FsPath>,
    algo: &str,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Vec<String>> {
    let algo = parse_algo(algo)?;
    let paths = paths.into_iter().map(|p| p.0).collect();
    let digests = run_hashing(py, paths, algo, threads, progress);
    release_freed();
    digests
}

/// Hasher(algo="sha256", data=None): an incremental digest for streams.
#[pyclass(frozen, module = "receiptcore._core", name = "Hasher")]
struct PyHasher {
    state: Mutex<Digest>,
}

impl PyHasher {
    fn lock(&self) -> std::sync::MutexGuard<'_, Digest> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[pymethods]
impl PyHasher {
    #[new]
    #[pyo3(signature = (algo = "sha256", data = None))]
    fn new(py: Python<'_>, algo: &str, data: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let hasher = PyHasher {
            state: Mutex::new(Digest::new(parse_algo(algo)?)),
        };
        if let Some(data) = data {
            hasher.update(py, data)?;
        }
        Ok(hasher)
    }

    /// Feeds bytes from any buffer; the GIL is released for large buffers.
    #[pyo3(signature = (data, /))]
    fn update(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let data = Bytes::get(data, "update takes a bytes-like object")?;
        let bytes = data.as_slice();
        if data.detach(false) {
            py.detach(|| self.lock().update(bytes));
        } else {
            self.lock().update(bytes);
        }
        Ok(())
    }

    fn hexdigest(&self) -> String {
        self.lock().hexdigest()
    }

    fn digest<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.lock().finalize())
    }

    fn copy(&self) -> PyHasher {
        PyHasher {
            state: Mutex::new(self.lock().clone()),
        }
    }

    #[getter]
    fn name(&self) -> &'static str {
        self.lock().algo().name()
    }

    #[getter]
    fn digest_size(&self) -> usize {
        32
    }

    fn __repr__(&self) -> String {
        format!("<receiptcore.Hasher {}>", self.name())
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(hash_file, m)?)?;
    m.add_function(wrap_pyfunction!(hash_files, m)?)?;
    m.add_class::<PyHasher>()?;
    Ok(())
}
