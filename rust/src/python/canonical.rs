//! Bindings for RFC 8785 canonical JSON: `canonicalize`, `canonicalize_json`, `canonical_sha256`.
//!
//! Python objects are walked directly into the canonical writer (no intermediate JSON value, no
//! `json.dumps`), so `canonical_sha256` of a large manifest costs one pass and 64 KiB of buffer.
//! The walk runs no Python code: exact types are dispatched first, subclasses are read through
//! the C API of their base type (never through `__float__`, `__eq__`, `__index__`...).

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};

use super::errors::canonicalization_error;
use crate::canonical::{
    canonicalize_text, cmp_utf16, duplicate_key, inexact_integer, too_deep, write_f64, write_i64,
    write_str, CanonicalError, Sha256Sink, Sink, MAX_DEPTH,
};

/// JSON texts at least this long are canonicalized with the GIL released.
const DETACH_MIN: usize = 64 << 10;

/// Why a walk stopped: the value has no canonical form, or Python itself failed (MemoryError).
enum Fail {
    Canon(CanonicalError),
    Python(PyErr),
}

impl From<CanonicalError> for Fail {
    fn from(e: CanonicalError) -> Fail {
        Fail::Canon(e)
    }
}

impl From<PyErr> for Fail {
    fn from(e: PyErr) -> Fail {
        Fail::Python(e)
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
            Fail::Python(e) => e,
        }
    }
}

/// Writes `obj` canonically into `out`.
fn walk<S: Sink>(obj: &Bound<'_, PyAny>, out: &mut S, depth: usize) -> Result<(), Fail> {
    // Exact types first: the common case costs one pointer comparison each.
    if obj.is_exact_instance_of::<PyString>() {
        let s = unsafe { obj.cast_unchecked::<PyString>() };
        write_str(out.buf(), utf8(s, "string")?);
    } else if obj.is_exact_instance_of::<PyDict>() {
        walk_dict(unsafe { obj.cast_unchecked::<PyDict>() }, out, depth)?;
    } else if obj.is_exact_instance_of::<PyInt>() {
        write_int(obj, out.buf())?;
    } else if obj.is_exact_instance_of::<PyFloat>() {
        write_f64(
            out.buf(),
            unsafe { obj.cast_unchecked::<PyFloat>() }.value(),
        )?;
    } else if obj.is_exact_instance_of::<PyList>() {
        walk_items(unsafe { obj.cast_unchecked::<PyList>() }.iter(), out, depth)?;
    } else if obj.is_none() {
        out.buf().extend_from_slice(b"null");
    } else if obj.is_exact_instance_of::<PyBool>() {
        let word: &[u8] = if obj.is_truthy()? { b"true" } else { b"false" };
        out.buf().extend_from_slice(word);
    } else if obj.is_exact_instance_of::<PyTuple>() {
        walk_items(
            unsafe { obj.cast_unchecked::<PyTuple>() }.iter(),
            out,
            depth,
        )?;
    // Subclasses (IntEnum, OrderedDict, str enums...): read as their base type.
    } else if let Ok(s) = obj.cast::<PyString>() {
        write_str(out.buf(), utf8(s, "string")?);
    } else if let Ok(d) = obj.cast::<PyDict>() {
        walk_dict(d, out, depth)?;
    } else if obj.cast::<PyInt>().is_ok() {
        write_int(obj, out.buf())?;
    } else if let Ok(f) = obj.cast::<PyFloat>() {
        write_f64(out.buf(), f.value())?;
    } else if let Ok(l) = obj.cast::<PyList>() {
        walk_items(l.iter(), out, depth)?;
    } else if let Ok(t) = obj.cast::<PyTuple>() {
        walk_items(t.iter(), out, depth)?;
    } else {
        return Err(CanonicalError::new(format!(
            "unsupported type {}: canonical JSON takes dict (with str keys), list, tuple, str, \
             int, float, bool and None",
            type_name(obj)
        ))
        .into());
    }
    Ok(())
}

fn walk_items<'py, S: Sink>(
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    out: &mut S,
    depth: usize,
) -> Result<(), Fail> {
    if depth >= MAX_DEPTH {
        return Err(too_deep().into());
    }
    out.buf().push(b'[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.buf().push(b',');
        }
        walk(&item, out, depth + 1).map_err(|e| e.in_index(i))?;
        out.checkpoint();
    }
    out.buf().push(b']');
    Ok(())
}

fn walk_dict<S: Sink>(dict: &Bound<'_, PyDict>, out: &mut S, depth: usize) -> Result<(), Fail> {
    if depth >= MAX_DEPTH {
        return Err(too_deep().into());
    }
    // Owned references keep every key (and so its UTF-8 buffer) alive while we sort.
    let pairs: Vec<(Bound<'_, PyAny>, Bound<'_, PyAny>)> = dict.iter().collect();
    let mut members: Vec<(&str, &Bound<'_, PyAny>)> = Vec::with_capacity(pairs.len());
    for (key, value) in &pairs {
        let Ok(key) = key.cast::<PyString>() else {
            return Err(CanonicalError::new(format!(
                "object keys must be str, not {}",
                type_name(key)
            ))
            .into());
        };
        members.push((utf8(key, "object key")?, value));
    }
    members.sort_unstable_by(|a, b| cmp_utf16(a.0, b.0));
    // Only str subclasses with their own __eq__/__hash__ can get two equal keys into a dict.
    if let Some(pair) = members.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        return Err(duplicate_key(pair[0].0).into());
    }
    out.buf().push(b'{');
    for (i, (key, value)) in members.iter().enumerate() {
        if i > 0 {
            out.buf().push(b',');
        }
        write_str(out.buf(), key);
        out.buf().push(b':');
        walk(value, out, depth + 1).map_err(|e| e.in_key(key))?;
        out.checkpoint();
    }
    out.buf().push(b'}');
    Ok(())
}

/// The UTF-8 of a str, which fails only for lone surrogates (Python allows them; JSON not).
fn utf8<'a>(s: &'a Bound<'_, PyString>, what: &str) -> Result<&'a str, Fail> {
    s.to_str().map_err(|err| {
        let py = s.py();
        let value = err.value(py);
        let start: usize = value
            .getattr("start")
            .and_then(|v| v.extract())
            .unwrap_or(0);
        let code = unsafe { ffi::PyUnicode_ReadChar(s.as_ptr(), start as ffi::Py_ssize_t) };
        Fail::Canon(CanonicalError::new(format!(
            "{what} contains a lone surrogate U+{code:04X} at index {start}: JSON text must be \
             valid Unicode"
        )))
    })
}

/// An int, which must be exactly a double: 2^53 + 1 is refused, 2^60 and 2^68 are written.
fn write_int(obj: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> Result<(), Fail> {
    let mut overflow = 0;
    // For int instances (subclasses too) this reads the digits; it never calls __index__.
    let small = unsafe { ffi::PyLong_AsLongLongAndOverflow(obj.as_ptr(), &mut overflow) };
    if overflow == 0 {
        return Ok(write_i64(out, small)?);
    }
    let py = obj.py();
    let x = unsafe { ffi::PyLong_AsDouble(obj.as_ptr()) };
    if x == -1.0 {
        if let Some(err) = PyErr::take(py) {
            drop(err); // OverflowError: beyond the largest double
            return Err(CanonicalError::new(
                "integer is too large for an IEEE-754 double (over 1.8e308)",
            )
            .into());
        }
    }
    // Compare the rounded double with the exact integer: float == int is exact in Python.
    // PyNumber_Index makes an exact int of a subclass without calling its methods.
    let exact = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyNumber_Index(obj.as_ptr())) }?;
    if !PyFloat::new(py, x).as_any().eq(&exact)? {
        return Err(inexact_integer(&exact.str()?.to_string()).into());
    }
    Ok(write_f64(out, x)?)
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .qualname()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// canonicalize(obj) -> bytes
#[pyfunction]
fn canonicalize<'py>(py: Python<'py>, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let mut out = Vec::with_capacity(4096);
    walk(obj, &mut out, 0).map_err(|e| e.into_pyerr(py))?;
    Ok(PyBytes::new(py, &out))
}

/// canonical_sha256(obj) -> str
#[pyfunction]
fn canonical_sha256(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<String> {
    let mut sink = Sha256Sink::new();
    walk(obj, &mut sink, 0).map_err(|e| e.into_pyerr(py))?;
    Ok(sink.hexdigest())
}

/// canonicalize_json(text) -> bytes
#[pyfunction]
fn canonicalize_json<'py>(
    py: Python<'py>,
    text: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let run = |bytes: &[u8]| {
        if bytes.len() >= DETACH_MIN {
            py.detach(|| canonicalize_text(bytes))
        } else {
            canonicalize_text(bytes)
        }
    };
    let result = if let Ok(s) = text.cast::<PyString>() {
        match s.to_str() {
            Ok(s) => run(s.as_bytes()),
            // Lone surrogates: encode them anyway so the parser can say where they are.
            Err(_) => {
                let raw = s.call_method1("encode", ("utf-8", "surrogatepass"))?;
                run(raw.cast::<PyBytes>()?.as_bytes())
            }
        }
    } else if let Ok(b) = text.cast::<PyBytes>() {
        run(b.as_bytes())
    } else if let Ok(b) = text.cast::<PyByteArray>() {
        run(&b.to_vec())
    } else {
        return Err(PyTypeError::new_err(format!(
            "canonicalize_json takes str or bytes, not {}",
            type_name(text)
        )));
    };
    let out = result.map_err(|e| canonicalization_error(py, e))?;
    Ok(PyBytes::new(py, &out))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(canonicalize, m)?)?;
    m.add_function(wrap_pyfunction!(canonicalize_json, m)?)?;
    m.add_function(wrap_pyfunction!(canonical_sha256, m)?)?;
    Ok(())
}
