//! Verdicts remembered, so that a repeated scan reads only content it has not seen. Two keys
//! in one file: a git object id (what a blob sniffed as depends on its bytes alone, and its id
//! names those bytes), and, for a walk of a plain folder, a file's path with its status
//! (device, inode, size, mtime and ctime in nanoseconds), as git's index remembers a checkout.
//!
//! A status says the bytes are unchanged only when no write can hide inside it. git's rule for
//! "racily clean" files is kept, with the cache's time taken when the scan began: the file's
//! mtime is set to the moment [`Cache::load`] ran, before any file was looked at, and an entry
//! whose mtime or ctime is not at least [`RACY_NS`] older than that is read again. (git
//! compares with the moment its index was written, so a write in the same timestamp tick as
//! the read, on a long scan, could slip through; a timestamp tick of a file system, 2 s on FAT,
//! is what the margin covers.) Entries of files this walk did not find are dropped on write.
//!
//! One file, rewritten whole (a temporary file renamed over it) after a scan that learnt
//! something. Its first line names the format and the sniffer that wrote it; a file from
//! another version, or one that does not parse, is an empty cache: a cache is never a reason to
//! fail, nor to trust a verdict the running sniffer did not make.

use std::collections::{HashMap, HashSet};
use std::fs::Metadata;
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::git::Oid;
use crate::sniff::{Family, Sniff};

/// Entries kept from earlier scans beyond those this scan saw (other branches), at most this
/// many times the entries seen, so the file follows the repository's size.
const KEEP_UNSEEN: usize = 2;

/// How much older than the cache's time a file's mtime and ctime must be for its status to be
/// trusted: more than the coarsest timestamp a local file system keeps (FAT's 2 s), as the
/// verifier's stat cache requires (`receiptcore.statcache.RACY_NS`).
pub const RACY_NS: i64 = 2_000_000_000;

/// The first line of the file: the format, and the sniffer that made the verdicts (its version
/// and a fingerprint of its sources, stamped by `build.rs`), so no verdict of another sniffer
/// is ever reused.
fn magic() -> String {
    format!(
        "receiptcore scan cache 2; sniff {} {}\n",
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

/// What `lstat` says of a regular file, as git's index keeps it: the same status, with times
/// older than the cache's, is the same bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
}

impl Stat {
    /// The status of a regular file; None for anything else.
    pub fn of(meta: &Metadata) -> Option<Stat> {
        let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
        meta.file_type().is_file().then(|| Stat {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        })
    }
}

/// A file's verdict, the status it was made on, and whether this walk found the file.
#[derive(Clone, Debug, PartialEq)]
struct Remembered {
    stat: Stat,
    verdict: Verdict,
    seen: bool,
}

pub struct Cache {
    path: PathBuf,
    blobs: HashMap<Oid, Verdict>,
    seen: HashSet<Oid>,
    files: HashMap<Vec<u8>, Remembered>,
    files_seen: usize,
    /// The cache file's mtime (ns since the epoch): when the scan that wrote it began.
    stamp: Option<i64>,
    /// When this scan began: the next file's time.
    started: SystemTime,
    learnt: usize,
}

impl Cache {
    /// The cache in `path`; empty when the file is missing, unreadable, or not ours.
    pub fn load(path: &Path) -> Cache {
        let started = SystemTime::now();
        let read = std::fs::File::open(path).and_then(|mut f| {
            let stamp = f.metadata()?.modified()?;
            let mut data = Vec::new();
            f.read_to_end(&mut data)?;
            Ok((stamp, data))
        });
        let (stamp, (blobs, files)) = match read {
            Ok((stamp, data)) => (nanos(stamp), decode(&data).unwrap_or_default()),
            Err(_) => (None, Default::default()),
        };
        Cache {
            path: path.to_path_buf(),
            blobs,
            seen: HashSet::new(),
            files,
            files_seen: 0,
            stamp,
            started,
            learnt: 0,
        }
    }

    pub fn get(&mut self, oid: &Oid) -> Option<&Verdict> {
        let found = self.blobs.get(oid);
        if found.is_some() {
            self.seen.insert(*oid);
        }
        found
    }

    pub fn insert(&mut self, oid: Oid, verdict: Verdict) {
        self.seen.insert(oid);
        if self.blobs.insert(oid, verdict).is_none() {
            self.learnt += 1;
        }
    }

    /// The verdict on the file at `path` (relative to the walk's root), if it was made on a
    /// file with this very status, whose times are older than the cache's by [`RACY_NS`].
    /// Read-only, for the walk's threads; [`Cache::keep_file`] records the outcome.
    pub fn file(&self, path: &[u8], stat: &Stat) -> Option<&Verdict> {
        let stamp = self.stamp?;
        let known = self.files.get(path)?;
        let settled = stat.mtime_ns.max(stat.ctime_ns) < stamp.saturating_sub(RACY_NS);
        (known.stat == *stat && settled).then_some(&known.verdict)
    }

    /// Keeps the file at `path` in the cache: found there (`judged` None), or judged anew with
    /// the status taken before it was read.
    pub fn keep_file(&mut self, path: &[u8], judged: Option<(Stat, Verdict)>) {
        let was_seen = match judged {
            Some((stat, verdict)) => {
                self.learnt += 1;
                let now = Remembered {
                    stat,
                    verdict,
                    seen: true,
                };
                self.files
                    .insert(path.to_vec(), now)
                    .is_some_and(|r| r.seen)
            }
            None => match self.files.get_mut(path) {
                Some(known) => std::mem::replace(&mut known.seen, true),
                None => return,
            },
        };
        if !was_seen {
            self.files_seen += 1;
        }
    }

    /// Writes the cache if this scan learnt a verdict, or found a remembered file gone; keeps
    /// what this scan saw, then blobs it did not see up to [`KEEP_UNSEEN`] times as many. The
    /// file's mtime is set to when the scan began.
    pub fn save(&self) -> io::Result<()> {
        if self.learnt == 0 && self.files_seen == self.files.len() {
            return Ok(());
        }
        let mut out = magic().into_bytes();
        let keep_unseen = self.seen.len() * KEEP_UNSEEN;
        let unseen = self
            .blobs
            .iter()
            .filter(|(oid, _)| !self.seen.contains(oid))
            .take(keep_unseen);
        let seen = self
            .seen
            .iter()
            .filter_map(|oid| Some((oid, self.blobs.get(oid)?)));
        for (oid, verdict) in seen.chain(unseen) {
            out.push(BLOB);
            out.push(oid.as_bytes().len() as u8);
            out.extend_from_slice(oid.as_bytes());
            encode(&mut out, verdict);
        }
        for (path, known) in self.files.iter().filter(|(_, r)| r.seen) {
            let (stat, verdict) = (&known.stat, &known.verdict);
            out.push(FILE);
            put_bytes(&mut out, path);
            for n in [stat.dev, stat.ino, stat.size] {
                out.extend_from_slice(&n.to_le_bytes());
            }
            for n in [stat.mtime_ns, stat.ctime_ns] {
                out.extend_from_slice(&n.to_le_bytes());
            }
            encode(&mut out, verdict);
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self
            .path
            .with_extension(format!("tmp{}", std::process::id()));
        let written = std::fs::File::create(&tmp).and_then(|mut f| {
            f.write_all(&out)?;
            f.set_modified(self.started)
        });
        match written.and_then(|()| std::fs::rename(&tmp, &self.path)) {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }
}

/// Nanoseconds since the epoch; None before it (a clock set back that far trusts nothing).
fn nanos(t: SystemTime) -> Option<i64> {
    let d: Duration = t.duration_since(UNIX_EPOCH).ok()?;
    i64::try_from(d.as_nanos()).ok()
}

/// The tag of a record keyed by a git object id.
const BLOB: u8 = b'b';
/// The tag of a record keyed by a path and its status.
const FILE: u8 = b'f';

fn put_bytes(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s);
}

fn put_list(out: &mut Vec<u8>, items: &[String]) {
    out.extend_from_slice(&(items.len() as u32).to_le_bytes());
    for item in items {
        put_bytes(out, item.as_bytes());
    }
}

fn encode(out: &mut Vec<u8>, verdict: &Verdict) {
    out.extend_from_slice(&verdict.size.to_le_bytes());
    match &verdict.sniff {
        None => out.push(0),
        Some(s) => {
            out.push(1 + s.family as u8);
            put_bytes(out, s.format.as_bytes());
            put_bytes(out, s.evidence.as_bytes());
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

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }

    fn list(&mut self) -> Option<Vec<String>> {
        let n = self.u32()? as usize;
        (0..n).map(|_| self.string()).collect()
    }

    fn verdict(&mut self) -> Option<Verdict> {
        let size = self.u64()?;
        let tag = self.take(1)?[0];
        let sniff = match tag {
            0 => None,
            _ => {
                let family = Family::from_index(tag - 1)?;
                let format = intern(&self.string()?)?;
                let mut s = Sniff::new(format, family, self.string()?);
                s.globals = self.list()?;
                s.unsafe_globals = self.list()?;
                Some(s)
            }
        };
        Some(Verdict { size, sniff })
    }
}

type Known = (HashMap<Oid, Verdict>, HashMap<Vec<u8>, Remembered>);

fn decode(data: &[u8]) -> Option<Known> {
    let mut r = Reader(data.strip_prefix(magic().as_bytes())?);
    let (mut blobs, mut files) = (HashMap::new(), HashMap::new());
    while !r.0.is_empty() {
        match r.take(1)?[0] {
            BLOB => {
                let len = usize::from(r.take(1)?[0]);
                let oid = Oid::from_bytes(r.take(len)?)?;
                blobs.insert(oid, r.verdict()?);
            }
            FILE => {
                let path = r.bytes()?.to_vec();
                let stat = Stat {
                    dev: r.u64()?,
                    ino: r.u64()?,
                    size: r.u64()?,
                    mtime_ns: r.u64()? as i64,
                    ctime_ns: r.u64()? as i64,
                };
                let verdict = r.verdict()?;
                let seen = false;
                files.insert(
                    path,
                    Remembered {
                        stat,
                        verdict,
                        seen,
                    },
                );
            }
            _ => return None,
        }
    }
    Some((blobs, files))
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
            assert!(Cache::load(&path).blobs.is_empty(), "cut at {cut}");
        }
        let other = good.clone();
        std::fs::write(&path, [b"x".as_slice(), &other].concat()).unwrap();
        assert!(Cache::load(&path).blobs.is_empty());
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
        assert_eq!(Cache::load(&path).blobs.len(), 6);
    }

    #[test]
    fn nothing_learnt_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache");
        Cache::load(&path).save().unwrap();
        assert!(!path.exists());
    }

    fn stat(ino: u64, mtime_ns: i64) -> Stat {
        Stat {
            dev: 1,
            ino,
            size: 5,
            mtime_ns,
            ctime_ns: mtime_ns,
        }
    }

    fn plain(size: u64) -> Verdict {
        Verdict { size, sniff: None }
    }

    /// A cache saved with one file entry, whose file's mtime (the cache's time) is `stamp_ns`.
    fn saved_with(path: &Path, st: Stat, stamp_ns: i64) -> Cache {
        let mut cache = Cache::load(path);
        cache.keep_file(b"a/x.npy", Some((st, plain(5))));
        cache.save().unwrap();
        let at = UNIX_EPOCH + Duration::from_nanos(stamp_ns as u64);
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(at)
            .unwrap();
        Cache::load(path)
    }

    #[test]
    fn a_file_verdict_is_trusted_only_for_the_very_same_settled_status() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache");
        let t = 1_700_000_000_000_000_000;
        let old = stat(7, t);
        let cache = saved_with(&path, old, t + 10 * RACY_NS);
        assert_eq!(cache.file(b"a/x.npy", &old), Some(&plain(5)));
        assert_eq!(cache.file(b"a/y.npy", &old), None);
        // Any field of the status changed: another inode, size, mtime or ctime.
        let changed = [
            Stat { ino: 8, ..old },
            Stat { dev: 2, ..old },
            Stat { size: 6, ..old },
            Stat {
                mtime_ns: t + 1,
                ..old
            },
            Stat {
                ctime_ns: t + 1,
                ..old
            },
        ];
        for other in changed {
            assert_eq!(cache.file(b"a/x.npy", &other), None, "{other:?}");
        }
    }

    #[test]
    fn a_file_changed_near_the_cache_time_is_racy_and_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache");
        let t = 1_700_000_000_000_000_000;
        // mtime, then ctime, inside the window before the cache's time; then both after it.
        for (mtime, ctime) in [(t - 1, t - 3 * RACY_NS), (t - 3 * RACY_NS, t - 1), (t, t)] {
            let st = Stat {
                mtime_ns: mtime,
                ctime_ns: ctime,
                ..stat(7, 0)
            };
            let cache = saved_with(&path, st, t);
            assert_eq!(cache.file(b"a/x.npy", &st), None, "{st:?}");
        }
        let settled = stat(7, t - RACY_NS - 1);
        assert!(saved_with(&path, settled, t)
            .file(b"a/x.npy", &settled)
            .is_some());
    }

    #[test]
    fn saving_stamps_the_file_with_the_time_the_scan_began() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache");
        let before = nanos(SystemTime::now()).unwrap();
        let mut cache = Cache::load(&path);
        std::thread::yield_now();
        cache.keep_file(b"x", Some((stat(1, 0), plain(5))));
        cache.save().unwrap();
        let stamp = nanos(std::fs::metadata(&path).unwrap().modified().unwrap()).unwrap();
        assert!(stamp >= before - 10_000_000 && stamp == nanos(cache.started).unwrap());
    }

    #[test]
    fn files_the_walk_no_longer_finds_are_dropped_on_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache");
        let mut cache = Cache::load(&path);
        for name in [&b"a"[..], b"b", b"c"] {
            cache.keep_file(name, Some((stat(1, 0), plain(1))));
        }
        cache.save().unwrap();
        // Only "a" found again, from the cache: nothing learnt, yet the file is rewritten.
        let mut next = Cache::load(&path);
        next.keep_file(b"a", None);
        next.save().unwrap();
        let kept = Cache::load(&path).files;
        assert_eq!(kept.keys().collect::<Vec<_>>(), [&b"a".to_vec()]);
    }

    #[test]
    fn blobs_and_files_share_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache");
        let mut cache = Cache::load(&path);
        cache.insert(oid(3), plain(3));
        cache.keep_file(b"f", Some((stat(1, 0), plain(1))));
        cache.save().unwrap();
        let again = Cache::load(&path);
        assert_eq!(again.blobs.get(&oid(3)), Some(&plain(3)));
        let file = &again.files[&b"f"[..]];
        assert_eq!((file.stat, &file.verdict), (stat(1, 0), &plain(1)));
    }

    #[test]
    fn an_unwritable_folder_is_an_error_to_ignore_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("file"), b"").unwrap();
        let mut cache = Cache::load(&dir.path().join("file/cache"));
        cache.keep_file(b"f", Some((stat(1, 0), plain(1))));
        assert!(cache.save().is_err());
    }
}
