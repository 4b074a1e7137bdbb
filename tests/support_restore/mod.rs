//! Helpers for the restore integration tests (`restore_*.rs`): the S3 server they need
//! (skipping loudly without it, failing under `CI`), the environment an operator gives
//! `azul-backup restore`, running the real binary (to completion, or in the background to
//! signal or kill it), and reading back what a run reported (stats table, restore state
//! files). Buckets and backup objects, synthetic events, the dispatcher emulator and a
//! recording HTTP proxy live in the submodules.

// Every test file uses its own subset of these helpers.
#![allow(dead_code)]

pub mod buckets;
pub mod dispatcher;
pub mod events;
pub mod fixture;
pub mod proxy;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::task::JoinHandle;

/// The longest any single `azul-backup` run of a test may take.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(300);

/// Bucket prefix of every backup these tests restore from.
pub const BUCKET_PREFIX: &str = "rst-";

// What every integration test shares (S3 discovery, skipping, components, unique ids).
#[path = "../common/mod.rs"]
mod common;
#[allow(unused_imports)] // each test file uses its own subset
pub use common::{
    S3, SHARED_WASM_CACHE, component, s3_or_skip, skip_or_fail, unique_id as unique_backup_id,
};

/// `BK__SOURCES` naming `sources`, all backed up.
pub fn sources_yaml(sources: &[&str]) -> String {
    let mut yaml = String::from("sources:\n");
    for source in sources {
        yaml.push_str(&format!("  {source}: {{}}\n"));
    }
    yaml
}

/// The environment of one `azul-backup` invocation, as an operator would set it.
#[derive(Debug, Clone)]
pub struct RunEnv {
    vars: BTreeMap<String, String>,
    pub rootdir: PathBuf,
    pub backup_id: String,
}

impl RunEnv {
    /// A run against `dispatcher` (events and streams) with the backup `backup_id` in S3,
    /// state under `rootdir`. Retries are quick so that failures show within seconds.
    pub fn new(
        s3: &S3,
        dispatcher: &str,
        rootdir: &Path,
        sources: &[&str],
        backup_id: &str,
    ) -> Self {
        let env = RunEnv {
            vars: BTreeMap::new(),
            rootdir: rootdir.to_path_buf(),
            backup_id: backup_id.to_string(),
        };
        env.with("BK__DISPATCHER_EVENTS", dispatcher)
            .with("BK__DISPATCHER_STREAMS", dispatcher)
            .with("BK__EXTERNAL_BACKUP__ENDPOINT", &s3.endpoint)
            .with("BK__EXTERNAL_BACKUP__ACCESS_KEY", &s3.access_key)
            .with("BK__EXTERNAL_BACKUP__SECRET_KEY", &s3.secret_key)
            .with("BK__EXTERNAL_BACKUP__REGION", "us-east-1")
            .with("BK__BUCKET_NAME_PREFIX", BUCKET_PREFIX)
            .with("BK__BACKUP_ID", backup_id)
            .with("BK__LOCAL_DATA__ROOTDIR", rootdir.display())
            .with("BK__SOURCES", sources_yaml(sources))
            .with("BK__RETRY_COUNT", 3)
            .with("BK__RETRY_AVERAGE_DELAY_MS", 20)
            .with("BK__STREAM_ROUTINE_COUNT", 4)
            .with("BK__FETCH_DEADLINE_SECS", 1)
            // An ephemeral port: tests run side by side, the default 8900 would collide.
            .with("BK__METRICS_ADDR", "127.0.0.1:0")
            // Components are compiled once for all tests, not once per state directory.
            .with("BK__WASM_CACHE_DIR", SHARED_WASM_CACHE)
    }

    pub fn with(mut self, key: &str, value: impl ToString) -> Self {
        self.vars.insert(key.to_string(), value.to_string());
        self
    }

    pub fn var(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }

    /// The same backup seen from another dispatcher and state directory (e.g. the restore
    /// side of a backup run).
    pub fn elsewhere(&self, dispatcher: &str, rootdir: &Path) -> Self {
        let mut env = self
            .clone()
            .with("BK__DISPATCHER_EVENTS", dispatcher)
            .with("BK__DISPATCHER_STREAMS", dispatcher)
            .with("BK__LOCAL_DATA__ROOTDIR", rootdir.display());
        env.rootdir = rootdir.to_path_buf();
        env
    }

    /// `BK__RETRY_COUNT` as set.
    pub fn retry_count(&self) -> usize {
        self.var("BK__RETRY_COUNT")
            .and_then(|v| v.parse().ok())
            .expect("BK__RETRY_COUNT is set")
    }

    pub fn events_bucket(&self) -> String {
        events_bucket(&self.backup_id)
    }

    pub fn streams_bucket(&self) -> String {
        streams_bucket(&self.backup_id)
    }

    /// A file of the restore state directory (`<rootdir>/restore/<name>`).
    pub fn restore_file(&self, name: &str) -> PathBuf {
        self.rootdir.join("restore").join(name)
    }

    /// The content of a restore state file; `None` when it does not exist.
    pub fn restore_state(&self, name: &str) -> Option<String> {
        match std::fs::read_to_string(self.restore_file(name)) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => panic!("reading restore state file {name}: {e}"),
        }
    }

    /// The non-empty lines of a restore state file; none when it does not exist.
    pub fn restore_lines(&self, name: &str) -> Vec<String> {
        self.restore_state(name)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(String::from)
            .collect()
    }

    /// The events cursor of a type: the last bundle key restored (`<source>-<model>-<action>.events`).
    pub fn events_cursor(&self, source: &str, model: &str, action: &str) -> Option<String> {
        self.restore_state(&format!("{source}-{model}-{action}.events"))
    }

    /// The streams checkpoint of a source (`<source>.stream`).
    pub fn streams_checkpoint(&self, source: &str) -> Option<String> {
        self.restore_state(&format!("{source}.stream"))
    }

    /// `restore-rejected.events`: one JSON object per refused event, skipped or unreadable bundle.
    pub fn rejected(&self) -> Vec<serde_json::Value> {
        self.restore_lines(REJECTED_FILE)
            .iter()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{REJECTED_FILE}: {l:?}: {e}"))
            })
            .collect()
    }

    /// `restore-failed.stream`: keys of the stream objects that could not be restored.
    pub fn failed_streams(&self) -> Vec<String> {
        self.restore_lines(FAILED_STREAMS_FILE)
    }
}

pub const REJECTED_FILE: &str = "restore-rejected.events";
pub const FAILED_STREAMS_FILE: &str = "restore-failed.stream";

pub fn events_bucket(backup_id: &str) -> String {
    format!("{BUCKET_PREFIX}{backup_id}-events")
}

pub fn streams_bucket(backup_id: &str) -> String {
    format!("{BUCKET_PREFIX}{backup_id}-streams")
}

/// What a finished run left behind.
#[derive(Debug)]
pub struct Finished {
    pub args: Vec<String>,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn assert_success(&self) -> &Self {
        assert!(
            self.status.success(),
            "azul-backup {:?} failed ({}):\n{}",
            self.args,
            self.status,
            self.transcript()
        );
        self
    }

    /// The run ended by itself with a non-zero exit code (not killed by a signal).
    pub fn assert_failure(&self) -> &Self {
        assert!(
            !self.status.success() && self.status.code().is_some(),
            "azul-backup {:?} should have exited non-zero, got {}:\n{}",
            self.args,
            self.status,
            self.transcript()
        );
        self
    }

    /// Both output streams, for failure messages.
    pub fn transcript(&self) -> String {
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        )
    }

    /// The end-of-run `Restore stats:` table.
    pub fn restore_stats(&self) -> StatsTable {
        StatsTable::parse(&self.stdout, "Restore stats:")
            .unwrap_or_else(|| panic!("no restore stats table:\n{}", self.transcript()))
    }

    /// The last line starting with `error:` (the reason the process gives for failing).
    pub fn error_line(&self) -> String {
        self.stderr
            .lines()
            .rev()
            .find(|l| l.starts_with("error:"))
            .unwrap_or_else(|| panic!("no `error:` line:\n{}", self.transcript()))
            .to_string()
    }
}

/// Variables of the test's own environment a run still gets.
const PASSED_THROUGH: [&str; 4] = ["PATH", "HOME", "AZUL_LOG", "RUST_BACKTRACE"];

fn collect(
    pipe: impl AsyncRead + Unpin + Send + 'static,
    into: Arc<Mutex<String>>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut text = into.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    })
}

/// An `azul-backup` process running in the background; its output is collected as it comes.
pub struct Running {
    args: Vec<String>,
    child: tokio::process::Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl Running {
    pub fn start(args: &[&str], env: &RunEnv) -> Self {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_azul-backup"))
            .args(args)
            // Only what the test sets: settings from the caller's shell must not leak in.
            .env_clear()
            .envs(
                PASSED_THROUGH
                    .iter()
                    .filter_map(|k| Some((k, std::env::var_os(k)?))),
            )
            .envs(&env.vars)
            .env("AZUL_BACKUP_COMPONENT", component("guest_backup.wasm"))
            .env("AZUL_RESTORE_COMPONENT", component("guest_restore.wasm"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn azul-backup");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect(child.stdout.take().expect("piped stdout"), stdout.clone()),
            collect(child.stderr.take().expect("piped stderr"), stderr.clone()),
        ];
        Running {
            args: args.iter().map(|a| a.to_string()).collect(),
            child,
            stdout,
            stderr,
            readers,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("the process is still running")
    }

    /// Send a signal by name (`TERM`, `INT`), as an orchestrator would.
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args(["-s", name, &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {name} failed");
    }

    /// `kill -9`, and wait until the process is gone.
    pub async fn kill_hard(mut self) -> Finished {
        self.child.start_kill().expect("SIGKILL azul-backup");
        self.finish(Duration::from_secs(30)).await
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Wait for the process to exit by itself (killing it after `timeout`).
    pub async fn finish(mut self, timeout: Duration) -> Finished {
        let status = match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => status.expect("wait for azul-backup"),
            Err(_) => {
                let _ = self.child.kill().await;
                panic!(
                    "azul-backup {:?} did not finish within {timeout:?}:\n{}",
                    self.args,
                    self.stderr()
                );
            }
        };
        for reader in self.readers.drain(..) {
            let _ = reader.await;
        }
        Finished {
            args: self.args.clone(),
            status,
            stdout: self.stdout.lock().unwrap().clone(),
            stderr: self.stderr(),
        }
    }
}

/// Run `azul-backup args` to completion.
pub async fn run(args: &[&str], env: &RunEnv) -> Finished {
    Running::start(args, env).finish(RUN_TIMEOUT).await
}

/// `azul-backup restore` to completion.
pub async fn restore(env: &RunEnv) -> Finished {
    run(&["restore"], env).await
}

/// Poll `probe` until it yields a value; fail the test after `timeout`.
pub async fn eventually<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The end-of-run stats table: source → column → count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsTable(pub BTreeMap<String, BTreeMap<String, u64>>);

impl StatsTable {
    /// The table printed under `title` (`Restore stats:`), if there is one.
    pub fn parse(output: &str, title: &str) -> Option<Self> {
        let mut lines = output.lines().skip_while(|l| l.trim() != title).skip(1);
        let header: Vec<&str> = lines.next()?.split_whitespace().collect();
        let mut rows = BTreeMap::new();
        for line in lines {
            let cells: Vec<&str> = line.split_whitespace().collect();
            let counts: Option<Vec<u64>> = cells.iter().skip(1).map(|c| c.parse().ok()).collect();
            match counts {
                Some(counts) if cells.len() == header.len() => {
                    let row = header[1..]
                        .iter()
                        .map(|h| h.to_string())
                        .zip(counts)
                        .collect();
                    rows.insert(cells[0].to_string(), row);
                }
                _ => break,
            }
        }
        Some(StatsTable(rows))
    }

    /// A count; 0 when the source or column is absent.
    pub fn get(&self, source: &str, column: &str) -> u64 {
        self.0
            .get(source)
            .and_then(|row| row.get(column))
            .copied()
            .unwrap_or(0)
    }

    /// The restore columns of one source, in the original's table order.
    pub fn row(&self, source: &str) -> [u64; 6] {
        RESTORE_COLUMNS.map(|c| self.get(source, c))
    }
}

/// The original's restore table columns.
pub const RESTORE_COLUMNS: [&str; 6] = [
    "events-ok",
    "events-fail",
    "event-types-complete",
    "streams-ok",
    "streams-fail",
    "streams-complete",
];
