//! JSON numbers as RFC 8785 writes them: ECMAScript's `Number.prototype.toString` of the
//! IEEE-754 double (shortest digits that round-trip, plain notation from 1e-6 up to but not
//! including 1e21, exponent form outside, `-0` as `0`).
//!
//! `ryu-js` implements exactly that algorithm (it is the formatter of the Boa JavaScript engine);
//! the tests check it against the reference implementation's ES6 number file and Node.js.

use super::CanonicalError;

/// Largest magnitude below which every integer is a double: 2^53.
const EXACT_INT_LIMIT: u64 = 1 << 53;

/// Appends the canonical form of `x`; NaN and the infinities have none.
#[inline]
pub fn write_f64(out: &mut Vec<u8>, x: f64) -> Result<(), CanonicalError> {
    if !x.is_finite() {
        return Err(not_finite(x));
    }
    if x == 0.0 {
        // Both zeros; ECMAScript prints -0 as "0".
        out.push(b'0');
        return Ok(());
    }
    // Formatted on the stack (at most 25 bytes), then appended: one short copy, no `unsafe`.
    out.extend_from_slice(ryu_js::Buffer::new().format_finite(x).as_bytes());
    Ok(())
}

/// Appends an integer, which must be exactly a double (so 2^53 + 1 is refused; 2^60 is not).
#[inline]
pub fn write_i64(out: &mut Vec<u8>, x: i64) -> Result<(), CanonicalError> {
    if x.unsigned_abs() <= EXACT_INT_LIMIT {
        // Below 2^53 < 1e21 ECMAScript writes every integer with all its digits.
        write_decimal(out, x);
        return Ok(());
    }
    let f = x as f64;
    // `as` rounds to nearest; the integer is exact iff it survives the trip back.
    if f as i128 != x as i128 {
        return Err(inexact_integer(&x.to_string()));
    }
    write_f64(out, f)
}

/// The error for a finite double that is not a number JSON can carry.
#[cold]
pub fn not_finite(x: f64) -> CanonicalError {
    let name = if x.is_nan() {
        "NaN"
    } else if x > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    };
    CanonicalError::new(format!(
        "{name} is not allowed: JSON numbers must be finite"
    ))
}

/// The error for an integer that no IEEE-754 double equals; `digits` is its decimal form.
#[cold]
pub fn inexact_integer(digits: &str) -> CanonicalError {
    let shown = if digits.len() > 40 {
        format!(
            "{}...{} ({} digits)",
            &digits[..20],
            &digits[digits.len() - 10..],
            digits.len()
        )
    } else {
        digits.to_owned()
    };
    CanonicalError::new(format!(
        "integer {shown} is not exactly representable as an IEEE-754 double \
         (RFC 8785 numbers are doubles; pass it as a string or as a float)"
    ))
}

fn write_decimal(out: &mut Vec<u8>, x: i64) {
    let mut digits = [0u8; 20];
    let mut n = x.unsigned_abs();
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if x < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: f64) -> String {
        let mut out = Vec::new();
        write_f64(&mut out, x).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn i(x: i64) -> Result<String, CanonicalError> {
        let mut out = Vec::new();
        write_i64(&mut out, x).map(|()| String::from_utf8(out).unwrap())
    }

    #[test]
    fn numbers_follow_ecmascript_to_string() {
        // RFC 8785 section 3.2.2.3 and Appendix B.
        let cases: &[(u64, &str)] = &[
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ];
        for &(bits, want) in cases {
            assert_eq!(f(f64::from_bits(bits)), want, "bits {bits:#x}");
        }
    }

    #[test]
    fn non_finite_numbers_are_rejected() {
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(write_f64(&mut Vec::new(), x).is_err());
        }
        assert!(not_finite(f64::NAN).message().starts_with("NaN"));
        assert!(not_finite(f64::NEG_INFINITY)
            .message()
            .starts_with("-Infinity"));
    }

    #[test]
    fn integers_must_be_exact_doubles() {
        assert_eq!(i(0).unwrap(), "0");
        assert_eq!(i(-42).unwrap(), "-42");
        assert_eq!(i(1 << 53).unwrap(), "9007199254740992");
        assert_eq!(i((1 << 60) + (1 << 8)).unwrap(), "1152921504606847200");
        assert_eq!(i(1 << 60).unwrap(), "1152921504606847000");
        assert_eq!(i(i64::MIN).unwrap(), "-9223372036854776000");
        assert!(i((1 << 53) + 1).is_err());
        assert!(i(-(1 << 53) - 1).is_err());
        assert!(i(i64::MAX).is_err());
    }

    #[test]
    fn long_integers_are_shortened_in_messages() {
        let err = inexact_integer(&"7".repeat(400));
        assert!(err.message().contains("(400 digits)"));
    }
}
