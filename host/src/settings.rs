//! Settings, compatible with the original: `BK__KEY` / `BK.KEY` environment variables
//! (nested keys joined by `__` or `.`), the same defaults, warnings for unknown keys, and a
//! masked start-up table. Command-line flags override the environment.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// Settings that cannot be used: the operator must fix the environment.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("setting {key} = {value:?} is not a valid {expected}")]
    Invalid {
        key: String,
        value: String,
        expected: &'static str,
    },
    #[error("bad sources load: {0}")]
    Sources(String),
    #[error("{0}")]
    Refused(String),
}

/// One configured Azul source (the fields of the sources YAML backup uses).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct SourceConfig {
    #[serde(default)]
    pub exclude_from_backup: bool,
    #[serde(default)]
    pub expire_events_after: Option<String>,
}

impl SourceConfig {
    /// Days after which Azul ages this source's events off (`"<n> days|weeks|months|years"`,
    /// with Azul's month = 30 and year = 365 days); `None` = kept forever (absent, empty, `"0"`).
    pub fn expire_days(&self) -> Result<Option<u64>, String> {
        let Some(text) = self.expire_events_after.as_deref() else {
            return Ok(None);
        };
        if text.is_empty() || text == "0" {
            return Ok(None);
        }
        let bad =
            || format!("expire_events_after {text:?} is not \"<number> days|weeks|months|years\"");
        let (n, unit) = text.split_once(' ').ok_or_else(bad)?;
        let n: u64 = n.parse().map_err(|_| bad())?;
        let per = match unit {
            "day" | "days" => 1,
            "week" | "weeks" => 7,
            "month" | "months" => 30,
            "year" | "years" => 365,
            _ => return Err(bad()),
        };
        Ok((n > 0).then_some(n * per))
    }
}

#[derive(Debug, Default, Deserialize)]
struct SourcesFile {
    #[serde(default)]
    sources: BTreeMap<String, Option<SourceConfig>>,
}

/// Every setting of the original (`RecoverySettings`), plus this project's own.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub bucket_name_prefix: String,
    pub backup_id: String,
    pub dispatcher_events: String,
    pub dispatcher_streams: String,
    pub s3_endpoint: String,
    pub s3_access_key: String,
    pub s3_secret_key: String,
    pub s3_secure: bool,
    pub s3_region: String,
    pub s3_bucket: String,
    /// Uploads larger than this many MiB go multipart, in parts of `s3_multipart_part_mib`.
    pub s3_multipart_threshold_mib: u64,
    pub s3_multipart_part_mib: u64,
    /// Longest wait for the first byte of an S3 answer before the attempt counts as failed.
    pub s3_response_timeout_secs: u64,
    pub stream_channel_size: u32,
    pub checkpoint_binary_count: u32,
    pub consecutive_backup_stream_failures: u32,
    pub retry_count: u32,
    pub retry_average_delay_ms: u64,
    pub restore_list_retry_count: u32,
    pub stream_routine_count: u32,
    pub local_data_rootdir: PathBuf,
    pub restore_type: String,
    pub deployment_key: String,
    pub sources: BTreeMap<String, SourceConfig>,
    pub event_batch_size: u32,
    pub restore_skip_existing_streams: bool,
    /// Where the local-directory store keeps its buckets when no S3 endpoint is set.
    pub local_store_dir: Option<PathBuf>,
    /// Where compiled components are cached (default `<rootdir>/wasm-cache`).
    pub wasm_cache_dir: Option<PathBuf>,
    /// Seconds a fetch may wait for events (the original: 30).
    pub fetch_deadline_secs: u32,
    /// Flush a consumer's events at least this often (the original: 10 minutes).
    pub flush_interval_ms: u64,
    pub dedupe_capacity: u32,
    /// Refuse streams whose content does not hash to their sha256 (see `RunContext`).
    pub verify_stream_sha256: bool,
    /// Where `backup` and `restore` serve Prometheus `/metrics`; none = not served.
    pub metrics_addr: Option<SocketAddr>,
    /// A component worker running this long without calling the host is stopped as hung.
    pub guest_busy_limit_secs: u64,
    /// How many times a trapped worker is started again before the run stops.
    pub worker_restart_budget: u32,
    /// How often `backup`/`restore` check their component file for a new build (hot swap);
    /// 0 = only on SIGHUP.
    pub component_watch_interval_ms: u64,
    /// Seconds between progress lines in the log.
    pub progress_interval_secs: u64,
    /// `enabled`, `readonly` or anything else (off), as the original; see [`Settings::check_aes`].
    pub aes_state: String,
    pub aes_key: String,
    pub enable_automatic_ageoff: bool,
    pub enable_automatic_ageoff_cleanup: bool,
}

/// The original's fixed metrics port, on every interface.
pub const DEFAULT_METRICS_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 8900);

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bucket_name_prefix: "azul-backup-".into(),
            backup_id: "1".into(),
            dispatcher_events: String::new(),
            dispatcher_streams: String::new(),
            s3_endpoint: String::new(),
            s3_access_key: String::new(),
            s3_secret_key: String::new(),
            s3_secure: false,
            s3_region: String::new(),
            s3_bucket: String::new(),
            s3_multipart_threshold_mib: 128,
            s3_multipart_part_mib: 64,
            s3_response_timeout_secs: 120,
            stream_channel_size: 500,
            checkpoint_binary_count: 1000,
            consecutive_backup_stream_failures: 5,
            retry_count: 5,
            retry_average_delay_ms: 1000,
            restore_list_retry_count: 5,
            stream_routine_count: 20,
            local_data_rootdir: PathBuf::from("/tmp/azul_recovery"),
            restore_type: "all".into(),
            deployment_key: "recovery".into(),
            sources: BTreeMap::new(),
            event_batch_size: 1000,
            restore_skip_existing_streams: false,
            local_store_dir: None,
            wasm_cache_dir: None,
            fetch_deadline_secs: 30,
            flush_interval_ms: 10 * 60 * 1000,
            dedupe_capacity: 16_000,
            verify_stream_sha256: true,
            metrics_addr: Some(DEFAULT_METRICS_ADDR),
            guest_busy_limit_secs: 60,
            worker_restart_budget: 3,
            component_watch_interval_ms: 2000,
            progress_interval_secs: 60,
            aes_state: String::new(),
            aes_key: String::new(),
            enable_automatic_ageoff: false,
            enable_automatic_ageoff_cleanup: false,
        }
    }
}

pub(crate) const KEYS: &[&str] = &[
    "bucket_name_prefix",
    "backup_id",
    "dispatcher_events",
    "dispatcher_streams",
    "external_backup.endpoint",
    "external_backup.access_key",
    "external_backup.secret_key",
    "external_backup.secure",
    "external_backup.region",
    "external_backup.bucket",
    "external_backup.aes_key",
    "external_backup.aes_state",
    "external_backup.multipart_threshold_mib",
    "external_backup.multipart_part_mib",
    "external_backup.response_timeout_secs",
    "stream_channel_size",
    "checkpoint_binary_count",
    "consecutive_backup_stream_failures",
    "retry_count",
    "retry_average_delay_ms",
    "restore_list_retry_count",
    "stream_routine_count",
    "local_data.rootdir",
    "restore_type",
    "deployment_key",
    "sources",
    "event_batch_size",
    "enable_automatic_ageoff",
    "enable_automatic_ageoff_cleanup",
    "restore_skip_existing_streams",
    "local_store.dir",
    "wasm_cache_dir",
    "fetch_deadline_secs",
    "flush_interval_ms",
    "dedupe_capacity",
    "verify_stream_sha256",
    "metrics_addr",
    "guest_busy_limit_secs",
    "worker_restart_budget",
    "component_watch_interval_ms",
    "progress_interval_secs",
];

/// `BK.A.B` and `BK__A__B` → `a.b`; the `__` form wins when both are given (as koanf loads it last).
fn collect(env: &HashMap<String, String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (style, sep) in [("BK.", "."), ("BK__", "__")] {
        for (k, v) in env {
            if let Some(rest) = k.strip_prefix(style) {
                out.insert(
                    rest.split(sep).collect::<Vec<_>>().join(".").to_lowercase(),
                    v.clone(),
                );
            }
        }
    }
    out
}

fn parse_num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, SettingsError> {
    v.trim().parse().map_err(|_| SettingsError::Invalid {
        key: key.into(),
        value: v.into(),
        expected: "number",
    })
}

/// Go's `strconv.ParseBool`.
fn parse_bool(key: &str, v: &str) -> Result<bool, SettingsError> {
    match v.trim() {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" | "" => Ok(false),
        _ => Err(SettingsError::Invalid {
            key: key.into(),
            value: v.into(),
            expected: "boolean",
        }),
    }
}

/// `ip:port`, or Go's `:port` for every interface; empty turns the listener off.
fn parse_listen_addr(key: &str, v: &str) -> Result<Option<SocketAddr>, SettingsError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let parsed = match v.strip_prefix(':') {
        Some(port) => port
            .parse()
            .ok()
            .map(|port| SocketAddr::new(DEFAULT_METRICS_ADDR.ip(), port)),
        None => v.parse().ok(),
    };
    parsed.map(Some).ok_or_else(|| SettingsError::Invalid {
        key: key.into(),
        value: v.into(),
        expected: "listen address (ip:port, or empty for none)",
    })
}

/// `a.b` for any spelling of a setting's name.
fn canonical_key(key: &str) -> String {
    let key = key
        .strip_prefix("BK__")
        .or_else(|| key.strip_prefix("BK."))
        .unwrap_or(key);
    key.replace("__", ".").to_lowercase()
}

/// Replaces every environment spelling of each overridden key with the override.
fn apply_overrides(
    env: &mut HashMap<String, String>,
    overrides: &[String],
) -> Result<(), SettingsError> {
    for item in overrides {
        let (key, value) = item.split_once('=').ok_or_else(|| SettingsError::Invalid {
            key: "--set".into(),
            value: item.clone(),
            expected: "KEY=VALUE pair",
        })?;
        let key = canonical_key(key.trim());
        env.retain(|k, _| {
            !(k.starts_with("BK__") || k.starts_with("BK.")) || canonical_key(k) != key
        });
        env.insert(format!("BK.{key}"), value.to_owned());
    }
    Ok(())
}

pub fn parse_sources(yaml: &str) -> Result<BTreeMap<String, SourceConfig>, SettingsError> {
    if yaml.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let file: SourcesFile =
        serde_yaml_ng::from_str(yaml).map_err(|e| SettingsError::Sources(e.to_string()))?;
    let sources: BTreeMap<String, SourceConfig> = file
        .sources
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect();
    for (name, source) in &sources {
        source
            .expire_days()
            .map_err(|e| SettingsError::Sources(format!("source {name}: {e}")))?;
    }
    Ok(sources)
}

impl Settings {
    /// Where compiled components are cached.
    pub fn wasm_cache(&self) -> PathBuf {
        self.wasm_cache_dir
            .clone()
            .unwrap_or_else(|| self.local_data_rootdir.join("wasm-cache"))
    }

    /// Read the process environment; returns the settings and warnings for unknown keys.
    pub fn from_env() -> Result<(Self, Vec<String>), SettingsError> {
        Self::from_map(&std::env::vars().collect())
    }

    /// The environment with command-line overrides (`KEY=VALUE`, the key in any of the forms
    /// `BK__A__B`, `BK.A.B`, `a.b`, `a__b`) applied on top.
    pub fn from_env_with(overrides: &[String]) -> Result<(Self, Vec<String>), SettingsError> {
        let mut env: HashMap<String, String> = std::env::vars().collect();
        apply_overrides(&mut env, overrides)?;
        Self::from_map(&env)
    }

    pub fn from_map(env: &HashMap<String, String>) -> Result<(Self, Vec<String>), SettingsError> {
        let mut s = Settings::default();
        let mut warnings = Vec::new();
        for (key, v) in collect(env) {
            let k = key.as_str();
            match k {
                "bucket_name_prefix" => s.bucket_name_prefix = v,
                "backup_id" => s.backup_id = v,
                "dispatcher_events" => s.dispatcher_events = v,
                "dispatcher_streams" => s.dispatcher_streams = v,
                "external_backup.endpoint" => s.s3_endpoint = v,
                "external_backup.access_key" => s.s3_access_key = v,
                "external_backup.secret_key" => s.s3_secret_key = v,
                "external_backup.secure" => s.s3_secure = parse_bool(k, &v)?,
                "external_backup.region" => s.s3_region = v,
                "external_backup.bucket" => s.s3_bucket = v,
                "external_backup.multipart_threshold_mib" => {
                    s.s3_multipart_threshold_mib = parse_num(k, &v)?
                }
                "external_backup.multipart_part_mib" => s.s3_multipart_part_mib = parse_num(k, &v)?,
                "external_backup.response_timeout_secs" => {
                    s.s3_response_timeout_secs = parse_num(k, &v)?
                }
                "stream_channel_size" => s.stream_channel_size = parse_num(k, &v)?,
                "checkpoint_binary_count" => s.checkpoint_binary_count = parse_num(k, &v)?,
                "consecutive_backup_stream_failures" => {
                    s.consecutive_backup_stream_failures = parse_num(k, &v)?
                }
                "retry_count" => s.retry_count = parse_num(k, &v)?,
                "retry_average_delay_ms" => s.retry_average_delay_ms = parse_num(k, &v)?,
                "restore_list_retry_count" => s.restore_list_retry_count = parse_num(k, &v)?,
                "stream_routine_count" => s.stream_routine_count = parse_num(k, &v)?,
                "local_data.rootdir" => s.local_data_rootdir = PathBuf::from(v),
                "restore_type" => s.restore_type = v,
                "deployment_key" => s.deployment_key = v,
                "sources" => s.sources = parse_sources(&v)?,
                "event_batch_size" => s.event_batch_size = parse_num(k, &v)?,
                "restore_skip_existing_streams" => {
                    s.restore_skip_existing_streams = parse_bool(k, &v)?
                }
                "local_store.dir" => s.local_store_dir = Some(PathBuf::from(v)),
                "wasm_cache_dir" => s.wasm_cache_dir = Some(PathBuf::from(v)),
                "fetch_deadline_secs" => s.fetch_deadline_secs = parse_num(k, &v)?,
                "flush_interval_ms" => s.flush_interval_ms = parse_num(k, &v)?,
                "dedupe_capacity" => s.dedupe_capacity = parse_num(k, &v)?,
                "verify_stream_sha256" => s.verify_stream_sha256 = parse_bool(k, &v)?,
                "metrics_addr" => s.metrics_addr = parse_listen_addr(k, &v)?,
                "guest_busy_limit_secs" => s.guest_busy_limit_secs = parse_num(k, &v)?,
                "worker_restart_budget" => s.worker_restart_budget = parse_num(k, &v)?,
                "component_watch_interval_ms" => s.component_watch_interval_ms = parse_num(k, &v)?,
                "progress_interval_secs" => s.progress_interval_secs = parse_num(k, &v)?,
                "external_backup.aes_state" => s.aes_state = v,
                "external_backup.aes_key" => s.aes_key = v,
                "enable_automatic_ageoff" => s.enable_automatic_ageoff = parse_bool(k, &v)?,
                "enable_automatic_ageoff_cleanup" => {
                    s.enable_automatic_ageoff_cleanup = parse_bool(k, &v)?
                }
                k if KEYS.contains(&k) => warnings.push(format!(
                    "setting BK.{} is accepted but not used yet",
                    k.to_uppercase()
                )),
                _ => warnings.push(format!(
                    "WARNING unknown config option supplied (check spelling): BK.{}",
                    key.to_uppercase()
                )),
            }
        }
        Ok((s, warnings))
    }

    /// Backups are never written under the original's `.aesc1` names: its AES wrapper stored the
    /// payload in clear behind that name (it never encrypted), so `enabled` would promise
    /// encryption that does not happen. Reading such objects needs no key and always works.
    pub fn check_aes_for_backup(&self) -> Result<(), SettingsError> {
        if self.aes_state.trim() == "enabled" {
            return Err(SettingsError::Refused(
                "BK__EXTERNAL_BACKUP__AES_STATE=enabled is refused: the original's AES wrapper \
                 stored data unencrypted under .aesc1 names, and this service does not imitate \
                 that. Objects the original wrote that way are read without any setting; \
                 encrypt at rest with the bucket's server-side encryption instead, and set \
                 AES_STATE to readonly, disabled or leave it empty"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Sources to back up: configured and not excluded, in name order.
    pub fn backup_sources(&self) -> Vec<String> {
        self.sources
            .iter()
            .filter(|(_, c)| !c.exclude_from_backup)
            .map(|(n, _)| n.clone())
            .collect()
    }

    pub fn events_bucket(&self) -> String {
        format!("{}{}-events", self.bucket_name_prefix, self.backup_id)
    }

    pub fn streams_bucket(&self) -> String {
        format!("{}{}-streams", self.bucket_name_prefix, self.backup_id)
    }

    /// The start-up table: `env-key  value`, secrets masked, long values shortened.
    pub fn table(&self) -> String {
        let rows = [
            ("BK__BUCKET_NAME_PREFIX", self.bucket_name_prefix.clone()),
            ("BK__BACKUP_ID", self.backup_id.clone()),
            ("BK__DISPATCHER_EVENTS", self.dispatcher_events.clone()),
            ("BK__DISPATCHER_STREAMS", self.dispatcher_streams.clone()),
            ("BK__EXTERNAL_BACKUP__ENDPOINT", self.s3_endpoint.clone()),
            (
                "BK__EXTERNAL_BACKUP__ACCESS_KEY",
                self.s3_access_key.clone(),
            ),
            (
                "BK__EXTERNAL_BACKUP__SECRET_KEY",
                self.s3_secret_key.clone(),
            ),
            ("BK__EXTERNAL_BACKUP__REGION", self.s3_region.clone()),
            ("BK__EXTERNAL_BACKUP__BUCKET", self.s3_bucket.clone()),
            ("BK__EXTERNAL_BACKUP__AES_STATE", self.aes_state.clone()),
            ("BK__EXTERNAL_BACKUP__AES_KEY", self.aes_key.clone()),
            (
                "BK__ENABLE_AUTOMATIC_AGEOFF",
                self.enable_automatic_ageoff.to_string(),
            ),
            (
                "BK__ENABLE_AUTOMATIC_AGEOFF_CLEANUP",
                self.enable_automatic_ageoff_cleanup.to_string(),
            ),
            (
                "BK__LOCAL_DATA__ROOTDIR",
                self.local_data_rootdir.display().to_string(),
            ),
            ("BK__EVENT_BATCH_SIZE", self.event_batch_size.to_string()),
            (
                "BK__STREAM_ROUTINE_COUNT",
                self.stream_routine_count.to_string(),
            ),
            ("BK__RETRY_COUNT", self.retry_count.to_string()),
            (
                "BK__METRICS_ADDR",
                self.metrics_addr.map(|a| a.to_string()).unwrap_or_default(),
            ),
            (
                "BK__SOURCES",
                format!("{:?}", self.sources.keys().collect::<Vec<_>>()),
            ),
        ];
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        rows.iter()
            .map(|(k, v)| {
                let lower = k.to_lowercase();
                let shown = if ["secret", "access_key", "password", "aes_key"]
                    .iter()
                    .any(|m| lower.contains(m))
                    && !v.is_empty()
                {
                    "****".to_string()
                } else if v.len() > 100 {
                    format!("len({})", v.len())
                } else {
                    v.clone()
                };
                format!("{k:<width$}  {shown}")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_match_the_original() {
        let (s, warnings) = Settings::from_map(&HashMap::new()).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(
            (
                s.event_batch_size,
                s.stream_routine_count,
                s.stream_channel_size,
                s.retry_count
            ),
            (1000, 20, 500, 5)
        );
        assert_eq!(s.events_bucket(), "azul-backup-1-events");
        assert_eq!(s.streams_bucket(), "azul-backup-1-streams");
        assert_eq!(s.local_data_rootdir, PathBuf::from("/tmp/azul_recovery"));
    }

    #[test]
    fn both_env_styles_and_unknown_keys() {
        let (s, warnings) = Settings::from_map(&env(&[
            ("BK.DISPATCHER_EVENTS", "http://a"),
            ("BK__EXTERNAL_BACKUP__ENDPOINT", "s3:9000"),
            ("BK__EVENT_BATCH_SIZE", "20"),
            ("BK__BACKUP_IDD", "2"),
            (
                "BK__SOURCES",
                "sources:\n  samples: {}\n  testing:\n    exclude_from_backup: true\n",
            ),
        ]))
        .unwrap();
        assert_eq!(s.dispatcher_events, "http://a");
        assert_eq!(s.s3_endpoint, "s3:9000");
        assert_eq!(s.event_batch_size, 20);
        assert_eq!(s.backup_sources(), vec!["samples".to_string()]);
        assert_eq!(
            warnings,
            vec![
                "WARNING unknown config option supplied (check spelling): BK.BACKUP_IDD"
                    .to_string()
            ]
        );
    }

    #[test]
    fn bad_values_are_named() {
        let err = Settings::from_map(&env(&[("BK__RETRY_COUNT", "five")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "setting retry_count = \"five\" is not a valid number"
        );
        assert!(Settings::from_map(&env(&[("BK__SOURCES", "sources: [")])).is_err());
    }

    #[test]
    fn metrics_address_defaults_parses_and_turns_off() {
        let (s, _) = Settings::from_map(&HashMap::new()).unwrap();
        assert_eq!(s.metrics_addr, Some("0.0.0.0:8900".parse().unwrap()));
        let (s, _) = Settings::from_map(&env(&[("BK__METRICS_ADDR", "127.0.0.1:0")])).unwrap();
        assert_eq!(s.metrics_addr, Some("127.0.0.1:0".parse().unwrap()));
        assert!(s.table().contains("BK__METRICS_ADDR"));
        let (s, _) = Settings::from_map(&env(&[("BK__METRICS_ADDR", "")])).unwrap();
        assert_eq!(s.metrics_addr, None);
        let (s, _) = Settings::from_map(&env(&[("BK__METRICS_ADDR", ":9100")])).unwrap();
        assert_eq!(s.metrics_addr, Some("0.0.0.0:9100".parse().unwrap()));
        let err = Settings::from_map(&env(&[("BK__METRICS_ADDR", "localhost")])).unwrap_err();
        assert!(err.to_string().contains("metrics_addr"), "{err}");
    }

    #[test]
    fn overrides_win_over_every_environment_spelling() {
        let mut vars = env(&[
            ("BK__EVENT_BATCH_SIZE", "5"),
            ("BK.EVENT_BATCH_SIZE", "6"),
            ("BK__EXTERNAL_BACKUP__ENDPOINT", "a:1"),
            ("BK__BACKUP_ID", "7"),
        ]);
        let overrides = [
            "event_batch_size=20".to_string(),
            "BK__EXTERNAL_BACKUP__ENDPOINT=b:2".to_string(),
            "external_backup.region=eu".to_string(),
        ];
        apply_overrides(&mut vars, &overrides).unwrap();
        let (s, warnings) = Settings::from_map(&vars).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(s.event_batch_size, 20);
        assert_eq!(s.s3_endpoint, "b:2");
        assert_eq!(s.s3_region, "eu");
        assert_eq!(s.backup_id, "7");
        let err = apply_overrides(&mut vars, &["event_batch_size".to_string()]).unwrap_err();
        assert!(err.to_string().contains("KEY=VALUE"), "{err}");
    }

    #[test]
    fn expiry_follows_azul_and_bad_expiry_is_refused() {
        let days = |text: &str| {
            SourceConfig {
                expire_events_after: Some(text.into()),
                ..Default::default()
            }
            .expire_days()
        };
        assert_eq!(days("7 days"), Ok(Some(7)));
        assert_eq!(days("3 months"), Ok(Some(90)));
        assert_eq!(days("2 weeks"), Ok(Some(14)));
        assert_eq!(days("1 year"), Ok(Some(365)));
        assert_eq!(days("0"), Ok(None));
        assert_eq!(days(""), Ok(None));
        let Some(reference) = crate::avro::fixtures::reference_dir() else {
            return;
        };
        let dir = reference.join("bedrock/testdata/sources");
        let good = std::fs::read_to_string(dir.join("sources1.yaml")).unwrap();
        assert!(parse_sources(&good).is_ok());
        let mut bad = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.to_string_lossy().contains("bad_expiry") {
                let err = parse_sources(&std::fs::read_to_string(&path).unwrap()).unwrap_err();
                assert!(err.to_string().contains("expire_events_after"), "{err}");
                bad += 1;
            }
        }
        assert_eq!(bad, 4, "Azul's four bad-expiry sources files");
    }

    #[test]
    fn aes_enabled_is_refused_for_backup_and_the_key_is_masked() {
        let (s, _) = Settings::from_map(&env(&[
            ("BK__EXTERNAL_BACKUP__AES_STATE", "enabled"),
            ("BK__EXTERNAL_BACKUP__AES_KEY", "0123456789abcdef01234567"),
        ]))
        .unwrap();
        let err = s.check_aes_for_backup().unwrap_err();
        assert!(
            err.to_string().contains("AES_STATE=enabled is refused"),
            "{err}"
        );
        assert!(!s.table().contains("0123456789abcdef"));
        let (s, _) =
            Settings::from_map(&env(&[("BK__EXTERNAL_BACKUP__AES_STATE", "readonly")])).unwrap();
        assert!(s.check_aes_for_backup().is_ok());
    }

    #[test]
    fn secrets_are_masked() {
        let (s, _) =
            Settings::from_map(&env(&[("BK__EXTERNAL_BACKUP__SECRET_KEY", "hunter2")])).unwrap();
        assert!(s.table().contains("****"));
        assert!(!s.table().contains("hunter2"));
    }
}
