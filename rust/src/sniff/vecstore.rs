//! Vector stores whose data lives in a directory of files, recognised by the JSON state file
//! their engine writes and by the directory around it: Qdrant shards and segments (written
//! by Qdrant Edge, the embedded Qdrant engine) and Milvus Lite databases, collections and
//! collection snapshots.
//!
//! The vectors themselves sit in headerless arrays (Qdrant's `chunk_*.mmap`, `matrix.dat`) or
//! in Parquet, so the state file is what can be recognised with confidence: a cheap prefix
//! test on the head (the exact way each engine serialises it), then the whole file (at most
//! [`STATE_MAX`] bytes) parsed as JSON and checked field by field.

use std::io;
use std::path::Path;

use serde_json::{Map, Value};

use super::{Family, Probe, Sniff};

/// Largest state file parsed; a larger one is not recognised (real ones are a few KiB).
const STATE_MAX: u64 = 1 << 20;
/// Entries looked at per directory level when recognising a directory store.
const DIR_ENTRIES: usize = 64;

/// Qdrant's `SegmentState` as serde writes it: `initial_version` or `version` first, then
/// `config` whose first field is `vector_data`.
const QDRANT_PREFIXES: [&[u8]; 2] = [b"{\"initial_version\":", b"{\"version\":"];
const QDRANT_CONFIG: &[u8] = b"\"config\":{\"vector_data\":{";
const QDRANT_DISTANCES: [&str; 4] = ["Cosine", "Euclid", "Dot", "Manhattan"];

/// The versions before `config` are counts or `null`, so `config` starts within this many
/// bytes: an ordinary JSON file that happens to start like Qdrant's costs one short search.
const QDRANT_CONFIG_WITHIN: usize = 96;

/// Milvus Lite writes its JSON with `indent=2, sort_keys=True`, so the first key is fixed:
/// `active_wal_number` in a collection manifest, `collection_name` in snapshot metadata.
const MILVUS_MANIFEST: (&[u8], &[u8]) = (
    b"{\n  \"active_wal_number\": ",
    b"\n  \"manifest_format_version\": ",
);
const MILVUS_SNAPSHOT: (&[u8], &[u8]) = (
    b"{\n  \"collection_name\": ",
    b"\n  \"snapshot_format_version\": ",
);

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A Qdrant segment's `segment.json`, a Milvus Lite collection `manifest.json` (or its
/// `.prev` copy) or a Milvus Lite snapshot's metadata file.
pub fn detect(p: &Probe) -> io::Result<Option<Sniff>> {
    if p.head.first() != Some(&b'{') || p.size > STATE_MAX {
        return Ok(None);
    }
    if QDRANT_PREFIXES.iter().any(|s| p.head.starts_with(s)) {
        let start = &p.head[..p.head.len().min(QDRANT_CONFIG_WITHIN)];
        if contains(start, QDRANT_CONFIG) {
            return Ok(parse(p)?.and_then(|v| qdrant_segment(&v)));
        }
        return Ok(None);
    }
    let is = |(first, key): (&[u8], &[u8])| p.head.starts_with(first) && contains(p.head, key);
    if is(MILVUS_MANIFEST) {
        return Ok(parse(p)?.and_then(|v| milvus_manifest(&v)));
    }
    if is(MILVUS_SNAPSHOT) {
        return Ok(parse(p)?.and_then(|v| milvus_snapshot(&v)));
    }
    Ok(None)
}

/// The whole file as JSON, or `None` if it is cut short (bytes given) or does not parse.
fn parse(p: &Probe) -> io::Result<Option<Value>> {
    let Some(bytes) = p.exact(0, p.size as usize)? else {
        return Ok(None);
    };
    Ok(serde_json::from_slice(&bytes).ok())
}

fn is_count(v: Option<&Value>) -> bool {
    v.is_some_and(|v| v.is_null() || v.is_u64())
}

/// Checks a Qdrant `SegmentState`: only its three keys, versions that are counts or null,
/// every dense vector with a size, a known distance, a storage type and an index type, and
/// at least one dense or sparse vector field.
fn qdrant_segment(v: &Value) -> Option<Sniff> {
    let o = v.as_object()?;
    let known = ["initial_version", "version", "config"];
    if !o.keys().all(|k| known.contains(&k.as_str())) || !is_count(o.get("version")) {
        return None;
    }
    if o.contains_key("initial_version") && !is_count(o.get("initial_version")) {
        return None;
    }
    let config = o.get("config")?.as_object()?;
    let dense = config.get("vector_data")?.as_object()?;
    for params in dense.values() {
        let params = params.as_object()?;
        params.get("size")?.as_u64().filter(|&n| n > 0)?;
        let distance = params.get("distance")?.as_str()?;
        if !QDRANT_DISTANCES.contains(&distance) || !params.contains_key("storage_type") {
            return None;
        }
        params.get("index")?.get("type")?.as_str()?;
    }
    let sparse = match config.get("sparse_vector_data") {
        None => 0,
        Some(s) => s.as_object()?.len(),
    };
    if dense.is_empty() && sparse == 0 {
        return None;
    }
    Some(Sniff::new(
        "qdrant",
        Family::VectorIndex,
        format!(
            "Qdrant segment state (segment.json) at offset 0: config.vector_data with {} dense \
             and {sparse} sparse vector field(s)",
            dense.len()
        ),
    ))
}

/// A map of partition name to a list of relative paths under `prefix`.
fn file_map(v: Option<&Value>, key: &str, prefix: &str) -> Option<usize> {
    let Some(v) = v else { return Some(0) };
    let mut n = 0;
    for part in v.as_object()?.values() {
        let list = match part {
            Value::Array(list) => list,
            Value::Object(o) => o.get(key)?.as_array()?,
            _ => return None,
        };
        for path in list {
            if !path.as_str()?.starts_with(prefix) {
                return None;
            }
            n += 1;
        }
    }
    Some(n)
}

/// Checks a Milvus Lite collection manifest: format, version and sequence counters, a
/// non-empty map of partitions each listing `data/` files, and index specs with a type.
fn milvus_manifest(v: &Value) -> Option<Sniff> {
    let o = v.as_object()?;
    let format = o.get("manifest_format_version")?.as_u64()?;
    o.get("version")?.as_u64()?;
    o.get("current_seq")?.as_u64()?;
    let partitions = o.get("partitions")?.as_object()?;
    if partitions.is_empty() {
        return None;
    }
    let files = file_map(o.get("partitions"), "data_files", "data/")?;
    let empty = Map::new();
    let specs = match o.get("index_specs") {
        None => &empty,
        Some(s) => s.as_object()?,
    };
    let mut indexes = Vec::new();
    for (field, spec) in specs {
        indexes.push(format!("{field} ({})", spec.get("index_type")?.as_str()?));
    }
    let indexes = if indexes.is_empty() {
        "no index".to_string()
    } else {
        format!("index on {}", indexes.join(", "))
    };
    Some(Sniff::new(
        "milvus_lite",
        Family::VectorIndex,
        format!(
            "Milvus Lite collection manifest at offset 0: manifest_format_version {format}, {} \
             partition(s), {files} data file(s), {indexes}",
            partitions.len()
        ),
    ))
}

/// Checks a Milvus Lite snapshot's metadata (`snapshots/metadata/<name>.json`): format
/// version, names, the pinned schema and manifest copies, and the pinned file maps.
fn milvus_snapshot(v: &Value) -> Option<Sniff> {
    let o = v.as_object()?;
    let format = o.get("snapshot_format_version")?.as_u64()?;
    let name = o.get("name")?.as_str()?;
    let collection = o.get("collection_name")?.as_str()?;
    for key in ["schema_file", "manifest_file"] {
        if !o.get(key)?.as_str()?.starts_with("snapshots/") {
            return None;
        }
    }
    let data = file_map(o.get("data_files"), "", "data/")?;
    file_map(o.get("delta_files"), "", "delta/")?;
    let index = file_map(o.get("index_files"), "", "indexes/")?;
    Some(Sniff::new(
        "milvus_lite",
        Family::VectorIndex,
        format!(
            "Milvus Lite snapshot {name:?} of collection {collection:?} at offset 0: \
             snapshot_format_version {format}, pins {data} data and {index} index file(s)"
        ),
    ))
}

fn file_is(path: &Path, format: &str) -> bool {
    path.is_file() && matches!(super::sniff_path(path), Ok(Some(s)) if s.format == format)
}

/// Subdirectories of `dir` (at most [`DIR_ENTRIES`] entries looked at), sorted by name.
fn subdirs(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<_> = entries
        .flatten()
        .take(DIR_ENTRIES)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

fn rel(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Qdrant: a segment directory (`segment.json`), or a shard directory whose `segments/`
/// holds one (Qdrant Edge writes `edge_config.json` beside it).
pub fn detect_qdrant_dir(dir: &Path) -> Option<Sniff> {
    if file_is(&dir.join("segment.json"), "qdrant") {
        return Some(Sniff::new(
            "qdrant",
            Family::VectorIndex,
            "Qdrant segment directory: segment.json is a Qdrant segment state",
        ));
    }
    let segment = subdirs(&dir.join("segments"))
        .into_iter()
        .map(|s| s.join("segment.json"))
        .find(|s| file_is(s, "qdrant"))?;
    let kind = if dir.join("edge_config.json").is_file() {
        "Qdrant Edge shard directory (edge_config.json)"
    } else {
        "Qdrant shard directory"
    };
    Some(Sniff::new(
        "qdrant",
        Family::VectorIndex,
        format!("{kind}: {} is a Qdrant segment state", rel(&segment, dir)),
    ))
}

/// Milvus Lite: a collection directory (`manifest.json`), or a database directory whose
/// `collections/` (or `databases/<db>/collections/`) holds one.
pub fn detect_milvus_dir(dir: &Path) -> Option<Sniff> {
    if file_is(&dir.join("manifest.json"), "milvus_lite") {
        return Some(Sniff::new(
            "milvus_lite",
            Family::VectorIndex,
            "Milvus Lite collection directory: manifest.json is a Milvus Lite manifest",
        ));
    }
    let mut roots = vec![dir.join("collections")];
    roots.extend(
        subdirs(&dir.join("databases"))
            .into_iter()
            .map(|d| d.join("collections")),
    );
    let manifest = roots
        .iter()
        .flat_map(|r| subdirs(r))
        .map(|c| c.join("manifest.json"))
        .find(|m| file_is(m, "milvus_lite"))?;
    Some(Sniff::new(
        "milvus_lite",
        Family::VectorIndex,
        format!(
            "Milvus Lite database directory: {} is a Milvus Lite manifest",
            rel(&manifest, dir)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::sniff_bytes;
    use super::*;

    const SEGMENT: &[u8] = br#"{"initial_version":null,"version":0,"config":{"vector_data":{"":{"size":4,"distance":"Cosine","storage_type":"InRamChunkedMmap","index":{"type":"plain","options":{}},"quantization_config":null}},"payload_storage_type":{"type":"mmap"}}}"#;

    const MANIFEST: &[u8] = b"{\n  \"active_wal_number\": 2,\n  \"current_seq\": 200,\n  \
        \"index_specs\": {\n    \"vec\": {\"index_type\": \"HNSW\"}\n  },\n  \
        \"manifest_format_version\": 2,\n  \"partitions\": {\n    \"_default\": {\n      \
        \"data_files\": [\"data/a.parquet\"],\n      \"delta_files\": []\n    }\n  },\n  \
        \"schema_version\": 1,\n  \"version\": 2\n}";

    #[test]
    fn qdrant_segment_state_is_recognised() {
        let s = sniff_bytes(SEGMENT).expect("segment.json");
        assert_eq!((s.format, s.family), ("qdrant", Family::VectorIndex));
        assert!(
            s.evidence.contains("1 dense and 0 sparse"),
            "{}",
            s.evidence
        );
    }

    #[test]
    fn milvus_manifest_is_recognised() {
        let s = sniff_bytes(MANIFEST).expect("manifest.json");
        assert_eq!(s.format, "milvus_lite");
        assert!(s.evidence.contains("index on vec (HNSW)"), "{}", s.evidence);
    }

    #[test]
    fn look_alike_json_is_not_flagged() {
        let samples: &[&[u8]] = &[
            br#"{"version":1,"config":{"vector_data":{}}}"#,
            br#"{"version":1,"config":{"vector_data":{"a":{"size":4,"distance":"Far","storage_type":"x","index":{"type":"plain"}}}}}"#,
            br#"{"version":"1.0","config":{"vector_data":{"":{"size":4}}}}"#,
            br#"{"version":1,"name":"app","config":{"vector_data":{"a":{"size":4,"distance":"Dot","storage_type":"x","index":{"type":"plain"}}}}}"#,
            b"{\n  \"manifest_format_version\": 2,\n  \"partitions\": {}\n}",
            b"{\n  \"name\": \"pkg\",\n  \"version\": \"1.0.0\"\n}",
            b"{\n  \"snapshot_format_version\": 1,\n  \"name\": \"s\"\n}",
            b"{\n  \"active_wal_number\": 1,\n  \"manifest_format_version\": 2,\n  \"partitions\": {}\n}",
            b"{\n  \"collection_name\": \"c\",\n  \"snapshot_format_version\": 1\n}",
        ];
        for s in samples {
            assert_eq!(sniff_bytes(s), None, "{}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn truncated_state_files_are_not_flagged_and_do_not_panic() {
        for data in [SEGMENT, MANIFEST] {
            for cut in 0..data.len() {
                assert_eq!(sniff_bytes(&data[..cut]), None, "cut at {cut}");
            }
        }
    }

    #[test]
    fn state_files_over_the_limit_are_not_read() {
        let mut big = SEGMENT.to_vec();
        big.resize(STATE_MAX as usize, b' ');
        assert!(sniff_bytes(&big).is_some());
        big.push(b' ');
        assert_eq!(sniff_bytes(&big), None);
    }

    #[test]
    fn directories_need_the_engine_state_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(detect_qdrant_dir(root), None);
        assert_eq!(detect_milvus_dir(root), None);
        std::fs::create_dir_all(root.join("segments/abc")).unwrap();
        std::fs::write(root.join("segments/abc/segment.json"), b"{}").unwrap();
        std::fs::create_dir_all(root.join("collections/docs")).unwrap();
        std::fs::write(root.join("collections/docs/manifest.json"), b"{}").unwrap();
        assert_eq!(detect_qdrant_dir(root), None);
        assert_eq!(detect_milvus_dir(root), None);
        std::fs::write(root.join("segments/abc/segment.json"), SEGMENT).unwrap();
        std::fs::write(root.join("collections/docs/manifest.json"), MANIFEST).unwrap();
        let q = detect_qdrant_dir(root).expect("qdrant shard");
        assert!(
            q.evidence.contains("segments/abc/segment.json"),
            "{}",
            q.evidence
        );
        let m = detect_milvus_dir(root).expect("milvus db");
        assert!(m.evidence.contains("collections/docs/manifest.json"));
    }
}
