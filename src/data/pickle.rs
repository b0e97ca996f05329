//! A small, safe reader for the pickles CIFAR-10's Python archive holds.
//!
//! Python's pickle format is a program for a stack machine, and running arbitrary pickles
//! runs arbitrary code. This reader only *interprets* the few opcodes those files use
//! (dicts, lists, tuples, ints, byte strings, and numpy's array reconstruction) and knows
//! a few callables by name: numpy's `_reconstruct`, `dtype` and `_frombuffer`, and
//! `_codecs.encode` (how Python 3 writes bytes at protocol 2). Anything else
//! is an error naming the opcode and its offset. Shared references are copied, not shared,
//! which is all these files need.
//!
//! Protocol 2 (how CIFAR-10 ships, written by Python 2) is the target; protocols 3-5 as
//! written by Python 3 for the same structure are accepted too.

use std::collections::HashMap;
use std::rc::Rc;

/// A value built by the pickle machine.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Python 2 `str` or Python 3 `bytes` (shared so that memo copies are cheap).
    Bytes(Rc<Vec<u8>>),
    Str(String),
    List(Vec<Value>),
    Tuple(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    /// A known callable, `module.name`.
    Global(String),
    /// A numpy dtype, by its type string (`u1`, `i8`, …) and byte order (`<`, `>`, `|`).
    Dtype {
        kind: String,
        order: char,
    },
    /// A numpy array: its shape, element type and raw little-endian data.
    Array {
        shape: Vec<usize>,
        dtype: String,
        data: Rc<Vec<u8>>,
    },
    /// An array made by `_reconstruct`, waiting for its state from BUILD.
    EmptyArray,
}

impl Value {
    /// The value stored under `key` (a `bytes` or `str` key) in a dict.
    pub fn get(&self, key: &str) -> Option<&Value> {
        let Value::Dict(items) = self else {
            return None;
        };
        items.iter().find_map(|(k, v)| match k {
            Value::Bytes(b) if b.as_slice() == key.as_bytes() => Some(v),
            Value::Str(s) if s == key => Some(v),
            _ => None,
        })
    }
}

/// Containers a pickle may build. CIFAR needs a dozen; the cap keeps nesting (and so the
/// recursion when values are dropped) small, whatever the input.
const MAX_CONTAINERS: usize = 1_000;

enum Item {
    Value(Value),
    Mark,
}

struct Machine<'a> {
    bytes: &'a [u8],
    pos: usize,
    stack: Vec<Item>,
    memo: HashMap<u32, Value>,
    containers: usize,
    /// Values copied out of the memo so far: bounded by the input's length, so that
    /// fetching a large list again and again cannot multiply memory.
    copied: usize,
}

/// Runs the pickle in `bytes` and returns the value it builds. Errors are plain messages;
/// callers add the file name.
pub fn parse_pickle(bytes: &[u8]) -> Result<Value, String> {
    let mut m = Machine {
        bytes,
        pos: 0,
        stack: Vec::new(),
        memo: HashMap::new(),
        containers: 0,
        copied: 0,
    };
    m.run()
}

impl<'a> Machine<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let remaining = self.bytes.len() - self.pos;
        if n > remaining {
            return Err(format!(
                "pickle is truncated: {n} bytes needed at offset {}, {remaining} left",
                self.pos
            ));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }

    /// A length field followed by that many bytes, checked against what is left.
    fn sized(&mut self, len: u64) -> Result<&'a [u8], String> {
        let len = usize::try_from(len).map_err(|_| format!("length {len} is too large"))?;
        self.take(len)
    }

    /// A newline-terminated text argument (GLOBAL's module and name).
    fn line(&mut self) -> Result<String, String> {
        let rest = &self.bytes[self.pos..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("pickle is truncated inside a text argument")?;
        let s = std::str::from_utf8(&rest[..end]).map_err(|_| "text argument is not UTF-8")?;
        self.pos += end + 1;
        Ok(s.to_string())
    }

    fn push(&mut self, v: Value) {
        self.stack.push(Item::Value(v));
    }

    fn pop(&mut self) -> Result<Value, String> {
        match self.stack.pop() {
            Some(Item::Value(v)) => Ok(v),
            Some(Item::Mark) => Err("unexpected MARK on the stack".into()),
            None => Err("stack underflow".into()),
        }
    }

    fn top(&mut self) -> Result<&mut Value, String> {
        match self.stack.last_mut() {
            Some(Item::Value(v)) => Ok(v),
            Some(Item::Mark) => Err("unexpected MARK on the stack".into()),
            None => Err("stack underflow".into()),
        }
    }

    /// Pops everything above the topmost MARK, and the MARK.
    fn pop_mark(&mut self) -> Result<Vec<Value>, String> {
        let at = self
            .stack
            .iter()
            .rposition(|i| matches!(i, Item::Mark))
            .ok_or("no MARK on the stack")?;
        let items = self
            .stack
            .drain(at + 1..)
            .map(|i| match i {
                Item::Value(v) => v,
                Item::Mark => unreachable!(),
            })
            .collect();
        self.stack.pop();
        Ok(items)
    }

    fn new_container(&mut self) -> Result<(), String> {
        self.containers += 1;
        if self.containers > MAX_CONTAINERS {
            return Err(format!(
                "more than {MAX_CONTAINERS} containers: not a CIFAR batch"
            ));
        }
        Ok(())
    }

    fn memo_put(&mut self, key: u32) -> Result<(), String> {
        let v = self.top()?.clone();
        self.count_copy(&v)?;
        self.memo.insert(key, v);
        Ok(())
    }

    fn count_copy(&mut self, v: &Value) -> Result<usize, String> {
        let (nodes, containers) = count_nodes(v);
        self.copied += nodes;
        if self.copied > self.bytes.len() + 1024 {
            return Err("memo references copy more values than the pickle holds".into());
        }
        Ok(containers)
    }

    fn memo_get(&mut self, key: u32) -> Result<(), String> {
        let v = self
            .memo
            .get(&key)
            .cloned()
            .ok_or_else(|| format!("memo key {key} was never stored"))?;
        let containers = self.count_copy(&v)?;
        for _ in 0..containers {
            self.new_container()?;
        }
        self.push(v);
        Ok(())
    }

    fn run(&mut self) -> Result<Value, String> {
        loop {
            let at = self.pos;
            let op = self
                .u8()
                .map_err(|_| "pickle ends without a STOP opcode".to_string())?;
            self.step(op)
                .map_err(|e| format!("pickle opcode 0x{op:02x} at offset {at}: {e}"))?;
            if op == b'.' {
                let v = self.pop().map_err(|e| format!("at STOP: {e}"))?;
                return Ok(v);
            }
        }
    }

    fn step(&mut self, op: u8) -> Result<(), String> {
        match op {
            0x80 => {
                let proto = self.u8()?;
                if proto > 5 {
                    return Err(format!("unknown pickle protocol {proto}"));
                }
            }
            0x95 => {
                self.u64()?; // FRAME: a length hint only
            }
            b'.' => {}
            b'(' => self.stack.push(Item::Mark),
            b'N' => self.push(Value::None),
            0x88 => self.push(Value::Bool(true)),
            0x89 => self.push(Value::Bool(false)),
            b'K' => {
                let v = self.u8()?;
                self.push(Value::Int(v as i64));
            }
            b'M' => {
                let v = self.u16()?;
                self.push(Value::Int(v as i64));
            }
            b'J' => {
                let v = self.u32()? as i32;
                self.push(Value::Int(v as i64));
            }
            0x8a => {
                // LONG1: little-endian two's complement of n ≤ 8 bytes.
                let n = self.u8()? as usize;
                if n > 8 {
                    return Err(format!("{n}-byte integer is too large"));
                }
                let b = self.take(n)?;
                let mut v: i64 = 0;
                for (i, &x) in b.iter().enumerate() {
                    v |= (x as i64) << (8 * i);
                }
                if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                    v -= 1i64 << (8 * n);
                }
                self.push(Value::Int(v));
            }
            b'G' => {
                let v = f64::from_be_bytes(self.take(8)?.try_into().unwrap());
                self.push(Value::Float(v));
            }
            b'U' | b'C' => {
                let n = self.u8()? as u64;
                let b = self.sized(n)?;
                self.push(Value::Bytes(Rc::new(b.to_vec())));
            }
            b'T' | b'B' => {
                let n = self.u32()? as u64;
                let b = self.sized(n)?;
                self.push(Value::Bytes(Rc::new(b.to_vec())));
            }
            0x8e | 0x96 => {
                let n = self.u64()?;
                let b = self.sized(n)?;
                self.push(Value::Bytes(Rc::new(b.to_vec())));
            }
            b'X' | 0x8c | 0x8d => {
                let n = match op {
                    b'X' => self.u32()? as u64,
                    0x8c => self.u8()? as u64,
                    _ => self.u64()?,
                };
                let b = self.sized(n)?;
                let s = std::str::from_utf8(b).map_err(|_| "string is not UTF-8")?;
                self.push(Value::Str(s.to_string()));
            }
            b'}' => {
                self.new_container()?;
                self.push(Value::Dict(Vec::new()));
            }
            b']' => {
                self.new_container()?;
                self.push(Value::List(Vec::new()));
            }
            b')' => {
                self.new_container()?;
                self.push(Value::Tuple(Vec::new()));
            }
            b't' => {
                self.new_container()?;
                let items = self.pop_mark()?;
                self.push(Value::Tuple(items));
            }
            0x85..=0x87 => {
                self.new_container()?;
                let n = (op - 0x84) as usize;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.pop()?);
                }
                items.reverse();
                self.push(Value::Tuple(items));
            }
            b'a' => {
                let v = self.pop()?;
                match self.top()? {
                    Value::List(l) => l.push(v),
                    _ => return Err("APPEND to something that is not a list".into()),
                }
            }
            b'e' => {
                let items = self.pop_mark()?;
                match self.top()? {
                    Value::List(l) => l.extend(items),
                    _ => return Err("APPENDS to something that is not a list".into()),
                }
            }
            b's' => {
                let v = self.pop()?;
                let k = self.pop()?;
                match self.top()? {
                    Value::Dict(d) => d.push((k, v)),
                    _ => return Err("SETITEM on something that is not a dict".into()),
                }
            }
            b'u' => {
                let items = self.pop_mark()?;
                if items.len() % 2 != 0 {
                    return Err("SETITEMS with an odd number of items".into());
                }
                let mut it = items.into_iter();
                let mut pairs = Vec::new();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    pairs.push((k, v));
                }
                match self.top()? {
                    Value::Dict(d) => d.extend(pairs),
                    _ => return Err("SETITEMS on something that is not a dict".into()),
                }
            }
            b'q' => {
                let k = self.u8()? as u32;
                self.memo_put(k)?;
            }
            b'r' => {
                let k = self.u32()?;
                self.memo_put(k)?;
            }
            0x94 => {
                let k = self.memo.len() as u32;
                self.memo_put(k)?;
            }
            b'h' => {
                let k = self.u8()? as u32;
                self.memo_get(k)?;
            }
            b'j' => {
                let k = self.u32()?;
                self.memo_get(k)?;
            }
            b'c' => {
                let module = self.line()?;
                let name = self.line()?;
                self.push(global(&module, &name)?);
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                match (module, name) {
                    (Value::Str(m), Value::Str(n)) => self.push(global(&m, &n)?),
                    _ => return Err("STACK_GLOBAL needs two strings".into()),
                }
            }
            b'R' => {
                let args = self.pop()?;
                let func = self.pop()?;
                let Value::Tuple(args) = args else {
                    return Err("REDUCE arguments are not a tuple".into());
                };
                let Value::Global(name) = func else {
                    return Err("REDUCE of something that is not a known callable".into());
                };
                self.push(call(&name, args)?);
            }
            b'b' => {
                let state = self.pop()?;
                let obj = self.pop()?;
                self.push(build(obj, state)?);
            }
            _ => return Err("unsupported opcode (not used by CIFAR-10 batches)".into()),
        }
        Ok(())
    }
}

/// (values, containers) in `v`, itself included. Recursion depth is bounded by
/// `MAX_CONTAINERS`.
fn count_nodes(v: &Value) -> (usize, usize) {
    let children: Vec<(usize, usize)> = match v {
        Value::List(items) | Value::Tuple(items) => items.iter().map(count_nodes).collect(),
        Value::Dict(items) => items
            .iter()
            .flat_map(|(k, v)| [count_nodes(k), count_nodes(v)])
            .collect(),
        _ => return (1, 0),
    };
    let (n, c) = children.iter().fold(
        (0, 0),
        |(n, c): (usize, usize), &(a, b): &(usize, usize)| (n + a, c + b),
    );
    (n + 1, c + 1)
}

/// The callables this reader knows; any other global is refused.
fn global(module: &str, name: &str) -> Result<Value, String> {
    let known = matches!(
        (module, name),
        (
            "numpy.core.multiarray" | "numpy._core.multiarray",
            "_reconstruct"
        ) | ("numpy", "ndarray" | "dtype")
            | ("numpy.core.numeric" | "numpy._core.numeric", "_frombuffer")
            | ("_codecs", "encode")
    );
    if !known {
        return Err(format!("refusing unknown global {module}.{name}"));
    }
    Ok(Value::Global(format!("{module}.{name}")))
}

fn call(name: &str, args: Vec<Value>) -> Result<Value, String> {
    match name.rsplit('.').next().unwrap_or("") {
        // _reconstruct(ndarray, (0,), b'b'): an empty array, filled in by BUILD.
        "_reconstruct" => Ok(Value::EmptyArray),
        // dtype('u1', False, True): the byte order comes with BUILD.
        "dtype" => match args.first() {
            Some(Value::Str(s)) => Ok(dtype_of(s)),
            Some(Value::Bytes(b)) => Ok(dtype_of(&String::from_utf8_lossy(b))),
            _ => Err("dtype() without a type string".into()),
        },
        // encode(text, 'latin1'): how Python 3 writes bytes at protocol 2.
        "encode" => match args.as_slice() {
            [Value::Str(text), Value::Str(codec)] if codec == "latin1" || codec == "latin-1" => {
                let bytes = text
                    .chars()
                    .map(|c| u8::try_from(c as u32).map_err(|_| "non-latin1 character"))
                    .collect::<Result<Vec<u8>, _>>()?;
                Ok(Value::Bytes(Rc::new(bytes)))
            }
            _ => Err("encode() is only supported as encode(str, 'latin1')".into()),
        },
        // _frombuffer(buffer, dtype, shape, order)
        "_frombuffer" => {
            let [Value::Bytes(data), Value::Dtype { kind, order }, Value::Tuple(shape), _] =
                <[Value; 4]>::try_from(args).map_err(|_| "_frombuffer needs 4 arguments")?
            else {
                return Err("_frombuffer arguments are not (bytes, dtype, shape, order)".into());
            };
            array(shape_of(&shape)?, &kind, order, data)
        }
        _ => Err(format!("{name} cannot be called")),
    }
}

fn dtype_of(s: &str) -> Value {
    let (order, kind) = match s.chars().next() {
        Some(c @ ('<' | '>' | '|' | '=')) => (c, &s[1..]),
        _ => ('|', s),
    };
    Value::Dtype {
        kind: kind.to_string(),
        order,
    }
}

fn build(obj: Value, state: Value) -> Result<Value, String> {
    match (obj, state) {
        // dtype state: (version, byteorder, ...).
        (Value::Dtype { kind, .. }, Value::Tuple(s)) => {
            let order = match s.get(1) {
                Some(Value::Str(o)) => o.chars().next().unwrap_or('|'),
                Some(Value::Bytes(o)) => o.first().map(|&c| c as char).unwrap_or('|'),
                _ => '|',
            };
            Ok(Value::Dtype { kind, order })
        }
        // ndarray state: (version, shape, dtype, fortran_order, data).
        (Value::EmptyArray, Value::Tuple(s)) => {
            let [_, Value::Tuple(shape), Value::Dtype { kind, order }, fortran, Value::Bytes(data)] =
                <[Value; 5]>::try_from(s).map_err(|_| "array state is not a 5-tuple")?
            else {
                return Err("array state is not (version, shape, dtype, fortran, bytes)".into());
            };
            if fortran == Value::Bool(true) {
                return Err("Fortran-ordered arrays are not supported".into());
            }
            array(shape_of(&shape)?, &kind, order, data)
        }
        _ => Err("BUILD of an object that is not a numpy array or dtype".into()),
    }
}

fn shape_of(dims: &[Value]) -> Result<Vec<usize>, String> {
    dims.iter()
        .map(|d| match d {
            Value::Int(n) if *n >= 0 => Ok(*n as usize),
            _ => Err("array shape holds something other than a size".to_string()),
        })
        .collect()
}

/// Checks that `data` holds exactly the elements `shape` calls for.
fn array(shape: Vec<usize>, kind: &str, order: char, data: Rc<Vec<u8>>) -> Result<Value, String> {
    let itemsize: usize = kind
        .get(1..)
        .and_then(|s| s.parse().ok())
        .filter(|&s: &usize| matches!(s, 1 | 2 | 4 | 8))
        .ok_or_else(|| format!("unsupported array element type {kind:?}"))?;
    if !matches!(&kind[..1], "u" | "i") {
        return Err(format!("unsupported array element type {kind:?}"));
    }
    if itemsize > 1 && order == '>' {
        return Err("big-endian arrays are not supported".into());
    }
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .and_then(|c| c.checked_mul(itemsize))
        .ok_or("array shape is too large")?;
    if count != data.len() {
        return Err(format!(
            "array of shape {shape:?} and type {kind} needs {count} bytes, has {}",
            data.len()
        ));
    }
    Ok(Value::Array {
        shape,
        dtype: kind.to_string(),
        data,
    })
}

/// Integer elements of an int list or a 1-d integer array, as i64.
pub fn int_values(v: &Value) -> Result<Vec<i64>, String> {
    match v {
        Value::List(items) | Value::Tuple(items) => items
            .iter()
            .map(|x| match x {
                Value::Int(n) => Ok(*n),
                _ => Err("a label is not an integer".to_string()),
            })
            .collect(),
        Value::Array { dtype, data, .. } => {
            let size: usize = dtype[1..].parse().unwrap_or(1);
            let signed = dtype.starts_with('i');
            Ok(data
                .chunks_exact(size)
                .map(|c| {
                    let mut b = [0u8; 8];
                    b[..size].copy_from_slice(c);
                    let u = u64::from_le_bytes(b);
                    if signed && size < 8 && c[size - 1] & 0x80 != 0 {
                        (u as i64) - (1i64 << (8 * size))
                    } else {
                        u as i64
                    }
                })
                .collect())
        }
        _ => Err("labels are neither a list nor an integer array".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The start of a real CIFAR-10 batch as Python 2's cPickle (protocol 2) writes it, with
    /// a 2x3 array: `{'data': array(uint8), 'labels': [3, 300]}`.
    pub(crate) fn cifar_like_pickle(rows: u16, cols: u16, labels: &[u16]) -> Vec<u8> {
        let mut p = vec![0x80, 2, b'}', b'q', 1, b'('];
        p.extend_from_slice(b"U\x04dataq\x02");
        p.extend_from_slice(b"cnumpy.core.multiarray\n_reconstruct\nq\x03");
        p.extend_from_slice(b"cnumpy\nndarray\nq\x04K\x00\x85U\x01b\x87Rq\x05(K\x01");
        p.push(b'M');
        p.extend_from_slice(&rows.to_le_bytes());
        p.push(b'M');
        p.extend_from_slice(&cols.to_le_bytes());
        p.extend_from_slice(b"\x86cnumpy\ndtype\nq\x06U\x02u1K\x00K\x01\x87Rq\x07");
        p.extend_from_slice(b"(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89T");
        let n = rows as u32 * cols as u32;
        p.extend_from_slice(&n.to_le_bytes());
        p.extend((0..n).map(|i| (i % 256) as u8));
        p.extend_from_slice(b"tbq\x08U\x06labelsq\x09](");
        for &l in labels {
            p.push(b'M');
            p.extend_from_slice(&l.to_le_bytes());
        }
        p.extend_from_slice(b"eu.");
        p
    }

    #[test]
    fn reads_a_cifar_style_batch() {
        let v = parse_pickle(&cifar_like_pickle(2, 3, &[3, 300])).unwrap();
        let Some(Value::Array { shape, dtype, data }) = v.get("data") else {
            panic!("{v:?}")
        };
        assert_eq!(shape, &vec![2, 3]);
        assert_eq!(dtype, "u1");
        assert_eq!(data.as_slice(), &[0, 1, 2, 3, 4, 5]);
        assert_eq!(int_values(v.get("labels").unwrap()).unwrap(), vec![3, 300]);
    }

    #[test]
    fn refuses_unknown_globals_and_opcodes() {
        let e = parse_pickle(b"\x80\x02cos\nsystem\n.").unwrap_err();
        assert!(e.contains("refusing unknown global os.system"), "{e}");
        let e = parse_pickle(b"\x80\x02I1\n.").unwrap_err();
        assert!(e.contains("unsupported opcode"), "{e}");
        let e = parse_pickle(b"\x80\x02T\xff\xff\xff\x7fab").unwrap_err();
        assert!(e.contains("truncated"), "{e}");
        let e = parse_pickle(b"\x80\x02]").unwrap_err();
        assert!(e.contains("without a STOP"), "{e}");
    }

    #[test]
    fn deep_nesting_is_capped() {
        let mut p = vec![0x80, 2];
        p.resize(p.len() + 100_000, b']');
        p.resize(p.len() + 99_999, b'a');
        p.push(b'.');
        let e = parse_pickle(&p).unwrap_err();
        assert!(e.contains("containers"), "{e}");
    }
}
