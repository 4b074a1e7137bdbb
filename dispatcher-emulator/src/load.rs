//! `--load MODEL:PATH`: publish the events of a file as if they had been posted, in file
//! order. The file is a JSON array of events (the `*.avro.json` renderings of Azul's samples)
//! or an avro bulk, raw or gzipped (an azul-backup bundle). Streams the loaded binary events
//! reference are stored too: the file named by the sha256 in a stream directory when there is
//! one, else deterministic placeholder bytes (which do not hash to the sha256).

use std::{
    io::Read,
    path::{Path, PathBuf},
    str::FromStr,
};

use azul_backup::avro::{CodecError, Model, decode_bulk, from_json, parse_json_events};
use bytes::Bytes;
use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};

use crate::{
    Emulator, PublishError,
    avro_value::{array_at, size_at, str_at},
    produce::{InFlight, validity},
};

/// Placeholder streams are cut to this size whatever the event declares.
pub const PLACEHOLDER_MAX_BYTES: u64 = 64 * 1024;

/// One `--load` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadSpec {
    pub model: Model,
    pub path: PathBuf,
}

impl FromStr for LoadSpec {
    type Err = LoadError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (model, path) = s
            .split_once(':')
            .ok_or_else(|| LoadError::Spec(s.to_string()))?;
        let model = model.parse().map_err(|_| LoadError::Spec(s.to_string()))?;
        Ok(LoadSpec {
            model,
            path: path.into(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("--load takes MODEL:PATH with a registered model, not {0:?}")]
    Spec(String),
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Codec { path: PathBuf, source: CodecError },
    #[error("{path}: event {index}: {source}")]
    Event {
        path: PathBuf,
        index: usize,
        source: CodecError,
    },
    #[error("{path}: publishing: {source}")]
    Publish { path: PathBuf, source: PublishError },
}

/// What a load did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadSummary {
    pub published: usize,
    /// Events skipped for failing their validity rules: (position in the file, reason).
    pub invalid: Vec<(usize, String)>,
    /// Streams stored from the stream directory, and as placeholders.
    pub streams_from_dir: usize,
    pub placeholders: usize,
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, LoadError> {
    let read = |source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::read(path).map_err(read)?;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let mut plain = Vec::new();
    GzDecoder::new(bytes.as_slice())
        .read_to_end(&mut plain)
        .map_err(read)?;
    Ok(plain)
}

/// The file's events, decoded, in file order.
fn read_events(spec: &LoadSpec) -> Result<Vec<InFlight>, LoadError> {
    let path = &spec.path;
    let bytes = read_bytes(path)?;
    let codec = |source| LoadError::Codec {
        path: path.clone(),
        source,
    };
    let event = |index| {
        move |source| LoadError::Event {
            path: path.clone(),
            index,
            source,
        }
    };
    let is_json = matches!(
        bytes.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'[' | b'{')
    );
    if !is_json {
        return decode_bulk(spec.model, &bytes)
            .map_err(codec)?
            .iter()
            .enumerate()
            .map(|(i, d)| InFlight::from_raw(spec.model, &d.raw).map_err(event(i)))
            .collect();
    }
    let text = String::from_utf8_lossy(&bytes);
    parse_json_events(&text)
        .map_err(codec)?
        .into_iter()
        .enumerate()
        .map(|(i, json)| {
            let raw = from_json(spec.model, &json).map_err(event(i))?;
            let mut loaded = InFlight::from_raw(spec.model, &raw).map_err(event(i))?;
            loaded.json = Some(json);
            Ok(loaded)
        })
        .collect()
}

/// Deterministic bytes standing in for a stream that is not at hand.
pub fn placeholder(source: &str, label: &str, sha256: &str, declared_size: u64) -> Vec<u8> {
    let size = declared_size.clamp(1, PLACEHOLDER_MAX_BYTES) as usize;
    let mut data = format!("azul-dispatcher-emulator placeholder for {source}/{label}/{sha256}\n")
        .into_bytes();
    let block = Sha256::digest(&data);
    while data.len() < size {
        data.extend_from_slice(&block);
    }
    data.truncate(size);
    data
}

/// Store every stream `events` reference that the emulator does not hold yet.
fn store_streams(
    emulator: &Emulator,
    events: &[InFlight],
    stream_dir: Option<&Path>,
    summary: &mut LoadSummary,
) {
    for event in events {
        let source = str_at(&event.value, "source.name");
        for stream in array_at(&event.value, "entity.datastreams") {
            let (label, sha256) = (str_at(stream, "label"), str_at(stream, "sha256"));
            if sha256.is_empty() || emulator.stream(source, label, sha256).is_some() {
                continue;
            }
            let from_dir = stream_dir
                .map(|dir| dir.join(sha256))
                .and_then(|file| std::fs::read(file).ok());
            let data = match from_dir {
                Some(data) => {
                    summary.streams_from_dir += 1;
                    data
                }
                None => {
                    summary.placeholders += 1;
                    placeholder(source, label, sha256, size_at(stream, "size"))
                }
            };
            emulator.insert_stream(source, label, sha256, Bytes::from(data));
        }
    }
}

/// Publish the events of `spec.path` into `emulator` (skipping invalid ones, as a POST would
/// refuse them) and store the streams they reference.
pub fn load(
    emulator: &Emulator,
    spec: &LoadSpec,
    stream_dir: Option<&Path>,
) -> Result<LoadSummary, LoadError> {
    let mut summary = LoadSummary::default();
    let mut valid = Vec::new();
    for (i, event) in read_events(spec)?.into_iter().enumerate() {
        match validity::check(spec.model, &event.value) {
            None => valid.push(event),
            Some(reason) => summary.invalid.push((i, reason)),
        }
    }
    if spec.model == Model::Binary {
        store_streams(emulator, &valid, stream_dir, &mut summary);
    }
    summary.published = emulator
        .publish_in_flight(spec.model, valid)
        .map_err(|source| LoadError::Publish {
            path: spec.path.clone(),
            source,
        })?;
    Ok(summary)
}
