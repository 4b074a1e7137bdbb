//! The original azul-backup's five sample sets (`azul-backup/testdata/data/samples/*.avro.json`
//! under `AZUL_REFERENCE_DIR`, default `<workspace>/../shared/azul-reference`), read in place.
//!
//! The samples reference streams whose content is not part of the fixtures, and backup checks
//! every downloaded stream against its sha256. So every referenced sha256 is replaced, in
//! the JSON text and therefore consistently in datastreams, entities, paths and inserts, by
//! the sha256 of a small stand-in content derived from it. The number of distinct streams,
//! the events, their order and their timestamps are unchanged; kafka keys are the
//! dispatcher's own anyway, recomputed when the emulator publishes.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::PathBuf;

use azul_backup::avro::{Model, from_json, parse_json_events};
use azul_dispatcher_emulator::Emulator;
use azul_dispatcher_emulator::load::{LoadSpec, LoadSummary, load};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::skip_or_fail;

pub const TESTING_SOURCED: &str = "testing-binary-sourced-100.avro.json";
pub const SAMPLES_SOURCED: &str = "samples-binary-sourced-100.avro.json";
pub const SAMPLES_EXTRACTED: &str = "samples-binary-extracted-100.avro.json";
pub const SYSTEM_INSERT: &str = "system-insert-default-100.avro.json";
pub const SYSTEM_DELETE: &str = "system-delete-default-2.avro.json";

/// Every sample file with the model of its events, in the order the original's recovery
/// test serves them.
pub const ALL: [(&str, Model); 5] = [
    (SAMPLES_SOURCED, Model::Binary),
    (SAMPLES_EXTRACTED, Model::Binary),
    (TESTING_SOURCED, Model::Binary),
    (SYSTEM_DELETE, Model::Delete),
    (SYSTEM_INSERT, Model::Insert),
];

/// The Azul reference data: `AZUL_REFERENCE_DIR`, default `<workspace>/../shared/azul-reference`.
pub fn reference_root() -> PathBuf {
    std::env::var_os("AZUL_REFERENCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/azul-reference")
        })
}

/// The samples folder, or `None` after a loud skip message (a failure under CI).
pub fn dir_or_skip(test: &str) -> Option<PathBuf> {
    let dir = reference_root().join("azul-backup/testdata/data/samples");
    if ALL.iter().all(|(file, _)| dir.join(file).is_file()) {
        Some(dir)
    } else {
        skip_or_fail(
            test,
            &format!(
                "the original's samples are not at {} (set AZUL_REFERENCE_DIR)",
                dir.display()
            ),
        );
        None
    }
}

fn model_of(file: &str) -> Model {
    ALL.iter()
        .find(|(f, _)| *f == file)
        .map(|(_, m)| *m)
        .unwrap_or_else(|| panic!("{file} is not a sample file"))
}

fn str_at<'a>(json: &'a Json, pointer: &str) -> &'a str {
    json.pointer(pointer).and_then(Json::as_str).unwrap_or("")
}

fn array_at<'a>(json: &'a Json, pointer: &str) -> &'a [Json] {
    json.pointer(pointer)
        .and_then(Json::as_array)
        .map_or(&[], Vec::as_slice)
}

/// `(source, label, sha256)` of every datastream of the binary events in `events`.
fn datastreams(events: &[Json]) -> Vec<(String, String, String)> {
    events
        .iter()
        .flat_map(|e| {
            let source = str_at(e, "/source/name").to_string();
            array_at(e, "/entity/datastreams").iter().map(move |d| {
                (
                    source.clone(),
                    str_at(d, "/label").to_string(),
                    str_at(d, "/sha256").to_string(),
                )
            })
        })
        .collect()
}

/// Stand-in content for the stream the samples call `sha256`.
fn stand_in(sha256: &str) -> Vec<u8> {
    format!("stand-in content for sample stream {sha256}\n").into_bytes()
}

/// Replace every 64-hex-digit token found in `map` (longer hex runs, e.g. sha512s, are left
/// alone).
fn replace_hashes(text: &str, map: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| c.is_ascii_hexdigit()) {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(rest.len());
        let token = &rest[..end];
        out.push_str(map.get(token).map_or(token, String::as_str));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The five sample sets with stand-in stream hashes.
pub struct Samples {
    /// File name → its events (JSON, hashes replaced).
    events: BTreeMap<&'static str, Vec<Json>>,
    /// File name → `<source>/<label>/<sha256>` of its datastreams as the fixture has them.
    original_streams: BTreeMap<&'static str, BTreeSet<String>>,
    /// Stand-in sha256 → content.
    contents: BTreeMap<String, Vec<u8>>,
}

impl Samples {
    pub fn read(dir: &std::path::Path) -> Self {
        let texts: Vec<(&'static str, String)> = ALL
            .iter()
            .map(|(file, _)| {
                let text = std::fs::read_to_string(dir.join(file))
                    .unwrap_or_else(|e| panic!("reading sample {file}: {e}"));
                (*file, text)
            })
            .collect();
        let parse = |file: &str, text: &str| {
            parse_json_events(text).unwrap_or_else(|e| panic!("sample {file}: {e}"))
        };
        let mut original_streams = BTreeMap::new();
        let mut replacements = BTreeMap::new();
        let mut contents = BTreeMap::new();
        for (file, text) in &texts {
            let events = parse(file, text);
            let mut streams = datastreams(&events);
            // Inserts carry the child's datastreams; keep them consistent with the binaries.
            for e in &events {
                streams.extend(
                    array_at(e, "/entity/child/datastreams")
                        .iter()
                        .map(|d| (String::new(), String::new(), str_at(d, "/sha256").into())),
                );
            }
            for (_, _, sha256) in streams.iter().filter(|(_, _, sha256)| !sha256.is_empty()) {
                let content = stand_in(sha256);
                let new = hex::encode(Sha256::digest(&content));
                replacements.insert(sha256.clone(), new.clone());
                contents.insert(new, content);
            }
            if model_of(file) == Model::Binary {
                let keys = datastreams(&events)
                    .into_iter()
                    .map(|(source, label, sha256)| format!("{source}/{label}/{sha256}"))
                    .collect();
                original_streams.insert(*file, keys);
            }
        }
        let events = texts
            .iter()
            .map(|(file, text)| (*file, parse(file, &replace_hashes(text, &replacements))))
            .collect();
        Samples {
            events,
            original_streams,
            contents,
        }
    }

    /// The events of a sample file (with stand-in hashes), in file order.
    pub fn events(&self, file: &str) -> &[Json] {
        &self.events[file]
    }

    /// Distinct `<source>/<label>/<sha256>` the fixture file itself references.
    pub fn original_stream_keys(&self, file: &str) -> &BTreeSet<String> {
        &self.original_streams[file]
    }

    /// Distinct `<source>/<label>/<sha256>` (stand-in hashes) of the given events.
    pub fn stream_keys(&self, file: &str, range: Range<usize>) -> BTreeSet<String> {
        datastreams(&self.events(file)[range])
            .into_iter()
            .map(|(source, label, sha256)| format!("{source}/{label}/{sha256}"))
            .collect()
    }

    /// The stand-in content of a stream.
    pub fn content(&self, sha256: &str) -> &[u8] {
        &self.contents[sha256]
    }

    /// Give the emulator the content of every stream the events in `range` reference.
    pub fn put_streams(&self, emulator: &Emulator, file: &str, range: Range<usize>) {
        for (source, label, sha256) in datastreams(&self.events(file)[range]) {
            let stored = emulator.put_stream(&source, &label, self.content(&sha256).to_vec());
            assert_eq!(stored, sha256, "stand-in content hashes to its key");
        }
    }

    /// Publish the events in `range` through the emulator's produce pipeline, leaving their
    /// streams out (a dispatcher that lost them).
    pub fn publish_without_streams(&self, emulator: &Emulator, file: &str, range: Range<usize>) {
        let model = model_of(file);
        let raws: Vec<Vec<u8>> = self.events(file)[range.clone()]
            .iter()
            .map(|e| from_json(model, e).unwrap_or_else(|err| panic!("{file}: {err}")))
            .collect();
        let published = emulator
            .publish(model, &raws)
            .unwrap_or_else(|e| panic!("publishing {file}: {e}"));
        assert_eq!(published, range.len(), "{file}: every event published");
    }

    /// Load the events in `range` with the emulator's `--load` path (a JSON file of them),
    /// after storing their streams' content.
    pub fn load(&self, emulator: &Emulator, file: &str, range: Range<usize>) -> LoadSummary {
        self.put_streams(emulator, file, range.clone());
        let tmp = tempfile::tempdir().expect("temp dir");
        let path = tmp.path().join(file);
        let json = serde_json::to_string(&self.events(file)[range]).expect("events render");
        std::fs::write(&path, json).expect("write the events file");
        let spec = LoadSpec {
            model: model_of(file),
            path,
        };
        let summary = load(emulator, &spec, None).unwrap_or_else(|e| panic!("loading {file}: {e}"));
        assert_eq!(
            summary.placeholders, 0,
            "{file}: every stream has its content"
        );
        summary
    }

    /// Load every event of a file.
    pub fn load_all(&self, emulator: &Emulator, file: &str) -> LoadSummary {
        self.load(emulator, file, 0..self.events(file).len())
    }
}
