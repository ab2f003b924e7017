//! Looking inside archives: tar (and WebDataset shards, which are tars), and what zip and tar
//! share: each member is sniffed like a file of its own, one level deeper, and the archive is
//! reported as its most telling member, with the imports of every pickle inside.

use std::io;

use super::compressed::too_deep;
use super::region::with_region;
use super::{run, Family, Probe, Sniff, MAX_DEPTH};

/// Members sniffed per archive (their names are all read for the archive's own verdict).
pub const MAX_MEMBERS: usize = 1024;

/// What the members of one archive showed.
#[derive(Default)]
pub(crate) struct Members {
    best: Option<(String, Sniff)>,
    globals: Vec<String>,
    unsafe_globals: Vec<String>,
    pub sniffed: usize,
    /// Members not looked at: past [`MAX_MEMBERS`], or after the budget ran out.
    pub skipped: usize,
}

/// How telling a family is, for choosing which member speaks for the archive.
fn rank(f: Family) -> u8 {
    match f {
        Family::Weights => 9,
        Family::TensorData => 8,
        Family::VectorIndex => 7,
        Family::Dataset => 6,
        Family::PrivateKey => 5,
        Family::Opaque => 4,
        Family::LfsPointer => 3,
        Family::Pickle => 2,
        Family::Text => 0,
    }
}

impl Members {
    /// Sniffs `len` bytes at `base` of `p` as the member `name`.
    pub fn sniff_region(&mut self, p: &Probe, name: &str, base: u64, len: u64) -> io::Result<()> {
        self.sniffed += 1;
        let found = with_region(p, base, len, run)?;
        self.add(name, found);
        Ok(())
    }

    pub fn add(&mut self, name: &str, found: Option<Sniff>) {
        let Some(s) = found else { return };
        for (into, from) in [
            (&mut self.globals, &s.globals),
            (&mut self.unsafe_globals, &s.unsafe_globals),
        ] {
            for g in from {
                if into.len() < super::pickle::MAX_GLOBALS && !into.contains(g) {
                    into.push(g.clone());
                }
            }
        }
        let better = self
            .best
            .as_ref()
            .is_none_or(|(_, b)| rank(s.family) > rank(b.family));
        if better {
            self.best = Some((name.to_string(), s));
        }
    }

    /// The archive's finding: `own` (from its member names) if any, else its most telling
    /// member; with the imports of every member either way.
    pub fn finish(mut self, kind: &str, own: Option<Sniff>) -> Option<Sniff> {
        if self.skipped > 0 {
            // What was not looked at cannot be cleared: the gate fails closed on it.
            let s = Sniff::new(
                "archive_members",
                Family::Opaque,
                format!(
                    "{} of {} members not read (at most {MAX_MEMBERS} per archive, within the \
                     byte budget): not cleared",
                    self.skipped,
                    self.skipped + self.sniffed
                ),
            );
            self.add("", Some(s));
        }
        let mut out = match (own, self.best) {
            (Some(own), _) => own,
            (None, Some((name, s))) if name.is_empty() => Sniff {
                evidence: format!("{kind}: {}", s.evidence),
                ..s
            },
            (None, Some((name, s))) => Sniff {
                evidence: format!("{kind} member {name:?} is a {}: {}", s.format, s.evidence),
                ..s
            },
            (None, None) => return None,
        };
        out.merge_imports(&self.globals, &self.unsafe_globals);
        if !out.unsafe_globals.is_empty() && !out.evidence.contains("imports") {
            out.evidence.push_str(&format!(
                "; a pickle inside imports {}",
                out.unsafe_globals.join(", ")
            ));
        }
        Some(out)
    }
}

/// One tar header: name, size, where its data starts, whether it is a regular file.
struct TarEntry {
    name: String,
    size: u64,
    data: u64,
    regular: bool,
}

fn octal(field: &[u8]) -> Option<u64> {
    // GNU base-256 for sizes of 8 GiB and more.
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        return field[1..].iter().try_fold(0u64, |acc, &b| {
            acc.checked_mul(256).map(|v| v | u64::from(b))
        });
    }
    let text = std::str::from_utf8(field).ok()?;
    let text = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// A ustar, GNU or v7 header block whose checksum adds up.
fn header_ok(h: &[u8]) -> bool {
    if h.len() < 512 || h[..100].iter().all(|&b| b == 0) {
        return false;
    }
    let Some(sum) = octal(&h[148..156]) else {
        return false;
    };
    let unsigned: u64 = h[..512]
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(b)
            }
        })
        .sum();
    sum == unsigned
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Reads up to `limit` entries from the start of a tar.
fn tar_entries(p: &Probe, limit: usize) -> io::Result<Vec<TarEntry>> {
    let mut out = Vec::new();
    let mut at = 0u64;
    let mut long_name: Option<String> = None;
    while out.len() < limit && at + 512 <= p.size {
        let Some(h) = p.exact(at, 512)? else { break };
        if !header_ok(&h) {
            break;
        }
        let Some(size) = octal(&h[124..136]) else {
            break;
        };
        let data = at + 512;
        let kind = h[156];
        let next = data.saturating_add(size.div_ceil(512) * 512);
        if kind == b'L' {
            // GNU long name: the next entry's name is this entry's data.
            long_name = Some(cstr(&p.read_at(data, size.min(4096) as usize)?));
            at = next;
            continue;
        }
        let mut name = cstr(&h[..100]);
        if &h[257..262] == b"ustar" && h[345] != 0 {
            name = format!("{}/{name}", cstr(&h[345..500]));
        }
        if let Some(long) = long_name.take() {
            name = long;
        }
        out.push(TarEntry {
            name,
            size,
            data,
            regular: kind == b'0' || kind == 0,
        });
        at = next;
    }
    Ok(out)
}

pub fn detect_tar(p: &Probe) -> io::Result<Option<Sniff>> {
    if !header_ok(p.head) {
        return Ok(None);
    }
    if p.depth >= MAX_DEPTH {
        return Ok(Some(too_deep("tar")));
    }
    const LISTED: usize = MAX_MEMBERS * 4;
    let entries = tar_entries(p, LISTED)?;
    let own = webdataset(&entries);
    let mut members = Members::default();
    for (i, e) in entries
        .iter()
        .filter(|e| e.regular && e.size > 0)
        .enumerate()
    {
        if i >= MAX_MEMBERS || !p.budget_left() {
            members.skipped += 1;
            continue;
        }
        members.sniff_region(p, &e.name, e.data, e.size)?;
    }
    if entries.len() >= LISTED {
        members.skipped += 1; // and more entries after the listing stopped
    }
    Ok(members.finish("tar", own))
}

/// A WebDataset shard: a tar whose files are `<key>.<field>` with each key's fields next to
/// each other, at least two samples, and every sample with the same fields (two or more).
fn webdataset(entries: &[TarEntry]) -> Option<Sniff> {
    let mut samples: Vec<(&str, Vec<&str>)> = Vec::new();
    for e in entries.iter().filter(|e| e.regular) {
        let base = e.name.rsplit('/').next().unwrap_or(&e.name);
        let dir_len = e.name.len() - base.len();
        let (stem, field) = base.split_once('.')?;
        let key = &e.name[..dir_len + stem.len()];
        if field.is_empty() || stem.is_empty() {
            return None;
        }
        match samples.last_mut() {
            Some((k, fields)) if *k == key => fields.push(field),
            _ => {
                if samples.iter().any(|(k, _)| *k == key) {
                    return None; // a key's fields must be next to each other
                }
                samples.push((key, vec![field]));
            }
        }
    }
    let (_, first) = samples.first()?;
    let same = samples.iter().all(|(_, f)| f == first);
    if samples.len() < 2 || first.len() < 2 || !same {
        return None;
    }
    Some(Sniff::new(
        "webdataset",
        Family::Dataset,
        format!(
            "tar of {} samples keyed like {:?}, each with the fields {}: a WebDataset shard",
            samples.len(),
            samples[0].0,
            first.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sniff::sniff_bytes;

    /// A ustar archive of `(name, content)` members, written by hand.
    pub(crate) fn tar(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, data) in members {
            let mut h = [0u8; 512];
            h[..name.len()].copy_from_slice(name.as_bytes());
            h[100..108].copy_from_slice(b"0000644\0");
            h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
            h[156] = b'0';
            h[257..263].copy_from_slice(b"ustar\0");
            h[263..265].copy_from_slice(b"00");
            h[148..156].copy_from_slice(b"        ");
            let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
            h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
            out.extend_from_slice(&h);
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.resize(out.len() + 1024, 0);
        out
    }

    #[test]
    fn a_pickle_inside_a_tar_is_found() {
        let evil: &[u8] = b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R.";
        let t = tar(&[("README.md", b"# hi\n"), ("model/data.bin", evil)]);
        let s = sniff_bytes(&t).expect("found");
        assert_eq!(s.unsafe_globals, ["os.system"]);
        assert!(s.evidence.contains("model/data.bin"), "{}", s.evidence);
    }

    #[test]
    fn a_plain_tar_is_nothing() {
        let t = tar(&[("a.txt", b"alpha\n"), ("b.txt", b"beta\n")]);
        assert_eq!(sniff_bytes(&t), None);
    }

    #[test]
    fn webdataset_shards_are_datasets_and_tars_of_files_are_not() {
        let shard = tar(&[
            ("s/000000.cls", b"1"),
            ("s/000000.txt", b"a cat"),
            ("s/000001.cls", b"0"),
            ("s/000001.txt", b"a dog"),
        ]);
        let s = sniff_bytes(&shard).expect("a shard");
        assert_eq!((s.format, s.family), ("webdataset", Family::Dataset));
        let files = tar(&[("src/a.py", b"x"), ("src/b.py", b"y"), ("README.md", b"z")]);
        assert_eq!(sniff_bytes(&files), None);
    }
}
