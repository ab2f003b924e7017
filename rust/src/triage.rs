//! The scan's first pass over a walk: which files any file rule could flag, and which lie
//! below a forbidden directory.
//!
//! It runs on every file of the tree (100,000 and more), where a Python loop costs about 1 µs a
//! file; here it is a few byte comparisons. What to look for (extensions, the size limit, the
//! directory names) is the scan's policy and comes from its configuration.

use sha2::{Digest, Sha256};

pub struct Triage {
    /// Lowercased suffixes, e.g. `.safetensors`, by their last byte: a name is compared with
    /// the few that end as it does (at 100,000 files every comparison saved counts).
    extensions: [Vec<Vec<u8>>; 256],
    max_size: u64,
    /// Lowercased folder names, e.g. `datasets`.
    forbidden_dirs: Vec<Vec<u8>>,
}

impl Triage {
    pub fn new(extensions: &[&str], max_size: u64, forbidden_dirs: &[&str]) -> Self {
        let lower = |items: &[&str]| -> Vec<Vec<u8>> {
            items
                .iter()
                .map(|e| e.to_ascii_lowercase().into_bytes())
                .collect()
        };
        let mut by_last: [Vec<Vec<u8>>; 256] = std::array::from_fn(|_| Vec::new());
        for ext in lower(extensions) {
            if let Some(&last) = ext.last() {
                by_last[usize::from(last)].push(ext);
            }
        }
        Triage {
            extensions: by_last,
            max_size,
            forbidden_dirs: lower(forbidden_dirs),
        }
    }

    /// True when a file rule could flag this file: its content or kind was recognised (a
    /// submodule), it could not be read, it is over the size limit, or its name ends with a
    /// watched extension (compared without regard to ASCII case). Everything else is cleared
    /// without more work.
    pub fn needs_rules(&self, path: &[u8], size: u64, recognised: bool, failed: bool) -> bool {
        recognised || failed || size > self.max_size || self.has_extension(path)
    }

    fn has_extension(&self, path: &[u8]) -> bool {
        let Some(&last) = path.last() else {
            return false;
        };
        self.extensions[usize::from(last.to_ascii_lowercase())]
            .iter()
            .any(|ext| {
                path.len() >= ext.len() && path[path.len() - ext.len()..].eq_ignore_ascii_case(ext)
            })
    }

    /// The topmost folder of `path` (a '/'-separated path relative to the root) whose name is
    /// forbidden, with a trailing '/': `a/datasets/x/f.csv` gives `a/datasets/`. Names are
    /// compared without regard to ASCII case, as a checkout on macOS or Windows would open
    /// `Datasets/` for `datasets/`.
    pub fn forbidden_dir<'p>(&self, path: &'p [u8]) -> Option<&'p [u8]> {
        if self.forbidden_dirs.is_empty() {
            return None;
        }
        let mut start = 0;
        // Only folders count: the last component is the file's own name.
        for end in memchr::memchr_iter(b'/', path) {
            let name = &path[start..end];
            if self
                .forbidden_dirs
                .iter()
                .any(|d| d.eq_ignore_ascii_case(name))
            {
                return Some(&path[..=end]);
            }
            start = end + 1;
        }
        None
    }
}

/// What lies below one forbidden directory, summed without holding its files: how many, their
/// bytes, the first path, and a digest of the listing (each file's path and object id, or size
/// outside git), so that a directory that gains or changes a file reads as new content.
pub struct DirSummary {
    pub dir: Vec<u8>,
    pub files: usize,
    pub bytes: u64,
    pub first: Vec<u8>,
    listing: Sha256,
}

impl DirSummary {
    pub fn new(dir: &[u8]) -> DirSummary {
        DirSummary {
            dir: dir.to_vec(),
            files: 0,
            bytes: 0,
            first: Vec::new(),
            listing: Sha256::new(),
        }
    }

    /// Adds a file below the directory; files come in path order.
    pub fn add(&mut self, path: &[u8], size: u64, oid: Option<&str>) {
        if self.files == 0 {
            self.first = path.to_vec();
        }
        self.files += 1;
        self.bytes = self.bytes.saturating_add(size);
        self.listing.update(path);
        self.listing.update(b"\0");
        match oid {
            Some(oid) => self.listing.update(oid.as_bytes()),
            None => self.listing.update(size.to_string().as_bytes()),
        }
        self.listing.update(b"\n");
    }

    /// `sha256:<hex>` of the listing.
    pub fn digest(self) -> String {
        format!("sha256:{}", hex::encode(self.listing.finalize()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn triage() -> Triage {
        Triage::new(&[".pt", ".Safetensors"], 100, &["datasets", "Corpus"])
    }

    #[test]
    fn ordinary_small_files_need_no_rules() {
        let t = triage();
        assert!(!t.needs_rules(b"src/main.py", 100, false, false));
        assert!(!t.needs_rules(b"pt", 0, false, false));
        assert!(!t.needs_rules(b"notes.ptx", 0, false, false));
    }

    #[test]
    fn each_reason_is_enough() {
        let t = triage();
        assert!(t.needs_rules(b"a.txt", 101, false, false));
        assert!(t.needs_rules(b"a.txt", 1, true, false));
        assert!(t.needs_rules(b"a.txt", 1, false, true));
        assert!(t.needs_rules(b"model.PT", 1, false, false));
        assert!(t.needs_rules(b"m/x.safetensors", 1, false, false));
    }

    #[test]
    fn forbidden_dir_is_the_topmost_folder_never_the_file_name() {
        let t = triage();
        assert_eq!(
            t.forbidden_dir(b"a/datasets/corpus/f"),
            Some(&b"a/datasets/"[..])
        );
        assert_eq!(t.forbidden_dir(b"corpus/f"), Some(&b"corpus/"[..]));
        assert_eq!(t.forbidden_dir(b"a/datasets"), None);
        assert_eq!(t.forbidden_dir(b"datasets"), None);
        assert_eq!(t.forbidden_dir(b"my_datasets/f"), None);
        assert_eq!(t.forbidden_dir(b"x/DataSets/f"), Some(&b"x/DataSets/"[..]));
        assert_eq!(t.forbidden_dir(b""), None);
        assert_eq!(Triage::new(&[], 0, &[]).forbidden_dir(b"datasets/f"), None);
    }

    #[test]
    fn a_directory_summary_changes_with_any_file_below_it() {
        let summary = |files: &[(&[u8], u64, Option<&str>)]| {
            let mut s = DirSummary::new(b"datasets/");
            for (path, size, oid) in files {
                s.add(path, *size, *oid);
            }
            (s.files, s.bytes, s.first.clone(), s.digest())
        };
        let one = summary(&[
            (b"datasets/a", 3, Some("aa")),
            (b"datasets/b", 4, Some("bb")),
        ]);
        assert_eq!((one.0, one.1, one.2.as_slice()), (2, 7, &b"datasets/a"[..]));
        assert!(one.3.starts_with("sha256:"));
        let changed = summary(&[
            (b"datasets/a", 3, Some("aa")),
            (b"datasets/b", 4, Some("cc")),
        ]);
        let grown = summary(&[(b"datasets/a", 3, None), (b"datasets/b", 5, None)]);
        assert_ne!(one.3, changed.3);
        assert_ne!(one.3, grown.3);
    }
}
