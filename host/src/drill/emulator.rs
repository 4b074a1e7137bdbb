//! The throw-away dispatcher a drill restores into: the `azul-dispatcher-emulator` binary as a
//! child process (this crate cannot link the emulator, which links this crate's codec),
//! killed when dropped, and read back through its admin API.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::Value as Json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::compare::{Holdings, Multiset, Received};
use crate::avro::{Model, StreamRef};
use crate::dispatcher::DispatcherClient;

/// Restored streams downloaded back at the same time.
const PARALLEL_DOWNLOADS: usize = 8;

pub struct DrillEmulator {
    _child: Child,
    pub url: String,
    http: reqwest::Client,
    client: DispatcherClient,
}

/// One entry of `GET /emulator/v1/streams`.
#[derive(Debug, Deserialize)]
struct HeldStream {
    source: String,
    label: String,
    sha256: String,
}

impl HeldStream {
    fn key(&self) -> String {
        format!("{}/{}/{}", self.source, self.label, self.sha256)
    }
}

fn str_at<'a>(json: &'a Json, pointer: &str) -> &'a str {
    json.pointer(pointer).and_then(Json::as_str).unwrap_or("")
}

fn keys_of(events: &[Json]) -> Multiset {
    let mut keys = Multiset::new();
    for e in events {
        *keys.entry(str_at(e, "/kafka_key").to_string()).or_default() += 1;
    }
    keys
}

/// `<source>/<label>/<sha256>` of every datastream of binary events.
fn referenced_streams(binary: &[Json]) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    for e in binary {
        let source = str_at(e, "/source/name");
        let streams = e.pointer("/entity/datastreams").and_then(Json::as_array);
        for d in streams.into_iter().flatten() {
            refs.insert(format!(
                "{source}/{}/{}",
                str_at(d, "/label"),
                str_at(d, "/sha256")
            ));
        }
    }
    refs
}

impl DrillEmulator {
    /// Start an emulator that knows `sources`; `strict` checks uploaded streams against their
    /// sha256 as the dispatcher does.
    pub async fn start(sources: &[String], strict: bool) -> Result<Self> {
        let mut cmd = Command::new(crate::demo::emulator_binary()?);
        cmd.args([
            "--listen",
            "127.0.0.1:0",
            "--sources-list",
            &sources.join(","),
        ])
        .args(["--verify-sha256", if strict { "strict" } else { "off" }])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
        let mut child = cmd.spawn().context("starting the dispatcher emulator")?;
        let stdout = child.stdout.take().context("emulator stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        while let Some(line) = lines.next_line().await? {
            if let Some(url) = line.strip_prefix("AZUL_DISPATCHER_URL=") {
                let client = DispatcherClient::new(url, url, Duration::from_secs(60))?;
                return Ok(DrillEmulator {
                    _child: child,
                    url: url.to_string(),
                    http: reqwest::Client::new(),
                    client,
                });
            }
        }
        bail!("the dispatcher emulator exited before serving")
    }

    async fn admin<T: serde::de::DeserializeOwned>(&self, route: &str) -> Result<T> {
        let url = format!("{}/emulator/v1/{route}", self.url);
        let response = self.http.get(&url).send().await?.error_for_status()?;
        serde_json::from_slice(&response.bytes().await?).with_context(|| format!("reading {url}"))
    }

    /// The sha256 of a held stream's content, streamed.
    async fn content_sha256(&self, key: &str) -> Result<String> {
        let parts: Vec<&str> = key.splitn(3, '/').collect();
        let [source, label, sha256] = parts[..] else {
            bail!("{key:?} is not <source>/<label>/<sha256>");
        };
        let s = StreamRef {
            source: source.into(),
            label: label.into(),
            sha256: sha256.into(),
        };
        let mut response = self.client.open_stream(&s).await?;
        let mut hasher: sha2::Sha256 = sha2::Digest::new();
        while let Some(chunk) = response.chunk().await? {
            sha2::Digest::update(&mut hasher, &chunk);
        }
        Ok(hex::encode(sha2::Digest::finalize(hasher)))
    }

    /// Everything the emulator received; with `check_content` every stream is downloaded back
    /// and hashed.
    pub async fn received(&self, check_content: bool) -> Result<Received> {
        let binary: Vec<Json> = self.admin(&format!("events/{}", Model::Binary)).await?;
        let inserts: Vec<Json> = self.admin(&format!("events/{}", Model::Insert)).await?;
        let deletes: Vec<Json> = self.admin(&format!("events/{}", Model::Delete)).await?;
        let streams: Vec<HeldStream> = self.admin("streams").await?;
        let mut received = Received {
            holds: Holdings {
                binary: keys_of(&binary),
                inserts: keys_of(&inserts),
                deletes: Multiset::new(),
                streams: streams.iter().map(HeldStream::key).collect(),
            },
            ..Received::default()
        };
        for mut delete in deletes {
            if let Some(object) = delete.as_object_mut() {
                object.remove("kafka_key");
            }
            *received
                .holds
                .deletes
                .entry(delete.to_string())
                .or_default() += 1;
        }
        received.dangling = referenced_streams(&binary)
            .into_iter()
            .filter(|k| !received.holds.streams.contains(k))
            .collect();
        if check_content {
            let hashed: Vec<(String, String)> = futures::stream::iter(&received.holds.streams)
                .map(|key| async move {
                    Ok::<_, anyhow::Error>((key.clone(), self.content_sha256(key).await?))
                })
                .buffer_unordered(PARALLEL_DOWNLOADS)
                .try_collect()
                .await?;
            received.content_checked = hashed.len();
            received.bad_content = hashed
                .into_iter()
                .filter(|(key, actual)| !key.ends_with(&format!("/{actual}")))
                .collect();
            received.bad_content.sort();
        }
        Ok(received)
    }
}
