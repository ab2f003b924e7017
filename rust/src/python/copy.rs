//! Bindings for copying while hashing: `copy_files` and `place_files`.

use std::path::PathBuf;

use pyo3::prelude::*;

use super::convert::FsPath;
use super::digest::parse_algo;
use super::errors::digest_error;
use super::memory::release_freed;
use super::progress::run_detached;
use crate::copy::{copy_paths, place};
use crate::digest::DigestError;

fn paths(pairs: Vec<(FsPath, FsPath)>) -> Vec<(PathBuf, PathBuf)> {
    pairs.into_iter().map(|(a, b)| (a.0, b.0)).collect()
}

/// copy_files(pairs, *, algo="sha256", durable=True, threads=None, progress=None)
///     -> list[tuple[str, int]]
#[pyfunction]
#[pyo3(signature = (pairs, *, algo = "sha256", durable = true, threads = None, progress = None))]
fn copy_files(
    py: Python<'_>,
    pairs: Vec<(FsPath, FsPath)>,
    algo: &str,
    durable: bool,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Vec<(String, u64)>> {
    let algo = parse_algo(algo)?;
    let pairs = paths(pairs);
    let results = run_detached(py, threads, progress.as_ref(), |state| {
        copy_paths(&pairs, algo, durable, state)
    })?;
    release_freed();
    // The failure that failed the batch, not the copies it cancelled.
    let mut cancelled = None;
    let mut copied = Vec::with_capacity(results.len());
    for result in results {
        match result {
            Ok(c) => copied.push((c.digest, c.size)),
            Err(DigestError::Cancelled) => cancelled = Some(DigestError::Cancelled),
            Err(err) => return Err(digest_error(err)),
        }
    }
    match cancelled {
        Some(err) => Err(digest_error(err)),
        None => Ok(copied),
    }
}

/// place_files(pairs, *, mode=None) -> list[bool]
#[pyfunction]
#[pyo3(signature = (pairs, *, mode = None))]
fn place_files(
    py: Python<'_>,
    pairs: Vec<(FsPath, FsPath)>,
    mode: Option<u32>,
) -> PyResult<Vec<bool>> {
    let pairs = paths(pairs);
    py.detach(|| place(&pairs, mode)).map_err(digest_error)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(copy_files, m)?)?;
    m.add_function(wrap_pyfunction!(place_files, m)?)?;
    Ok(())
}
