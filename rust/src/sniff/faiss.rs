//! faiss indexes as `faiss.write_index` / `write_index_binary` write them.
//!
//! Every file starts with a four-character code naming the index class (the list read by
//! faiss's `impl/index_read.cpp`, plus the codes of later classes found in the faiss 1.15
//! library). A code alone is four printable bytes, so it is
//! confirmed by the header that follows it: for float indexes `d`, `ntotal` and two 64-bit
//! fields that faiss always writes as `1 << 20`; for binary indexes `d` a multiple of 8,
//! `code_size == d / 8` and a boolean `is_trained`.

use std::io;

use super::{u32_at, u64_at, Family, Probe, Sniff};

/// Float index classes (`read_index`).
const INDEX: &[&[u8; 4]] = &[
    b"IxFI", b"IxF2", b"IxFl", b"IxHE", b"IxHe", b"IxPQ", b"IxPo", b"IxPq", b"IxRQ", b"IxRq",
    b"IxLS", b"IxPR", b"IxPL", b"ImRQ", b"ILfs", b"IRfs", b"IPRf", b"IPLf", b"IVLf", b"IVRf",
    b"NPLf", b"NPRf", b"IvFl", b"IvFL", b"IwFd", b"IwFl", b"IxSQ", b"IxLa", b"IvSQ", b"IwSQ",
    b"IwSq", b"IwLS", b"IwRQ", b"IwPL", b"IwPR", b"IwSh", b"IvPQ", b"IvQR", b"IwPQ", b"IwQR",
    b"IwIQ", b"IxPT", b"Imiq", b"IxRF", b"IxMp", b"IxM2", b"Ix2L", b"IHNf", b"IHNp", b"IHNs",
    b"IHN2", b"IHNc", b"INSf", b"INSp", b"INSs", b"INNf", b"IPfs", b"IwPf", b"IRMf", b"IRMh",
    // Added since (RaBitQ, Panorama, CAGRA and others), as found in the faiss 1.15 library.
    b"Ixrq", b"Iwrq", b"Iwrn", b"Irfn", b"Irfs", b"Iwrf", b"Ixrr", b"Iwrr", b"IHNr", b"IHc2",
    b"IHfP", b"IwP2", b"IwPn", b"IxEd", b"IxEe", b"IwEd", b"IwEe", b"IxRP",
];
/// Binary index classes (`read_index_binary`).
const BINARY: &[&[u8; 4]] = &[
    b"IBxF", b"IBwF", b"IBFf", b"IBHf", b"IBMp", b"IBM2", b"IBHh", b"IBHm", b"IBHc",
];

/// `write_index_header` writes two unused 64-bit fields, always this value.
const DUMMY: u64 = 1 << 20;

pub fn detect(p: &Probe) -> io::Result<Option<Sniff>> {
    let Some(code) = p.head.get(0..4) else {
        return Ok(None);
    };
    if INDEX.iter().any(|c| &c[..] == code) {
        // IndexLattice writes four ints of its own before the common header.
        let at = if code == b"IxLa" { 20 } else { 4 };
        return Ok(float_header(p.head, at).map(|(d, ntotal)| {
            found(
                code,
                format!(
                    "d={d}, ntotal={ntotal}, header fields 1<<20 at offsets {} and {}",
                    at + 12,
                    at + 20
                ),
            )
        }));
    }
    if BINARY.iter().any(|c| &c[..] == code) {
        return Ok(binary_header(p.head).map(|(d, ntotal)| {
            found(
                code,
                format!("binary index, d={d}, ntotal={ntotal}, code_size=d/8"),
            )
        }));
    }
    Ok(None)
}

fn found(code: &[u8], detail: String) -> Sniff {
    Sniff::new(
        "faiss",
        Family::VectorIndex,
        format!(
            "faiss fourcc {:?} at offset 0, {detail}",
            String::from_utf8_lossy(code)
        ),
    )
}

fn float_header(h: &[u8], at: usize) -> Option<(u32, u64)> {
    let d = u32_at(h, at)?;
    let ntotal = u64_at(h, at + 4)?;
    let ok = d > 0
        && d < (1 << 24)
        && ntotal < (1 << 48)
        && u64_at(h, at + 12)? == DUMMY
        && u64_at(h, at + 20)? == DUMMY
        && *h.get(at + 28)? <= 1;
    ok.then_some((d, ntotal))
}

fn binary_header(h: &[u8]) -> Option<(u32, u64)> {
    let d = u32_at(h, 4)?;
    let code_size = u32_at(h, 8)?;
    let ntotal = u64_at(h, 12)?;
    let ok = d > 0 && d % 8 == 0 && code_size == d / 8 && ntotal < (1 << 48) && *h.get(20)? <= 1;
    ok.then_some((d, ntotal))
}

#[cfg(test)]
mod tests {
    use super::super::sniff_bytes;

    #[test]
    fn a_fourcc_without_its_header_is_not_faiss() {
        let mut ok = b"IxF2".to_vec();
        ok.extend_from_slice(&8u32.to_le_bytes());
        ok.extend_from_slice(&0u64.to_le_bytes());
        ok.extend_from_slice(&(1u64 << 20).to_le_bytes());
        ok.extend_from_slice(&(1u64 << 20).to_le_bytes());
        ok.push(1);
        ok.extend_from_slice(&1u32.to_le_bytes());
        assert_eq!(sniff_bytes(&ok).unwrap().format, "faiss");
        assert_eq!(
            sniff_bytes(b"IxF2 is not an index, it is a word in a text file"),
            None
        );
    }
}
