//! The samples the fuzzers start from.
//!
//! Real ones first: `make test` writes one file per format with the format's own library
//! (`tests/support/fuzz_seeds.py`) into `$RECEIPTCORE_FUZZ_SEEDS`: `sniff/<format>.<ext>` (the
//! file must sniff as `<format>`, or as nothing for `none.*`), `sniff-dirs/<format>/` (a store
//! folder), `json/*.json`. When the variable is set the folder must hold them: seeds that
//! silently went missing would leave a format unfuzzed. Without it (`cargo test` alone), the
//! small samples built below are used, and a line on stderr says the real ones were not.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::mutate::Sample;

pub const ENV: &str = "RECEIPTCORE_FUZZ_SEEDS";

fn seed_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os(ENV)?);
    assert!(
        dir.join("sniff").is_dir(),
        "{ENV}={} has no sniff/ folder: run tests/support/fuzz_seeds.py into it",
        dir.display()
    );
    Some(dir)
}

fn files_in(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// `(format expected, sample)` for every file sample.
pub fn sniff_samples() -> Vec<(Option<String>, Sample)> {
    let mut found: Vec<(String, Vec<u8>)> = match seed_dir() {
        Some(dir) => files_in(&dir.join("sniff")),
        None => {
            eprintln!(
                "fuzz: {ENV} is not set: fuzzing the built-in samples only (make test sets it)"
            );
            Vec::new()
        }
    };
    found.extend(built_in());
    found
        .into_iter()
        .map(|(name, bytes)| {
            let format = name.split('.').next().unwrap().to_string();
            let expected = (format != "none").then_some(format);
            (expected, Sample::new(name, bytes))
        })
        .collect()
}

/// Store folders (Chroma, Lance, Qdrant, Milvus Lite), `(format, folder)`.
pub fn sniff_dirs() -> Vec<(String, PathBuf)> {
    let Some(dir) = seed_dir() else {
        return Vec::new();
    };
    let root = dir.join("sniff-dirs");
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(&root)
        .map(|it| {
            it.map(|e| e.unwrap().path())
                .filter(|p| p.is_dir())
                .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// JSON documents: the real ones, and the contract examples built here.
pub fn json_samples() -> Vec<Sample> {
    let mut found = seed_dir()
        .map(|d| files_in(&d.join("json")))
        .unwrap_or_default();
    found.extend(
        [
            ("receipt", RECEIPT),
            ("trust", TRUST),
            ("rfc8785", RFC8785),
            ("numbers", NUMBERS),
        ]
        .map(|(n, t)| (n.to_string(), t.as_bytes().to_vec())),
    );
    found.into_iter().map(|(n, b)| Sample::new(n, b)).collect()
}

const RECEIPT: &str = r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"support-docs-index","digest":{"sha256":"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"}}],"predicateType":"https://receiptcore.dev/ArtifactReceipt/v1","predicate":{"schema_version":1,"uri":"s3://models/x/3","build_manifest_commit":"abababababababababababababababababababababababababababababababab","dataset_manifest_commits":[],"issuer":"ci@models-host"}}"#;
const TRUST: &str = r#"{"kind": "trust", "schema_version": 2, "keys": [{"keyid": "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925", "algorithm": "ed25519", "public_key": "0000000000000000000000000000000000000000000000000000000000000000", "name": "ci@models-host", "role": "receipts"}], "revocations": [{"keyid": "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925", "from": "2026-11-01T00:00:00Z", "reason": "rotated"}]}"#;
const RFC8785: &str = "{\n \"numbers\": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\",\n \"literals\": [null, true, false],\n \"\\u20ac\": \"Euro Sign\", \"\\ud83d\\ude00\": \"Emoji\", \"\\r\": \"CR\"\n}";
const NUMBERS: &str = "[0, -0, 1e20, 1e21, 1e-6, 1e-7, 5e-324, 1.7976931348623157e308, 9007199254740991, 0.1, 123456789012345678901234567890]";

/// Small samples of a few formats, built by hand, for `cargo test` alone.
fn built_in() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();

    let header = br#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"__metadata__":{"format":"pt"}}"#;
    let mut st = (header.len() as u64).to_le_bytes().to_vec();
    st.extend_from_slice(header);
    st.extend_from_slice(&[0u8; 16]);
    out.push(("safetensors.builtin".to_string(), st));

    let dict = b"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    let pad = 64 - (10 + dict.len() + 1) % 64;
    npy.extend_from_slice(&((dict.len() + pad + 1) as u16).to_le_bytes());
    npy.extend_from_slice(dict);
    npy.extend(std::iter::repeat_n(b' ', pad));
    npy.push(b'\n');
    npy.extend_from_slice(&[0u8; 48]);
    out.push(("npy.builtin".to_string(), npy));

    // pickle.dumps({"weights": [0.5] * 70, "step": 7}, protocol=4), written out opcode by opcode.
    let mut pkl =
        b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x07weights\x94]\x94(".to_vec();
    for _ in 0..70 {
        pkl.extend_from_slice(b"G?\xe0\x00\x00\x00\x00\x00\x00");
    }
    pkl.extend_from_slice(b"e\x8c\x04step\x94K\x07u.");
    out.push(("pickle.builtin".to_string(), pkl.clone()));

    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&pkl).unwrap();
    out.push(("pickle.builtin-zlib".to_string(), z.finish().unwrap()));

    let mut gguf = b"GGUF\x03\x00\x00\x00".to_vec();
    gguf.extend_from_slice(&1u64.to_le_bytes()); // tensors
    gguf.extend_from_slice(&1u64.to_le_bytes()); // key-value pairs
    let key = b"general.architecture";
    gguf.extend_from_slice(&(key.len() as u64).to_le_bytes());
    gguf.extend_from_slice(key);
    gguf.extend_from_slice(&8u32.to_le_bytes()); // string
    gguf.extend_from_slice(&5u64.to_le_bytes());
    gguf.extend_from_slice(b"llama");
    out.push(("gguf.builtin".to_string(), gguf));

    out.push((
        "none.text".to_string(),
        b"fn main() { println!(\"hi\"); }\n".to_vec(),
    ));
    out
}
