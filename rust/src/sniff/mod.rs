//! Binary signature detection: is this file model weights, tensor data or a vector index?
//!
//! Content only, never names, and never loading or unpickling: each detector checks a
//! signature in a small header and then confirms it with the structure around it (lengths
//! that must add up, offsets that must land inside the file), because a four-byte magic alone
//! would flag ordinary files. Reads are bounded: [`HEAD`] bytes from the start, one tail read
//! of [`TAIL`] bytes for files longer than the head, then targeted reads at offsets the header
//! computed, capped at [`TARGETED_BUDGET`] bytes per file. `docs/sniff.md` lists what each
//! format reads.

use std::borrow::Cow;
use std::cell::Cell;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

mod compressed;
mod container;
mod faiss;
mod ggml;
mod hdf5;
mod index;
mod numpy;
mod onnx;
mod pickle;
mod safetensors;
mod vecstore;
mod zip;

/// Bytes read from the start of every file.
pub const HEAD: usize = 4096;
/// Bytes read from the end of files longer than [`HEAD`] (footer signatures: Lance).
pub const TAIL: usize = 64;
/// Most bytes read at computed offsets after the head and tail, per file.
pub const TARGETED_BUDGET: u64 = 8 << 20;

/// What a file was recognised as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sniff {
    /// Stable lowercase name, e.g. `"safetensors"`, `"torch_zip"`, `"faiss"`.
    pub format: &'static str,
    pub family: Family,
    /// What was seen and where, for a person reading a report.
    pub evidence: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    Weights,
    TensorData,
    VectorIndex,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Weights => "weights",
            Family::TensorData => "tensor_data",
            Family::VectorIndex => "vector_index",
        }
    }
}

impl Sniff {
    pub(crate) fn new(format: &'static str, family: Family, evidence: impl Into<String>) -> Self {
        Sniff {
            format,
            family,
            evidence: evidence.into(),
        }
    }
}

/// Random access to the bytes being sniffed: a file (positional reads) or a buffer.
trait Source {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
}

impl Source for File {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match FileExt::read_at(self, &mut buf[filled..], offset + filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(filled)
    }
}

impl Source for &[u8] {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.len());
        let n = buf.len().min(self.len() - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

/// What a detector sees: the head, the tail, the size, and bounded reads elsewhere.
pub(crate) struct Probe<'a> {
    pub head: &'a [u8],
    pub tail: &'a [u8],
    pub size: u64,
    src: &'a dyn Source,
    spent: Cell<u64>,
}

impl<'a> Probe<'a> {
    /// Up to `len` bytes at `offset` (short at the end of the file, or once the per-file budget
    /// is spent). Served from the head or tail without a read when they cover the range.
    pub fn read_at(&self, offset: u64, len: usize) -> io::Result<Cow<'a, [u8]>> {
        let end = offset.saturating_add(len as u64).min(self.size);
        if offset >= end {
            return Ok(Cow::Borrowed(&[]));
        }
        if end <= self.head.len() as u64 {
            return Ok(Cow::Borrowed(&self.head[offset as usize..end as usize]));
        }
        let tail_start = self.size - self.tail.len() as u64;
        if offset >= tail_start {
            let from = (offset - tail_start) as usize;
            return Ok(Cow::Borrowed(&self.tail[from..(end - tail_start) as usize]));
        }
        let left = TARGETED_BUDGET.saturating_sub(self.spent.get());
        let want = (end - offset).min(left) as usize;
        let mut buf = vec![0u8; want];
        let n = self.src.read_at(offset, &mut buf)?;
        buf.truncate(n);
        self.spent.set(self.spent.get() + n as u64);
        Ok(Cow::Owned(buf))
    }

    /// Exactly `len` bytes at `offset`, or `None` if the file (or the budget) ends first.
    pub fn exact(&self, offset: u64, len: usize) -> io::Result<Option<Cow<'a, [u8]>>> {
        let bytes = self.read_at(offset, len)?;
        Ok((bytes.len() == len).then_some(bytes))
    }
}

/// Little-endian readers over slices that may be too short.
pub(crate) fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
pub(crate) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
pub(crate) fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

type Detector = fn(&Probe) -> io::Result<Option<Sniff>>;

/// Every detector, cheapest rejection first. Each returns `None` quickly unless its signature
/// is in the head (or tail), so an ordinary file costs a few byte comparisons per detector.
const DETECTORS: &[Detector] = &[
    zip::detect,
    pickle::detect,
    numpy::detect_npy,
    safetensors::detect,
    ggml::detect,
    faiss::detect,
    index::detect_usearch,
    index::detect_hnswlib,
    hdf5::detect,
    container::detect_tflite,
    container::detect_sqlite,
    container::detect_lance,
    vecstore::detect,
    onnx::detect,
    compressed::detect,
];

fn run(probe: &Probe) -> io::Result<Option<Sniff>> {
    for detect in DETECTORS {
        if let Some(found) = detect(probe)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// Runs `f` on a probe over bytes in memory.
fn with_bytes<R>(data: &[u8], f: impl FnOnce(&Probe) -> R) -> R {
    let head = &data[..data.len().min(HEAD)];
    let tail = if data.len() > HEAD {
        &data[data.len() - TAIL.min(data.len() - HEAD)..]
    } else {
        &[][..]
    };
    let probe = Probe {
        head,
        tail,
        size: data.len() as u64,
        src: &data,
        spent: Cell::new(0),
    };
    f(&probe)
}

/// Sniffs bytes already in memory (the whole file, or at least its start).
pub fn sniff_bytes(data: &[u8]) -> Option<Sniff> {
    with_bytes(data, run).expect("reading from memory cannot fail")
}

/// Sniffs a file, or a directory that is a known store (Chroma, Lance, Qdrant, Milvus Lite); `Ok(None)` for
/// anything else. Symlinks are followed here; the walk never passes one.
pub fn sniff_path(path: &Path) -> io::Result<Option<Sniff>> {
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        return Ok(container::detect_dir(path));
    }
    if !meta.is_file() {
        return Ok(None);
    }
    let file = File::open(path)?;
    sniff_open_file(&file, meta.len()).map(|(_, s)| s)
}

/// Sniffs an open file. `size` is a hint from a stat the caller already made, or `None` to
/// learn it here; returns the size read and the result. A file shorter than the head is
/// sized by the read itself, which saves a `fstat` per small file in the walk.
pub fn sniff_open_file(
    file: &File,
    size: impl Into<Option<u64>>,
) -> io::Result<(u64, Option<Sniff>)> {
    HEAD_BUFFER.with_borrow_mut(|head| sniff_with_head(file, size.into(), head))
}

thread_local! {
    /// The head is read into a buffer each thread keeps: zeroing a fresh 4 KiB array for
    /// every file was a tenth of the walk's user time on a million files.
    static HEAD_BUFFER: std::cell::RefCell<Box<[u8; HEAD]>> =
        std::cell::RefCell::new(Box::new([0; HEAD]));
}

fn sniff_with_head(
    file: &File,
    size: Option<u64>,
    head: &mut [u8; HEAD],
) -> io::Result<(u64, Option<Sniff>)> {
    // One read: a regular file returns fewer bytes than asked only at its end, and a second
    // read to see 0 would cost a system call per small file in the walk.
    let n = loop {
        match FileExt::read_at(file, &mut head[..], 0) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => break other?,
        }
    };
    let size = match size {
        Some(s) => s.max(n as u64),
        None if n < HEAD => n as u64,
        None => file.metadata()?.len().max(n as u64),
    };
    let head = &head[..n];
    let mut tail = [0u8; TAIL];
    let tail = if size > HEAD as u64 {
        let want = TAIL.min((size - HEAD as u64) as usize);
        let got = Source::read_at(file, size - want as u64, &mut tail[..want])?;
        &tail[..got]
    } else {
        &tail[..0]
    };
    if n == 0 {
        return Ok((size, None));
    }
    let probe = Probe {
        head,
        tail,
        size,
        src: file,
        spent: Cell::new(0),
    };
    Ok((size, run(&probe)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_content_is_not_flagged() {
        let samples: &[&[u8]] = &[
            b"",
            b"fn main() { println!(\"hi\"); }\n",
            b"\x80\x04hello world, this is text\n",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
            b"PK\x03\x04\x14\0\0\0\0\0",
            b"GGUF",
            b"IxFlat is a word",
        ];
        for s in samples {
            assert_eq!(sniff_bytes(s), None, "{:?}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn probe_reads_are_bounded_by_the_budget() {
        let data = vec![7u8; (TARGETED_BUDGET as usize) * 2];
        let probe = Probe {
            head: &data[..HEAD],
            tail: &data[data.len() - TAIL..],
            size: data.len() as u64,
            src: &&data[..],
            spent: Cell::new(0),
        };
        let first = probe
            .read_at(HEAD as u64, TARGETED_BUDGET as usize + 10)
            .unwrap();
        assert_eq!(first.len() as u64, TARGETED_BUDGET);
        assert!(probe.read_at(HEAD as u64, 10).unwrap().is_empty());
        // Head and tail stay free.
        assert_eq!(probe.read_at(0, 10).unwrap().len(), 10);
    }
}
