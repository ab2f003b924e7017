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
    // A zlib header (RFC 1950): deflate, a window of at most 32 KiB, a check that divides by
    // 31, and no preset dictionary, which zlib.compress and joblib never ask for. Text such
    // as `x = 1` passes the first three and fails the last.
    let zlib = h.len() >= 2
        && h[0] & 0x0f == 8
        && h[0] >> 4 <= 7
        && (u16::from(h[0]) << 8 | u16::from(h[1])) % 31 == 0
        && h[1] & 0x20 == 0;
    let gzip = h.starts_with(b"\x1f\x8b\x08");
    if !zlib && !gzip {
        return Ok(None);
    }
    // Text that happens to start with a valid zlib header fails on its first two inflated
    // bytes: a pickle of protocol 2 to 5 starts with PROTO.
    if !matches!(inflate(p.head, gzip, 2)[..], [0x80, 2..=5]) {
        return Ok(None);
    }
    let out = inflate(&p.read_at(0, INPUT)?, gzip, OUTPUT);
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

/// Inflates up to `limit` bytes; a truncated or corrupt stream ends the read, and what was
/// inflated before still counts.
fn inflate(input: &[u8], gzip: bool, limit: usize) -> Vec<u8> {
    let reader: Box<dyn Read> = if gzip {
        Box::new(GzDecoder::new(input))
    } else {
        Box::new(ZlibDecoder::new(input))
    };
    let mut out = Vec::new();
    let _ = reader.take(limit as u64).read_to_end(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::write::{GzEncoder, ZlibEncoder};
    use flate2::Compression;

    use crate::sniff::sniff_bytes;

    /// `pickle.dumps({"w": [0.5, 0.25]}, protocol=4)`, written out by hand.
    const PICKLE: &[u8] = b"\x80\x04\x95\x1b\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01w\x94]\x94(G?\xe0\x00\x00\x00\x00\x00\x00G?\xd0\x00\x00\x00\x00\x00\x00es.";

    #[test]
    fn pickles_in_zlib_and_gzip_streams_are_found() {
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(PICKLE).unwrap();
        let mut g = GzEncoder::new(Vec::new(), Compression::default());
        g.write_all(PICKLE).unwrap();
        for data in [z.finish().unwrap(), g.finish().unwrap()] {
            let found = sniff_bytes(&data).expect("a compressed pickle");
            assert_eq!(found.family.as_str(), "weights");
        }
    }

    #[test]
    fn text_with_a_zlib_like_start_or_compressed_text_is_not() {
        // 0x78 0x20 ("x ") and 0x78 0x5e ("x^") pass the header check of 31.
        assert_eq!(sniff_bytes(b"x = 1\nprint(x)\n"), None);
        assert_eq!(sniff_bytes(b"x^2 + y^2 = r^2\n"), None);
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(b"just some compressed words, no pickle here")
            .unwrap();
        assert_eq!(sniff_bytes(&z.finish().unwrap()), None);
    }
}
