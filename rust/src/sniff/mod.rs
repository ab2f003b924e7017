//! Content detection: is this file model weights, tensor data, a vector index, a dataset, a
//! pickle that imports something it should not, a Git LFS pointer or a private key?
//!
//! Content only, never names, and never loading or unpickling: each detector checks a
//! signature in a small header and then confirms it with the structure around it (lengths
//! that must add up, offsets that must land inside the file), because a four-byte magic alone
//! would flag ordinary files. Reads are bounded: [`HEAD`] bytes from the start, one tail read
//! of [`TAIL`] bytes for files longer than the head, then targeted reads at offsets the header
//! computed, capped at [`TARGETED_BUDGET`] bytes per file. Containers (zip, tar, gzip, bz2, xz,
//! zstd) are looked into to [`MAX_DEPTH`] levels, with at most [`INFLATE_BUDGET`] bytes
//! decompressed per file, streamed through a small window (never held whole), so a bomb or
//! deep nesting ends on the budget, not on memory. `docs/sniff.md` lists what each format
//! reads.

use std::borrow::Cow;
use std::cell::Cell;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

mod archive;
mod compressed;
mod container;
mod dataset;
mod faiss;
mod ggml;
mod hdf5;
mod index;
mod numpy;
mod onnx;
mod pickle;
mod region;
mod safetensors;
mod text;
mod vecstore;
mod zip;

pub use pickle::{is_allowed_global, ALLOWED_GLOBALS};
pub use text::sniff_text;

/// Bytes read from the start of every file.
pub const HEAD: usize = 4096;
/// Bytes read from the end of files longer than [`HEAD`] (footer signatures: Lance).
pub const TAIL: usize = 64;
/// Most bytes read at computed offsets after the head and tail, per file.
pub const TARGETED_BUDGET: u64 = 8 << 20;
/// Containers looked into, one inside the other, below the file itself (a gzip holding a tar
/// holding a zip holding a pickle is three).
pub const MAX_DEPTH: u32 = 3;
/// Most bytes decompressed per file, over every stream and member inside it.
pub const INFLATE_BUDGET: u64 = 64 << 20;

/// What a file was recognised as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sniff {
    /// Stable lowercase name, e.g. `"safetensors"`, `"torch_zip"`, `"faiss"`.
    pub format: &'static str,
    pub family: Family,
    /// What was seen and where, for a person reading a report.
    pub evidence: String,
    /// Every `module.name` a pickle in the file imports (GLOBAL, INST, STACK_GLOBAL), in the
    /// order first seen, at most [`pickle::MAX_GLOBALS`]; empty when there is no pickle.
    pub globals: Vec<String>,
    /// Why unpickling this file could run code: imports outside the allow-list, names
    /// computed at load time, extension codes, a BUILD that edits a module or class, or a
    /// pickle too long to read to its end. Empty means nothing of the kind was seen.
    pub unsafe_globals: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    Weights,
    TensorData,
    VectorIndex,
    /// Columnar and record datasets: Parquet, Arrow, ORC, Avro, TFRecord, LMDB, WebDataset.
    Dataset,
    /// A pickle of plain data (no tensor or array): not weights, but its imports are judged.
    Pickle,
    /// A Git LFS pointer file: the content lives elsewhere.
    LfsPointer,
    /// A private key (PEM, OpenSSH, PKCS#8, a note signing key).
    PrivateKey,
    /// Plain text: only [`sniff_text`] says so, to clear a name that promised a binary.
    Text,
    /// A container nested past [`MAX_DEPTH`]: not opened, so not cleared.
    Opaque,
}

impl Family {
    const ALL: [Family; 9] = [
        Family::Weights,
        Family::TensorData,
        Family::VectorIndex,
        Family::Dataset,
        Family::Pickle,
        Family::LfsPointer,
        Family::PrivateKey,
        Family::Text,
        Family::Opaque,
    ];

    /// The family whose `as u8` is `index` (for verdicts stored by the scan cache).
    pub fn from_index(index: u8) -> Option<Family> {
        Family::ALL.into_iter().find(|&f| f as u8 == index)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Family::Weights => "weights",
            Family::TensorData => "tensor_data",
            Family::VectorIndex => "vector_index",
            Family::Dataset => "dataset",
            Family::Pickle => "pickle",
            Family::LfsPointer => "lfs_pointer",
            Family::PrivateKey => "private_key",
            Family::Text => "text",
            Family::Opaque => "opaque",
        }
    }
}

impl Sniff {
    pub(crate) fn new(format: &'static str, family: Family, evidence: impl Into<String>) -> Self {
        Sniff {
            format,
            family,
            evidence: evidence.into(),
            globals: Vec::new(),
            unsafe_globals: Vec::new(),
        }
    }

    /// Adds the imports of pickles found inside this file (a container's members).
    pub(crate) fn merge_imports(&mut self, globals: &[String], unsafe_globals: &[String]) {
        for (into, from) in [
            (&mut self.globals, globals),
            (&mut self.unsafe_globals, unsafe_globals),
        ] {
            for g in from {
                if into.len() < pickle::MAX_GLOBALS && !into.contains(g) {
                    into.push(g.clone());
                }
            }
        }
    }
}

/// Random access to the bytes being sniffed: a file (positional reads), a buffer, a region of
/// another source, or a decompressed stream.
pub(crate) trait Source {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
    /// Whether reads cost I/O and count against [`TARGETED_BUDGET`] (memory does not).
    fn costly(&self) -> bool {
        false
    }
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

    fn costly(&self) -> bool {
        true
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

/// The budgets one file shares with everything found inside it.
#[derive(Default)]
pub(crate) struct Ctx {
    /// Bytes read from the file beyond its head and tail.
    spent: Cell<u64>,
    /// Bytes decompressed, over every stream inside the file.
    pub inflated: Cell<u64>,
}

impl Ctx {
    /// Decompressed bytes still allowed.
    pub fn inflate_left(&self) -> u64 {
        INFLATE_BUDGET.saturating_sub(self.inflated.get())
    }
}

/// What a detector sees: the head, the tail, the size, and bounded reads elsewhere.
pub(crate) struct Probe<'a> {
    pub head: &'a [u8],
    pub tail: &'a [u8],
    pub size: u64,
    /// False for a stream whose length is not recorded anywhere (gzip, bz2, xz, zstd): `size`
    /// is then an upper bound, and checks that need the exact end are skipped.
    pub size_known: bool,
    /// How many containers this view is inside (0 for the file itself).
    pub depth: u32,
    src: &'a dyn Source,
    pub ctx: &'a Ctx,
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
        if offset >= tail_start && !self.tail.is_empty() {
            let from = (offset - tail_start) as usize;
            return Ok(Cow::Borrowed(&self.tail[from..(end - tail_start) as usize]));
        }
        let costly = self.src.costly();
        let left = if costly {
            TARGETED_BUDGET.saturating_sub(self.ctx.spent.get())
        } else {
            u64::MAX
        };
        let want = (end - offset).min(left) as usize;
        let mut buf = vec![0u8; want];
        let n = self.src.read_at(offset, &mut buf)?;
        buf.truncate(n);
        if costly {
            self.ctx.spent.set(self.ctx.spent.get() + n as u64);
        }
        Ok(Cow::Owned(buf))
    }

    /// Whether the per-file read budget still allows reads at computed offsets.
    pub fn budget_left(&self) -> bool {
        !self.src.costly() || self.ctx.spent.get() < TARGETED_BUDGET
    }

    /// Reads `len` bytes at `offset` into `buf` straight from the source, outside the head and
    /// tail shortcuts; used by streams that read sequentially through a region.
    pub(crate) fn source(&self) -> &'a dyn Source {
        self.src
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
    dataset::detect,
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
    archive::detect_tar,
    compressed::detect,
    text::detect,
];

pub(crate) fn run(probe: &Probe) -> io::Result<Option<Sniff>> {
    for detect in DETECTORS {
        if let Some(found) = detect(probe)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// Runs `f` on a probe over bytes in memory.
fn with_bytes<R>(data: &[u8], f: impl FnOnce(&Probe) -> R) -> R {
    let ctx = Ctx::default();
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
        size_known: true,
        depth: 0,
        src: &data,
        ctx: &ctx,
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
    let ctx = Ctx::default();
    let probe = Probe {
        head,
        tail,
        size,
        size_known: true,
        depth: 0,
        src: file,
        ctx: &ctx,
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
    fn a_stream_its_decoder_refuses_is_opaque_not_an_error() {
        // A zstd frame naming dictionary 0x7d (descriptor 0x21: one-byte dictionary id, single
        // segment), found by the fuzz suite: its decoder refuses it before the first block, and
        // sniff_bytes panicked. A loader holding the dictionary reads it: it is not cleared.
        let frame = b"\x28\xb5\x2f\xfd\x21\x7d\x10\x01\x00\x00x";
        let found = sniff_bytes(frame).expect("opaque");
        assert_eq!(
            (found.format, found.family),
            ("undecodable_stream", Family::Opaque)
        );
        assert!(found.evidence.contains("dictionary"), "{}", found.evidence);
        let file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut &file, frame).unwrap();
        let (_, found) = sniff_open_file(&file, None).unwrap();
        assert_eq!(found.unwrap().family, Family::Opaque);
        // zlib has no magic: bytes that only look like its header are nothing.
        assert_eq!(sniff_bytes(b"\x78\x9c\xff\xff\xff\xff"), None);
    }

    #[test]
    fn probe_reads_are_bounded_by_the_budget() {
        let data = vec![7u8; (TARGETED_BUDGET as usize) * 2];
        let file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut &file, &data).unwrap();
        let ctx = Ctx::default();
        let probe = Probe {
            head: &data[..HEAD],
            tail: &data[data.len() - TAIL..],
            size: data.len() as u64,
            size_known: true,
            depth: 0,
            src: &file,
            ctx: &ctx,
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
