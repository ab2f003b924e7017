//! usearch and hnswlib index files.
//!
//! usearch: a 64-byte header starting `usearch` and a version. `Index.save()` writes the
//! vectors first (`rows: u32`, `bytes_per_row: u32`, the matrix), so the header is looked for
//! at 0 and at `8 + rows * bytes_per_row`: one targeted read of 16 bytes.
//!
//! hnswlib: `saveIndex` writes a 96-byte header of sizes that depend on each other
//! (`maxM0 == 2 * M`, `offsetData == maxM0 * 4 + 4`, `label_offset == size_per_element - 8`,
//! `mult == 1 / ln(M)`), then `cur_element_count * size_per_element` bytes, which must fit.

use std::io;

use super::{u16_at, u32_at, u64_at, Family, Probe, Sniff};

pub fn detect_usearch(p: &Probe) -> io::Result<Option<Sniff>> {
    if let Some(version) = usearch_header(p.head) {
        return Ok(Some(found_usearch(0, &version)));
    }
    let (Some(rows), Some(row_bytes)) = (u32_at(p.head, 0), u32_at(p.head, 4)) else {
        return Ok(None);
    };
    let at = 8 + rows as u64 * row_bytes as u64;
    if rows == 0 || row_bytes == 0 || at + 64 > p.size {
        return Ok(None);
    }
    let header = p.read_at(at, 16)?;
    Ok(usearch_header(&header).map(|version| found_usearch(at, &version)))
}

fn usearch_header(h: &[u8]) -> Option<String> {
    if !h.starts_with(b"usearch") {
        return None;
    }
    let (major, minor, patch) = (u16_at(h, 7)?, u16_at(h, 9)?, u16_at(h, 11)?);
    ((1..=9).contains(&major) && minor < 1000 && patch < 1000)
        .then(|| format!("{major}.{minor}.{patch}"))
}

fn found_usearch(at: u64, version: &str) -> Sniff {
    let place = if at == 0 {
        "offset 0".to_string()
    } else {
        format!("offset {at}, after the saved vectors")
    };
    Sniff::new(
        "usearch",
        Family::VectorIndex,
        format!("usearch {version} header at {place}"),
    )
}

pub fn detect_hnswlib(p: &Probe) -> io::Result<Option<Sniff>> {
    if let Some(found) = hnswlib_header(p.head, 0).filter(|h| h.data_end <= p.size) {
        return Ok(Some(Sniff::new(
            "hnswlib",
            Family::VectorIndex,
            format!(
                "hnswlib header at offset 0: M={}, {} of {} elements, {} bytes each",
                found.m, found.count, found.max_elements, found.per_element
            ),
        )));
    }
    // Chroma keeps each segment's hnswlib header alone in `header.bin`, behind a 4-byte
    // persistence version, with the graph in `data_level0.bin` beside it.
    if p.size == 100 && u32_at(p.head, 0).is_some_and(|v| (1..=9).contains(&v)) {
        if let Some(found) = hnswlib_header(p.head, 4) {
            return Ok(Some(Sniff::new(
                "chroma_hnsw",
                Family::VectorIndex,
                format!(
                    "Chroma segment header: hnswlib header at offset 4, M={}, {} of {} elements",
                    found.m, found.count, found.max_elements
                ),
            )));
        }
    }
    Ok(None)
}

struct HnswHeader {
    m: u64,
    count: u64,
    max_elements: u64,
    per_element: u64,
    /// Where the level-0 data written after the header ends.
    data_end: u64,
}

fn hnswlib_header(b: &[u8], at: usize) -> Option<HnswHeader> {
    let h = b.get(at..at + 96)?;
    let f = |i| u64_at(h, i).unwrap_or(0);
    let (max_elements, count, per_element) = (f(8), f(16), f(24));
    let (label_offset, offset_data) = (f(32), f(40));
    let (max_m, max_m0, m) = (f(56), f(64), f(72));
    let mult = f64::from_bits(f(80));
    let ok = f(0) == 0
        && (2..(1 << 16)).contains(&m)
        && max_m == m
        && max_m0 == 2 * m
        && offset_data == max_m0 * 4 + 4
        && per_element > offset_data + 8
        && label_offset == per_element - 8
        && count <= max_elements
        && (mult - 1.0 / (m as f64).ln()).abs() < 1e-6;
    let data_end = count.checked_mul(per_element)?.checked_add(96)?;
    ok.then_some(HnswHeader {
        m,
        count,
        max_elements,
        per_element,
        data_end,
    })
}
