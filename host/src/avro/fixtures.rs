//! Azul's reference data for the codec tests, read from `AZUL_REFERENCE_DIR` (default
//! `<workspace>/../shared/azul-reference`): skipped loudly when absent, required under `CI`.

use std::path::{Path, PathBuf};

use super::{Model, schema::SchemaVersion};

pub(crate) fn reference_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("AZUL_REFERENCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/azul-reference")
        });
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "Azul reference fixtures not found at {} under CI",
        dir.display()
    );
    eprintln!(
        "SKIPPED: Azul reference fixtures not found at {} (set AZUL_REFERENCE_DIR)",
        dir.display()
    );
    None
}

/// One `X.json` / `X.json.avro` fixture pair of bedrock's `testdata/events`.
#[derive(Debug)]
pub(crate) struct FixturePair {
    pub model: Model,
    /// The schema the avro was written with (`v4/`, `v5/` folders; v6 otherwise).
    pub version: SchemaVersion,
    pub json: PathBuf,
    pub avro: PathBuf,
    /// `bulk.json(.avro)` hold bulk datums, the others single events.
    pub bulk: bool,
}

/// The model of a fixture folder (`speed/` holds status events; `api/` is not events).
fn folder_model(name: &str) -> Option<Model> {
    match name {
        "speed" => Some(Model::Status),
        other => other.parse().ok(),
    }
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    entries
}

/// Every fixture pair under `<reference>/bedrock/testdata/events`, and the `.json` files of
/// the model folders that have no `.avro` twin.
pub(crate) fn fixture_pairs(reference: &Path) -> (Vec<FixturePair>, Vec<PathBuf>) {
    let root = reference.join("bedrock/testdata/events");
    let (mut pairs, mut lonely) = (Vec::new(), Vec::new());
    for model_dir in sorted_entries(&root).into_iter().filter(|p| p.is_dir()) {
        let name = model_dir.file_name().unwrap().to_str().unwrap();
        let Some(model) = folder_model(name) else {
            continue;
        };
        let folders = [
            (model_dir.clone(), SchemaVersion::V6),
            (model_dir.join("v5"), SchemaVersion::V5),
            (model_dir.join("v4"), SchemaVersion::V4),
        ];
        for (dir, version) in folders.into_iter().filter(|(d, _)| d.is_dir()) {
            for json in sorted_entries(&dir) {
                if json.extension().is_none_or(|e| e != "json") {
                    continue;
                }
                let avro = PathBuf::from(format!("{}.avro", json.display()));
                if !avro.is_file() {
                    lonely.push(json);
                    continue;
                }
                let bulk = json.file_stem().is_some_and(|s| s == "bulk");
                pairs.push(FixturePair {
                    model,
                    version,
                    json,
                    avro,
                    bulk,
                });
            }
        }
    }
    (pairs, lonely)
}
