//! A decoded avro value that keeps map entries in wire order, so an event re-encodes to the
//! same bytes (apache-avro's `Value::Map` is a `HashMap` and loses that order).

use super::{
    fields::GO_ZERO_TIME_MICROS,
    layout::{Node, Record},
};

///
/// Also what the dispatcher emulator transforms posted events in: reading and rewriting
/// fields in place, then writing the event again with [`super::encode_event_datum`].
#[derive(Debug, Clone, PartialEq)]
pub enum Datum {
    Boolean(bool),
    Long(i64),
    /// Microseconds since the Unix epoch.
    Timestamp(i64),
    Double(f64),
    String(String),
    Bytes(Vec<u8>),
    Fixed(Vec<u8>),
    Array(Vec<Datum>),
    Map(Vec<(String, Datum)>),
    /// Fields in schema order, named by the (static) schema they were read with.
    Record(Vec<(&'static str, Datum)>),
}

impl Datum {
    /// Go's zero value of `node`: what an absent field holds.
    pub(crate) fn zero(node: &'static Node) -> Datum {
        match node {
            Node::Boolean => Datum::Boolean(false),
            Node::Long => Datum::Long(0),
            Node::Timestamp => Datum::Timestamp(GO_ZERO_TIME_MICROS),
            Node::Double => Datum::Double(0.0),
            Node::String => Datum::String(String::new()),
            Node::Bytes => Datum::Bytes(Vec::new()),
            Node::Fixed { size, .. } => Datum::Fixed(vec![0; *size]),
            Node::Array(_) => Datum::Array(Vec::new()),
            Node::Map(_) => Datum::Map(Vec::new()),
            Node::Record(r) => Datum::zero_record(r),
        }
    }

    pub(crate) fn zero_record(record: &'static Record) -> Datum {
        Datum::Record(
            record
                .fields
                .iter()
                .map(|f| (f.name.as_str(), Datum::zero(&f.node)))
                .collect(),
        )
    }

    /// Record field `name`, if this is a record holding it.
    pub fn get(&self, name: &str) -> Option<&Datum> {
        match self {
            Datum::Record(fields) => fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Datum> {
        match self {
            Datum::Record(fields) => fields.iter_mut().find(|(n, _)| *n == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The field at a dotted path, e.g. `source.name`.
    pub fn at(&self, path: &str) -> Option<&Datum> {
        path.split('.').try_fold(self, |d, name| d.get(name))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Datum::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_items(&self) -> &[Datum] {
        match self {
            Datum::Array(items) => items,
            _ => &[],
        }
    }

    /// A Go uint64 held as big-endian `fixed(8)`.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Datum::Fixed(bytes) => Some(u64::from_be_bytes(bytes.as_slice().try_into().ok()?)),
            _ => None,
        }
    }

    /// A string field at a dotted path; absent reads as "".
    pub fn str_at(&self, path: &str) -> &str {
        self.at(path).and_then(Datum::as_str).unwrap_or_default()
    }

    pub fn items_at(&self, path: &str) -> &[Datum] {
        self.at(path).map(Datum::as_items).unwrap_or_default()
    }

    pub fn bool_at(&self, path: &str) -> bool {
        matches!(self.at(path), Some(Datum::Boolean(true)))
    }
}
