//! The output side: where canonical bytes go, how strings are escaped, how keys are ordered.

use std::cmp::Ordering;

use crate::digest::{Algo, Digest};

/// Where canonical bytes go. Serializers append to `buf()` and call `checkpoint()` between
/// members, so a sink may take the bytes away in large chunks.
pub trait Sink {
    fn buf(&mut self) -> &mut Vec<u8>;
    #[inline]
    fn checkpoint(&mut self) {}
}

/// The bytes themselves.
impl Sink for Vec<u8> {
    #[inline]
    fn buf(&mut self) -> &mut Vec<u8> {
        self
    }
}

/// Bytes fed to sha256 in chunks as they are written: constant memory, and each chunk is
/// hashed while it is still in cache.
pub struct Sha256Sink {
    buf: Vec<u8>,
    digest: Digest,
}

/// Chunk size for `Sha256Sink`: big enough that per-update overhead is noise, small enough to
/// stay in L2.
const HASH_CHUNK: usize = 64 << 10;

impl Sha256Sink {
    pub fn new() -> Sha256Sink {
        Sha256Sink {
            buf: Vec::with_capacity(2 * HASH_CHUNK),
            digest: Digest::new(Algo::Sha256),
        }
    }

    /// Lowercase hex sha256 of everything written.
    pub fn hexdigest(mut self) -> String {
        self.digest.update(&self.buf);
        self.digest.hexdigest()
    }
}

impl Default for Sha256Sink {
    fn default() -> Self {
        Sha256Sink::new()
    }
}

impl Sink for Sha256Sink {
    #[inline]
    fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    #[inline]
    fn checkpoint(&mut self) {
        if self.buf.len() >= HASH_CHUNK {
            self.digest.update(&self.buf);
            self.buf.clear();
        }
    }
}

/// What follows a backslash for each byte that must be escaped; 0 = copy as is.
/// RFC 8785 3.2.2.2: the short escapes `\b \f \n \r \t \" \\`, other controls as `\u00xx`.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut c = 0;
    while c < 0x20 {
        table[c] = b'u';
        c += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Appends `s` as a JSON string. Everything but the escapes above is copied as UTF-8 (a `str`
/// cannot hold a lone surrogate, so the output is always valid Unicode).
///
/// Most strings (paths, digests, names) need no escape at all, so the scan looks at 8 bytes at
/// a time and copies clean runs whole.
#[inline]
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let n = bytes.len();
    out.reserve(n + 2);
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < n {
        let mask = escape_mask(word_at(bytes, i));
        if mask == 0 {
            i += 8;
            continue;
        }
        // The lowest flagged byte is exact (a borrow only spills into higher bytes).
        i += (mask.trailing_zeros() / 8) as usize;
        out.extend_from_slice(&bytes[start..i]);
        let b = bytes[i];
        let esc = ESCAPE[b as usize];
        if esc == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let (hi, lo) = (HEX[(b >> 4) as usize], HEX[(b & 15) as usize]);
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hi, lo]);
        } else {
            out.extend_from_slice(&[b'\\', esc]);
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// The 8 bytes from `i` (little-endian), padded past the end with bytes that need no escape.
#[inline]
fn word_at(bytes: &[u8], i: usize) -> u64 {
    const SAFE: u64 = 0x6161_6161_6161_6161; // "aaaaaaaa"
    if let Some(chunk) = bytes.get(i..i + 8) {
        return u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
    }
    let rest = bytes.len() - i; // 1..=7
    if bytes.len() >= 8 {
        // Reread the last 8 bytes and shift out the ones already scanned.
        let tail = u64::from_le_bytes(bytes[bytes.len() - 8..].try_into().expect("8 bytes"));
        let shift = 8 * (8 - rest) as u32;
        (tail >> shift) | (SAFE << (64 - shift))
    } else {
        let mut padded = SAFE.to_le_bytes();
        padded[..rest].copy_from_slice(&bytes[i..]);
        u64::from_le_bytes(padded)
    }
}

/// The high bit of each byte of `word` that is a control character, `"` or `\\` (SWAR: a byte
/// below `n` sets its high bit in `(w - n) & !w`; a byte equal to `c` is a zero in `w ^ c`).
/// Bits above the lowest set one may be false alarms; the lowest is always right.
#[inline]
fn escape_mask(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |w: u64, n: u64| w.wrapping_sub(ONES * n) & !w;
    let control = below(word, 0x20);
    let quote = below(word ^ (ONES * u64::from(b'"')), 1);
    let backslash = below(word ^ (ONES * u64::from(b'\\')), 1);
    (control | quote | backslash) & HIGH
}

/// Orders keys as RFC 8785 3.2.3 says: by their UTF-16 code units.
///
/// UTF-8 byte order is code point order, which agrees with UTF-16 order except between
/// U+E000..U+FFFF and the astral planes (UTF-16 puts astral characters, whose surrogates are
/// D800..DFFF, first). So compare bytes, and only at the first differing character look at
/// which of those ranges the two characters are in.
#[inline]
pub fn cmp_utf16(a: &str, b: &str) -> Ordering {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    let Some(i) = x.iter().zip(y).position(|(p, q)| p != q) else {
        return x.len().cmp(&y.len());
    };
    if x[i] < 0x80 && y[i] < 0x80 {
        return x[i].cmp(&y[i]);
    }
    // The common prefix is whole characters up to the lead byte of the differing one.
    let mut start = i;
    while x[start] & 0xc0 == 0x80 {
        start -= 1;
    }
    let p = a[start..].chars().next().expect("differs here");
    let q = b[start..].chars().next().expect("differs here");
    utf16_rank(p).cmp(&utf16_rank(q))
}

/// A number that orders characters as their UTF-16 code units do.
#[inline]
fn utf16_rank(c: char) -> u32 {
    let c = c as u32;
    if (0xe000..0x10000).contains(&c) {
        c + 0x11_0000 // after every astral character
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(s: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_use_short_escapes_and_lowercase_hex() {
        assert_eq!(quoted("\u{8}\u{c}\n\r\t\"\\"), r#""\b\f\n\r\t\"\\""#);
        assert_eq!(quoted("\u{0}\u{f}\u{1f}"), r#""\u0000\u000f\u001f""#);
        assert_eq!(quoted("/\u{7f}\u{2028}é😂"), "\"/\u{7f}\u{2028}é😂\"");
    }

    #[test]
    fn escapes_are_found_at_every_position_of_a_long_string() {
        for special in ['"', '\\', '\u{0}', '\n', '\u{1f}'] {
            for (len, at) in (0..20).flat_map(|len| (0..=len).map(move |at| (len, at))) {
                let mut chars: Vec<char> = "abcdéfgh".chars().cycle().take(len).collect();
                chars.insert(at, special);
                let s: String = chars.into_iter().collect();
                let mut out = Vec::new();
                write_str(&mut out, &s);
                let want = reference_escape(&s);
                assert_eq!(String::from_utf8(out).unwrap(), want, "{s:?}");
            }
        }
        // Bytes >= 0x80 (UTF-8 continuation and lead bytes) never need an escape.
        let high = u64::from_le_bytes(*b"\xff\xfe\x80\x81\xc3\xa9\x7f ");
        assert_eq!(escape_mask(high), 0);
        // Two adjacent specials: the lowest flag is the first of them.
        let mask = escape_mask(u64::from_le_bytes(*b"ab\"\\cdef"));
        assert_eq!(mask.trailing_zeros() / 8, 2);
    }

    /// A plain reference escaper, one character at a time.
    fn reference_escape(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    #[test]
    fn keys_sort_by_utf16_code_units() {
        // U+1F602 is D83D DE02 in UTF-16, before U+FB33; code points say the opposite.
        assert_eq!(cmp_utf16("\u{1f602}", "\u{fb33}"), Ordering::Less);
        assert_eq!(cmp_utf16("\u{fb33}", "\u{1f602}"), Ordering::Greater);
        assert_eq!(cmp_utf16("\u{d7ff}", "\u{1f602}"), Ordering::Less);
        assert_eq!(cmp_utf16("a\u{e000}", "a\u{10000}"), Ordering::Greater);
        assert_eq!(cmp_utf16("\u{10000}", "\u{10001}"), Ordering::Less);
        assert_eq!(cmp_utf16("ab", "abc"), Ordering::Less);
        assert_eq!(cmp_utf16("b", "ab"), Ordering::Greater);
        assert_eq!(cmp_utf16("é", "é"), Ordering::Equal);
        assert_eq!(cmp_utf16("\u{e9}", "\u{ea}"), Ordering::Less); // differ in a continuation byte
    }

    #[test]
    fn keys_order_agrees_with_encode_utf16() {
        let keys = [
            "",
            "a",
            "\u{7f}",
            "\u{80}",
            "\u{7ff}",
            "\u{800}",
            "\u{d7ff}",
            "\u{e000}",
            "\u{fb33}",
            "\u{ffff}",
            "\u{10000}",
            "\u{1f602}",
            "\u{10ffff}",
            "a\u{1f602}",
            "a\u{ffff}",
        ];
        for a in keys {
            for b in keys {
                let want = a.encode_utf16().cmp(b.encode_utf16());
                assert_eq!(cmp_utf16(a, b), want, "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn sha256_sink_hashes_across_chunks() {
        let mut sink = Sha256Sink::new();
        let mut whole = Vec::new();
        for i in 0..50_000u32 {
            let piece = i.to_string();
            sink.buf().extend_from_slice(piece.as_bytes());
            sink.checkpoint();
            whole.extend_from_slice(piece.as_bytes());
        }
        assert_eq!(
            sink.hexdigest(),
            crate::digest::hash_bytes(Algo::Sha256, &whole)
        );
    }
}
