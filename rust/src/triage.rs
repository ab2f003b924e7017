//! The scan's first pass over a walk: which files any file rule could flag, and which lie
//! below a forbidden directory.
//!
//! It runs on every file of the tree (100,000 and more), where a Python loop costs about 1 µs a
//! file; here it is a few byte comparisons. What to look for (extensions, the size limit, the
//! directory names) is the scan's policy and comes from its configuration.

pub struct Triage {
    /// Lowercased suffixes, e.g. `.safetensors`.
    extensions: Vec<Vec<u8>>,
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
        Triage {
            extensions: lower(extensions),
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
        self.extensions.iter().any(|ext| {
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
        while let Some(slash) = path[start..].iter().position(|&b| b == b'/') {
            let end = start + slash;
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
}
