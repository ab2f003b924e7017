//! Formats recognised by a container's own structure: TFLite flatbuffers, Chroma's SQLite
//! store, Lance files (footer magic), and directory-level stores (Chroma, Lance datasets).

use std::io;
use std::path::Path;

use super::{u16_at, u32_at, u64_at, Family, Probe, Sniff};

/// TFLite: a flatbuffer whose file identifier (bytes 4..8) is `TFL3`; the root table offset
/// at 0 must point inside the file at a table whose vtable is inside the file too.
pub fn detect_tflite(p: &Probe) -> io::Result<Option<Sniff>> {
    if p.head.get(4..8) != Some(b"TFL3") {
        return Ok(None);
    }
    let Some(root) = u32_at(p.head, 0).map(u64::from) else {
        return Ok(None);
    };
    if root < 8 || root + 4 > p.size {
        return Ok(None);
    }
    let Some(table) = p.exact(root, 4)? else {
        return Ok(None);
    };
    let vtable = root as i64 - i32::from_le_bytes([table[0], table[1], table[2], table[3]]) as i64;
    if vtable < 8 || vtable as u64 + 4 > p.size {
        return Ok(None);
    }
    let Some(vt) = p.exact(vtable as u64, 4)? else {
        return Ok(None);
    };
    let (vt_size, obj_size) = (u16_at(&vt, 0).unwrap_or(0), u16_at(&vt, 2).unwrap_or(0));
    if vt_size < 4 || vt_size % 2 != 0 || obj_size < 4 {
        return Ok(None);
    }
    Ok(Some(Sniff::new(
        "tflite",
        Family::Weights,
        format!("flatbuffer with file identifier TFL3 at offset 4, root table at offset {root}"),
    )))
}

/// Tables only Chroma's `chroma.sqlite3` has; looked for in the first 128 KiB (the schema
/// pages of a new database come first).
const CHROMA_TABLES: [&[u8]; 2] = [b"embeddings_queue", b"embedding_metadata"];
const SQLITE_SCAN: usize = 128 << 10;

pub fn detect_sqlite(p: &Probe) -> io::Result<Option<Sniff>> {
    if !p.head.starts_with(b"SQLite format 3\0") {
        return Ok(None);
    }
    let start = p.read_at(0, SQLITE_SCAN)?;
    let has = |needle: &[u8]| start.windows(needle.len()).any(|w| w == needle);
    if CHROMA_TABLES.iter().all(|t| has(t)) {
        return Ok(Some(Sniff::new(
            "chroma",
            Family::VectorIndex,
            "SQLite database whose schema has Chroma's embeddings_queue and embedding_metadata tables",
        )));
    }
    Ok(None)
}

/// Lance data files and manifests end with `LANC` after a major and minor version; the
/// offsets before it must point inside the file.
pub fn detect_lance(p: &Probe) -> io::Result<Option<Sniff>> {
    let t = if p.size as usize <= p.head.len() {
        p.head
    } else {
        p.tail
    };
    if t.len() < 16 || !t.ends_with(b"LANC") {
        return Ok(None);
    }
    let n = t.len();
    let (major, minor) = (
        u16_at(t, n - 8).unwrap_or(99),
        u16_at(t, n - 6).unwrap_or(999),
    );
    if major > 3 || minor > 100 {
        return Ok(None);
    }
    // Lance v2 files (written as 0.3, then 2.x) end with a 40-byte footer of three offsets and
    // two counts; v1 files and manifests with a 16-byte one holding one offset.
    let v2 = major >= 2 || (major == 0 && minor == 3);
    let offsets: &[usize] = if v2 { &[40, 32, 24] } else { &[16] };
    if t.len() < 40 && v2 {
        return Ok(None);
    }
    if offsets
        .iter()
        .any(|&back| u64_at(t, n - back).is_none_or(|o| o >= p.size))
    {
        return Ok(None);
    }
    Ok(Some(Sniff::new(
        "lance",
        Family::VectorIndex,
        format!(
            "Lance footer magic LANC at offset {}, version {major}.{minor}",
            p.size - 4
        ),
    )))
}

/// Directory-level stores: a Chroma persistent directory (`chroma.sqlite3` with Chroma's
/// schema), a Lance dataset (`_versions/` holding `.manifest` files), and the Qdrant and
/// Milvus Lite stores of [`super::vecstore`].
pub fn detect_dir(dir: &Path) -> Option<Sniff> {
    let chroma = dir.join("chroma.sqlite3");
    if chroma.is_file() {
        if let Ok(Some(s)) = super::sniff_path(&chroma) {
            if s.format == "chroma" {
                return Some(Sniff::new(
                    "chroma",
                    Family::VectorIndex,
                    "Chroma persistent directory: chroma.sqlite3 with Chroma's schema",
                ));
            }
        }
    }
    let versions = dir.join("_versions");
    if let Ok(entries) = std::fs::read_dir(&versions) {
        for entry in entries.flatten().take(64) {
            if entry.file_name().to_string_lossy().ends_with(".manifest") {
                if let Ok(Some(s)) = super::sniff_path(&entry.path()) {
                    if s.format == "lance" {
                        return Some(Sniff::new(
                            "lance",
                            Family::VectorIndex,
                            "Lance dataset: _versions/*.manifest ending in LANC",
                        ));
                    }
                }
            }
        }
    }
    super::vecstore::detect_qdrant_dir(dir).or_else(|| super::vecstore::detect_milvus_dir(dir))
}
