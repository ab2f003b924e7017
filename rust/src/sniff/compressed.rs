//! Pickles inside a zlib or gzip stream: joblib's `compress=` dumps (zlib by default, or gzip)
//! and `*.pkl.gz`. The first 256 KiB of the file are inflated to at most 64 KiB, and the
//! pickle detector runs on that prefix (a truncated stream is fine: the opcode walk accepts a
//! prefix once enough opcodes check out). bz2, xz and lz4 dumps are not opened.

use std::io::{self, Read};

use flate2::read::{GzDecoder, ZlibDecoder};

use super::{pickle, with_bytes, Family, Probe, Sniff};

const INPUT: usize = 256 << 10;
const OUTPUT: usize = 64 << 10;

pub fn detect(p: &Probe) -> io::Result<Option<Sniff>> {
    let h = p.head;
    let zlib = h.len() >= 2
        && h[0] & 0x0f == 8
        && h[0] >> 4 <= 7
        && (u16::from(h[0]) << 8 | u16::from(h[1])) % 31 == 0;
    let gzip = h.starts_with(b"\x1f\x8b\x08");
    if !zlib && !gzip {
        return Ok(None);
    }
    // Text that happens to start with a valid zlib header fails on the head alone.
    if inflate(p.head, gzip).len() < 3 {
        return Ok(None);
    }
    let out = inflate(&p.read_at(0, INPUT)?, gzip);
    let inner = with_bytes(&out, pickle::detect)?;
    let stream = if gzip { "gzip" } else { "zlib" };
    Ok(inner.map(|s| {
        Sniff::new(
            s.format,
            Family::Weights,
            format!(
                "{stream} stream at offset 0 holding a {}: {}",
                s.format, s.evidence
            ),
        )
    }))
}

/// Inflates up to OUTPUT bytes; a truncated or corrupt stream ends the read, and what was
/// inflated before still counts.
fn inflate(input: &[u8], gzip: bool) -> Vec<u8> {
    let reader: Box<dyn Read> = if gzip {
        Box::new(GzDecoder::new(input))
    } else {
        Box::new(ZlibDecoder::new(input))
    };
    let mut out = Vec::new();
    let _ = reader.take(OUTPUT as u64).read_to_end(&mut out);
    out
}
