//! Stored objects checked in place, for `store.inspect-bundle` and `store.check-object` and
//! for the drill: a bundle downloaded, gunzipped and decoded into a summary; any object read
//! to its end and hashed in bounded memory.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use tokio::io::AsyncReadExt;

use super::body::spool_reader;
use super::store::{LEGACY_AES_HEADER, LEGACY_AES_SUFFIX, get_object, transfer_error};
use super::wit_error;
use crate::avro::{CodecError, DecodedEvent, Model, StreamRef, decode_bulk};
use crate::objectstore::ObjectStore;
use crate::runtime::bindings::{
    store::{BundleSummary, ObjectCheck},
    types::{self, Error as WitError, ErrorKind},
};

/// Why a bundle's events cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{0:?} is not a bundle key (<source>/<model>/<action>/<name>)")]
    NotABundleKey(String),
    #[error("{}", .0.message)]
    Unreadable(WitError),
    #[error("not an avro bulk of its model: {0}")]
    Undecodable(#[from] CodecError),
}

/// The model a bundle key names: `<source>/<model>/<action>/<name>`.
pub fn bundle_model(key: &str) -> Result<Model, BundleError> {
    let not_a_bundle = || BundleError::NotABundleKey(key.to_string());
    let segments: Vec<&str> = key.split('/').collect();
    match segments[..] {
        [source, model, action, name]
            if !source.is_empty() && !action.is_empty() && !name.is_empty() =>
        {
            model.parse().map_err(|_| not_a_bundle())
        }
        _ => Err(not_a_bundle()),
    }
}

/// Download, gunzip (through a temp file in `tmp`) and decode the bundle `key`. Memory holds
/// one bundle, as when it is restored.
pub async fn read_bundle(
    store: &dyn ObjectStore,
    key: &str,
    tmp: &Path,
) -> Result<(Model, Vec<DecodedEvent>), BundleError> {
    let model = bundle_model(key)?;
    let got = get_object(store, key)
        .await
        .map_err(BundleError::Unreadable)?;
    let (path, _) = spool_reader(got.reader, true, tmp)
        .await
        .map_err(|e| BundleError::Unreadable(transfer_error(e)))?;
    let bulk = tokio::fs::read(&path)
        .await
        .map_err(|e| BundleError::Unreadable(wit_error(ErrorKind::Io, e.to_string(), false)))?;
    Ok((model, decode_bulk(model, &bulk)?))
}

pub(super) fn summarise(events: &[DecodedEvent]) -> BundleSummary {
    let streams: BTreeSet<&StreamRef> = events.iter().flat_map(|e| &e.streams).collect();
    BundleSummary {
        events: events.len() as u32,
        invalid: events.iter().filter(|e| !e.is_valid()).count() as u32,
        stream_refs: streams
            .into_iter()
            .map(|s| types::StreamRef {
                source: s.source.clone(),
                label: s.label.clone(),
                sha256: s.sha256.clone(),
            })
            .collect(),
    }
}

/// Counts and hashes what the decoder writes into it.
struct HashingSink {
    hasher: sha2::Sha256,
    bytes: u64,
}

impl Write for HashingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        sha2::Digest::update(&mut self.hasher, buf);
        self.bytes += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Read `key` to its end, gunzipping when asked, and hash the plain bytes; memory holds one
/// read buffer whatever the object's size.
pub async fn hash_object(
    store: &dyn ObjectStore,
    key: &str,
    gunzip: bool,
) -> Result<ObjectCheck, WitError> {
    let mut got = get_object(store, key).await?;
    let sink = HashingSink {
        hasher: sha2::Digest::new(),
        bytes: 0,
    };
    let bad_gzip = |e: std::io::Error| {
        wit_error(
            ErrorKind::Corrupt,
            format!("{key}: not valid gzip: {e}"),
            false,
        )
    };
    let mut out = match gunzip {
        true => HashOut::Gunzip(Box::new(flate2::write::MultiGzDecoder::new(sink))),
        false => HashOut::Plain(sink),
    };
    let mut stored = if key.ends_with(LEGACY_AES_SUFFIX) {
        LEGACY_AES_HEADER as u64
    } else {
        0
    };
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = got.reader.read(&mut buf).await.map_err(|e| {
            wit_error(
                ErrorKind::Transient,
                format!("{key}: read interrupted: {e}"),
                true,
            )
        })?;
        if n == 0 {
            break;
        }
        stored += n as u64;
        match &mut out {
            HashOut::Gunzip(d) => d.write_all(&buf[..n]).map_err(bad_gzip)?,
            HashOut::Plain(sink) => sink.write_all(&buf[..n]).map_err(bad_gzip)?,
        }
    }
    let sink = match out {
        HashOut::Gunzip(d) => d.finish().map_err(bad_gzip)?,
        HashOut::Plain(sink) => sink,
    };
    Ok(ObjectCheck {
        stored_bytes: stored,
        plain_bytes: sink.bytes,
        sha256: hex::encode(sha2::Digest::finalize(sink.hasher)),
    })
}

enum HashOut {
    Gunzip(Box<flate2::write::MultiGzDecoder<HashingSink>>),
    Plain(HashingSink),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::avro::encode_bulk_from_raw;
    use crate::avro::synthetic::{SyntheticBinary, SyntheticStream, binary_event};
    use crate::objectstore::LocalStore;
    use crate::runtime::bindings::types::ErrorKind;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    fn sha256(bytes: &[u8]) -> String {
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes))
    }

    fn store(dir: &Path) -> LocalStore {
        LocalStore::new(dir.join("store"), "events").unwrap()
    }

    #[tokio::test]
    async fn objects_are_hashed_after_decoding_and_bad_gzip_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let content = b"stream content".repeat(1000);
        store
            .put("s/content/x", gzip(&content).into())
            .await
            .unwrap();
        let check = hash_object(&store, "s/content/x", true).await.unwrap();
        assert_eq!(check.sha256, sha256(&content));
        assert_eq!(check.plain_bytes, content.len() as u64);
        assert!(check.stored_bytes < check.plain_bytes);
        let raw = hash_object(&store, "s/content/x", false).await.unwrap();
        assert_eq!(raw.plain_bytes, raw.stored_bytes);

        store
            .put("s/content/junk", b"junk".to_vec().into())
            .await
            .unwrap();
        let err = hash_object(&store, "s/content/junk", true)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Corrupt);
        let err = hash_object(&store, "s/content/absent", true)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn legacy_aes_objects_are_hashed_past_their_header() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let mut stored = vec![7u8; LEGACY_AES_HEADER];
        stored.extend(gzip(b"abc"));
        store.put("s/content/x.aesc1", stored.into()).await.unwrap();
        let check = hash_object(&store, "s/content/x.aesc1", true)
            .await
            .unwrap();
        assert_eq!(check.sha256, sha256(b"abc"));
    }

    fn binary(n: u8) -> Vec<u8> {
        let sha256 = sha256(&[n; 10]);
        binary_event(&SyntheticBinary {
            source: "s".into(),
            action: "sourced".into(),
            author: "tester".into(),
            kafka_key: format!("{n:032x}"),
            timestamp_micros: 1_700_000_000_000_000 + i64::from(n),
            sha256: sha256.clone(),
            streams: vec![SyntheticStream {
                label: "content".into(),
                sha256,
                size: 10,
            }],
        })
        .unwrap()
    }

    #[tokio::test]
    async fn bundles_are_summarised_and_damage_is_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let (store, tmp) = (store(dir.path()), dir.path());
        let (a, b) = (binary(1), binary(2));
        let bulk = encode_bulk_from_raw([a.as_slice(), b.as_slice(), a.as_slice()]);
        store
            .put("s/binary/sourced/t-3-k", gzip(&bulk).into())
            .await
            .unwrap();
        let (model, events) = read_bundle(&store, "s/binary/sourced/t-3-k", tmp)
            .await
            .unwrap();
        assert_eq!(model, Model::Binary);
        let summary = summarise(&events);
        assert_eq!((summary.events, summary.invalid), (3, 0));
        assert_eq!(summary.stream_refs.len(), 2, "each stream once");
        let shas: Vec<&str> = summary
            .stream_refs
            .iter()
            .map(|s| s.sha256.as_str())
            .collect();
        assert!(shas.contains(&sha256(&[1u8; 10]).as_str()), "{shas:?}");

        store
            .put("s/binary/sourced/junk", b"junk".to_vec().into())
            .await
            .unwrap();
        let err = read_bundle(&store, "s/binary/sourced/junk", tmp)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, BundleError::Unreadable(e) if e.kind == ErrorKind::Corrupt),
            "{err}"
        );
        store
            .put("s/binary/sourced/not-avro", gzip(&[0x0c, 0x7f]).into())
            .await
            .unwrap();
        let err = read_bundle(&store, "s/binary/sourced/not-avro", tmp)
            .await
            .unwrap_err();
        assert!(matches!(err, BundleError::Undecodable(_)), "{err}");
        for key in ["s/binary/sourced", "s/nomodel/sourced/x", "s/binary//x"] {
            let err = read_bundle(&store, key, tmp).await.unwrap_err();
            assert!(matches!(err, BundleError::NotABundleKey(_)), "{key}: {err}");
        }
    }
}
