//! Ed25519 signature checks, many at a time (RFC 8032, as `ed25519-dalek`'s `verify_strict`).
//!
//! `receiptcore serve` checks the signature of every receipt appended to it; with OpenSSL, held
//! under the GIL, that was half of the server's CPU time. Here each check is the strict one:
//! besides `S < L` and the recomputed `R` (what OpenSSL checks), a public key or an `R` of
//! small order is refused, so nothing OpenSSL refuses is accepted. Checks are independent
//! (no batch equation, which can accept what a single check refuses).

use ed25519_dalek::{Signature, VerifyingKey};
use rayon::prelude::*;

/// From this many checks on, [`verify_many`] spreads them over rayon's threads (one check is
/// ~50 us, far above the cost of handing it to another core).
pub const PARALLEL_MIN: usize = 4;

/// One signature to check: the raw 32-byte public key, the message, the 64-byte signature.
pub struct Check<'a> {
    pub public_key: &'a [u8],
    pub message: &'a [u8],
    pub signature: &'a [u8],
}

/// Whether `signature` is `public_key`'s over `message`. A key or signature of the wrong length,
/// or a key that is not a point of the curve, is `false`, like a bad signature.
pub fn verify(check: &Check<'_>) -> bool {
    let Ok(key) = <[u8; 32]>::try_from(check.public_key) else {
        return false;
    };
    let Ok(signature) = Signature::from_slice(check.signature) else {
        return false;
    };
    match VerifyingKey::from_bytes(&key) {
        Ok(key) => key.verify_strict(check.message, &signature).is_ok(),
        Err(_) => false,
    }
}

/// [`verify`] of each check, in order (on every core from [`PARALLEL_MIN`] checks).
pub fn verify_many(checks: &[Check<'_>]) -> Vec<bool> {
    if checks.len() < PARALLEL_MIN {
        return checks.iter().map(verify).collect();
    }
    checks.par_iter().map(verify).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 8032 section 7.1, TEST 2 (one-byte message).
    const KEY: &str = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
    const SIG: &str = "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da\
                       085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00";
    const MSG: &[u8] = &[0x72];

    fn check<'a>(key: &'a [u8], message: &'a [u8], signature: &'a [u8]) -> Check<'a> {
        Check {
            public_key: key,
            message,
            signature,
        }
    }

    #[test]
    fn the_rfc_8032_vector_verifies() {
        let (key, sig) = (hex::decode(KEY).unwrap(), hex::decode(SIG).unwrap());
        assert!(verify(&check(&key, MSG, &sig)));
    }

    #[test]
    fn a_changed_message_signature_or_key_does_not() {
        let (key, sig) = (hex::decode(KEY).unwrap(), hex::decode(SIG).unwrap());
        assert!(!verify(&check(&key, b"s", &sig)));
        let mut bad = sig.clone();
        bad[10] ^= 1;
        assert!(!verify(&check(&key, MSG, &bad)));
        let mut other = key.clone();
        other[3] ^= 1;
        assert!(!verify(&check(&other, MSG, &sig)));
    }

    #[test]
    fn wrong_lengths_are_refusals_not_panics() {
        let (key, sig) = (hex::decode(KEY).unwrap(), hex::decode(SIG).unwrap());
        assert!(!verify(&check(&key[..31], MSG, &sig)));
        assert!(!verify(&check(&key, MSG, &sig[..63])));
        assert!(!verify(&check(&[], MSG, &[])));
    }

    #[test]
    fn a_non_canonical_s_is_refused() {
        // S + L: the same point equation, but S out of range (malleability); RFC 8032 refuses it.
        let (key, mut sig) = (hex::decode(KEY).unwrap(), hex::decode(SIG).unwrap());
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for i in 0..32 {
            let sum = sig[32 + i] as u16 + L[i] as u16 + carry;
            sig[32 + i] = sum as u8;
            carry = sum >> 8;
        }
        assert!(!verify(&check(&key, MSG, &sig)));
    }

    #[test]
    fn a_small_order_key_is_refused() {
        // The identity point as the key, and R = identity, S = 0: the cofactorless equation
        // holds for any message, so only the small-order check refuses it.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut sig = [0u8; 64];
        sig[0] = 1;
        assert!(!verify(&check(&identity, b"anything", &sig)));
    }

    #[test]
    fn many_are_checked_in_order() {
        let (key, sig) = (hex::decode(KEY).unwrap(), hex::decode(SIG).unwrap());
        let checks = [
            check(&key, MSG, &sig),
            check(&key, b"x", &sig),
            check(&key, MSG, &sig),
        ];
        assert_eq!(verify_many(&checks), vec![true, false, true]);
        let many: Vec<Check<'_>> = (0..3 * PARALLEL_MIN)
            .map(|i| check(&key, if i % 3 == 1 { b"x" } else { MSG }, &sig))
            .collect();
        let expected: Vec<bool> = (0..3 * PARALLEL_MIN).map(|i| i % 3 != 1).collect();
        assert_eq!(verify_many(&many), expected);
    }
}
