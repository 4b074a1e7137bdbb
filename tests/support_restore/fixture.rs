//! One restore under test: a backup written directly into fresh buckets, a fresh destination
//! dispatcher behind a recording proxy, and the restore's environment and state directory.

use azul_dispatcher_emulator::{Emulator, Running};
use tempfile::TempDir;

use super::buckets::BackupWriter;
use super::dispatcher::destination;
use super::proxy::Proxy;
use super::{Finished, RunEnv, S3, restore, unique_backup_id};

pub struct RestoreFixture {
    pub s3: S3,
    pub backup: BackupWriter,
    /// The dispatcher restored into.
    pub dest: Emulator,
    /// In front of `dest`: every request the restore sends to the dispatcher.
    pub dispatcher: Proxy<()>,
    pub env: RunEnv,
    dest_server: Running,
    _state: TempDir,
}

impl RestoreFixture {
    /// Empty buckets of a new backup id, and an empty destination for `sources`.
    pub async fn new(s3: &S3, sources: &[&str]) -> Self {
        let backup_id = unique_backup_id();
        let backup = BackupWriter::create(s3, &backup_id).await;
        let (dest, dest_server) = destination(sources).await;
        let dispatcher = Proxy::plain(&dest_server.base_url).await;
        let state = tempfile::tempdir().expect("temp dir");
        let env = RunEnv::new(s3, &dispatcher.url, state.path(), sources, &backup_id);
        RestoreFixture {
            s3: s3.clone(),
            backup,
            dest,
            dispatcher,
            env,
            dest_server,
            _state: state,
        }
    }

    pub async fn restore(&self) -> Finished {
        restore(&self.env).await
    }

    /// The requests the restore sent to the dispatcher that match.
    pub fn posts(&self, path_prefix: &str) -> usize {
        self.dispatcher.matching("POST", path_prefix).len()
    }

    /// The end of a test that passed: the dispatcher stops and the buckets go.
    pub async fn stop(self) {
        self.dest_server.shutdown().await.ok();
        self.backup.remove().await;
    }
}
