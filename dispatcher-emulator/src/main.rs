//! `azul-dispatcher-emulator`: serve an in-memory Azul dispatcher until Ctrl-C.

use std::net::SocketAddr;

use anyhow::Context;
use azul_dispatcher_emulator::{
    Emulator, EmulatorConfig,
    corpus::{self, CorpusSpec},
};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    version,
    about = "An in-memory stand-in for the Azul dispatcher's HTTP API"
)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8111")]
    listen: SocketAddr,
    /// Registered sources, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "samples,testing")]
    sources: Vec<String>,
    /// Seed a synthetic corpus with this many binary events per source and action.
    #[arg(long)]
    events_per_action: Option<usize>,
    /// Seed of the synthetic corpus.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Answer GETs as soon as the logs are exhausted instead of waiting for the deadline.
    #[arg(long)]
    early_return: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let config = EmulatorConfig::new(args.sources.clone()).early_return(args.early_return);
    let emulator = Emulator::new(config);
    if let Some(events_per_action) = args.events_per_action {
        let spec = CorpusSpec {
            sources: args.sources.clone(),
            events_per_action,
            seed: args.seed,
            ..CorpusSpec::default()
        };
        let summary = corpus::seed(&emulator, &spec).context("seeding the corpus")?;
        tracing::info!(
            events = ?summary.events,
            streams = summary.streams.len(),
            stream_bytes = summary.stream_bytes,
            "seeded a synthetic corpus"
        );
    }
    let running = emulator
        .serve(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    // A machine-readable first line for scripts and `azul-backup demo`.
    println!("AZUL_DISPATCHER_URL={}", running.base_url);
    tracing::info!(base_url = %running.base_url, sources = ?args.sources, "dispatcher emulator serving");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    tracing::info!("stopping");
    running.shutdown().await.context("stopping the server")?;
    tracing::info!("stopped");
    Ok(())
}
