//! Which files contain any of a few byte strings: the scan's first pass for the rare lines a
//! Python parser then reads properly (literal dynamic imports). Files are read whole, in
//! parallel; one that cannot be read contains nothing.

use std::path::Path;

use memchr::memmem::Finder;
use rayon::prelude::*;

/// For each of `paths`, whether it contains one of `needles`.
pub fn files_containing<P: AsRef<Path> + Sync>(paths: &[P], needles: &[&[u8]]) -> Vec<bool> {
    let finders: Vec<Finder> = needles.iter().map(Finder::new).collect();
    paths
        .par_iter()
        .map(|path| {
            std::fs::read(path)
                .map(|data| finders.iter().any(|f| f.find(&data).is_some()))
                .unwrap_or(false)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_any_needle_and_nothing_in_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.py");
        let b = dir.path().join("b.py");
        std::fs::write(&a, b"x = __import__('os')\n").unwrap();
        std::fs::write(&b, b"import os\n").unwrap();
        let missing = dir.path().join("gone.py");
        let needles: [&[u8]; 2] = [b"import_module", b"__import__"];
        assert_eq!(
            files_containing(&[&a, &b, &missing], &needles),
            [true, false, false]
        );
    }
}
