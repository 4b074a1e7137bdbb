//! `azul-backup inspect PATH [--model M]`: print the events of a local event bundle (gzip or
//! raw avro bulk, as backup stores them) as one JSON event per line.

use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use flate2::read::MultiGzDecoder;

use crate::avro::{self, CodecError, Model};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("cannot read {path}: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is gzip-compressed but does not decompress: {source}")]
    BadGzip {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is neither gzip nor an avro event bulk: {reason}")]
    NotAvro { path: PathBuf, reason: String },
    #[error(
        "cannot tell the event model of {path} from a <source>/<model>/<action>/<name> path; \
         pass --model (one of {known})"
    )]
    UnknownModel { path: PathBuf, known: String },
    #[error("{path}: event {index} of the {model} bulk does not decode: {reason}")]
    Undecodable {
        path: PathBuf,
        model: Model,
        index: usize,
        reason: String,
    },
    #[error("{path}: event {index} cannot be shown as JSON: {source}")]
    Unrenderable {
        path: PathBuf,
        index: usize,
        #[source]
        source: CodecError,
    },
    #[error("cannot write the output: {0}")]
    Output(#[source] io::Error),
}

/// The model of a bundle stored as `<source>/<model>/<action>/<name>`, or named like the
/// original's samples, `<source>-<model>-<action>-<count>.avro`.
pub fn model_from_path(path: &Path) -> Option<Model> {
    let parts: Vec<&str> = path.iter().filter_map(|c| c.to_str()).collect();
    let from_layout = parts
        .len()
        .checked_sub(3)
        .and_then(|i| parts[i].parse().ok());
    from_layout.or_else(|| {
        let name = path.file_name()?.to_str()?;
        name.split('-').nth(1)?.parse().ok()
    })
}

/// The bundle's bytes, gunzipped when they are gzip.
pub fn read_bundle(path: &Path) -> Result<Vec<u8>, InspectError> {
    let bytes = fs::read(path).map_err(|source| InspectError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes);
    }
    let mut plain = Vec::with_capacity(bytes.len() * 4);
    MultiGzDecoder::new(bytes.as_slice())
        .read_to_end(&mut plain)
        .map_err(|source| InspectError::BadGzip {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(plain)
}

/// Why `bytes` cannot be an avro bulk at all, judged from how it starts.
fn not_avro(bytes: &[u8]) -> Option<String> {
    match bytes.first() {
        None => Some("it is empty".into()),
        Some(b'{' | b'[') => Some("it looks like JSON".into()),
        Some(_) => avro::bulk_header_version(bytes)
            .err()
            .map(|e| e.to_string()),
    }
}

/// Decode the bundle at `path` and write its events to `out`, one JSON object per line.
/// Returns how many events were written.
pub fn inspect(
    path: &Path,
    model: Option<Model>,
    out: &mut dyn Write,
) -> Result<usize, InspectError> {
    let Some(model) = model.or_else(|| model_from_path(path)) else {
        return Err(InspectError::UnknownModel {
            path: path.to_path_buf(),
            known: Model::ALL.map(Model::as_str).join(", "),
        });
    };
    let bytes = read_bundle(path)?;
    if let Some(reason) = not_avro(&bytes) {
        return Err(InspectError::NotAvro {
            path: path.to_path_buf(),
            reason,
        });
    }
    let events = avro::decode_bulk(model, &bytes).map_err(|e| match e {
        CodecError::BadEvent { index, reason, .. } => InspectError::Undecodable {
            path: path.to_path_buf(),
            model,
            index,
            reason,
        },
        other => InspectError::NotAvro {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    })?;
    for (index, event) in events.iter().enumerate() {
        let json =
            avro::to_json(model, &event.raw).map_err(|source| InspectError::Unrenderable {
                path: path.to_path_buf(),
                index,
                source,
            })?;
        serde_json::to_writer(&mut *out, &json).map_err(|e| InspectError::Output(e.into()))?;
        out.write_all(b"\n").map_err(InspectError::Output)?;
    }
    out.flush().map_err(InspectError::Output)?;
    Ok(events.len())
}

/// The `inspect` subcommand: events on stdout, errors on stderr. A closed stdout (e.g.
/// `| head`) ends the listing quietly.
pub fn run(path: &Path, model: Option<Model>) -> ExitCode {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match inspect(path, model, &mut out) {
        Ok(_) => ExitCode::SUCCESS,
        Err(InspectError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use flate2::{Compression, write::GzEncoder};

    use super::*;
    use crate::avro::synthetic::{SyntheticBinary, binary_event};

    fn event(key: &str) -> Vec<u8> {
        binary_event(&SyntheticBinary::sample(key)).unwrap()
    }

    fn bulk(keys: &[&str]) -> Vec<u8> {
        let raws: Vec<Vec<u8>> = keys.iter().map(|k| event(k)).collect();
        avro::encode_bulk_from_raw(raws.iter().map(Vec::as_slice))
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    /// Write `bytes` at `rel` under a fresh directory.
    fn file(rel: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    fn run_inspect(
        path: &Path,
        model: Option<Model>,
    ) -> Result<Vec<serde_json::Value>, InspectError> {
        let mut out = Vec::new();
        let n = inspect(path, model, &mut out)?;
        let lines: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), n);
        Ok(lines)
    }

    #[test]
    fn model_comes_from_the_bundle_path() {
        let cases = [
            (
                "bk/testing/binary/sourced/2025-08-05T18:10:00Z-100-abc",
                Some(Model::Binary),
            ),
            ("system/insert/default/x", Some(Model::Insert)),
            ("samples-binary-extracted-100.avro", Some(Model::Binary)),
            ("system-delete-default-2.avro", Some(Model::Delete)),
            ("testing/nonsense/sourced/x", None),
            ("bundle.avro", None),
        ];
        for (path, model) in cases {
            assert_eq!(model_from_path(Path::new(path)), model, "{path}");
        }
    }

    #[test]
    fn gzip_and_raw_bundles_print_one_json_event_per_line() {
        let raw = bulk(&["k1", "k2", "k3"]);
        for bytes in [gzip(&raw), raw.clone()] {
            let (_dir, path) = file("testing/binary/sourced/2025-1-3-abc", &bytes);
            let events = run_inspect(&path, None).unwrap();
            let keys: Vec<&str> = events
                .iter()
                .map(|e| e["kafka_key"].as_str().unwrap())
                .collect();
            assert_eq!(keys, ["k1", "k2", "k3"]);
            assert_eq!(events[0]["source"]["name"], "testing");
            assert_eq!(events[0]["entity"]["datastreams"][0]["size"], 391);
        }
    }

    #[test]
    fn explicit_model_wins_over_the_path() {
        let (_dir, path) = file("anything.bin", &bulk(&["k"]));
        assert!(matches!(
            run_inspect(&path, None),
            Err(InspectError::UnknownModel { .. })
        ));
        assert_eq!(run_inspect(&path, Some(Model::Binary)).unwrap().len(), 1);
    }

    #[test]
    fn failures_are_typed_and_say_where() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("testing/binary/sourced/none");
        assert!(matches!(
            run_inspect(&missing, None),
            Err(InspectError::Unreadable { .. })
        ));

        let (_d1, json) = file("testing/binary/sourced/j", br#"[{"kafka_key": "k"}]"#);
        let err = run_inspect(&json, None).unwrap_err();
        assert!(matches!(err, InspectError::NotAvro { .. }), "{err}");
        assert!(err.to_string().contains("looks like JSON"), "{err}");

        let (_d2, text) = file("testing/binary/sourced/t", b"hello world");
        assert!(matches!(
            run_inspect(&text, None),
            Err(InspectError::NotAvro { .. })
        ));

        let (_d3, empty) = file("testing/binary/sourced/e", b"");
        assert!(matches!(
            run_inspect(&empty, None),
            Err(InspectError::NotAvro { .. })
        ));

        let mut broken_gzip = gzip(&bulk(&["k"]));
        broken_gzip.truncate(broken_gzip.len() / 2);
        let (_d4, gz) = file("testing/binary/sourced/g", &broken_gzip);
        assert!(matches!(
            run_inspect(&gz, None),
            Err(InspectError::BadGzip { .. })
        ));

        // Cut inside the second event: the error names event 1.
        let whole = bulk(&["k1", "k2"]);
        let one = event("k1").len();
        let (_d5, cut) = file("testing/binary/sourced/c", &whole[..one + 10]);
        match run_inspect(&cut, None) {
            Err(InspectError::Undecodable { index, model, .. }) => {
                assert_eq!((index, model), (1, Model::Binary));
            }
            other => panic!("expected Undecodable, got {other:?}"),
        }
    }
}
