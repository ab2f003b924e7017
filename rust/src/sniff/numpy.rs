//! NumPy `.npy`: the magic `\x93NUMPY`, a version, a header length, and a Python dict literal
//! naming `descr`, `fortran_order` and `shape`. (`.npz` is a zip: see `zip.rs`.) An array of
//! dtype object is a pickle after the header, which `np.load(allow_pickle=True)` runs: its
//! imports are read like any pickle's.

use std::io;

use super::pickle::analyze;
use super::{u16_at, u32_at, Family, Probe, Sniff};

pub fn detect_npy(p: &Probe) -> io::Result<Option<Sniff>> {
    let h = p.head;
    if !h.starts_with(b"\x93NUMPY") || h.len() < 10 {
        return Ok(None);
    }
    let (len, start) = match h[6] {
        1 => (u16_at(h, 8).map(u32::from), 10usize),
        2 | 3 => (u32_at(h, 8), 12usize),
        _ => return Ok(None),
    };
    let Some(len) = len else { return Ok(None) };
    let Some(header) = p.exact(start as u64, len as usize)? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&header);
    if !(text.starts_with('{') && text.contains("'descr'") && text.contains("'shape'")) {
        return Ok(None);
    }
    let shape = text
        .split("'shape':")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .map(|s| format!("{})", s.trim()))
        .unwrap_or_default();
    let mut found = Sniff::new(
        "npy",
        Family::TensorData,
        format!(
            "NumPy magic at offset 0, format {}.{}, shape {shape}",
            h[6], h[7]
        ),
    );
    // `'|O'` alone, or as a field of a structured dtype.
    let object = text.contains("'|O'") || text.contains("'O'");
    if object {
        let start = start as u64 + u64::from(len);
        match analyze(p, start, true)? {
            Some(a) => {
                found.evidence.push_str(&format!(
                    "; dtype object: a pickle at offset {start} imports {}",
                    if a.globals.is_empty() {
                        "nothing".to_string()
                    } else {
                        a.globals.join(", ")
                    }
                ));
                found.merge_imports(&a.globals, &a.unsafe_globals);
            }
            None => found
                .evidence
                .push_str("; dtype object, but no pickle after the header"),
        }
    }
    Ok(Some(found))
}
