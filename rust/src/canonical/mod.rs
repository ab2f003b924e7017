//! RFC 8785 JSON Canonicalization Scheme (JCS): one byte sequence per JSON value, so that
//! `sha256(canonical bytes)` can stand for the value.
//!
//! The rules: object members sorted by the UTF-16 code units of their names (`write::cmp_utf16`),
//! no whitespace, strings escaped only where JSON requires it (`write::write_str`), numbers as
//! ECMAScript prints doubles (`number`). Anything that has no canonical form is an error naming
//! the place with a JSON pointer: NaN and infinities, integers that are not exactly a double,
//! lone surrogates, invalid UTF-8, duplicate keys, nesting deeper than [`MAX_DEPTH`].
//!
//! Two front doors share the writer: [`parse`] turns JSON text into a [`Value`] (strictly; see
//! `parse.rs`), and the Python bindings walk Python objects directly without a `Value`.

mod error;
mod number;
mod parse;
mod write;

use std::borrow::Cow;

pub use error::CanonicalError;
pub use number::{inexact_integer, not_finite, write_f64, write_i64};
pub use parse::parse;
pub use write::{cmp_utf16, write_str, Sha256Sink, Sink};

/// Deepest nesting of arrays and objects accepted (the top-level container is level 1).
/// Real documents stay far below it; it bounds the recursion, so hostile input such as
/// `[[[[...` or a Python list that contains itself fails cleanly instead of overflowing the stack.
pub const MAX_DEPTH: usize = 512;

/// A JSON value as parsed from text. Strings borrow from the input where they had no escapes.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Number(f64),
    String(Cow<'a, str>),
    Array(Vec<Value<'a>>),
    /// Members in input order; duplicates are kept here and refused when written.
    Object(Vec<(Cow<'a, str>, Value<'a>)>),
}

/// The error for a container nested deeper than [`MAX_DEPTH`].
#[cold]
pub fn too_deep() -> CanonicalError {
    CanonicalError::new(format!(
        "nesting deeper than {MAX_DEPTH} levels of arrays and objects"
    ))
}

/// The error for two members of one object with the same name.
#[cold]
pub fn duplicate_key(key: &str) -> CanonicalError {
    CanonicalError::new(format!("duplicate object key {key:?}")).in_key(key)
}

/// Writes `value` canonically. Object members are sorted in place (the value is consumed).
pub fn write_value<S: Sink>(value: Value<'_>, out: &mut S) -> Result<(), CanonicalError> {
    write_nested(value, out, 0)
}

fn write_nested<S: Sink>(
    value: Value<'_>,
    out: &mut S,
    depth: usize,
) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.buf().extend_from_slice(b"null"),
        Value::Bool(true) => out.buf().extend_from_slice(b"true"),
        Value::Bool(false) => out.buf().extend_from_slice(b"false"),
        Value::Number(x) => write_f64(out.buf(), x)?,
        Value::String(s) => write_str(out.buf(), &s),
        Value::Array(items) => {
            if depth >= MAX_DEPTH {
                return Err(too_deep());
            }
            out.buf().push(b'[');
            for (i, item) in items.into_iter().enumerate() {
                if i > 0 {
                    out.buf().push(b',');
                }
                write_nested(item, out, depth + 1).map_err(|e| e.in_index(i))?;
                out.checkpoint();
            }
            out.buf().push(b']');
        }
        Value::Object(mut members) => {
            if depth >= MAX_DEPTH {
                return Err(too_deep());
            }
            members.sort_unstable_by(|a, b| cmp_utf16(&a.0, &b.0));
            if let Some(pair) = members.windows(2).find(|pair| pair[0].0 == pair[1].0) {
                return Err(duplicate_key(&pair[0].0));
            }
            out.buf().push(b'{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.buf().push(b',');
                }
                write_str(out.buf(), &key);
                out.buf().push(b':');
                write_nested(item, out, depth + 1).map_err(|e| e.in_key(&key))?;
                out.checkpoint();
            }
            out.buf().push(b'}');
        }
    }
    Ok(())
}

/// Canonical bytes of a JSON text.
pub fn canonicalize_text(text: &[u8]) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(text.len());
    write_value(parse(text)?, &mut out)?;
    Ok(out)
}

/// Lowercase hex sha256 of the canonical bytes of a JSON text.
pub fn canonical_sha256_text(text: &[u8]) -> Result<String, CanonicalError> {
    let mut sink = Sha256Sink::new();
    write_value(parse(text)?, &mut sink)?;
    Ok(sink.hexdigest())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> Result<String, CanonicalError> {
        canonicalize_text(text.as_bytes()).map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn rfc8785_section_3_2_2_example() {
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50,
                      2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        let want = r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;
        assert_eq!(canon(input).unwrap(), want);
    }

    #[test]
    fn rfc8785_section_3_2_3_sorting_example() {
        let input = r#"{
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let want = concat!(
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",",
            "\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",",
            "\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        );
        assert_eq!(canon(input).unwrap(), want);
    }

    #[test]
    fn nested_objects_are_sorted_at_every_level() {
        assert_eq!(
            canon(r#"{"b":{"d":1,"c":[{"z":0,"y":-0}]},"a":[]}"#).unwrap(),
            r#"{"a":[],"b":{"c":[{"y":0,"z":0}],"d":1}}"#
        );
    }

    #[test]
    fn duplicate_keys_are_rejected_with_their_pointer() {
        let err = canon(r#"{"a":{"x":1,"y":2,"x":3}}"#).unwrap_err();
        assert_eq!(err.pointer(), "/a/x");
        assert!(err.message().contains("duplicate"));
    }

    #[test]
    fn depth_limit_is_exact() {
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert_eq!(canon(&ok).unwrap(), ok);
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(canon(&deep)
            .unwrap_err()
            .message()
            .contains("nesting deeper"));
        let hostile = "[".repeat(1_000_000);
        assert!(canon(&hostile)
            .unwrap_err()
            .message()
            .contains("nesting deeper"));
    }

    #[test]
    fn sha256_of_text_matches_sha256_of_bytes() {
        let text = r#"{"b":[1,2.5,"x"],"a":null}"#;
        let bytes = canonicalize_text(text.as_bytes()).unwrap();
        assert_eq!(
            canonical_sha256_text(text.as_bytes()).unwrap(),
            crate::digest::hash_bytes(crate::digest::Algo::Sha256, &bytes)
        );
    }
}
