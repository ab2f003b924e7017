//! The arguments every binding takes the same way: file-system paths and byte buffers.
//!
//! A path is whatever `open()` takes: `str`, `bytes`, or an `os.PathLike` of either; bytes are
//! used as they are, so names that are not UTF-8 work. A buffer is any object with the buffer
//! protocol (`bytes`, `bytearray`, `memoryview`, `array.array`, `mmap`, numpy arrays of any
//! dtype): its memory is read in place, never copied. As in `hashlib`, the bytes of a
//! contiguous buffer are taken whatever its item type; a strided one (a numpy slice with a
//! step) is refused with a `BufferError` that says so.
//!
//! This is the one module of the bindings where `unsafe` is allowed: a buffer is read through a
//! raw pointer.
#![allow(unsafe_code)]

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::{PyBufferError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyString};

/// Buffers at least this long are worked on with the GIL released, so other Python threads run
/// meanwhile; below it the work is over before a thread switch would pay. (CPython's hashlib
/// releases the GIL from 2 KiB; one threshold serves every binding here.)
pub const DETACH_MIN: usize = 64 << 10;

/// A path argument: `str`, `bytes` or `os.PathLike` (of either), as `os.fspath` reads it.
pub struct FsPath(pub PathBuf);

impl FromPyObject<'_, '_> for FsPath {
    type Error = PyErr;

    fn extract(obj: Borrowed<'_, '_, PyAny>) -> PyResult<FsPath> {
        if let Ok(text) = obj.cast::<PyString>() {
            // The common case, without a call: encoded as os.fsencode does (lone surrogates
            // from undecodable bytes included).
            return Ok(FsPath(text.extract::<OsString>()?.into()));
        }
        static FSPATH: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let py = obj.py();
        // os.fspath: str and bytes as they are, __fspath__ for PathLike, else its TypeError
        // ("expected str, bytes or os.PathLike object, not int").
        let path = FSPATH.import(py, "os", "fspath")?.call1((obj,))?;
        if let Ok(bytes) = path.cast::<PyBytes>() {
            return Ok(FsPath(OsStr::from_bytes(bytes.as_bytes()).into()));
        }
        Ok(FsPath(path.extract::<OsString>()?.into()))
    }
}

/// True for the objects that are paths to [`FsPath`] and never content: `str` and
/// `os.PathLike`. (`bytes` are both: a function that takes content or a path reads them as
/// content.)
pub fn is_path_like(obj: &Bound<'_, PyAny>) -> bool {
    obj.is_instance_of::<PyString>() || obj.hasattr("__fspath__").unwrap_or(false)
}

/// The bytes of a contiguous buffer, borrowed for as long as this lives (the exporter cannot
/// resize or free them meanwhile: a `bytearray` refuses to grow while exported).
pub struct Bytes {
    buffer: PyUntypedBuffer,
    immutable: bool,
}

impl Bytes {
    /// `what` names the argument in the errors: "sniff takes ..., not int".
    pub fn get(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Bytes> {
        let buffer = PyUntypedBuffer::get(obj).map_err(|err| {
            if err.is_instance_of::<PyTypeError>(obj.py()) {
                PyTypeError::new_err(format!("{what}, not {}", type_name(obj)))
            } else {
                err
            }
        })?;
        if !buffer.is_c_contiguous() {
            return Err(PyBufferError::new_err(format!(
                "{} is not contiguous (a strided view, such as a numpy slice with a step): \
                 pass a contiguous copy, e.g. numpy.ascontiguousarray(x) or bytes(x)",
                type_name(obj)
            )));
        }
        Ok(Bytes {
            buffer,
            immutable: obj.is_instance_of::<PyBytes>(),
        })
    }

    /// Whether the GIL may be released while these bytes are read. A digest reads any large
    /// buffer detached (bytes changed meanwhile by another thread give a wrong digest, as with
    /// hashlib). A parser validates bytes and then relies on what it checked (UTF-8 read as
    /// `str`), so `checked` work detaches only over `bytes`, which nothing can change: a
    /// read-only `memoryview` may still be a view of a `bytearray`.
    pub fn detach(&self, checked: bool) -> bool {
        self.as_slice().len() >= DETACH_MIN && (self.immutable || !checked)
    }

    pub fn as_slice(&self) -> &[u8] {
        let len = self.buffer.len_bytes();
        let ptr = self.buffer.buf_ptr() as *const u8;
        if len == 0 || ptr.is_null() {
            return &[];
        }
        // SAFETY: the buffer is C-contiguous (checked in `get`), so `len` bytes from `ptr` are
        // one allocation of the exporter's, kept alive and unresizable while `self.buffer` holds the
        // export; the slice borrows `self`, so it cannot outlive it. Another thread writing
        // those bytes while we read would be a data race, as it is for hashlib's C code on the
        // same buffers: only a program that mutates what it is hashing can cause it.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

/// The qualified name of an object's type, for messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .qualname()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}
