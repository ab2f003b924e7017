//! Bindings for the digest engine: `hash_file`, `hash_files`, `Hasher`.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::Mutex;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::errors::digest_error;
use crate::digest::{hash_paths, Algo, Digest, Progress};

/// How often the calling thread wakes while native threads hash: to run the progress callback
/// and to notice Ctrl-C.
const POLL: Duration = Duration::from_millis(100);

/// Buffers smaller than this are hashed without releasing the GIL (the switch costs more).
const DETACH_MIN: usize = 64 << 10;

/// A file-system path from str, bytes or os.PathLike. Bytes are taken as they are, so names
/// that are not valid UTF-8 work.
pub(crate) fn fs_path(obj: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let fspath = obj.py().import("os")?.getattr("fspath")?.call1((obj,))?;
    if let Ok(bytes) = fspath.cast::<PyBytes>() {
        return Ok(PathBuf::from(std::ffi::OsStr::from_bytes(bytes.as_bytes())));
    }
    fspath.extract::<PathBuf>()
}

fn parse_algo(algo: &str) -> PyResult<Algo> {
    Algo::parse(algo).ok_or_else(|| {
        PyValueError::new_err(format!(
            "unknown algo {algo:?}: use \"sha256\" or \"blake3\""
        ))
    })
}

/// Hashes `paths` on native threads with the GIL released, while this thread calls
/// `progress(bytes_done)` every 100 ms and checks for signals. A callback that raises (or a
/// Ctrl-C) cancels the workers and the exception propagates.
fn run_hashing(
    py: Python<'_>,
    paths: Vec<PathBuf>,
    algo: Algo,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Vec<String>> {
    if threads == Some(0) {
        return Err(PyValueError::new_err("threads must be at least 1"));
    }
    let pool = match threads {
        Some(n) => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| PyValueError::new_err(e.to_string()))?,
        ),
        None => None,
    };
    let state = Progress::default();
    let mut callback_error: Option<PyErr> = None;
    let results = py.detach(|| {
        std::thread::scope(|scope| {
            let (done_tx, done_rx) = channel();
            let state = &state;
            let paths = &paths;
            let pool = &pool;
            scope.spawn(move || {
                let work = || hash_paths(paths, algo, state);
                let results = match pool {
                    Some(pool) => pool.install(work),
                    None => work(),
                };
                let _ = done_tx.send(results);
            });
            loop {
                match done_rx.recv_timeout(POLL) {
                    Ok(results) => return results,
                    Err(RecvTimeoutError::Disconnected) => unreachable!("worker always sends"),
                    Err(RecvTimeoutError::Timeout) => {
                        if callback_error.is_some() {
                            continue;
                        }
                        let outcome = Python::attach(|py| -> PyResult<()> {
                            py.check_signals()?;
                            if let Some(cb) = &progress {
                                cb.call1(py, (state.bytes.load(Ordering::Relaxed),))?;
                            }
                            Ok(())
                        });
                        if let Err(e) = outcome {
                            state.cancel.store(true, Ordering::Relaxed);
                            callback_error = Some(e);
                        }
                    }
                }
            }
        })
    });
    if let Some(err) = callback_error {
        return Err(err);
    }
    if let Some(cb) = &progress {
        cb.call1(py, (state.bytes.load(Ordering::Relaxed),))?;
    }
    results
        .into_iter()
        .map(|r| r.map_err(digest_error))
        .collect()
}

/// hash_file(path, algo="sha256") -> str
#[pyfunction]
#[pyo3(signature = (path, algo = "sha256"))]
fn hash_file(py: Python<'_>, path: &Bound<'_, PyAny>, algo: &str) -> PyResult<String> {
    let algo = parse_algo(algo)?;
    let mut digests = run_hashing(py, vec![fs_path(path)?], algo, None, None)?;
    Ok(digests.pop().expect("one path in, one digest out"))
}

/// hash_files(paths, algo="sha256", threads=None, progress=None) -> list[str]
#[pyfunction]
#[pyo3(signature = (paths, algo = "sha256", threads = None, progress = None))]
fn hash_files(
    py: Python<'_>,
    paths: Vec<Bound<'_, PyAny>>,
    algo: &str,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Vec<String>> {
    let algo = parse_algo(algo)?;
    let paths = paths.iter().map(fs_path).collect::<PyResult<Vec<_>>>()?;
    run_hashing(py, paths, algo, threads, progress)
}

/// A contiguous byte view of any object with the buffer protocol (bytes, bytearray,
/// memoryview, numpy arrays of any dtype), released when dropped.
struct ByteView(ffi::Py_buffer);

impl ByteView {
    fn new(obj: &Bound<'_, PyAny>) -> PyResult<ByteView> {
        let mut view = std::mem::MaybeUninit::<ffi::Py_buffer>::uninit();
        // PyBUF_SIMPLE asks for one contiguous run of bytes; exporters that cannot give one
        // (a strided numpy slice) raise BufferError, which we pass on.
        let rc =
            unsafe { ffi::PyObject_GetBuffer(obj.as_ptr(), view.as_mut_ptr(), ffi::PyBUF_SIMPLE) };
        if rc != 0 {
            return Err(PyErr::fetch(obj.py()));
        }
        Ok(ByteView(unsafe { view.assume_init() }))
    }

    fn as_slice(&self) -> &[u8] {
        if self.0.len <= 0 || self.0.buf.is_null() {
            return &[];
        }
        unsafe { std::slice::from_raw_parts(self.0.buf as *const u8, self.0.len as usize) }
    }
}

impl Drop for ByteView {
    fn drop(&mut self) {
        // Only dropped while attached to the interpreter (never inside `detach`).
        unsafe { ffi::PyBuffer_Release(&mut self.0) }
    }
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
    fn update(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let view = ByteView::new(data)?;
        let bytes = view.as_slice();
        if bytes.len() >= DETACH_MIN {
            py.detach(|| self.lock().update(bytes));
        } else {
            self.lock().update(bytes);
        }
        drop(view);
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
