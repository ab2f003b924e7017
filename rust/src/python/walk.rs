//! Bindings for the parallel walk: `walk`, `inspect_files`, `Entry`; and the scan's native
//! listing: `start_listing` (a `Listing` whose entries stay native, begun on a thread of its
//! own), `triage`, `read_blobs`.

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use pyo3::exceptions::{PyIndexError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use super::convert::FsPath;
use super::errors::{walk_error, GitError};
use super::memory::release_freed;
use super::sniff::PySniff;
use crate::git::{Blobs, Oid};
use crate::scan_cache::Cache;
use crate::triage::{DirSummary, Triage};
use crate::walk::{Entry, Judged, Kind, Mode, Walk, WalkError};

/// One file found by `walk`: `path` (relative to the root), `size`, `sniff`, `kind`, `error`
/// (None, or why the file could not be read or named), `oid` (the git object judged, in git's
/// listings), `cached`. The rare fields are boxed, as in the walk's own entries: a million of
/// these are a million Python objects.
#[pyclass(frozen, eq, module = "receiptcore._core", name = "Entry")]
#[derive(Clone, PartialEq)]
pub struct PyEntry {
    /// Decoded like `os.fsdecode`, so a non-UTF-8 name round-trips through `os.fsencode`.
    #[pyo3(get)]
    path: OsString,
    #[pyo3(get)]
    size: u64,
    sniff: Option<Box<PySniff>>,
    kind: Kind,
    error: Option<Box<str>>,
    oid: Option<Box<Oid>>,
    /// Judged from the scan's verdict cache: nothing was read.
    #[pyo3(get)]
    cached: bool,
}

impl From<Entry> for PyEntry {
    fn from(e: Entry) -> Self {
        PyEntry {
            path: e.path.into_os_string(),
            size: e.size,
            sniff: e.sniff.map(|s| Box::new(PySniff::from(*s))),
            kind: e.kind,
            error: e.error,
            oid: e.oid,
            cached: e.cached,
        }
    }
}

fn parse_kind(kind: &str) -> PyResult<Kind> {
    Kind::parse(kind).ok_or_else(|| {
        PyValueError::new_err(format!(
            "unknown kind {kind:?}: use \"file\", \"symlink\", \"special\", \"directory\" or \
             \"submodule\""
        ))
    })
}

fn parse_oid(hex: &str) -> PyResult<Oid> {
    Oid::from_hex(hex.as_bytes())
        .ok_or_else(|| PyValueError::new_err(format!("not a git object id: {hex:?}")))
}

#[pymethods]
impl PyEntry {
    /// For files chosen another way than `walk`.
    #[new]
    #[pyo3(signature = (path, size, sniff = None, kind = "file", error = None, oid = None))]
    fn new(
        path: FsPath,
        size: u64,
        sniff: Option<&Bound<'_, PySniff>>,
        kind: &str,
        error: Option<String>,
        oid: Option<&str>,
    ) -> PyResult<Self> {
        Ok(PyEntry {
            path: path.0.into_os_string(),
            size,
            sniff: sniff.map(|s| Box::new(s.get().clone())),
            kind: parse_kind(kind)?,
            error: error.map(String::into_boxed_str),
            oid: oid.map(parse_oid).transpose()?.map(Box::new),
            cached: false,
        })
    }

    #[getter]
    fn sniff(&self) -> Option<PySniff> {
        self.sniff.as_deref().cloned()
    }

    #[getter]
    fn kind(&self) -> &'static str {
        self.kind.as_str()
    }

    #[getter]
    fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    #[getter]
    fn oid(&self) -> Option<String> {
        self.oid.as_ref().map(|o| o.to_hex())
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
        if self.kind != Kind::File {
            out.push_str(&format!(", kind={:?}", self.kind.as_str()));
        }
        if let Some(err) = &self.error {
            out.push_str(&format!(", error={err:?}"));
        }
        out.push(')');
        out
    }
}

fn entries(py: Python<'_>, entries: Vec<Entry>) -> PyResult<Bound<'_, PyList>> {
    // Straight into the list, one object at a time: no second vector of a million entries.
    PyList::new(py, entries.into_iter().map(PyEntry::from))
}

/// walk(root, mode="all", *, sniff=True, empty_dirs=False) -> list[Entry]
#[pyfunction]
#[pyo3(signature = (root, mode = "all", *, sniff = true, empty_dirs = false))]
fn walk<'py>(
    py: Python<'py>,
    root: FsPath,
    mode: &str,
    sniff: bool,
    empty_dirs: bool,
) -> PyResult<Bound<'py, PyList>> {
    let mode = Mode::parse(mode).ok_or_else(|| {
        PyValueError::new_err(format!(
            "unknown mode {mode:?}: use \"all\", \"tree\", \"gitignore\" or \"git\""
        ))
    })?;
    let walk = Walk::new(mode).sniff(sniff).empty_dirs(empty_dirs);
    let found = py.detach(|| {
        let found = walk.run(&root.0);
        release_freed();
        found
    });
    entries(py, found.map_err(walk_error)?)
}

/// The files a scan selected, kept native: a Python object is made for an entry only when it
/// is asked for (`listing[i]`, or the few that `triage` hands back), so a scan of 100,000 files
/// that flags ten makes ten.
#[pyclass(frozen, sequence, module = "receiptcore._core", name = "Listing")]
pub struct PyListing {
    entries: Vec<PyEntry>,
}

#[pymethods]
impl PyListing {
    /// A listing of entries made elsewhere.
    #[new]
    #[pyo3(signature = (entries, /))]
    fn new(entries: Vec<PyRef<'_, PyEntry>>) -> Self {
        PyListing {
            entries: entries.iter().map(|e| (**e).clone()).collect(),
        }
    }

    fn __len__(&self) -> usize {
        self.entries.len()
    }

    fn __getitem__(&self, index: isize) -> PyResult<PyEntry> {
        let len = self.entries.len() as isize;
        let at = if index < 0 { index + len } else { index };
        if !(0..len).contains(&at) {
            return Err(PyIndexError::new_err("listing index out of range"));
        }
        Ok(self.entries[at as usize].clone())
    }

    /// How many entries were judged from the verdict cache, nothing read.
    #[getter]
    fn cached(&self) -> usize {
        self.entries.iter().filter(|e| e.cached).count()
    }

    fn __repr__(&self) -> String {
        format!("Listing({} entries)", self.entries.len())
    }
}

/// start_listing(root, selection, base=None) -> PendingListing
#[pyfunction]
#[pyo3(signature = (root, selection, base = None))]
fn start_listing(root: FsPath, selection: &str, base: Option<String>) -> PyResult<PendingListing> {
    match (selection, &base) {
        ("git" | "staged" | "all", _) | ("diff", Some(_)) => {}
        ("diff", None) => {
            return Err(PyValueError::new_err(
                "selection \"diff\" needs a base revision",
            ))
        }
        _ => {
            return Err(PyValueError::new_err(format!(
                "unknown selection {selection:?}: use \"git\", \"staged\", \"diff\" or \"all\""
            )))
        }
    }
    let selection = selection.to_owned();
    let root = root.0;
    let (decide, decision) = mpsc::channel::<Option<PathBuf>>();
    let work = std::thread::Builder::new()
        .name("receiptcore-listing".into())
        .spawn(move || {
            let mut loaded: Option<Cache> = None;
            let slot = &mut loaded;
            let cache = move || decided(decision, slot);
            let git = Walk::new(Mode::Git);
            let found = match (selection.as_str(), base.as_deref()) {
                ("git", _) => git.judge_then(&root, Judged::Index, cache),
                ("staged", _) => git.judge_then(&root, Judged::Staged, cache),
                ("diff", Some(base)) => git.judge_then(&root, Judged::Since(base), cache),
                _ => Walk::new(Mode::Gitignore).run_cached(&root, cache()),
            };
            // A cache that cannot be written is only a slower next scan.
            if let (Ok(_), Some(cache)) = (&found, &loaded) {
                let _ = cache.save();
            }
            found
        })
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the listing: {e}")))?;
    Ok(PendingListing {
        work: Some((decide, work)),
    })
}

/// The verdict cache, loaded into `slot` from the file the caller names once it knows whether
/// to use one; none when it says not to, or is gone without saying.
fn decided(decision: Receiver<Option<PathBuf>>, slot: &mut Option<Cache>) -> Option<&mut Cache> {
    if let Ok(Some(file)) = decision.recv() {
        *slot = Some(Cache::load(&file));
    }
    slot.as_mut()
}

/// The thread making a listing.
type ListingThread = JoinHandle<Result<Vec<Entry>, WalkError>>;

/// A listing under way on a native thread (see `start_listing`).
#[pyclass(module = "receiptcore._core", name = "PendingListing")]
pub struct PendingListing {
    work: Option<(Sender<Option<PathBuf>>, ListingThread)>,
}

#[pymethods]
impl PendingListing {
    /// finish(cache=None) -> Listing
    #[pyo3(signature = (cache = None))]
    fn finish(&mut self, py: Python<'_>, cache: Option<FsPath>) -> PyResult<PyListing> {
        let (decide, work) = self
            .work
            .take()
            .ok_or_else(|| PyValueError::new_err("this listing was already finished"))?;
        // The thread may have ended already (an error before it asked): nothing to tell it.
        let _ = decide.send(cache.map(|c| c.0));
        let found = py
            .detach(|| work.join())
            .map_err(|_| PyRuntimeError::new_err("the listing thread panicked"))?
            .map_err(walk_error)?;
        Ok(PyListing {
            entries: found.into_iter().map(PyEntry::from).collect(),
        })
    }
}

/// read_blobs(root, oids, limit) -> list[bytes | None]
#[pyfunction]
#[pyo3(signature = (root, oids, limit, /))]
fn read_blobs<'py>(
    py: Python<'py>,
    root: FsPath,
    oids: Vec<String>,
    limit: u64,
) -> PyResult<Vec<Option<Bound<'py, PyBytes>>>> {
    let parsed = oids
        .iter()
        .map(|hex| parse_oid(hex))
        .collect::<PyResult<Vec<Oid>>>()?;
    let read = py.detach(|| -> Result<Vec<Option<Vec<u8>>>, String> {
        let mut blobs = Blobs::open(&root.0)?;
        parsed
            .iter()
            .map(|oid| {
                blobs
                    .read(oid, limit)
                    .map_err(|e| format!("git cat-file: {e}"))
            })
            .collect()
    });
    let read = read.map_err(GitError::new_err)?;
    Ok(read
        .into_iter()
        .map(|data| data.map(|d| PyBytes::new(py, &d)))
        .collect())
}

/// inspect_files(root, paths) -> list[Entry]
#[pyfunction]
#[pyo3(signature = (root, paths, /))]
fn inspect_files<'py>(
    py: Python<'py>,
    root: FsPath,
    paths: Vec<FsPath>,
) -> PyResult<Bound<'py, PyList>> {
    let raw: Vec<&[u8]> = paths.iter().map(|p| p.0.as_os_str().as_bytes()).collect();
    let found = py.detach(|| Walk::new(Mode::Git).inspect(&root.0, &raw));
    entries(py, found)
}

/// One forbidden directory: its path, how many files and bytes lie below it, the first of
/// them, and a digest of their listing.
type Dir = (OsString, usize, u64, OsString, String);

/// triage(listing, extensions, max_size, forbidden_dirs) -> (candidates, dirs)
#[pyfunction]
#[pyo3(signature = (listing, extensions, max_size, forbidden_dirs, /))]
fn triage(
    listing: &PyListing,
    extensions: Vec<String>,
    max_size: u64,
    forbidden_dirs: Vec<String>,
) -> (Vec<PyEntry>, Vec<Dir>) {
    let extensions: Vec<&str> = extensions.iter().map(String::as_str).collect();
    let forbidden: Vec<&str> = forbidden_dirs.iter().map(String::as_str).collect();
    let triage = Triage::new(&extensions, max_size, &forbidden);
    let mut candidates = Vec::new();
    let mut dirs: Vec<DirSummary> = Vec::new();
    let mut dir_index: HashMap<Vec<u8>, usize> = HashMap::new();
    for entry in &listing.entries {
        let path = entry.path.as_bytes();
        if let Some(dir) = triage.forbidden_dir(path) {
            let at = match dir_index.get(dir) {
                Some(&at) => at,
                None => {
                    dirs.push(DirSummary::new(dir));
                    dir_index.insert(dir.to_vec(), dirs.len() - 1);
                    dirs.len() - 1
                }
            };
            let oid = entry.oid.as_ref().map(|o| o.to_hex());
            dirs[at].add(path, entry.size, oid.as_deref());
        }
        if triage.needs_rules(
            path,
            entry.size,
            entry.sniff.is_some() || entry.kind == Kind::Submodule,
            entry.error.is_some(),
        ) {
            candidates.push(entry.clone());
        }
    }
    let dirs = dirs
        .into_iter()
        .map(|d| {
            let dir = OsString::from_vec(d.dir.clone());
            let first = OsString::from_vec(d.first.clone());
            (dir, d.files, d.bytes, first, d.digest())
        })
        .collect();
    (candidates, dirs)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(walk, m)?)?;
    m.add_function(wrap_pyfunction!(inspect_files, m)?)?;
    m.add_function(wrap_pyfunction!(start_listing, m)?)?;
    m.add_class::<PendingListing>()?;
    m.add_function(wrap_pyfunction!(read_blobs, m)?)?;
    m.add_function(wrap_pyfunction!(triage, m)?)?;
    m.add_class::<PyEntry>()?;
    m.add_class::<PyListing>()?;
    Ok(())
}
