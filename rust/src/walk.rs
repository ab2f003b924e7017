//! A parallel walk of a folder that lists every file, and opens and sniffs each unless told not to.
//!
//! Four ways to choose files ([`Mode`]): every file, every file outside `.git`, files not
//! ignored by `.gitignore`, or exactly the files tracked by git. All but the last use the
//! `ignore` crate's parallel walker (directory entries typed by `readdir`, so no `stat` per
//! file when sniffing); a file is opened once, its head read, and its size taken from that read
//! when it is shorter than the head. Without sniffing ([`Walk::sniff`] false) no file is
//! opened: one `lstat` gives the size. With a verdict cache ([`Walk::run_cached`]) each
//! regular file is `lstat`ed first, and one whose status the cache remembers is not opened.
//! Symlinks are listed but never followed, and anything that goes wrong with one file or
//! directory becomes that entry's `error`. Memory is one small buffer per thread plus the
//! entries returned.
//!
//! git's listings (the index, what is staged, what `BASE...HEAD` changed) are judged by the
//! blobs git stores ([`Walk::judge`]): each entry carries its object id, a checkout that cannot
//! be trusted to hold its blob is read from the object store instead, submodules are listed
//! with the commit they pin, and verdicts may be remembered by object id
//! ([`crate::scan_cache`]). What git says is read through [`crate::git`], and the index, when
//! it can be, by [`crate::git_index`].

use std::ffi::OsStr;
use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::{ParallelVisitor, ParallelVisitorBuilder, WalkBuilder, WalkState};
use rayon::prelude::*;
use rustix::fs::{openat, OFlags};

use crate::git::{self, Against, Blobs, Listed, Oid};
use crate::git_index::{self, Recorded};
use crate::scan_cache::{Cache, Stat, Verdict};
use crate::sniff::{sniff_open_file, Sniff};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Every file under the root, `.git` included: what a digest or a manifest of a folder
    /// commits to.
    Tree,
    /// Every file under the root except inside `.git`.
    All,
    /// Files not ignored by `.gitignore` files (and `.git/info/exclude`), hidden files included.
    Gitignore,
    /// Exactly the files in the git index, whatever `.gitignore` says (a force-added
    /// checkpoint is still in the repository).
    Git,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "tree" => Some(Mode::Tree),
            "all" => Some(Mode::All),
            "gitignore" => Some(Mode::Gitignore),
            "git" => Some(Mode::Git),
            _ => None,
        }
    }
}

/// What a listed path is, as the directory entry (or git's mode) says, never following a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    File,
    Symlink,
    /// A FIFO, socket or device: listed, never opened.
    Special,
    /// Only on entries with an `error`: a directory that could not be listed, a directory
    /// found where git tracks a file, or an empty folder ([`Walk::empty_dirs`]).
    Directory,
    /// A git submodule (gitlink): its `oid` is the commit it pins; nothing here is read.
    Submodule,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Symlink => "symlink",
            Kind::Special => "special",
            Kind::Directory => "directory",
            Kind::Submodule => "submodule",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        [
            Kind::File,
            Kind::Symlink,
            Kind::Special,
            Kind::Directory,
            Kind::Submodule,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

impl From<std::fs::FileType> for Kind {
    fn from(t: std::fs::FileType) -> Kind {
        if t.is_file() {
            Kind::File
        } else if t.is_symlink() {
            Kind::Symlink
        } else if t.is_dir() {
            Kind::Directory
        } else {
            Kind::Special
        }
    }
}

/// One file (or one unreadable directory, with `error` set).
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Relative to the root; may not be UTF-8 (then `error` says so).
    pub path: PathBuf,
    /// In bytes; of the link itself for a symlink.
    pub size: u64,
    /// Boxed, like `error` and `oid`: most entries have neither, and an entry of 72 bytes
    /// rather than 150 keeps a million of them (and their sort) small.
    pub sniff: Option<Box<Sniff>>,
    pub kind: Kind,
    pub error: Option<Box<str>>,
    /// The git object judged (blob, or a submodule's commit); only in git's listings.
    pub oid: Option<Box<Oid>>,
    /// Judged from the verdict cache, nothing read.
    pub cached: bool,
}

#[derive(Debug)]
pub enum WalkError {
    /// The root is missing, or not a directory.
    Root { path: PathBuf, source: io::Error },
    /// git could not run or failed (not a repository, git missing, unknown revision).
    Git(String),
}

impl std::fmt::Display for WalkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WalkError::Root { path, source } => {
                write!(f, "cannot walk {}: {source}", path.display())
            }
            WalkError::Git(msg) => write!(f, "{msg}"),
        }
    }
}

impl std::error::Error for WalkError {}

/// Threads opening files, at least: with a cold page cache each open and read waits on the
/// disk, and many requests in flight let it (and a VM's virtio queue) serve them in batches.
/// Measured on 100,000 files with a cold cache: 9.8 s with 2 threads, 4.4 s with 32; with a
/// warm cache the extra threads cost nothing measurable (0.82 s CPU either way).
const IO_THREADS: usize = 32;

/// How to walk: which files, whether to open and sniff each, on how many threads. One set of
/// options for a walk of a folder and for the same work on files listed elsewhere
/// ([`Walk::inspect`]).
#[derive(Clone, Copy, Debug)]
pub struct Walk {
    mode: Mode,
    sniff: bool,
    empty_dirs: bool,
    threads: Option<usize>,
}

impl Walk {
    /// A walk in `mode` that sniffs every file, on one thread per core (at least
    /// [`IO_THREADS`]).
    pub fn new(mode: Mode) -> Walk {
        Walk {
            mode,
            sniff: true,
            empty_dirs: false,
            threads: None,
        }
    }

    /// Whether to open each regular file and sniff its head (else one `lstat` for its size).
    pub fn sniff(mut self, sniff: bool) -> Walk {
        self.sniff = sniff;
        self
    }

    /// Whether to list every folder that holds nothing at all, as a [`Kind::Directory`] entry
    /// whose `error` says so: a list of files cannot record an empty folder, and a tree must
    /// not drop one silently. (Not in mode `git`, whose index has no folders.)
    pub fn empty_dirs(mut self, empty_dirs: bool) -> Walk {
        self.empty_dirs = empty_dirs;
        self
    }

    pub fn threads(mut self, threads: Option<usize>) -> Walk {
        self.threads = threads;
        self
    }

    /// Lists (and sniffs) the files under `root`, sorted by path bytes. Mode git judges the
    /// index as [`Walk::judge`] does, without a verdict cache.
    pub fn run(&self, root: &Path) -> Result<Vec<Entry>, WalkError> {
        self.run_cached(root, None)
    }

    /// [`Walk::run`] with a verdict cache, used when sniffing: mode git's by object id
    /// ([`Walk::judge`]); the other modes' by path and status, so a regular file whose `lstat`
    /// matches what the cache remembers (and is not racy, see [`crate::scan_cache`]) is not
    /// opened. The cache then holds what this walk found, to be saved by the caller.
    pub fn run_cached(
        &self,
        root: &Path,
        cache: Option<&mut Cache>,
    ) -> Result<Vec<Entry>, WalkError> {
        let cache = cache.filter(|_| self.sniff);
        match self.mode {
            // git lists its index sorted by path bytes, and the parallel map keeps that order.
            Mode::Git => self.judge(root, Judged::Index, cache),
            _ => {
                check_root(root)?;
                let (mut entries, dirs, stats) = self.walk_tree(root, cache.as_deref());
                if let Some(cache) = cache {
                    remember(cache, &entries, &stats);
                }
                if self.empty_dirs {
                    let empty = empty_folders(&entries, dirs);
                    entries.extend(empty);
                }
                sort_by_path(&mut entries);
                Ok(entries)
            }
        }
    }

    /// The walk's work on files chosen elsewhere (the files of a diff or of a staged change):
    /// each of `paths`, relative to `root`, inspected as git mode inspects a tracked file, in
    /// parallel, returned in the order given. A symlink is listed, not followed; a missing file
    /// or a name that is not UTF-8 sets the entry's `error`.
    pub fn inspect(&self, root: &Path, paths: &[&[u8]]) -> Vec<Entry> {
        self.in_parallel(paths, |folder, &p| {
            tracked_entry(folder, root, p, Kind::File, self.sniff, None).0
        })
    }

    fn io_threads(&self) -> usize {
        self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(IO_THREADS, |n| n.get().max(IO_THREADS))
        })
    }

    /// `work` done on each of `items` in parallel, the results in order; each worker keeps
    /// the [`Folder`] its files were last opened in.
    fn in_parallel<T: Sync, R: Send>(
        &self,
        items: &[T],
        work: impl Fn(&mut Folder, &T) -> R + Sync,
    ) -> Vec<R> {
        match rayon::ThreadPoolBuilder::new()
            .num_threads(self.io_threads())
            .build()
        {
            Ok(pool) => pool.install(|| items.par_iter().map_init(|| None, &work).collect()),
            // No threads to be had: the same work, one file after another.
            Err(_) => {
                let mut folder = None;
                items.iter().map(|item| work(&mut folder, item)).collect()
            }
        }
    }

    /// Every entry under `root`, and every folder (relative paths; the root is "") when
    /// empty folders are asked for; with a cache, the status of each entry's file taken before
    /// it was read (None: not a regular file), one per entry.
    fn walk_tree(
        &self,
        root: &Path,
        cache: Option<&Cache>,
    ) -> (Vec<Entry>, Vec<PathBuf>, Vec<Option<Stat>>) {
        let mut builder = WalkBuilder::new(root);
        builder
            .threads(self.io_threads())
            .follow_links(false)
            .standard_filters(false);
        if self.mode != Mode::Tree {
            builder.filter_entry(|e| e.file_name() != ".git");
        }
        if self.mode == Mode::Gitignore {
            builder
                .git_ignore(true)
                .git_exclude(true)
                .parents(true)
                .require_git(false);
        }
        let shared = Mutex::new(Vec::new());
        let mut visitors = Visitors {
            root,
            sniff: self.sniff,
            dirs: self.empty_dirs,
            cache,
            shared: &shared,
        };
        builder.build_parallel().visit(&mut visitors);
        let parts = shared.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut entries = Vec::with_capacity(parts.iter().map(|p| p.entries.len()).sum());
        let mut dirs = Vec::new();
        let mut stats = Vec::new();
        for mut part in parts {
            entries.append(&mut part.entries);
            dirs.append(&mut part.dirs);
            stats.append(&mut part.stats);
        }
        (entries, dirs, stats)
    }
}

/// Records in `cache` what a walk found: each regular file read (with the status taken before
/// it was read), and each found there. Entries with an error are not remembered.
fn remember(cache: &mut Cache, entries: &[Entry], stats: &[Option<Stat>]) {
    for (e, stat) in entries.iter().zip(stats) {
        let (Some(stat), None) = (stat, &e.error) else {
            continue;
        };
        let judged = (!e.cached).then(|| {
            let sniff = e.sniff.as_deref().cloned();
            let verdict = Verdict {
                size: e.size,
                sniff,
            };
            (*stat, verdict)
        });
        cache.keep_file(path_bytes(e), judged);
    }
}

/// The folders of `dirs` that are the parent of no entry and of no other folder.
fn empty_folders(entries: &[Entry], dirs: Vec<PathBuf>) -> Vec<Entry> {
    let parents: std::collections::HashSet<&Path> = entries
        .iter()
        .map(|e| e.path.as_path())
        .chain(dirs.iter().map(PathBuf::as_path))
        .filter_map(Path::parent)
        .collect();
    dirs.iter()
        .filter(|d| !d.as_os_str().is_empty() && !parents.contains(d.as_path()))
        .map(|d| entry(d.clone(), Kind::Directory, Err("an empty folder".into())))
        .collect()
}

fn path_bytes(entry: &Entry) -> &[u8] {
    entry.path.as_os_str().as_bytes()
}

/// Sorts by path bytes. Entries are moved, not indices sorted and then permuted: at 64 bytes
/// an entry moves cheaply, and on a million files that was twice as fast (0.36-0.45 s against
/// 0.88-1.01 s).
fn sort_by_path(entries: &mut [Entry]) {
    entries.sort_unstable_by(|a, b| path_bytes(a).cmp(path_bytes(b)));
}

/// What one walker thread found: files, folders when they are asked for, and each entry's
/// status when there is a cache.
#[derive(Default)]
struct Part {
    entries: Vec<Entry>,
    dirs: Vec<PathBuf>,
    stats: Vec<Option<Stat>>,
}

struct Visitors<'s> {
    root: &'s Path,
    sniff: bool,
    dirs: bool,
    cache: Option<&'s Cache>,
    shared: &'s Mutex<Vec<Part>>,
}

impl<'s> ParallelVisitorBuilder<'s> for Visitors<'s> {
    fn build(&mut self) -> Box<dyn ParallelVisitor + 's> {
        Box::new(Collector {
            root: self.root,
            sniff: self.sniff,
            dirs: self.dirs,
            cache: self.cache,
            local: Part::default(),
            shared: self.shared,
        })
    }
}

/// Each walker thread keeps its own entries and hands them over once, when it finishes.
struct Collector<'s> {
    root: &'s Path,
    sniff: bool,
    dirs: bool,
    cache: Option<&'s Cache>,
    local: Part,
    shared: &'s Mutex<Vec<Part>>,
}

impl Collector<'_> {
    fn push(&mut self, entry: Entry, stat: Option<Stat>) {
        self.local.entries.push(entry);
        if self.cache.is_some() {
            self.local.stats.push(stat);
        }
    }

    /// A regular file (as the directory entry says) judged through the cache: its `lstat`
    /// first, then, unless the cache remembers that status, its head read.
    fn judge_file(&self, abs: &Path, rel: PathBuf, cache: &Cache) -> (Entry, Option<Stat>) {
        let stat = match std::fs::symlink_metadata(abs) {
            Ok(meta) => match Stat::of(&meta) {
                Some(stat) => stat,
                // Replaced by something else since the directory was read.
                None => return (described(rel, &meta), None),
            },
            Err(e) => {
                return (
                    entry(rel, Kind::File, Err(format!("cannot stat: {e}"))),
                    None,
                )
            }
        };
        let known = cache.file(rel.as_os_str().as_bytes(), &stat);
        let e = match known {
            Some(v) => Entry {
                cached: true,
                ..entry(rel, Kind::File, Ok((v.size, v.sniff.clone())))
            },
            None => entry(rel, Kind::File, read_head(open_no_follow(abs))),
        };
        (e, Some(stat))
    }
}

impl Drop for Collector<'_> {
    fn drop(&mut self) {
        let local = std::mem::take(&mut self.local);
        self.shared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(local);
    }
}

impl ParallelVisitor for Collector<'_> {
    fn visit(&mut self, result: Result<ignore::DirEntry, ignore::Error>) -> WalkState {
        match result {
            Ok(entry) => {
                let Some(kind) = entry.file_type() else {
                    return WalkState::Continue; // stdin; never happens for a directory walk
                };
                if kind.is_dir() {
                    if self.dirs {
                        self.local.dirs.push(relative(self.root, entry.path()));
                    }
                    return WalkState::Continue;
                }
                let rel = relative(self.root, entry.path());
                let (e, stat) = match self.cache {
                    Some(cache) if self.sniff && kind.is_file() => {
                        self.judge_file(entry.path(), rel, cache)
                    }
                    _ => (
                        inspect(entry.path(), rel, Kind::from(kind), self.sniff),
                        None,
                    ),
                };
                self.push(e, stat);
            }
            Err(err) => {
                let path = error_path(&err);
                // Usually a directory that cannot be read; the path says what it is.
                let kind = path
                    .and_then(|p| std::fs::symlink_metadata(p).ok())
                    .map_or(Kind::Directory, |m| Kind::from(m.file_type()));
                let rel = path.map(|p| relative(self.root, p)).unwrap_or_default();
                self.push(entry(rel, kind, Err(format!("cannot list: {err}"))), None);
            }
        }
        WalkState::Continue
    }
}

fn error_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child),
        _ => None,
    }
}

fn relative(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}

/// What inspecting a file found: its size and what it was recognised as, or why not.
type Found = Result<(u64, Option<Sniff>), String>;

/// The entry for `rel`; a name that is not UTF-8 is an error besides whatever `found` says.
fn entry(rel: PathBuf, kind: Kind, found: Found) -> Entry {
    let mut errors = Vec::new();
    if rel.to_str().is_none() {
        errors.push("name is not valid UTF-8".to_string());
    }
    let (size, sniff) = found.unwrap_or_else(|e| {
        errors.push(e);
        (0, None)
    });
    Entry {
        path: rel,
        size,
        sniff: sniff.map(Box::new),
        kind,
        error: (!errors.is_empty()).then(|| errors.join("; ").into()),
        oid: None,
        cached: false,
    }
}

/// The folder a worker opened last, kept for the next file ([`open_listed`]); one per worker
/// of one parallel map, gone with it.
type Folder = Option<(PathBuf, OwnedFd)>;

/// Opens the listed file `raw` (a '/'-separated path below `root`) as [`open_no_follow`] does,
/// relative to its folder: a worker keeps the folder it opened last, and a listing sorted by
/// path comes folder by folder, so the kernel resolves one name per file instead of every
/// component from the root (about a tenth of a scan's CPU at 100,000 files). The folder is
/// opened as the whole path was: a missing one, or a file in its place, fails the same way.
fn open_listed(folder: &mut Folder, root: &Path, raw: &[u8]) -> io::Result<File> {
    let (dir, name) = match memchr::memrchr(b'/', raw) {
        Some(at) => (root.join(OsStr::from_bytes(&raw[..at])), &raw[at + 1..]),
        None => (root.to_path_buf(), raw),
    };
    let kept = match folder.take() {
        Some((path, fd)) if path == dir => (path, fd),
        _ => {
            let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
            let fd = openat(rustix::fs::CWD, &dir, flags, rustix::fs::Mode::empty())?;
            (dir, fd)
        }
    };
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let opened = openat(&kept.1, name, flags, rustix::fs::Mode::empty());
    *folder = Some(kept);
    Ok(File::from(opened?))
}

/// Opens without following a symlink and without blocking on a FIFO swapped in meanwhile.
fn open_no_follow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
}

fn read_head(file: io::Result<File>) -> Found {
    file.and_then(|f| sniff_open_file(&f, None))
        .map_err(|e| format!("cannot read: {e}"))
}

/// A path whose kind the directory entry gave: a regular file is read when sniffing, anything
/// else (or everything, when not sniffing) is described by one `lstat`.
fn inspect(abs: &Path, rel: PathBuf, kind: Kind, sniff: bool) -> Entry {
    if sniff && kind == Kind::File {
        return entry(rel, kind, read_head(open_no_follow(abs)));
    }
    match std::fs::symlink_metadata(abs) {
        Ok(meta) => described(rel, &meta),
        Err(e) => entry(rel, kind, Err(format!("cannot stat: {e}"))),
    }
}

/// An entry from its `lstat`, nothing opened.
fn described(rel: PathBuf, meta: &Metadata) -> Entry {
    let kind = Kind::from(meta.file_type());
    let found = match kind {
        Kind::File | Kind::Symlink => Ok((meta.len(), None)),
        Kind::Special => {
            let t = meta.file_type();
            let what = if t.is_fifo() {
                "a FIFO"
            } else if t.is_socket() {
                "a socket"
            } else {
                "a device or special file"
            };
            Err(format!("not a regular file ({what}); not read"))
        }
        // (A file type is never a submodule: only git's mode says that.)
        Kind::Directory | Kind::Submodule => {
            Err("a directory where git tracks a file; not read".into())
        }
    };
    entry(rel, kind, found)
}

/// Why a tracked file has no entry of its own from the working tree (then, when judged, it is
/// read from git's object store).
const MISSING: &str = "in git but missing from the working tree";

/// A listed file, typed by its mode in the index, and whether its checkout's status is the one
/// `recorded` (never without a record). When sniffing, a regular file is opened straight away
/// (no `lstat`: `O_NOFOLLOW` refuses a symlink, which is then listed as one, and `O_NONBLOCK`
/// a FIFO), and its status, when there is a record to compare, is taken from the file opened
/// once its bytes were read.
fn tracked_entry(
    folder: &mut Folder,
    root: &Path,
    raw: &[u8],
    kind: Kind,
    sniff: bool,
    recorded: Option<&Recorded>,
) -> (Entry, bool) {
    let rel = PathBuf::from(OsStr::from_bytes(raw));
    if !inside_the_tree(raw) {
        return (entry(rel, kind, Err(OUTSIDE.into())), false);
    }
    let abs = root.join(&rel);
    if sniff && kind == Kind::File {
        return match open_listed(folder, root, raw) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                (entry(rel, kind, Err(MISSING.into())), false)
            }
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                (inspect(&abs, rel, Kind::Symlink, sniff), false)
            }
            Err(e) => (entry(rel, kind, read_head(Err(e))), false),
            Ok(file) => {
                let found = sniff_open_file(&file, None).map_err(|e| format!("cannot read: {e}"));
                // A write while the bytes were being read shows in the status taken after.
                let same = recorded.is_some_and(|r| file.metadata().is_ok_and(|m| r.matches(&m)));
                (entry(rel, kind, found), same)
            }
        };
    }
    match std::fs::symlink_metadata(&abs) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            (entry(rel, kind, Err(MISSING.into())), false)
        }
        // Not the symlink git lists: its blob (the link's target) is read from the object
        // store when judged.
        Ok(meta) if kind == Kind::Symlink && !meta.file_type().is_symlink() => {
            (entry(rel, kind, Err(MISSING.into())), false)
        }
        Ok(meta) => (
            described(rel, &meta),
            recorded.is_some_and(|r| r.matches(&meta)),
        ),
        Err(e) => (entry(rel, kind, Err(format!("cannot stat: {e}"))), false),
    }
}

/// The error of an entry whose path git listed but [`inside_the_tree`] refuses.
const OUTSIDE: &str = "listed by git, but not a path inside the repository; not read";

/// Whether a path git listed stays inside the working tree, as git itself requires of what it
/// adds (`verify_path`): relative, no empty, `.`, `..` or `.git` component. git *reads* an index
/// that breaks this (a hand-made index can list `../x` or `/etc/shadow`), so the walk checks
/// before it joins the path to the root, which an absolute path would replace.
fn inside_the_tree(raw: &[u8]) -> bool {
    !raw.is_empty()
        && raw
            .split(|&b| b == b'/')
            .all(|part| !matches!(part, b"" | b"." | b"..") && !part.eq_ignore_ascii_case(b".git"))
}

fn check_root(root: &Path) -> Result<(), WalkError> {
    let meta = std::fs::metadata(root).map_err(|source| WalkError::Root {
        path: root.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(WalkError::Root {
            path: root.to_path_buf(),
            source: io::Error::from_raw_os_error(libc::ENOTDIR),
        });
    }
    Ok(())
}

/// Which of git's listings [`Walk::judge`] judges.
#[derive(Clone, Copy, Debug)]
pub enum Judged<'a> {
    /// Every file in the index (`git ls-files`): the default scan.
    Index,
    /// The files added, copied, modified or retyped in the index (`git diff --cached`).
    Staged,
    /// The files added, copied, modified or retyped in `BASE...HEAD` (what `HEAD` changed
    /// since it forked from `BASE`), judged as `HEAD`'s blobs.
    Since(&'a str),
}

impl Walk {
    /// The files of one of git's listings, judged by the blobs git stores, in the order git
    /// lists them (by path bytes).
    ///
    /// The index is read natively ([`crate::git_index`]) when its meaning is certain: `root`
    /// holds the repository's `.git` folder, nothing in the environment or the config moves
    /// the work tree or the index, and the index is a plain one of version 2, 3 or 4. Then a
    /// repeated scan whose verdicts are all cached starts no git process: `git ls-files` cost
    /// 60-100 ms of a 0.37 s repeated scan of 100,000 files. Every other index (split or
    /// sparse, `GIT_INDEX_FILE`, a linked work tree or a submodule whose `.git` is a file, a
    /// subfolder, whose listing git limits to it, SHA-256, anything odd) is listed by
    /// `git ls-files -z --stage`, which reads every index git can write; the diffs always are.
    ///
    /// Each entry carries its object id. A verdict found in `cache` (by object id) is used as
    /// is, and nothing is read; the others are read from the working tree, and again from
    /// git's object store where the checkout cannot be trusted to hold the blob
    /// ([`git::untrusted`]: a file changed since it was staged, an end-of-line conversion, a
    /// smudge filter) or is missing. Submodules are entries of their own, with the commit they
    /// pin; symlinks are never followed. Without sniffing, the checkout is only listed: no
    /// blob is read and the cache is not used.
    pub fn judge(
        &self,
        root: &Path,
        which: Judged,
        cache: Option<&mut Cache>,
    ) -> Result<Vec<Entry>, WalkError> {
        self.judge_then(root, which, || cache)
    }

    /// [`Walk::judge`], asking for the verdict cache only once git's listing is in hand: a
    /// caller still reading the configuration that says whether to use one starts the walk
    /// first, and git's index (9 MB at 100,000 files) is read and parsed meanwhile.
    pub fn judge_then<'c>(
        &self,
        root: &Path,
        which: Judged,
        cache: impl FnOnce() -> Option<&'c mut Cache>,
    ) -> Result<Vec<Entry>, WalkError> {
        check_root(root)?;
        let changes = [
            "--raw",
            "-z",
            "--no-abbrev",
            "--no-renames",
            "--diff-filter=ACMT",
            "--relative",
        ];
        let native = match which {
            Judged::Index => git_index::read(root).ok(),
            _ => None,
        };
        let (output, against) = match which {
            Judged::Index if native.is_some() => (Ok(Vec::new()), Against::Recorded),
            Judged::Index => (
                git::run(root, &["ls-files", "-z", "--stage"]),
                Against::Index,
            ),
            Judged::Staged => {
                let args = [&["diff", "--cached"][..], &changes].concat();
                (git::run(root, &args), Against::Index)
            }
            Judged::Since(base) => {
                // A revision, never an option, whatever it starts with.
                let range = format!("{base}...HEAD");
                let args = [&["diff"][..], &changes, &["--end-of-options", &range]].concat();
                (git::run(root, &args), Against::Head)
            }
        };
        let output = output.map_err(WalkError::Git)?;
        let listed = match (&native, which) {
            (Some(index), _) => index.listing(),
            (None, Judged::Index) => git::index_listing(&output),
            _ => git::diff_listing(&output),
        };
        let recorded = match &native {
            Some(index) if self.sniff => index.recorded(),
            _ => Vec::new(),
        };
        let mut cache = cache().filter(|_| self.sniff);
        // Entries judged without reading anything (by index, in order); the others are read.
        let mut known: Vec<(usize, Entry)> = Vec::new();
        let mut unknown: Vec<usize> = Vec::with_capacity(listed.len());
        for (i, l) in listed.iter().enumerate() {
            let rel = || PathBuf::from(OsStr::from_bytes(l.path));
            let found = match (l.kind, l.oid, cache.as_deref_mut()) {
                _ if !inside_the_tree(l.path) => Some(entry(rel(), l.kind, Err(OUTSIDE.into()))),
                (Kind::Submodule, _, _) => Some(entry(rel(), l.kind, Ok((0, None)))),
                (_, Some(oid), Some(cache)) => cache.get(&oid).map(|v| Entry {
                    cached: true,
                    ..entry(rel(), l.kind, Ok((v.size, v.sniff.clone())))
                }),
                _ => None,
            };
            match found {
                Some(e) => known.push((i, with_oid(e, l.oid))),
                None => unknown.push(i),
            }
        }
        if unknown.is_empty() {
            return Ok(known.into_iter().map(|(_, e)| e).collect());
        }
        let todo: Vec<(&Listed, Option<&Recorded>)> = unknown
            .iter()
            .map(|&i| (&listed[i], recorded.get(i).and_then(Option::as_ref)))
            .collect();
        let read = if self.sniff {
            let attributes_tracked = match which {
                Judged::Index => listed.iter().any(|l| is_gitattributes(l.path)),
                _ => git::run(root, &["ls-files", "-z", "--", "*.gitattributes"])
                    .map_err(WalkError::Git)?
                    .split(|&b| b == 0)
                    .any(is_gitattributes),
            };
            self.read_listed(root, &todo, against, attributes_tracked)?
        } else {
            self.in_parallel(&todo, |folder, &(l, _)| {
                with_oid(
                    tracked_entry(folder, root, l.path, l.kind, false, None).0,
                    l.oid,
                )
            })
        };
        if let Some(cache) = cache {
            for (&i, e) in unknown.iter().zip(&read) {
                if let (Some(oid), None) = (listed[i].oid, &e.error) {
                    let sniff = e.sniff.as_deref().cloned();
                    cache.insert(
                        oid,
                        Verdict {
                            size: e.size,
                            sniff,
                        },
                    );
                }
            }
        }
        if known.is_empty() {
            return Ok(read);
        }
        // Both parts back in the listing's order.
        let mut known = known.into_iter().peekable();
        let mut read = read.into_iter();
        Ok((0..listed.len())
            .filter_map(|i| match known.next_if(|(k, _)| *k == i) {
                Some((_, e)) => Some(e),
                None => read.next(),
            })
            .collect())
    }

    /// Reads listed files from the working tree in parallel while git says which checkouts
    /// cannot be trusted, then reads those (and the missing ones) from the object store.
    /// Against the status the native index recorded, the walk compares each checkout itself
    /// (one `fstat` of the file it opens, where `git diff-files` took a second process and an
    /// `lstat` of every file), and one that has no record, or fails it, is not trusted. Each
    /// entry is finished where it is read, in parallel: what is left to this thread is the
    /// few read again from git's object store.
    fn read_listed(
        &self,
        root: &Path,
        todo: &[(&Listed, Option<&Recorded>)],
        against: Against,
        attributes_tracked: bool,
    ) -> Result<Vec<Entry>, WalkError> {
        let paths: Vec<&[u8]> = todo.iter().map(|(l, _)| l.path).collect();
        let (untrusted, mut read) = std::thread::scope(|s| {
            let asked = s.spawn(|| git::untrusted(root, &paths, against, attributes_tracked));
            let read = self.in_parallel(todo, |folder, &(l, recorded)| {
                let (e, as_recorded) =
                    tracked_entry(folder, root, l.path, l.kind, self.sniff, recorded);
                let missing = e.error.as_deref().is_some_and(|err| err.ends_with(MISSING));
                let changed = against == Against::Recorded && !as_recorded;
                (with_oid(e, l.oid), missing || changed)
            });
            let untrusted = asked
                .join()
                .unwrap_or_else(|_| Err("git: the thread asking it panicked".into()));
            (untrusted, read)
        });
        let untrusted = untrusted.map_err(WalkError::Git)?;
        let mut blobs: Option<Blobs> = None;
        for ((l, _), (e, from_blob)) in todo.iter().zip(read.iter_mut()) {
            let Some(oid) = l.oid else { continue };
            if !*from_blob && !untrusted.contains(l.path) {
                continue;
            }
            if blobs.is_none() {
                blobs = Some(Blobs::open(root).map_err(WalkError::Git)?);
            }
            let found = match blobs.as_mut().map(|b| b.sniff(&oid)) {
                // A symlink's blob is its target: sized, never judged as content.
                Some(Ok(Some((size, _)))) if l.kind == Kind::Symlink => Ok((size, None)),
                Some(Ok(Some(found))) => Ok(found),
                Some(Ok(None)) => Err(format!("blob {} is not in the object store", oid.to_hex())),
                Some(Err(err)) => Err(format!("cannot read blob {}: {err}", oid.to_hex())),
                None => unreachable!("opened above"),
            };
            let path = std::mem::take(&mut e.path);
            *e = with_oid(entry(path, l.kind, found), l.oid);
        }
        Ok(read.into_iter().map(|(e, _)| e).collect())
    }
}

fn is_gitattributes(path: &[u8]) -> bool {
    path == b".gitattributes" || path.ends_with(b"/.gitattributes")
}

fn with_oid(mut e: Entry, oid: Option<Oid>) -> Entry {
    e.oid = oid.map(Box::new);
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::io::Read;
    use std::process::Command;

    #[test]
    fn a_listed_file_opens_through_its_folder_as_its_whole_path_would() {
        let one = tempfile::tempdir().unwrap();
        let two = tempfile::tempdir().unwrap();
        for (root, text) in [(one.path(), "one"), (two.path(), "two")] {
            fs::create_dir_all(root.join("a/b")).unwrap();
            fs::write(root.join("a/b/x"), text).unwrap();
            fs::write(root.join("a/y"), text).unwrap();
            fs::write(root.join("top"), text).unwrap();
            fs::write(root.join("file"), text).unwrap();
            std::os::unix::fs::symlink("y", root.join("a/link")).unwrap();
        }
        let mut folder = None;
        let mut read = |root: &Path, raw: &[u8]| {
            open_listed(&mut folder, root, raw).map(|mut f| {
                let mut s = String::new();
                f.read_to_string(&mut s).unwrap();
                s
            })
        };
        // The folder kept belongs to one root: another root's is opened anew.
        for raw in [&b"a/b/x"[..], b"a/y", b"top", b"a/b/x"] {
            assert_eq!(read(one.path(), raw).unwrap(), "one");
            assert_eq!(read(two.path(), raw).unwrap(), "two");
        }
        let mut err = |raw: &[u8]| read(one.path(), raw).unwrap_err().raw_os_error();
        assert_eq!(err(b"a/missing/x"), Some(libc::ENOENT));
        assert_eq!(err(b"a/nothing"), Some(libc::ENOENT));
        assert_eq!(err(b"file/x"), Some(libc::ENOTDIR));
        assert_eq!(err(b"a/link"), Some(libc::ELOOP));
    }

    #[test]
    fn lists_files_relative_to_the_root_and_skips_dot_git_unless_in_tree_mode() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("a/b")).unwrap();
        fs::create_dir_all(dir.path().join(".git")).unwrap();
        fs::write(dir.path().join("a/b/x.txt"), b"hello").unwrap();
        fs::write(dir.path().join(".git/config"), b"x").unwrap();
        fs::write(dir.path().join(".hidden"), b"").unwrap();
        let entries = Walk::new(Mode::All)
            .threads(Some(2))
            .run(dir.path())
            .unwrap();
        let paths: Vec<_> = entries.iter().map(|e| e.path.to_str().unwrap()).collect();
        assert_eq!(paths, [".hidden", "a/b/x.txt"]);
        assert_eq!(entries[1].size, 5);
        // Mode tree is every file, .git included.
        let entries = Walk::new(Mode::Tree).run(dir.path()).unwrap();
        let paths: Vec<_> = entries.iter().map(|e| e.path.to_str().unwrap()).collect();
        assert_eq!(paths, [".git/config", ".hidden", "a/b/x.txt"]);
    }

    #[test]
    fn gitignore_mode_honours_gitignore_without_a_repository() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".gitignore"), b"*.bin\n").unwrap();
        fs::write(dir.path().join("keep.txt"), b"k").unwrap();
        fs::write(dir.path().join("drop.bin"), b"d").unwrap();
        let entries = Walk::new(Mode::Gitignore).run(dir.path()).unwrap();
        let paths: Vec<_> = entries.iter().map(|e| e.path.to_str().unwrap()).collect();
        assert_eq!(paths, [".gitignore", "keep.txt"]);
    }

    #[test]
    fn symlink_loops_do_not_hang_and_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(dir.path(), dir.path().join("loop")).unwrap();
        let entries = Walk::new(Mode::All).run(dir.path()).unwrap();
        assert_eq!(entries.len(), 1);
        assert!(entries[0].kind == Kind::Symlink && entries[0].error.is_none());
    }

    #[test]
    fn sort_by_path_orders_by_bytes_whatever_the_permutation() {
        let names = ["b", "a/c", "a", "é", "B", "a/b", "", "zz", "a-b", "a.b"];
        // Every rotation and its reverse.
        for shift in 0..names.len() {
            for reverse in [false, true] {
                let mut input: Vec<&str> = names
                    .iter()
                    .cycle()
                    .skip(shift)
                    .take(names.len())
                    .copied()
                    .collect();
                if reverse {
                    input.reverse();
                }
                let mut entries: Vec<Entry> = input
                    .iter()
                    .map(|n| entry(PathBuf::from(n), Kind::File, Err(n.to_string())))
                    .collect();
                sort_by_path(&mut entries);
                let mut expected = input.clone();
                expected.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
                let got: Vec<&str> = entries.iter().map(|e| e.path.to_str().unwrap()).collect();
                assert_eq!(got, expected);
                // Each entry moved with its own fields.
                assert!(entries
                    .iter()
                    .all(|e| e.error.as_deref() == e.path.to_str()));
            }
        }
    }

    #[test]
    fn an_entry_stays_small() {
        assert!(std::mem::size_of::<Entry>() <= 72);
    }

    #[test]
    fn inspect_files_keeps_the_order_given_and_reports_what_it_cannot_read() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("b.txt"), b"bee").unwrap();
        std::os::unix::fs::symlink("b.txt", dir.path().join("a-link")).unwrap();
        let paths: [&[u8]; 4] = [b"b.txt", b"gone.txt", b"a-link", b"bad\xff"];
        fs::write(dir.path().join(OsStr::from_bytes(paths[3])), b"x").unwrap();
        let entries = Walk::new(Mode::Git)
            .threads(Some(2))
            .inspect(dir.path(), &paths);
        let got: Vec<&[u8]> = entries.iter().map(path_bytes).collect();
        assert_eq!(got, paths);
        assert_eq!((entries[0].size, entries[0].error.is_none()), (3, true));
        assert!(entries[1].error.as_deref().unwrap().contains("missing"));
        assert!(entries[2].kind == Kind::Symlink && entries[2].error.is_none());
        assert!(entries[3]
            .error
            .as_deref()
            .unwrap()
            .contains("not valid UTF-8"));
    }

    #[test]
    fn paths_that_leave_the_tree_are_listed_but_never_read() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("repo")).unwrap();
        fs::write(dir.path().join("secret"), b"\x93NUMPY\x01\x00").unwrap();
        let root = dir.path().join("repo");
        let secret = dir.path().join("secret");
        let absolute = secret.as_os_str().as_bytes();
        let paths: [&[u8]; 6] = [b"../secret", absolute, b"a//b", b"./x", b".git/config", b""];
        for entry in Walk::new(Mode::Git).threads(Some(2)).inspect(&root, &paths) {
            let error = entry.error.as_deref().unwrap();
            assert!(error.contains("not a path inside"), "{entry:?}");
            assert!(entry.sniff.is_none() && entry.size == 0);
        }
        assert!(inside_the_tree(b"a/b.txt") && inside_the_tree(b".gitignore"));
    }

    #[test]
    fn without_sniffing_sizes_and_kinds_come_from_lstat_alone() {
        let dir = tempfile::tempdir().unwrap();
        // A real numpy header: sniffed as npy only when the file is read.
        let mut npy = b"\x93NUMPY\x01\x00v\x00".to_vec();
        npy.extend_from_slice(b"{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }");
        npy.resize(128, b' ');
        npy[127] = b'\n';
        npy.extend_from_slice(&[0; 16]);
        fs::write(dir.path().join("x.npy"), &npy).unwrap();
        std::os::unix::fs::symlink("x.npy", dir.path().join("link")).unwrap();
        assert!(mkfifo(&dir.path().join("pipe")));
        let sniffed = Walk::new(Mode::All).run(dir.path()).unwrap();
        assert_eq!(sniffed[2].sniff.as_deref().map(|s| s.format), Some("npy"));
        let listed = Walk::new(Mode::All).sniff(false).run(dir.path()).unwrap();
        let got: Vec<_> = listed
            .iter()
            .map(|e| (e.path.to_str().unwrap(), e.kind, e.size, e.sniff.is_some()))
            .collect();
        assert_eq!(
            got,
            [
                ("link", Kind::Symlink, 5, false),
                ("pipe", Kind::Special, 0, false),
                ("x.npy", Kind::File, npy.len() as u64, false),
            ]
        );
        assert!(listed[1].error.as_deref().unwrap().contains("a FIFO"));
        assert!(listed[0].error.is_none() && listed[2].error.is_none());
    }

    /// The `mkfifo` command: no `unsafe` libc call in the tests.
    fn mkfifo(path: &Path) -> bool {
        Command::new("mkfifo").arg(path).status().unwrap().success()
    }

    #[test]
    fn judging_lists_what_is_staged_and_what_head_changed_with_their_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let run = |args: &[&str]| {
            let ok = Command::new("git")
                .arg("-C")
                .arg(root)
                .args([
                    "-c",
                    "user.name=t",
                    "-c",
                    "user.email=t@t",
                    "-c",
                    "commit.gpgsign=false",
                ])
                .args(args)
                .output()
                .unwrap();
            assert!(ok.status.success(), "{:?}", ok);
        };
        run(&["init", "-q"]);
        fs::write(root.join("old.txt"), b"1").unwrap();
        run(&["add", "."]);
        run(&["commit", "-qm", "one"]);
        run(&["branch", "base"]);
        fs::write(root.join("b.txt"), b"2").unwrap();
        std::os::unix::fs::symlink("b.txt", root.join("a-link")).unwrap();
        run(&["add", "."]);
        let walk = Walk::new(Mode::Git).threads(Some(2));
        let listed = |which| {
            let entries = walk.judge(root, which, None).unwrap();
            let got: Vec<_> = entries
                .iter()
                .map(|e| {
                    (
                        e.path.to_str().unwrap().to_string(),
                        e.kind,
                        e.oid.is_some(),
                    )
                })
                .collect();
            got
        };
        let want = [
            ("a-link".to_string(), Kind::Symlink, true),
            ("b.txt".to_string(), Kind::File, true),
        ];
        assert_eq!(listed(Judged::Staged), want);
        run(&["commit", "-qm", "two"]);
        assert_eq!(listed(Judged::Since("base")), want);
        assert!(listed(Judged::Staged).is_empty());
        let err = walk
            .judge(root, Judged::Since("--output=x"), None)
            .unwrap_err();
        assert!(err.to_string().starts_with("git diff failed in"), "{err}");
        assert!(!root.join("x").exists());
    }

    #[test]
    fn empty_folders_are_listed_only_when_asked_and_only_the_empty_ones() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("a/empty")).unwrap();
        fs::create_dir_all(dir.path().join("b/c/d")).unwrap();
        fs::create_dir_all(dir.path().join("full")).unwrap();
        fs::write(dir.path().join("full/x"), b"x").unwrap();
        let listed = |empty| -> Vec<(String, Kind, Option<String>)> {
            Walk::new(Mode::Tree)
                .sniff(false)
                .empty_dirs(empty)
                .threads(Some(2))
                .run(dir.path())
                .unwrap()
                .into_iter()
                .map(|e| {
                    let error = e.error.map(String::from);
                    (e.path.display().to_string(), e.kind, error)
                })
                .collect()
        };
        assert_eq!(listed(false), vec![("full/x".into(), Kind::File, None)]);
        let folder = |p: &str| {
            (
                p.to_string(),
                Kind::Directory,
                Some("an empty folder".into()),
            )
        };
        assert_eq!(
            listed(true),
            vec![
                folder("a/empty"),
                folder("b/c/d"),
                ("full/x".into(), Kind::File, None)
            ]
        );
        // The root itself, empty, is no entry: an empty tree.
        let empty = tempfile::tempdir().unwrap();
        let entries = Walk::new(Mode::Tree).empty_dirs(true).run(empty.path());
        assert!(entries.unwrap().is_empty());
    }

    /// A real numpy header of `len` bytes: sniffed as npy only when the file is read.
    fn npy(len: usize) -> Vec<u8> {
        let mut npy = b"\x93NUMPY\x01\x00v\x00".to_vec();
        npy.extend_from_slice(b"{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }");
        npy.resize(128, b' ');
        npy[127] = b'\n';
        npy.resize(len, 0);
        npy
    }

    /// One cached walk of `root` in mode all: its entries, the cache saved.
    fn cached_walk(root: &Path, cache_file: &Path) -> Vec<Entry> {
        let mut cache = Cache::load(cache_file);
        let walk = Walk::new(Mode::All).threads(Some(2));
        let entries = walk.run_cached(root, Some(&mut cache)).unwrap();
        cache.save().unwrap();
        entries
    }

    /// The cache's time moved a minute on, as if the last scan began then: the files written
    /// by the test are no longer racy.
    fn a_minute_later(cache_file: &Path) {
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
        set_mtime(cache_file, later);
    }

    fn set_mtime(path: &Path, t: std::time::SystemTime) {
        let file = fs::File::options().write(true).open(path).unwrap();
        file.set_modified(t).unwrap();
    }

    fn mtime(path: &Path) -> std::time::SystemTime {
        fs::metadata(path).unwrap().modified().unwrap()
    }

    fn formats(entries: &[Entry]) -> Vec<(&str, Option<&str>, bool)> {
        entries
            .iter()
            .map(|e| {
                let format = e.sniff.as_deref().map(|s| s.format);
                (e.path.to_str().unwrap(), format, e.cached)
            })
            .collect()
    }

    #[test]
    fn a_cached_walk_opens_only_files_whose_status_changed() {
        let dir = tempfile::tempdir().unwrap();
        let (root, cache_file) = (dir.path().join("tree"), dir.path().join("cache"));
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::write(root.join("a.npy"), npy(256)).unwrap();
        fs::write(root.join("sub/b.txt"), vec![b'x'; 256]).unwrap();
        fs::write(root.join("sub/c.txt"), vec![b'y'; 256]).unwrap();
        std::os::unix::fs::symlink("a.npy", root.join("link")).unwrap();
        let first = cached_walk(&root, &cache_file);
        let want = [
            ("a.npy", Some("npy"), false),
            ("link", None, false),
            ("sub/b.txt", None, false),
            ("sub/c.txt", None, false),
        ];
        assert_eq!(formats(&first), want);
        // Written within the racy window of the cache's time: every file read again.
        assert_eq!(formats(&cached_walk(&root, &cache_file)), want);

        a_minute_later(&cache_file);
        let again = cached_walk(&root, &cache_file);
        let cached: Vec<bool> = again.iter().map(|e| e.cached).collect();
        assert_eq!(cached, [true, false, true, true]); // a symlink is never cached
        assert_eq!(
            again
                .iter()
                .map(|e| Entry {
                    cached: false,
                    ..e.clone()
                })
                .collect::<Vec<_>>(),
            first
        );

        // Same size, mtime set back: rewritten in place (the ctime moved), and replaced by a
        // rename (another inode).
        let old = mtime(&root.join("sub/b.txt"));
        fs::write(root.join("sub/b.txt"), npy(256)).unwrap();
        set_mtime(&root.join("sub/b.txt"), old);
        let old = mtime(&root.join("sub/c.txt"));
        fs::write(root.join("new"), npy(256)).unwrap();
        set_mtime(&root.join("new"), old);
        fs::rename(root.join("new"), root.join("sub/c.txt")).unwrap();
        fs::remove_file(root.join("a.npy")).unwrap();
        a_minute_later(&cache_file);
        assert_eq!(
            formats(&cached_walk(&root, &cache_file)),
            [
                ("link", None, false),
                ("sub/b.txt", Some("npy"), false),
                ("sub/c.txt", Some("npy"), false),
            ]
        );
    }

    #[test]
    fn without_sniffing_or_without_a_cache_nothing_is_cached() {
        let dir = tempfile::tempdir().unwrap();
        let (root, cache_file) = (dir.path().join("tree"), dir.path().join("cache"));
        fs::create_dir_all(&root).unwrap();
        fs::write(root.join("a.npy"), npy(256)).unwrap();
        cached_walk(&root, &cache_file);
        a_minute_later(&cache_file);
        let mut cache = Cache::load(&cache_file);
        let listed = Walk::new(Mode::All)
            .sniff(false)
            .run_cached(&root, Some(&mut cache))
            .unwrap();
        assert!(!listed[0].cached && listed[0].sniff.is_none());
        let plain = Walk::new(Mode::All).run(&root).unwrap();
        assert!(!plain[0].cached && plain[0].sniff.is_some());
    }

    #[test]
    fn a_missing_root_is_an_error() {
        assert!(matches!(
            Walk::new(Mode::All).run(Path::new("/nonexistent/x")),
            Err(WalkError::Root { .. })
        ));
    }
}
