//! What git stores, read through git itself: the listings of the index and of a change with
//! each file's object id, which checkouts cannot be trusted to hold the bytes of their blob,
//! and the blobs themselves (`git cat-file --batch`). Only the plain index of a repository's
//! top folder is read without git, by [`crate::git_index`], to the same listing.
//!
//! The scan judges the commit, not the checkout: a file checked out through an end-of-line
//! conversion, a smudge filter (Git LFS), `ident` or a working-tree encoding is not the blob
//! git stores, and neither is a file edited (or deleted) since it was staged. Those are read
//! from the object store; every other file is read from the working tree, where the walk
//! reads it fastest.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::sniff::{sniff_bytes, sniff_open_file, Sniff};
use crate::walk::Kind;

/// A git object id: 20 bytes (SHA-1) or 32 (SHA-256 repositories).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Oid {
    len: u8,
    bytes: [u8; 32],
}

impl Oid {
    /// From 40 or 64 hex digits.
    pub fn from_hex(hex: &[u8]) -> Option<Oid> {
        if hex.len() != 40 && hex.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, pair) in hex.chunks(2).enumerate() {
            let digit = |c: u8| (c as char).to_digit(16);
            bytes[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
        }
        Some(Oid {
            len: (hex.len() / 2) as u8,
            bytes,
        })
    }

    pub fn from_bytes(raw: &[u8]) -> Option<Oid> {
        if raw.len() != 20 && raw.len() != 32 {
            return None;
        }
        let mut bytes = [0u8; 32];
        bytes[..raw.len()].copy_from_slice(raw);
        Some(Oid {
            len: raw.len() as u8,
            bytes,
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.as_bytes())
    }

    /// The all-zero id git prints for "no object" (a deleted side of a diff).
    fn is_null(&self) -> bool {
        self.as_bytes().iter().all(|&b| b == 0)
    }
}

impl std::fmt::Debug for Oid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Runs `git -C root <args>` and returns its output; a failure names the subcommand, the
/// folder and git's last word.
pub fn run<S: AsRef<OsStr>>(root: &Path, args: &[S]) -> Result<Vec<u8>, String> {
    run_git(root, args, false)
}

/// `run` with pathspecs taken literally (`*` and `:` in a file name are not patterns).
fn run_literal(root: &Path, args: &[&OsStr]) -> Result<Vec<u8>, String> {
    run_git(root, args, true)
}

fn run_git<S: AsRef<OsStr>>(root: &Path, args: &[S], literal: bool) -> Result<Vec<u8>, String> {
    let command = args.first().map_or(OsStr::new(""), AsRef::as_ref);
    let command = command.to_string_lossy();
    let mut git = Command::new("git");
    if literal {
        git.env("GIT_LITERAL_PATHSPECS", "1");
    }
    let output = git
        .arg("-C")
        .arg(root)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git {command} in {}: {e}", root.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.trim().lines().last().unwrap_or("").to_string();
        return Err(format!(
            "git {command} failed in {}: {last}",
            root.display()
        ));
    }
    Ok(output.stdout)
}

/// One path of a listing: what git's mode says it is, and the object it names.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Listed<'a> {
    pub path: &'a [u8],
    pub kind: Kind,
    pub oid: Option<Oid>,
}

/// What git's mode for a path says it is: a symlink (120000), a submodule (160000: the oid is
/// the commit it pins, with no content in this repository) or a file.
pub(crate) fn kind_of_mode(mode: u32) -> Kind {
    match mode {
        0o160000 => Kind::Submodule,
        0o120000 => Kind::Symlink,
        _ => Kind::File,
    }
}

/// [`kind_of_mode`] of a mode as git prints it (six octal digits).
fn kind_of_printed_mode(mode: &[u8]) -> Kind {
    let mode = std::str::from_utf8(mode)
        .ok()
        .and_then(|m| u32::from_str_radix(m, 8).ok());
    kind_of_mode(mode.unwrap_or(0))
}

/// The entries of `git ls-files -z --stage` (`<mode> <object> <stage>\t<path>` records), each
/// path once (a conflicted file is listed once per stage: the first is kept).
pub fn index_listing(output: &[u8]) -> Vec<Listed<'_>> {
    let mut listed: Vec<Listed> = Vec::new();
    for record in output.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let Some(tab) = record.iter().position(|&b| b == b'\t') else {
            continue;
        };
        let (meta, path) = (&record[..tab], &record[tab + 1..]);
        let mut fields = meta.split(|&b| b == b' ');
        let (Some(mode), Some(oid)) = (fields.next(), fields.next()) else {
            continue;
        };
        let l = Listed {
            path,
            kind: kind_of_printed_mode(mode),
            oid: Oid::from_hex(oid),
        };
        push_first_stage(&mut listed, l);
    }
    listed
}

/// Adds an entry of the index to a listing unless the last one has its path: a conflicted file
/// is listed once per stage (1 to 3), and the walk keeps the first.
pub(crate) fn push_first_stage<'a>(listed: &mut Vec<Listed<'a>>, l: Listed<'a>) {
    if listed.last().is_none_or(|last| last.path != l.path) {
        listed.push(l);
    }
}

/// The files of `git diff --raw -z --no-renames`: `:<old mode> <new mode> <old id> <new id>
/// <status>` then the path, each ended by NUL. Kind and object are the new side's; a side git
/// has not hashed (the working tree's) has no object.
pub fn diff_listing(output: &[u8]) -> Vec<Listed<'_>> {
    let mut fields = output.split(|&b| b == 0);
    let mut listed = Vec::new();
    while let (Some(meta), Some(path)) = (fields.next(), fields.next()) {
        let Some(meta) = meta.strip_prefix(b":") else {
            break;
        };
        let parts: Vec<&[u8]> = meta.split(|&b| b == b' ').collect();
        let (Some(mode), Some(oid)) = (parts.get(1), parts.get(3)) else {
            continue;
        };
        listed.push(Listed {
            path,
            kind: kind_of_printed_mode(mode),
            oid: Oid::from_hex(oid).filter(|o| !o.is_null()),
        });
    }
    listed
}

/// What the checkout is compared with to tell whether it still holds the judged blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Against {
    /// The index (the default scan and `--staged`): `git diff-files`.
    Index,
    /// The commit HEAD (`--diff`, which judges HEAD's blobs): `git diff-index HEAD`.
    Head,
    /// The index read natively, whose recorded status of each checkout the walk compared
    /// itself ([`crate::git_index::Recorded::matches`]): git is asked only about conversions.
    Recorded,
}

/// The paths among `paths` whose checkout may not hold the bytes of the blob judged: changed
/// since the index (or HEAD), or checked out through a conversion that git's attributes or
/// `core.autocrlf` ask for. `attributes_tracked` says whether the repository tracks a
/// `.gitattributes` file (the caller has the whole listing; `paths` may be a part of it).
pub fn untrusted(
    root: &Path,
    paths: &[&[u8]],
    against: Against,
    attributes_tracked: bool,
) -> Result<HashSet<Vec<u8>>, String> {
    let mut found = changed(root, paths, against)?;
    let config = run(
        root,
        &[
            "config",
            "-z",
            "--get-regexp",
            r"^core\.(autocrlf|eol|attributesfile)$",
        ],
    )
    .unwrap_or_default(); // exit 1: none of them is set
    let setting = |name: &[u8]| -> Option<Vec<u8>> {
        config.split(|&b| b == 0).find_map(|kv| {
            let nl = kv.iter().position(|&b| b == b'\n')?;
            kv[..nl]
                .eq_ignore_ascii_case(name)
                .then(|| kv[nl + 1..].to_ascii_lowercase())
        })
    };
    let autocrlf = setting(b"core.autocrlf").is_some_and(|v| v == b"true" || v == b"input");
    if autocrlf {
        // Any file git takes for text may be converted: none is trusted.
        found.extend(paths.iter().map(|p| p.to_vec()));
        return Ok(found);
    }
    let eol_crlf = setting(b"core.eol").is_some_and(|v| v == b"crlf");
    if attributes_tracked || setting(b"core.attributesfile").is_some() || attribute_files(root) {
        found.extend(converted(root, paths, eol_crlf)?);
    }
    Ok(found)
}

/// Paths whose checkout differs from the index (or HEAD), as git's own stat-and-compare says.
fn changed(root: &Path, paths: &[&[u8]], against: Against) -> Result<HashSet<Vec<u8>>, String> {
    let mut args: Vec<&OsStr> = match against {
        Against::Index => vec!["diff-files".as_ref()],
        Against::Head => vec!["diff-index".as_ref()],
        Against::Recorded => return Ok(HashSet::new()),
    };
    args.extend(["--name-only", "-z", "--relative", "--no-renames"].map(OsStr::new));
    if against == Against::Head {
        args.push("HEAD".as_ref());
    }
    args.push("--".as_ref());
    // Few paths: name them (literally), so git compares only those; many: compare everything.
    const NAMED: usize = 1000;
    let named = paths.len() <= NAMED;
    if named {
        args.extend(paths.iter().map(|p| OsStr::from_bytes(p)));
    }
    let output = run_literal(root, &args)?;
    let wanted: HashSet<&[u8]> = paths.iter().copied().collect();
    Ok(output
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty() && (named || wanted.contains(p)))
        .map(<[u8]>::to_vec)
        .collect())
}

/// Whether an attributes file outside the tree may apply: the repository's
/// `info/attributes`, the user's (`$XDG_CONFIG_HOME/git/attributes`) or the system's.
fn attribute_files(root: &Path) -> bool {
    let info = run(root, &["rev-parse", "--git-path", "info/attributes"]).ok();
    let info = info.map(|out| root.join(OsStr::from_bytes(out.trim_ascii_end())));
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))
        .map(|c| c.join("git/attributes"));
    [info, xdg, Some(PathBuf::from("/etc/gitattributes"))]
        .into_iter()
        .flatten()
        .any(|p| p.is_file())
}

/// Paths whose attributes make the checkout differ from the blob: a `filter` (smudge, as Git
/// LFS does), `ident`, a `working-tree-encoding`, `eol=crlf`, or `text` with `core.eol=crlf`.
fn converted(root: &Path, paths: &[&[u8]], eol_crlf: bool) -> Result<Vec<Vec<u8>>, String> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let mut child = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "check-attr",
            "--stdin",
            "-z",
            "text",
            "eol",
            "filter",
            "ident",
            "working-tree-encoding",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run git check-attr in {}: {e}", root.display()))?;
    let mut input = child.stdin.take().expect("piped");
    // Written from another thread: git answers as it reads, and a full pipe either way would
    // stop both sides.
    let output = std::thread::scope(|s| {
        s.spawn(move || {
            for p in paths {
                if input.write_all(p).and(input.write_all(b"\0")).is_err() {
                    break;
                }
            }
        });
        let mut out = Vec::new();
        child.stdout.take().expect("piped").read_to_end(&mut out)?;
        io::Result::Ok(out)
    })
    .map_err(|e| format!("git check-attr: {e}"))?;
    let status = child.wait().map_err(|e| format!("git check-attr: {e}"))?;
    if !status.success() {
        return Err(format!("git check-attr failed in {}", root.display()));
    }
    let mut found: Vec<Vec<u8>> = Vec::new();
    let mut fields = output.split(|&b| b == 0);
    while let (Some(path), Some(attr), Some(value)) = (fields.next(), fields.next(), fields.next())
    {
        let set = |v: &[u8]| v != b"unspecified" && v != b"unset";
        let converts = match attr {
            b"filter" | b"working-tree-encoding" => set(value),
            b"ident" => value == b"set",
            b"eol" => value == b"crlf",
            b"text" => eol_crlf && (value == b"set" || value == b"auto"),
            _ => false,
        };
        if converts && found.last().is_none_or(|last| last != path) {
            found.push(path.to_vec());
        }
    }
    Ok(found)
}

/// Blobs larger than this are written to a file to be sniffed (containers are read at their
/// end); smaller ones are sniffed in memory.
const IN_MEMORY: u64 = 8 << 20;

/// Reads blobs from git's object store through one `git cat-file --batch`, one at a time, so
/// memory stays at one blob of [`IN_MEMORY`] bytes at most.
pub struct Blobs {
    child: Child,
    input: Option<ChildStdin>,
    output: BufReader<ChildStdout>,
    /// Where a large blob is spilled to be sniffed: the repository's git folder, on the
    /// repository's disk (a checkpoint can be gigabytes, and `/tmp` is often memory).
    spill: PathBuf,
}

static SPILLED: AtomicU64 = AtomicU64::new(0);

impl Blobs {
    pub fn open(root: &Path) -> Result<Blobs, String> {
        let git_dir = run(root, &["rev-parse", "--absolute-git-dir"])?;
        let spill = PathBuf::from(OsStr::from_bytes(git_dir.trim_ascii_end()));
        let mut child = Command::new("git")
            .arg("-C")
            .arg(root)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run git cat-file in {}: {e}", root.display()))?;
        let input = child.stdin.take();
        let output = BufReader::new(child.stdout.take().expect("piped"));
        Ok(Blobs {
            child,
            input,
            output,
            spill,
        })
    }

    /// Asks for `oid`; its size, or `None` when git does not have it.
    fn request(&mut self, oid: &Oid) -> io::Result<Option<u64>> {
        let input = self.input.as_mut().ok_or(io::ErrorKind::BrokenPipe)?;
        writeln!(input, "{}", oid.to_hex())?;
        input.flush()?;
        let mut header = Vec::new();
        self.output.read_until(b'\n', &mut header)?;
        // "<oid> <type> <size>\n", or "<oid> missing\n"
        let text = String::from_utf8_lossy(&header);
        let fields: Vec<&str> = text.split_whitespace().collect();
        match fields.as_slice() {
            [_, _, size] => size
                .parse()
                .map(Some)
                .map_err(|_| io::Error::other(format!("git cat-file: bad header {text:?}"))),
            [_, "missing"] | [_, "ambiguous"] => Ok(None),
            _ => Err(io::Error::other(format!(
                "git cat-file: bad header {text:?}"
            ))),
        }
    }

    /// Reads the `size` bytes of the current blob (and the newline after it) into `out`.
    fn body(&mut self, size: u64, out: &mut impl Write) -> io::Result<()> {
        let copied = io::copy(&mut (&mut self.output).take(size), out)?;
        if copied != size {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let mut newline = [0u8; 1];
        self.output.read_exact(&mut newline)
    }

    /// The size of blob `oid` and what it sniffs as; `None` when git does not have it.
    pub fn sniff(&mut self, oid: &Oid) -> io::Result<Option<(u64, Option<Sniff>)>> {
        let Some(size) = self.request(oid)? else {
            return Ok(None);
        };
        if size <= IN_MEMORY {
            let mut data = Vec::with_capacity(size as usize);
            self.body(size, &mut data)?;
            return Ok(Some((size, sniff_bytes(&data))));
        }
        let file = self.spill_file()?;
        self.body(size, &mut io::BufWriter::new(&file))?;
        Ok(Some(sniff_open_file(&file, size)?))
    }

    /// The first `limit` bytes of blob `oid` (all of it when shorter); `None` when git does not
    /// have it.
    pub fn read(&mut self, oid: &Oid, limit: u64) -> io::Result<Option<Vec<u8>>> {
        let Some(size) = self.request(oid)? else {
            return Ok(None);
        };
        let mut data = Vec::with_capacity(size.min(limit) as usize);
        (&mut self.output)
            .take(size.min(limit))
            .read_to_end(&mut data)?;
        io::copy(
            &mut (&mut self.output).take(size - data.len() as u64),
            &mut io::sink(),
        )?;
        let mut newline = [0u8; 1];
        self.output.read_exact(&mut newline)?;
        Ok(Some(data))
    }

    /// A new file in the git folder, unlinked at once: it lives while it is open and leaves
    /// nothing behind, whatever happens to this process.
    fn spill_file(&self) -> io::Result<File> {
        let n = SPILLED.fetch_add(1, Ordering::Relaxed);
        let path = self
            .spill
            .join(format!("receiptcore-blob-{}-{n}", std::process::id()));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        std::fs::remove_file(&path)?;
        Ok(file)
    }
}

impl Drop for Blobs {
    fn drop(&mut self) {
        drop(self.input.take()); // end of input: cat-file exits
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_round_trip_through_hex_and_refuse_other_lengths() {
        let hex = b"e69de29bb2d1d6434b8b29ae775ad8c2e48c5391";
        let oid = Oid::from_hex(hex).unwrap();
        assert_eq!(oid.to_hex().as_bytes(), hex);
        assert_eq!(Oid::from_bytes(oid.as_bytes()), Some(oid));
        assert!(Oid::from_hex(&[b'a'; 64]).is_some());
        assert!(Oid::from_hex(b"e69de29b").is_none());
        assert!(Oid::from_hex(&[b'g'; 40]).is_none());
    }

    #[test]
    fn the_index_listing_keeps_submodules_with_their_commit_and_one_stage_per_path() {
        let out = b"100644 e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 0\ta.txt\0\
160000 1111111111111111111111111111111111111111 0\tsub\0\
120000 2222222222222222222222222222222222222222 0\tlink\0\
100644 3333333333333333333333333333333333333333 1\tx\0\
100644 4444444444444444444444444444444444444444 2\tx\0";
        let listed = index_listing(out);
        let kinds: Vec<_> = listed.iter().map(|l| (l.path, l.kind)).collect();
        assert_eq!(
            kinds,
            [
                (&b"a.txt"[..], Kind::File),
                (b"sub", Kind::Submodule),
                (b"link", Kind::Symlink),
                (b"x", Kind::File)
            ]
        );
        assert_eq!(listed[1].oid.unwrap().to_hex(), "1".repeat(40));
        assert_eq!(listed[3].oid.unwrap().to_hex(), "3".repeat(40));
    }

    #[test]
    fn the_diff_listing_takes_the_new_side() {
        let zero = "0".repeat(40);
        let new = "5".repeat(40);
        let out =
            format!(":000000 100644 {zero} {new} A\0new.bin\0:100644 160000 {new} {new} T\0sub\0");
        let listed = diff_listing(out.as_bytes());
        assert_eq!(listed.len(), 2);
        assert_eq!(
            (
                listed[0].path,
                listed[0].kind,
                listed[0].oid.unwrap().to_hex()
            ),
            (&b"new.bin"[..], Kind::File, new.clone())
        );
        assert_eq!(listed[1].kind, Kind::Submodule);
        let unhashed = format!(":100644 100644 {new} {zero} M\0edited\0");
        assert_eq!(diff_listing(unhashed.as_bytes())[0].oid, None);
    }
}
