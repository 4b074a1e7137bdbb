//! Benchmark 6: the backup policy as a component against the same policy compiled natively.

use super::*;

/// One in-process backup of `env`'s settings until idle: the component, or the same policy
/// compiled natively. Returns the wall time and the events it backed up.
async fn in_process(env: &BackupEnv, native: bool) -> (Duration, u64) {
    use azul_backup::run::Shutdown;
    use azul_backup::runtime::Kind;
    let vars: std::collections::HashMap<String, String> = env.vars().clone().into_iter().collect();
    let (settings, _) = azul_backup::settings::Settings::from_map(&vars).expect("settings");
    let component = common::component("guest_backup.wasm");
    let shutdown = Arc::new(Shutdown::default());
    let started = Instant::now();
    let run = if native {
        let metrics = Arc::new(azul_backup::metrics::RunMetrics::new().expect("metrics"));
        let (run, _runtime) =
            azul_backup::app::prepare(&settings, Kind::Backup, &component, shutdown, &metrics)
                .await
                .expect("prepare the run");
        let config =
            native_policy::guest_config(&azul_backup::app::backup_config(&settings, true, None));
        let (policy_run, rt) = (run.clone(), tokio::runtime::Handle::current());
        tokio::task::spawn_blocking(move || {
            let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let host = native_policy::NativeHost::new(policy_run, rt, flag);
            guest_backup::policy::run(&host, &config)
        })
        .await
        .expect("native policy thread")
        .expect("native policy run");
        run
    } else {
        let (run, result) =
            azul_backup::app::backup(&settings, &component, true, None, shutdown).await;
        result.expect("component run");
        run.expect("a run")
    };
    (started.elapsed(), run.stats.total("events-ok"))
}

pub(super) async fn wasm_cost(s3: &S3, rows: &mut Vec<Row>) {
    let count = scaled(300_000);
    let (_emulator, server, _) = emulator_with(&[], count).await;
    let state = tempfile::tempdir().unwrap();
    // (Native, wasm, wasm, native) three times; every run its own backup id, so each reads
    // everything. Each side's figure is its fastest run: on a shared machine the noise only
    // ever adds time.
    // Both sides load the component (the native side only to set up the same run); one warm
    // compiled-component cache keeps compiling it out of every timed run.
    let cache = tempfile::tempdir().unwrap();
    azul_backup::runtime::Runtime::new(Some(cache.path()))
        .expect("runtime")
        .load(
            azul_backup::runtime::Kind::Backup,
            &common::component("guest_backup.wasm"),
        )
        .await
        .expect("compile the component once");
    let (mut times, mut short) = ([Duration::MAX; 2], Vec::new());
    for (i, native) in [true, false, false, true].repeat(3).into_iter().enumerate() {
        let env = env(s3, &server.base_url, &state.path().join(i.to_string()))
            .with("BK__METRICS_ADDR", "")
            .with("BK__WASM_CACHE_DIR", cache.path().display());
        let (took, events) = in_process(&env, native).await;
        let what = if native { "native" } else { "component" };
        println!("wasm cost: {what} run {took:.2?}, {events} events");
        // A run that backed up less did less work: it is left out, and the row says so (the
        // run's own warnings above say why).
        if events != count as u64 {
            short.push(format!("{what} run {i}: {events} of {count} events"));
            continue;
        }
        let side = &mut times[usize::from(!native)];
        *side = (*side).min(took);
    }
    let [native, wasm] = times;
    let ratio = wasm.as_secs_f64() / native.as_secs_f64();
    let left_out = match short.is_empty() {
        true => String::new(),
        false => format!("; left out: {}", short.join(", ")),
    };
    rows.push(ratio_row(
        "6. wasm cost (events only)",
        format!("component {:.2}s (fastest run)", wasm.as_secs_f64()),
        format!(
            "same policy native {:.2}s (fastest run){left_out}",
            native.as_secs_f64()
        ),
        ratio,
        "<= 1.05x native",
        times.iter().all(|t| *t < Duration::MAX) && ratio <= 1.05,
    ));
    server.shutdown().await.ok();
}
