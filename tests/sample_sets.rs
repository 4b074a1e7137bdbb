//! The original's five sample sets (`azul-backup/testdata/data/samples/*.avro.json`: samples
//! sourced and extracted, testing sourced, system insert and delete), loaded into the
//! dispatcher emulator with the library's `--load` path, served 10 events per fetch, and backed
//! up by the real binary with `BK__EVENT_BATCH_SIZE=20` and `--until-idle`, sources samples and
//! testing (assemblyline and tasking excluded) — the setting of the original's
//! `TestBackupRestore`, whose expected keys it withholds. This proves the bundle layout: every
//! consumer's events, in the dispatcher's order, are cut into bundles of exactly 20 (the last
//! one of a type holds the rest; the 2 deletes make one bundle at idle), each at
//! `<source>/<model>/<action>/<T>-<N>-<K>` with T and K from the bundle's last event (not its
//! newest); every event is in exactly one bundle; and there is one stream object per distinct
//! stream key the binary events reference. The full key list and the stream count are printed
//! (`--nocapture`).
//!
//! Needs `scripts/start-s3.sh`, `scripts/build-guests.sh` and the samples under
//! AZUL_REFERENCE_DIR; without them it skips loudly, and fails under `CI`.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use azul_backup::avro::{DecodedEvent, Model, rfc3339_nano};
use azul_dispatcher_emulator::{Emulator, EmulatorConfig};

use common::emulator::{held_events, serve};
use common::samples::{
    self, ALL, SAMPLES_EXTRACTED, SAMPLES_SOURCED, SYSTEM_DELETE, Samples, TESTING_SOURCED,
};
use common::store::{Buckets, key_counts};
use common::{BackupEnv, run, s3_or_skip, sources_yaml};

const BACKED_UP: [&str; 2] = ["samples", "testing"];
const EXCLUDED: [&str; 2] = ["assemblyline", "tasking"];
const BATCH: usize = 20;
const PER_FETCH: usize = 10;

/// `<source>/<model>/<action>` of the consumer that reads `event`.
fn consumer_path(model: Model, event: &DecodedEvent) -> String {
    match model {
        Model::Binary => format!(
            "{}/binary/{}",
            event.source.as_deref().unwrap_or_default(),
            event.action.as_deref().unwrap_or_default()
        ),
        system => format!("system/{system}/default"),
    }
}

/// The bundle a run of events is stored as, by the original's naming rule.
fn bundle_key(consumer: &str, events: &[DecodedEvent]) -> String {
    let last = events.last().expect("a bundle is never empty");
    format!(
        "{consumer}/{}-{}-{}",
        rfc3339_nano(last.timestamp_micros),
        events.len(),
        last.kafka_key
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_original_sample_sets_are_bundled_by_twenty() {
    let test = "the_original_sample_sets_are_bundled_by_twenty";
    let Some(s3) = s3_or_skip(test) else { return };
    let Some(dir) = samples::dir_or_skip(test) else {
        return;
    };
    let samples = Samples::read(&dir);
    // What the description of the original says of its fixtures (§12).
    assert_eq!(samples.original_stream_keys(TESTING_SOURCED).len(), 89);
    let samples_streams: BTreeSet<&String> = [SAMPLES_SOURCED, SAMPLES_EXTRACTED]
        .iter()
        .flat_map(|f| samples.original_stream_keys(f))
        .collect();
    assert_eq!(samples_streams.len(), 182);

    let emulator = Emulator::new(
        EmulatorConfig::new(BACKED_UP.iter().chain(&EXCLUDED).copied())
            .max_events_per_fetch(Some(PER_FETCH))
            .early_return(true),
    );
    for (file, _) in ALL {
        let summary = samples.load_all(&emulator, file);
        assert!(summary.invalid.is_empty(), "{file}: {:?}", summary.invalid);
        assert_eq!(summary.published, samples.events(file).len(), "{file}");
    }
    let server = serve(&emulator).await;
    let state = tempfile::tempdir().unwrap();
    let env = BackupEnv::new(
        &s3,
        &server.base_url,
        state.path(),
        &sources_yaml(&BACKED_UP, &EXCLUDED),
    )
    .with("BK__EVENT_BATCH_SIZE", BATCH);
    let finished = run(&["backup", "--until-idle"], &env).await;
    finished.assert_success();

    // What each consumer was handed, in order, and the bundles the rules make of it.
    let mut per_consumer: BTreeMap<String, Vec<DecodedEvent>> = BTreeMap::new();
    for held in held_events(&emulator, &env.backup_id, &BACKED_UP) {
        per_consumer
            .entry(consumer_path(held.model, &held.event))
            .or_default()
            .push(held.event);
    }
    let expected: BTreeMap<String, Vec<String>> = per_consumer
        .iter()
        .flat_map(|(consumer, events)| {
            events.chunks(BATCH).map(move |chunk| {
                let keys = chunk.iter().map(|e| e.kafka_key.clone()).collect();
                (bundle_key(consumer, chunk), keys)
            })
        })
        .collect();

    let buckets = Buckets::connect(&s3, &env).await;
    let bundles = buckets.bundles().await;
    let stored: BTreeMap<String, Vec<String>> = bundles
        .iter()
        .map(|b| {
            assert_eq!(
                b.name.count,
                b.events.len(),
                "{}: N is its size",
                b.name.key
            );
            let keys = b.events.iter().map(|e| e.kafka_key.clone()).collect();
            (b.name.key.clone(), keys)
        })
        .collect();
    println!("{} event bundles:", stored.len());
    for key in stored.keys() {
        println!("  {key}");
    }
    assert_eq!(
        stored.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "bundle keys"
    );
    assert_eq!(
        stored, expected,
        "each bundle holds its run of events, in order"
    );

    let counts = key_counts(&bundles);
    let handed_out: usize = per_consumer.values().map(Vec::len).sum();
    let total: usize = ALL.iter().map(|(f, _)| samples.events(f).len()).sum();
    assert_eq!(handed_out, total, "every sample event reached a consumer");
    assert_eq!(counts.values().sum::<usize>(), total);
    assert!(
        counts.values().all(|n| *n == 1),
        "every event is in exactly one bundle"
    );
    for (consumer, events) in &per_consumer {
        let sizes: Vec<usize> = bundles
            .iter()
            .filter(|b| b.name.consumer() == *consumer)
            .map(|b| b.name.count)
            .collect();
        let (last, full) = sizes.split_last().expect("every consumer bundled");
        assert!(full.iter().all(|n| *n == BATCH), "{consumer}: {sizes:?}");
        assert_eq!(
            *last,
            (events.len() - 1) % BATCH + 1,
            "{consumer}: {sizes:?}"
        );
    }
    // The delete bundle is named after its last event, which is not its newest.
    let deletes = &per_consumer["system/delete/default"];
    assert_eq!(deletes.len(), samples.events(SYSTEM_DELETE).len());
    assert!(deletes[1].timestamp_micros < deletes[0].timestamp_micros);

    let referenced: BTreeSet<String> = per_consumer
        .values()
        .flatten()
        .flat_map(|e| &e.streams)
        .map(|s| format!("{}/{}/{}", s.source, s.label, s.sha256))
        .collect();
    let stream_objects = buckets.stream_keys().await;
    println!(
        "{} stream objects ({} distinct stream keys referenced)",
        stream_objects.len(),
        referenced.len()
    );
    assert_eq!(stream_objects, referenced);
    assert_eq!(stream_objects.len(), 89 + 182);

    let stats = finished.backup_stats();
    for (source, events, streams) in [("samples", 200, 182), ("testing", 100, 89)] {
        assert_eq!(stats.get(source, "events-ok"), events, "{source}");
        assert_eq!(stats.get(source, "streams-ok"), streams, "{source}");
    }
    assert_eq!(stats.get("system", "events-ok"), 102);
    server.shutdown().await.ok();
}
