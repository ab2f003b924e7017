//! Zip containers: PyTorch checkpoints (`*/data.pkl`), NumPy `.npz`, Keras v3 `.keras`.
//!
//! A zip is only a container; what decides is the list of entry names, read from the central
//! directory (found through the end-of-central-directory record, zip64 included). A plain zip
//! of documents matches no rule and gives `None`. If the central directory cannot be found
//! (a truncated file), the name of the first local entry is used instead.

use std::io;

use super::{u16_at, u32_at, u64_at, Family, Probe, Sniff};

/// Most central-directory bytes read (about 10,000 entries); the rest is ignored.
const CD_LIMIT: u64 = 1 << 20;
/// The end record sits in the last 22 bytes plus a comment of at most 64 KiB.
const EOCD_SEARCH: u64 = 22 + 0xFFFF;

pub fn detect(p: &Probe) -> io::Result<Option<Sniff>> {
    if !p.head.starts_with(b"PK\x03\x04") {
        return Ok(None);
    }
    let names = match central_directory(p)? {
        Some(names) => names,
        None => match first_local_name(p.head) {
            Some(name) => vec![name],
            None => return Ok(None),
        },
    };
    Ok(classify(&names))
}

fn classify(names: &[String]) -> Option<Sniff> {
    let count = names.len();
    if let Some(pkl) = names.iter().find(|n| is_torch_pickle(n)) {
        let storages = names.iter().filter(|n| n.contains("/data/")).count();
        return Some(Sniff::new(
            "torch_zip",
            Family::Weights,
            format!("zip with entry {pkl:?} and {storages} tensor storages ({count} entries)"),
        ));
    }
    let has = |want: &str| names.iter().any(|n| n == want);
    if has("config.json") && (has("model.weights.h5") || has("model.weights.npz")) {
        return Some(Sniff::new(
            "keras",
            Family::Weights,
            format!("zip with entries config.json and model.weights.* ({count} entries): Keras v3"),
        ));
    }
    if count > 0 && names.iter().all(|n| n.ends_with(".npy")) {
        return Some(Sniff::new(
            "npz",
            Family::TensorData,
            format!("zip whose {count} entries are all .npy arrays: NumPy .npz"),
        ));
    }
    None
}

/// `<folder>/data.pkl` exactly one level deep, as `torch.save` writes it (Lightning's `.ckpt`
/// and TorchScript archives too).
fn is_torch_pickle(name: &str) -> bool {
    match name.split_once('/') {
        Some((folder, rest)) => !folder.is_empty() && rest == "data.pkl",
        None => false,
    }
}

fn first_local_name(head: &[u8]) -> Option<String> {
    let len = u16_at(head, 26)? as usize;
    let name = head.get(30..30 + len)?;
    String::from_utf8(name.to_vec()).ok()
}

/// Entry names from the central directory, or `None` if it cannot be located.
fn central_directory(p: &Probe) -> io::Result<Option<Vec<String>>> {
    let Some((eocd_at, eocd)) = find_eocd(p)? else {
        return Ok(None);
    };
    let mut cd_size = u32_at(&eocd, 12).unwrap_or(0) as u64;
    let mut cd_offset = u32_at(&eocd, 16).unwrap_or(0) as u64;
    if (cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF) && eocd_at >= 20 {
        // Zip64: a locator right before the end record points at the zip64 end record.
        let Some(loc) = p.exact(eocd_at - 20, 20)? else {
            return Ok(None);
        };
        if !loc.starts_with(b"PK\x06\x07") {
            return Ok(None);
        }
        let rec_at = u64_at(&loc, 8).unwrap_or(u64::MAX);
        let Some(rec) = p.exact(rec_at, 56)? else {
            return Ok(None);
        };
        if !rec.starts_with(b"PK\x06\x06") {
            return Ok(None);
        }
        cd_size = u64_at(&rec, 40).unwrap_or(0);
        cd_offset = u64_at(&rec, 48).unwrap_or(u64::MAX);
    }
    if cd_offset.saturating_add(cd_size) > p.size {
        return Ok(None);
    }
    let cd = p.read_at(cd_offset, cd_size.min(CD_LIMIT) as usize)?;
    let mut names = Vec::new();
    let mut at = 0usize;
    while cd.get(at..at + 4) == Some(b"PK\x01\x02") {
        let (Some(n), Some(x), Some(c)) = (
            u16_at(&cd, at + 28),
            u16_at(&cd, at + 30),
            u16_at(&cd, at + 32),
        ) else {
            break;
        };
        let Some(name) = cd.get(at + 46..at + 46 + n as usize) else {
            break;
        };
        names.push(String::from_utf8_lossy(name).into_owned());
        at += 46 + n as usize + x as usize + c as usize;
    }
    Ok((!names.is_empty()).then_some(names))
}

fn find_eocd(p: &Probe) -> io::Result<Option<(u64, Vec<u8>)>> {
    // Most zips have no comment: try the last KiB before reading the last 64.
    for window in [1024u64, EOCD_SEARCH] {
        let start = p.size.saturating_sub(window);
        let bytes = p.read_at(start, (p.size - start) as usize)?;
        if let Some(i) = bytes.windows(4).rposition(|w| w == b"PK\x05\x06") {
            if bytes.len() - i >= 22 {
                return Ok(Some((start + i as u64, bytes[i..i + 22].to_vec())));
            }
        }
        if start == 0 {
            break;
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn torch_pickle_must_sit_one_folder_deep() {
        assert!(is_torch_pickle("archive/data.pkl"));
        assert!(is_torch_pickle("model_v2/data.pkl"));
        assert!(!is_torch_pickle("data.pkl"));
        assert!(!is_torch_pickle("a/b/data.pkl"));
        assert!(!is_torch_pickle("archive/data.pkl.txt"));
    }

    #[test]
    fn plain_zips_are_not_flagged() {
        assert!(classify(&names(&["README.md", "src/main.rs"])).is_none());
        assert!(classify(&names(&["a.npy", "notes.txt"])).is_none());
        assert!(classify(&[]).is_none());
    }

    #[test]
    fn entry_lists_classify() {
        let t = classify(&names(&[
            "archive/data.pkl",
            "archive/data/0",
            "archive/version",
        ]));
        assert_eq!(t.unwrap().format, "torch_zip");
        assert_eq!(classify(&names(&["x.npy", "y.npy"])).unwrap().format, "npz");
        let k = classify(&names(&[
            "metadata.json",
            "config.json",
            "model.weights.h5",
        ]));
        assert_eq!(k.unwrap().format, "keras");
    }
}
