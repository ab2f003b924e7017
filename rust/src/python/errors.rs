//! Exceptions raised by the native core. Python code subclasses `ReceiptcoreError` for the rest
//! (see `receiptcore.errors`), so one `except ReceiptcoreError` catches every failure of ours.

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyOSError};
use pyo3::prelude::*;

use crate::canonical::CanonicalError;
use crate::digest::DigestError;

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

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ReceiptcoreError", py.get_type::<ReceiptcoreError>())?;
    m.add("FileChangedError", py.get_type::<FileChangedError>())?;
    m.add(
        "CanonicalizationError",
        py.get_type::<CanonicalizationError>(),
    )?;
    Ok(())
}

/// `OSError(errno, strerror, filename)`: Python picks the subclass (FileNotFoundError,
/// PermissionError, IsADirectoryError...) from errno, and the message names the path.
fn os_error(errno: i32, message: String, path: &std::path::Path) -> PyErr {
    PyOSError::new_err((errno, message, path.as_os_str().to_os_string()))
}

pub fn digest_error(err: DigestError) -> PyErr {
    const EISDIR: i32 = 21;
    const EINVAL: i32 = 22;
    match err {
        DigestError::Io { path, source } => {
            let errno = source.raw_os_error().unwrap_or(EINVAL);
            // io::Error's Display appends " (os error N)"; Python's OSError shows errno itself.
            let text = source.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_string();
            os_error(errno, text, &path)
        }
        DigestError::IsDirectory { path } => {
            os_error(EISDIR, "Is a directory, not a file".into(), &path)
        }
        DigestError::NotRegularFile { path } => os_error(
            EINVAL,
            "Not a regular file (device, pipe or socket)".into(),
            &path,
        ),
        err @ DigestError::Changed { .. } => FileChangedError::new_err(err.to_string()),
        DigestError::Cancelled => {
            pyo3::exceptions::PyKeyboardInterrupt::new_err("hashing was cancelled")
        }
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
