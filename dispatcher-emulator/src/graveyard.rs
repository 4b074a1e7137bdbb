//! `FilterPreviouslyDeleted` (`pipeline_dual/filter_previously_deleted.go`): every delete
//! event held is remembered, and binary events it matches are dropped when posted and filtered
//! when fetched. (The dispatcher also writes a Kafka tombstone for a filtered event; the
//! emulator does not.)

use std::collections::{HashMap, HashSet};

use azul_backup::avro::Datum;

use crate::avro_value::{GO_ZERO_TIME_MICROS, array_at, micros_at, str_at};

/// What a delete event removes, by its action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deletion {
    /// A submission: its `track_source_references`, and optionally its exact source time.
    Submission {
        references: String,
        at: i64,
    },
    Link(String),
    /// An author's events older than the time.
    Author {
        author: String,
        before: i64,
    },
    Ids(Vec<String>),
}

impl Deletion {
    /// The deletion a delete event asks for; `None` for an unknown action.
    pub fn of(delete: &Datum) -> Option<Self> {
        Some(match str_at(delete, "action") {
            "submission" => Deletion::Submission {
                references: str_at(delete, "entity.submission.track_source_references").into(),
                at: micros_at(delete, "entity.submission.timestamp"),
            },
            "link" => Deletion::Link(str_at(delete, "entity.link.track_link").into()),
            "author" => Deletion::Author {
                author: str_at(delete, "entity.author.track_author").into(),
                before: micros_at(delete, "entity.author.timestamp"),
            },
            "ids" => Deletion::Ids(strings(array_at(delete, "entity.ids.ids"))),
            _ => return None,
        })
    }
}

fn strings(values: &[Datum]) -> Vec<String> {
    values
        .iter()
        .filter_map(|v| match v {
            Datum::String(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// The fields of a binary event deletions match on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tracking {
    pub kafka_key: String,
    pub timestamp: i64,
    pub source_timestamp: i64,
    pub source_references: String,
    pub links: Vec<String>,
    pub authors: Vec<String>,
}

impl Tracking {
    pub fn of(binary: &Datum) -> Self {
        Tracking {
            kafka_key: str_at(binary, "kafka_key").into(),
            timestamp: micros_at(binary, "timestamp"),
            source_timestamp: micros_at(binary, "source.timestamp"),
            source_references: str_at(binary, "track_source_references").into(),
            links: strings(array_at(binary, "track_links")),
            authors: strings(array_at(binary, "track_authors")),
        }
    }
}

/// Every deletion seen so far; a later deletion of the same thing replaces an earlier one.
#[derive(Debug, Clone, Default)]
pub struct Graveyard {
    ids: HashSet<String>,
    links: HashSet<String>,
    authors: HashMap<String, i64>,
    submissions: HashMap<String, i64>,
}

impl Graveyard {
    pub fn register(&mut self, deletion: Deletion) {
        match deletion {
            Deletion::Submission { references, at } => {
                self.submissions.insert(references, at);
            }
            Deletion::Link(link) => {
                self.links.insert(link);
            }
            Deletion::Author { author, before } => {
                self.authors.insert(author, before);
            }
            Deletion::Ids(ids) => self.ids.extend(ids),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
            && self.links.is_empty()
            && self.authors.is_empty()
            && self.submissions.is_empty()
    }

    /// `judgePurged`.
    pub fn buries(&self, event: &Tracking) -> bool {
        self.ids.contains(&event.kafka_key)
            || event.links.iter().any(|link| self.links.contains(link))
            || event.authors.iter().any(|author| {
                self.authors
                    .get(author)
                    .is_some_and(|before| event.timestamp < *before)
            })
            || self
                .submissions
                .get(&event.source_references)
                .is_some_and(|at| *at == GO_ZERO_TIME_MICROS || *at == event.source_timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binary() -> Tracking {
        Tracking {
            kafka_key: "k".into(),
            timestamp: 10,
            source_timestamp: 5,
            source_references: "testing.abc".into(),
            links: vec!["p.c.t.plugin.x.1".into()],
            authors: vec!["plugin.x.1".into()],
        }
    }

    #[test]
    fn each_deletion_kind_matches() {
        let cases = [
            (Deletion::Ids(vec!["k".into()]), true),
            (Deletion::Ids(vec!["other".into()]), false),
            (Deletion::Link("p.c.t.plugin.x.1".into()), true),
            (
                Deletion::Author {
                    author: "plugin.x.1".into(),
                    before: 11,
                },
                true,
            ),
            (
                Deletion::Author {
                    author: "plugin.x.1".into(),
                    before: 10,
                },
                false,
            ),
            (
                Deletion::Submission {
                    references: "testing.abc".into(),
                    at: GO_ZERO_TIME_MICROS,
                },
                true,
            ),
            (
                Deletion::Submission {
                    references: "testing.abc".into(),
                    at: 5,
                },
                true,
            ),
            (
                Deletion::Submission {
                    references: "testing.abc".into(),
                    at: 6,
                },
                false,
            ),
        ];
        for (deletion, buried) in cases {
            let mut graveyard = Graveyard::default();
            graveyard.register(deletion.clone());
            assert_eq!(graveyard.buries(&binary()), buried, "{deletion:?}");
        }
        assert!(Graveyard::default().is_empty());
    }
}
