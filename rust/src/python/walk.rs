//! Bindings for the parallel walk: `walk(root, mode="all") -> list[Entry]`.

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use super::errors::ReceiptcoreError;
use super::sniff::{io_error, PySniff};
use crate::triage::Triage;
use crate::walk::{inspect_files as inspect_listed, walk as walk_tree, Entry, Mode, WalkError};

create_exception!(
    _core,
    GitError,
    ReceiptcoreError,
    "git could not list the tracked files (not a repository, or git is missing)."
);

/// One file found by `walk`: `path` (relative to the root), `size`, `sniff`, `is_symlink`,
/// `error` (None, or why the file could not be read or named). The rare fields are boxed, as
/// in the walk's own entries: a million of these are a million Python objects.
#[pyclass(frozen, eq, module = "receiptcore._core", name = "Entry")]
#[derive(Clone, PartialEq)]
pub struct PyEntry {
    /// Decoded like `os.fsdecode`, so a non-UTF-8 name round-trips through `os.fsencode`.
    #[pyo3(get)]
    path: OsString,
    #[pyo3(get)]
    size: u64,
    sniff: Option<Box<PySniff>>,
    #[pyo3(get)]
    is_symlink: bool,
    error: Option<Box<str>>,
}

impl From<Entry> for PyEntry {
    fn from(e: Entry) -> Self {
        PyEntry {
            path: e.path.into_os_string(),
            size: e.size,
            sniff: e.sniff.map(|s| Box::new(PySniff::from(*s))),
            is_symlink: e.is_symlink,
            error: e.error,
        }
    }
}

#[pymethods]
impl PyEntry {
    /// For files chosen another way than `walk` (the scan's `--staged` and `--diff`).
    #[new]
    #[pyo3(signature = (path, size, sniff = None, is_symlink = false, error = None))]
    fn new(
        path: PathBuf,
        size: u64,
        sniff: Option<&Bound<'_, PySniff>>,
        is_symlink: bool,
        error: Option<String>,
    ) -> Self {
        PyEntry {
            path: path.into_os_string(),
            size,
            sniff: sniff.map(|s| Box::new(s.get().clone())),
            is_symlink,
            error: error.map(String::into_boxed_str),
        }
    }

    #[getter]
    fn sniff(&self) -> Option<PySniff> {
        self.sniff.as_deref().cloned()
    }

    #[getter]
    fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    fn __repr__(&self) -> String {
        let sniff = match &self.sniff {
            Some(s) => format!("{:?}", s.format()),
            None => "None".into(),
        };
        let mut out = format!(
            "Entry(path={:?}, size={}, sniff={sniff}",
            self.path, self.size
        );
        if self.is_symlink {
            out.push_str(", is_symlink=True");
        }
        if let Some(err) = &self.error {
            out.push_str(&format!(", error={err:?}"));
        }
        out.push(')');
        out
    }
}

/// walk(root, mode="all") -> list[Entry]
#[pyfunction]
#[pyo3(signature = (root, mode = "all"))]
fn walk<'py>(py: Python<'py>, root: PathBuf, mode: &str) -> PyResult<Bound<'py, PyList>> {
    let mode = Mode::parse(mode).ok_or_else(|| {
        PyValueError::new_err(format!(
            "unknown mode {mode:?}: use \"all\", \"gitignore\" or \"git\""
        ))
    })?;
    let entries = py
        .detach(|| walk_tree(&root, mode, None))
        .map_err(|e| match e {
            WalkError::Root { path, source } => io_error(source, &path),
            WalkError::Git(msg) => GitError::new_err(msg),
        })?;
    // Straight into the list, one object at a time: no second vector of a million entries.
    PyList::new(py, entries.into_iter().map(PyEntry::from))
}

/// inspect_files(root, paths) -> list[Entry]
#[pyfunction]
fn inspect_files<'py>(
    py: Python<'py>,
    root: PathBuf,
    paths: Vec<PathBuf>,
) -> PyResult<Bound<'py, PyList>> {
    let raw: Vec<&[u8]> = paths.iter().map(|p| p.as_os_str().as_bytes()).collect();
    let entries = py.detach(|| inspect_listed(&root, &raw, None));
    PyList::new(py, entries.into_iter().map(PyEntry::from))
}

/// The entries a file rule could flag, and the entries below each forbidden directory.
type Triaged = (Vec<Py<PyEntry>>, Vec<(OsString, Vec<Py<PyEntry>>)>);

/// triage(entries, extensions, max_size, forbidden_dirs) -> (candidates, [(dir, entries)])
#[pyfunction]
fn triage(
    entries: &Bound<'_, PyList>,
    extensions: Vec<String>,
    max_size: u64,
    forbidden_dirs: Vec<String>,
) -> PyResult<Triaged> {
    let extensions: Vec<&str> = extensions.iter().map(String::as_str).collect();
    let forbidden: Vec<&str> = forbidden_dirs.iter().map(String::as_str).collect();
    let triage = Triage::new(&extensions, max_size, &forbidden);
    let mut candidates = Vec::new();
    let mut dirs: Vec<(OsString, Vec<Py<PyEntry>>)> = Vec::new();
    let mut dir_index: HashMap<Vec<u8>, usize> = HashMap::new();
    for item in entries.iter() {
        let bound = item.cast_into::<PyEntry>()?;
        let entry = bound.get();
        let path = entry.path.as_bytes();
        if let Some(dir) = triage.forbidden_dir(path) {
            let at = match dir_index.get(dir) {
                Some(&at) => at,
                None => {
                    dirs.push((OsString::from_vec(dir.to_vec()), Vec::new()));
                    dir_index.insert(dir.to_vec(), dirs.len() - 1);
                    dirs.len() - 1
                }
            };
            dirs[at].1.push(bound.clone().unbind());
        }
        if triage.needs_rules(
            path,
            entry.size,
            entry.sniff.is_some(),
            entry.error.is_some(),
        ) {
            candidates.push(bound.unbind());
        }
    }
    Ok((candidates, dirs))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(walk, m)?)?;
    m.add_function(wrap_pyfunction!(inspect_files, m)?)?;
    m.add_function(wrap_pyfunction!(triage, m)?)?;
    m.add_class::<PyEntry>()?;
    m.add("GitError", m.py().get_type::<GitError>())?;
    Ok(())
}
