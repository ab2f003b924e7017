//! The git index read from `.git/index` without starting git, for the default scan: a scan
//! whose verdicts are all cached then runs no git process at all (`git ls-files` took 60-100 ms
//! of a 0.37 s repeated scan of 100,000 files).
//!
//! The listing must be exactly what `git ls-files -z --stage` prints (path bytes, mode, object
//! id, stage, in index order), so this reader takes only the indexes whose meaning is certain
//! and leaves every other one to git ([`Fallback`] says why). The repository must be the one
//! git finds at `root` (`repository.rs`: `root/.git` a folder git takes for a repository, owned
//! by this user, no `GIT_DIR` and the like in the environment, a config that moves neither the
//! work tree nor the index, SHA-1 objects), and the index must be of format version 2, 3 or 4,
//! with no split-index or sparse-directory part, and parse to its last byte without a doubt.
//! The format is git's `Documentation/gitformat-index.adoc`, read as `read-cache.c`
//! (`create_from_disk`, `read_index_extension`) reads it; git does not verify the trailing
//! checksum when it reads (only `git fsck` does), so neither does this.

use std::fs::Metadata;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::git::{kind_of_mode, push_first_stage, Listed, Oid};

mod repository;

/// Why the index is left to git: a reason for a person, never an error.
pub type Fallback = &'static str;

/// SHA-1 object ids, the only ones read here (a SHA-256 repository is left to git).
const HASH_LEN: usize = 20;
/// ctime, mtime, dev, ino, mode, uid, gid, size (32-bit each, the times two): then the id.
const STAT_LEN: usize = 40;
const MODE_AT: usize = 24;
const FLAGS_AT: usize = STAT_LEN + HASH_LEN;
/// Flags: the 12-bit name length, 0xFFF meaning "this long or longer, up to the NUL".
const NAME_MASK: u16 = 0x0FFF;
const EXTENDED: u16 = 0x4000;
const STAGE_SHIFT: u16 = 12;
/// The extended flags git knows (skip-worktree, intent-to-add); any other bit makes git die.
const KNOWN_EXTENDED: u16 = 0x6000;
/// A directory's mode: only sparse indexes hold one.
const DIRECTORY: u32 = 0o040000;
const TYPE_MASK: u32 = 0o170000;
const REGULAR: u32 = 0o100000;

/// One entry of the index: what `git ls-files --stage` prints of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexEntry<'a> {
    pub path: &'a [u8],
    pub mode: u32,
    pub oid: Oid,
    pub stage: u8,
}

/// The entries of an index, in its order; names are kept in one buffer (version 4 rebuilds
/// each from the one before it, so they cannot borrow from the file).
#[derive(Debug, Default)]
pub struct Index {
    names: Vec<u8>,
    entries: Vec<Stored>,
    /// When the index file was last written (its mtime, in seconds), for the racy-entry rule;
    /// `None` when no file was read, and no entry is then vouched for.
    written: Option<i64>,
}

#[derive(Debug)]
struct Stored {
    name_end: usize,
    mode: u32,
    oid: Oid,
    stage: u8,
    recorded: Recorded,
}

/// The status of a checkout that the index recorded when git last saw it hold the entry's blob
/// (`struct stat_data`, each field cut to 32 bits as git stores it). The device is left out:
/// git compares it only when built with `USE_STDEV`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recorded {
    ctime: (u32, u32),
    mtime: (u32, u32),
    ino: u32,
    mode: u32,
    uid: u32,
    gid: u32,
    size: u32,
}

impl Recorded {
    fn parse(fixed: &[u8]) -> Recorded {
        let field = |i: usize| be32(fixed, 4 * i);
        Recorded {
            ctime: (field(0), field(1)),
            mtime: (field(2), field(3)),
            // field(4): the device.
            ino: field(5),
            mode: field(6),
            uid: field(7),
            gid: field(8),
            size: field(9),
        }
    }

    /// Whether `meta` (the `fstat` of the file opened, the `lstat` of a symlink) is the status
    /// recorded: then the checkout still holds the blob, as `git diff-files` judges it (git's
    /// `ce_match_stat_basic`), only more strictly: nanoseconds, ctime, owner, inode and a
    /// regular file's executable bit always count, whatever `core.trustctime`,
    /// `core.checkStat` or `core.fileMode` say, and an entry git was told to assume unchanged
    /// is compared too. A file that fails is read from git's object store, so being strict
    /// costs time, never a wrong verdict.
    pub fn matches(&self, meta: &Metadata) -> bool {
        let cut = |v: i64| v as u32;
        let file = self.mode & TYPE_MASK == REGULAR;
        self.mode & TYPE_MASK == meta.mode() & TYPE_MASK
            && (!file || (self.mode ^ meta.mode()) & 0o100 == 0)
            && self.mtime == (cut(meta.mtime()), cut(meta.mtime_nsec()))
            && self.ctime == (cut(meta.ctime()), cut(meta.ctime_nsec()))
            && self.ino == meta.ino() as u32
            && self.uid == meta.uid()
            && self.gid == meta.gid()
            && self.size == meta.size() as u32
    }
}

impl Index {
    /// Every entry, conflicted paths once per stage, as `git ls-files --stage` lists them.
    pub fn entries(&self) -> impl Iterator<Item = IndexEntry<'_>> {
        let starts = std::iter::once(0).chain(self.entries.iter().map(|s| s.name_end));
        self.entries
            .iter()
            .zip(starts)
            .map(|(s, start)| IndexEntry {
                path: &self.names[start..s.name_end],
                mode: s.mode,
                oid: s.oid,
                stage: s.stage,
            })
    }

    /// The walk's listing: each path once (a conflicted file keeps its first stage), as
    /// [`crate::git::index_listing`] makes it from git's output.
    pub fn listing(&self) -> Vec<Listed<'_>> {
        let mut listed: Vec<Listed> = Vec::with_capacity(self.entries.len());
        for e in self.entries() {
            let l = Listed {
                path: e.path,
                kind: kind_of_mode(e.mode),
                oid: Some(e.oid),
            };
            push_first_stage(&mut listed, l);
        }
        listed
    }

    /// For each path of [`Index::listing`], the status the index recorded of its checkout,
    /// where that record can vouch for it: not for a conflicted path, and not for a racy entry,
    /// one modified in the second the index was written or later (git's racy-git rule, taken
    /// by whole seconds as git built without `USE_NSEC` takes it, the stricter way): a change
    /// made in that second could have left size and times as recorded.
    pub fn recorded(&self) -> Vec<Option<Recorded>> {
        let mut recorded: Vec<Option<Recorded>> = Vec::with_capacity(self.entries.len());
        let mut previous: Option<&[u8]> = None;
        for (e, stored) in self.entries().zip(&self.entries) {
            if previous == Some(e.path) {
                // Another stage of a conflicted path, listed once: nothing vouches for it.
                if let Some(last) = recorded.last_mut() {
                    *last = None;
                }
                continue;
            }
            previous = Some(e.path);
            let racy = self
                .written
                .is_none_or(|w| w <= i64::from(stored.recorded.mtime.0));
            recorded.push((e.stage == 0 && !racy).then_some(stored.recorded));
        }
        recorded
    }
}

/// The index of the repository whose work tree is `root`, or why git must read it.
pub fn read(root: &Path) -> Result<Index, Fallback> {
    let git_dir = repository::git_dir(root)?;
    let mut file = match std::fs::File::open(git_dir.join("index")) {
        Ok(file) => file,
        // git reads a missing index as an empty one (a repository just made).
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Index::default()),
        Err(_) => return Err("the index cannot be read"),
    };
    // git replaces the index by renaming a new file over it: the file opened stays the one
    // whose time is taken.
    let meta = file.metadata().map_err(|_| "the index cannot be read")?;
    // Sized once: a growing buffer would copy a large index (9 MB at 100,000 files) over again.
    let mut data = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0).saturating_add(1));
    file.read_to_end(&mut data)
        .map_err(|_| "the index cannot be read")?;
    let mut index = parse(&data)?;
    index.written = Some(meta.mtime());
    Ok(index)
}

fn be16(data: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([data[at], data[at + 1]])
}

fn be32(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

const TRUNCATED: Fallback = "the index is truncated or its entries overrun it";

/// An index file's entries, or why git must read it.
pub fn parse(data: &[u8]) -> Result<Index, Fallback> {
    if data.len() < 12 + HASH_LEN {
        return Err(TRUNCATED);
    }
    if &data[..4] != b"DIRC" {
        return Err("not an index (bad signature)");
    }
    let version = be32(data, 4);
    if !(2..=4).contains(&version) {
        return Err("an index format version other than 2, 3 and 4");
    }
    let count = be32(data, 8) as usize;
    // Entries and extensions end where the checksum begins.
    let end = data.len() - HASH_LEN;
    let body = &data[..end];
    // An entry takes at least 62 bytes (63 in version 4): a hostile count cannot reserve more.
    let mut index = Index {
        names: Vec::with_capacity(end),
        entries: Vec::with_capacity(count.min(end / 62)),
        written: None,
    };
    // Version 4 rebuilds each name from the one before, so a small hostile file could spell
    // names of quadratic size; no real index comes near 16 times its size in names (a path
    // would have to take over 1 KiB for every 64 bytes of its entry), and one that does is
    // left to git.
    let budget = data.len().saturating_mul(16).saturating_add(1 << 20);
    let mut at = 12;
    let mut previous_len: usize = 0;
    for i in 0..count {
        let fixed = body.get(at..at + FLAGS_AT + 2).ok_or(TRUNCATED)?;
        let mode = be32(fixed, MODE_AT);
        let oid = Oid::from_bytes(&fixed[STAT_LEN..FLAGS_AT]).ok_or(TRUNCATED)?;
        let flags = be16(fixed, FLAGS_AT);
        let mut name_at = at + FLAGS_AT + 2;
        if flags & EXTENDED != 0 {
            if version < 3 {
                return Err("extended flags in a version 2 index");
            }
            let extended = body.get(name_at..name_at + 2).ok_or(TRUNCATED)?;
            if be16(extended, 0) & !KNOWN_EXTENDED != 0 {
                return Err("extended flags git does not know");
            }
            name_at += 2;
        }
        let length = usize::from(flags & NAME_MASK);
        let start = index.names.len();
        if version == 4 {
            // The name is the previous one less `strip` bytes, then a NUL-ended suffix; the
            // first entry's `strip` is ignored, as git ignores it.
            let (strip, used) = varint(body.get(name_at..).ok_or(TRUNCATED)?)?;
            name_at += used;
            let suffix_len = memchr::memchr(0, &body[name_at..]).ok_or(TRUNCATED)?;
            let keep = match i {
                0 => 0,
                _ => previous_len.checked_sub(strip).ok_or(TRUNCATED)?,
            };
            if length != usize::from(NAME_MASK) && length != keep + suffix_len {
                return Err("a name length that disagrees with the name");
            }
            if start + keep + suffix_len > budget {
                return Err("names many times the size of the index");
            }
            index
                .names
                .extend_from_within(start - previous_len..start - previous_len + keep);
            index
                .names
                .extend_from_slice(&body[name_at..name_at + suffix_len]);
            at = name_at + suffix_len + 1;
        } else {
            let rest = body.get(name_at..).ok_or(TRUNCATED)?;
            let name_len = memchr::memchr(0, rest).ok_or(TRUNCATED)?;
            // git copies `length` bytes when the field holds the length: a NUL elsewhere
            // would cut the name git prints, so that index is git's to read.
            if length != usize::from(NAME_MASK) && length != name_len {
                return Err("a name length that disagrees with the name");
            }
            index.names.extend_from_slice(&rest[..name_len]);
            // Padded with 1 to 8 NULs to a multiple of 8 bytes from the entry's start.
            at += (name_at - at + name_len + 8) & !7;
            if at > end {
                return Err(TRUNCATED);
            }
        }
        let name = &index.names[start..];
        if mode & TYPE_MASK == DIRECTORY || name.ends_with(b"/") {
            return Err("a sparse directory entry");
        }
        previous_len = name.len();
        index.entries.push(Stored {
            name_end: index.names.len(),
            mode,
            oid,
            stage: ((flags >> STAGE_SHIFT) & 3) as u8,
            recorded: Recorded::parse(fixed),
        });
    }
    extensions(&body[at..])?;
    Ok(index)
}

/// Checks the extensions after the entries: each optional (an uppercase signature, which git
/// ignores or reads for speed only) but for a split index (`link`), a sparse index (`sdir`) and
/// the offsets git may load entries from in parallel (`EOIE`, `IEOT`); together filling
/// exactly the space before the checksum.
fn extensions(mut rest: &[u8]) -> Result<(), Fallback> {
    while !rest.is_empty() {
        let header = rest.get(..8).ok_or(TRUNCATED)?;
        let size = be32(header, 4) as usize;
        let next = 8usize.checked_add(size).filter(|&n| n <= rest.len());
        match &header[..4] {
            b"link" => return Err("a split index"),
            b"sdir" => return Err("a sparse index"),
            b"EOIE" | b"IEOT" => return Err("an index with entry offsets for parallel loading"),
            [first, ..] if first.is_ascii_uppercase() => {}
            _ => return Err("an index extension git must understand"),
        }
        rest = &rest[next.ok_or(TRUNCATED)?..];
    }
    Ok(())
}

/// git's variable-length integer (`decode_varint`, as in pack offsets): the value and the bytes
/// it took. One that overflows 64 bits, which git reads as 0 without moving on, is git's.
fn varint(data: &[u8]) -> Result<(usize, usize), Fallback> {
    let mut bytes = data.iter();
    let mut c = *bytes.next().ok_or(TRUNCATED)?;
    let mut value = u64::from(c & 127);
    let mut used = 1;
    while c & 128 != 0 {
        value += 1;
        if value >> 57 != 0 {
            return Err("a name prefix length that overflows");
        }
        c = *bytes.next().ok_or(TRUNCATED)?;
        used += 1;
        value = (value << 7) + u64::from(c & 127);
    }
    let value = usize::try_from(value).map_err(|_| "a name prefix length that overflows")?;
    Ok((value, used))
}

/// An entry as `git ls-files -z --stage` prints it: `<mode> <object> <stage>\t<path>\0`.
pub fn stage_line(e: &IndexEntry) -> Vec<u8> {
    let mut line = format!("{:06o} {} {}\t", e.mode, e.oid.to_hex(), e.stage).into_bytes();
    line.extend_from_slice(e.path);
    line.push(0);
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;
    use std::process::Command;

    /// Runs git in `root` (a user and no signing for commits) and returns what it printed.
    pub(super) fn git(root: &Path, args: &[&[u8]]) -> Vec<u8> {
        let out = git_output(root, args);
        assert!(
            out.status.success(),
            "git {:?}: {}",
            args.iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>(),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    pub(super) fn git_output(root: &Path, args: &[&[u8]]) -> std::process::Output {
        let settings = [
            "user.name=t",
            "user.email=t@t",
            "commit.gpgsign=false",
            "init.defaultBranch=main",
        ];
        let mut command = Command::new("git");
        command.arg("-C").arg(root);
        for s in settings {
            command.args(["-c", s]);
        }
        command
            .args(args.iter().map(|a| std::ffi::OsStr::from_bytes(a)))
            .output()
            .unwrap()
    }

    fn write(root: &Path, name: &[u8], data: &[u8]) {
        let path = root.join(std::ffi::OsStr::from_bytes(name));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }

    /// What `git ls-files -z --stage` would print, from the native reading.
    fn printed(index: &Index) -> Vec<u8> {
        index.entries().flat_map(|e| stage_line(&e)).collect()
    }

    /// The native listing of `root` is byte for byte git's.
    fn assert_reads_as_git_does(root: &Path) -> Index {
        let index = read(root).unwrap_or_else(|why| panic!("left to git: {why}"));
        let want = git(root, &[b"ls-files", b"-z", b"--stage"]);
        assert_eq!(
            String::from_utf8_lossy(&printed(&index)),
            String::from_utf8_lossy(&want)
        );
        assert_eq!(printed(&index), want);
        index
    }

    fn version(root: &Path) -> u32 {
        be32(&std::fs::read(root.join(".git/index")).unwrap(), 4)
    }

    const EMPTY_BLOB: &str = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391";

    /// A repository with files in folders, an executable, a symlink, a submodule (an embedded
    /// repository added as a gitlink), names that are not UTF-8 or hold a tab, a newline or a
    /// space, many names sharing long prefixes, and one name longer than the 12-bit length
    /// field (0xFFF) can hold, committed.
    fn varied(root: &Path) {
        git(root, &[b"init", b"-q"]);
        write(root, b"a.txt", b"hello\n");
        write(root, b"bin/run", b"#!/bin/sh\n");
        std::fs::set_permissions(
            root.join("bin/run"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink("a.txt", root.join("link")).unwrap();
        write(root, b"caf\xe9/\xff\xfe.bin", b"latin-1");
        write(root, b"odd/tab\there", b"t");
        write(root, b"odd/new\nline", b"n");
        write(root, b"odd/space name", b"s");
        for i in 0..40 {
            let name = format!("deep/models/checkpoints/epoch-{i:03}/weights.bin");
            write(root, name.as_bytes(), name.as_bytes());
        }
        let sub = root.join("sub");
        std::fs::create_dir(&sub).unwrap();
        git(&sub, &[b"init", b"-q"]);
        write(&sub, b"x", b"x");
        git(&sub, &[b"add", b"x"]);
        git(&sub, &[b"commit", b"-qm", b"sub"]);
        git(root, &[b"add", b"-A"]);
        let long = vec!["d".repeat(200); 25].join("/");
        assert!(long.len() > 0xFFF);
        let blob = git(root, &[b"hash-object", b"-w", b"a.txt"]);
        let blob = String::from_utf8(blob).unwrap();
        let info = format!("100644,{},{long}", blob.trim());
        git(
            root,
            &[b"update-index", b"--add", b"--cacheinfo", info.as_bytes()],
        );
        git(root, &[b"commit", b"-qm", b"varied"]);
    }

    #[test]
    fn every_format_version_reads_as_git_ls_files_prints_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        varied(root);
        // (Version 3 only when an entry has extended flags: git writes 2 otherwise.)
        for v in ["2", "4"] {
            git(root, &[b"update-index", b"--index-version", v.as_bytes()]);
            assert_eq!(version(root).to_string(), v);
            let index = assert_reads_as_git_does(root);
            let kinds: Vec<_> = index
                .listing()
                .iter()
                .filter(|l| l.path == b"sub" || l.path == b"link" || l.path == b"a.txt")
                .map(|l| l.kind)
                .collect();
            use crate::walk::Kind;
            assert_eq!(kinds, [Kind::File, Kind::Symlink, Kind::Submodule]);
        }
    }

    #[test]
    fn intent_to_add_and_skip_worktree_entries_read_as_git_lists_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        varied(root);
        write(root, b"later.txt", b"not yet staged\n");
        git(root, &[b"add", b"-N", b"later.txt"]);
        git(root, &[b"update-index", b"--skip-worktree", b"a.txt"]);
        assert_eq!(version(root), 3, "extended flags need version 3");
        assert_reads_as_git_does(root);
        git(root, &[b"update-index", b"--index-version", b"4"]);
        assert_eq!(version(root), 4);
        let index = assert_reads_as_git_does(root);
        let later = index.entries().find(|e| e.path == b"later.txt").unwrap();
        assert_eq!(
            later.oid.to_hex(),
            EMPTY_BLOB,
            "an intent to add is the empty blob"
        );
    }

    #[test]
    fn a_conflict_lists_every_stage_and_the_walk_keeps_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &[b"init", b"-q"]);
        write(root, b"x", b"base\n");
        write(root, b"y", b"same\n");
        git(root, &[b"add", b"-A"]);
        git(root, &[b"commit", b"-qm", b"base"]);
        git(root, &[b"checkout", b"-qb", b"other"]);
        write(root, b"x", b"theirs\n");
        git(root, &[b"commit", b"-qam", b"theirs"]);
        git(root, &[b"checkout", b"-q", b"main"]);
        write(root, b"x", b"ours\n");
        git(root, &[b"commit", b"-qam", b"ours"]);
        assert!(!git_output(root, &[b"merge", b"-q", b"other"])
            .status
            .success());
        for v in ["2", "4"] {
            git(root, &[b"update-index", b"--index-version", v.as_bytes()]);
            let index = assert_reads_as_git_does(root);
            let stages: Vec<_> = index.entries().map(|e| (e.path, e.stage)).collect();
            assert_eq!(stages, [(&b"x"[..], 1), (b"x", 2), (b"x", 3), (b"y", 0)]);
            let listed = index.listing();
            let first = index.entries().next().unwrap();
            assert_eq!(listed.len(), 2);
            assert_eq!(
                (listed[0].path, listed[0].oid),
                (first.path, Some(first.oid))
            );
        }
    }

    #[test]
    fn a_missing_or_emptied_index_lists_nothing_as_git_does() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &[b"init", b"-q"]);
        assert!(!root.join(".git/index").exists());
        assert_eq!(assert_reads_as_git_does(root).entries().count(), 0);
        write(root, b"a", b"a");
        git(root, &[b"add", b"a"]);
        git(root, &[b"commit", b"-qm", b"a"]);
        git(root, &[b"rm", b"-q", b"--cached", b"a"]);
        assert_eq!(be32(&std::fs::read(root.join(".git/index")).unwrap(), 8), 0);
        assert_eq!(assert_reads_as_git_does(root).entries().count(), 0);
    }

    #[test]
    fn split_and_sparse_indexes_are_left_to_git() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        varied(root);
        git(root, &[b"update-index", b"--split-index"]);
        assert_eq!(read(root).err(), Some("a split index"));
        git(root, &[b"update-index", b"--no-split-index"]);
        assert_reads_as_git_does(root);
        let sparse = git_output(
            root,
            &[b"sparse-checkout", b"init", b"--cone", b"--sparse-index"],
        );
        if !sparse.status.success() {
            eprintln!("this git has no sparse index: not tested");
            return;
        }
        git(root, &[b"sparse-checkout", b"set", b"bin"]);
        let index = std::fs::read(root.join(".git/index")).unwrap();
        assert!(
            index.windows(4).any(|w| w == b"sdir"),
            "git wrote a sparse index"
        );
        // Already refused by the config (sparse checkout), and by the index itself.
        assert!(read(root).is_err());
        assert!(
            parse(&index).is_err(),
            "a folder entry and the sdir extension"
        );
    }

    /// Writes `data` as the index of `root`; when the native reading takes it, git must print
    /// exactly that listing (git does not check the checksum either). Whether it was taken.
    fn assert_never_misread(root: &Path, data: &[u8]) -> bool {
        std::fs::write(root.join(".git/index"), data).unwrap();
        let Ok(index) = read(root) else {
            return false;
        };
        let git = git_output(root, &[b"ls-files", b"-z", b"--stage"]);
        assert!(
            git.status.success(),
            "read natively, refused by git: {}",
            String::from_utf8_lossy(&git.stderr)
        );
        assert_eq!(printed(&index), git.stdout);
        true
    }

    #[test]
    fn a_truncated_or_damaged_index_is_left_to_git_or_read_as_git_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &[b"init", b"-q"]);
        for name in ["a", "dir/b", "dir/c.bin", "z"] {
            write(root, name.as_bytes(), name.as_bytes());
        }
        git(root, &[b"add", b"-A"]);
        git(root, &[b"commit", b"-qm", b"c"]);
        write(root, b"n", b"n");
        git(root, &[b"add", b"-N", b"n"]);
        for v in ["3", "4"] {
            git(root, &[b"update-index", b"--index-version", v.as_bytes()]);
            let whole = std::fs::read(root.join(".git/index")).unwrap();
            let truncated =
                (0..whole.len()).filter(|&len| assert_never_misread(root, &whole[..len]));
            // A cut can leave a consistent index (the entries, and 20 bytes of an optional
            // extension taken for the checksum): git lists it too, the same.
            assert!(truncated.count() < 3);
            let mut taken = 0;
            for at in 0..whole.len() - HASH_LEN {
                let mut damaged = whole.clone();
                damaged[at] ^= 0x81;
                taken += usize::from(assert_never_misread(root, &damaged));
            }
            // Stat data and object ids are taken as they are, as git takes them.
            assert!(taken > 0 && taken < whole.len() - HASH_LEN);
            std::fs::write(root.join(".git/index"), &whole).unwrap();
            assert_reads_as_git_does(root);
        }
    }

    #[test]
    fn extensions_git_must_understand_or_loads_by_offset_are_left_to_it() {
        let header = |count: u32| {
            let mut h = b"DIRC\0\0\0\x02".to_vec();
            h.extend_from_slice(&count.to_be_bytes());
            h
        };
        let with = |ext: &[u8], size: u32, body: &[u8]| {
            let mut data = header(0);
            data.extend_from_slice(ext);
            data.extend_from_slice(&size.to_be_bytes());
            data.extend_from_slice(body);
            data.extend_from_slice(&[0; HASH_LEN]);
            data
        };
        assert!(parse(&with(b"TREE", 0, b"")).is_ok());
        assert!(
            parse(&with(b"ZZZZ", 3, b"abc")).is_ok(),
            "optional: ignored"
        );
        assert_eq!(
            parse(&with(b"abcd", 0, b"")).err(),
            Some("an index extension git must understand")
        );
        assert_eq!(parse(&with(b"link", 0, b"")).err(), Some("a split index"));
        assert_eq!(parse(&with(b"sdir", 0, b"")).err(), Some("a sparse index"));
        assert!(parse(&with(b"EOIE", 0, b"")).is_err());
        assert!(parse(&with(b"IEOT", 0, b"")).is_err());
        assert_eq!(parse(&with(b"TREE", 4, b"abc")).err(), Some(TRUNCATED));
        let mut v5 = header(0);
        v5[7] = 5;
        v5.extend_from_slice(&[0; HASH_LEN]);
        assert!(parse(&v5).is_err());
        let mut not = header(0);
        not[0] = b'X';
        not.extend_from_slice(&[0; HASH_LEN]);
        assert!(parse(&not).is_err());
    }

    #[test]
    fn version_4_names_cannot_grow_past_a_budget() {
        // One 4,000-byte name, then 5,000 entries that each repeat it (strip 0, no suffix):
        // 20 MB of names from a 330 kB file.
        let mut data = b"DIRC\0\0\0\x04".to_vec();
        data.extend_from_slice(&5001u32.to_be_bytes());
        let entry = |data: &mut Vec<u8>, suffix: &[u8]| {
            let mut stat = [0; STAT_LEN];
            stat[MODE_AT..MODE_AT + 4].copy_from_slice(&0o100644u32.to_be_bytes());
            data.extend_from_slice(&stat);
            data.extend_from_slice(&[1; HASH_LEN]);
            data.extend_from_slice(&NAME_MASK.to_be_bytes());
            data.push(0); // strip nothing
            data.extend_from_slice(suffix);
            data.push(0);
        };
        entry(&mut data, &[b'a'; 4000]);
        for _ in 0..5000 {
            entry(&mut data, b"");
        }
        data.extend_from_slice(&[0; HASH_LEN]);
        assert_eq!(
            parse(&data).err(),
            Some("names many times the size of the index")
        );
        // The same index with few entries is read.
        let few = data.len() - HASH_LEN - 4990 * (STAT_LEN + HASH_LEN + 4);
        let mut few = data[..few].to_vec();
        few[8..12].copy_from_slice(&11u32.to_be_bytes());
        few.extend_from_slice(&[0; HASH_LEN]);
        let index = parse(&few).unwrap();
        assert_eq!(index.entries().count(), 11);
        assert!(index
            .entries()
            .all(|e| e.path == [b'a'; 4000] && e.mode == 0o100644));
    }

    #[test]
    fn only_settled_unconflicted_entries_vouch_for_their_checkout() {
        // Version 2 entries (name, stage, mtime in seconds), padded to 8 bytes each.
        let entries: [(&[u8], u16, u32); 4] = [
            (b"a", 0, 100),
            (b"b", 0, 200),
            (b"c", 1, 100),
            (b"c", 2, 100),
        ];
        let mut data = b"DIRC\0\0\0\x02".to_vec();
        data.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        for (name, stage, mtime) in entries {
            let start = data.len();
            let mut stat = [0; STAT_LEN];
            stat[8..12].copy_from_slice(&mtime.to_be_bytes());
            stat[MODE_AT..MODE_AT + 4].copy_from_slice(&0o100644u32.to_be_bytes());
            data.extend_from_slice(&stat);
            data.extend_from_slice(&[1; HASH_LEN]);
            let flags = (stage << STAGE_SHIFT) | name.len() as u16;
            data.extend_from_slice(&flags.to_be_bytes());
            data.extend_from_slice(name);
            let padded = (data.len() - start + 8) & !7;
            data.resize(start + padded, 0);
        }
        data.extend_from_slice(&[0; HASH_LEN]);
        let mut index = parse(&data).unwrap();
        assert_eq!(index.listing().len(), 3);
        assert_eq!(
            index.recorded(),
            [None, None, None],
            "no file read: no time"
        );
        index.written = Some(200);
        let recorded = index.recorded();
        assert!(recorded[0].is_some_and(|r| r.mtime == (100, 0)));
        assert_eq!(recorded[1..], [None, None], "b is racy, c conflicted");
    }

    #[test]
    fn varints_decode_as_git_decodes_them_and_overflow_is_refused() {
        // git's encoding: each continuation adds one before shifting.
        assert_eq!(varint(&[0x05]), Ok((5, 1)));
        assert_eq!(varint(&[0x7f]), Ok((127, 1)));
        assert_eq!(varint(&[0x80, 0x00]), Ok((128, 2)));
        assert_eq!(varint(&[0x81, 0x7f]), Ok((383, 2)));
        assert!(varint(&[0x80]).is_err());
        assert!(varint(&[0xff; 12]).is_err());
    }
}
