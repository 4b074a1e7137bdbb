//! The passive consume pipeline (`events/events.go`, `pipeline_consume`, `pipeline_dual`):
//! `PipelineAgeoff`, `FilterTooDeep`, `FilterConsumerRules` and `FilterPreviouslyDeleted`, in
//! that order. Filtered events
//! are consumed (their offsets move) and counted in `info.filters` as `<Pipe>-<state>`.
//!
//! Not emulated: `FilterSecurity` (`max-security` is refused instead) and `FilterDuplicates`
//! (off by default in the dispatcher).

use crate::{graveyard::Graveyard, params::ConsumeParams, produce::Ageoff, topics::StoredEvent};

/// `FilterTooDeep`'s limit for passive consumers.
const PASSIVE_MAX_DEPTH: usize = 11;

pub struct ConsumeFilters<'a> {
    pub params: &'a ConsumeParams,
    pub ageoff: &'a Ageoff,
    pub graveyard: &'a Graveyard,
    pub now_micros: i64,
}

impl ConsumeFilters<'_> {
    /// The `<Pipe>-<state>` that filters `stored` out, if one does.
    pub fn rejection(&self, stored: &StoredEvent) -> Option<&'static str> {
        let facts = &stored.facts;
        if !facts.applies {
            return None;
        }
        if let Some(expiry) = self.ageoff.get(&facts.source)
            && facts
                .source_timestamp_micros
                .saturating_add(expiry.as_micros() as i64)
                < self.now_micros
        {
            return Some("PipelineAgeoff-ageoff");
        }
        if facts.is_binary && facts.path_len > PASSIVE_MAX_DEPTH {
            return Some("FilterTooDeep-too_deep");
        }
        if let Some(state) = self.consumer_rules(stored) {
            return Some(state);
        }
        facts
            .tracking
            .as_ref()
            .is_some_and(|tracking| self.graveyard.buries(tracking))
            .then_some("FilterPreviouslyDeleted-deleted")
    }

    /// `FilterConsumerRules.ConsumeMod`, rule for rule.
    fn consumer_rules(&self, stored: &StoredEvent) -> Option<&'static str> {
        let (p, facts) = (self.params, &stored.facts);
        if !p.sources.is_empty() && !p.sources.contains(&facts.source) {
            return Some("FilterConsumerRules-reject_source");
        }
        if !p.require_actions.is_empty() && !p.require_actions.contains(&facts.action) {
            return Some("FilterConsumerRules-reject_event_type");
        }
        if p.deny_actions.contains(&facts.action) {
            return Some("FilterConsumerRules-reject_event_type");
        }
        if p.deny_self && facts.author_name == p.name {
            return Some("FilterConsumerRules-reject_self");
        }
        if !facts.is_binary {
            return None;
        }
        let wanted = p.required_streams();
        let mut has_content = false;
        let mut expected_labels = 0;
        for stream in &facts.streams {
            if stream.label == "content" {
                has_content = true;
                if p.under_content_size > 0 && stream.size > p.under_content_size as u64 {
                    return Some("FilterConsumerRules-reject_content_too_large");
                }
                if p.over_content_size > 0 && stream.size < p.over_content_size as u64 {
                    return Some("FilterConsumerRules-reject_content_too_small");
                }
            }
            if wanted.is_empty() {
                continue;
            }
            let Some(prefixes) = wanted
                .get(stream.label.as_str())
                .or_else(|| wanted.get("*"))
            else {
                return Some("FilterConsumerRules-reject_stream");
            };
            expected_labels += 1;
            if !prefixes.is_empty() && !prefixes.iter().any(|f| stream.file_format.starts_with(f)) {
                return Some("FilterConsumerRules-reject_file_format");
            }
        }
        if wanted.len() > 1 && expected_labels < wanted.len() {
            return Some("FilterConsumerRules-reject_stream");
        }
        let needs_content =
            p.require_content || p.under_content_size > 0 || p.over_content_size > 0;
        (needs_content && !has_content).then_some("FilterConsumerRules-reject_no_content")
    }
}
