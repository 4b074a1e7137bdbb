//! Consumer groups: per-(group, topic) offsets, committed as events are handed out, and the
//! prioritised subscriptions (expedite, live, historic) a GET reads from.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use azul_backup::avro::Model;

use crate::{
    consume_filters::ConsumeFilters,
    params::ConsumeParams,
    topics::{StoredEvent, TopicLogs},
};

/// Where a group starts on a topic it has no committed offset for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StartAt {
    Earliest,
    Latest,
}

/// One Kafka consumer group over a set of topics.
#[derive(Debug)]
struct Subscription {
    group: String,
    start: StartAt,
    topics: Vec<String>,
}

/// The subscriptions a consumer reads, highest priority first (`getSubscriptions`).
fn subscriptions(p: &ConsumeParams, topics: &TopicLogs) -> Vec<Subscription> {
    let key = p.group_key();
    let sub = |name: &str, start, topics| Subscription {
        group: format!("azul-{key}-{name}"),
        start,
        topics,
    };
    let matched = match p.model {
        Model::Binary => topics.binary_topics(&p.sources, &p.require_actions),
        model => vec![topics.system_topic(model.as_str())],
    };
    let mut subs = Vec::new();
    if p.model == Model::Binary && p.expedite {
        subs.push(sub(
            "expedite",
            StartAt::Latest,
            vec![topics.system_topic("expedite")],
        ));
    }
    if p.live {
        subs.push(sub("live", StartAt::Latest, matched.clone()));
    }
    if p.historic {
        subs.push(sub("historic", StartAt::Earliest, matched));
    }
    subs
}

/// What one pull handed out: the events, plus the consume-filter counts for `info`.
#[derive(Debug, Default)]
pub struct Pulled {
    pub events: Vec<Arc<StoredEvent>>,
    /// `"<Pipe>-<state>"` → count, sorted as Go sorts map keys in JSON.
    pub filters: BTreeMap<String, usize>,
}

impl Pulled {
    pub fn filtered(&self) -> usize {
        self.filters.values().sum()
    }
}

/// Committed offsets of every consumer group.
#[derive(Debug, Default)]
pub struct ConsumerGroups {
    offsets: HashMap<String, HashMap<String, usize>>,
}

impl ConsumerGroups {
    /// `reset=true`: forget the consumer's groups, so historic restarts at the earliest event
    /// and live at the latest.
    pub fn reset(&mut self, p: &ConsumeParams, topics: &TopicLogs) {
        for sub in subscriptions(p, topics) {
            self.offsets.remove(&sub.group);
        }
    }

    /// Hand out events until `out` holds `count` or every subscription is drained,
    /// committing each offset as its event is taken (at-most-once, like the dispatcher).
    pub fn pull(
        &mut self,
        filters: &ConsumeFilters,
        count: usize,
        topics: &TopicLogs,
        out: &mut Pulled,
    ) {
        for sub in subscriptions(filters.params, topics) {
            let offsets = self.offsets.entry(sub.group).or_default();
            for topic in &sub.topics {
                offsets.entry(topic.clone()).or_insert(match sub.start {
                    StartAt::Earliest => 0,
                    StartAt::Latest => topics.len(topic),
                });
            }
            while out.events.len() < count {
                // Across a subscription's topics, take the event published first.
                let next = sub
                    .topics
                    .iter()
                    .filter_map(|t| topics.get(t, offsets[t]).map(|e| (t, e)))
                    .min_by_key(|(_, e)| e.seq);
                let Some((topic, stored)) = next else { break };
                *offsets.get_mut(topic).expect("offset initialised above") += 1;
                match filters.rejection(stored) {
                    Some(state) => *out.filters.entry(state.to_string()).or_default() += 1,
                    None => out.events.push(Arc::clone(stored)),
                }
            }
        }
    }

    /// Committed offsets: group → topic → offset, sorted.
    pub fn offsets(&self) -> BTreeMap<String, BTreeMap<String, usize>> {
        self.offsets
            .iter()
            .map(|(group, topics)| {
                let topics = topics.iter().map(|(t, o)| (t.clone(), *o)).collect();
                (group.clone(), topics)
            })
            .collect()
    }
}
