//! The walk from Python objects to canonical bytes, without an intermediate JSON value.
//!
//! Containers are read through borrowed pointers (no reference counting, no per-object
//! allocation: member lists are reused per depth), which is sound because nothing can change
//! them during the walk; see `GcPause`. It is one of the two modules of the bindings where
//! `unsafe` is allowed (with `convert.rs`): the speed of canonicalizing Python objects comes
//! from reading them through the C API directly.
#![allow(unsafe_code)]

use pyo3::exceptions::PyUnicodeEncodeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyFloat;

use crate::canonical::{
    cmp_utf16, duplicate_key, inexact_integer, too_deep, write_f64, write_i64, write_str,
    CanonicalError, Sink, MAX_DEPTH,
};
use crate::python::convert::type_name;
use crate::python::errors::canonicalization_error;

/// Why a walk stopped: the value has no canonical form, or Python itself failed (MemoryError).
/// Boxed like `CanonicalError`, so `Result<(), Fail>` is one pointer wide.
enum Fail {
    Canon(CanonicalError),
    Python(Box<PyErr>),
}

impl From<CanonicalError> for Fail {
    fn from(e: CanonicalError) -> Fail {
        Fail::Canon(e)
    }
}

impl From<PyErr> for Fail {
    #[cold]
    fn from(e: PyErr) -> Fail {
        Fail::Python(Box::new(e))
    }
}

impl Fail {
    #[cold]
    fn in_key(self, key: &str) -> Fail {
        match self {
            Fail::Canon(e) => Fail::Canon(e.in_key(key)),
            other => other,
        }
    }

    #[cold]
    fn in_index(self, index: usize) -> Fail {
        match self {
            Fail::Canon(e) => Fail::Canon(e.in_index(index)),
            other => other,
        }
    }

    fn into_pyerr(self, py: Python<'_>) -> PyErr {
        match self {
            Fail::Canon(e) => canonicalization_error(py, e),
            Fail::Python(e) => *e,
        }
    }
}

/// Reading floats, lists and tuples. A version-specific build reads the objects' fields
/// inline, as CPython's own macros do; the abi3 build may not know their layout and calls the
/// functions of the stable ABI instead.
#[cfg(not(feature = "abi3"))]
mod api {
    pub use pyo3::ffi::{
        PyFloat_AS_DOUBLE as float_value, PyList_GET_ITEM as list_item,
        PyList_GET_SIZE as list_len, PyTuple_GET_ITEM as tuple_item, PyTuple_GET_SIZE as tuple_len,
    };
}

#[cfg(feature = "abi3")]
mod api {
    use pyo3::ffi::{self, PyObject, Py_ssize_t};

    pub unsafe fn float_value(op: *mut PyObject) -> f64 {
        // SAFETY: the caller passes a float.
        unsafe { ffi::PyFloat_AsDouble(op) }
    }
    pub unsafe fn list_len(op: *mut PyObject) -> Py_ssize_t {
        // SAFETY: the caller passes a list.
        unsafe { ffi::PyList_Size(op) }
    }
    pub unsafe fn list_item(op: *mut PyObject, i: Py_ssize_t) -> *mut PyObject {
        // SAFETY: the caller passes a list and an index below its length.
        unsafe { ffi::PyList_GetItem(op, i) }
    }
    pub unsafe fn tuple_len(op: *mut PyObject) -> Py_ssize_t {
        // SAFETY: the caller passes a tuple.
        unsafe { ffi::PyTuple_Size(op) }
    }
    pub unsafe fn tuple_item(op: *mut PyObject, i: Py_ssize_t) -> *mut PyObject {
        // SAFETY: the caller passes a tuple and an index below its length.
        unsafe { ffi::PyTuple_GetItem(op, i) }
    }
}

/// Pauses the cyclic garbage collector while alive.
///
/// The walk reads containers through borrowed pointers. That is sound only if nothing can
/// change them while we look: the GIL is held throughout, the walk calls no Python code (exact
/// types first, subclasses through their base type's C API, never `__float__`, `__eq__`...),
/// and the cyclic GC, which could run an unrelated finalizer during an allocation, is paused.
struct GcPause {
    was_enabled: bool,
}

impl GcPause {
    fn new() -> GcPause {
        GcPause {
            // SAFETY: called attached to the interpreter (we hold a `Python` token).
            was_enabled: unsafe { ffi::PyGC_Disable() } == 1,
        }
    }
}

impl Drop for GcPause {
    fn drop(&mut self) {
        if self.was_enabled {
            // SAFETY: dropped at the end of `write_object`, still attached.
            unsafe { ffi::PyGC_Enable() };
        }
    }
}

/// One object member, borrowed: the key's UTF-8 (cached on the key object) and the value.
#[derive(Clone, Copy)]
struct Member {
    key: *const u8,
    len: usize,
    value: *mut ffi::PyObject,
}

impl Member {
    fn key<'a>(&self) -> &'a str {
        // SAFETY: valid UTF-8 from PyUnicode_AsUTF8AndSize, alive as long as the dict holds
        // the key, which nothing can change during the walk (see `GcPause`).
        unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(self.key, self.len)) }
    }
}

/// Writes Python objects canonically. One per call; `scratch[depth]` is the member list reused
/// by every object at that depth, so a large manifest allocates a handful of vectors in all.
struct Walker<'py> {
    py: Python<'py>,
    scratch: Vec<Vec<Member>>,
}

/// The JSON kind of a Python object, or None for a type JSON has no form for.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    Dict,
    Int,
    Float,
    List,
    Tuple,
    Null,
    True,
    False,
}

/// Exact types first (the common case costs one pointer comparison each), then subclasses
/// (IntEnum, OrderedDict, str enums...), which are read as their base type.
#[inline(always)]
fn kind(obj: *mut ffi::PyObject) -> Option<Kind> {
    use std::ptr::addr_of_mut;
    // SAFETY: `obj` is a live object (the argument, or an item of a container the walk holds);
    // reading its type and taking the address of static type objects reads nothing else.
    unsafe {
        let ty = ffi::Py_TYPE(obj);
        if ty == addr_of_mut!(ffi::PyUnicode_Type) {
            return Some(Kind::Str);
        } else if ty == addr_of_mut!(ffi::PyDict_Type) {
            return Some(Kind::Dict);
        } else if ty == addr_of_mut!(ffi::PyLong_Type) {
            return Some(Kind::Int);
        } else if ty == addr_of_mut!(ffi::PyFloat_Type) {
            return Some(Kind::Float);
        } else if ty == addr_of_mut!(ffi::PyList_Type) {
            return Some(Kind::List);
        }
        if obj == ffi::Py_None() {
            Some(Kind::Null)
        } else if obj == ffi::Py_True() {
            Some(Kind::True)
        } else if obj == ffi::Py_False() {
            Some(Kind::False)
        } else if ty == addr_of_mut!(ffi::PyTuple_Type) {
            Some(Kind::Tuple)
        } else if ffi::PyUnicode_Check(obj) != 0 {
            Some(Kind::Str)
        } else if ffi::PyDict_Check(obj) != 0 {
            Some(Kind::Dict)
        } else if ffi::PyLong_Check(obj) != 0 {
            Some(Kind::Int)
        } else if ffi::PyFloat_Check(obj) != 0 {
            Some(Kind::Float)
        } else if ffi::PyList_Check(obj) != 0 {
            Some(Kind::List)
        } else if ffi::PyTuple_Check(obj) != 0 {
            Some(Kind::Tuple)
        } else {
            None
        }
    }
}

impl<'py> Walker<'py> {
    fn walk<S: Sink>(
        &mut self,
        obj: *mut ffi::PyObject,
        out: &mut S,
        depth: usize,
    ) -> Result<(), Fail> {
        let Some(kind) = kind(obj) else {
            return Err(self.unsupported(obj));
        };
        // SAFETY: `kind` checked the type (exactly, or as a subclass), so each accessor is
        // given the object it reads.
        unsafe {
            match kind {
                Kind::Str => write_str(out.buf(), self.utf8(obj, "string")?),
                Kind::Dict => self.walk_dict(obj, out, depth)?,
                Kind::Int => self.write_int(obj, out.buf())?,
                Kind::Float => write_f64(out.buf(), api::float_value(obj))?,
                Kind::List => {
                    self.walk_array(obj, api::list_len(obj), api::list_item, out, depth)?
                }
                Kind::Tuple => {
                    self.walk_array(obj, api::tuple_len(obj), api::tuple_item, out, depth)?
                }
                Kind::Null => out.buf().extend_from_slice(b"null"),
                Kind::True => out.buf().extend_from_slice(b"true"),
                Kind::False => out.buf().extend_from_slice(b"false"),
            }
        }
        Ok(())
    }

    fn walk_array<S: Sink>(
        &mut self,
        array: *mut ffi::PyObject,
        len: ffi::Py_ssize_t,
        item: unsafe fn(*mut ffi::PyObject, ffi::Py_ssize_t) -> *mut ffi::PyObject,
        out: &mut S,
        depth: usize,
    ) -> Result<(), Fail> {
        if depth >= MAX_DEPTH {
            return Err(too_deep().into());
        }
        out.buf().push(b'[');
        for i in 0..len {
            if i > 0 {
                out.buf().push(b',');
            }
            // SAFETY: `i` is below the length read before the loop, and the container cannot
            // change during the walk.
            let value = unsafe { item(array, i) };
            self.walk(value, out, depth + 1)
                .map_err(|e| e.in_index(i as usize))?;
            out.checkpoint();
        }
        out.buf().push(b']');
        Ok(())
    }

    fn walk_dict<S: Sink>(
        &mut self,
        dict: *mut ffi::PyObject,
        out: &mut S,
        depth: usize,
    ) -> Result<(), Fail> {
        if depth >= MAX_DEPTH {
            return Err(too_deep().into());
        }
        if self.scratch.len() <= depth {
            self.scratch.resize_with(depth + 1, Vec::new);
        }
        let mut members = std::mem::take(&mut self.scratch[depth]);
        members.clear();
        let (mut pos, mut key, mut value) = (0, std::ptr::null_mut(), std::ptr::null_mut());
        // SAFETY: `dict` is a dict (or subclass); PyDict_Next lends out its keys and values,
        // which stay alive while the dict is unchanged, as it is during the walk.
        while unsafe { ffi::PyDict_Next(dict, &mut pos, &mut key, &mut value) } != 0 {
            // SAFETY: `key` is a live object lent by PyDict_Next.
            if unsafe { ffi::PyUnicode_Check(key) } == 0 {
                return Err(self.non_str_key(key));
            }
            let text = self.utf8(key, "object key")?;
            members.push(Member {
                key: text.as_ptr(),
                len: text.len(),
                value,
            });
        }
        members.sort_unstable_by(|a, b| cmp_utf16(a.key(), b.key()));
        // Only str subclasses with their own __eq__/__hash__ can get two equal keys into a dict.
        if let Some(pair) = members
            .windows(2)
            .find(|pair| pair[0].key() == pair[1].key())
        {
            return Err(duplicate_key(pair[0].key()).into());
        }
        out.buf().push(b'{');
        for (i, member) in members.iter().enumerate() {
            if i > 0 {
                out.buf().push(b',');
            }
            write_str(out.buf(), member.key());
            out.buf().push(b':');
            self.walk(member.value, out, depth + 1)
                .map_err(|e| e.in_key(member.key()))?;
            out.checkpoint();
        }
        out.buf().push(b'}');
        self.scratch[depth] = members;
        Ok(())
    }

    /// The UTF-8 of a str (cached on the object), which fails only for lone surrogates.
    fn utf8<'a>(&self, s: *mut ffi::PyObject, what: &str) -> Result<&'a str, Fail> {
        let mut len: ffi::Py_ssize_t = 0;
        // SAFETY: `s` is a str (or subclass), live while the walk runs.
        let data = unsafe { ffi::PyUnicode_AsUTF8AndSize(s, &mut len) };
        if data.is_null() {
            return Err(self.surrogate_error(what));
        }
        // SAFETY: CPython returned `len` bytes of valid UTF-8, cached on the str object, which
        // outlives the walk.
        Ok(unsafe {
            std::str::from_utf8_unchecked(std::slice::from_raw_parts(
                data.cast::<u8>(),
                len as usize,
            ))
        })
    }

    #[cold]
    #[inline(never)]
    fn surrogate_error(&self, what: &str) -> Fail {
        let py = self.py;
        let err = PyErr::fetch(py);
        if !err.is_instance_of::<PyUnicodeEncodeError>(py) {
            return Fail::Python(Box::new(err)); // MemoryError
        }
        // The exception holds the string and the position of the first bad character.
        let value = err.value(py);
        let start: usize = value
            .getattr("start")
            .and_then(|v| v.extract())
            .unwrap_or(0);
        let code = match value.getattr("object") {
            // SAFETY: `object` of a UnicodeEncodeError is the str, and `start` an index in it.
            Ok(s) => unsafe { ffi::PyUnicode_ReadChar(s.as_ptr(), start as ffi::Py_ssize_t) },
            Err(_) => 0,
        };
        Fail::Canon(CanonicalError::new(format!(
            "{what} contains a lone surrogate U+{code:04X} at index {start}: JSON text must be \
             valid Unicode"
        )))
    }

    /// An int, which must be exactly a double: 2^53 + 1 is refused, 2^60 and 2^68 are written.
    #[inline(never)]
    fn write_int(&self, obj: *mut ffi::PyObject, out: &mut Vec<u8>) -> Result<(), Fail> {
        let mut overflow = 0;
        // For int instances (subclasses too) this reads the digits; it never calls __index__.
        // SAFETY: `obj` is an int (or subclass).
        let small = unsafe { ffi::PyLong_AsLongLongAndOverflow(obj, &mut overflow) };
        if overflow == 0 {
            return Ok(write_i64(out, small)?);
        }
        let py = self.py;
        // SAFETY: as above.
        let x = unsafe { ffi::PyLong_AsDouble(obj) };
        if x == -1.0 && PyErr::take(py).is_some() {
            // OverflowError: beyond the largest double.
            return Err(CanonicalError::new(
                "integer is too large for an IEEE-754 double (over 1.8e308)",
            )
            .into());
        }
        // Compare the rounded double with the exact integer: float == int is exact in Python.
        // PyNumber_Index makes an exact int of a subclass without calling its methods.
        // SAFETY: PyNumber_Index returns a new reference or NULL with an exception set.
        let exact = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyNumber_Index(obj)) }?;
        if !PyFloat::new(py, x).as_any().eq(&exact)? {
            return Err(inexact_integer(&exact.str()?.to_string()).into());
        }
        Ok(write_f64(out, x)?)
    }

    // Messages are built out of line: `walk` and `walk_dict` recurse, and their stack frames
    // stay small only if no formatting is inlined into them.
    #[cold]
    #[inline(never)]
    fn unsupported(&self, obj: *mut ffi::PyObject) -> Fail {
        Fail::Canon(CanonicalError::new(format!(
            "unsupported type {}: canonical JSON takes dict (with str keys), list, tuple, str, \
             int, float, bool and None",
            self.type_name(obj)
        )))
    }

    #[cold]
    #[inline(never)]
    fn non_str_key(&self, key: *mut ffi::PyObject) -> Fail {
        Fail::Canon(CanonicalError::new(format!(
            "object keys must be str, not {}",
            self.type_name(key)
        )))
    }

    #[cold]
    fn type_name(&self, obj: *mut ffi::PyObject) -> String {
        // SAFETY: `obj` is a live object the walk was given or reached.
        let obj = unsafe { Borrowed::from_ptr(self.py, obj) };
        type_name(&obj)
    }
}

/// Writes `obj` canonically into `out`.
pub fn write_object<S: Sink>(obj: &Bound<'_, PyAny>, out: &mut S) -> PyResult<()> {
    let py = obj.py();
    let _pause = GcPause::new();
    let mut walker = Walker {
        py,
        scratch: Vec::new(),
    };
    walker
        .walk(obj.as_ptr(), out, 0)
        .map_err(|e| e.into_pyerr(py))
}
