//! ONNX models: a protobuf `ModelProto`, recognised by walking its top-level fields.
//!
//! The first field must be `ir_version` (field 1, a varint from 1 to 32); every following field
//! must be one of `ModelProto`'s with its wire type, each length must fit, the walk must end
//! exactly at the end of the file, and a `graph` (field 7) must be among them. The graph's
//! fields are then walked to count the initializers and their bytes (the weights). Each field
//! costs one read of at most 20 bytes; lengths are skipped, never read.

use std::io;

use super::{Family, Probe, Sniff};

const MAX_TOP_FIELDS: usize = 4096;
const MAX_GRAPH_FIELDS: usize = 16384;

/// (field number, wire type) of ModelProto: varints 1 and 5, the rest length-delimited.
fn model_field_ok(field: u64, wire: u8) -> bool {
    match field {
        1 | 5 => wire == 0,
        2 | 3 | 4 | 6 | 7 | 8 | 14 | 20 | 25 | 26 => wire == 2,
        _ => false,
    }
}

struct Field {
    number: u64,
    wire: u8,
    /// The varint value, or the payload length for wire type 2.
    value: u64,
    /// Offset of the payload (or of the next field for a varint).
    body: u64,
}

fn varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at)?;
        *at += 1;
        v |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn field_at(p: &Probe, offset: u64) -> io::Result<Option<Field>> {
    let b = p.read_at(offset, 20)?;
    let mut at = 0;
    let Some(key) = varint(&b, &mut at) else {
        return Ok(None);
    };
    let wire = (key & 7) as u8;
    let value = match wire {
        0 | 2 => match varint(&b, &mut at) {
            Some(v) => v,
            None => return Ok(None),
        },
        1 => {
            at += 8;
            0
        }
        5 => {
            at += 4;
            0
        }
        _ => return Ok(None),
    };
    Ok(Some(Field {
        number: key >> 3,
        wire,
        value,
        body: offset + at as u64,
    }))
}

pub fn detect(p: &Probe) -> io::Result<Option<Sniff>> {
    if p.head.first() != Some(&0x08) {
        return Ok(None);
    }
    let Some(first) = field_at(p, 0)? else {
        return Ok(None);
    };
    if !(1..=32).contains(&first.value) {
        return Ok(None);
    }
    let ir_version = first.value;
    let mut offset = first.body;
    let mut graph = None;
    for _ in 0..MAX_TOP_FIELDS {
        if offset == p.size {
            break;
        }
        let Some(f) = field_at(p, offset)? else {
            return Ok(None);
        };
        if !model_field_ok(f.number, f.wire) {
            return Ok(None);
        }
        offset = if f.wire == 2 {
            f.body.saturating_add(f.value)
        } else {
            f.body
        };
        if offset > p.size {
            return Ok(None);
        }
        if f.number == 7 {
            graph = Some((f.body, f.value));
        }
    }
    let Some((graph_at, graph_len)) = graph else {
        return Ok(None);
    };
    if offset != p.size {
        return Ok(None);
    }
    let (count, bytes, complete) = initializers(p, graph_at, graph_len)?;
    let at_least = if complete { "" } else { "at least " };
    Ok(Some(Sniff::new(
        "onnx",
        Family::Weights,
        format!(
            "ONNX ModelProto, ir_version {ir_version}, graph of {graph_len} bytes at offset {graph_at} with {at_least}{count} initializers ({at_least}{bytes} bytes)"
        ),
    )))
}

/// Counts `GraphProto.initializer` (field 5) and `sparse_initializer` (15) entries.
fn initializers(p: &Probe, start: u64, len: u64) -> io::Result<(u64, u64, bool)> {
    let end = start + len;
    let (mut count, mut bytes, mut offset) = (0, 0, start);
    for _ in 0..MAX_GRAPH_FIELDS {
        if offset >= end {
            return Ok((count, bytes, true));
        }
        let Some(f) = field_at(p, offset)? else { break };
        offset = if f.wire == 2 {
            f.body.saturating_add(f.value)
        } else {
            f.body
        };
        if f.wire == 2 && (f.number == 5 || f.number == 15) {
            count += 1;
            bytes += f.value;
        }
    }
    Ok((count, bytes, false))
}
