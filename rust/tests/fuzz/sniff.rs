//! Every `sniff` format, fed structure-aware mutations of its real samples: no panic, and a
//! file is never read past the documented bounds (4 KiB head, 64-byte tail, 8 MiB at computed
//! offsets: `docs/sniff.md`), counted by the kernel's own tally of bytes this thread read.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};

use proptest::prelude::*;
use proptest::test_runner::TestRunner;

use _core::sniff::{sniff_bytes, sniff_open_file, sniff_path, HEAD, TAIL, TARGETED_BUDGET};

use crate::mutate::{apply, mutations, Sample};
use crate::{config, seeds};

/// The most bytes one sniff of one file may read (`docs/sniff.md`, "What is read").
const READ_BOUND: u64 = HEAD as u64 + TAIL as u64 + TARGETED_BUDGET;

#[test]
fn unmutated_samples_sniff_as_their_format() {
    for (expected, sample) in seeds::sniff_samples() {
        let got = sniff_bytes(&sample.bytes).map(|s| s.format.to_string());
        assert_eq!(
            got, expected,
            "sample {} (the seed table names its format)",
            sample.name
        );
    }
}

#[test]
fn mutated_samples_never_panic() {
    let all = seeds::sniff_samples();
    let samples: Vec<&Sample> = all.iter().map(|(_, s)| s).collect();
    let others: Vec<Sample> = all
        .iter()
        .map(|(_, s)| Sample::new(&s.name, s.bytes.clone()))
        .collect();
    for sample in samples {
        let mut runner = TestRunner::new(config(1));
        runner
            .run(&mutations(), |m| {
                let data = apply(sample, &m, &others);
                let _ = sniff_bytes(&data);
                Ok(())
            })
            .unwrap_or_else(|e| panic!("sniff of a mutated {}: {e}", sample.name));
    }
}

/// Bytes this thread has read from files so far (`rchar` of /proc/thread-self/io), or None
/// where the kernel does not count them.
fn bytes_read() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/io").ok()?;
    let line = text.lines().find(|l| l.starts_with("rchar:"))?;
    line["rchar:".len()..].trim().parse().ok()
}

/// Bytes one sniff of `file` read: the tally's difference, less what reading the tally costs.
fn read_by_sniff(file: &File) -> Option<u64> {
    let a = bytes_read()?;
    let b = bytes_read()?;
    let overhead = b - a;
    let before = bytes_read()?;
    let result = sniff_open_file(file, None);
    let after = bytes_read()?;
    assert!(
        result.is_ok(),
        "sniffing a readable file failed: {result:?}"
    );
    Some((after - before).saturating_sub(overhead))
}

#[test]
fn mutated_samples_are_read_within_the_documented_bounds() {
    if bytes_read().is_none() {
        eprintln!("fuzz: /proc/thread-self/io is not available: read bounds not measured");
        return;
    }
    let all = seeds::sniff_samples();
    let others: Vec<Sample> = all
        .iter()
        .map(|(_, s)| Sample::new(&s.name, s.bytes.clone()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    // Grown sparse (a header can then point far into the file, past what any budget allows),
    // with the sample's last KiB copied to the new end (footers: zip, Lance).
    let grow = (0u64..=24 << 20, any::<bool>());
    for (_, sample) in &all {
        let mut runner = TestRunner::new(config(16));
        runner
            .run(&(mutations(), grow.clone()), |(m, (extra, footer))| {
                let data = apply(sample, &m, &others);
                let path = dir.path().join("sample");
                let mut file = File::create(&path).unwrap();
                file.write_all(&data).unwrap();
                if extra > 0 {
                    let end = data.len() as u64 + extra;
                    if footer {
                        let tail = &data[data.len().saturating_sub(1024)..];
                        file.seek(SeekFrom::Start(end)).unwrap();
                        file.write_all(tail).unwrap();
                    } else {
                        file.set_len(end).unwrap();
                    }
                }
                drop(file);
                let file = File::open(&path).unwrap();
                let read = read_by_sniff(&file).unwrap();
                prop_assert!(
                    read <= READ_BOUND,
                    "{} bytes read from a {}-byte file (bound {READ_BOUND})",
                    read,
                    file.metadata().unwrap().len()
                );
                Ok(())
            })
            .unwrap_or_else(|e| panic!("reading a mutated {}: {e}", sample.name));
    }
}

/// A store folder with one of its files mutated: `sniff(dir)` looks at a few state files only,
/// each within the bounds of a file.
#[test]
fn mutated_store_folders_never_panic() {
    for (format, root) in seeds::sniff_dirs() {
        assert_eq!(
            sniff_path(&root)
                .unwrap()
                .map(|s| s.format.to_string())
                .as_deref(),
            Some(format.as_str()),
            "the {format} folder sample"
        );
        let files: Vec<_> = walk(&root);
        let samples: Vec<Sample> = files
            .iter()
            .map(|p| Sample::new(p.display().to_string(), std::fs::read(p).unwrap()))
            .collect();
        let mut runner = TestRunner::new(config(8));
        runner
            .run(
                &(any::<prop::sample::Index>(), mutations()),
                |(which, m)| {
                    let copy = tempfile::tempdir().unwrap();
                    copy_tree(&root, copy.path());
                    let i = which.index(files.len());
                    let target = copy.path().join(files[i].strip_prefix(&root).unwrap());
                    std::fs::write(&target, apply(&samples[i], &m, &samples)).unwrap();
                    let _ = sniff_path(copy.path());
                    Ok(())
                },
            )
            .unwrap_or_else(|e| panic!("sniff of a mutated {format} folder: {e}"));
    }
}

fn walk(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.metadata().map(|m| m.len() <= 1 << 20).unwrap_or(false) {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let dest = to.join(path.file_name().unwrap());
        if path.is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_tree(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).unwrap();
        }
    }
}
