//! Where git run in a folder finds its index, when that is certain: the folder's own `.git`
//! folder, as `setup.c` discovers it, with a config that moves neither the work tree nor the
//! index.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::Fallback;

/// Variables that move the repository, the work tree, the common folder, the object store or
/// the index elsewhere than `root/.git` (a hook runs with `GIT_DIR` and `GIT_INDEX_FILE` set).
const MOVING_VARIABLES: [&str; 5] = [
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
];

/// `root/.git`, when git run in `root` would find exactly that repository, with `root` the top
/// of its work tree and `root/.git/index` its index, as `setup.c` discovers it.
pub(super) fn git_dir(root: &Path) -> Result<PathBuf, Fallback> {
    if MOVING_VARIABLES
        .iter()
        .any(|v| std::env::var_os(v).is_some())
    {
        return Err(
            "GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE, GIT_COMMON_DIR or GIT_OBJECT_DIRECTORY is set",
        );
    }
    let git_dir = root.join(".git");
    let meta = std::fs::symlink_metadata(&git_dir);
    if !meta.as_ref().is_ok_and(|m| m.is_dir()) {
        return Err("no .git folder at the root: a subfolder, a linked work tree or a submodule");
    }
    // git refuses a repository owned by someone else unless `safe.directory` allows it.
    let uid = effective_uid().ok_or("the user id is unknown")?;
    let owned = |m: io::Result<std::fs::Metadata>| m.is_ok_and(|m| m.uid() == uid);
    if !owned(std::fs::metadata(root)) || !owned(meta) {
        return Err("owned by another user: git's safe.directory decides");
    }
    if !is_git_directory(&git_dir) {
        return Err(".git is not a repository git recognises");
    }
    let config = std::fs::read(git_dir.join("config")).map_err(|_| "no readable config")?;
    config_allows(&config)?;
    Ok(git_dir)
}

/// The effective user id, as `/proc` says (elsewhere unknown, and git reads the index).
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `is_git_directory` and `validate_headref`: a `HEAD` that is a symbolic ref into `refs/` or
/// an object id, an `objects` and a `refs` folder; and no `commondir` file (the folder of a
/// linked work tree, whose objects live elsewhere).
fn is_git_directory(git_dir: &Path) -> bool {
    let head = git_dir.join("HEAD");
    let is_file = std::fs::symlink_metadata(&head).is_ok_and(|m| m.is_file());
    let head = std::fs::read(&head).unwrap_or_default();
    let symbolic = head
        .strip_prefix(b"ref:")
        .is_some_and(|r| r.trim_ascii_start().starts_with(b"refs/"));
    let detached = head.len() >= 40 && head[..40].iter().all(u8::is_ascii_hexdigit);
    // `name/.` resolves only through a folder this user may enter: git's `access(X_OK)`.
    let folder = |name: &str| std::fs::metadata(git_dir.join(name).join(".")).is_ok();
    is_file
        && (symbolic || detached)
        && folder("objects")
        && folder("refs")
        && !git_dir.join("commondir").exists()
}

/// Whether the repository's config leaves the work tree at `root` and the index in the usual
/// format: a format version of 0 or 1; no `core.worktree`; `core.bare` and
/// `core.sparseCheckout` unset or false; no extension but those that leave the index alone
/// (`objectFormat` only as `sha1`). The config is read line by line, and whatever this simple
/// reading could take wrongly (a continued line, a quoted or escaped value of one of these
/// keys, a header it does not parse) is left to git.
fn config_allows(config: &[u8]) -> Result<(), Fallback> {
    let unsure = "a config line that only git can read";
    // git skips a byte order mark.
    let config = config.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(config);
    // The section's lowercase name; None in a subsection (`[name "sub"]`), whose keys are
    // never `core.*` or `extensions.*`.
    let mut section: Option<Option<Vec<u8>>> = None;
    for line in config.split(|&b| b == b'\n') {
        let mut line = line.trim_ascii();
        if line.ends_with(b"\\") {
            return Err(unsure);
        }
        if let Some(header) = line.strip_prefix(b"[") {
            let (name, rest) = section_header(header).ok_or(unsure)?;
            section = Some(name);
            line = rest.trim_ascii();
        }
        if line.is_empty() || line[0] == b'#' || line[0] == b';' {
            continue;
        }
        let Some(section) = &section else {
            return Err(unsure); // a key before any section
        };
        let Some(section) = section.as_deref() else {
            continue;
        };
        if section != b"core" && section != b"extensions" {
            continue;
        }
        let key_len = line
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b == b'-'))
            .unwrap_or(line.len());
        if key_len == 0 {
            return Err(unsure);
        }
        let key = line[..key_len].to_ascii_lowercase();
        let rest = line[key_len..].trim_ascii_start();
        let value = match rest.first() {
            None | Some(b'#' | b';') => None,
            Some(b'=') => {
                let value = &rest[1..];
                let value = match value.iter().position(|&b| b == b'#' || b == b';') {
                    Some(comment) => &value[..comment],
                    None => value,
                };
                Some(value.trim_ascii())
            }
            Some(_) => return Err(unsure),
        };
        let relevant = match (section, key.as_slice()) {
            (b"core", b"repositoryformatversion" | b"worktree" | b"bare" | b"sparsecheckout") => {
                true
            }
            (b"core", _) => false,
            _ => true,
        };
        if !relevant {
            continue;
        }
        if value.is_some_and(|v| v.contains(&b'"') || v.contains(&b'\\')) {
            return Err(unsure);
        }
        let is_false = value.is_some_and(|v| {
            matches!(
                v.to_ascii_lowercase().as_slice(),
                b"false" | b"no" | b"off" | b"0"
            )
        });
        match (section, key.as_slice()) {
            (b"core", b"repositoryformatversion") => {
                if !matches!(value, Some(b"0" | b"1")) {
                    return Err("a repository format version other than 0 or 1");
                }
            }
            (b"core", b"worktree") => return Err("core.worktree moves the work tree"),
            (b"core", b"bare") if !is_false => return Err("core.bare: no work tree"),
            (b"core", b"sparsecheckout") if !is_false => {
                return Err("sparse checkout: git may collapse the index into directories")
            }
            (b"core", _) => {}
            (_, b"objectformat") if value == Some(b"sha1") => {}
            (_, b"objectformat") => return Err("object ids other than SHA-1"),
            (_, b"noop" | b"preciousobjects" | b"partialclone" | b"refstorage") => {}
            _ => return Err("a repository extension that may change what git reads"),
        }
    }
    Ok(())
}

/// A section header after its `[`: the section's lowercase name (None for a subsection) and
/// what follows the `]` on the line. None: not a header this reading is sure of.
fn section_header(header: &[u8]) -> Option<(Option<Vec<u8>>, &[u8])> {
    let name_len = header
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'.'))?;
    let (name, rest) = header.split_at(name_len);
    if let Some(rest) = rest.strip_prefix(b"]") {
        return Some((Some(name.to_ascii_lowercase()), rest));
    }
    let quoted = rest.trim_ascii_start().strip_prefix(b"\"")?;
    let mut escaped = false;
    for (i, &b) in quoted.iter().enumerate() {
        match (escaped, b) {
            (false, b'\\') => escaped = true,
            (false, b'"') => return Some((None, quoted[i + 1..].strip_prefix(b"]")?)),
            _ => escaped = false,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::tests::{git, git_output};
    use super::*;

    fn allows(config: &str) -> Result<(), Fallback> {
        config_allows(config.as_bytes())
    }

    #[test]
    fn the_config_git_init_writes_is_allowed() {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &[b"init", b"-q"]);
        let config = std::fs::read(dir.path().join(".git/config")).unwrap();
        assert_eq!(config_allows(&config), Ok(()));
        assert_eq!(git_dir(dir.path()), Ok(dir.path().join(".git")));
        assert!(allows(
            "[core]\n\trepositoryformatversion = 1\n\tbare = false\n\tfilemode = true\n\
             [extensions]\n\tobjectFormat = sha1\n\tpartialClone = origin\n\
             [remote \"origin\"]\n\turl = \"x ; y\"\n\tworktree = elsewhere\n\
             [alias]\n\tbare = true\n[core \"sub\"]\n\tworktree = x\n"
        )
        .is_ok());
        assert!(allows("\u{feff}[core]\n\tbare = false\n").is_ok());
    }

    #[test]
    fn a_config_that_moves_the_work_tree_or_changes_the_index_is_left_to_git() {
        for config in [
            "[core]\n\tworktree = /elsewhere\n",
            "[CORE]\n\tWorkTree = /elsewhere\n",
            "[core] worktree = /elsewhere\n",
            "[core]\n\tbare = true\n",
            "[core]\n\tbare\n",
            "[core]\n\tbare = \"false\"\n",
            "[core]\n\trepositoryformatversion = 2\n",
            "[core]\n\tsparseCheckout = true\n",
            "[extensions]\n\tobjectFormat = sha256\n",
            "[extensions]\n\tworktreeConfig = true\n",
            "[extensions]\n\tsomethingNew = 1\n",
            // A continued line may hide a header or a key.
            "[alias]\n\tx = \"a \\\n[core]\"\n",
            "\u{feff}[core]\n\tworktree = /elsewhere\n",
            "worktree = /elsewhere\n",
            "[core]\n\t= x\n",
            "[core\n",
            "[ core ]\n",
        ] {
            assert!(allows(config).is_err(), "{config:?} was allowed");
        }
    }

    #[test]
    fn repositories_found_elsewhere_than_the_roots_own_dot_git_are_left_to_git() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("main");
        std::fs::create_dir(&root).unwrap();
        git(&root, &[b"init", b"-q"]);
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/a"), b"a").unwrap();
        git(&root, &[b"add", b"-A"]);
        git(&root, &[b"commit", b"-qm", b"a"]);
        // A subfolder: git lists what is under it.
        assert!(git_dir(&root.join("sub")).is_err());
        // A linked work tree: `.git` is a file.
        let linked = dir.path().join("linked");
        git(
            &root,
            &[
                b"worktree",
                b"add",
                b"-q",
                linked.as_os_str().as_encoded_bytes(),
            ],
        );
        assert!(git_dir(&linked).is_err());
        // Not a repository git recognises: git looks further up.
        let fake = dir.path().join("fake");
        std::fs::create_dir_all(fake.join(".git")).unwrap();
        assert!(git_dir(&fake).is_err());
        // A SHA-256 repository, when this git makes one.
        let sha256 = dir.path().join("sha256");
        std::fs::create_dir(&sha256).unwrap();
        if git_output(&sha256, &[b"init", b"-q", b"--object-format=sha256"])
            .status
            .success()
        {
            assert_eq!(git_dir(&sha256).err(), Some("object ids other than SHA-1"));
        }
        // A worktree set in the config.
        git(&root, &[b"config", b"core.worktree", b"/elsewhere"]);
        assert_eq!(
            git_dir(&root).err(),
            Some("core.worktree moves the work tree")
        );
    }
}
