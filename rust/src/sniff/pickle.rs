//! Pickles (protocols 2 to 5), legacy PyTorch files and joblib dumps.
//!
//! `\x80\x04` is two bytes a text file can start with, so the signature is confirmed by running
//! the opcodes on a symbolic stack (no objects are built, nothing is imported): every opcode
//! must be known, its arguments must fit in the file, and it must find on the stack what it
//! needs (a mark, enough items, a memo entry that was stored). A pickle is reported when the
//! walk reaches `STOP` with one item left, or validates [`ENOUGH_OPS`] opcodes before its read
//! limit. Large payloads (tensor bytes) are skipped by offset, never read.

use std::collections::HashMap;
use std::io;

use super::{Family, Probe, Sniff};

/// Opcodes validated before a pickle that has not reached STOP is accepted.
const ENOUGH_OPS: usize = 64;
/// Opcodes validated before a joblib wrapper (a named global) is accepted.
const JOBLIB_OPS: usize = 8;
/// Bytes of opcodes walked at most (payloads skipped by offset do not count).
const READ_LIMIT: u64 = 256 << 10;
const WINDOW: usize = 16 << 10;

/// `torch.serialization.MAGIC_NUMBER` as the first pickle of a legacy (pre-1.6) torch.save file:
/// PROTO 2, LONG1 of 10 bytes, the number little-endian, STOP.
const TORCH_LEGACY: &[u8] = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.";

pub fn detect(p: &Probe) -> io::Result<Option<Sniff>> {
    if p.head.len() < 3 || p.head[0] != 0x80 || !(2..=5).contains(&p.head[1]) {
        return Ok(None);
    }
    if p.head.starts_with(TORCH_LEGACY) {
        return Ok(Some(Sniff::new(
            "torch_legacy",
            Family::Weights,
            "torch.save magic number pickled at offset 0 (legacy PyTorch format)",
        )));
    }
    let walk = walk(p, 0)?;
    // joblib writes each array's raw bytes into the stream right after its
    // NumpyArrayWrapper, so the opcode walk stops there: the wrapper is the evidence.
    let joblib = walk
        .globals
        .iter()
        .find(|g| g.starts_with("joblib.numpy_pickle."));
    if let Some(global) = joblib.filter(|_| walk.ops >= JOBLIB_OPS) {
        return Ok(Some(Sniff::new(
            "joblib",
            Family::Weights,
            format!(
                "pickle protocol {} referencing {global}; {} opcodes valid up to offset {}",
                p.head[1], walk.ops, walk.end
            ),
        )));
    }
    if !walk.accepted() {
        return Ok(None);
    }
    let reached = if walk.stopped {
        format!("STOP at offset {}", walk.end)
    } else {
        format!("{} opcodes valid up to offset {}", walk.ops, walk.end)
    };
    Ok(Some(Sniff::new(
        "pickle",
        Family::Weights,
        format!(
            "pickle protocol {} opcodes from offset 0; {reached}",
            p.head[1]
        ),
    )))
}

/// The result of a symbolic run over a pickle stream.
#[derive(Debug, Default)]
pub struct Walk {
    pub stopped: bool,
    pub ops: usize,
    pub end: u64,
    /// `module.name` of GLOBAL / STACK_GLOBAL opcodes, in order (first 64).
    pub globals: Vec<String>,
    failed: bool,
}

impl Walk {
    pub fn accepted(&self) -> bool {
        !self.failed && (self.stopped || self.ops >= ENOUGH_OPS)
    }
}

#[derive(Clone, Debug)]
enum Item {
    Mark,
    Str(String),
    Any,
}

/// Reads the stream through a sliding window over the probe.
struct Cursor<'p, 'a> {
    probe: &'p Probe<'a>,
    window: Vec<u8>,
    window_start: u64,
    pos: u64,
    read: u64,
}

impl Cursor<'_, '_> {
    /// The next `n` bytes (n <= WINDOW), or None at the end of the file or the read limit.
    fn take(&mut self, n: usize) -> io::Result<Option<&[u8]>> {
        let offset = self.pos - self.window_start;
        if offset as usize + n > self.window.len() {
            if self.read >= READ_LIMIT {
                return Ok(None);
            }
            let bytes = self.probe.read_at(self.pos, WINDOW.max(n))?;
            self.read += bytes.len() as u64;
            self.window = bytes.into_owned();
            self.window_start = self.pos;
        }
        let offset = (self.pos - self.window_start) as usize;
        if offset + n > self.window.len() {
            return Ok(None);
        }
        self.pos += n as u64;
        Ok(Some(&self.window[offset..offset + n]))
    }

    fn uint(&mut self, n: usize) -> io::Result<Option<u64>> {
        Ok(self.take(n)?.map(|b| {
            let mut v = [0u8; 8];
            v[..n].copy_from_slice(b);
            u64::from_le_bytes(v)
        }))
    }

    /// A newline-terminated argument (at most 256 bytes), without the newline.
    fn line(&mut self) -> io::Result<Option<String>> {
        let mut out = Vec::new();
        loop {
            match self.take(1)? {
                Some([b'\n']) => break,
                Some([c]) if out.len() < 256 => out.push(*c),
                _ => return Ok(None),
            }
        }
        Ok(String::from_utf8(out).ok())
    }

    /// Skips a payload of `n` bytes, reading it only if short (to keep it as a string).
    fn payload(&mut self, n: u64, keep: bool) -> io::Result<Option<Item>> {
        if keep && n <= 256 {
            let Some(b) = self.take(n as usize)? else {
                return Ok(None);
            };
            return Ok(Some(match std::str::from_utf8(b) {
                Ok(s) => Item::Str(s.to_owned()),
                Err(_) => Item::Any,
            }));
        }
        if self.pos.saturating_add(n) > self.probe.size {
            return Ok(None);
        }
        self.pos += n;
        Ok(Some(Item::Any))
    }
}

/// Runs the opcodes from `start`: the stack machine of `pickletools`, with types erased.
pub fn walk(probe: &Probe, start: u64) -> io::Result<Walk> {
    let mut cur = Cursor {
        probe,
        window: Vec::new(),
        window_start: start,
        pos: start,
        read: 0,
    };
    let mut walk = Walk::default();
    let mut stack: Vec<Item> = Vec::new();
    let mut memo: HashMap<u64, Item> = HashMap::new();
    loop {
        match step(&mut cur, &mut stack, &mut memo, &mut walk)? {
            Step::Go => walk.ops += 1,
            Step::Stop => {
                walk.ops += 1;
                walk.stopped = true;
                break;
            }
            Step::Fail => {
                walk.failed = true;
                break;
            }
            Step::OutOfInput => break,
        }
        walk.end = cur.pos;
    }
    walk.end = cur.pos;
    // Ran out of input before ENOUGH_OPS: too little evidence either way; `accepted` says no.
    Ok(walk)
}

enum Step {
    Go,
    Stop,
    Fail,
    OutOfInput,
}

fn pop(stack: &mut Vec<Item>, n: usize) -> Option<Vec<Item>> {
    if stack.len() < n
        || stack[stack.len() - n..]
            .iter()
            .any(|i| matches!(i, Item::Mark))
    {
        return None;
    }
    Some(stack.split_off(stack.len() - n))
}

fn pop_mark(stack: &mut Vec<Item>) -> Option<Vec<Item>> {
    let mark = stack.iter().rposition(|i| matches!(i, Item::Mark))?;
    let items = stack.split_off(mark + 1);
    stack.pop();
    Some(items)
}

fn has_top(stack: &[Item]) -> bool {
    matches!(stack.last(), Some(Item::Str(_) | Item::Any))
}

fn step(
    cur: &mut Cursor,
    stack: &mut Vec<Item>,
    memo: &mut HashMap<u64, Item>,
    walk: &mut Walk,
) -> io::Result<Step> {
    use Step::*;
    let Some(&[op]) = cur.take(1)? else {
        return Ok(OutOfInput);
    };
    macro_rules! arg {
        ($e:expr) => {
            match $e? {
                Some(v) => v,
                None => return Ok(OutOfInput),
            }
        };
    }
    macro_rules! need {
        ($e:expr) => {
            if !$e {
                return Ok(Fail);
            }
        };
    }
    macro_rules! pop_n {
        ($n:expr) => {
            match pop(stack, $n) {
                Some(v) => v,
                None => return Ok(Fail),
            }
        };
    }
    macro_rules! to_mark {
        () => {
            match pop_mark(stack) {
                Some(v) => v,
                None => return Ok(Fail),
            }
        };
    }
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| b"0123456789+-.eEL".contains(&c));
    match op {
        0x80 => {
            let v = arg!(cur.uint(1));
            need!((2..=5).contains(&v));
        }
        0x95 => {
            let n = arg!(cur.uint(8));
            need!(cur.pos.saturating_add(n) <= cur.probe.size);
        }
        b'(' => stack.push(Item::Mark),
        b'.' => {
            need!(stack.len() == 1 && has_top(stack));
            return Ok(Stop);
        }
        b'0' => need!(stack.pop().is_some()),
        b'1' => drop(to_mark!()),
        b'2' => {
            need!(has_top(stack));
            stack.push(stack[stack.len() - 1].clone());
        }
        b'F' | b'I' | b'L' => {
            let line = arg!(cur.line());
            need!(numeric(&line) || line == "00" || line == "01");
            stack.push(Item::Any);
        }
        b'J' | b'K' | b'M' | b'G' => {
            let n = match op {
                b'J' => 4,
                b'K' => 1,
                b'M' => 2,
                _ => 8,
            };
            arg!(cur.take(n));
            stack.push(Item::Any);
        }
        b'N' | 0x88 | 0x89 | b')' | b']' | b'}' | 0x8f => stack.push(Item::Any),
        b'P' => {
            arg!(cur.line());
            stack.push(Item::Any);
        }
        b'Q' => {
            pop_n!(1);
            stack.push(Item::Any);
        }
        b'R' | b'b' | 0x81 => {
            pop_n!(2);
            stack.push(Item::Any);
        }
        0x92 => {
            pop_n!(3);
            stack.push(Item::Any);
        }
        b'S' | b'V' => {
            let line = arg!(cur.line());
            if op == b'S' {
                need!(line.len() >= 2 && (line.starts_with('\'') || line.starts_with('"')));
            }
            stack.push(Item::Str(line));
        }
        b'T' | b'X' | b'B' => {
            let n = arg!(cur.uint(4));
            stack.push(arg!(cur.payload(n, op == b'X')));
        }
        b'U' | b'C' | 0x8c => {
            let n = arg!(cur.uint(1));
            stack.push(arg!(cur.payload(n, op == 0x8c)));
        }
        0x8d | 0x8e | 0x96 => {
            let n = arg!(cur.uint(8));
            stack.push(arg!(cur.payload(n, op == 0x8d)));
        }
        0x8a | 0x8b => {
            let n = arg!(cur.uint(if op == 0x8a { 1 } else { 4 }));
            arg!(cur.payload(n, false));
            stack.push(Item::Any);
        }
        b'a' => {
            pop_n!(1);
            need!(has_top(stack));
        }
        b'e' | 0x90 => {
            to_mark!();
            need!(has_top(stack));
        }
        b's' => {
            pop_n!(2);
            need!(has_top(stack));
        }
        b'u' => {
            let items = to_mark!();
            need!(items.len() % 2 == 0 && has_top(stack));
        }
        b'd' | b'l' | b't' | 0x91 => {
            to_mark!();
            stack.push(Item::Any);
        }
        b'o' => {
            need!(!to_mark!().is_empty());
            stack.push(Item::Any);
        }
        b'c' | b'i' => {
            let module = arg!(cur.line());
            let name = arg!(cur.line());
            let ident = |s: &str| {
                !s.is_empty()
                    && s.bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
            };
            need!(ident(&module) && ident(&name));
            if op == b'i' {
                to_mark!();
            }
            if walk.globals.len() < 64 {
                walk.globals.push(format!("{module}.{name}"));
            }
            stack.push(Item::Any);
        }
        0x93 => {
            let items = pop_n!(2);
            match (&items[0], &items[1]) {
                (Item::Str(module), Item::Str(name)) => {
                    if walk.globals.len() < 64 {
                        walk.globals.push(format!("{module}.{name}"));
                    }
                }
                _ => return Ok(Fail),
            }
            stack.push(Item::Any);
        }
        0x85..=0x87 => {
            pop_n!((op - 0x84) as usize);
            stack.push(Item::Any);
        }
        b'g' | b'h' | b'j' => {
            let key = match op {
                b'g' => match arg!(cur.line()).parse::<u64>() {
                    Ok(k) => k,
                    Err(_) => return Ok(Fail),
                },
                b'h' => arg!(cur.uint(1)),
                _ => arg!(cur.uint(4)),
            };
            let Some(item) = memo.get(&key) else {
                return Ok(Fail);
            };
            stack.push(item.clone());
        }
        b'p' | b'q' | b'r' | 0x94 => {
            let key = match op {
                b'p' => match arg!(cur.line()).parse::<u64>() {
                    Ok(k) => k,
                    Err(_) => return Ok(Fail),
                },
                b'q' => arg!(cur.uint(1)),
                b'r' => arg!(cur.uint(4)),
                _ => memo.len() as u64,
            };
            need!(has_top(stack));
            memo.insert(key, stack[stack.len() - 1].clone());
        }
        0x82..=0x84 => {
            arg!(cur.take(1 << (op - 0x82)));
            stack.push(Item::Any);
        }
        0x97 => stack.push(Item::Any),
        0x98 => need!(has_top(stack)),
        _ => return Ok(Fail),
    }
    Ok(Go)
}

#[cfg(test)]
mod tests {
    use super::super::sniff_bytes;

    #[test]
    fn a_small_dict_pickle_is_recognised() {
        // pickle.dumps({"a": 1}, protocol=4)
        let data = b"\x80\x04\x95\n\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.";
        let found = sniff_bytes(data).expect("pickle");
        assert_eq!(found.format, "pickle");
        assert!(found.evidence.contains("STOP"), "{}", found.evidence);
    }

    #[test]
    fn text_after_a_proto_opcode_is_not_a_pickle() {
        for text in [
            &b"\x80\x04hello world"[..],
            b"\x80\x02)))))",
            b"\x80\x03}q\x00(X",
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
}
