//! `azul-backup`: continuous backup of Azul events and streams into S3, and restore.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use azul_backup::app::{self, BACKUP_COLUMNS, RESTORE_COLUMNS};
use azul_backup::capabilities::statedir::StateDir;
use azul_backup::maintenance;
use azul_backup::run::Shutdown;
use azul_backup::runtime::Kind;
use azul_backup::runtime::bindings::config::FailedStreams;
use azul_backup::settings::Settings;
use azul_backup::status;

#[derive(Parser)]
#[command(name = "azul-backup", version, about = "Azul event backup & restore")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Override one setting: `event_batch_size=20`, `BK__BACKUP_ID=2` or
    /// `external_backup.endpoint=s3:9000` (takes precedence over the environment; repeatable).
    #[arg(long = "set", short = 's', global = true, value_name = "KEY=VALUE")]
    set: Vec<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Copy events and the streams they reference from the dispatcher into the store.
    Backup {
        /// Exit 0 once every consumer is caught up and all work is flushed.
        #[arg(long)]
        until_idle: bool,
        /// The backup component (default: the built guest_backup.wasm).
        #[arg(long, env = "AZUL_BACKUP_COMPONENT")]
        component: Option<PathBuf>,
    },
    /// Print the recorded failed stream requests.
    ListFailedBackupStreams,
    /// Re-attempt recorded failed streams, then move those the dispatcher no longer has to
    /// `backup-failed.stream`.
    TriggerBackupFailedStreams {
        /// Re-attempt `backup.stream` (failed once).
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
        include_failed_simple: bool,
        /// Re-attempt `backup-failed.stream` (failed again and absent from the dispatcher).
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
        not_failed_complex: bool,
        #[arg(long, env = "AZUL_BACKUP_COMPONENT")]
        component: Option<PathBuf>,
    },
    /// Forget the streams given up on (`backup-failed.stream`); needs --confirm.
    ClearBackupStreams {
        #[arg(long)]
        confirm: bool,
    },
    /// Record streams as given up on: each PATH ends in <source>/<label>/<sha256>.
    AddFailedStream { paths: Vec<String> },
    /// Post every backed-up stream, then every event bundle, to the dispatcher.
    Restore {
        #[arg(long, env = "AZUL_RESTORE_COMPONENT")]
        component: Option<PathBuf>,
    },
    /// Back up a seeded dispatcher emulator into a local directory, restore it into an empty
    /// one, and print a summary. Needs no S3 and no settings.
    Demo {
        /// Working directory (cleared first).
        #[arg(long, default_value = "/tmp/azul-backup-demo")]
        dir: PathBuf,
        /// Synthetic binary events per source and action.
        #[arg(long, default_value_t = 40)]
        events_per_action: usize,
    },
    /// Check that the backup is complete and readable, without restoring it: every bundle
    /// decodes, every stream its binary events reference is stored, every stored stream is
    /// referenced. Exits non-zero on any problem.
    Verify {
        /// Also download every stream object and check its content against its sha256.
        #[arg(long)]
        read_data: bool,
        /// Only this source's bundles and streams.
        #[arg(long, value_name = "S")]
        source: Option<String>,
        #[arg(long, env = "AZUL_RESTORE_COMPONENT")]
        component: Option<PathBuf>,
    },
    /// Restore the backup into a throw-away dispatcher emulator and compare what it received
    /// with what the backup holds. The dispatcher settings are ignored. Exits non-zero on any
    /// difference.
    Drill {
        /// `off` for backups whose streams are placeholders that do not hash to their keys.
        #[arg(long, value_enum, default_value_t = Sha256Check::Strict)]
        verify_sha256: Sha256Check,
        #[arg(long, env = "AZUL_RESTORE_COMPONENT")]
        component: Option<PathBuf>,
    },
    /// Show what the state directory holds: spooled events per consumer, pending, failed and
    /// given-up streams, restore cursors, and how the last backup and restore ended.
    Status {
        /// Print JSON instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Fetch up to COUNT events of every (source, model, action) the backup reads into test
    /// data files (`<source>-<model>-<action>-<n>.avro` and `.avro.json`), under a consumer
    /// name of its own so the backup's offsets do not move.
    GetSamples {
        /// Where to write the files.
        #[arg(long, default_value = "testdata/samples")]
        out: PathBuf,
        #[arg(long, default_value_t = 100)]
        count: u32,
        /// Dispatcher consumer name; a new name starts from the earliest events again.
        #[arg(long, default_value = "recovery-get-samples-1")]
        name: String,
        /// Seconds one fetch may wait for events.
        #[arg(long, default_value_t = 30)]
        deadline: u32,
    },
    /// Print the settings reference (every `BK__` variable, its default and meaning) as a
    /// Markdown table.
    Settings,
    /// Print the events of a local event bundle (gzip or raw avro bulk) as JSON lines.
    Inspect {
        path: PathBuf,
        /// Event model (default: from a `<source>/<model>/<action>/<name>` path).
        #[arg(long)]
        model: Option<azul_backup::avro::Model>,
    },
}

/// How the drill's dispatcher checks uploaded streams.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Sha256Check {
    Strict,
    Off,
}

/// First SIGINT/SIGTERM: graceful stop. Second: fast stop (pending work is recorded).
fn watch_signals(shutdown: Arc<Shutdown>) {
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => return tracing::error!("cannot watch SIGTERM: {e}"),
            };
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            match shutdown.request() {
                1 => tracing::warn!("stop requested: finishing and flushing all work"),
                _ => tracing::warn!(
                    "second stop request: recording pending work instead of doing it"
                ),
            }
        }
    });
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn demo(dir: PathBuf, events_per_action: usize) -> ExitCode {
    let (backup_component, restore_component) = azul_backup::demo::default_components();
    let options = azul_backup::demo::DemoOptions {
        dir,
        events_per_action,
        backup_component,
        restore_component,
    };
    match azul_backup::demo::run(&options).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => report(Err(e)),
    }
}

fn settings_or_exit(overrides: &[String]) -> Result<Settings, ExitCode> {
    match Settings::from_env_with(overrides) {
        Ok((settings, warnings)) => {
            for w in warnings {
                eprintln!("{w}");
            }
            Ok(settings)
        }
        Err(e) => {
            eprintln!("{e}");
            Err(ExitCode::from(2))
        }
    }
}

/// The maintenance commands work on the backup state directory only.
fn maintain(command: Command, overrides: &[String]) -> ExitCode {
    let settings = match settings_or_exit(overrides) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let result = StateDir::open(settings.local_data_rootdir.join("backup"))
        .map_err(anyhow::Error::from)
        .and_then(|dir| {
            let mut out = std::io::stdout();
            match command {
                Command::ListFailedBackupStreams => maintenance::list_failed(&dir, &mut out),
                Command::ClearBackupStreams { confirm } => {
                    maintenance::clear_failed(&dir, confirm).map(|said| eprintln!("{said}"))
                }
                Command::AddFailedStream { paths } => {
                    maintenance::add_failed(&dir, &paths, &mut out)
                }
                _ => unreachable!("not a maintenance command"),
            }
        });
    report(result)
}

/// `backup` or `restore` on the operator's settings; prints the stats table at the end.
async fn operate(
    command: &str,
    kind: Kind,
    component: Option<PathBuf>,
    until_idle: bool,
    retry_failed: Option<FailedStreams>,
    overrides: &[String],
) -> ExitCode {
    let settings = match settings_or_exit(overrides) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if settings.dispatcher_events.is_empty() {
        eprintln!("BK__DISPATCHER_EVENTS is not set: the dispatcher's base URL is required");
        return ExitCode::from(2);
    }
    if kind == Kind::Backup
        && let Err(e) = settings.check_aes_for_backup()
    {
        eprintln!("{e}");
        return ExitCode::from(2);
    }
    println!("{}", settings.table());
    let started_at = status::now_rfc3339();
    let shutdown = Arc::new(Shutdown::default());
    watch_signals(shutdown.clone());
    let component = component.unwrap_or_else(|| app::default_component(kind));
    let (run, result, columns, what) = match kind {
        Kind::Backup => {
            let (run, result) =
                app::backup(&settings, &component, until_idle, retry_failed, shutdown).await;
            (run, result, BACKUP_COLUMNS, "Backup")
        }
        Kind::Restore => {
            let (run, result) = app::restore(&settings, &component, shutdown).await;
            (run, result, RESTORE_COLUMNS, "Restore")
        }
    };
    if let Some(run) = &run {
        println!("{what} stats:\n{}", run.stats.table(columns));
        println!(
            "{what} finished after {:.2}s",
            run.started.elapsed().as_secs_f64()
        );
        let failed = run.stats.total("streams-fail");
        let outcome = match &result {
            Err(e) => format!("{e:#}"),
            Ok(()) if kind == Kind::Backup && failed > 0 => "streams left behind".to_string(),
            Ok(()) => "ok".to_string(),
        };
        let record = status::RunRecord {
            command: command.to_string(),
            started_at,
            finished_at: status::now_rfc3339(),
            outcome,
            component_version: run.component.version.clone(),
            events_ok: run.stats.total("events-ok"),
            streams_ok: run.stats.total("streams-ok"),
            events_fail: run.stats.total("events-fail"),
            streams_fail: failed,
        };
        if let Err(e) = record.save(&run.statedir) {
            eprintln!("cannot record the run in the state directory: {e}");
        }
        if kind == Kind::Backup && result.is_ok() && failed > 0 {
            eprintln!(
                "{failed} stream(s) could not be copied; they are recorded for another attempt \
                 (list-failed-backup-streams, trigger-backup-failed-streams)"
            );
            return ExitCode::from(STREAMS_LEFT_BEHIND);
        }
    }
    report(result)
}

/// Backup completed, but some streams still have to be copied (recorded in the state dir).
const STREAMS_LEFT_BEHIND: u8 = 3;

async fn get_samples(
    options: azul_backup::get_samples::SampleOptions,
    overrides: &[String],
) -> ExitCode {
    let settings = match settings_or_exit(overrides) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match azul_backup::get_samples::run(&settings, &options).await {
        Ok(files) => {
            for f in &files {
                println!("{}\t{}", f.events, f.avro.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => report(Err(e)),
    }
}

/// `status`: reads the state directory only.
fn show_status(json: bool, overrides: &[String]) -> ExitCode {
    let settings = match settings_or_exit(overrides) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match status::read(&settings.local_data_rootdir) {
        Ok(found) if json => match serde_json::to_string_pretty(&found) {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => report(Err(e.into())),
        },
        Ok(found) => {
            print!("{}", status::render(&found));
            ExitCode::SUCCESS
        }
        Err(e) => report(Err(anyhow::Error::from(e).context(format!(
            "reading the state directory {}",
            settings.local_data_rootdir.display()
        )))),
    }
}

/// `verify`: exit 0 only when the report has no problem.
async fn verify(
    read_data: bool,
    source: Option<String>,
    component: Option<PathBuf>,
    overrides: &[String],
) -> ExitCode {
    let settings = match settings_or_exit(overrides) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let shutdown = Arc::new(Shutdown::default());
    watch_signals(shutdown.clone());
    let options = azul_backup::verify::VerifyOptions {
        read_data,
        source,
        component: component.unwrap_or_else(|| app::default_component(Kind::Restore)),
    };
    let scope = azul_backup::verify::scope(&settings, &options);
    match azul_backup::verify::run(&settings, &options, shutdown).await {
        Ok(report) => {
            println!("{}", azul_backup::verify::render(&report, &scope));
            match azul_backup::verify::problem_count(&report) {
                0 => ExitCode::SUCCESS,
                _ => ExitCode::FAILURE,
            }
        }
        Err(e) => report(Err(e)),
    }
}

/// `drill`: exit 0 only when the restored dispatcher holds what the backup holds.
async fn drill(
    verify_sha256: Sha256Check,
    component: Option<PathBuf>,
    overrides: &[String],
) -> ExitCode {
    let settings = match settings_or_exit(overrides) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let shutdown = Arc::new(Shutdown::default());
    watch_signals(shutdown.clone());
    let options = azul_backup::drill::DrillOptions {
        component: component.unwrap_or_else(|| app::default_component(Kind::Restore)),
        verify_sha256: verify_sha256 == Sha256Check::Strict,
    };
    match azul_backup::drill::run(&settings, &options, shutdown).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => report(Err(e)),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    azul_backup::logging::init();
    let cli = Cli::parse();
    let set = cli.set.as_slice();
    match cli.command {
        Command::Backup {
            until_idle,
            component,
        } => operate("backup", Kind::Backup, component, until_idle, None, set).await,
        Command::Restore { component } => {
            operate("restore", Kind::Restore, component, false, None, set).await
        }
        Command::TriggerBackupFailedStreams {
            include_failed_simple,
            not_failed_complex,
            component,
        } => {
            let which = match (include_failed_simple, not_failed_complex) {
                (true, true) => FailedStreams::Both,
                (true, false) => FailedStreams::Simple,
                (false, true) => FailedStreams::Complex,
                (false, false) => {
                    eprintln!("Nothing selected to restore so nothing to restore.");
                    return ExitCode::SUCCESS;
                }
            };
            let command = "trigger-backup-failed-streams";
            operate(command, Kind::Backup, component, true, Some(which), set).await
        }
        c @ (Command::ListFailedBackupStreams
        | Command::ClearBackupStreams { .. }
        | Command::AddFailedStream { .. }) => maintain(c, set),
        Command::Demo {
            dir,
            events_per_action,
        } => demo(dir, events_per_action).await,
        Command::Inspect { path, model } => azul_backup::inspect::run(&path, model),
        Command::Status { json } => show_status(json, set),
        Command::GetSamples {
            out,
            count,
            name,
            deadline,
        } => {
            let options = azul_backup::get_samples::SampleOptions {
                out,
                count,
                name,
                deadline_secs: deadline,
            };
            get_samples(options, set).await
        }
        Command::Settings => {
            print!("{}", azul_backup::settings_doc::markdown());
            ExitCode::SUCCESS
        }
        Command::Verify {
            read_data,
            source,
            component,
        } => verify(read_data, source, component, set).await,
        Command::Drill {
            verify_sha256,
            component,
        } => drill(verify_sha256, component, set).await,
    }
}
