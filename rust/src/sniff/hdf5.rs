//! HDF5 (h5py files, Keras `.h5`): the 8-byte signature `\x89HDF\r\n\x1a\n` at offset 0 or
//! after a user block of 512, 1024, 2048, ... bytes, followed by a superblock version 0 to 3.
//!
//! Offsets within the head cost nothing; those past it are one 9-byte read each, and are
//! tried only for files that look binary (a NUL in the head) or are 1 MiB or more, so source
//! and text files never pay for them. A file whose first 64 KiB name `keras_version` or
//! `model_config` is reported as Keras (weights); other HDF5 files as tensor data.

use std::io;

use super::{Family, Probe, Sniff};

const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";
const LARGE: u64 = 1 << 20;
const KERAS_SCAN: usize = 64 << 10;

pub fn detect(p: &Probe) -> io::Result<Option<Sniff>> {
    let mut at = 0u64;
    while at + 9 <= p.size {
        if at + 9 > p.head.len() as u64 && p.size < LARGE && !p.head.contains(&0) {
            break;
        }
        let bytes = p.read_at(at, 9)?;
        if bytes.len() == 9 && bytes.starts_with(SIGNATURE) && bytes[8] <= 3 {
            return Ok(Some(found(p, at, bytes[8])?));
        }
        at = if at == 0 { 512 } else { at * 2 };
    }
    Ok(None)
}

fn found(p: &Probe, at: u64, version: u8) -> io::Result<Sniff> {
    let start = p.read_at(at, KERAS_SCAN)?;
    let keras = [&b"keras_version"[..], b"model_config"]
        .iter()
        .any(|needle| start.windows(needle.len()).any(|w| w == *needle));
    let place = format!("HDF5 signature at offset {at}, superblock version {version}");
    Ok(if keras {
        Sniff::new(
            "keras_h5",
            Family::Weights,
            format!("{place}, Keras attributes in the first 64 KiB"),
        )
    } else {
        Sniff::new("hdf5", Family::TensorData, place)
    })
}
