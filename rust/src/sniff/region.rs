//! Views inside a file, one level deeper: a region of the parent's bytes (a stored zip or tar
//! member, the pickle after a `.npy` header) and a decompressed stream (gzip, deflate, bz2, xz,
//! zstd), read forward through a small window and restarted only when a detector looks back.
//! Every decompressed byte, kept or stepped over, counts against the file's
//! [`INFLATE_BUDGET`](super::INFLATE_BUDGET); when it runs out the stream ends there.

use std::cell::{Cell, RefCell};
use std::io::{self, Read};
use std::rc::Rc;

use super::{Ctx, Family, Probe, Sniff, Source, HEAD, TAIL, TARGETED_BUDGET};

/// `len` bytes at `base` of another source.
pub(crate) struct Region<'a> {
    src: &'a dyn Source,
    base: u64,
    len: u64,
}

impl Source for Region<'_> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let n = buf.len().min((self.len - offset) as usize);
        self.src.read_at(self.base + offset, &mut buf[..n])
    }

    fn costly(&self) -> bool {
        self.src.costly()
    }
}

/// How far a decompressor's input may run ahead of its output. Compressed data never grows by
/// more than a few bytes per block, so only a stream of empty blocks (zstd's or deflate's, which
/// a run of zeros can be) reaches this: it ends there instead of being read to the end of the
/// file a few bytes at a time.
const INPUT_AHEAD: u64 = 1 << 20;

/// Reads a region front to back, for a decompressor, at most [`INPUT_AHEAD`] bytes past what
/// the decompressor has delivered (`produced`). Reads from the file itself count against the
/// file's [`TARGETED_BUDGET`], as every other read past its head and tail does.
pub(crate) struct RegionReader<'a> {
    region: Region<'a>,
    pos: u64,
    produced: Rc<Cell<u64>>,
    ctx: &'a Ctx,
}

impl Read for RegionReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut left = (self.produced.get() + INPUT_AHEAD).saturating_sub(self.pos);
        let costly = self.region.costly();
        if costly {
            left = left.min(TARGETED_BUDGET.saturating_sub(self.ctx.spent.get()));
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.region.read_at(self.pos, &mut buf[..want])?;
        self.pos += n as u64;
        if costly {
            self.ctx.spent.set(self.ctx.spent.get() + n as u64);
        }
        Ok(n)
    }
}

/// Runs `f` on a probe over `len` bytes at `base` of `parent`, one level deeper.
pub(crate) fn with_region<R>(
    parent: &Probe,
    base: u64,
    len: u64,
    f: impl FnOnce(&Probe) -> io::Result<R>,
) -> io::Result<R> {
    let len = len.min(parent.size.saturating_sub(base));
    let head = parent.read_at(base, HEAD.min(len as usize))?;
    let tail = if len > HEAD as u64 && parent.size_known {
        let want = TAIL.min((len - HEAD as u64) as usize);
        parent.read_at(base + len - want as u64, want)?
    } else {
        std::borrow::Cow::Borrowed(&[][..])
    };
    let region = Region {
        src: parent.source(),
        base,
        len,
    };
    let probe = Probe {
        head: &head,
        tail: &tail,
        size: len,
        size_known: parent.size_known,
        depth: parent.depth + 1,
        src: &region,
        ctx: parent.ctx,
    };
    f(&probe)
}

/// Which decompressor a stream needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Codec {
    Gzip,
    Zlib,
    Deflate,
    Bzip2,
    Xz,
    /// The legacy `.lzma` format (LZMA1 "alone": properties, dictionary size, length).
    Lzma,
    /// A zip member's LZMA (method 14): a 4-byte version and length, the 5 property bytes,
    /// then raw LZMA1, ended by a marker (`eos`) or by the member's `size`.
    ZipLzma {
        eos: bool,
        size: u64,
    },
    Zstd,
}

impl Codec {
    pub fn name(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Zlib => "zlib",
            Codec::Deflate => "deflate",
            Codec::Bzip2 => "bz2",
            Codec::Xz => "xz",
            Codec::Lzma | Codec::ZipLzma { .. } => "lzma",
            Codec::Zstd => "zstd",
        }
    }
}

/// liblzma allocates its dictionary up front; a stream asking for more is not opened (and is
/// opaque). `xz -9` and `-9e`, a 64 MiB dictionary, need 65 MiB: they are read.
const XZ_MEMLIMIT: u64 = 66 << 20;

fn decoder<'a>(codec: Codec, input: RegionReader<'a>) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match codec {
        Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
        Codec::Zlib => Box::new(flate2::read::ZlibDecoder::new(input)),
        Codec::Deflate => Box::new(flate2::read::DeflateDecoder::new(input)),
        Codec::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(input)),
        Codec::Xz => {
            let stream = liblzma::stream::Stream::new_stream_decoder(
                XZ_MEMLIMIT,
                liblzma::stream::CONCATENATED,
            )
            .map_err(io::Error::other)?;
            Box::new(liblzma::read::XzDecoder::new_stream(
                io::BufReader::new(input),
                stream,
            ))
        }
        Codec::Lzma => {
            let stream =
                liblzma::stream::Stream::new_lzma_decoder(XZ_MEMLIMIT).map_err(io::Error::other)?;
            Box::new(liblzma::read::XzDecoder::new_stream(
                io::BufReader::new(input),
                stream,
            ))
        }
        Codec::ZipLzma { eos, size } => {
            // Rewritten as a `.lzma` stream: the properties and dictionary size as given, then
            // the length (unknown when an end marker closes the data).
            let mut input = input;
            let mut header = [0u8; 9];
            input.read_exact(&mut header)?;
            let mut alone = header[4..9].to_vec();
            alone.extend_from_slice(&(if eos { u64::MAX } else { size }).to_le_bytes());
            let stream =
                liblzma::stream::Stream::new_lzma_decoder(XZ_MEMLIMIT).map_err(io::Error::other)?;
            Box::new(liblzma::read::XzDecoder::new_stream(
                io::BufReader::new(io::Cursor::new(alone).chain(input)),
                stream,
            ))
        }
        Codec::Zstd => {
            Box::new(ruzstd::decoding::StreamingDecoder::new(input).map_err(io::Error::other)?)
        }
    })
}

/// A decompressed stream as a source: forward reads decompress, backward reads restart.
struct Stream<'a> {
    codec: Codec,
    src: &'a dyn Source,
    base: u64,
    len: u64,
    ctx: &'a Ctx,
    state: RefCell<State<'a>>,
}

struct State<'a> {
    reader: Option<Box<dyn Read + 'a>>,
    /// Decompressed bytes delivered so far by `reader`.
    pos: u64,
    /// `pos`, shared with the reader's input, which may not run far ahead of it.
    produced: Rc<Cell<u64>>,
    /// The last bytes read, kept so a detector re-reading them costs nothing.
    window: Vec<u8>,
    window_start: u64,
    /// Why the decoder gave not one byte: it refused the stream (a zstd frame naming a
    /// dictionary) or failed on its first read (an xz stream over the memory limit).
    refusal: Option<String>,
}

impl<'a> Stream<'a> {
    fn restart(&self, state: &mut State<'a>) {
        let input = RegionReader {
            region: Region {
                src: self.src,
                base: self.base,
                len: self.len,
            },
            pos: 0,
            produced: Rc::new(Cell::new(0)),
            ctx: self.ctx,
        };
        state.produced = Rc::clone(&input.produced);
        state.reader = match decoder(self.codec, input) {
            Ok(reader) => Some(reader),
            Err(e) => {
                state.refusal = Some(e.to_string());
                None
            }
        };
        state.pos = 0;
    }

    /// Decompresses into `buf` until it is full, the stream ends or the budget is spent.
    fn pull(&self, state: &mut State<'a>, buf: &mut [u8]) -> usize {
        let mut filled = 0;
        while filled < buf.len() {
            let left = self.ctx.inflate_left();
            if left == 0 {
                break;
            }
            let want = (buf.len() - filled).min(left.min(usize::MAX as u64) as usize);
            let Some(reader) = state.reader.as_mut() else {
                break;
            };
            match reader.read(&mut buf[filled..filled + want]) {
                Ok(0) => break,
                Ok(n) => {
                    filled += n;
                    state.pos += n as u64;
                    state.produced.set(state.pos);
                    self.ctx.inflated.set(self.ctx.inflated.get() + n as u64);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // A corrupt or truncated stream ends here; what came before still counts.
                Err(e) => {
                    if state.pos == 0 {
                        state.refusal = Some(e.to_string());
                    }
                    state.reader = None;
                    break;
                }
            }
        }
        filled
    }
}

impl Source for Stream<'_> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut state = self.state.borrow_mut();
        let in_window = offset >= state.window_start
            && offset + buf.len() as u64 <= state.window_start + state.window.len() as u64;
        if in_window {
            let from = (offset - state.window_start) as usize;
            buf.copy_from_slice(&state.window[from..from + buf.len()]);
            return Ok(buf.len());
        }
        if offset < state.pos || state.reader.is_none() && state.pos == 0 {
            self.restart(&mut state);
        }
        // Step over what lies before `offset`.
        let mut skip = [0u8; 8192];
        while state.pos < offset {
            let n = ((offset - state.pos) as usize).min(skip.len());
            if self.pull(&mut state, &mut skip[..n]) < n {
                return Ok(0);
            }
        }
        let n = self.pull(&mut state, buf);
        state.window.clear();
        state.window.extend_from_slice(&buf[..n]);
        state.window_start = offset;
        Ok(n)
    }
}

/// Runs `f` on a probe over the decompressed content of `len` bytes at `base` of `parent`,
/// one level deeper. `size` is the decompressed size when the container records it (a zip
/// member); otherwise the probe's size is an upper bound and `size_known` is false.
///
/// A stream its decoder refuses before giving one byte cannot be cleared: a loader holding
/// the zstd dictionary, or more memory, reads what this cannot. It is opaque (the gate fails
/// closed), except for the streams found without a magic number (zlib, `.lzma`), where a
/// refusal says the bytes were never such a stream.
pub(crate) fn with_stream(
    parent: &Probe,
    codec: Codec,
    base: u64,
    len: u64,
    size: Option<u64>,
    f: impl FnOnce(&Probe) -> io::Result<Option<Sniff>>,
) -> io::Result<Option<Sniff>> {
    let len = len.min(parent.size.saturating_sub(base));
    let stream = Stream {
        codec,
        src: parent.source(),
        base,
        len,
        ctx: parent.ctx,
        state: RefCell::new(State {
            reader: None,
            pos: 0,
            produced: Rc::new(Cell::new(0)),
            window: Vec::new(),
            window_start: 0,
            refusal: None,
        }),
    };
    let mut head = vec![0u8; HEAD];
    let n = stream.read_at(0, &mut head)?;
    head.truncate(n);
    let guessed = matches!(codec, Codec::Zlib | Codec::Lzma);
    if let (0, Some(why), false) = (n, stream.state.borrow().refusal.as_deref(), guessed) {
        return Ok(Some(Sniff::new(
            "undecodable_stream",
            Family::Opaque,
            format!(
                "a {} stream whose decoder gives nothing ({why}): not cleared",
                codec.name()
            ),
        )));
    }
    // A stream that ended inside the head has a known size whatever the container says.
    let ended = n < HEAD && stream.state.borrow().reader.is_some() && parent.ctx.inflate_left() > 0;
    let (size, size_known) = match size {
        _ if ended => (n as u64, true),
        Some(s) => (s.max(n as u64), true),
        None => (u64::MAX >> 8, false),
    };
    let probe = Probe {
        head: &head,
        tail: &[],
        size,
        size_known,
        depth: parent.depth + 1,
        src: &stream,
        ctx: parent.ctx,
    };
    f(&probe)
}
