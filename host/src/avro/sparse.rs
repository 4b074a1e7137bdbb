//! Reading only the fields of an event that [`super::fields::describe`] and
//! [`super::resolve::promote`] look at: the rest of a v6 event is stepped over (checked, not
//! built), which makes describing a fetched bulk several times cheaper than decoding it.

use std::sync::OnceLock;

use super::{
    Model,
    datum::Datum,
    layout::Node,
    read::{ReadError, Reader},
    schema::{SchemaVersion, event_node},
};

/// Dotted paths (through arrays) of every field `describe`, `validate` and `promote` read.
const WANTED: [&str; 21] = [
    "model_version",
    "kafka_key",
    "timestamp",
    "action",
    "author.name",
    "flags.expedite",
    "flags.retry",
    "source.name",
    "source.path.sha256",
    "source.path.action",
    "source.path.author.name",
    "entity.datastreams.label",
    "entity.datastreams.sha256",
    "entity.datastreams.size",
    "entity.datastreams.file_format",
    "entity.parent_sha256",
    "entity.child_history.sha256",
    "entity.child_history.action",
    "entity.child_history.author.name",
    // Status events: promote sets these model versions too.
    "entity.input.model_version",
    "entity.results.model_version",
];

/// What to read of a value: all of it, nothing, or some fields of a record (of each record
/// item, for an array).
#[derive(Debug)]
pub(crate) enum Pick {
    Skip,
    Whole,
    Fields(Vec<Pick>),
}

impl Pick {
    /// The pick of `node` for the paths (relative to it) in `paths`.
    fn of(node: &Node, paths: &[&str]) -> Pick {
        if paths.is_empty() {
            return Pick::Skip;
        }
        if paths.contains(&"") {
            return Pick::Whole;
        }
        match node {
            Node::Array(item) => Pick::of(item, paths),
            Node::Record(record) => Pick::Fields(
                record
                    .fields
                    .iter()
                    .map(|f| {
                        let below: Vec<&str> = paths
                            .iter()
                            .filter_map(|p| match p.split_once('.') {
                                Some((head, rest)) if head == f.name => Some(rest),
                                None if *p == f.name => Some(""),
                                _ => None,
                            })
                            .collect();
                        Pick::of(&f.node, &below)
                    })
                    .collect(),
            ),
            _ => Pick::Whole,
        }
    }

    /// The pick of a v6 event of `model`, built once.
    pub fn event(model: Model) -> &'static Pick {
        static PICKS: OnceLock<Vec<Pick>> = OnceLock::new();
        let all = PICKS.get_or_init(|| {
            Model::ALL
                .iter()
                .map(|m| Pick::of(event_node(*m, SchemaVersion::V6), &WANTED))
                .collect()
        });
        &all[model as usize]
    }
}

impl Reader<'_> {
    /// Read what `pick` asks of one value of type `node`, stepping over the rest; a record
    /// read in part holds only its picked fields.
    pub fn pick(&mut self, node: &'static Node, pick: &Pick) -> Result<Option<Datum>, ReadError> {
        match (pick, node) {
            (Pick::Skip, _) => self.skip(node).map(|_| None),
            (Pick::Fields(picks), Node::Record(record)) => {
                let mut fields = Vec::new();
                for (field, pick) in record.fields.iter().zip(picks) {
                    if let Some(d) = self.pick(&field.node, pick)? {
                        fields.push((field.name.as_str(), d));
                    }
                }
                Ok(Some(Datum::Record(fields)))
            }
            (Pick::Fields(_), Node::Array(item)) => {
                let mut items = Vec::new();
                while let n @ 1.. = self.block_count()? {
                    for _ in 0..n {
                        items.extend(self.pick(item, pick)?);
                    }
                }
                Ok(Some(Datum::Array(items)))
            }
            _ => self.datum(node).map(Some),
        }
    }
}
