//! Structure-aware mutations of a real sample.
//!
//! A format's parser trusts a handful of fields (magic, version, lengths, offsets, counts) and
//! skips over the rest; random bytes rarely get past the magic, and random flips of a large
//! sample rarely land on a field. So the mutations aim: at the head every detector reads, at
//! the tail that footer formats read, and at the sample's own *fields*, the places holding an
//! integer that could be a length or an offset inside the file (found by scanning the sample
//! once). An integer is replaced by the values parsers get wrong (0, 1, the maximum, the sign
//! bit, the file's length and its neighbours, the old value plus or minus a little); pieces of
//! the sample are cut, repeated and moved; the format's own tokens (magics, JSON punctuation)
//! are inserted; a piece of another sample is spliced in; the file is cut short or grown.

use proptest::prelude::*;

/// A place in the sample, resolved against its current length when applied.
#[derive(Clone, Copy, Debug)]
pub enum Pos {
    /// An offset in the first 4 KiB (what every detector reads).
    Head(u16),
    /// This many bytes before the end (footers).
    Tail(u16),
    /// The n-th integer field found in the sample (modulo their number).
    Field(u16),
    /// A fraction of the length, in 1/65536ths.
    Anywhere(u16),
}

/// What an integer field is set to.
#[derive(Clone, Copy, Debug)]
pub enum Int {
    Zero,
    One,
    Max,
    SignBit,
    Len,
    LenPlus(u8),
    LenMinus(u8),
    Delta(i8),
    Small(u16),
    Any(u64),
}

#[derive(Clone, Debug)]
pub enum Mutation {
    SetInt {
        at: Pos,
        width: u8,
        big_endian: bool,
        value: Int,
    },
    FlipBit {
        at: Pos,
        bit: u8,
    },
    SetByte {
        at: Pos,
        byte: u8,
    },
    Truncate {
        at: Pos,
    },
    Delete {
        at: Pos,
        len: u16,
    },
    Repeat {
        at: Pos,
        len: u16,
        times: u8,
    },
    Move {
        from: Pos,
        len: u16,
        to: Pos,
    },
    Insert {
        at: Pos,
        token: u16,
    },
    Splice {
        at: Pos,
        other: u16,
        from: Pos,
        len: u16,
    },
    Extend {
        bytes: Vec<u8>,
    },
}

/// Tokens of the formats we parse: inserted whole, they let a mutation reach a branch that
/// random bytes would take millions of tries to find.
pub const TOKENS: &[&[u8]] = &[
    b"PK\x03\x04",
    b"PK\x01\x02",
    b"PK\x05\x06",
    b"PK\x06\x06",
    b"PK\x06\x07",
    b"\x80\x02",
    b"\x80\x05",
    b"\x95",
    b"(",
    b".",
    b"c__builtin__\neval\n",
    b"\x93NUMPY\x01\x00",
    b"GGUF\x03\x00\x00\x00",
    b"\x89HDF\r\n\x1a\n",
    b"TFL3",
    b"SQLite format 3\x00",
    b"LANC",
    b"IxFl",
    b"usearch",
    b"\x1f\x8b\x08",
    b"\x78\x9c",
    b"BZh9",
    b"\xfd7zXZ\x00",
    b"\x28\xb5\x2f\xfd",
    b"ustar\x0000",
    b"PAR1",
    b"ARROW1",
    b"ORC",
    b"Obj\x01",
    b"version https://git-lfs.github.com/spec/v1\n",
    b"-----BEGIN PRIVATE KEY-----\n",
    b"{\"",
    b"\"",
    b"\\",
    b"\\u",
    b"\\ud800",
    b"\":",
    b",",
    b"[",
    b"]",
    b"{",
    b"}",
    b"1e999",
    b"-0",
    b"9007199254740993",
    b"\xef\xbb\xbf",
    b"\xed\xa0\x80",
    b"\xff",
    b"\x00",
    b"\n",
    b"\t",
    b"../",
    b"/",
    b".git/",
];

fn pos() -> impl Strategy<Value = Pos> {
    prop_oneof![
        3 => (0u16..4096).prop_map(Pos::Head),
        1 => (0u16..1024).prop_map(Pos::Tail),
        4 => any::<u16>().prop_map(Pos::Field),
        2 => any::<u16>().prop_map(Pos::Anywhere),
    ]
}

fn int() -> impl Strategy<Value = Int> {
    prop_oneof![
        1 => Just(Int::Zero),
        1 => Just(Int::One),
        1 => Just(Int::Max),
        1 => Just(Int::SignBit),
        1 => Just(Int::Len),
        1 => any::<u8>().prop_map(Int::LenPlus),
        1 => any::<u8>().prop_map(Int::LenMinus),
        2 => any::<i8>().prop_map(Int::Delta),
        1 => any::<u16>().prop_map(Int::Small),
        1 => any::<u64>().prop_map(Int::Any),
    ]
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        6 => (pos(), prop::sample::select(vec![1u8, 2, 4, 8]), any::<bool>(), int()).prop_map(
            |(at, width, big_endian, value)| Mutation::SetInt { at, width, big_endian, value }
        ),
        2 => (pos(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        2 => (pos(), any::<u8>()).prop_map(|(at, byte)| Mutation::SetByte { at, byte }),
        1 => pos().prop_map(|at| Mutation::Truncate { at }),
        1 => (pos(), 1u16..512).prop_map(|(at, len)| Mutation::Delete { at, len }),
        1 => (pos(), 1u16..256, 1u8..16).prop_map(|(at, len, times)| Mutation::Repeat { at, len, times }),
        1 => (pos(), 1u16..512, pos()).prop_map(|(from, len, to)| Mutation::Move { from, len, to }),
        3 => (pos(), 0..TOKENS.len() as u16).prop_map(|(at, token)| Mutation::Insert { at, token }),
        1 => (pos(), any::<u16>(), pos(), 1u16..1024)
            .prop_map(|(at, other, from, len)| Mutation::Splice { at, other, from, len }),
        1 => prop::collection::vec(any::<u8>(), 1..64).prop_map(|bytes| Mutation::Extend { bytes }),
    ]
}

/// One to eight mutations, applied in order.
pub fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(mutation(), 1..8)
}

/// A sample and the offsets of its integer fields.
pub struct Sample {
    pub name: String,
    pub bytes: Vec<u8>,
    fields: Vec<usize>,
}

impl Sample {
    pub fn new(name: impl Into<String>, bytes: Vec<u8>) -> Sample {
        let fields = integer_fields(&bytes);
        Sample::with_fields(name, bytes, fields)
    }

    /// A sample whose fields the caller knows from its format.
    pub fn with_fields(name: impl Into<String>, bytes: Vec<u8>, fields: Vec<usize>) -> Sample {
        Sample {
            name: name.into(),
            bytes,
            fields,
        }
    }
}

/// Offsets holding a little- or big-endian u16/u32/u64 that could be a length or an offset into
/// the sample (non-zero, at most its length plus a little), at most 4096 of them, spread over
/// the sample.
fn integer_fields(b: &[u8]) -> Vec<usize> {
    let len = b.len() as u64;
    let fits = |v: u64| v > 0 && v <= len + 64;
    let mut found = Vec::new();
    for i in 0..b.len() {
        let le = |w: usize| {
            b.get(i..i + w)
                .map(|s| s.iter().rev().fold(0u64, |a, &x| a << 8 | x as u64))
        };
        let be = |w: usize| {
            b.get(i..i + w)
                .map(|s| s.iter().fold(0u64, |a, &x| a << 8 | x as u64))
        };
        let hit = [4usize, 8]
            .iter()
            .any(|&w| le(w).is_some_and(fits) || be(w).is_some_and(fits))
            || (i < 4096 && le(2).is_some_and(|v| v > 2 && fits(v)));
        if hit {
            found.push(i);
        }
    }
    if found.len() > 4096 {
        let step = found.len() / 4096 + 1;
        found = found.into_iter().step_by(step).collect();
    }
    found
}

fn resolve(at: Pos, data: &[u8], fields: &[usize]) -> usize {
    let len = data.len();
    let p = match at {
        Pos::Head(o) => o as usize,
        Pos::Tail(o) => len.saturating_sub(o as usize + 1),
        Pos::Field(n) if !fields.is_empty() => fields[n as usize % fields.len()],
        Pos::Field(n) => n as usize,
        Pos::Anywhere(f) => (len as u128 * f as u128 / 65536) as usize,
    };
    p.min(len)
}

fn int_value(value: Int, old: u64, width: u8, len: usize) -> u64 {
    let max = if width == 8 {
        u64::MAX
    } else {
        (1u64 << (8 * width)) - 1
    };
    let len = len as u64;
    let v = match value {
        Int::Zero => 0,
        Int::One => 1,
        Int::Max => max,
        Int::SignBit => 1 << (8 * width - 1),
        Int::Len => len,
        Int::LenPlus(d) => len.wrapping_add(d as u64),
        Int::LenMinus(d) => len.wrapping_sub(d as u64),
        Int::Delta(d) => old.wrapping_add(d as i64 as u64),
        Int::Small(s) => s as u64,
        Int::Any(a) => a,
    };
    v & max
}

/// The sample with ``mutations`` applied; ``others`` are the samples a splice may take from.
pub fn apply(sample: &Sample, mutations: &[Mutation], others: &[Sample]) -> Vec<u8> {
    let mut data = sample.bytes.clone();
    for m in mutations {
        // Fields found in the original stay meaningful after small edits, and are clamped after
        // large ones: good enough to aim, which is all they are for.
        let fields = &sample.fields;
        match m {
            Mutation::SetInt {
                at,
                width,
                big_endian,
                value,
            } => {
                let w = *width as usize;
                let p = resolve(*at, &data, fields);
                if p + w > data.len() {
                    continue;
                }
                let slot = &mut data[p..p + w];
                let old = if *big_endian {
                    slot.iter().fold(0u64, |a, &x| a << 8 | x as u64)
                } else {
                    slot.iter().rev().fold(0u64, |a, &x| a << 8 | x as u64)
                };
                let v = int_value(*value, old, *width, sample.bytes.len());
                for (k, byte) in slot.iter_mut().enumerate() {
                    let shift = if *big_endian { 8 * (w - 1 - k) } else { 8 * k };
                    *byte = (v >> shift) as u8;
                }
            }
            Mutation::FlipBit { at, bit } => {
                let p = resolve(*at, &data, fields);
                if let Some(b) = data.get_mut(p) {
                    *b ^= 1 << bit;
                }
            }
            Mutation::SetByte { at, byte } => {
                let p = resolve(*at, &data, fields);
                if let Some(b) = data.get_mut(p) {
                    *b = *byte;
                }
            }
            Mutation::Truncate { at } => {
                let p = resolve(*at, &data, fields);
                data.truncate(p);
            }
            Mutation::Delete { at, len } => {
                let p = resolve(*at, &data, fields);
                let end = (p + *len as usize).min(data.len());
                data.drain(p..end);
            }
            Mutation::Repeat { at, len, times } => {
                let p = resolve(*at, &data, fields);
                let end = (p + *len as usize).min(data.len());
                let piece = data[p..end].to_vec();
                for _ in 0..*times {
                    data.splice(end..end, piece.iter().copied());
                }
            }
            Mutation::Move { from, len, to } => {
                let p = resolve(*from, &data, fields);
                let end = (p + *len as usize).min(data.len());
                let piece: Vec<u8> = data.drain(p..end).collect();
                let q = resolve(*to, &data, fields);
                data.splice(q..q, piece);
            }
            Mutation::Insert { at, token } => {
                let p = resolve(*at, &data, fields);
                data.splice(p..p, TOKENS[*token as usize].iter().copied());
            }
            Mutation::Splice {
                at,
                other,
                from,
                len,
            } => {
                if others.is_empty() {
                    continue;
                }
                let donor = &others[*other as usize % others.len()];
                let p = resolve(*from, &donor.bytes, &donor.fields);
                let end = (p + *len as usize).min(donor.bytes.len());
                let q = resolve(*at, &data, fields);
                data.splice(q..q, donor.bytes[p..end].iter().copied());
            }
            Mutation::Extend { bytes } => data.extend_from_slice(bytes),
        }
    }
    data
}
