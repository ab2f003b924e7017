//! Verdicts remembered by git object id, so that a repeated scan reads only content it has not
//! seen: what a blob sniffed as depends on its bytes alone, and its id names those bytes.
//!
//! One file, rewritten whole (a temporary file renamed over it) after a scan that learnt
//! something. Its first line names the format and the sniffer that wrote it; a file from
//! another version, or one that does not parse, is an empty cache: a cache is never a reason to
//! fail, nor to trust a verdict the running sniffer did not make.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::git::Oid;
use crate::sniff::{Family, Sniff};

/// Entries kept from earlier scans beyond those this scan saw (other branches), at most this
/// many times the entries seen, so the file follows the repository's size.
const KEEP_UNSEEN: usize = 2;

/// The first line of the file: the format, and the sniffer that made the verdicts (its version
/// and a fingerprint of its sources, stamped by `build.rs`), so no verdict of another sniffer
/// is ever reused.
fn magic() -> String {
    format!(
        "receiptcore scan cache 1; sniff {} {}\n",
        env!("CARGO_PKG_VERSION"),
        env!("SNIFF_SOURCE_HASH")
    )
}

/// A blob's size and what it sniffed as.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub size: u64,
    pub sniff: Option<Sniff>,
}

pub struct Cache {
    path: PathBuf,
    known: HashMap<Oid, Verdict>,
    seen: HashSet<Oid>,
    learnt: usize,
}

impl Cache {
    /// The cache in `path`; empty when the file is missing, unreadable, or not ours.
    pub fn load(path: &Path) -> Cache {
        let known = std::fs::read(path)
            .ok()
            .and_then(|data| decode(&data))
            .unwrap_or_default();
        Cache {
            path: path.to_path_buf(),
            known,
            seen: HashSet::new(),
            learnt: 0,
        }
    }

    pub fn get(&mut self, oid: &Oid) -> Option<&Verdict> {
        let found = self.known.get(oid);
        if found.is_some() {
            self.seen.insert(*oid);
        }
        found
    }

    pub fn insert(&mut self, oid: Oid, verdict: Verdict) {
        self.seen.insert(oid);
        if self.known.insert(oid, verdict).is_none() {
            self.learnt += 1;
        }
    }

    /// Writes the cache if this scan learnt a verdict; keeps what this scan saw, then older
    /// entries up to [`KEEP_UNSEEN`] times as many.
    pub fn save(&self) -> io::Result<()> {
        if self.learnt == 0 {
            return Ok(());
        }
        let mut out = magic().into_bytes();
        let keep_unseen = self.seen.len() * KEEP_UNSEEN;
        let unseen = self
            .known
            .iter()
            .filter(|(oid, _)| !self.seen.contains(oid))
            .take(keep_unseen);
        let seen = self
            .seen
            .iter()
            .filter_map(|oid| Some((oid, self.known.get(oid)?)));
        for (oid, verdict) in seen.chain(unseen) {
            encode(&mut out, oid, verdict);
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self
            .path
            .with_extension(format!("tmp{}", std::process::id()));
        let written = std::fs::File::create(&tmp).and_then(|mut f| f.write_all(&out));
        match written.and_then(|()| std::fs::rename(&tmp, &self.path)) {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_list(out: &mut Vec<u8>, items: &[String]) {
    out.extend_from_slice(&(items.len() as u32).to_le_bytes());
    for item in items {
        put_str(out, item);
    }
}

fn encode(out: &mut Vec<u8>, oid: &Oid, verdict: &Verdict) {
    out.push(oid.as_bytes().len() as u8);
    out.extend_from_slice(oid.as_bytes());
    out.extend_from_slice(&verdict.size.to_le_bytes());
    match &verdict.sniff {
        None => out.push(0),
        Some(s) => {
            out.push(1 + s.family as u8);
            put_str(out, s.format);
            put_str(out, &s.evidence);
            put_list(out, &s.globals);
            put_list(out, &s.unsafe_globals);
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn string(&mut self) -> Option<String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }

    fn list(&mut self) -> Option<Vec<String>> {
        let n = self.u32()? as usize;
        (0..n).map(|_| self.string()).collect()
    }
}

fn decode(data: &[u8]) -> Option<HashMap<Oid, Verdict>> {
    let mut r = Reader(data.strip_prefix(magic().as_bytes())?);
    let mut known = HashMap::new();
    while !r.0.is_empty() {
        let len = usize::from(r.take(1)?[0]);
        let oid = Oid::from_bytes(r.take(len)?)?;
        let size = u64::from_le_bytes(r.take(8)?.try_into().ok()?);
        let tag = r.take(1)?[0];
        let sniff = match tag {
            0 => None,
            _ => {
                let family = Family::from_index(tag - 1)?;
                let format = intern(&r.string()?)?;
                let mut s = Sniff::new(format, family, r.string()?);
                s.globals = r.list()?;
                s.unsafe_globals = r.list()?;
                Some(s)
            }
        };
        known.insert(oid, Verdict { size, sniff });
    }
    Some(known)
}

/// The format names the detectors use, as `&'static str`, from a cache file: each distinct
/// name is leaked once, and only short lowercase names are taken, so a damaged file cannot
/// grow memory.
fn intern(name: &str) -> Option<&'static str> {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let plausible = !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !plausible {
        return None;
    }
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(&known) = names.iter().find(|&&n| n == name) {
        return Some(known);
    }
    if names.len() >= 256 {
        return None;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.push(leaked);
    Some(leaked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(n: u8) -> Oid {
        Oid::from_bytes(&[n; 20]).unwrap()
    }

    fn pickle() -> Sniff {
        let mut s = Sniff::new("pickle", Family::Pickle, "protocol 4 pickle at 0");
        s.globals = vec!["os.system".into()];
        s.unsafe_globals = vec!["os.system".into()];
        s
    }

    #[test]
    fn verdicts_survive_a_save_and_a_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/cache");
        let mut cache = Cache::load(&path);
        assert!(cache.get(&oid(1)).is_none());
        cache.insert(
            oid(1),
            Verdict {
                size: 7,
                sniff: None,
            },
        );
        cache.insert(
            oid(2),
            Verdict {
                size: 9,
                sniff: Some(pickle()),
            },
        );
        cache.save().unwrap();
        let mut again = Cache::load(&path);
        assert_eq!(
            again.get(&oid(1)),
            Some(&Verdict {
                size: 7,
                sniff: None
            })
        );
        assert_eq!(again.get(&oid(2)).unwrap().sniff, Some(pickle()));
    }

    #[test]
    fn a_damaged_or_foreign_file_is_an_empty_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache");
        let mut cache = Cache::load(&path);
        cache.insert(
            oid(1),
            Verdict {
                size: 1,
                sniff: Some(pickle()),
            },
        );
        cache.save().unwrap();
        let good = std::fs::read(&path).unwrap();
        for cut in [good.len() - 1, magic().len() + 3, 5] {
            std::fs::write(&path, &good[..cut]).unwrap();
            assert!(Cache::load(&path).known.is_empty(), "cut at {cut}");
        }
        let other = good.clone();
        std::fs::write(&path, [b"x".as_slice(), &other].concat()).unwrap();
        assert!(Cache::load(&path).known.is_empty());
    }

    #[test]
    fn unseen_entries_are_kept_within_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache");
        let mut cache = Cache::load(&path);
        for n in 0..10 {
            cache.insert(
                oid(n),
                Verdict {
                    size: 0,
                    sniff: None,
                },
            );
        }
        cache.save().unwrap();
        let mut next = Cache::load(&path);
        next.get(&oid(0));
        next.insert(
            oid(99),
            Verdict {
                size: 0,
                sniff: None,
            },
        );
        next.save().unwrap();
        // Two seen, so at most four unseen kept.
        assert_eq!(Cache::load(&path).known.len(), 6);
    }

    #[test]
    fn nothing_learnt_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache");
        Cache::load(&path).save().unwrap();
        assert!(!path.exists());
    }
}
