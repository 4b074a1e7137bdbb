//! `azul-dispatcher-emulator`: serve an in-memory Azul dispatcher until Ctrl-C.

mod cli;

use anyhow::Context;
use azul_dispatcher_emulator::{
    Emulator,
    corpus::{self, CorpusSpec, CorpusSummary, SyntheticSpec},
    load,
};
use clap::Parser;

fn report(summary: &CorpusSummary) {
    tracing::info!(
        events = ?summary.events,
        streams = summary.streams.len(),
        stream_bytes = summary.stream_bytes,
        "seeded a synthetic corpus"
    );
}

/// Seed what the command line asks for: a synthetic corpus, then the loaded files.
fn seed(emulator: &Emulator, args: &cli::Args) -> anyhow::Result<()> {
    let sources = emulator.config().sources.clone();
    if let Some(events_per_action) = args.events_per_action {
        let spec = CorpusSpec {
            sources: sources.clone(),
            events_per_action,
            seed: args.seed,
            ..CorpusSpec::default()
        };
        report(&corpus::seed(emulator, &spec).context("seeding the corpus")?);
    }
    if let Some(binary_events) = args.synthetic {
        let mut spec = SyntheticSpec::new(sources, binary_events, args.seed);
        spec.sizes = args.stream_size_dist;
        report(&corpus::seed_synthetic(emulator, &spec).context("seeding synthetic events")?);
    }
    for spec in &args.load {
        let summary = load::load(emulator, spec, args.stream_dir.as_deref())?;
        for (index, reason) in &summary.invalid {
            tracing::warn!(file = %spec.path.display(), index, reason, "skipped an invalid event");
        }
        tracing::info!(
            file = %spec.path.display(),
            model = %spec.model,
            published = summary.published,
            streams_from_dir = summary.streams_from_dir,
            placeholders = summary.placeholders,
            "loaded events"
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = cli::Args::parse();
    let sources = args.sources()?;
    let emulator = Emulator::new(args.config(&sources));
    seed(&emulator, &args)?;
    let running = emulator
        .serve(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    // A machine-readable first line for scripts and `azul-backup demo`.
    println!("AZUL_DISPATCHER_URL={}", running.base_url);
    tracing::info!(
        base_url = %running.base_url,
        sources = ?emulator.config().sources,
        "dispatcher emulator serving"
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    tracing::info!("stopping");
    running.shutdown().await.context("stopping the server")?;
    tracing::info!("stopped");
    Ok(())
}
