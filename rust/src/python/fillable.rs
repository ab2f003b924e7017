//! `FillableBytes(size)`: a `bytes` object of a known size, written in place through a writable
//! buffer, then handed over whole: what a download kept in memory is received into.
//!
//! A fetch of 1 GiB into memory used to grow a `BytesIO` from 4 MiB pieces: every piece copied
//! once more, and 262,144 pages faulted in one by one by that copy (about 0.6 s a GiB on the
//! development VM, against 0.34 s when the kernel populates them in one call). Here the socket
//! reads straight into the bytes' own storage, and [`FillableBytes::populate`] asks the kernel to
//! back the next stretch of pages before they are written (`MADV_POPULATE_WRITE`, Linux 5.14;
//! elsewhere the pages fault in as they are written, as before).
//!
//! Why this is sound: the storage belongs to a `bytes` object that no Python code can reach
//! until [`FillableBytes::finish`] hands it over, and `finish` refuses while any view of the
//! storage is still exported; after it, no view can be made. Views keep this object (and so the
//! storage) alive. The object's hash is never computed before it is handed over.
#![allow(unsafe_code)] // the buffer protocol and madvise: raw pointers by nature

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use pyo3::exceptions::{PyBufferError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// FillableBytes(size): `memoryview(it)` writes into a new `bytes` of `size`; `finish()` returns it.
#[pyclass(frozen, module = "receiptcore._core", name = "FillableBytes")]
struct FillableBytes {
    bytes: Mutex<Option<Py<PyBytes>>>,
    /// The storage's address and length: fixed for the object's life.
    start: usize,
    len: usize,
    exports: AtomicUsize,
}

#[pymethods]
impl FillableBytes {
    #[new]
    fn new(py: Python<'_>, size: usize) -> PyResult<Self> {
        let len = isize::try_from(size).map_err(|_| PyValueError::new_err("size is too large"))?;
        // SAFETY: a NULL source asks CPython for an uninitialised bytes object of `len` bytes
        // (the documented way to fill one in place); NULL back means MemoryError is set.
        let raw = unsafe { ffi::PyBytes_FromStringAndSize(std::ptr::null(), len) };
        // SAFETY: `raw` is a new reference or NULL with the error set, as from_owned_ptr_or_err wants.
        let bytes = unsafe { Bound::from_owned_ptr_or_err(py, raw)? }.cast_into::<PyBytes>()?;
        // SAFETY: `bytes` is a live bytes object; its storage lives as long as it does.
        let start = unsafe { ffi::PyBytes_AsString(bytes.as_ptr()) } as usize;
        Ok(FillableBytes {
            bytes: Mutex::new(Some(bytes.unbind())),
            start,
            len: size,
            exports: AtomicUsize::new(0),
        })
    }

    fn __len__(&self) -> usize {
        self.len
    }

    /// Backs the pages of `[begin, end)` with memory now, in one call to the kernel, with the
    /// GIL released; does nothing where the kernel cannot (it is only a matter of speed).
    fn populate(&self, py: Python<'_>, begin: usize, end: usize) -> PyResult<()> {
        if begin > end || end > self.len {
            return Err(PyValueError::new_err(
                "populate: the range is outside the bytes",
            ));
        }
        let (first, last) = whole_pages(self.start + begin, self.start + end);
        if first < last {
            #[cfg(target_os = "linux")]
            py.detach(|| {
                // SAFETY: [first, last) lies inside the storage, which this object keeps alive;
                // MADV_POPULATE_WRITE only faults pages in, never changes their contents.
                unsafe {
                    libc::madvise(
                        first as *mut c_void,
                        last - first,
                        libc::MADV_POPULATE_WRITE,
                    )
                };
            });
        }
        let _ = py;
        Ok(())
    }

    /// The bytes, once no view of them is left; after this no view can be made.
    fn finish(&self, py: Python<'_>) -> PyResult<Py<PyBytes>> {
        if self.exports.load(Ordering::SeqCst) != 0 {
            return Err(PyBufferError::new_err(
                "FillableBytes.finish: a view of the bytes is still in use",
            ));
        }
        let taken = self.bytes.lock().unwrap_or_else(|p| p.into_inner()).take();
        taken
            .map(|bytes| bytes.clone_ref(py))
            .ok_or_else(|| PyBufferError::new_err("FillableBytes.finish: already finished"))
    }

    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let this = slf.get();
        let bytes = this.bytes.lock().unwrap_or_else(|p| p.into_inner());
        if bytes.is_none() {
            return Err(PyBufferError::new_err(
                "FillableBytes: finished, its bytes are handed over",
            ));
        }
        // SAFETY: `view` is the caller's Py_buffer to fill; the storage is `len` bytes at
        // `start`, alive while this object is, which the view references (FillInfo increfs it).
        let filled = unsafe {
            ffi::PyBuffer_FillInfo(
                view,
                slf.as_ptr(),
                this.start as *mut c_void,
                this.len as ffi::Py_ssize_t,
                0,
                flags,
            )
        };
        if filled != 0 {
            return Err(PyErr::fetch(slf.py()));
        }
        this.exports.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {
        self.exports.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The whole pages inside `[begin, end)`: pages only partly inside fault in when written.
fn whole_pages(begin: usize, end: usize) -> (usize, usize) {
    const PAGE: usize = 4096;
    (begin.div_ceil(PAGE) * PAGE, end / PAGE * PAGE)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<FillableBytes>()
}
