//! The walk's git mode reads the index natively (`_core::git_index`) or, when that reader
//! leaves it to git, through `git ls-files -z --stage`, and either way lists whatever names the
//! index holds: git refuses to *add* `../x` or `/etc/passwd`, but reads an index that lists
//! them. An index is a file anyone who hands over a checkout can write, so it is fuzzed like
//! any hostile input: a real index (regular files, a symlink, a submodule, odd names) is parsed
//! into its entries, which are edited as a hand-made index could be (names that climb out,
//! start at `/` or enter `.git`, odd modes and stages, repeats, reordering), written back in
//! git's format with its SHA-1 trailer (so git reads past its checksum), at times with byte
//! mutations on top, then walked. No panic, no file outside the repository is read (each
//! tracked name has a twin of weights one folder up, and a listed path that is absolute or
//! climbs out must be an entry with an error, never opened), and an index the native reader
//! takes is one git reads, to the same listing byte for byte.

use std::path::{Component, Path};
use std::process::Command;

use std::os::unix::ffi::OsStrExt;

use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use sha1::{Digest, Sha1};

use _core::git_index;
use _core::walk::{Mode, Walk};

use crate::config;
use crate::mutate::{apply, mutations, Sample};

fn git(root: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What a file outside the repository holds: weights (a safetensors file), which a sniff
/// would report, so that reading one shows.
const OUTSIDE: &[u8] =
    b"\x36\0\0\0\0\0\0\0{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}\0\0\0\0";

/// A repository in `root/repo` whose index lists the usual kinds of entry, and a file beside
/// it, `root/outside.bin`, that an escaping path would reach.
fn repository(root: &Path) -> std::path::PathBuf {
    let repo = root.join("repo");
    std::fs::create_dir_all(repo.join("dir")).unwrap();
    git(&repo, &["init", "-q", "."]);
    for (name, data) in [
        ("a.txt", &b"hello\n"[..]),
        ("dir/b.bin", b"\x93NUMPY\x01\x00"),
        ("space name.txt", b"x"),
        ("tab\tname", b"y"),
    ] {
        std::fs::write(repo.join(name), data).unwrap();
    }
    std::os::unix::fs::symlink("a.txt", repo.join("link")).unwrap();
    git(&repo, &["add", "-A"]);
    git(
        &repo,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            "160000,0123456789abcdef0123456789abcdef01234567,sub",
        ],
    );
    std::fs::write(root.join("outside.bin"), OUTSIDE).unwrap();
    repo
}

/// One entry of an index (format version 2): the 40 bytes of stat data, the mode, the object
/// id, the stage and the name.
#[derive(Clone, Debug)]
struct IndexEntry {
    stat: [u8; 40],
    oid: [u8; 20],
    stage: u16,
    name: Vec<u8>,
}

fn parse_index(index: &[u8]) -> Vec<IndexEntry> {
    let count = u32::from_be_bytes(index[8..12].try_into().unwrap()) as usize;
    let mut at = 12;
    let mut out = Vec::new();
    for _ in 0..count {
        let flags = u16::from_be_bytes(index[at + 60..at + 62].try_into().unwrap());
        let name_len = (flags & 0xfff) as usize;
        out.push(IndexEntry {
            stat: index[at..at + 40].try_into().unwrap(),
            oid: index[at + 40..at + 60].try_into().unwrap(),
            stage: (flags >> 12) & 3,
            name: index[at + 62..at + 62 + name_len].to_vec(),
        });
        at += (62 + name_len + 8) & !7;
    }
    out
}

/// The index git would write for `entries` (version 2, no extensions), SHA-1 trailer included.
fn write_index(entries: &[IndexEntry]) -> Vec<u8> {
    let mut out = b"DIRC\0\0\0\x02".to_vec();
    out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    for e in entries {
        let start = out.len();
        out.extend_from_slice(&e.stat);
        out.extend_from_slice(&e.oid);
        let flags = (e.stage << 12) | e.name.len().min(0xfff) as u16;
        out.extend_from_slice(&flags.to_be_bytes());
        out.extend_from_slice(&e.name);
        let len = out.len() - start;
        out.resize(start + ((len + 8) & !7), 0);
    }
    let digest = Sha1::digest(&out);
    out.extend_from_slice(&digest);
    out
}

const MODES: &[u32] = &[
    0o100644, 0o100755, 0o120000, 0o160000, 0o040000, 0, 0o777777,
];

/// What a hand-made index can say that git would never write: names that climb out, start at
/// the root or enter `.git`, odd modes and stages, repeated and reordered entries.
#[derive(Clone, Debug)]
enum Edit {
    Prefix { entry: u8, token: u8 },
    Name { entry: u8, token: u8 },
    Byte { entry: u8, at: u8, byte: u8 },
    Mode { entry: u8, mode: u8 },
    Stage { entry: u8, stage: u8 },
    Repeat { entry: u8 },
    Swap { a: u8, b: u8 },
}

fn edit() -> impl Strategy<Value = Edit> {
    let e = any::<u8>();
    prop_oneof![
        3 => (e, any::<u8>()).prop_map(|(entry, token)| Edit::Prefix { entry, token }),
        2 => (e, any::<u8>()).prop_map(|(entry, token)| Edit::Name { entry, token }),
        1 => (e, any::<u8>(), any::<u8>()).prop_map(|(entry, at, byte)| Edit::Byte { entry, at, byte }),
        1 => (e, any::<u8>()).prop_map(|(entry, mode)| Edit::Mode { entry, mode }),
        1 => (e, 0u8..4).prop_map(|(entry, stage)| Edit::Stage { entry, stage }),
        1 => e.prop_map(|entry| Edit::Repeat { entry }),
        1 => (e, any::<u8>()).prop_map(|(a, b)| Edit::Swap { a, b }),
    ]
}

fn apply_edits(base: &[IndexEntry], edits: &[Edit], tokens: &[Vec<u8>]) -> Vec<IndexEntry> {
    let mut entries = base.to_vec();
    for edit in edits {
        let n = entries.len();
        let pick = |i: u8| i as usize % n;
        let token = |t: u8| tokens[t as usize % tokens.len()].clone();
        match *edit {
            Edit::Prefix { entry, token: t } => {
                let name = &mut entries[pick(entry)].name;
                name.splice(0..0, token(t));
            }
            Edit::Name { entry, token: t } => entries[pick(entry)].name = token(t),
            Edit::Byte { entry, at, byte } => {
                let name = &mut entries[pick(entry)].name;
                let at = at as usize % (name.len() + 1);
                name.insert(at, byte);
            }
            Edit::Mode { entry, mode } => {
                let mode = MODES[mode as usize % MODES.len()];
                entries[pick(entry)].stat[24..28].copy_from_slice(&mode.to_be_bytes());
            }
            Edit::Stage { entry, stage } => entries[pick(entry)].stage = stage as u16,
            Edit::Repeat { entry } => {
                let copy = entries[pick(entry)].clone();
                entries.push(copy);
            }
            Edit::Swap { a, b } => entries.swap(pick(a), pick(b)),
        }
    }
    entries
}

/// `data` with its last 20 bytes replaced by the SHA-1 of the rest, as git checks an index.
fn with_checksum(mut data: Vec<u8>) -> Vec<u8> {
    let body = data.len().saturating_sub(20);
    let digest = Sha1::digest(&data[..body]);
    data.truncate(body);
    data.extend_from_slice(&digest);
    data
}

fn escapes(path: &Path) -> bool {
    path.as_os_str().is_empty()
        || path
            .components()
            .any(|c| !matches!(c, Component::Normal(name) if name != ".git"))
}

#[test]
fn hostile_git_indexes_are_read_without_panic_or_escape() {
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("fuzz: git is not installed: the git index is not fuzzed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let repo = repository(dir.path());
    let index_path = repo.join(".git/index");
    let real = std::fs::read(&index_path).unwrap();
    let entries = parse_index(&real);
    assert_eq!(
        write_index(&entries),
        real,
        "the index writer writes what git wrote"
    );
    // Each tracked name has a twin one folder up, so `../name` reaches a file that exists.
    for e in &entries {
        let twin = dir.path().join(std::ffi::OsStr::from_bytes(&e.name));
        std::fs::create_dir_all(twin.parent().unwrap()).unwrap();
        std::fs::write(&twin, OUTSIDE).unwrap();
    }
    let outside = dir.path().join("outside.bin");
    let tokens: Vec<Vec<u8>> = [
        &b"../"[..],
        b"/",
        b"./",
        b".git/",
        b"..",
        b"a//",
        b"../../",
        b"\n",
    ]
    .iter()
    .map(|t| t.to_vec())
    .chain([
        outside.as_os_str().as_bytes().to_vec(),
        b"../outside.bin".to_vec(),
    ])
    .collect();
    let strategy = (
        prop::collection::vec(edit(), 1..6),
        prop::option::weighted(0.2, mutations()),
    );
    let mut runner = TestRunner::new(config(96));
    runner
        .run(&strategy, |(edits, bytes)| {
            let mut index = write_index(&apply_edits(&entries, &edits, &tokens));
            if let Some(m) = bytes {
                index = with_checksum(apply(&Sample::new("index", index), &m, &[]));
            }
            std::fs::write(&index_path, index).unwrap();
            if let Ok(native) = git_index::read(&repo) {
                let git = Command::new("git")
                    .arg("-C")
                    .arg(&repo)
                    .args(["ls-files", "-z", "--stage"])
                    .output()
                    .unwrap();
                let stderr = String::from_utf8_lossy(&git.stderr);
                prop_assert!(
                    git.status.success(),
                    "read natively, refused by git: {stderr}"
                );
                let printed: Vec<u8> = native
                    .entries()
                    .flat_map(|e| git_index::stage_line(&e))
                    .collect();
                prop_assert_eq!(printed, git.stdout);
            }
            if let Ok(listed) = Walk::new(Mode::Git).threads(Some(2)).run(&repo) {
                for entry in listed.iter().filter(|e| escapes(&e.path)) {
                    prop_assert!(
                        entry.sniff.is_none() && entry.size == 0 && entry.error.is_some(),
                        "{:?} is outside the repository, yet was read: {entry:?}",
                        entry.path
                    );
                }
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("walking a repository with a mutated index: {e}"));
}
