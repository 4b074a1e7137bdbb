//! How an emulated dispatcher is set up.

use crate::{produce::Ageoff, sources::Sources};

#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Sources whose binary topics exist (`<source>.binary.<action>`); others are unregistered.
    pub sources: Vec<String>,
    /// `expire_events_after` per source: older events are dropped on POST (425 when all go)
    /// and filtered on GET. Seeded events skip the POST side.
    pub ageoff: Ageoff,
    /// Answer a GET as soon as the consumer's logs are exhausted instead of waiting for the
    /// deadline. The real dispatcher waits; this keeps tests fast.
    pub early_return: bool,
    /// Reproduce the dispatcher's quirk of silently truncating an avro POST at its first
    /// invalid event. When off, invalid events are reported in `failures` and skipped.
    pub truncate_at_invalid: bool,
    /// Kafka topic prefix (`DP__EVENTS__KAFKA__TOPIC_PREFIX`); it shows in error details.
    pub topic_prefix: String,
    /// Never hand out more than this many events per GET, whatever `count` asks for, as a
    /// busy dispatcher returns partial batches.
    pub max_events_per_fetch: Option<usize>,
    /// Check uploads against `expected-sha256` (the dispatcher always does). Off lets streams
    /// whose content is a placeholder be restored under their original hash.
    pub verify_sha256: bool,
}

impl EmulatorConfig {
    pub fn new<S: Into<String>>(sources: impl IntoIterator<Item = S>) -> Self {
        EmulatorConfig {
            sources: sources.into_iter().map(Into::into).collect(),
            ageoff: Ageoff::new(),
            early_return: false,
            truncate_at_invalid: true,
            topic_prefix: "test01".into(),
            max_events_per_fetch: None,
            verify_sha256: true,
        }
    }

    /// Sources and their ageoff from a parsed sources file.
    pub fn from_sources(sources: &Sources) -> Self {
        let mut config = EmulatorConfig::new(sources.list());
        config.ageoff = sources
            .expiry
            .iter()
            .filter_map(|(name, expiry)| Some((name.clone(), (*expiry)?)))
            .collect();
        config
    }

    pub fn early_return(mut self, early_return: bool) -> Self {
        self.early_return = early_return;
        self
    }

    pub fn max_events_per_fetch(mut self, max: Option<usize>) -> Self {
        self.max_events_per_fetch = max;
        self
    }

    pub fn verify_sha256(mut self, verify: bool) -> Self {
        self.verify_sha256 = verify;
        self
    }
}

impl Default for EmulatorConfig {
    /// The two sources of the dispatcher's own test harness.
    fn default() -> Self {
        EmulatorConfig::new(["testing", "samples"])
    }
}
