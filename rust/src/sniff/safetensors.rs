//! safetensors: an 8-byte little-endian header length, then that many bytes of JSON, then the
//! tensor bytes. Confirmed by parsing the JSON and checking that every tensor's `dtype`,
//! `shape` and `data_offsets` are well formed and that the offsets end exactly where the file
//! does. Headers over [`FULL_PARSE`] bytes are checked on their first 64 KiB only.

use std::io;

use serde_json::Value;

use super::{u64_at, Family, Probe, Sniff};

/// Largest header parsed in full (large models carry a few MiB of JSON).
const FULL_PARSE: u64 = 4 << 20;
const PREFIX: usize = 64 << 10;

pub fn detect(p: &Probe) -> io::Result<Option<Sniff>> {
    let Some(n) = u64_at(p.head, 0) else {
        return Ok(None);
    };
    if n < 2 || n.saturating_add(8) > p.size || p.head.get(8) != Some(&b'{') {
        return Ok(None);
    }
    let data_len = p.size - 8 - n;
    if n > FULL_PARSE {
        let prefix = p.read_at(8, PREFIX)?;
        let text = String::from_utf8_lossy(&prefix);
        if text.starts_with("{\"")
            && text.contains("\"dtype\"")
            && text.contains("\"data_offsets\"")
        {
            return Ok(Some(Sniff::new(
                "safetensors",
                Family::Weights,
                format!("safetensors JSON header of {n} bytes at offset 8 (first {PREFIX} bytes checked)"),
            )));
        }
        return Ok(None);
    }
    let Some(header) = p.exact(8, n as usize)? else {
        return Ok(None);
    };
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&header) else {
        return Ok(None);
    };
    let mut tensors = 0usize;
    let mut end = 0u64;
    for (name, value) in &map {
        if name == "__metadata__" {
            if !value.is_object() {
                return Ok(None);
            }
            continue;
        }
        let Some((_, stop)) = tensor_extent(value) else {
            return Ok(None);
        };
        tensors += 1;
        end = end.max(stop);
    }
    if end != data_len {
        return Ok(None);
    }
    Ok(Some(Sniff::new(
        "safetensors",
        Family::Weights,
        format!("safetensors JSON header of {n} bytes at offset 8 with {tensors} tensors covering {data_len} bytes"),
    )))
}

fn tensor_extent(v: &Value) -> Option<(u64, u64)> {
    let obj = v.as_object()?;
    obj.get("dtype")?.as_str()?;
    if !obj.get("shape")?.as_array()?.iter().all(Value::is_u64) {
        return None;
    }
    let offsets = obj.get("data_offsets")?.as_array()?;
    let (start, stop) = (offsets.first()?.as_u64()?, offsets.get(1)?.as_u64()?);
    (offsets.len() == 2 && start <= stop).then_some((start, stop))
}

#[cfg(test)]
mod tests {
    use super::super::sniff_bytes;

    fn file(header: &str, data: usize) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.resize(out.len() + data, 0);
        out
    }

    #[test]
    fn offsets_must_cover_the_data_exactly() {
        let h = r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
        assert_eq!(sniff_bytes(&file(h, 8)).unwrap().format, "safetensors");
        assert_eq!(sniff_bytes(&file(h, 9)), None);
        assert_eq!(sniff_bytes(&file(r#"{"w": 1}"#, 0)), None);
    }
}
