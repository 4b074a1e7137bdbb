//! `azul-backup get-samples`: fetch up to N events of every (source, model, action) the backup
//! reads from a running dispatcher into test-data files, as the original's get-samples tool
//! does: `<source>-<model>-<action>-<n>.avro` (a v6 avro bulk) and `….avro.json` (the same
//! events as a JSON array, 4-space indented). It fetches under its own consumer name, so the
//! backup's offsets never move; the dispatcher commits this consumer's offsets as it answers,
//! so the next run with the same name gets the next events (another `--name` starts over).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::avro::{BINARY_ACTIONS, DecodedEvent, Model, decode_bulk, encode_bulk, to_json};
use crate::dispatcher::{DispatcherClient, FetchRequest};
use crate::settings::Settings;

/// The identity version backup consumers use (`RECOVERY_VERSION`).
const CONSUMER_VERSION: &str = "3.0.0";
/// Answers without events, from a dispatcher not yet ready, before a topic counts as empty.
const NOT_READY_TRIES: u32 = 5;

#[derive(Debug, Clone)]
pub struct SampleOptions {
    pub out: PathBuf,
    /// At most this many events per (source, model, action).
    pub count: u32,
    /// The dispatcher consumer name (the original's author was `recovery-get-samples-1`).
    pub name: String,
    pub deadline_secs: u32,
}

/// One file pair written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleFile {
    pub avro: PathBuf,
    pub events: usize,
}

/// `(source, model, action)` of every backup consumer: configured sources × actions, then
/// system insert and delete.
fn topics(settings: &Settings) -> Vec<(String, Model, String)> {
    let mut out: Vec<(String, Model, String)> = settings
        .backup_sources()
        .into_iter()
        .flat_map(|s| BINARY_ACTIONS.map(|a| (s.clone(), Model::Binary, a.to_string())))
        .collect();
    out.push(("system".into(), Model::Insert, "default".into()));
    out.push(("system".into(), Model::Delete, "default".into()));
    out
}

async fn collect(
    client: &DispatcherClient,
    request: &mut FetchRequest,
    count: u32,
) -> Result<Vec<DecodedEvent>> {
    let mut events = Vec::new();
    let mut not_ready = 0;
    while events.len() < count as usize {
        request.count = count - events.len() as u32;
        let (info, bulk) = client
            .fetch_events(request)
            .await
            .with_context(|| format!("fetching {} events", request.model))?;
        let fetched = decode_bulk(request.model, &bulk)
            .with_context(|| format!("decoding {} events", request.model))?;
        if fetched.is_empty() {
            not_ready += 1;
            if info.ready || not_ready >= NOT_READY_TRIES {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        events.extend(fetched);
    }
    Ok(events)
}

fn write(out: &Path, stem: &str, model: Model, events: &[DecodedEvent]) -> Result<SampleFile> {
    let avro = out.join(format!("{stem}-{}.avro", events.len()));
    let rendered = events
        .iter()
        .map(|e| to_json(model, &e.raw))
        .collect::<Result<Vec<_>, _>>()?;
    let mut json = Vec::new();
    let indent = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut json, indent);
    serde::Serialize::serialize(&rendered, &mut serializer)?;
    std::fs::write(&avro, encode_bulk(events))
        .with_context(|| format!("writing {}", avro.display()))?;
    let json_path = PathBuf::from(format!("{}.json", avro.display()));
    std::fs::write(&json_path, json).with_context(|| format!("writing {}", json_path.display()))?;
    Ok(SampleFile {
        avro,
        events: events.len(),
    })
}

/// Fetch and write the samples; topics without events get no files.
pub async fn run(settings: &Settings, options: &SampleOptions) -> Result<Vec<SampleFile>> {
    if settings.dispatcher_events.is_empty() {
        anyhow::bail!("BK__DISPATCHER_EVENTS is not set: the dispatcher's base URL is required");
    }
    std::fs::create_dir_all(&options.out)
        .with_context(|| format!("creating {}", options.out.display()))?;
    let client = DispatcherClient::new(
        &settings.dispatcher_events,
        &settings.dispatcher_events,
        Duration::from_secs(u64::from(options.deadline_secs) + 60),
    )?;
    let mut written = Vec::new();
    for (source, model, action) in topics(settings) {
        let binary = model == Model::Binary;
        let mut request = FetchRequest {
            consumer: options.name.clone(),
            version: CONSUMER_VERSION.into(),
            model,
            source: binary.then(|| source.clone()),
            action: binary.then(|| action.clone()),
            count: options.count,
            deadline_secs: options.deadline_secs,
            deployment_key: settings.deployment_key.clone(),
        };
        let events = collect(&client, &mut request, options.count).await?;
        let stem = format!("{source}-{model}-{action}");
        if events.is_empty() {
            tracing::info!("{stem}: no events");
            continue;
        }
        let file = write(&options.out, &stem, model, &events)?;
        tracing::info!("{stem}: {} events → {}", file.events, file.avro.display());
        written.push(file);
    }
    Ok(written)
}
