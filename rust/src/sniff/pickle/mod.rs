//! Pickles of every protocol (0 to 5), legacy PyTorch files and joblib dumps: what they hold
//! and what they import, without unpickling.
//!
//! Each stream is run on the symbolic machine of [`vm`], which accepts and refuses what
//! `pickle.load` does, so a stream that breaks the usual shape (items left under the result at
//! STOP, a payload that runs before a memo error, names assembled through the memo) is read as
//! the real loader reads it. A file may hold several pickles one after the other (legacy
//! `torch.save` writes five, an attacker may append one): each is run while the previous one
//! ended at STOP. Every import is listed; those outside the allow-list of [`allow`] make the
//! verdict unsafe. Payloads (tensor bytes, joblib's raw arrays) are stepped over, never read.

mod allow;
mod vm;

use std::io;

use allow::{holds, Holds};
pub use allow::{is_allowed_global, ALLOWED_GLOBALS};
use vm::Outcome;

use super::{Family, Probe, Sniff};

/// Imports (and unsafe notes) kept per file.
pub const MAX_GLOBALS: usize = 64;
/// Opcodes validated before a pickle that has not reached STOP is accepted.
const ENOUGH_OPS: usize = 64;
/// Streams run one after the other in one file.
const MAX_STREAMS: usize = 32;

/// `torch.serialization.MAGIC_NUMBER` as the first pickle of a legacy (pre-1.6) torch.save file:
/// PROTO 2, LONG1 of 10 bytes, the number little-endian, STOP.
const TORCH_LEGACY: &[u8] = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.";

/// Bytes a pickle can start with: PROTO, or the first opcode of a protocol 0 or 1 stream
/// (something pushed: a mark, a global, a container, a scalar, a persistent id).
fn can_start(b: u8) -> bool {
    b == 0x80 || b"(c]})NILFSVGJKMTUXP".contains(&b)
}

/// What the pickles from one offset showed.
pub(crate) struct Analysis {
    pub protocol: u8,
    /// Streams accepted, one after the other.
    pub streams: usize,
    /// The first stream is a whole pickle (STOP), or long enough to be sure of.
    pub is_pickle: bool,
    pub end: u64,
    pub stopped: bool,
    pub ops: usize,
    pub globals: Vec<String>,
    pub unsafe_globals: Vec<String>,
    pub raw_arrays: u32,
}

impl Analysis {
    pub fn holds(&self) -> Holds {
        holds(&self.globals)
    }
}

/// Runs the pickles at `start`. `known` says the context already knows a pickle is there (the
/// payload of a `.npy` object array, a zip member), so a stream without PROTO counts as one.
pub(crate) fn analyze(p: &Probe, start: u64, known: bool) -> io::Result<Option<Analysis>> {
    let mut a = Analysis {
        protocol: 0,
        streams: 0,
        is_pickle: false,
        end: start,
        stopped: false,
        ops: 0,
        globals: Vec::new(),
        unsafe_globals: Vec::new(),
        raw_arrays: 0,
    };
    let mut pos = start;
    for index in 0..MAX_STREAMS {
        let first = match p.read_at(pos, 1)?.first() {
            Some(&b) if can_start(b) => b,
            _ => break,
        };
        let s = vm::run(p, pos)?;
        let strong = s.proto.is_some() || (known && index == 0);
        let stopped = s.outcome == Outcome::Stopped;
        let accepted = stopped
            || s.executed
            || (strong && s.ops >= ENOUGH_OPS && !matches!(s.outcome, Outcome::Failed(_)))
            || (strong && !s.globals.is_empty() && s.ops >= 4)
            || (!strong
                && first == b'c'
                && !s.globals.is_empty()
                && s.ops >= 2
                && s.outcome == Outcome::OutOfInput);
        if !accepted {
            break;
        }
        if index == 0 {
            a.protocol = s.proto.unwrap_or(0);
            a.stopped = stopped;
            a.ops = s.ops;
            a.is_pickle = stopped
                || s.raw_arrays > 0
                || (strong && s.ops >= ENOUGH_OPS && !matches!(s.outcome, Outcome::Failed(_)));
        }
        a.streams += 1;
        a.raw_arrays += s.raw_arrays;
        a.end = s.end;
        for g in &s.globals {
            if !a.globals.contains(g) && a.globals.len() < MAX_GLOBALS {
                a.globals.push(g.clone());
            }
            if !is_allowed_global(g) {
                push(&mut a.unsafe_globals, g.clone());
            }
        }
        for n in s.notes {
            push(&mut a.unsafe_globals, n);
        }
        match s.outcome {
            Outcome::Stopped => pos = s.end,
            Outcome::Budget | Outcome::TooLarge => {
                push(
                    &mut a.unsafe_globals,
                    format!(
                        "<not analysed past offset {}: the pickle is larger than the sniff's budget>",
                        s.end
                    ),
                );
                break;
            }
            _ => break,
        }
    }
    Ok((a.streams > 0).then_some(a))
}

fn push(list: &mut Vec<String>, item: String) {
    if list.len() < MAX_GLOBALS && !list.contains(&item) {
        list.push(item);
    }
}

pub fn detect(p: &Probe) -> io::Result<Option<Sniff>> {
    if p.head.is_empty() || !can_start(p.head[0]) {
        return Ok(None);
    }
    let legacy = p.head.starts_with(TORCH_LEGACY);
    let Some(a) = analyze(p, 0, false)? else {
        return Ok(None);
    };
    if !a.is_pickle && a.unsafe_globals.is_empty() && !legacy {
        return Ok(None);
    }
    Ok(Some(to_sniff(&a, legacy)))
}

/// The finding for an analysis: format and family from what the imports build.
pub(crate) fn to_sniff(a: &Analysis, legacy: bool) -> Sniff {
    let (format, family) = if legacy {
        ("torch_legacy", Family::Weights)
    } else if a
        .globals
        .iter()
        .any(|g| g.starts_with("joblib.numpy_pickle"))
    {
        ("joblib", Family::Weights)
    } else {
        match a.holds() {
            Holds::Weights => ("pickle", Family::Weights),
            Holds::Arrays => ("pickle", Family::TensorData),
            Holds::Data => ("pickle", Family::Pickle),
        }
    };
    let mut evidence = if legacy {
        "torch.save magic number pickled at offset 0 (legacy PyTorch format)".to_string()
    } else {
        format!("pickle protocol {}", a.protocol)
    };
    if a.streams > 1 {
        evidence.push_str(&format!(", {} pickles one after another", a.streams));
    }
    evidence.push_str(&if a.stopped {
        format!("; STOP at offset {}", a.end)
    } else {
        format!("; {} opcodes valid up to offset {}", a.ops, a.end)
    });
    if a.raw_arrays > 0 {
        evidence.push_str(&format!("; {} raw arrays stepped over", a.raw_arrays));
    }
    if a.globals.is_empty() {
        evidence.push_str("; imports nothing");
    } else {
        evidence.push_str(&format!("; imports {}", a.globals.join(", ")));
    }
    let mut s = Sniff::new(format, family, evidence);
    s.globals = a.globals.clone();
    s.unsafe_globals = a.unsafe_globals.clone();
    s
}

#[cfg(test)]
mod tests {
    use super::super::sniff_bytes;

    #[test]
    fn a_small_dict_pickle_is_plain_data() {
        // pickle.dumps({"a": 1}, protocol=4)
        let data = b"\x80\x04\x95\n\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.";
        let found = sniff_bytes(data).expect("pickle");
        assert_eq!((found.format, found.family.as_str()), ("pickle", "pickle"));
        assert!(found.evidence.contains("STOP"), "{}", found.evidence);
        assert!(found.unsafe_globals.is_empty());
    }

    #[test]
    fn text_after_a_proto_opcode_is_not_a_pickle() {
        for text in [
            &b"\x80\x04hello world"[..],
            b"\x80\x02)))))",
            b"\x80\x03}q\x00(X",
            b"Import this\n",
            b"class Foo:\n    pass\n",
            b"cmod\n\xf8\n",
            b"(define (f x) x)\n",
            b"Name: value\n",
        ] {
            assert_eq!(sniff_bytes(text), None, "{text:?}");
        }
    }

    #[test]
    fn legacy_torch_magic_is_recognised() {
        let mut data = super::TORCH_LEGACY.to_vec();
        data.extend_from_slice(b"\x80\x02M\xe9\x03.");
        assert_eq!(sniff_bytes(&data).unwrap().format, "torch_legacy");
    }

    fn unsafe_of(data: &[u8]) -> Vec<String> {
        sniff_bytes(data)
            .map(|s| s.unsafe_globals)
            .unwrap_or_default()
    }

    #[test]
    fn protocol_0_and_1_imports_are_read() {
        // pickle.dumps of a __reduce__ returning (os.system, ("ls",)), protocols 0 and 1.
        let v0 = b"cposix\nsystem\np0\n(Vls\np1\ntp2\nRp3\n.";
        let v1 = b"cposix\nsystem\nq\x00(X\x02\x00\x00\x00lsq\x01tq\x02Rq\x03.";
        assert_eq!(unsafe_of(v0), ["posix.system"]);
        assert_eq!(unsafe_of(v1), ["posix.system"]);
        // INST, as in the Sour Pickles paper.
        let inst = b"(S'print(1)'\ni__builtin__\nexec\n.";
        assert_eq!(unsafe_of(inst), ["__builtin__.exec"]);
    }

    #[test]
    fn a_payload_that_runs_before_a_memo_error_is_found() {
        let data = b"\x80\x04cos\nsystem\nVecho hi\n\x85R0\x8c\x02os\x94h\x03h\x00\x93K\x42.";
        assert_eq!(unsafe_of(data), ["os.system"]);
    }

    #[test]
    fn extra_items_under_the_result_at_stop_still_load() {
        let data = b"\x80\x04K\x01K\x02\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R.";
        assert_eq!(unsafe_of(data), ["os.system"]);
    }

    #[test]
    fn names_assembled_through_the_memo_are_read() {
        let data = b"Vos\np2\n0Vsystem\np3\n0g2\ng3\n\x93(Vid\ntR.";
        assert_eq!(unsafe_of(data), ["os.system"]);
    }

    #[test]
    fn computed_stack_global_operands_and_builds_on_modules_are_unsafe() {
        // STACK_GLOBAL on the results of other STACK_GLOBALs (the sys.modules override).
        let data = b"\x80\x04\x8c\x05torch\x8c\x06_utils\x93\x94}\x8c\x01x\x8c\x08builtinssb0h\x00h\x00\x93.";
        let u = unsafe_of(data);
        assert!(u.iter().any(|n| n.starts_with("torch._utils")), "{u:?}");
        assert!(u.iter().any(|n| n.contains("computed")), "{u:?}");
    }

    #[test]
    fn a_second_pickle_after_the_first_is_read() {
        let mut data = b"\x80\x04]\x94.".to_vec();
        data.extend_from_slice(b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x011\x85R.");
        assert_eq!(unsafe_of(&data), ["builtins.eval"]);
    }

    #[test]
    fn tensor_rebuilders_are_weights_and_safe() {
        let data = b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\nq\x00)Rq\x01.";
        let s = sniff_bytes(data).unwrap();
        assert_eq!(s.family.as_str(), "weights");
        assert!(s.unsafe_globals.is_empty(), "{:?}", s.unsafe_globals);
    }
}
