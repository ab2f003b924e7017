//! GGUF and the older GGML / GGMF / GGJT (llama.cpp) files, and GGLA LoRA adapters.
//!
//! GGUF: `GGUF`, a version (1 to 3), tensor and key-value counts, then the first key as a
//! length-prefixed ASCII string. The older formats start with a 32-bit magic, a version (all
//! but GGML), then hyper-parameters that must be small positive integers.

use std::io;

use super::{u32_at, u64_at, Family, Probe, Sniff};

/// Counts above this are not a real model (a misread text file is in the billions).
const PLAUSIBLE: u64 = 1 << 24;

pub fn detect(p: &Probe) -> io::Result<Option<Sniff>> {
    let h = p.head;
    if h.starts_with(b"GGUF") {
        return Ok(gguf(h));
    }
    let (name, versioned, hparams) = match h.get(0..4) {
        Some(b"lmgg") => ("ggml", false, 7),
        Some(b"fmgg") => ("ggmf", true, 7),
        Some(b"tjgg") => ("ggjt", true, 7),
        Some(b"algg") => ("ggla", true, 2),
        _ => return Ok(None),
    };
    let mut at = 4;
    let mut version = String::new();
    if versioned {
        match u32_at(h, 4) {
            Some(v @ 1..=3) => version = format!(" version {v}"),
            _ => return Ok(None),
        }
        at = 8;
    }
    for i in 0..hparams {
        match u32_at(h, at + 4 * i) {
            Some(v) if (v as u64) < PLAUSIBLE => {}
            _ => return Ok(None),
        }
    }
    // The vocabulary size (first hyper-parameter of a model) is never zero.
    if name != "ggla" && u32_at(h, at) == Some(0) {
        return Ok(None);
    }
    Ok(Some(Sniff::new(
        "ggml",
        Family::Weights,
        format!(
            "{} magic{version} at offset 0 with plausible hyper-parameters",
            name.to_uppercase()
        ),
    )))
}

fn gguf(h: &[u8]) -> Option<Sniff> {
    let version = u32_at(h, 4)?;
    let (tensors, kvs, key_at) = match version {
        1 => (u32_at(h, 8)? as u64, u32_at(h, 12)? as u64, 16),
        2 | 3 => (u64_at(h, 8)?, u64_at(h, 16)?, 24),
        _ => return None,
    };
    if tensors > PLAUSIBLE || kvs > PLAUSIBLE {
        return None;
    }
    if kvs > 0 {
        let key_len = if version == 1 {
            u32_at(h, key_at)? as u64
        } else {
            u64_at(h, key_at)?
        };
        let start = key_at + if version == 1 { 4 } else { 8 };
        if !(1..=256).contains(&key_len) {
            return None;
        }
        let key = h.get(start..start + key_len as usize)?;
        if !key.iter().all(|c| c.is_ascii_graphic()) {
            return None;
        }
    }
    Some(Sniff::new(
        "gguf",
        Family::Weights,
        format!(
            "GGUF magic at offset 0, version {version}, {tensors} tensors, {kvs} metadata keys"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::sniff_bytes;

    #[test]
    fn gguf_needs_a_sane_header() {
        let mut ok = b"GGUF".to_vec();
        ok.extend_from_slice(&3u32.to_le_bytes());
        ok.extend_from_slice(&2u64.to_le_bytes());
        ok.extend_from_slice(&1u64.to_le_bytes());
        ok.extend_from_slice(&20u64.to_le_bytes());
        ok.extend_from_slice(b"general.architecture");
        assert_eq!(sniff_bytes(&ok).unwrap().format, "gguf");
        assert_eq!(
            sniff_bytes(b"GGUF is a file format for llama.cpp models\n"),
            None
        );
    }

    #[test]
    fn ggjt_needs_a_version_and_hparams() {
        let mut ok = b"tjgg".to_vec();
        for v in [3u32, 32000, 4096, 256, 32, 32, 128, 2] {
            ok.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(sniff_bytes(&ok).unwrap().format, "ggml");
        assert_eq!(sniff_bytes(b"tjgg and some text that follows it"), None);
    }
}
