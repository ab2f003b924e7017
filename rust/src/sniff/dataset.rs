//! Datasets by content: Parquet, Arrow IPC (file, Feather v2 and stream), Feather v1, ORC,
//! Avro object containers, TFRecord, and LMDB environments. (WebDataset shards are tars: see
//! `archive.rs`.) Each is a magic number confirmed by the structure around it: a footer magic
//! and a footer length that fits, a postscript, a schema key, a CRC.

use std::io;

use super::{u16_at, u32_at, u64_at, Family, Probe, Sniff};

fn found(format: &'static str, evidence: String) -> Option<Sniff> {
    Some(Sniff::new(format, Family::Dataset, evidence))
}

/// The last bytes of the file, when its end is known and in the tail (or the head).
fn ending<'a>(p: &Probe<'a>) -> Option<&'a [u8]> {
    if !p.size_known {
        return None;
    }
    if p.size <= p.head.len() as u64 {
        Some(p.head)
    } else if !p.tail.is_empty() {
        Some(p.tail)
    } else {
        None
    }
}

pub fn detect(p: &Probe) -> io::Result<Option<Sniff>> {
    let h = p.head;
    let Some(&first) = h.first() else {
        return Ok(None);
    };
    Ok(match first {
        b'P' if h.starts_with(b"PAR1") || h.starts_with(b"PARE") => parquet(p),
        b'A' if h.starts_with(b"ARROW1\0\0") => arrow_file(p),
        b'F' if h.starts_with(b"FEA1") => feather_v1(p),
        0xff if h.starts_with(b"\xff\xff\xff\xff") => arrow_stream(p),
        b'O' if h.starts_with(b"ORC") => orc(p),
        b'O' if h.starts_with(b"Obj\x01") => avro(p),
        _ => lmdb(p).or(tfrecord(p)?),
    })
}

fn parquet(p: &Probe) -> Option<Sniff> {
    let t = ending(p)?;
    let n = t.len();
    if n < 8 || !(t.ends_with(b"PAR1") || t.ends_with(b"PARE")) || p.size < 12 {
        return None;
    }
    let footer = u64::from(u32_at(t, n - 8)?);
    if footer == 0 || footer + 12 > p.size {
        return None;
    }
    found(
        "parquet",
        format!("Parquet magic PAR1 at offset 0 and at the end, footer of {footer} bytes"),
    )
}

fn arrow_file(p: &Probe) -> Option<Sniff> {
    let t = ending(p)?;
    let n = t.len();
    if n < 10 || !t.ends_with(b"ARROW1") {
        return None;
    }
    let footer = u32_at(t, n - 10)? as i32;
    if footer <= 0 || footer as u64 + 18 > p.size {
        return None;
    }
    found(
        "arrow",
        format!("Arrow IPC file (Feather v2): ARROW1 at offset 0 and at the end, footer of {footer} bytes"),
    )
}

fn feather_v1(p: &Probe) -> Option<Sniff> {
    let t = ending(p)?;
    (t.len() >= 8 && t.ends_with(b"FEA1") && p.size >= 12)
        .then_some(())
        .and_then(|_| {
            found(
                "feather",
                "Feather v1: FEA1 at offset 0 and at the end".into(),
            )
        })
}

/// The Arrow IPC stream format (`pa.ipc.new_stream`, Hugging Face `datasets` cache files): a
/// continuation marker, an 8-aligned metadata length, a flatbuffer whose root offset falls
/// inside it, and the end-of-stream marker as the file's last eight bytes.
fn arrow_stream(p: &Probe) -> Option<Sniff> {
    let h = p.head;
    let len = u32_at(h, 4)? as i32;
    if len <= 0 || len % 8 != 0 || len as u64 + 8 > p.size {
        return None;
    }
    let root = u32_at(h, 8)?;
    if root < 4 || root as i32 >= len {
        return None;
    }
    let t = ending(p)?;
    if !t.ends_with(b"\xff\xff\xff\xff\0\0\0\0") {
        return None;
    }
    found(
        "arrow_stream",
        format!("Arrow IPC stream: a {len}-byte schema message at offset 8 and the end-of-stream marker at the end"),
    )
}

fn orc(p: &Probe) -> Option<Sniff> {
    let t = ending(p)?;
    let n = t.len();
    let ps = *t.last()? as usize;
    // The postscript ends with its magic: field 8000, a string of 3 bytes, "ORC".
    if ps < 8 || n < 8 || t[n - 8..n - 1] != *b"\x82\xf4\x03\x03ORC" {
        return None;
    }
    found(
        "orc",
        format!("ORC magic at offset 0 and a {ps}-byte postscript ending in ORC"),
    )
}

fn avro(p: &Probe) -> Option<Sniff> {
    let head = &p.head[4..];
    let has = |key: &[u8]| head.windows(key.len()).any(|w| w == key);
    has(b"avro.schema").then_some(())?;
    found(
        "avro",
        "Avro object container: Obj\\x01 at offset 0 and an avro.schema in its header".into(),
    )
}

/// LMDB's `data.mdb`: page 0 is a meta page (flag P_META) holding the magic 0xBEEFC0DE and
/// data version 1, after a page header of 16 bytes (64-bit builds) or 12 (32-bit).
fn lmdb(p: &Probe) -> Option<Sniff> {
    for (meta, flags) in [(16usize, 10usize), (12, 6)] {
        if u32_at(p.head, meta) == Some(0xBEEF_C0DE)
            && u32_at(p.head, meta + 4) == Some(1)
            && u16_at(p.head, flags).is_some_and(|f| f & 0x08 != 0)
        {
            return found(
                "lmdb",
                format!("LMDB meta page: magic 0xBEEFC0DE at offset {meta}, data version 1"),
            );
        }
    }
    None
}

/// CRC-32C (Castagnoli), as TFRecord frames use it.
fn crc32c(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0x82F6_3B78 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    let mut c = !0u32;
    for &b in data {
        c = TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

/// TFRecord's masked CRC.
fn masked(data: &[u8]) -> u32 {
    let c = crc32c(data);
    (c.rotate_right(15)).wrapping_add(0xa282_ead8)
}

/// TFRecord: each record is a u64 length, the masked CRC-32C of those 8 bytes, the data, and
/// the masked CRC of the data. The first frame's two CRCs must match.
fn tfrecord(p: &Probe) -> io::Result<Option<Sniff>> {
    let h = p.head;
    let (Some(len), Some(crc)) = (u64_at(h, 0), u32_at(h, 8)) else {
        return Ok(None);
    };
    if crc != masked(&h[..8]) || len.saturating_add(16) > p.size {
        return Ok(None);
    }
    let Some(data) = p.exact(12, len.min(1 << 20) as usize)? else {
        return Ok(None);
    };
    if len <= 1 << 20 {
        let Some(data_crc) = p.exact(12 + len, 4)? else {
            return Ok(None);
        };
        if u32_at(&data_crc, 0) != Some(masked(&data)) {
            return Ok(None);
        }
    }
    Ok(found(
        "tfrecord",
        format!(
            "TFRecord frame at offset 0: a {len}-byte record whose length and data CRC-32C match"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sniff::sniff_bytes;

    #[test]
    fn crc32c_matches_the_standard_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn a_hand_framed_tfrecord_is_a_dataset() {
        let record = b"\x0a\x05hello";
        let mut data = (record.len() as u64).to_le_bytes().to_vec();
        data.extend_from_slice(&masked(&data[..8]).to_le_bytes());
        data.extend_from_slice(record);
        data.extend_from_slice(&masked(record).to_le_bytes());
        assert_eq!(sniff_bytes(&data).unwrap().format, "tfrecord");
        // One flipped CRC bit and it is nothing.
        data[8] ^= 1;
        assert_eq!(sniff_bytes(&data), None);
    }

    #[test]
    fn magic_alone_is_not_enough() {
        for lookalike in [
            &b"PAR1 and then some text"[..],
            b"ARROW1\0\0xxxxxxxxxxxxxx",
            b"ORC is a file format",
            b"Obj\x01 no schema here",
        ] {
            assert_eq!(sniff_bytes(lookalike), None, "{lookalike:?}");
        }
    }
}
