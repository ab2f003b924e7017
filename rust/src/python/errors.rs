//! Every exception the native core raises, and the one conversion of an I/O error.
//!
//! The classes are created here and nowhere else; `receiptcore.errors` gives each its
//! `exit_code`, and Python code subclasses `ReceiptcoreError` for the rest, so one
//! `except ReceiptcoreError` catches every failure of ours. File-system failures stay
//! ordinary `OSError` subclasses whose `filename` names the path.

use std::path::Path;

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyKeyboardInterrupt, PyOSError};
use pyo3::prelude::*;

use crate::canonical::CanonicalError;
use crate::digest::DigestError;
use crate::walk::WalkError;

create_exception!(
    _core,
    ReceiptcoreError,
    PyException,
    "Base class of every receiptcore error."
);
create_exception!(
    _core,
    FileChangedError,
    ReceiptcoreError,
    "A file changed size or mtime while it was being hashed."
);
create_exception!(
    _core,
    CanonicalizationError,
    ReceiptcoreError,
    "A value has no RFC 8785 canonical form (NaN, an inexact integer, a lone surrogate, a \
     duplicate key, invalid JSON text...). `pointer` is the JSON pointer of the place."
);
create_exception!(
    _core,
    GitError,
    ReceiptcoreError,
    "git could not list files (not a repository, git missing, an unknown revision)."
);

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ReceiptcoreError", py.get_type::<ReceiptcoreError>())?;
    m.add("FileChangedError", py.get_type::<FileChangedError>())?;
    m.add(
        "CanonicalizationError",
        py.get_type::<CanonicalizationError>(),
    )?;
    m.add("GitError", py.get_type::<GitError>())?;
    Ok(())
}

/// `OSError(errno, strerror, filename)`: Python picks the subclass (FileNotFoundError,
/// PermissionError, IsADirectoryError...) from errno, and the message names the path.
pub fn os_error(err: &std::io::Error, path: &Path) -> PyErr {
    // io::Error's Display appends " (os error N)"; Python's OSError shows errno itself.
    let text = err.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    errno_error(err.raw_os_error().unwrap_or(libc::EINVAL), text, path)
}

fn errno_error(errno: i32, text: &str, path: &Path) -> PyErr {
    PyOSError::new_err((errno, text.to_string(), path.as_os_str().to_os_string()))
}

pub fn digest_error(err: DigestError) -> PyErr {
    match err {
        DigestError::Io { path, source } => os_error(&source, &path),
        DigestError::IsDirectory { path } => {
            errno_error(libc::EISDIR, "Is a directory, not a file", &path)
        }
        DigestError::NotRegularFile { path } => errno_error(
            libc::EINVAL,
            "Not a regular file (device, pipe or socket)",
            &path,
        ),
        DigestError::Symlink { path } => errno_error(
            libc::EINVAL,
            "Not a regular file but a symlink (not followed)",
            &path,
        ),
        err @ DigestError::Changed { .. } => FileChangedError::new_err(err.to_string()),
        DigestError::Cancelled => PyKeyboardInterrupt::new_err("hashing was cancelled"),
    }
}

pub fn walk_error(err: WalkError) -> PyErr {
    match err {
        WalkError::Root { path, source } => os_error(&source, &path),
        WalkError::Git(msg) => GitError::new_err(msg),
    }
}

/// `CanonicalizationError(message)` with a `pointer` attribute (RFC 6901) naming the place.
pub fn canonicalization_error(py: Python<'_>, err: CanonicalError) -> PyErr {
    let exc = CanonicalizationError::new_err(err.to_string());
    if let Err(e) = exc.value(py).setattr("pointer", err.pointer()) {
        return e;
    }
    exc
}
