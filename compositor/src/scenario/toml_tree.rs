//! A span-preserving reader for TOML documents, used by the scenario
//! parser (`super::file`). `toml::Table` forgets where things were written,
//! so the document is read into a small tree (`Node`) whose keys and values
//! keep the byte offsets toml reports; `position` turns those offsets into
//! the 1-based lines and columns diagnostics show.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A TOML value, with its own kind of value or entries below it.
#[derive(Debug)]
pub(super) enum Node {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Never valid in a scenario; kept only to say so at the right line.
    Datetime,
    Array(Vec<Val>),
    /// Kept in document order so the first mistake in reading order is the
    /// one reported.
    Table(Vec<Entry>),
}

/// A value and the byte offset it starts at. toml knows the offset of every
/// value except tables it makes up for dotted keys (`add_output.size = ...`);
/// those take their key's offset.
#[derive(Debug)]
pub(super) struct Val {
    pub(super) at: Option<usize>,
    pub(super) node: Node,
}

#[derive(Debug, Default)]
pub(super) struct Key {
    pub(super) name: String,
    pub(super) at: Option<usize>,
}

#[derive(Debug)]
pub(super) struct Entry {
    pub(super) key: Key,
    pub(super) value: Val,
}

impl Node {
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Node::Str(_) => "a string",
            Node::Int(_) => "an integer",
            Node::Float(_) => "a float",
            Node::Bool(_) => "a boolean",
            Node::Datetime => "a date or time",
            Node::Array(_) => "an array",
            Node::Table(_) => "a table",
        }
    }
}

impl Val {
    pub(super) fn at(&self) -> usize {
        self.at.unwrap_or(0)
    }
}

impl From<Node> for Val {
    fn from(node: Node) -> Self {
        Val { at: None, node }
    }
}

impl Key {
    pub(super) fn at(&self) -> usize {
        self.at.unwrap_or(0)
    }
}

// toml hands out positions through the handshake `toml::Spanned` uses, under
// these names. `Spanned<T>` itself fails outright on a value without a span,
// so `Val` and `Key` speak the handshake themselves and fall back to no
// position. Should the names ever change, the line numbers in the tests fail.
const SPANNED: &str = "$__serde_spanned_private_Spanned";
const SPANNED_START: &str = "$__serde_spanned_private_start";
const SPANNED_END: &str = "$__serde_spanned_private_end";
const SPANNED_VALUE: &str = "$__serde_spanned_private_value";
const SPANNED_FIELDS: &[&str] = &[SPANNED_START, SPANNED_END, SPANNED_VALUE];
/// toml hands serde a date or time as a map with one key named like this.
const DATETIME_PREFIX: &str = "$__toml_private";

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(deserializer.deserialize_any(ValVisitor)?.node)
    }
}

impl<'de> Deserialize<'de> for Val {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct(SPANNED, SPANNED_FIELDS, ValVisitor)
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct(SPANNED, SPANNED_FIELDS, KeyVisitor)
    }
}

struct ValVisitor;

impl<'de> Visitor<'de> for ValVisitor {
    type Value = Val;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a TOML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Val, E> {
        Ok(Node::Bool(v).into())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Val, E> {
        Ok(Node::Int(v).into())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Val, E> {
        Ok(Node::Float(v).into())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Val, E> {
        Ok(Node::Str(v.to_owned()).into())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Val, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items).into())
    }
    /// Either the span handshake around a value, a date, or a real table.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Val, A::Error> {
        let (mut at, mut node, mut entries) = (None, None, Vec::new());
        while let Some(key) = map.next_key::<Key>()? {
            // Handshake and date keys come without a position; document
            // keys always have one.
            match (key.at, key.name.as_str()) {
                (None, SPANNED_START) => at = Some(map.next_value()?),
                (None, SPANNED_VALUE) => node = Some(map.next_value()?),
                (None, SPANNED_END) => {
                    map.next_value::<de::IgnoredAny>()?;
                }
                (None, name) if name.starts_with(DATETIME_PREFIX) => {
                    map.next_value::<de::IgnoredAny>()?;
                    node = Some(Node::Datetime);
                }
                _ => {
                    let mut value: Val = map.next_value()?;
                    value.at = value.at.or(key.at);
                    entries.push(Entry { key, value });
                }
            }
        }
        let node = node.unwrap_or(Node::Table(entries));
        Ok(Val { at, node })
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a TOML key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        let name = v.to_owned();
        Ok(Key { name, at: None })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Key, A::Error> {
        let mut key = Key::default();
        while let Some(field) = map.next_key::<String>()? {
            match field.as_str() {
                SPANNED_START => key.at = Some(map.next_value()?),
                SPANNED_VALUE => key.name = map.next_value()?,
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        Ok(key)
    }
}

pub(super) fn find<'a>(entries: &'a [Entry], key: &str) -> Option<&'a Entry> {
    entries.iter().find(|e| e.key.name == key)
}

/// 1-based line and column (in characters) of a byte offset.
pub(super) fn position(text: &str, offset: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let mut offset = offset.min(bytes.len());
    // toml reports "unexpected end of input" just past the final newline, on
    // a line editors do not show; point at the end of the last line instead.
    if offset == bytes.len() && bytes.last() == Some(&b'\n') {
        offset -= 1;
    }
    let before = &bytes[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    // Count characters, not bytes: skip UTF-8 continuation bytes.
    let column = (before[line_start..].iter())
        .filter(|&&b| b & 0xC0 != 0x80)
        .count()
        + 1;
    (line, column)
}
