//! A strict JSON text parser (RFC 8259 grammar, I-JSON strings): nothing is guessed or repaired.
//!
//! Refused, each with the byte offset and the JSON pointer of the place: invalid UTF-8, a byte
//! order mark, escapes that leave a lone surrogate, unescaped control characters, leading zeros,
//! numbers too large for a double, anything after the value, and nesting deeper than
//! [`MAX_DEPTH`]. Duplicate keys are kept here and refused by the writer, which sees them
//! next to each other once members are sorted.

use std::borrow::Cow;

use super::{too_deep, CanonicalError, Value, MAX_DEPTH};

/// Parses one JSON text.
pub fn parse(text: &[u8]) -> Result<Value<'_>, CanonicalError> {
    let mut p = Parser { s: text, pos: 0 };
    if text.starts_with(b"\xef\xbb\xbf") {
        return Err(p.fail("a byte order mark (U+FEFF) is not allowed before JSON text"));
    }
    p.skip_ws();
    let value = p.value(0)?;
    p.skip_ws();
    if p.pos < p.s.len() {
        return Err(p.fail(format!("{} after the JSON value", p.describe())));
    }
    Ok(value)
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    #[cold]
    #[inline(never)]
    fn fail(&self, what: impl AsRef<str>) -> CanonicalError {
        CanonicalError::new(format!(
            "invalid JSON at byte {}: {}",
            self.pos,
            what.as_ref()
        ))
    }

    /// "expected X, found Y". Out of line, like every message: the recursive functions keep
    /// small stack frames, so the nesting limit needs little stack.
    #[cold]
    #[inline(never)]
    fn unexpected(&self, expected: &str) -> CanonicalError {
        self.fail(format!("expected {expected}, found {}", self.describe()))
    }

    /// The byte at `pos`, for messages.
    fn describe(&self) -> String {
        match self.s.get(self.pos) {
            None => "unexpected end of input".into(),
            Some(&b) if b.is_ascii_graphic() => format!("unexpected character '{}'", b as char),
            Some(&b) => format!("unexpected byte 0x{b:02x}"),
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    #[inline(never)]
    fn expect(&mut self, byte: u8, context: &str) -> Result<(), CanonicalError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.fail(format!(
                "expected '{}' {context}, found {}",
                byte as char,
                self.describe()
            )))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, CanonicalError> {
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.unexpected("a JSON value")),
        }
    }

    #[inline(never)]
    fn literal(&mut self, word: &[u8], value: Value<'a>) -> Result<Value<'a>, CanonicalError> {
        if self.s[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.unexpected("a JSON value"))
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value<'a>, CanonicalError> {
        if depth >= MAX_DEPTH {
            return Err(too_deep());
        }
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            let i = items.len();
            self.skip_ws();
            items.push(self.value(depth + 1).map_err(|e| e.in_index(i))?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => {
                    return Err(self.unexpected("',' or ']' in array"));
                }
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value<'a>, CanonicalError> {
        if depth >= MAX_DEPTH {
            return Err(too_deep());
        }
        self.pos += 1;
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.unexpected("a string key in object"));
            }
            let key = self.string()?;
            self.skip_ws();
            self.expect(b':', "after object key")
                .map_err(|e| e.in_key(&key))?;
            self.skip_ws();
            let item = self.value(depth + 1).map_err(|e| e.in_key(&key))?;
            members.push((key, item));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                _ => {
                    return Err(self.unexpected("',' or '}' in object"));
                }
            }
        }
    }

    /// A string starting at the opening quote. Runs without escapes are validated as UTF-8
    /// in one call and borrowed when the whole string is one such run.
    #[inline(never)]
    fn string(&mut self) -> Result<Cow<'a, str>, CanonicalError> {
        self.pos += 1;
        let mut owned: Option<String> = None;
        loop {
            let start = self.pos;
            while let Some(&b) = self.s.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            let run = match std::str::from_utf8(&self.s[start..self.pos]) {
                Ok(run) => run,
                Err(e) => {
                    self.pos = start + e.valid_up_to();
                    return Err(self.fail(match self.s[self.pos..] {
                        // What a lone surrogate looks like when encoded anyway ("surrogatepass").
                        [0xed, b1 @ 0xa0..=0xbf, b2 @ 0x80..=0xbf, ..] => {
                            let code = 0xd000 | (u32::from(b1 & 0x3f) << 6) | u32::from(b2 & 0x3f);
                            format!("lone surrogate U+{code:04X} in string")
                        }
                        _ => "invalid UTF-8 in string".to_string(),
                    }));
                }
            };
            match self.peek() {
                None => return Err(self.fail("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(match owned {
                        None => Cow::Borrowed(run),
                        Some(mut s) => {
                            s.push_str(run);
                            Cow::Owned(s)
                        }
                    });
                }
                Some(b'\\') => {
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(run);
                    self.pos += 1;
                    let c = self.escape()?;
                    s.push(c);
                }
                Some(b) => {
                    return Err(self.fail(format!(
                        "control character U+{b:04X} must be escaped in a string"
                    )))
                }
            }
        }
    }

    /// The character of an escape, `pos` just after the backslash.
    fn escape(&mut self) -> Result<char, CanonicalError> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => return self.unicode_escape(),
            _ => return Err(self.fail(format!("invalid escape: {}", self.describe()))),
        };
        self.pos += 1;
        Ok(c)
    }

    /// `\uHHHH` (four hex digits), or a surrogate pair of two of them; `pos` at the `u`.
    fn unicode_escape(&mut self) -> Result<char, CanonicalError> {
        let at = self.pos - 1;
        let hi = self.hex4()?;
        let code = if (0xd800..0xdc00).contains(&hi) {
            if self.s[self.pos..].starts_with(b"\\u") {
                self.pos += 1;
                let lo = self.hex4()?;
                if !(0xdc00..0xe000).contains(&lo) {
                    self.pos = at;
                    return Err(self.fail(format!("lone surrogate \\u{hi:04x} in string")));
                }
                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
            } else {
                self.pos = at;
                return Err(self.fail(format!("lone surrogate \\u{hi:04x} in string")));
            }
        } else if (0xdc00..0xe000).contains(&hi) {
            self.pos = at;
            return Err(self.fail(format!("lone surrogate \\u{hi:04x} in string")));
        } else {
            hi
        };
        Ok(char::from_u32(code).expect("surrogates were handled"))
    }

    /// Four hex digits after a `u`; `pos` at the `u`.
    fn hex4(&mut self) -> Result<u32, CanonicalError> {
        self.pos += 1;
        let mut code = 0;
        for _ in 0..4 {
            let digit = match self.peek() {
                Some(b @ b'0'..=b'9') => b - b'0',
                Some(b @ b'a'..=b'f') => b - b'a' + 10,
                Some(b @ b'A'..=b'F') => b - b'A' + 10,
                _ => {
                    return Err(self.fail(format!(
                        "expected a hex digit in \\u escape, found {}",
                        self.describe()
                    )))
                }
            };
            code = code * 16 + u32::from(digit);
            self.pos += 1;
        }
        Ok(code)
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, read as the nearest double.
    #[inline(never)]
    fn number(&mut self) -> Result<Value<'a>, CanonicalError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.fail("leading zeros are not allowed in numbers"));
                }
            }
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.fail(format!("expected a digit, found {}", self.describe()))),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.require_digits("after the decimal point")?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.require_digits("in the exponent")?;
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).expect("ASCII by construction");
        let x: f64 = text
            .parse()
            .expect("the grammar above is a subset of Rust's float syntax");
        if !x.is_finite() {
            self.pos = start;
            let shown = if text.len() > 40 { &text[..40] } else { text };
            return Err(self.fail(format!(
                "number {shown} is too large for an IEEE-754 double"
            )));
        }
        Ok(Value::Number(x))
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn require_digits(&mut self, context: &str) -> Result<(), CanonicalError> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(self.fail(format!(
                "expected a digit {context}, found {}",
                self.describe()
            )));
        }
        self.digits();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &[u8]) -> CanonicalError {
        parse(text).expect_err("must be refused")
    }

    #[test]
    fn strict_grammar_is_enforced() {
        for bad in [
            &b""[..],
            b" ",
            b"{",
            b"[1,]",
            b"[1 2]",
            b"{\"a\" 1}",
            b"{\"a\":1,}",
            b"{a:1}",
            b"01",
            b"-",
            b"1.",
            b".5",
            b"1e",
            b"+1",
            b"NaN",
            b"Infinity",
            b"tru",
            b"nul",
            b"'x'",
            b"\"\\x\"",
            b"\"\\u12\"",
            b"1 2",
            b"[] x",
            b"\"abc",
            b"// c\n1",
            b"0x10",
        ] {
            assert!(
                parse(bad).is_err(),
                "{:?} was accepted",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn messages_say_where() {
        let e = err(b"{\"a\": [1, 2, tru]}");
        assert_eq!(e.pointer(), "/a/2");
        assert!(
            e.message().starts_with("invalid JSON at byte 13:"),
            "{}",
            e.message()
        );
        let e = err(b"[1] x");
        assert!(e
            .message()
            .contains("unexpected character 'x' after the JSON value"));
    }

    #[test]
    fn invalid_utf8_is_rejected_at_its_offset() {
        let e = err(b"[\"ok\", \"b\xffd\"]");
        assert!(
            e.message().contains("byte 9: invalid UTF-8"),
            "{}",
            e.message()
        );
        assert_eq!(e.pointer(), "/1");
        let e = err(b"\"\xed\xa0\x80\""); // a surrogate encoded in UTF-8
        assert!(
            e.message().contains("lone surrogate U+D800"),
            "{}",
            e.message()
        );
        assert!(parse(b"\xef\xbb\xbf1")
            .unwrap_err()
            .message()
            .contains("byte order mark"));
    }

    #[test]
    fn lone_surrogate_escapes_are_rejected() {
        for bad in [
            &br#""\ud800""#[..],
            br#""\udc00""#,
            br#""\ud800\u0041""#,
            br#""\ud800x""#,
        ] {
            assert!(err(bad).message().contains("lone surrogate"));
        }
        assert_eq!(
            parse(br#""\ud83d\ude02""#).unwrap(),
            Value::String("\u{1f602}".into())
        );
    }

    #[test]
    fn control_characters_must_be_escaped() {
        assert!(err(b"\"a\nb\"").message().contains("U+000A"));
        assert_eq!(parse(br#""a\nb""#).unwrap(), Value::String("a\nb".into()));
    }

    #[test]
    fn numbers_round_to_nearest_and_overflow_is_refused() {
        assert_eq!(parse(b"-0").unwrap(), Value::Number(-0.0));
        assert_eq!(
            parse(b"333333333.33333329").unwrap(),
            Value::Number(333333333.3333333)
        );
        assert_eq!(parse(b"1e-400").unwrap(), Value::Number(0.0));
        assert!(err(b"1e400").message().contains("too large"));
        assert!(err(b"[-1E309]").message().contains("too large"));
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        match parse(b"\"plain\"").unwrap() {
            Value::String(Cow::Borrowed("plain")) => {}
            other => panic!("{other:?}"),
        }
    }
}
