//! Zip containers: PyTorch checkpoints (`*/data.pkl`), NumPy `.npz`, Keras v3 `.keras`, and any
//! other zip, looked into.
//!
//! The central directory (found through the end-of-central-directory record, zip64 included)
//! names the members; the names alone classify PyTorch, NumPy and Keras archives. Then the
//! members themselves are sniffed, stored or deflated, one level deeper: a PyTorch archive's
//! pickles for their imports, an `.npz`'s arrays for object arrays, and every member of any
//! other zip (a safetensors file or a pickle inside an ordinary zip is what the zip is). Flag
//! bits that claim encryption or patching are ignored, as PyTorch's own reader ignores them.
//! If the central directory cannot be found (a truncated file), the first local entry is used.

use std::io;

use super::archive::{Members, MAX_MEMBERS};
use super::compressed::too_deep;
use super::region::{with_region, with_stream, Codec};
use super::{run, u16_at, u32_at, u64_at, Family, Probe, Sniff, MAX_DEPTH};

/// Most central-directory bytes read (about 10,000 entries); the rest is ignored.
const CD_LIMIT: u64 = 1 << 20;
/// The end record sits in the last 22 bytes plus a comment of at most 64 KiB.
const EOCD_SEARCH: u64 = 22 + 0xFFFF;

/// One member, from the central directory (or a local header).
pub(crate) struct Member {
    pub name: String,
    method: u16,
    /// General purpose flags: bit 0 encrypted, bit 1 (LZMA) an end marker closes the data.
    flags: u16,
    compressed: u64,
    size: u64,
    local: u64,
}

pub fn detect(p: &Probe) -> io::Result<Option<Sniff>> {
    if !p.head.starts_with(b"PK\x03\x04") {
        return Ok(None);
    }
    let members = match central_directory(p)? {
        Some(members) => members,
        None => match first_local(p.head) {
            Some(member) => vec![member],
            None => return Ok(None),
        },
    };
    let names: Vec<String> = members.iter().map(|m| m.name.clone()).collect();
    let own = classify(&names);
    if p.depth >= MAX_DEPTH {
        return Ok(own.or_else(|| Some(too_deep("zip"))));
    }
    let look = |m: &&Member| match own.as_ref().map(|s| s.format) {
        // A checkpoint's tensors are raw bytes: only its pickles say anything more.
        Some("torch_zip") => m.name.ends_with(".pkl"),
        _ => !m.name.ends_with('/'),
    };
    let mut found = Members::default();
    for (i, m) in members.iter().filter(look).enumerate() {
        if i >= MAX_MEMBERS || !p.budget_left() || p.ctx.inflate_left() == 0 {
            found.skipped += 1;
            continue;
        }
        let Some(data) = data_offset(p, m)? else {
            continue;
        };
        // The encryption flag is no reason to look away: readers that ignore it (PyTorch's)
        // load such a member, so it is read like any other; what stays unread fails closed.
        let codec = match m.method {
            0 => None,
            8 => Some(Codec::Deflate),
            12 => Some(Codec::Bzip2),
            14 => Some(Codec::ZipLzma {
                eos: m.flags & 2 != 0,
                size: m.size,
            }),
            93 => Some(Codec::Zstd),
            _ => {
                found.sniffed += 1;
                found.add(
                    &m.name,
                    Some(unread(m, "a compression method not read here")),
                );
                continue;
            }
        };
        let s = match codec {
            None => with_region(p, data, m.compressed, run)?,
            Some(codec) => with_stream(p, codec, data, m.compressed, Some(m.size), run)?,
        };
        let s = match s {
            None if m.flags & 1 != 0 => Some(unread(m, "encrypted: its bytes say nothing")),
            other => other,
        };
        found.sniffed += 1;
        found.add(&m.name, s);
    }
    Ok(found.finish("zip", own))
}

/// A member that could not be judged: not cleared, so the gate fails closed on the archive.
fn unread(m: &Member, why: &str) -> Sniff {
    Sniff::new(
        "zip_member",
        Family::Opaque,
        format!(
            "{:?} (compression method {}) is {why}: not cleared",
            m.name, m.method
        ),
    )
}

fn classify(names: &[String]) -> Option<Sniff> {
    let count = names.len();
    if let Some(pkl) = names.iter().find(|n| is_torch_pickle(n)) {
        let storages = names.iter().filter(|n| n.contains("/data/")).count();
        return Some(Sniff::new(
            "torch_zip",
            Family::Weights,
            format!("zip with entry {pkl:?} and {storages} tensor storages ({count} entries)"),
        ));
    }
    let has = |want: &str| names.iter().any(|n| n == want);
    if has("config.json") && (has("model.weights.h5") || has("model.weights.npz")) {
        return Some(Sniff::new(
            "keras",
            Family::Weights,
            format!("zip with entries config.json and model.weights.* ({count} entries): Keras v3"),
        ));
    }
    if count > 0 && names.iter().all(|n| n.ends_with(".npy")) {
        return Some(Sniff::new(
            "npz",
            Family::TensorData,
            format!("zip whose {count} entries are all .npy arrays: NumPy .npz"),
        ));
    }
    None
}

/// `<folder>/data.pkl` exactly one level deep, as `torch.save` writes it (Lightning's `.ckpt`
/// and TorchScript archives too).
fn is_torch_pickle(name: &str) -> bool {
    match name.split_once('/') {
        Some((folder, rest)) => !folder.is_empty() && rest == "data.pkl",
        None => false,
    }
}

fn first_local(head: &[u8]) -> Option<Member> {
    let len = u16_at(head, 26)? as usize;
    let name = head.get(30..30 + len)?;
    Some(Member {
        name: String::from_utf8_lossy(name).into_owned(),
        method: u16_at(head, 8)?,
        flags: u16_at(head, 6)?,
        compressed: u64::from(u32_at(head, 18)?),
        size: u64::from(u32_at(head, 22)?),
        local: 0,
    })
}

/// Where a member's bytes start: after its local header, whose name and extra field may
/// differ in length from the central directory's.
fn data_offset(p: &Probe, m: &Member) -> io::Result<Option<u64>> {
    let Some(h) = p.exact(m.local, 30)? else {
        return Ok(None);
    };
    if !h.starts_with(b"PK\x03\x04") {
        return Ok(None);
    }
    let (n, x) = (u16_at(&h, 26).unwrap_or(0), u16_at(&h, 28).unwrap_or(0));
    Ok(Some(m.local + 30 + u64::from(n) + u64::from(x)))
}

/// Members from the central directory, or `None` if it cannot be located.
fn central_directory(p: &Probe) -> io::Result<Option<Vec<Member>>> {
    if !p.size_known {
        return Ok(None);
    }
    let Some((eocd_at, eocd)) = find_eocd(p)? else {
        return Ok(None);
    };
    let mut cd_size = u32_at(&eocd, 12).unwrap_or(0) as u64;
    let mut cd_offset = u32_at(&eocd, 16).unwrap_or(0) as u64;
    if (cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF) && eocd_at >= 20 {
        // Zip64: a locator right before the end record points at the zip64 end record.
        let Some(loc) = p.exact(eocd_at - 20, 20)? else {
            return Ok(None);
        };
        if !loc.starts_with(b"PK\x06\x07") {
            return Ok(None);
        }
        let rec_at = u64_at(&loc, 8).unwrap_or(u64::MAX);
        let Some(rec) = p.exact(rec_at, 56)? else {
            return Ok(None);
        };
        if !rec.starts_with(b"PK\x06\x06") {
            return Ok(None);
        }
        cd_size = u64_at(&rec, 40).unwrap_or(0);
        cd_offset = u64_at(&rec, 48).unwrap_or(u64::MAX);
    }
    if cd_offset.saturating_add(cd_size) > p.size {
        return Ok(None);
    }
    let cd = p.read_at(cd_offset, cd_size.min(CD_LIMIT) as usize)?;
    let mut members = Vec::new();
    let mut at = 0usize;
    while cd.get(at..at + 4) == Some(b"PK\x01\x02") {
        let field = |off: usize| u16_at(&cd, at + off);
        let (Some(flags), Some(method), Some(n), Some(x), Some(c)) =
            (field(8), field(10), field(28), field(30), field(32))
        else {
            break;
        };
        let Some(name) = cd.get(at + 46..at + 46 + n as usize) else {
            break;
        };
        let mut compressed = u64::from(u32_at(&cd, at + 20).unwrap_or(0));
        let mut size = u64::from(u32_at(&cd, at + 24).unwrap_or(0));
        let mut local = u64::from(u32_at(&cd, at + 42).unwrap_or(0));
        if let Some(extra) = cd.get(at + 46 + n as usize..at + 46 + n as usize + x as usize) {
            zip64_extra(extra, &mut size, &mut compressed, &mut local);
        }
        members.push(Member {
            name: String::from_utf8_lossy(name).into_owned(),
            method,
            flags,
            compressed,
            size,
            local,
        });
        at += 46 + n as usize + x as usize + c as usize;
    }
    Ok((!members.is_empty()).then_some(members))
}

/// The zip64 extended information field replaces the 32-bit values that are all ones, in
/// this order: size, compressed size, local header offset.
fn zip64_extra(extra: &[u8], size: &mut u64, compressed: &mut u64, local: &mut u64) {
    let mut at = 0;
    while at + 4 <= extra.len() {
        let (id, len) = (
            u16_at(extra, at).unwrap_or(0),
            u16_at(extra, at + 2).unwrap_or(0) as usize,
        );
        if id == 1 {
            let mut off = at + 4;
            for v in [size, compressed, local] {
                if *v == 0xFFFF_FFFF {
                    if let Some(big) = u64_at(extra, off) {
                        *v = big;
                    }
                    off += 8;
                }
            }
            return;
        }
        at += 4 + len;
    }
}

fn find_eocd(p: &Probe) -> io::Result<Option<(u64, Vec<u8>)>> {
    // Most zips have no comment: try the last KiB before reading the last 64.
    for window in [1024u64, EOCD_SEARCH] {
        let start = p.size.saturating_sub(window);
        let bytes = p.read_at(start, (p.size - start) as usize)?;
        if let Some(i) = bytes.windows(4).rposition(|w| w == b"PK\x05\x06") {
            if bytes.len() - i >= 22 {
                return Ok(Some((start + i as u64, bytes[i..i + 22].to_vec())));
            }
        }
        if start == 0 {
            break;
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sniff::sniff_bytes;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn torch_pickle_must_sit_one_folder_deep() {
        assert!(is_torch_pickle("archive/data.pkl"));
        assert!(is_torch_pickle("model_v2/data.pkl"));
        assert!(!is_torch_pickle("data.pkl"));
        assert!(!is_torch_pickle("a/b/data.pkl"));
        assert!(!is_torch_pickle("archive/data.pkl.txt"));
    }

    #[test]
    fn plain_zips_are_not_flagged() {
        assert!(classify(&names(&["README.md", "src/main.rs"])).is_none());
        assert!(classify(&names(&["a.npy", "notes.txt"])).is_none());
        assert!(classify(&[]).is_none());
    }

    #[test]
    fn entry_lists_classify() {
        let t = classify(&names(&[
            "archive/data.pkl",
            "archive/data/0",
            "archive/version",
        ]));
        assert_eq!(t.unwrap().format, "torch_zip");
        assert_eq!(classify(&names(&["x.npy", "y.npy"])).unwrap().format, "npz");
        let k = classify(&names(&[
            "metadata.json",
            "config.json",
            "model.weights.h5",
        ]));
        assert_eq!(k.unwrap().format, "keras");
    }

    /// A stored (uncompressed) zip of `(name, data)`, written by hand.
    fn stored_zip(members: &[(&str, &[u8])], flags: u16) -> Vec<u8> {
        let mut out = Vec::new();
        let mut cd = Vec::new();
        for (name, data) in members {
            let local = out.len() as u32;
            let crc = 0u32;
            let mut h = b"PK\x03\x04\x14\0".to_vec();
            h.extend_from_slice(&flags.to_le_bytes());
            h.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&[0, 0]);
            h.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&h);
            out.extend_from_slice(data);
            let mut c = b"PK\x01\x02\x14\0\x14\0".to_vec();
            c.extend_from_slice(&flags.to_le_bytes());
            c.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
            c.extend_from_slice(&crc.to_le_bytes());
            c.extend_from_slice(&(data.len() as u32).to_le_bytes());
            c.extend_from_slice(&(data.len() as u32).to_le_bytes());
            c.extend_from_slice(&(name.len() as u16).to_le_bytes());
            c.extend_from_slice(&[0; 12]);
            c.extend_from_slice(&local.to_le_bytes());
            c.extend_from_slice(name.as_bytes());
            cd.extend_from_slice(&c);
        }
        let cd_at = out.len() as u32;
        out.extend_from_slice(&cd);
        out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(cd.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_at.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out
    }

    #[test]
    fn a_pickle_in_an_ordinary_zip_is_found_whatever_the_flags() {
        let evil: &[u8] = b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x011\x85R.";
        for flags in [0u16, 0x1, 0x20, 0x40] {
            let z = stored_zip(&[("notes.txt", b"hello"), ("data.txt", evil)], flags);
            let s = sniff_bytes(&z).expect("found");
            assert_eq!(s.unsafe_globals, ["builtins.eval"], "flags {flags:#x}");
        }
        assert_eq!(sniff_bytes(&stored_zip(&[("a.txt", b"x")], 0)), None);
    }

    #[test]
    fn members_that_cannot_be_judged_fail_closed() {
        // Encrypted (flag bit 0) and saying nothing readable: not cleared.
        let secret = sniff_bytes(&stored_zip(&[("a.bin", b"\x93\x11\xfe")], 1)).unwrap();
        assert_eq!(secret.family, Family::Opaque, "{}", secret.evidence);
        assert!(secret.evidence.contains("encrypted"));
        // A method this reader does not know (here 99, AES): not cleared.
        let mut z = stored_zip(&[("a.bin", b"data")], 0);
        let cd = z.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        z[cd + 10] = 99;
        let unknown = sniff_bytes(&z).unwrap();
        assert!(
            unknown.evidence.contains("compression method 99"),
            "{}",
            unknown.evidence
        );
    }

    #[test]
    fn members_past_the_limit_are_not_cleared() {
        let names: Vec<String> = (0..MAX_MEMBERS + 1).map(|i| format!("m{i}.txt")).collect();
        let members: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
        let found = sniff_bytes(&stored_zip(&members, 0)).expect("fails closed");
        assert_eq!(found.family, Family::Opaque);
        assert!(
            found.evidence.contains("1 of 1025 members not read"),
            "{}",
            found.evidence
        );
    }

    #[test]
    fn zips_nested_past_the_depth_limit_fail_closed() {
        let mut z = stored_zip(&[("x.txt", b"plain")], 0);
        for i in 0..20 {
            z = stored_zip(&[(&format!("layer{i}.zip"), &z)], 0);
        }
        assert_eq!(sniff_bytes(&z).unwrap().family, Family::Opaque);
    }
}
