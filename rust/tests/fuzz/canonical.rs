//! The strict JSON parser behind canonical JSON (every contract document goes through it before
//! anything else reads it), fed real documents mutated as trees and then as text.
//!
//! Tree mutations replace a value by one parsers get wrong (numbers at the edges of a double,
//! escapes of lone surrogates, control characters), repeat a key, nest deeper; the tree is then
//! written with random spacing and escaping, and byte mutations may follow. Properties: no panic;
//! what is accepted, serde_json accepts too (we are only ever stricter) and reads the same
//! strings; the output is canonical (canonicalizing it again changes nothing), its sha256 is
//! what `canonical_sha256_text` says, and it is never much larger than the input.

use proptest::prelude::*;
use proptest::test_runner::TestRunner;

use _core::canonical::{canonical_sha256_text, canonicalize_text, parse, Value};
use _core::digest::{hash_bytes, Algo};

use crate::mutate::{apply, mutations, Sample};
use crate::{config, seeds};

/// A JSON tree whose leaves are kept as the text to write, so a mutation can choose a number's
/// spelling or a string's escapes, and objects keep duplicate keys.
#[derive(Clone, Debug)]
enum J {
    Leaf(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

fn from_serde(v: &serde_json::Value) -> J {
    match v {
        serde_json::Value::Array(a) => J::Arr(a.iter().map(from_serde).collect()),
        serde_json::Value::Object(o) => J::Obj(
            o.iter()
                .map(|(k, v)| (serde_json::to_string(k).unwrap(), from_serde(v)))
                .collect(),
        ),
        other => J::Leaf(other.to_string()),
    }
}

const LEAVES: &[&str] = &[
    "0",
    "-0",
    "0.0",
    "-0.0",
    "1.0",
    "1E2",
    "1e+2",
    "1e-2",
    "1e20",
    "1e21",
    "1e-6",
    "1e-7",
    "5e-324",
    "2.4703282292062327e-324",
    "1.7976931348623157e308",
    "1.7976931348623158e308",
    "1e308",
    "9007199254740991",
    "9007199254740993",
    "-9007199254740993",
    "0.1",
    "1e-400",
    "123456789012345678901234567890",
    "4.35",
    "true",
    "false",
    "null",
    "\"\"",
    "\"\\u0000\"",
    "\"\\ud83d\\ude00\"",
    "\"\\u20ac\"",
    "\"\\/\"",
    "\"\\b\\f\\n\\r\\t\"",
    "\"\\u001f\"",
    "\"\u{7f}\"",
    "\"\u{2028}\u{2029}\"",
    "\"\u{fb33}\"",
    "\"\\uDBFF\\uDFFF\"",
    "{}",
    "[]",
];

#[derive(Clone, Debug)]
enum TreeEdit {
    Replace { node: u16, leaf: u16 },
    DuplicateKey { node: u16 },
    Nest { node: u16, depth: u16 },
    Remove { node: u16 },
}

fn tree_edit() -> impl Strategy<Value = TreeEdit> {
    prop_oneof![
        4 => (any::<u16>(), 0..LEAVES.len() as u16).prop_map(|(node, leaf)| TreeEdit::Replace { node, leaf }),
        1 => any::<u16>().prop_map(|node| TreeEdit::DuplicateKey { node }),
        1 => (any::<u16>(), 1u16..600).prop_map(|(node, depth)| TreeEdit::Nest { node, depth }),
        1 => any::<u16>().prop_map(|node| TreeEdit::Remove { node }),
    ]
}

fn count(j: &J) -> usize {
    1 + match j {
        J::Leaf(_) => 0,
        J::Arr(a) => a.iter().map(count).sum(),
        J::Obj(o) => o.iter().map(|(_, v)| count(v)).sum(),
    }
}

/// The node at pre-order position `n` (modulo the count), mutably.
fn node_mut(j: &mut J, n: usize) -> &mut J {
    fn go<'a>(j: &'a mut J, n: &mut usize) -> Option<&'a mut J> {
        if *n == 0 {
            return Some(j);
        }
        *n -= 1;
        match j {
            J::Leaf(_) => None,
            J::Arr(a) => a.iter_mut().find_map(|c| go(c, n)),
            J::Obj(o) => o.iter_mut().find_map(|(_, c)| go(c, n)),
        }
    }
    let mut n = n % count(j);
    go(j, &mut n).expect("n < count")
}

fn edit(tree: &mut J, e: &TreeEdit) {
    match e {
        TreeEdit::Replace { node, leaf } => {
            *node_mut(tree, *node as usize) = J::Leaf(LEAVES[*leaf as usize].to_string())
        }
        TreeEdit::DuplicateKey { node } => {
            if let J::Obj(o) = node_mut(tree, *node as usize) {
                if let Some(first) = o.first().cloned() {
                    o.push(first);
                }
            }
        }
        TreeEdit::Nest { node, depth } => {
            let target = node_mut(tree, *node as usize);
            let mut inner = std::mem::replace(target, J::Leaf("null".into()));
            for i in 0..*depth {
                inner = if i % 2 == 0 {
                    J::Arr(vec![inner])
                } else {
                    J::Obj(vec![("\"k\"".into(), inner)])
                };
            }
            *target = inner;
        }
        TreeEdit::Remove { node } => match node_mut(tree, *node as usize) {
            J::Arr(a) => {
                a.pop();
            }
            J::Obj(o) => {
                o.pop();
            }
            J::Leaf(_) => {}
        },
    }
}

/// Writes the tree with spacing chosen by `rng`, escaping some plain characters of strings as
/// `\uXXXX` (the canonical form must not depend on how the input spelled a character).
fn next(rng: &mut u64) -> u64 {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    *rng
}

fn render(j: &J, rng: &mut u64, out: &mut Vec<u8>) {
    let space = |r: u64, out: &mut Vec<u8>| {
        if r % 4 == 0 {
            out.extend_from_slice([&b" "[..], b"\n", b"\t", b"\r\n  "][(r >> 2) as usize % 4]);
        }
    };
    match j {
        J::Leaf(text) => {
            if text.starts_with('"') && next(rng) % 3 == 0 {
                out.extend_from_slice(&escape_some(text, next(rng)));
            } else {
                out.extend_from_slice(text.as_bytes());
            }
        }
        J::Arr(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                space(next(rng), out);
                render(item, rng, out);
            }
            out.push(b']');
        }
        J::Obj(members) => {
            out.push(b'{');
            for (i, (key, value)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                space(next(rng), out);
                out.extend_from_slice(key.as_bytes());
                space(next(rng), out);
                out.push(b':');
                render(value, rng, out);
            }
            out.push(b'}');
        }
    }
}

/// A JSON string's text with some unescaped characters written as `\u` escapes instead.
fn escape_some(text: &str, r: u64) -> Vec<u8> {
    let mut out = String::new();
    let mut escaped = false;
    for (i, c) in text.chars().enumerate() {
        let inside = i > 0 && i + 1 < text.chars().count();
        if escaped || c == '\\' {
            escaped = !escaped && c == '\\';
            out.push(c);
        } else if inside && (r >> (i % 60)) & 1 == 1 {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{:04x}", u));
            }
        } else {
            out.push(c);
        }
    }
    out.into_bytes()
}

fn depth(v: &Value<'_>) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.iter().map(|(_, v)| depth(v)).max().unwrap_or(0),
        _ => 0,
    }
}

/// serde_json stops at 128 levels; deeper documents are compared by our own reading only.
const SERDE_DEPTH: usize = 120;

fn same(ours: &Value<'_>, theirs: &serde_json::Value) -> bool {
    match (ours, theirs) {
        (Value::Null, serde_json::Value::Null) => true,
        (Value::Bool(a), serde_json::Value::Bool(b)) => a == b,
        // serde_json with `float_roundtrip` (see Cargo.toml) rounds correctly, as we do.
        (Value::Number(a), serde_json::Value::Number(b)) => b.as_f64() == Some(*a),
        (Value::String(a), serde_json::Value::String(b)) => a == b,
        (Value::Array(a), serde_json::Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        // A duplicate key is refused by the writer, not the parser: compare the last value, as
        // serde_json keeps it.
        (Value::Object(a), serde_json::Value::Object(b)) => {
            a.len() == b.len()
                && b.iter().all(|(k, v)| {
                    a.iter()
                        .rev()
                        .find(|(key, _)| key == k)
                        .is_some_and(|(_, x)| same(x, v))
                })
        }
        _ => false,
    }
}

fn check(input: &[u8]) -> Result<(), TestCaseError> {
    let parsed = parse(input);
    let canonical = canonicalize_text(input);
    match &canonical {
        Ok(out) => {
            prop_assert!(
                out.len() <= 6 * input.len() + 16,
                "{} bytes from {}",
                out.len(),
                input.len()
            );
            let again = canonicalize_text(out);
            prop_assert_eq!(again.as_ref().ok(), Some(out), "not canonical");
            let digest = canonical_sha256_text(input).unwrap();
            prop_assert_eq!(digest, hash_bytes(Algo::Sha256, out));
            let ours = parsed.as_ref().unwrap();
            if depth(ours) < SERDE_DEPTH {
                let _: serde_json::Value = serde_json::from_slice(out).expect("our output is JSON");
                let from_input: Result<serde_json::Value, _> = serde_json::from_slice(input);
                prop_assert!(
                    from_input.is_ok(),
                    "accepted what serde_json refuses: {:?}",
                    from_input
                );
                prop_assert!(same(ours, &from_input.unwrap()), "read differently");
            }
        }
        Err(e) => {
            prop_assert!(!e.message().is_empty());
            prop_assert!(e.pointer().is_empty() || e.pointer().starts_with('/'));
        }
    }
    Ok(())
}

#[test]
fn mutated_documents_parse_strictly_and_canonicalize_consistently() {
    let samples = seeds::json_samples();
    for sample in &samples {
        let tree = from_serde(&serde_json::from_slice(&sample.bytes).expect("a JSON seed"));
        let strategy = (
            prop::collection::vec(tree_edit(), 0..6),
            any::<u64>(),
            prop::option::of(mutations()),
        );
        let mut runner = TestRunner::new(config(512));
        runner
            .run(&strategy, |(edits, seed, bytes)| {
                let mut t = tree.clone();
                for e in &edits {
                    edit(&mut t, e);
                }
                let mut text = Vec::new();
                render(&t, &mut (seed | 1), &mut text);
                if let Some(m) = bytes {
                    text = apply(&Sample::new("rendered", text), &m, &samples);
                }
                check(&text)
            })
            .unwrap_or_else(|e| panic!("canonical JSON of a mutated {}: {e}", sample.name));
    }
}
