//! A deterministic synthetic corpus: binary events for every source × action obeying Azul's
//! datastream rules, real random stream contents stored under their true sha256 (some shared
//! between events, so stream dedupe is exercised), plus `insert` and `delete` events. Events
//! are published through the dispatcher's produce pipeline, so they hold canonical keys.

mod sizes;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use azul_backup::avro::{
    CodecError, Model, StreamRef,
    synthetic::{SyntheticBinary, SyntheticStream, binary_event, delete_event, insert_event},
};
use rand::{Rng, RngCore, SeedableRng, rngs::StdRng};

pub use sizes::{BadSizes, StreamSizes};

use crate::{Emulator, PublishError, topics::ACTIONS};

/// What to generate. The sources must be registered in the emulator's config.
#[derive(Debug, Clone)]
pub struct CorpusSpec {
    pub sources: Vec<String>,
    /// Binary events per (source, action).
    pub events_per_action: usize,
    pub insert_events: usize,
    pub delete_events: usize,
    /// The same seed always yields the same events and stream bytes.
    pub seed: u64,
    /// Stream sizes are drawn from `1..=max_stream_size` bytes.
    pub max_stream_size: usize,
}

impl Default for CorpusSpec {
    fn default() -> Self {
        CorpusSpec {
            sources: vec!["testing".into(), "samples".into()],
            events_per_action: 10,
            insert_events: 5,
            delete_events: 2,
            seed: 1,
            max_stream_size: 4096,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorpusSummary {
    /// Events published, by model name.
    pub events: BTreeMap<&'static str, usize>,
    /// Every distinct stream the events reference, all of them stored in the emulator.
    pub streams: BTreeSet<StreamRef>,
    /// Total size of the distinct streams.
    pub stream_bytes: u64,
}

/// `--synthetic`: a total number of binary events (spread round-robin over sources and
/// actions) with streams of a chosen size distribution.
#[derive(Debug, Clone)]
pub struct SyntheticSpec {
    pub sources: Vec<String>,
    pub binary_events: usize,
    pub insert_events: usize,
    pub delete_events: usize,
    pub seed: u64,
    pub sizes: StreamSizes,
}

impl SyntheticSpec {
    /// `binary_events` with the default share of inserts and deletes (1 in 20 and 1 in 50).
    pub fn new(sources: Vec<String>, binary_events: usize, seed: u64) -> Self {
        SyntheticSpec {
            sources,
            binary_events,
            insert_events: binary_events.div_ceil(20),
            delete_events: binary_events.div_ceil(50),
            seed,
            sizes: StreamSizes::default(),
        }
    }
}

impl From<&CorpusSpec> for SyntheticSpec {
    fn from(spec: &CorpusSpec) -> Self {
        SyntheticSpec {
            sources: spec.sources.clone(),
            binary_events: spec.events_per_action * spec.sources.len() * ACTIONS.len(),
            insert_events: spec.insert_events,
            delete_events: spec.delete_events,
            seed: spec.seed,
            sizes: StreamSizes::Uniform {
                min: 1,
                max: spec.max_stream_size.max(1) as u64,
            },
        }
    }
}

impl CorpusSummary {
    pub fn count(&self, model: Model) -> usize {
        self.events.get(model.as_str()).copied().unwrap_or(0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("building a synthetic event failed: {0}")]
    Codec(#[from] CodecError),
    #[error("publishing the corpus failed: {0}")]
    Publish(#[from] PublishError),
}

/// 2025-01-01T00:00:00Z: the corpus's first timestamp.
const START_MICROS: i64 = 1_735_689_600_000_000;

struct Generator<'a> {
    emulator: &'a Emulator,
    spec: &'a SyntheticSpec,
    rng: StdRng,
    keys: HashSet<String>,
    clock: i64,
    /// `content` and `report` streams already stored per source, for sharing.
    stored: HashMap<(String, &'static str), Vec<SyntheticStream>>,
    summary: CorpusSummary,
}

impl Generator<'_> {
    fn hex(&mut self, bytes: usize) -> String {
        let mut buf = vec![0u8; bytes];
        self.rng.fill_bytes(&mut buf);
        hex::encode(buf)
    }

    /// The key a client would send: 32 hex characters, never repeated within the corpus. The
    /// produce pipeline replaces it with the dispatcher's own.
    fn kafka_key(&mut self) -> String {
        loop {
            let key = self.hex(16);
            if self.keys.insert(key.clone()) {
                return key;
            }
        }
    }

    /// Strictly increasing, one to three seconds apart: binary keys only see whole seconds of
    /// the source time, so events must not share one.
    fn tick(&mut self) -> i64 {
        self.clock += self.rng.random_range(1_000_000..3_000_000);
        self.clock
    }

    fn new_stream(&mut self, source: &str, label: &'static str) -> SyntheticStream {
        let size = self.spec.sizes.sample(&mut self.rng);
        let mut data = vec![0u8; size as usize];
        self.rng.fill_bytes(&mut data);
        let sha256 = self.emulator.put_stream(source, label, data);
        let stream = SyntheticStream {
            label: label.into(),
            sha256,
            size,
        };
        self.record(source, &stream);
        self.stored
            .entry((source.to_string(), label))
            .or_default()
            .push(stream.clone());
        stream
    }

    fn record(&mut self, source: &str, stream: &SyntheticStream) {
        let key = StreamRef {
            source: source.into(),
            label: stream.label.clone(),
            sha256: stream.sha256.clone(),
        };
        if self.summary.streams.insert(key) {
            self.summary.stream_bytes += stream.size;
        }
    }

    /// An already stored stream of this source and label, picked at random.
    fn existing(&mut self, source: &str, label: &'static str) -> Option<SyntheticStream> {
        let stored = self.stored.get(&(source.to_string(), label))?;
        let pick = self.rng.random_range(0..stored.len());
        Some(stored[pick].clone())
    }

    /// Reuse a stored stream with probability `share`, else store a new one.
    fn stream(&mut self, source: &str, label: &'static str, share: f64) -> SyntheticStream {
        if self.rng.random_bool(share)
            && let Some(stream) = self.existing(source, label)
        {
            return stream;
        }
        self.new_stream(source, label)
    }

    /// Datastreams per action (Azul's `CheckValid` rules), and the entity's sha256.
    fn streams_for(&mut self, source: &str, action: &str) -> (Vec<SyntheticStream>, String) {
        let streams = match action {
            "sourced" => vec![self.new_stream(source, "content")],
            "extracted" => vec![self.stream(source, "content", 0.3)],
            "augmented" => vec![
                self.stream(source, "content", 0.9),
                self.new_stream(source, "safe_png"),
            ],
            "mapped" => vec![self.stream(source, "report", 0.5)],
            _ => Vec::new(), // enriched: features only
        };
        let entity = match streams.iter().find(|s| s.label == "content") {
            Some(content) => content.sha256.clone(),
            // Mapped and enriched events describe a binary the source already has.
            None => match self.existing(source, "content") {
                Some(content) => content.sha256,
                None => self.hex(32),
            },
        };
        (streams, entity)
    }

    fn binary(&mut self, source: &str, action: &str) -> Result<Vec<u8>, CodecError> {
        let (streams, sha256) = self.streams_for(source, action);
        let event = SyntheticBinary {
            source: source.into(),
            action: action.into(),
            author: format!("corpus-{action}"),
            kafka_key: self.kafka_key(),
            timestamp_micros: self.tick(),
            sha256,
            streams,
        };
        binary_event(&event)
    }

    fn any_content_sha256(&mut self) -> String {
        let sources = self.spec.sources.clone();
        if sources.is_empty() {
            return self.hex(32);
        }
        let source = &sources[self.rng.random_range(0..sources.len())];
        match self.existing(source, "content") {
            Some(content) => content.sha256,
            None => self.hex(32),
        }
    }
}

/// Generate the corpus described by `spec` and publish it into `emulator`.
pub fn seed(emulator: &Emulator, spec: &CorpusSpec) -> Result<CorpusSummary, CorpusError> {
    seed_synthetic(emulator, &SyntheticSpec::from(spec))
}

/// Generate a synthetic corpus and publish it into `emulator`.
pub fn seed_synthetic(
    emulator: &Emulator,
    spec: &SyntheticSpec,
) -> Result<CorpusSummary, CorpusError> {
    let mut generator = Generator {
        emulator,
        spec,
        rng: StdRng::seed_from_u64(spec.seed),
        keys: HashSet::new(),
        clock: START_MICROS,
        stored: HashMap::new(),
        summary: CorpusSummary::default(),
    };
    // Round-robin, so every topic's history spans the whole time range.
    let topics: Vec<(&String, &str)> = spec
        .sources
        .iter()
        .flat_map(|source| ACTIONS.map(|action| (source, action)))
        .collect();
    let mut binaries = Vec::with_capacity(spec.binary_events);
    for (source, action) in topics.iter().cycle().take(spec.binary_events) {
        binaries.push(generator.binary(source, action)?);
    }
    let mut inserts = Vec::new();
    for _ in 0..spec.insert_events {
        let parent = generator.any_content_sha256();
        let child = generator.hex(32);
        let (key, ts) = (generator.kafka_key(), generator.tick());
        inserts.push(insert_event(&key, ts, &parent, &child)?);
    }
    let mut deletes = Vec::new();
    for _ in 0..spec.delete_events {
        let source = spec.sources.first().map_or("samples", String::as_str);
        let references = format!("{source}.{}", generator.hex(16));
        let (key, ts) = (generator.kafka_key(), generator.tick());
        deletes.push(delete_event(&key, ts, &references)?);
    }
    let mut summary = generator.summary;
    for (model, raws) in [
        (Model::Binary, binaries),
        (Model::Insert, inserts),
        (Model::Delete, deletes),
    ] {
        summary
            .events
            .insert(model.as_str(), emulator.publish(model, raws)?);
    }
    Ok(summary)
}
