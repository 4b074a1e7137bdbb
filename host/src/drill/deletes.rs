//! The dispatcher's `FilterPreviouslyDeleted`, over events as JSON. Restore posts deletes
//! before binary events, so the restored dispatcher drops every binary event a backed-up
//! delete matches — by design, not a loss. The drill has to know which events those are.

use std::collections::{HashMap, HashSet};

use serde_json::Value as Json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Go's `time.Time{}` in Unix microseconds: what an absent time means.
const GO_ZERO_TIME_MICROS: i64 = -62_135_596_800_000_000;

fn str_at<'a>(json: &'a Json, pointer: &str) -> &'a str {
    json.pointer(pointer).and_then(Json::as_str).unwrap_or("")
}

fn strings_at(json: &Json, pointer: &str) -> Vec<String> {
    json.pointer(pointer)
        .and_then(Json::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn micros_at(json: &Json, pointer: &str) -> i64 {
    OffsetDateTime::parse(str_at(json, pointer), &Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1000) as i64)
        .unwrap_or(GO_ZERO_TIME_MICROS)
}

/// Every deletion registered so far; a later deletion of the same thing replaces an earlier.
#[derive(Debug, Default)]
pub struct Deletions {
    ids: HashSet<String>,
    links: HashSet<String>,
    authors: HashMap<String, i64>,
    submissions: HashMap<String, i64>,
}

impl Deletions {
    pub fn register(&mut self, delete: &Json) {
        match str_at(delete, "/action") {
            "submission" => {
                let refs = str_at(delete, "/entity/submission/track_source_references");
                let at = micros_at(delete, "/entity/submission/timestamp");
                self.submissions.insert(refs.to_string(), at);
            }
            "link" => {
                let link = str_at(delete, "/entity/link/track_link");
                self.links.insert(link.to_string());
            }
            "author" => {
                let author = str_at(delete, "/entity/author/track_author");
                let before = micros_at(delete, "/entity/author/timestamp");
                self.authors.insert(author.to_string(), before);
            }
            "ids" => self.ids.extend(strings_at(delete, "/entity/ids/ids")),
            _ => {}
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
            && self.links.is_empty()
            && self.authors.is_empty()
            && self.submissions.is_empty()
    }

    /// Whether a binary event is dropped by these deletions.
    pub fn buries(&self, binary: &Json) -> bool {
        let timestamp = micros_at(binary, "/timestamp");
        self.ids.contains(str_at(binary, "/kafka_key"))
            || strings_at(binary, "/track_links")
                .iter()
                .any(|link| self.links.contains(link))
            || strings_at(binary, "/track_authors").iter().any(|author| {
                self.authors
                    .get(author)
                    .is_some_and(|before| timestamp < *before)
            })
            || self
                .submissions
                .get(str_at(binary, "/track_source_references"))
                .is_some_and(|at| {
                    *at == GO_ZERO_TIME_MICROS || *at == micros_at(binary, "/source/timestamp")
                })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn binary() -> Json {
        json!({
            "kafka_key": "k",
            "timestamp": "2025-08-02T18:21:10Z",
            "source": {"timestamp": "2025-08-02T18:21:00Z"},
            "track_source_references": "testing.abc",
            "track_links": ["p.c.t.plugin.x.1"],
            "track_authors": ["plugin.x.1"],
        })
    }

    fn buried_by(delete: Json) -> bool {
        let mut deletions = Deletions::default();
        deletions.register(&delete);
        deletions.buries(&binary())
    }

    #[test]
    fn each_kind_of_deletion_matches_as_the_dispatcher_does() {
        let submission = |refs: &str, at: Option<&str>| {
            let mut entity = json!({"track_source_references": refs});
            if let Some(at) = at {
                entity["timestamp"] = json!(at);
            }
            json!({"action": "submission", "entity": {"submission": entity}})
        };
        assert!(buried_by(submission("testing.abc", None)), "any time");
        assert!(buried_by(submission(
            "testing.abc",
            Some("2025-08-02T18:21:00Z")
        )));
        assert!(!buried_by(submission(
            "testing.abc",
            Some("2025-08-02T18:21:01Z")
        )));
        assert!(!buried_by(submission("testing.other", None)));
        let ids = |id: &str| json!({"action": "ids", "entity": {"ids": {"ids": [id]}}});
        assert!(buried_by(ids("k")));
        assert!(!buried_by(ids("other")));
        let link =
            json!({"action": "link", "entity": {"link": {"track_link": "p.c.t.plugin.x.1"}}});
        assert!(buried_by(link));
        let author = |before: &str| {
            json!({"action": "author", "entity": {"author": {
                "track_author": "plugin.x.1", "timestamp": before}}})
        };
        assert!(buried_by(author("2025-08-02T18:21:11Z")));
        assert!(!buried_by(author("2025-08-02T18:21:10Z")));
        assert!(Deletions::default().is_empty());
        assert!(!Deletions::default().buries(&binary()));
    }
}
