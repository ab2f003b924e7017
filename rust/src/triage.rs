//! The scan's first pass over a walk: which files any file rule could flag, and which lie
//! below a forbidden directory.
//!
//! It runs on every file of the tree (100,000 and more), where a Python loop costs about 1 µs a
//! file; here it is a few byte comparisons. What to look for (extensions, the size limit, the
//! directory names) is the scan's policy and comes from its configuration.

use std::collections::HashSet;

pub struct Triage<'a> {
    /// Lowercased suffixes, e.g. `.safetensors`.
    extensions: Vec<Vec<u8>>,
    max_size: u64,
    forbidden_dirs: HashSet<&'a [u8]>,
}

impl<'a> Triage<'a> {
    pub fn new(extensions: &[&str], max_size: u64, forbidden_dirs: &[&'a str]) -> Self {
        Triage {
            extensions: extensions
                .iter()
                .map(|e| e.to_lowercase().into_bytes())
                .collect(),
            max_size,
            forbidden_dirs: forbidden_dirs.iter().map(|d| d.as_bytes()).collect(),
        }
    }

    /// True when a file rule could flag this file: content was recognised, it could not be
    /// read, it is over the size limit, or its name ends with a watched extension (compared
    /// without regard to ASCII case). Everything else is cleared without more work.
    pub fn needs_rules(&self, path: &[u8], size: u64, sniffed: bool, failed: bool) -> bool {
        sniffed || failed || size > self.max_size || self.has_extension(path)
    }

    fn has_extension(&self, path: &[u8]) -> bool {
        self.extensions.iter().any(|ext| {
            path.len() >= ext.len() && path[path.len() - ext.len()..].eq_ignore_ascii_case(ext)
        })
    }

    /// The topmost folder of `path` (a '/'-separated path relative to the root) whose name is
    /// forbidden, with a trailing '/': `a/datasets/x/f.csv` gives `a/datasets/`.
    pub fn forbidden_dir<'p>(&self, path: &'p [u8]) -> Option<&'p [u8]> {
        if self.forbidden_dirs.is_empty() {
            return None;
        }
        let mut start = 0;
        // Only folders count: the last component is the file's own name.
        while let Some(slash) = path[start..].iter().position(|&b| b == b'/') {
            let end = start + slash;
            if self.forbidden_dirs.contains(&path[start..end]) {
                return Some(&path[..=end]);
            }
            start = end + 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn triage() -> Triage<'static> {
        Triage::new(&[".pt", ".Safetensors"], 100, &["datasets", "corpus"])
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
        assert_eq!(t.forbidden_dir(b""), None);
        assert_eq!(Triage::new(&[], 0, &[]).forbidden_dir(b"datasets/f"), None);
    }
}
