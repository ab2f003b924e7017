//! Stamps the build with a fingerprint of the sniffer's sources (`SNIFF_SOURCE_HASH`), so the
//! scan's verdict cache never reuses a verdict that another sniffer made (`scan_cache.rs`).

use std::fs;
use std::path::Path;

fn visit(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            visit(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

fn main() {
    let root = Path::new("rust/src/sniff");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    visit(root, &mut files);
    files.sort();
    // FNV-1a over each file's path and bytes: stable across toolchains and machines.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in &files {
        let name = file.to_string_lossy();
        let data = fs::read(file).unwrap_or_default();
        for byte in name.as_bytes().iter().chain(&[0u8]).chain(&data) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    println!("cargo:rustc-env=SNIFF_SOURCE_HASH={hash:016x}");
}
