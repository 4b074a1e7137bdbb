//! Helpers shared by the integration tests in this folder: the S3 server they need (skipping
//! loudly without it, failing under `CI`), the environment an operator would give
//! `azul-backup`, running the real binary (to completion, or in the background to signal or
//! kill it), polling for a condition, and reading back what a run reported (stats table,
//! Prometheus metrics, state files). Bucket and fixture access live in the submodules.

// Every test file uses its own subset of these helpers.
#![allow(dead_code)]

pub mod emulator;
pub mod samples;
pub mod store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use azul_backup::objectstore::S3Config;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::task::JoinHandle;

/// The longest any single `azul-backup` run of a test may take.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(300);

/// Where the S3 server of `scripts/start-s3.sh` is.
#[derive(Debug, Clone)]
pub struct S3 {
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
}

impl S3 {
    pub fn config(&self) -> S3Config {
        S3Config {
            endpoint: self.endpoint.clone(),
            secure: false,
            access_key: self.access_key.clone(),
            secret_key: self.secret_key.clone(),
            region: "us-east-1".into(),
            response_timeout: None,
        }
    }
}

/// A test that cannot run here says so loudly, unless it runs under CI, where it must not
/// pass without having run.
pub fn skip_or_fail(test: &str, why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{test}: {why} (required under CI)");
    }
    eprintln!("SKIPPED {test}: {why}");
}

pub fn s3_or_skip(test: &str) -> Option<S3> {
    match std::env::var("S3_ENDPOINT") {
        Ok(endpoint) => Some(S3 {
            endpoint,
            access_key: std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_default(),
            secret_key: std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_default(),
        }),
        Err(_) => {
            skip_or_fail(
                test,
                "S3_ENDPOINT not set (run `. scripts/start-s3.sh` first)",
            );
            None
        }
    }
}

/// A built component of `scripts/build-guests.sh`.
pub fn component(file: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/wasm32-wasip2/guest")
        .join(file);
    assert!(
        path.exists(),
        "{} is missing: build the components with scripts/build-guests.sh",
        path.display()
    );
    path
}

/// A backup id no other test (or earlier run) uses, so buckets and consumer groups are fresh.
pub fn unique_id() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_micros();
    format!("{micros}{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// `BK__SOURCES`: `included` are backed up, `excluded` carry `exclude_from_backup: true`.
pub fn sources_yaml(included: &[&str], excluded: &[&str]) -> String {
    let mut yaml = String::from("sources:\n");
    for source in included {
        yaml.push_str(&format!("  {source}: {{}}\n"));
    }
    for source in excluded {
        yaml.push_str(&format!("  {source}:\n    exclude_from_backup: true\n"));
    }
    yaml
}

/// Compiled components, shared by every test run of this target directory: each test has a
/// state directory of its own, and compiling the components for each would cost seconds.
pub const SHARED_WASM_CACHE: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/wasm-cache");

/// The environment of one `azul-backup` invocation, as an operator would set it.
#[derive(Debug, Clone)]
pub struct BackupEnv {
    vars: BTreeMap<String, String>,
    pub rootdir: PathBuf,
    pub bucket_prefix: String,
    pub backup_id: String,
}

impl BackupEnv {
    /// Only a state directory (and the local-directory store under it): enough for the
    /// maintenance commands and for settings checks.
    pub fn offline(rootdir: &Path) -> Self {
        let backup_id = unique_id();
        let env = BackupEnv {
            vars: BTreeMap::new(),
            rootdir: rootdir.to_path_buf(),
            bucket_prefix: "it-".into(),
            backup_id: backup_id.clone(),
        };
        env.with("BK__LOCAL_DATA__ROOTDIR", rootdir.display())
            .with("BK__BUCKET_NAME_PREFIX", "it-")
            .with("BK__BACKUP_ID", backup_id)
            // An ephemeral port: tests run side by side, the default 8900 would collide.
            .with("BK__METRICS_ADDR", "127.0.0.1:0")
            .with("BK__WASM_CACHE_DIR", SHARED_WASM_CACHE)
    }

    /// A backup of `dispatcher` into S3 under fresh bucket names, with short fetch deadlines
    /// and retry delays so that idle consumers and failures show up within seconds.
    pub fn new(s3: &S3, dispatcher: &str, rootdir: &Path, sources_yaml: &str) -> Self {
        BackupEnv::offline(rootdir)
            .with("BK__DISPATCHER_EVENTS", dispatcher)
            .with("BK__DISPATCHER_STREAMS", dispatcher)
            .with("BK__EXTERNAL_BACKUP__ENDPOINT", &s3.endpoint)
            .with("BK__EXTERNAL_BACKUP__ACCESS_KEY", &s3.access_key)
            .with("BK__EXTERNAL_BACKUP__SECRET_KEY", &s3.secret_key)
            .with("BK__EXTERNAL_BACKUP__REGION", "us-east-1")
            .with("BK__SOURCES", sources_yaml)
            .with("BK__FETCH_DEADLINE_SECS", 1)
            .with("BK__RETRY_AVERAGE_DELAY_MS", 20)
            .with("BK__STREAM_ROUTINE_COUNT", 4)
    }

    pub fn with(mut self, key: &str, value: impl ToString) -> Self {
        self.vars.insert(key.to_string(), value.to_string());
        self
    }

    /// The variables as set, for running the host in-process.
    pub fn vars(&self) -> &BTreeMap<String, String> {
        &self.vars
    }

    pub fn without(mut self, key: &str) -> Self {
        self.vars.remove(key);
        self
    }

    pub fn events_bucket(&self) -> String {
        format!("{}{}-events", self.bucket_prefix, self.backup_id)
    }

    pub fn streams_bucket(&self) -> String {
        format!("{}{}-streams", self.bucket_prefix, self.backup_id)
    }

    /// A file of the backup state directory (`<rootdir>/backup/<name>`).
    pub fn state_file(&self, name: &str) -> PathBuf {
        self.rootdir.join("backup").join(name)
    }

    /// The non-empty lines of a state file; none when it does not exist.
    pub fn state_lines(&self, name: &str) -> Vec<String> {
        match std::fs::read_to_string(self.state_file(name)) {
            Ok(text) => text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(String::from)
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => panic!("reading state file {name}: {e}"),
        }
    }

    /// Stream requests still outstanding in `streams.journal` (`+item` / `-item` records).
    pub fn journal_outstanding(&self) -> Vec<String> {
        let mut pending: BTreeMap<String, i64> = BTreeMap::new();
        for line in self.state_lines("streams.journal") {
            if let Some(item) = line.strip_prefix('+') {
                *pending.entry(item.to_string()).or_default() += 1;
            } else if let Some(item) = line.strip_prefix('-') {
                *pending.entry(item.to_string()).or_default() -= 1;
            }
        }
        pending
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(item, _)| item)
            .collect()
    }
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

    /// Both output streams, for failure messages.
    pub fn transcript(&self) -> String {
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        )
    }

    /// The end-of-run `Backup stats:` table.
    pub fn backup_stats(&self) -> StatsTable {
        StatsTable::parse(&self.stdout, "Backup stats:")
            .unwrap_or_else(|| panic!("no backup stats table:\n{}", self.transcript()))
    }
}

/// An `azul-backup` process running in the background; its output is collected as it comes.
pub struct RunningBackup {
    args: Vec<String>,
    child: tokio::process::Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

/// Variables of the test's own environment a run still gets.
const PASSED_THROUGH: [&str; 4] = ["PATH", "HOME", "AZUL_LOG", "RUST_BACKTRACE"];

/// Remove terminal colour sequences, in case the log writer adds them.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn collect(
    pipe: impl AsyncRead + Unpin + Send + 'static,
    into: Arc<Mutex<String>>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut text = into.lock().unwrap();
            text.push_str(&strip_ansi(&line));
            text.push('\n');
        }
    })
}

impl RunningBackup {
    pub fn start(args: &[&str], env: &BackupEnv) -> Self {
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
        RunningBackup {
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

    /// The process's peak resident set size so far (`VmHWM`), in KiB; `None` once it has
    /// exited.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Whether the process has exited (`finish` still reports how).
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The address of the run's Prometheus endpoint, from its start-up log.
    pub async fn metrics_addr(&self) -> String {
        eventually(
            "the metrics endpoint to be logged",
            Duration::from_secs(60),
            async || {
                let stderr = self.stderr();
                let line = stderr
                    .lines()
                    .find(|l| l.contains("serving Prometheus metrics"))?;
                let addr = line.split("addr=").nth(1)?.split_whitespace().next()?;
                Some(addr.to_string())
            },
        )
        .await
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
pub async fn run(args: &[&str], env: &BackupEnv) -> Finished {
    RunningBackup::start(args, env).finish(RUN_TIMEOUT).await
}

/// Poll `probe` until it yields a value; fail the test after `timeout`.
pub async fn eventually<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The end-of-run stats table: source → column → count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsTable(pub BTreeMap<String, BTreeMap<String, u64>>);

impl StatsTable {
    /// The table printed under `title` (`Backup stats:`), if there is one.
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

    pub fn get(&self, source: &str, column: &str) -> u64 {
        self.0
            .get(source)
            .and_then(|row| row.get(column))
            .copied()
            .unwrap_or(0)
    }
}

/// Incompressible bytes (xorshift64*), quickly and different for every `seed`: stream
/// contents that defeat gzip.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d);
    let mut data = vec![0u8; len];
    for chunk in data.chunks_mut(8) {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let word = state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    data
}

/// One scrape of a run's `/metrics`.
pub async fn scrape(addr: &str) -> String {
    azul_backup::tls::install_default_provider();
    reqwest::get(format!("http://{addr}/metrics"))
        .await
        .and_then(|r| r.error_for_status())
        .expect("scrape /metrics")
        .text()
        .await
        .expect("read /metrics")
}

/// The value of the series `name{labels}` in a text exposition, if present.
pub fn metric(exposition: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
                && labels
                    .iter()
                    .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}
