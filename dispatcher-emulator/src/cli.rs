//! The command line of `azul-dispatcher-emulator`.

use std::{net::SocketAddr, path::PathBuf};

use azul_dispatcher_emulator::{
    EmulatorConfig,
    corpus::StreamSizes,
    load::LoadSpec,
    sources::{Sources, SourcesError},
};
use clap::{Parser, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "An in-memory stand-in for the Azul dispatcher's HTTP API",
    after_help = "The first line on stdout is AZUL_DISPATCHER_URL=<base url>, for scripts. \
                  Besides the dispatcher's routes, /emulator/v1/ serves events/{model}, \
                  streams, stats and faults for tests."
)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8111")]
    pub listen: SocketAddr,
    /// A sources YAML file as Azul writes it (top-level `sources:` map; `expire_events_after`
    /// turns on ageoff). For compatibility, a value with no `/` and no .yaml/.yml ending is
    /// read as a comma-separated list of names, like --sources-list. Default: samples,testing.
    #[arg(long, value_name = "FILE.yaml|a,b", conflicts_with = "sources_list")]
    pub sources: Option<String>,
    /// Registered sources, comma separated, without ageoff.
    #[arg(long, value_name = "a,b", value_delimiter = ',')]
    pub sources_list: Option<Vec<String>>,
    /// Seed N synthetic binary events (round-robin over sources and actions) with real stream
    /// contents under their true sha256, plus 1 insert per 20 and 1 delete per 50.
    #[arg(long, value_name = "N", conflicts_with = "events_per_action")]
    pub synthetic: Option<usize>,
    /// Seed a synthetic corpus with N binary events per source and action (and 5 inserts and
    /// 2 deletes); the form `azul-backup demo` uses.
    #[arg(long, value_name = "N")]
    pub events_per_action: Option<usize>,
    /// Seed of the synthetic events and stream contents.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Sizes of synthetic streams: uniform:MIN-MAX, fixed:SIZE or lognormal:MEDIAN:SIGMA[:MAX],
    /// in bytes or with a K, M or G suffix.
    #[arg(long, value_name = "DIST", default_value_t = StreamSizes::default())]
    pub stream_size_dist: StreamSizes,
    /// Publish the events of a file as if posted, in file order: a JSON array (`*.avro.json`)
    /// or an avro bulk, raw or gzipped. Repeatable; loads run in the order given. Invalid
    /// events are skipped with a warning; seeded events are not aged off on the way in.
    #[arg(long, value_name = "MODEL:PATH")]
    pub load: Vec<LoadSpec>,
    /// Content of streams referenced by loaded events: the file named by the sha256. Streams
    /// without a file get deterministic placeholder bytes (see --verify-sha256 off).
    #[arg(long, value_name = "DIR")]
    pub stream_dir: Option<PathBuf>,
    /// Never return more than N events per GET, as a busy dispatcher returns partial batches.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_events_per_fetch: Option<u64>,
    /// Check stream uploads against expected-sha256 (strict, as the dispatcher does), or not
    /// (off: lets placeholder streams be restored under their original hash).
    #[arg(long, value_enum, default_value_t = Verify::Strict)]
    pub verify_sha256: Verify,
    /// Answer GETs as soon as the logs are exhausted instead of waiting for the deadline.
    #[arg(long)]
    pub early_return: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Verify {
    Strict,
    Off,
}

/// `--sources` names a file when it looks like a path.
fn is_file_path(value: &str) -> bool {
    value.contains('/') || value.ends_with(".yaml") || value.ends_with(".yml")
}

impl Args {
    pub fn sources(&self) -> Result<Sources, SourcesError> {
        let names = |list: &[String]| {
            Sources::names(list.iter().map(|s| s.trim()).filter(|s| !s.is_empty()))
        };
        Ok(match (&self.sources, &self.sources_list) {
            (Some(file), _) if is_file_path(file) => Sources::read_yaml(file.as_ref())?,
            (Some(list), _) => names(&list.split(',').map(String::from).collect::<Vec<_>>()),
            (None, Some(list)) => names(list),
            (None, None) => Sources::names(["samples", "testing"]),
        })
    }

    pub fn config(&self, sources: &Sources) -> EmulatorConfig {
        EmulatorConfig::from_sources(sources)
            .early_return(self.early_return)
            .max_events_per_fetch(self.max_events_per_fetch.map(|n| n as usize))
            .verify_sha256(self.verify_sha256 == Verify::Strict)
    }
}
