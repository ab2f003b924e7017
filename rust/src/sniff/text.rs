//! Findings that are text: Git LFS pointer files and private keys (PEM, OpenSSH, PKCS#8 in PEM
//! or DER, PuTTY, and the `PRIVATE+KEY+...` signing keys of Go's `sumdb/note` that the ledger
//! writes). And [`sniff_text`], which says a file is plain text, so that a name promising a
//! binary format (`.pth`, `.bin`) can be cleared by its content.

use std::io;
use std::path::Path;
use std::sync::LazyLock;

use memchr::memmem;

use super::{Family, Probe, Sniff, HEAD};

/// Git LFS pointers are small: the spec caps them at 1024 bytes.
const LFS_MAX: u64 = 1024;

pub fn detect(p: &Probe) -> io::Result<Option<Sniff>> {
    if let Some(s) = lfs_pointer(p) {
        return Ok(Some(s));
    }
    Ok(private_key(p))
}

fn lfs_pointer(p: &Probe) -> Option<Sniff> {
    let h = p.head;
    if !h.starts_with(b"version https://") || p.size > LFS_MAX || (p.size as usize) > h.len() {
        return None;
    }
    let text = std::str::from_utf8(h).ok()?;
    let mut lines = text.lines();
    let version = lines.next()?.strip_prefix("version ")?;
    if version != "https://git-lfs.github.com/spec/v1"
        && version != "https://hawser.github.com/spec/v1"
    {
        return None;
    }
    let (mut oid, mut size) = (None, None);
    for line in lines {
        if let Some(v) = line.strip_prefix("oid sha256:") {
            oid = (v.len() == 64 && v.bytes().all(|c| c.is_ascii_hexdigit())).then_some(v);
        } else if let Some(v) = line.strip_prefix("size ") {
            size = v.parse::<u64>().ok();
        }
    }
    let (oid, size) = (oid?, size?);
    Some(Sniff::new(
        "lfs_pointer",
        Family::LfsPointer,
        format!("Git LFS pointer: oid sha256:{oid}, size {size} bytes (the content is in LFS storage, not in git)"),
    ))
}

fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'='
}

/// Base64 characters in the lines after a PEM BEGIN line (header lines such as `Proc-Type:`
/// skipped), up to the END line.
fn pem_body(after: &[u8]) -> usize {
    let mut total = 0;
    for line in after.split(|&b| b == b'\n').skip(1).take(200) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b"-----END ") {
            break;
        }
        if line.contains(&b':') || line.is_empty() {
            continue;
        }
        if !line.iter().all(|&c| is_b64(c)) {
            return 0;
        }
        total += line.len();
    }
    total
}

fn key(format: &'static str, evidence: String) -> Option<Sniff> {
    Some(Sniff::new(format, Family::PrivateKey, evidence))
}

/// Built once: `memmem::find` builds its searcher on every call, and this one runs on every
/// text file a scan reads.
static PRIVATE: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new("PRIVATE"));
static PEM_BEGIN: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new("-----BEGIN "));

fn private_key(p: &Probe) -> Option<Sniff> {
    let h = p.head;
    if h.starts_with(b"openssh-key-v1\0") {
        return key(
            "openssh_key",
            "OpenSSH private key (binary openssh-key-v1) at offset 0".into(),
        );
    }
    if h.starts_with(b"PuTTY-User-Key-File-") {
        return key("putty_key", "PuTTY private key file".into());
    }
    if h.first() == Some(&0x30) {
        if let Some(s) = der_pkcs8(p) {
            return Some(s);
        }
    }
    let at = PRIVATE.find(h)?;
    // Go sumdb/note signing key: PRIVATE+KEY+<name>+<8 hex>+<base64 of algorithm and key>.
    if h[at..].starts_with(b"PRIVATE+KEY+") {
        let rest = &h[at + 12..];
        let end = rest
            .iter()
            .position(|c| c.is_ascii_whitespace())
            .unwrap_or(rest.len());
        // Names hold no '+'; the base64 may.
        let mut parts = rest[..end].splitn(3, |&c| c == b'+');
        if let (Some(name), Some(hash), Some(b64)) = (parts.next(), parts.next(), parts.next()) {
            if hash.len() == 8
                && hash.iter().all(u8::is_ascii_hexdigit)
                && !name.is_empty()
                && b64.len() >= 40
                && b64.iter().all(|&c| is_b64(c))
            {
                return key(
                    "note_key",
                    format!(
                        "note signing key PRIVATE+KEY+{}+{} at offset {at} (the ledger's key format)",
                        String::from_utf8_lossy(name),
                        String::from_utf8_lossy(hash)
                    ),
                );
            }
        }
    }
    // PEM: -----BEGIN [RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP ]PRIVATE KEY[ BLOCK]-----
    let mut from = 0;
    while let Some(i) = PEM_BEGIN.find(&h[from..]) {
        let begin = from + i;
        let line_end = h[begin..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(h.len(), |e| begin + e);
        let line = &h[begin..line_end];
        let label = line
            .strip_prefix(b"-----BEGIN ")
            .and_then(|l| l.strip_suffix(b"\r").or(Some(l)))
            .and_then(|l| l.strip_suffix(b"-----"));
        if let Some(label) = label {
            let private = label.ends_with(b"PRIVATE KEY") || label == b"PGP PRIVATE KEY BLOCK";
            // A real key has a body; a document that names the marker has none.
            if private && pem_body(&h[begin..]) >= 40 {
                return key(
                    "pem_key",
                    format!(
                        "PEM private key \"{}\" at offset {begin}",
                        String::from_utf8_lossy(label)
                    ),
                );
            }
        }
        from = begin + 11;
    }
    None
}

/// A DER-encoded private key as the whole file: PKCS#8 `PrivateKeyInfo` (version 0 or 1, an
/// algorithm identifier whose OID is a key algorithm, an OCTET STRING), or PKCS#1 RSA.
fn der_pkcs8(p: &Probe) -> Option<Sniff> {
    let h = p.head;
    let (len, hdr) = match *h.get(1)? {
        n if n < 0x80 => (usize::from(n), 2),
        0x81 => (usize::from(*h.get(2)?), 3),
        0x82 => ((usize::from(*h.get(2)?) << 8) | usize::from(*h.get(3)?), 4),
        _ => return None,
    };
    if !p.size_known || (len + hdr) as u64 != p.size {
        return None;
    }
    let body = h.get(hdr..)?;
    if !(body.starts_with(b"\x02\x01\x00") || body.starts_with(b"\x02\x01\x01")) {
        return None;
    }
    let rest = &body[3..];
    if rest.starts_with(b"\x02\x82") || rest.starts_with(b"\x02\x81") {
        return key(
            "der_key",
            "DER-encoded PKCS#1 RSA private key (the whole file)".into(),
        );
    }
    // AlgorithmIdentifier: SEQUENCE { OID, [params] }.
    if rest.first() != Some(&0x30) || rest.get(2) != Some(&0x06) {
        return None;
    }
    let oid_len = usize::from(*rest.get(3)?);
    let oid = rest.get(4..4 + oid_len)?;
    const KEY_OIDS: &[(&[u8], &str)] = &[
        (b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01", "RSA"),
        (b"\x2a\x86\x48\xce\x3d\x02\x01", "EC"),
        (b"\x2a\x86\x48\xce\x38\x04\x01", "DSA"),
        (b"\x2b\x65\x70", "Ed25519"),
        (b"\x2b\x65\x71", "Ed448"),
        (b"\x2b\x65\x6e", "X25519"),
        (b"\x2b\x65\x6f", "X448"),
    ];
    let (_, algorithm) = KEY_OIDS.iter().find(|(o, _)| *o == oid)?;
    key(
        "der_key",
        format!("DER-encoded PKCS#8 {algorithm} private key (the whole file)"),
    )
}

/// Plain text: no NUL byte and no control character other than whitespace and escape in the
/// first [`HEAD`] bytes, and valid UTF-8 (a character cut at the end of the head is fine).
pub fn text_evidence(head: &[u8]) -> Option<String> {
    if head.is_empty() {
        return None;
    }
    let control = head
        .iter()
        .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b) || b == 0x7f);
    if control {
        return None;
    }
    match std::str::from_utf8(head) {
        Ok(_) => {}
        Err(e) if e.error_len().is_none() && head.len() == HEAD => {}
        Err(_) => return None,
    }
    Some(format!(
        "plain UTF-8 text (no NUL or control byte in the first {} bytes)",
        head.len()
    ))
}

/// Whether a file (or bytes) is plain text, with the evidence; `None` when it is not.
pub fn sniff_text(path: Option<&Path>, data: Option<&[u8]>) -> io::Result<Option<Sniff>> {
    let mut buf = vec![0u8; HEAD];
    let head: &[u8] = match (path, data) {
        (_, Some(d)) => &d[..d.len().min(HEAD)],
        (Some(path), None) => {
            let file = std::fs::File::open(path)?;
            let n = super::Source::read_at(&file, 0, &mut buf)?;
            &buf[..n]
        }
        (None, None) => return Ok(None),
    };
    Ok(text_evidence(head).map(|e| Sniff::new("text", Family::Text, e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sniff::sniff_bytes;

    const B64: &str = "MC4CAQAwBQYDK2VwBCIEIGx0c1+R2ci0M7h2pWwGq3v0mHq0p5nYz8qHqz0aB1cD";

    #[test]
    fn lfs_pointers_name_their_object() {
        let oid = "a".repeat(64);
        let text =
            format!("version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize 352000\n");
        let s = sniff_bytes(text.as_bytes()).expect("pointer");
        assert_eq!(s.family, Family::LfsPointer);
        assert!(s.evidence.contains(&oid) && s.evidence.contains("352000"));
        assert_eq!(
            sniff_bytes(b"version https://example.com/v1\nsize 1\n"),
            None
        );
    }

    #[test]
    fn pem_keys_are_found_and_mentions_of_the_marker_are_not() {
        let label = "PRIVATE KEY";
        let pem = format!("-----BEGIN {label}-----\n{B64}\n-----END {label}-----\n");
        assert_eq!(
            sniff_bytes(pem.as_bytes()).unwrap().family,
            Family::PrivateKey
        );
        let env = format!(
            "A=1\nKEY=\"-----BEGIN RSA {label}-----\n{B64}\n{B64}\n-----END RSA {label}-----\"\n"
        );
        assert_eq!(sniff_bytes(env.as_bytes()).unwrap().format, "pem_key");
        let doc = format!("Keys start with `-----BEGIN {label}-----` and end with a line.\n");
        assert_eq!(sniff_bytes(doc.as_bytes()), None);
    }

    #[test]
    fn note_keys_and_der_keys_are_found() {
        let note = format!("{}+KEY+ledger.example+1a2b3c4d+{B64}\n", "PRIVATE");
        assert_eq!(sniff_bytes(note.as_bytes()).unwrap().format, "note_key");
        let mut der = b"\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x70\x04\x22\x04\x20".to_vec();
        der.extend_from_slice(&[7u8; 32]);
        assert_eq!(sniff_bytes(&der).unwrap().format, "der_key");
        der.push(0);
        assert_eq!(sniff_bytes(&der), None);
    }

    #[test]
    fn text_is_text_and_binary_is_not() {
        assert!(text_evidence(b"import os; os.environ.get('X')\n").is_some());
        assert!(text_evidence("caf\u{e9}\n".as_bytes()).is_some());
        assert!(text_evidence(b"\x80\x02}q\x00.").is_none());
        assert!(text_evidence(b"abc\0def").is_none());
        assert!(text_evidence(b"").is_none());
    }
}
