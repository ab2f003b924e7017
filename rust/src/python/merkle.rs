//! Bindings for the Merkle log's hot loops: `leaf_hashes` and `Frontier`.
//!
//! A bulk append hashes every leaf and every subtree it completes; here that is one call per
//! batch, with the GIL released, instead of a few Python calls per entry. Proofs are built and
//! checked in Python (`receiptcore.ledger.merkle`), where a verifier needs no native code.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::convert::{Bytes, DETACH_MIN};
use crate::merkle::{self, Hash, Node};

/// leaf_hashes(data) -> list[bytes]: `sha256(0x00 || d)` of each buffer, in order.
#[pyfunction]
fn leaf_hashes<'py>(
    py: Python<'py>,
    data: Vec<Bound<'py, PyAny>>,
) -> PyResult<Vec<Bound<'py, PyBytes>>> {
    let buffers = data
        .iter()
        .map(|d| Bytes::get(d, "leaf_hashes takes bytes-like objects"))
        .collect::<PyResult<Vec<_>>>()?;
    let slices: Vec<&[u8]> = buffers.iter().map(Bytes::as_slice).collect();
    let total: usize = slices.iter().map(|s| s.len()).sum();
    let hash = || slices.iter().map(|s| merkle::leaf_hash(s)).collect();
    let hashes: Vec<Hash> = if total >= DETACH_MIN {
        py.detach(hash)
    } else {
        hash()
    };
    Ok(hashes.iter().map(|h| PyBytes::new(py, h)).collect())
}

/// frontier_positions(size) -> list[tuple[int, int]]
#[pyfunction]
fn frontier_positions(size: u64) -> Vec<(u32, u64)> {
    merkle::frontier_positions(size)
}

fn hash_of(obj: &Bound<'_, PyAny>) -> PyResult<Hash> {
    let bytes = Bytes::get(obj, "a hash is a bytes-like object")?;
    bytes.as_slice().try_into().map_err(|_| {
        PyValueError::new_err(format!(
            "a hash must be 32 bytes, not {}",
            bytes.as_slice().len()
        ))
    })
}

type NodeRow<'py> = (u32, u64, Bound<'py, PyBytes>);

fn rows<'py>(py: Python<'py>, nodes: impl IntoIterator<Item = Node>) -> Vec<NodeRow<'py>> {
    nodes
        .into_iter()
        .map(|n| (n.level, n.index, PyBytes::new(py, &n.hash)))
        .collect()
}

/// Frontier(size=0, hashes=()): the right edge of a growing tree.
#[pyclass(module = "receiptcore._core", name = "Frontier")]
struct PyFrontier {
    inner: merkle::Frontier,
}

#[pymethods]
impl PyFrontier {
    #[new]
    #[pyo3(signature = (size = 0, hashes = Vec::new()))]
    fn new(size: u64, hashes: Vec<Bound<'_, PyAny>>) -> PyResult<Self> {
        let hashes = hashes.iter().map(hash_of).collect::<PyResult<Vec<_>>>()?;
        let inner = merkle::Frontier::new(size, &hashes)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(PyFrontier { inner })
    }

    #[getter]
    fn size(&self) -> u64 {
        self.inner.size()
    }

    /// The hashes of the subtrees at `frontier_positions(size)`, in order.
    fn hashes<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyBytes>> {
        self.inner.hashes().map(|h| PyBytes::new(py, h)).collect()
    }

    /// Add one leaf hash; the `(level, index, hash)` of every interior subtree it completed.
    fn append<'py>(
        &mut self,
        py: Python<'py>,
        leaf: &Bound<'py, PyAny>,
    ) -> PyResult<Vec<NodeRow<'py>>> {
        let leaf = hash_of(leaf)?;
        let mut completed = Vec::new();
        self.inner.append(leaf, &mut completed);
        Ok(rows(py, completed))
    }

    /// Add many leaf hashes at once (the GIL released); the `(level, index, hash)` of every
    /// interior subtree they completed, level by level.
    fn extend<'py>(
        &mut self,
        py: Python<'py>,
        leaves: Vec<Bound<'py, PyAny>>,
    ) -> PyResult<Vec<NodeRow<'py>>> {
        let leaves = leaves.iter().map(hash_of).collect::<PyResult<Vec<_>>>()?;
        let inner = &mut self.inner;
        let completed: Vec<Node> = py.detach(|| {
            let batch = inner.extend(leaves);
            let completed = batch.completed().collect();
            *inner = batch.frontier();
            completed
        });
        Ok(rows(py, completed))
    }

    /// The tree's root (`sha256("")` for the empty tree).
    fn root<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.root())
    }

    fn __repr__(&self) -> String {
        format!("<receiptcore.Frontier size={}>", self.inner.size())
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(leaf_hashes, m)?)?;
    m.add_function(wrap_pyfunction!(frontier_positions, m)?)?;
    m.add_class::<PyFrontier>()?;
    Ok(())
}
