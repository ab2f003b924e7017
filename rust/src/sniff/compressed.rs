//! Compressed streams: gzip, bz2, xz and zstd by their magic, `.lzma` by its header, and zlib
//! (joblib's default `compress=`) when what it inflates to starts like a pickle. What is inside
//! is sniffed like a file of its own, one level deeper, decompressed only as far as that sniff
//! reads (see
//! [`region`](super::region)). A compressed file of anything else (text, a plain archive of
//! documents) gives `None`.

use std::io;

use super::region::{with_stream, Codec};
use super::{run, Family, Probe, Sniff, MAX_DEPTH};

/// The codec whose signature starts the head, if any.
fn codec(h: &[u8]) -> Option<Codec> {
    if h.starts_with(b"\x1f\x8b\x08") {
        return Some(Codec::Gzip);
    }
    // "BZh" + block size 1-9 + the block magic (pi in BCD), or the end-of-stream magic.
    if h.len() >= 10
        && h.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&h[3])
        && (h[4..10] == *b"\x31\x41\x59\x26\x53\x59" || h[4..10] == *b"\x17\x72\x45\x38\x50\x90")
    {
        return Some(Codec::Bzip2);
    }
    if h.starts_with(b"\xfd7zXZ\x00") {
        return Some(Codec::Xz);
    }
    if h.starts_with(b"\x28\xb5\x2f\xfd") {
        return Some(Codec::Zstd);
    }
    // `.lzma` (LZMA alone) has no magic: properties lc/lp/pb as one byte below 225 (0x5d for
    // every preset), a dictionary of 2^n or 2^n + 2^(n-1) bytes, and a length that is unknown
    // (all ones) or plausible. Only what decodes from it is reported, never the stream itself.
    if h.len() >= 13 && h[0] == 0x5d {
        let dict = u32::from_le_bytes([h[1], h[2], h[3], h[4]]);
        let length = u64::from_le_bytes(h[5..13].try_into().unwrap_or([0; 8]));
        let power = dict.is_power_of_two() || (dict & (dict >> 1)).is_power_of_two();
        if power && dict >= 4096 && (length == u64::MAX || length < 1 << 48) {
            return Some(Codec::Lzma);
        }
    }
    // A zlib header (RFC 1950): deflate, a window of at most 32 KiB, a check that divides by
    // 31, and no preset dictionary. Text such as `x = 1` passes the first three and fails the
    // last; `x^` passes all four, so zlib is confirmed by its content below.
    let zlib = h.len() >= 2
        && h[0] & 0x0f == 8
        && h[0] >> 4 <= 7
        && (u16::from(h[0]) << 8 | u16::from(h[1])) % 31 == 0
        && h[1] & 0x20 == 0;
    zlib.then_some(Codec::Zlib)
}

pub fn detect(p: &Probe) -> io::Result<Option<Sniff>> {
    if p.head.starts_with(b"7z\xbc\xaf\x27\x1c") {
        return Ok(Some(Sniff::new(
            "7z",
            Family::Opaque,
            "7z archive: its members are not read here, so they cannot be cleared",
        )));
    }
    let Some(codec) = codec(p.head) else {
        return Ok(None);
    };
    if p.depth >= MAX_DEPTH {
        return Ok((codec != Codec::Zlib).then(|| too_deep(codec.name())));
    }
    with_stream(p, codec, 0, p.size, None, |inner| {
        // zlib has no magic of its own: only a pickle inside (joblib) confirms it.
        if codec == Codec::Zlib && !matches!(inner.head, [0x80, 0..=5, ..]) {
            return Ok(None);
        }
        Ok(run(inner)?.map(|s| wrap(codec.name(), "stream at offset 0", s)))
    })
}

/// A container nested deeper than [`MAX_DEPTH`]: not opened, so nothing inside it can be
/// cleared; the scan fails closed on it.
pub(crate) fn too_deep(container: &str) -> Sniff {
    Sniff::new(
        "nested_container",
        Family::Opaque,
        format!(
            "a {container} nested more than {MAX_DEPTH} containers deep: not opened (depth limit)"
        ),
    )
}

/// The inner finding, with where it was found in front of its evidence.
pub(crate) fn wrap(container: &str, place: &str, mut s: Sniff) -> Sniff {
    s.evidence = format!("{container} {place} holding a {}: {}", s.format, s.evidence);
    s
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::write::{GzEncoder, ZlibEncoder};
    use flate2::Compression;

    use crate::sniff::sniff_bytes;

    /// `pickle.dumps({"w": [0.5, 0.25]}, protocol=4)` with an `os.system` import added.
    const PICKLE: &[u8] = b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R.";

    fn compressed(data: &[u8]) -> Vec<Vec<u8>> {
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(data).unwrap();
        let mut g = GzEncoder::new(Vec::new(), Compression::default());
        g.write_all(data).unwrap();
        let mut b = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        b.write_all(data).unwrap();
        let mut x = liblzma::write::XzEncoder::new(Vec::new(), 6);
        x.write_all(data).unwrap();
        let options = liblzma::stream::LzmaOptions::new_preset(6).unwrap();
        let alone = liblzma::stream::Stream::new_lzma_encoder(&options).unwrap();
        let mut l = liblzma::write::XzEncoder::new_stream(Vec::new(), alone);
        l.write_all(data).unwrap();
        vec![
            z.finish().unwrap(),
            g.finish().unwrap(),
            b.finish().unwrap(),
            x.finish().unwrap(),
            l.finish().unwrap(),
        ]
    }

    #[test]
    fn pickles_in_every_compressed_stream_are_found() {
        for data in compressed(PICKLE) {
            let found = sniff_bytes(&data).expect("a compressed pickle");
            assert_eq!(found.unsafe_globals, ["os.system"], "{}", found.evidence);
        }
    }

    #[test]
    fn text_with_a_zlib_like_start_or_compressed_text_is_not() {
        // 0x78 0x20 ("x ") and 0x78 0x5e ("x^") pass the header check of 31.
        assert_eq!(sniff_bytes(b"x = 1\nprint(x)\n"), None);
        assert_eq!(sniff_bytes(b"x^2 + y^2 = r^2\n"), None);
        for data in compressed(b"just some compressed words, no pickle here") {
            assert_eq!(sniff_bytes(&data), None);
        }
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_budget() {
        // 256 MiB of zeros, four times the budget, compressed to about 250 KiB.
        let mut g = GzEncoder::new(Vec::new(), Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..256 {
            g.write_all(&zeros).unwrap();
        }
        let bomb = g.finish().unwrap();
        assert_eq!(sniff_bytes(&bomb), None);
    }

    #[test]
    fn deep_nesting_stops_at_the_depth_limit() {
        let mut data = PICKLE.to_vec();
        for _ in 0..50 {
            let mut g = GzEncoder::new(Vec::new(), Compression::fast());
            g.write_all(&data).unwrap();
            data = g.finish().unwrap();
        }
        let deep = sniff_bytes(&data).expect("fails closed");
        assert_eq!(deep.family.as_str(), "opaque", "{}", deep.evidence);
        let mut shallow = PICKLE.to_vec();
        for _ in 0..crate::sniff::MAX_DEPTH {
            let mut g = GzEncoder::new(Vec::new(), Compression::fast());
            g.write_all(&shallow).unwrap();
            shallow = g.finish().unwrap();
        }
        assert_eq!(sniff_bytes(&shallow).unwrap().unsafe_globals, ["os.system"]);
    }
}
