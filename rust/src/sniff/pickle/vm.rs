//! The pickle machine of `pickletools`/CPython's `_pickle.c`, run on symbols instead of objects.
//!
//! Every opcode of protocols 0 to 5 is decoded and checked as the C unpickler checks it (a
//! mark where one is needed, enough items above it, a memo entry that was stored, a string
//! where STACK_GLOBAL needs one), so a stream is judged by what `pickle.load` would accept, not
//! by the shape writers usually give it. Nothing is imported or built: values are tracked only
//! as far as the verdict needs them (strings, small ints, tuples and dicts of them, which global
//! an object came from), so `STACK_GLOBAL` names assembled through the memo are still read,
//! and joblib's arrays, written raw inside the stream, are stepped over by their size.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::rc::Rc;

use super::super::Probe;

/// Values the stack holds at most (deeper streams are reported as not analysed).
const MAX_STACK: usize = 1 << 16;
/// Memo entries remembered; past this, a GET of an unknown index is not an error.
const MAX_MEMO: usize = 1 << 16;
/// Items of a tuple or pairs of a dict tracked; larger ones become opaque.
const MAX_TRACKED: usize = 64;
/// Strings longer than this are skipped by offset, not read.
const MAX_STRING: u64 = 256;
const WINDOW: usize = 16 << 10;

/// A dict's items, shared by every reference to it; `None` once it grew past [`MAX_TRACKED`].
type Items = Rc<RefCell<Option<Vec<(V, V)>>>>;

#[derive(Clone, Debug)]
pub(crate) enum V {
    Mark,
    Int(i64),
    Str(Rc<str>),
    Tuple(Rc<[V]>),
    Dict(Items),
    /// A global itself (the class or function, not a call of it): index into the names.
    Global(usize),
    /// The result of calling something: which global (if known), its arguments, its state.
    Obj(Rc<RefCell<Obj>>),
    Any,
}

#[derive(Debug)]
pub(crate) struct Obj {
    pub class: Option<usize>,
    pub args: V,
    pub state: V,
}

/// How a stream ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// `STOP` with at least one value: `pickle.load` returns here.
    Stopped,
    /// An opcode `pickle.load` would refuse (unknown, or its operands are wrong).
    Failed(&'static str),
    /// The file ended inside the stream.
    OutOfInput,
    /// The read or decompression budget ran out first.
    Budget,
    /// The stack or memo grew past what is tracked.
    TooLarge,
}

/// What one stream showed.
#[derive(Debug)]
pub(crate) struct Stream {
    pub end: u64,
    /// The PROTO opcode's value when the stream starts with one.
    pub proto: Option<u8>,
    pub ops: usize,
    pub outcome: Outcome,
    /// A call opcode (REDUCE, NEWOBJ, OBJ, INST, BUILD) ran before the end: whatever was
    /// imported before it has run in a real load, even if the stream fails afterwards.
    pub executed: bool,
    /// Distinct `module.name` strings imported, in order.
    pub globals: Vec<String>,
    /// Imports that are not plain names: computed STACK_GLOBAL operands, extension codes,
    /// BUILD on a global.
    pub notes: Vec<String>,
    /// Arrays joblib wrote raw into the stream and that were stepped over.
    pub raw_arrays: u32,
    /// Pickles found nested inside (joblib object arrays), already merged into this one.
    pub nested: u32,
}

/// Reads the stream through a window over the probe; payloads are stepped over by offset.
struct Cursor<'p, 'a> {
    probe: &'p Probe<'a>,
    window: std::borrow::Cow<'a, [u8]>,
    window_start: u64,
    pos: u64,
}

impl Cursor<'_, '_> {
    /// The next `n` bytes (n <= WINDOW), or None at the end of the input.
    fn take(&mut self, n: usize) -> io::Result<Option<&[u8]>> {
        let offset = self.pos.checked_sub(self.window_start);
        let fits = offset.is_some_and(|o| o as usize + n <= self.window.len());
        if !fits {
            // The head is already in memory: most streams (and every text file that starts
            // like one) end inside it, and cost no read.
            let head = self.probe.head;
            self.window = if (self.pos as usize).saturating_add(n) <= head.len() {
                std::borrow::Cow::Borrowed(&head[self.pos as usize..])
            } else {
                self.probe.read_at(self.pos, WINDOW.max(n))?
            };
            self.window_start = self.pos;
        }
        let offset = (self.pos - self.window_start) as usize;
        if offset + n > self.window.len() {
            return Ok(None);
        }
        self.pos += n as u64;
        Ok(Some(&self.window[offset..offset + n]))
    }

    fn byte(&mut self) -> io::Result<Option<u8>> {
        Ok(self.take(1)?.map(|b| b[0]))
    }

    fn uint(&mut self, n: usize) -> io::Result<Option<u64>> {
        Ok(self.take(n)?.map(|b| {
            let mut v = [0u8; 8];
            v[..n].copy_from_slice(b);
            u64::from_le_bytes(v)
        }))
    }

    /// A newline-terminated argument, without the newline (at most 4 KiB, as no real
    /// argument is longer), or None if the input ends first.
    fn line(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut out = Vec::new();
        loop {
            let Some(b) = self.byte()? else {
                return Ok(None);
            };
            if b == b'\n' {
                return Ok(Some(out));
            }
            if out.len() >= 4096 {
                return Ok(None);
            }
            out.push(b);
        }
    }

    /// Steps over `n` bytes, reading them (as a string) only when short.
    fn payload(&mut self, n: u64, keep: bool) -> io::Result<Option<V>> {
        if keep && n <= MAX_STRING {
            let Some(b) = self.take(n as usize)? else {
                return Ok(None);
            };
            return Ok(Some(match std::str::from_utf8(b) {
                Ok(s) => V::Str(s.into()),
                Err(_) => V::Any,
            }));
        }
        if self.pos.saturating_add(n) > self.probe.size {
            return Ok(None);
        }
        self.pos += n;
        Ok(Some(V::Any))
    }
}

/// The machine's state for one stream.
struct Machine {
    stack: Vec<V>,
    memo: HashMap<u64, V>,
    memo_full: bool,
    names: Vec<String>,
    s: Stream,
}

/// Runs one stream from `start` until it stops, fails or the input ends.
pub(crate) fn run(probe: &Probe, start: u64) -> io::Result<Stream> {
    let mut cur = Cursor {
        probe,
        window: std::borrow::Cow::Borrowed(&[]),
        window_start: start,
        pos: start,
    };
    let mut m = Machine {
        stack: Vec::new(),
        memo: HashMap::new(),
        memo_full: false,
        names: Vec::new(),
        s: Stream {
            end: start,
            proto: None,
            ops: 0,
            outcome: Outcome::OutOfInput,
            executed: false,
            globals: Vec::new(),
            notes: Vec::new(),
            raw_arrays: 0,
            nested: 0,
        },
    };
    loop {
        let at = cur.pos;
        match step(&mut cur, &mut m)? {
            Ok(true) => m.s.ops += 1,
            Ok(false) => {
                m.s.ops += 1;
                m.s.outcome = Outcome::Stopped;
                m.s.end = cur.pos;
                break;
            }
            Err(outcome) => {
                m.s.outcome = match outcome {
                    Outcome::OutOfInput
                        if !probe.budget_left() || probe.ctx.inflate_left() == 0 =>
                    {
                        Outcome::Budget
                    }
                    other => other,
                };
                m.s.end = at;
                break;
            }
        }
        if m.stack.len() > MAX_STACK {
            m.s.outcome = Outcome::TooLarge;
            m.s.end = cur.pos;
            break;
        }
    }
    Ok(m.s)
}

type StepResult = Result<bool, Outcome>;

fn pop(stack: &mut Vec<V>, n: usize) -> Option<Vec<V>> {
    if stack.len() < n
        || stack[stack.len() - n..]
            .iter()
            .any(|v| matches!(v, V::Mark))
    {
        return None;
    }
    Some(stack.split_off(stack.len() - n))
}

fn pop_mark(stack: &mut Vec<V>) -> Option<Vec<V>> {
    let mark = stack.iter().rposition(|v| matches!(v, V::Mark))?;
    let items = stack.split_off(mark + 1);
    stack.pop();
    Some(items)
}

/// A value above the last mark is on top.
fn has_top(stack: &[V]) -> bool {
    stack.last().is_some_and(|v| !matches!(v, V::Mark))
}

fn tuple(items: Vec<V>) -> V {
    if items.len() > MAX_TRACKED {
        V::Any
    } else {
        V::Tuple(items.into())
    }
}

fn text(bytes: &[u8]) -> Option<String> {
    std::str::from_utf8(bytes).ok().map(str::to_owned)
}

impl Machine {
    fn import(&mut self, module: &str, name: &str) -> V {
        let full = format!("{module}.{name}");
        let index = match self.names.iter().position(|n| *n == full) {
            Some(i) => i,
            None => {
                self.names.push(full.clone());
                if self.s.globals.len() < super::MAX_GLOBALS {
                    self.s.globals.push(full);
                }
                self.names.len() - 1
            }
        };
        V::Global(index)
    }

    fn note(&mut self, what: String) {
        if self.s.notes.len() < super::MAX_GLOBALS && !self.s.notes.contains(&what) {
            self.s.notes.push(what);
        }
    }

    fn name(&self, v: &V) -> Option<&str> {
        match v {
            V::Global(i) => Some(&self.names[*i]),
            _ => None,
        }
    }

    fn call(&mut self, callable: V, args: V) -> V {
        self.s.executed = true;
        let class = match callable {
            V::Global(i) => Some(i),
            _ => None,
        };
        V::Obj(Rc::new(RefCell::new(Obj {
            class,
            args,
            state: V::Any,
        })))
    }
}

fn step(cur: &mut Cursor, m: &mut Machine) -> io::Result<StepResult> {
    use Outcome::{Failed, OutOfInput};
    macro_rules! arg {
        ($e:expr) => {
            match $e? {
                Some(v) => v,
                None => return Ok(Err(OutOfInput)),
            }
        };
    }
    macro_rules! need {
        ($cond:expr, $why:expr) => {
            if !$cond {
                return Ok(Err(Failed($why)));
            }
        };
    }
    macro_rules! pop_n {
        ($n:expr) => {
            match pop(&mut m.stack, $n) {
                Some(v) => v,
                None => return Ok(Err(Failed("stack underflow"))),
            }
        };
    }
    macro_rules! to_mark {
        () => {
            match pop_mark(&mut m.stack) {
                Some(v) => v,
                None => return Ok(Err(Failed("no MARK on the stack"))),
            }
        };
    }
    let op = arg!(cur.byte());
    let decimal = |s: &[u8]| {
        let s = s.strip_suffix(b"L").unwrap_or(s);
        let s = s
            .strip_prefix(b"-")
            .or_else(|| s.strip_prefix(b"+"))
            .unwrap_or(s);
        !s.is_empty() && s.iter().all(u8::is_ascii_digit)
    };
    match op {
        0x80 => {
            let v = arg!(cur.byte());
            need!(v <= 5, "unsupported pickle protocol");
            if m.s.ops == 0 {
                m.s.proto = Some(v);
            }
        }
        0x95 => {
            let n = arg!(cur.uint(8));
            need!(
                cur.pos.saturating_add(n) <= cur.probe.size,
                "frame past the end"
            );
        }
        b'(' => m.stack.push(V::Mark),
        b'.' => {
            need!(has_top(&m.stack), "STOP with nothing to return");
            return Ok(Ok(false));
        }
        b'0' => need!(m.stack.pop().is_some(), "POP on an empty stack"),
        b'1' => drop(to_mark!()),
        b'2' => {
            need!(has_top(&m.stack), "DUP on an empty stack");
            let top = m.stack[m.stack.len() - 1].clone();
            m.stack.push(top);
        }
        b'I' => {
            let line = arg!(cur.line());
            need!(decimal(&line) || line == b"00" || line == b"01", "bad INT");
            let v = std::str::from_utf8(&line)
                .ok()
                .and_then(|s| s.parse::<i64>().ok());
            m.stack.push(v.map_or(V::Any, V::Int));
        }
        b'L' => {
            let line = arg!(cur.line());
            need!(decimal(&line), "bad LONG");
            m.stack.push(V::Any);
        }
        b'F' => {
            let line = arg!(cur.line());
            let ok = std::str::from_utf8(&line).is_ok_and(|s| s.trim().parse::<f64>().is_ok());
            need!(ok, "bad FLOAT");
            m.stack.push(V::Any);
        }
        b'J' => {
            let v = arg!(cur.uint(4)) as u32 as i32;
            m.stack.push(V::Int(v.into()));
        }
        b'K' => {
            let v = arg!(cur.uint(1));
            m.stack.push(V::Int(v as i64));
        }
        b'M' => {
            let v = arg!(cur.uint(2));
            m.stack.push(V::Int(v as i64));
        }
        b'G' => {
            arg!(cur.take(8));
            m.stack.push(V::Any);
        }
        0x88 => m.stack.push(V::Int(1)),
        0x89 => m.stack.push(V::Int(0)),
        b'N' | b')' | b']' | 0x8f => m.stack.push(if op == b')' {
            V::Tuple(Rc::from(Vec::new()))
        } else {
            V::Any
        }),
        b'}' => m
            .stack
            .push(V::Dict(Rc::new(RefCell::new(Some(Vec::new()))))),
        b'P' => {
            arg!(cur.line());
            m.stack.push(V::Any);
        }
        b'Q' => {
            pop_n!(1);
            m.stack.push(V::Any);
        }
        b'S' => {
            let line = arg!(cur.line());
            let quoted = line.len() >= 2
                && (line[0] == b'\'' || line[0] == b'"')
                && line[line.len() - 1] == line[0];
            need!(quoted, "STRING without quotes");
            let inner = &line[1..line.len() - 1];
            m.stack
                .push(text(inner).map_or(V::Any, |s| V::Str(s.into())));
        }
        b'V' => {
            let line = arg!(cur.line());
            m.stack
                .push(text(&line).map_or(V::Any, |s| V::Str(unescape(&s).into())));
        }
        b'T' | b'X' | b'B' => {
            let n = arg!(cur.uint(4));
            let v = arg!(cur.payload(n, op == b'X'));
            m.stack.push(v);
        }
        b'U' | b'C' | 0x8c => {
            let n = arg!(cur.uint(1));
            let v = arg!(cur.payload(n, op == 0x8c));
            m.stack.push(v);
        }
        0x8d | 0x8e | 0x96 => {
            let n = arg!(cur.uint(8));
            let v = arg!(cur.payload(n, op == 0x8d));
            m.stack.push(v);
        }
        0x8a | 0x8b => {
            let n = arg!(cur.uint(if op == 0x8a { 1 } else { 4 }));
            arg!(cur.payload(n, false));
            m.stack.push(V::Any);
        }
        b'a' => {
            pop_n!(1);
            need!(has_top(&m.stack), "APPEND without a list");
        }
        b'e' | 0x90 => {
            to_mark!();
            need!(has_top(&m.stack), "APPENDS without a list");
        }
        b's' => {
            let kv = pop_n!(2);
            need!(has_top(&m.stack), "SETITEM without a dict");
            set_items(&m.stack[m.stack.len() - 1], kv);
        }
        b'u' => {
            let items = to_mark!();
            need!(items.len() % 2 == 0, "odd number of items for SETITEMS");
            need!(has_top(&m.stack), "SETITEMS without a dict");
            set_items(&m.stack[m.stack.len() - 1], items);
        }
        b'd' => {
            let items = to_mark!();
            need!(items.len() % 2 == 0, "odd number of items for DICT");
            let d = V::Dict(Rc::new(RefCell::new(Some(Vec::new()))));
            set_items(&d, items);
            m.stack.push(d);
        }
        b'l' | 0x91 => {
            to_mark!();
            m.stack.push(V::Any);
        }
        b't' => {
            let items = to_mark!();
            m.stack.push(tuple(items));
        }
        0x85..=0x87 => {
            let items = pop_n!((op - 0x84) as usize);
            m.stack.push(tuple(items));
        }
        b'c' | b'i' => {
            let module = arg!(cur.line());
            let name = arg!(cur.line());
            let (Some(module), Some(name)) = (text(&module), text(&name)) else {
                return Ok(Err(Failed("GLOBAL name is not UTF-8")));
            };
            need!(!module.is_empty() && !name.is_empty(), "empty GLOBAL name");
            let g = m.import(&module, &name);
            if op == b'i' {
                let args = to_mark!();
                let obj = m.call(g, tuple(args));
                m.stack.push(obj);
            } else {
                m.stack.push(g);
            }
        }
        0x93 => {
            let items = pop_n!(2);
            match (&items[0], &items[1]) {
                (V::Str(module), V::Str(name)) => {
                    let g = m.import(module, name);
                    m.stack.push(g);
                }
                (V::Int(_) | V::Tuple(_) | V::Dict(_), _)
                | (_, V::Int(_) | V::Tuple(_) | V::Dict(_)) => {
                    return Ok(Err(Failed("STACK_GLOBAL requires str")))
                }
                (module, name) => {
                    let show = |v: &V| match v {
                        V::Str(s) => s.to_string(),
                        _ => "<computed>".to_string(),
                    };
                    let what = format!(
                        "{}.{} (STACK_GLOBAL of a name computed at load time)",
                        show(module),
                        show(name)
                    );
                    m.note(what);
                    m.stack.push(V::Any);
                }
            }
        }
        0x82..=0x84 => {
            let code = arg!(cur.uint(1 << (op - 0x82)));
            m.note(format!(
                "extension code {code} (EXT opcode: a global from copyreg's registry)"
            ));
            m.stack.push(V::Any);
        }
        b'R' => {
            let items = pop_n!(2);
            let mut it = items.into_iter();
            let (callable, args) = (it.next().unwrap_or(V::Any), it.next().unwrap_or(V::Any));
            let obj = m.call(callable, args);
            m.stack.push(obj);
        }
        0x81 => {
            let items = pop_n!(2);
            let mut it = items.into_iter();
            let (cls, args) = (it.next().unwrap_or(V::Any), it.next().unwrap_or(V::Any));
            let obj = m.call(cls, args);
            m.stack.push(obj);
        }
        0x92 => {
            let items = pop_n!(3);
            let mut it = items.into_iter();
            let cls = it.next().unwrap_or(V::Any);
            let args = it.next().unwrap_or(V::Any);
            let obj = m.call(cls, args);
            m.stack.push(obj);
        }
        b'o' => {
            let mut items = to_mark!();
            need!(!items.is_empty(), "OBJ without a class");
            let cls = items.remove(0);
            let obj = m.call(cls, tuple(items));
            m.stack.push(obj);
        }
        b'b' => {
            let state = pop_n!(1).pop().unwrap_or(V::Any);
            need!(has_top(&m.stack), "BUILD without an object");
            m.s.executed = true;
            let target = m.stack[m.stack.len() - 1].clone();
            if let Some(name) = m.name(&target) {
                let what = format!("{name} (BUILD sets attributes of the global itself)");
                m.note(what);
            }
            if let V::Obj(obj) = &target {
                obj.borrow_mut().state = state;
                let class = obj.borrow().class.map(|i| m.names[i].clone());
                if let Some(class) = class {
                    if class.starts_with("joblib.numpy_pickle.") && class.ends_with("ArrayWrapper")
                    {
                        if let Err(outcome) = joblib_array(cur, m, &target)? {
                            return Ok(Err(outcome));
                        }
                    }
                }
            }
        }
        b'g' | b'h' | b'j' => {
            let key = match op {
                b'g' => {
                    let line = arg!(cur.line());
                    match std::str::from_utf8(&line)
                        .ok()
                        .and_then(|s| s.parse::<u64>().ok())
                    {
                        Some(k) => k,
                        None => return Ok(Err(Failed("bad GET index"))),
                    }
                }
                b'h' => arg!(cur.uint(1)),
                _ => arg!(cur.uint(4)),
            };
            match m.memo.get(&key) {
                Some(v) => {
                    let v = v.clone();
                    m.stack.push(v);
                }
                None if m.memo_full => m.stack.push(V::Any),
                None => return Ok(Err(Failed("memo value not found"))),
            }
        }
        b'p' | b'q' | b'r' | 0x94 => {
            let key = match op {
                b'p' => {
                    let line = arg!(cur.line());
                    match std::str::from_utf8(&line)
                        .ok()
                        .and_then(|s| s.parse::<u64>().ok())
                    {
                        Some(k) => k,
                        None => return Ok(Err(Failed("bad PUT index"))),
                    }
                }
                b'q' => arg!(cur.uint(1)),
                b'r' => arg!(cur.uint(4)),
                _ => m.memo.len() as u64,
            };
            need!(has_top(&m.stack), "PUT with an empty stack");
            if m.memo.len() < MAX_MEMO || m.memo.contains_key(&key) {
                m.memo.insert(key, m.stack[m.stack.len() - 1].clone());
            } else {
                m.memo_full = true;
            }
        }
        0x97 => m.stack.push(V::Any),
        0x98 => need!(has_top(&m.stack), "READONLY_BUFFER with an empty stack"),
        _ => return Ok(Err(Failed("unknown opcode"))),
    }
    Ok(Ok(true))
}

/// Raw-unicode-escape, as far as names need it (`\uXXXX` and `\UXXXXXXXX`).
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && matches!(chars.peek(), Some('u') | Some('U')) {
            let width = if chars.next() == Some('u') { 4 } else { 8 };
            let hex: String = chars.by_ref().take(width).collect();
            match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                Some(ch) => out.push(ch),
                None => out.push_str(&hex),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn set_items(target: &V, items: Vec<V>) {
    if let V::Dict(d) = target {
        let mut d = d.borrow_mut();
        if let Some(pairs) = d.as_mut() {
            let mut it = items.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                pairs.push((k, v));
            }
            if pairs.len() > MAX_TRACKED {
                *d = None;
            }
        }
    }
}

fn dict_get<'v>(pairs: &'v [(V, V)], key: &str) -> Option<&'v V> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| matches!(k, V::Str(s) if &**s == key))
        .map(|(_, v)| v)
}

/// joblib writes each array's bytes into the stream right after its wrapper's BUILD (and
/// pickles object arrays there, as a pickle of their own). Steps over them, from the shape
/// and dtype the wrapper's state carries; a nested pickle is run and its imports kept.
fn joblib_array(cur: &mut Cursor, m: &mut Machine, wrapper: &V) -> io::Result<Result<(), Outcome>> {
    let V::Obj(obj) = wrapper else {
        return Ok(Ok(()));
    };
    let state = obj.borrow().state.clone();
    let V::Dict(d) = state else {
        return Ok(Err(Outcome::Failed(
            "joblib array wrapper without its state",
        )));
    };
    let d = d.borrow();
    let Some(pairs) = d.as_ref() else {
        return Ok(Err(Outcome::Failed("joblib array wrapper state too large")));
    };
    let dtype = dict_get(pairs, "dtype").and_then(dtype_size);
    let shape = match dict_get(pairs, "shape") {
        Some(V::Tuple(items)) => items.iter().try_fold(1u64, |acc, v| match v {
            V::Int(n) if *n >= 0 => acc.checked_mul(*n as u64),
            _ => None,
        }),
        _ => None,
    };
    let aligned =
        dict_get(pairs, "numpy_array_alignment_bytes").is_some_and(|v| !matches!(v, V::Any));
    drop(d);
    match dtype {
        Some(DType::Object) => {
            // An object array: joblib calls pickle.load on the file here.
            let nested = run(cur.probe, cur.pos)?;
            m.s.nested += 1;
            for g in &nested.globals {
                if !m.s.globals.contains(g) && m.s.globals.len() < super::MAX_GLOBALS {
                    m.s.globals.push(g.clone());
                }
            }
            for n in &nested.notes {
                m.note(n.clone());
            }
            if nested.outcome != Outcome::Stopped {
                return Ok(Err(nested.outcome));
            }
            cur.pos = nested.end;
        }
        Some(DType::Bytes(item)) => {
            let Some(total) = shape.and_then(|n| n.checked_mul(item)) else {
                return Ok(Err(Outcome::Failed("joblib array of unknown size")));
            };
            if aligned {
                let Some(pad) = cur.byte()? else {
                    return Ok(Err(Outcome::OutOfInput));
                };
                cur.pos += u64::from(pad);
            }
            if cur.pos.saturating_add(total) > cur.probe.size {
                return Ok(Err(Outcome::OutOfInput));
            }
            cur.pos += total;
            m.s.raw_arrays += 1;
        }
        None => return Ok(Err(Outcome::Failed("joblib array of unknown dtype"))),
    }
    Ok(Ok(()))
}

enum DType {
    Object,
    Bytes(u64),
}

/// The item size of a `numpy.dtype(...)` built in the stream: its type string, and for
/// flexible types the `elsize` of its state.
fn dtype_size(v: &V) -> Option<DType> {
    let V::Obj(obj) = v else { return None };
    let obj = obj.borrow();
    let V::Tuple(args) = &obj.args else {
        return None;
    };
    let V::Str(code) = args.first()? else {
        return None;
    };
    let code = code.trim_start_matches(['<', '>', '=', '|']);
    let kind = code.chars().next()?;
    if kind == 'O' {
        return Some(DType::Object);
    }
    let digits: String = code
        .chars()
        .skip(1)
        .take_while(char::is_ascii_digit)
        .collect();
    let n: Option<u64> = digits.parse().ok();
    let elsize = match &obj.state {
        V::Tuple(state) => match state.get(5) {
            Some(V::Int(e)) if *e > 0 => Some(*e as u64),
            _ => None,
        },
        _ => None,
    };
    let size = match (kind, n) {
        (_, _) if elsize.is_some() => elsize?,
        ('U', Some(n)) => n * 4,
        ('b' | 'i' | 'u' | 'f' | 'c' | 'S' | 'V' | 'M' | 'm' | 'e', Some(n)) => n,
        ('?', None) => 1,
        _ => return None,
    };
    Some(DType::Bytes(size))
}
