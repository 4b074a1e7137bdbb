//! The settings reference: one row per setting with its default as an operator would write it
//! and its meaning. `azul-backup settings` prints it as the README's Markdown table, and tests
//! keep code, reference and README in step: every setting has a row, every documented default
//! is the real default, and the README shows exactly this table.

/// How a default is documented.
#[derive(Debug, Clone, Copy)]
pub enum Documented {
    /// A value that, given as the setting, yields the built-in default (checked by a test).
    Value(&'static str),
    /// A default that depends on other settings, in words.
    Described(&'static str),
}

#[derive(Debug, Clone, Copy)]
pub struct SettingDoc {
    /// The dotted name (`external_backup.endpoint`); the environment variable is derived.
    pub key: &'static str,
    pub default: Documented,
    pub meaning: &'static str,
}

use Documented::{Described, Value};

const fn row(key: &'static str, default: Documented, meaning: &'static str) -> SettingDoc {
    SettingDoc {
        key,
        default,
        meaning,
    }
}

/// Every setting, in the order the README lists them.
pub const SETTINGS: &[SettingDoc] = &[
    row(
        "dispatcher_events",
        Value(""),
        "dispatcher base URL for events (required)",
    ),
    row(
        "dispatcher_streams",
        Described("events URL"),
        "dispatcher base URL for streams",
    ),
    row(
        "external_backup.endpoint",
        Value(""),
        "S3 endpoint (`host:port` or URL); empty = local-directory store",
    ),
    row(
        "external_backup.access_key",
        Value(""),
        "static S3 key (else the default credential chain)",
    ),
    row(
        "external_backup.secret_key",
        Value(""),
        "static S3 secret; masked in the settings table",
    ),
    row(
        "external_backup.secure",
        Value("false"),
        "HTTPS for a `host:port` endpoint",
    ),
    row(
        "external_backup.region",
        Value(""),
        "S3 region (empty: us-east-1)",
    ),
    row(
        "external_backup.bucket",
        Value(""),
        "one shared bucket; the per-type bucket names become folders",
    ),
    row(
        "external_backup.multipart_threshold_mib",
        Value("128"),
        "uploads larger than this go multipart (smaller ones are one streamed PUT from disk)",
    ),
    row(
        "external_backup.multipart_part_mib",
        Value("64"),
        "multipart part size (at least 5 MiB)",
    ),
    row(
        "external_backup.response_timeout_secs",
        Value("120"),
        "longest wait from sending an S3 request to the first byte of its answer; then the attempt is retried",
    ),
    row(
        "external_backup.aes_state",
        Value(""),
        "`readonly` or empty; `enabled` is refused by `backup` (see AES); `.aesc1` objects are read whatever the value",
    ),
    row(
        "external_backup.aes_key",
        Value(""),
        "the original's AES key; masked in the settings table",
    ),
    row("bucket_name_prefix", Value("azul-backup-"), "bucket prefix"),
    row(
        "backup_id",
        Value("1"),
        "backup generation (bucket names, consumer names)",
    ),
    row(
        "sources",
        Value(""),
        "Azul sources YAML; `exclude_from_backup: true` skips a source, `expire_events_after` drives age-off",
    ),
    row(
        "event_batch_size",
        Value("1000"),
        "events per fetch and per bundle",
    ),
    row(
        "stream_routine_count",
        Value("20"),
        "stream workers (backup and restore)",
    ),
    row("stream_channel_size", Value("500"), "queue capacity"),
    row("retry_count", Value("5"), "attempts per operation"),
    row(
        "retry_average_delay_ms",
        Value("1000"),
        "base of the exponential backoff (with jitter)",
    ),
    row(
        "consecutive_backup_stream_failures",
        Value("5"),
        "consecutive stream failures on a worker after which the backup stops and records the rest",
    ),
    row(
        "checkpoint_binary_count",
        Value("1000"),
        "restore: streams per checkpoint",
    ),
    row(
        "restore_list_retry_count",
        Value("5"),
        "restore: attempts per listing of the backup",
    ),
    row(
        "restore_skip_existing_streams",
        Value("false"),
        "restore: skip streams the dispatcher already has (one HEAD each)",
    ),
    row("restore_type", Value("all"), "`all`, `streams` or `events`"),
    row(
        "enable_automatic_ageoff",
        Value("false"),
        "keep S3 lifecycle rules per source (see Age-off)",
    ),
    row(
        "enable_automatic_ageoff_cleanup",
        Value("false"),
        "with age-off off: remove those rules",
    ),
    row("deployment_key", Value("recovery"), "sent on event fetches"),
    row(
        "local_data.rootdir",
        Value("/tmp/azul_recovery"),
        "state directory (`backup/`, `restore/`, `verify/`, `drill/`, `wasm-cache/`)",
    ),
    row(
        "local_store.dir",
        Described("`<rootdir>/store`"),
        "local-directory store, when no S3 endpoint is set",
    ),
    row(
        "wasm_cache_dir",
        Described("`<rootdir>/wasm-cache`"),
        "compiled components (a restart or a swap back loads from here in milliseconds)",
    ),
    row(
        "fetch_deadline_secs",
        Value("30"),
        "long-poll deadline of a fetch",
    ),
    row(
        "flush_interval_ms",
        Value("600000"),
        "flush a consumer's events at least this often",
    ),
    row("dedupe_capacity", Value("16000"), "stream dedupe LRU size"),
    row(
        "verify_stream_sha256",
        Value("true"),
        "refuse a downloaded stream whose content does not hash to its sha256 (off only for a dispatcher serving placeholder content)",
    ),
    row(
        "metrics_addr",
        Value("0.0.0.0:8900"),
        "where `backup` and `restore` serve Prometheus `GET /metrics` (`ip:port`, Go's `:port`); empty = off",
    ),
    row(
        "guest_busy_limit_secs",
        Value("60"),
        "a component worker that runs this long without calling the host is stopped as hung",
    ),
    row(
        "worker_restart_budget",
        Value("3"),
        "times a trapped component worker is started again; past it the run stops cleanly (exit 1)",
    ),
    row(
        "component_watch_interval_ms",
        Value("2000"),
        "how often `backup`/`restore` look for a new component build to swap in; 0 = only on SIGHUP",
    ),
    row(
        "progress_interval_secs",
        Value("60"),
        "seconds between progress lines (totals, rates; done/total and ETA for restore and verify)",
    ),
];

/// `external_backup.endpoint` → `BK__EXTERNAL_BACKUP__ENDPOINT`.
pub fn env_name(key: &str) -> String {
    format!("BK__{}", key.replace('.', "__").to_uppercase())
}

/// The original's log settings (bedrock's `BED__` prefix), and our finer filter.
const LOG_ROWS: &str = "\
| `BED__LOG_LEVEL` | `INFO` | TRACE, DEBUG, INFO, WARN or ERROR |
| `BED__LOG_PRETTY` | `true` | readable log lines on stderr (coloured on a terminal); `false`: one JSON object per line |
| `AZUL_LOG` | unset | log filter in tracing `EnvFilter` syntax (e.g. `info,azul_backup::swap=debug`); overrides `BED__LOG_LEVEL` |
";

/// The README's settings table.
pub fn markdown() -> String {
    let mut out = String::from("| Variable | Default | Meaning |\n|---|---|---|\n");
    for s in SETTINGS {
        let default = match s.default {
            Value("") => "\"\"".to_string(),
            Value(v) => format!("`{v}`"),
            Described(words) => words.to_string(),
        };
        out.push_str(&format!(
            "| `{}` | {default} | {} |\n",
            env_name(s.key),
            s.meaning
        ));
    }
    out.push_str(LOG_ROWS);
    out
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};

    use super::*;
    use crate::settings::{KEYS, Settings};

    #[test]
    fn every_setting_has_one_row() {
        let documented: Vec<&str> = SETTINGS.iter().map(|s| s.key).collect();
        let unique: BTreeSet<&str> = documented.iter().copied().collect();
        assert_eq!(unique.len(), documented.len(), "a setting documented twice");
        let known: BTreeSet<&str> = KEYS.iter().copied().collect();
        assert_eq!(unique, known, "documented vs known settings");
    }

    #[test]
    fn documented_defaults_are_the_defaults() {
        for s in SETTINGS {
            let Value(value) = s.default else { continue };
            let env = HashMap::from([(env_name(s.key), value.to_string())]);
            let (parsed, warnings) = Settings::from_map(&env)
                .unwrap_or_else(|e| panic!("{}: documented default {value:?}: {e}", s.key));
            assert!(warnings.is_empty(), "{}: {warnings:?}", s.key);
            assert_eq!(
                parsed,
                Settings::default(),
                "{}: documented default {value:?}",
                s.key
            );
        }
    }

    #[test]
    fn the_readme_shows_this_table() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
            .expect("README.md");
        let (begin, end) = ("<!-- settings:begin -->\n", "<!-- settings:end -->");
        let start = readme.find(begin).expect("settings:begin marker") + begin.len();
        let stop = readme.find(end).expect("settings:end marker");
        assert_eq!(
            &readme[start..stop],
            markdown(),
            "the README's settings table is out of date: paste `azul-backup settings`"
        );
    }
}
