//! Output model and renderers: every decoded item becomes a [`Node`] that carries both
//! its tree line and its JSON fields, so the tree and `--json` show the same information.
//!
//! The JSON writer is hand-written (no dependency): strings are escaped per RFC 8259 §7
//! (quote, backslash and every control character), numbers are integers only.

use std::fmt::Write as _;

/// A JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An unsigned integer.
    UInt(u64),
    /// A signed integer.
    Int(i64),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, keys in insertion order.
    Obj(Vec<(String, Json)>),
}

impl From<&str> for Json {
    fn from(s: &str) -> Self {
        Json::Str(s.to_string())
    }
}

impl From<String> for Json {
    fn from(s: String) -> Self {
        Json::Str(s)
    }
}

impl From<bool> for Json {
    fn from(b: bool) -> Self {
        Json::Bool(b)
    }
}

impl From<u8> for Json {
    fn from(v: u8) -> Self {
        Json::UInt(v.into())
    }
}

impl From<u16> for Json {
    fn from(v: u16) -> Self {
        Json::UInt(v.into())
    }
}

impl From<u32> for Json {
    fn from(v: u32) -> Self {
        Json::UInt(v.into())
    }
}

impl From<u64> for Json {
    fn from(v: u64) -> Self {
        Json::UInt(v)
    }
}

impl From<usize> for Json {
    fn from(v: usize) -> Self {
        Json::UInt(v as u64)
    }
}

impl From<i64> for Json {
    fn from(v: i64) -> Self {
        Json::Int(v)
    }
}

impl<T: Into<Json>> From<Vec<T>> for Json {
    fn from(v: Vec<T>) -> Self {
        Json::Arr(v.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(Json::Null)
    }
}

impl Json {
    /// Pretty-prints the value with two-space indentation.
    pub fn write_pretty(&self, out: &mut String, level: usize) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::UInt(v) => {
                let _ = write!(out, "{v}");
            }
            Json::Int(v) => {
                let _ = write!(out, "{v}");
            }
            Json::Str(s) => write_json_string(s, out),
            Json::Arr(items) => {
                if items.is_empty() {
                    out.push_str("[]");
                    return;
                }
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline_indent(out, level + 1);
                    item.write_pretty(out, level + 1);
                }
                newline_indent(out, level);
                out.push(']');
            }
            Json::Obj(fields) => {
                if fields.is_empty() {
                    out.push_str("{}");
                    return;
                }
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline_indent(out, level + 1);
                    write_json_string(k, out);
                    out.push_str(": ");
                    v.write_pretty(out, level + 1);
                }
                newline_indent(out, level);
                out.push('}');
            }
        }
    }
}

fn newline_indent(out: &mut String, level: usize) {
    out.push('\n');
    for _ in 0..level {
        out.push_str("  ");
    }
}

/// Writes `s` as a JSON string literal (RFC 8259 §7).
pub fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Children of a node, under one JSON key.
#[derive(Clone, Debug)]
pub enum Child {
    /// A single object (`"key": {...}`).
    One(Box<Node>),
    /// An array of objects (`"key": [...]`).
    Many(Vec<Node>),
}

/// One element of the output: a tree line, JSON fields, text-only detail lines, children.
#[derive(Clone, Debug, Default)]
pub struct Node {
    /// The line printed in the tree (without indentation).
    pub text: String,
    /// JSON fields, in order.
    pub fields: Vec<(String, Json)>,
    /// Lines printed below `text` in the tree only (hex dumps, hints).
    pub lines: Vec<String>,
    /// Children, each group under its JSON key; the tree prints them in order.
    pub children: Vec<(String, Child)>,
}

impl Node {
    /// A node with a tree line.
    pub fn new(text: impl Into<String>) -> Self {
        Node {
            text: text.into(),
            ..Node::default()
        }
    }

    /// Adds a JSON field.
    pub fn field(mut self, key: &str, value: impl Into<Json>) -> Self {
        self.fields.push((key.to_string(), value.into()));
        self
    }

    /// Adds a JSON field in place.
    pub fn set(&mut self, key: &str, value: impl Into<Json>) {
        self.fields.push((key.to_string(), value.into()));
    }

    /// Adds a text-only line.
    pub fn line(&mut self, text: impl Into<String>) {
        self.lines.push(text.into());
    }

    /// Adds a single child object in place.
    pub fn push_one(&mut self, key: &str, child: Node) {
        self.children
            .push((key.to_string(), Child::One(Box::new(child))));
    }

    /// Adds an array of children in place.
    pub fn push_many(&mut self, key: &str, children: Vec<Node>) {
        self.children.push((key.to_string(), Child::Many(children)));
    }

    /// Renders the tree, indenting each level by two spaces.
    ///
    /// A node with empty text is JSON-only: its own line is omitted and its detail
    /// lines and children move up one level.
    pub fn write_tree(&self, out: &mut String, level: usize) {
        let inner = if self.text.is_empty() {
            level
        } else {
            indent(out, level);
            out.push_str(&self.text);
            out.push('\n');
            level + 1
        };
        for l in &self.lines {
            indent(out, inner);
            out.push_str(l);
            out.push('\n');
        }
        for (_, c) in &self.children {
            match c {
                Child::One(n) => n.write_tree(out, inner),
                Child::Many(ns) => {
                    for n in ns {
                        n.write_tree(out, inner);
                    }
                }
            }
        }
    }

    /// The JSON object of this node: its fields, then its children.
    pub fn to_json(&self) -> Json {
        let mut obj = self.fields.clone();
        for (k, c) in &self.children {
            let v = match c {
                Child::One(n) => n.to_json(),
                Child::Many(ns) => Json::Arr(ns.iter().map(Node::to_json).collect()),
            };
            obj.push((k.clone(), v));
        }
        Json::Obj(obj)
    }
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    gikev2::wire::hex(bytes)
}

/// A classic hex dump (offset, 16 octets, ASCII) of `bytes[from..to]`, with offsets
/// printed relative to `base`; a caret line marks `mark` if it falls inside.
pub fn hexdump(bytes: &[u8], from: usize, to: usize, mark: Option<usize>) -> Vec<String> {
    let to = to.min(bytes.len());
    let from = from.min(to) / 16 * 16;
    let mut lines = Vec::new();
    let mut row = from;
    while row < to {
        let end = (row + 16).min(to);
        let mut l = format!("{row:04x}: ");
        for b in &bytes[row..end] {
            let _ = write!(l, "{b:02x} ");
        }
        for _ in end..row + 16 {
            l.push_str("   ");
        }
        l.push(' ');
        for &b in &bytes[row..end] {
            l.push(if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            });
        }
        lines.push(l.trim_end().to_string());
        if let Some(m) = mark {
            if m >= row && m < row + 16 {
                let col = 6 + (m - row) * 3;
                lines.push(format!("{}^^ offset {m}", " ".repeat(col)));
            }
        }
        row += 16;
    }
    if let Some(m) = mark {
        if m >= to && m >= from {
            lines.push(format!(
                "(offset {m} is at or past the end: {} octets)",
                bytes.len()
            ));
        }
    }
    lines
}

/// Text with control characters and non-ASCII octets escaped, for IDs and names taken
/// from the wire (keeps terminals safe).
pub fn printable(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s
}

/// True if every octet is printable ASCII (a readable identity).
pub fn is_printable(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|b| (0x20..=0x7e).contains(b))
}

/// Renders a Unix time as `YYYY-MM-DD HH:MM:SS.ffffff UTC` (text) and the same in
/// RFC 3339 form (JSON).
pub fn format_time(secs: i64, nanos: u32) -> (String, String) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let micros = nanos / 1000;
    let frac = if nanos % 1000 == 0 {
        format!("{micros:06}")
    } else {
        format!("{nanos:09}")
    };
    (
        format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}.{frac} UTC"),
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{frac}Z"),
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escaping() {
        let mut s = String::new();
        write_json_string("a\"b\\c\n\u{1}\u{7f}é", &mut s);
        assert_eq!(s, "\"a\\\"b\\\\c\\n\\u0001\\u007fé\"");
    }

    #[test]
    fn json_pretty() {
        let j = Json::Obj(vec![
            ("a".into(), Json::Arr(vec![Json::UInt(1), Json::Null])),
            ("b".into(), Json::Obj(vec![])),
        ]);
        let mut s = String::new();
        j.write_pretty(&mut s, 0);
        assert_eq!(s, "{\n  \"a\": [\n    1,\n    null\n  ],\n  \"b\": {}\n}");
    }

    #[test]
    fn time() {
        assert_eq!(
            format_time(1_767_225_600, 250_000_000).0,
            "2026-01-01 00:00:00.250000 UTC"
        );
        assert_eq!(format_time(0, 1).1, "1970-01-01T00:00:00.000000001Z");
        assert_eq!(
            format_time(951_782_400, 0).0,
            "2000-02-29 00:00:00.000000 UTC"
        );
    }

    #[test]
    fn dump_marks_offset() {
        let b: Vec<u8> = (0u8..40).collect();
        let l = hexdump(&b, 0, 40, Some(18));
        assert_eq!(l.len(), 4);
        assert!(l[2].contains("^^ offset 18"));
        assert!(l[1].starts_with("0010: 10 11 12"));
    }
}
