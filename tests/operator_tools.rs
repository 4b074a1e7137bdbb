//! The operator's tools: `status` (what the state directory holds, as a table and as JSON)
//! and `get-samples` (test data scraped from a running dispatcher).
//!
//! Both run against the dispatcher emulator and the local-directory store; get-samples reads
//! the original's sample sets under `AZUL_REFERENCE_DIR` (skips loudly without them, fails
//! under `CI`).

mod common;

use std::os::unix::process::ExitStatusExt;

use azul_backup::avro::{Model, decode_bulk, parse_json_events, to_json};
use azul_dispatcher_emulator::corpus::{CorpusSpec, seed};
use azul_dispatcher_emulator::{Emulator, EmulatorConfig};

use common::emulator::{committed, serve};
use common::samples::{self, Samples};
use common::{BackupEnv, RUN_TIMEOUT, RunningBackup, run, sources_yaml};

const SOURCES: [&str; 2] = ["samples", "testing"];

async fn status_json(env: &BackupEnv) -> serde_json::Value {
    let finished = run(&["status", "--json"], env).await;
    assert!(finished.status.success(), "{}", finished.transcript());
    serde_json::from_str(&finished.stdout).expect("status --json prints JSON")
}

/// A backup killed right after it journaled its first stream requests (the first journal
/// write is the start-up requeue of earlier failures, hence `@2`) leaves them and the
/// events that referenced them in the state directory: `status` shows them (and changes nothing); after
/// a backup that finishes, it shows nothing pending and the run's record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_what_the_state_directory_holds() {
    let emulator = Emulator::new(EmulatorConfig::new(SOURCES).max_events_per_fetch(Some(5)));
    let spec = CorpusSpec {
        sources: SOURCES.map(String::from).to_vec(),
        events_per_action: 4,
        insert_events: 3,
        delete_events: 1,
        seed: 11,
        max_stream_size: 1024,
    };
    seed(&emulator, &spec).unwrap();
    let server = serve(&emulator).await;
    let state = tempfile::tempdir().unwrap();
    let env = BackupEnv::offline(state.path())
        .with("BK__DISPATCHER_EVENTS", &server.base_url)
        .with("BK__SOURCES", sources_yaml(&SOURCES, &[]))
        .with("BK__FETCH_DEADLINE_SECS", 1)
        .with("BK__VERIFY_STREAM_SHA256", "false");

    let never = status_json(&env).await;
    assert!(never["backup"]["last_run"].is_null(), "{never}");

    let killed = RunningBackup::start(
        &["backup"],
        &env.clone().with("AZUL_CRASH_AT", "stream-journaled@2"),
    )
    .finish(RUN_TIMEOUT)
    .await;
    assert_eq!(killed.status.signal(), Some(9), "{}", killed.transcript());
    let backup_dir = state.path().join("backup");
    let snapshot = || {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&backup_dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                (name, std::fs::read(e.path()).unwrap())
            })
            .collect();
        files.sort();
        files
    };
    let before = snapshot();

    let pending = status_json(&env).await;
    let spools = pending["backup"]["spools"].as_array().unwrap();
    assert!(!spools.is_empty(), "{pending}");
    assert!(
        spools.iter().all(|s| s["events"].as_u64().unwrap() > 0),
        "{pending}"
    );
    assert!(
        pending["backup"]["pending_streams"].as_u64().unwrap() > 0,
        "{pending}"
    );
    let table = run(&["status"], &env).await;
    assert!(table.stdout.contains("spooled events"), "{}", table.stdout);
    assert!(
        table
            .stdout
            .contains(spools[0]["consumer"].as_str().unwrap()),
        "{}",
        table.stdout
    );
    assert!(snapshot() == before, "status changes nothing");

    run(&["backup", "--until-idle"], &env)
        .await
        .assert_success();
    let done = status_json(&env).await;
    assert!(
        done["backup"]["spools"].as_array().unwrap().is_empty(),
        "{done}"
    );
    assert_eq!(done["backup"]["pending_streams"], 0, "{done}");
    let last = &done["backup"]["last_success"];
    assert_eq!(last["outcome"], "ok", "{done}");
    assert_eq!(last["command"], "backup");
    assert!(last["events_ok"].as_u64().unwrap() > 0, "{done}");
    assert!(
        last["component_version"]
            .as_str()
            .unwrap()
            .starts_with("guest-backup"),
        "{done}"
    );
    println!("status after the kill: {pending}");
    server.shutdown().await.ok();
}

/// get-samples against an emulator holding the original's five sample sets writes the
/// original's five file pairs, with the same events in the same order, the avro and the JSON
/// of each pair agreeing; the backup's consumers are not touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_samples_writes_the_original_test_data_files() {
    let Some(dir) = samples::dir_or_skip("get_samples") else {
        return;
    };
    let samples = Samples::read(&dir);
    let emulator = Emulator::new(EmulatorConfig::new(SOURCES).max_events_per_fetch(Some(30)));
    for (file, _) in samples::ALL {
        samples.load_all(&emulator, file);
    }
    let server = serve(&emulator).await;
    let state = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let env = BackupEnv::offline(state.path())
        .with("BK__DISPATCHER_EVENTS", &server.base_url)
        .with("BK__SOURCES", sources_yaml(&SOURCES, &[]));
    let out_arg = out.path().display().to_string();
    let finished = run(
        &[
            "get-samples",
            "--out",
            &out_arg,
            "--count",
            "100",
            "--deadline",
            "1",
        ],
        &env,
    )
    .await;
    finished.assert_success();
    let mut written: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".avro.json"))
        .collect();
    written.sort();
    let mut expected: Vec<String> = samples::ALL.iter().map(|(f, _)| f.to_string()).collect();
    expected.sort();
    assert_eq!(written, expected, "the original's file names");

    for (file, model) in samples::ALL {
        let json = std::fs::read_to_string(out.path().join(file)).unwrap();
        assert!(
            json.starts_with("[\n    {"),
            "{file}: 4-space indented array"
        );
        let got = parse_json_events(&json).unwrap();
        let avro = std::fs::read(out.path().join(file.trim_end_matches(".json"))).unwrap();
        let decoded = decode_bulk(model, &avro).unwrap();
        assert_eq!(decoded.len(), got.len(), "{file}: avro and JSON agree");
        for (event, rendered) in decoded.iter().zip(&got) {
            assert_eq!(&to_json(model, &event.raw).unwrap(), rendered, "{file}");
        }
        let want = samples.events(file);
        assert_eq!(got.len(), want.len(), "{file}: every event");
        // The dispatcher recomputes keys (and stamps deletes) on publish: compare identities.
        let id = |e: &serde_json::Value| match model {
            Model::Binary => e["entity"]["sha256"].clone(),
            Model::Insert => e["entity"]["child"]["sha256"].clone(),
            _ => e["entity"]["reason"].clone(),
        };
        let got_ids: Vec<_> = got.iter().map(id).collect();
        let want_ids: Vec<_> = want.iter().map(id).collect();
        assert_eq!(got_ids, want_ids, "{file}: same events, same order");
    }
    assert!(
        committed(&emulator, &env.backup_id).is_empty(),
        "no backup consumer moved"
    );
    println!("get-samples:\n{}", finished.stdout);
    server.shutdown().await.ok();
}
