//! Deterministic simulation of the restore policy against the in-memory fake host, with a
//! seeded layer that fails or crashes every host call (a crash unwinds out of the call, before
//! or after it took effect). What survives a crash is what the host keeps: the bucket, the
//! dispatcher's record of posts, state files (checkpoints) and key sets; queues are lost.
//! After a last, fault-free life the invariants must hold: every stream and every bundle was
//! posted at least once; no event was posted before every stream had been; no binary event
//! before every system bundle; each type's bundles first arrived in key order.
//!
//! `SIM_SEEDS=N` runs more seeds; a failure prints its seed, and `SIM_SEED=S` replays one.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind, panic_any, resume_unwind};

use crate::sim_seeds::run_seeds;
use std::rc::Rc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::RestoreConfig;
use crate::fake::{FakeHost, FakeKeySet, FakeQueue};
use crate::host::{
    Bucket, BundleContent, Encoding, Error, ErrorKind, Host, Level, ObjectCheck, ObjectInfo,
    PostResult, StreamRef, Task,
};

struct Crash;

struct Faults {
    rng: StdRng,
    error_rate: f64,
    crash_rate: f64,
    crashes_left: u32,
}

#[derive(Clone)]
struct SimHost {
    inner: FakeHost,
    faults: Rc<RefCell<Option<Faults>>>,
    calls: Rc<Cell<u64>>,
    /// Injected failures in a row, per call and arguments: at the retry count the policy
    /// gives that call up, which the dispatcher's log records as `gave-up <call>`.
    failures_in_a_row: Rc<RefCell<BTreeMap<String, u32>>>,
}

/// Attempts per call in [`config`]: after this many failures the policy gives up.
const ATTEMPTS: u32 = 3;
const GAVE_UP: &str = "gave-up ";
const LIFE: &str = "life";

enum Fate {
    Run,
    Fail,
    CrashBefore,
    CrashAfter,
}

impl SimHost {
    fn fate(&self) -> Fate {
        self.calls.set(self.calls.get() + 1);
        let mut faults = self.faults.borrow_mut();
        let Some(f) = faults.as_mut() else {
            return Fate::Run;
        };
        if f.crashes_left > 0 && f.rng.random_bool(f.crash_rate) {
            f.crashes_left -= 1;
            return if f.rng.random_bool(0.5) {
                Fate::CrashBefore
            } else {
                Fate::CrashAfter
            };
        }
        if f.rng.random_bool(f.error_rate) {
            Fate::Fail
        } else {
            Fate::Run
        }
    }

    /// Runs one host call (named by `what`, with its arguments) under its fate.
    fn guarded<T>(
        &self,
        what: String,
        call: impl FnOnce() -> Result<T, Error>,
    ) -> Result<T, Error> {
        match self.fate() {
            Fate::Run => {
                self.failures_in_a_row.borrow_mut().remove(&what);
                call()
            }
            Fate::Fail => {
                let mut counts = self.failures_in_a_row.borrow_mut();
                let n = counts.entry(what.clone()).or_default();
                *n += 1;
                if *n >= ATTEMPTS {
                    self.inner.note(format!("{GAVE_UP}{what}"));
                }
                Err(Error {
                    kind: ErrorKind::Transient,
                    message: "injected".into(),
                    retryable: true,
                })
            }
            Fate::CrashBefore => panic_any(Crash),
            Fate::CrashAfter => {
                let _ = call();
                panic_any(Crash)
            }
        }
    }
}

struct SimTask {
    host: SimHost,
    role: String,
    args: Vec<u8>,
}

impl Task for SimTask {
    fn join(&self) -> Result<(), String> {
        crate::run_worker(&self.host, &self.role, &self.args)
    }
}

impl Host for SimHost {
    type Body = String;
    type Queue = FakeQueue;
    type Task = SimTask;
    type KeySet = FakeKeySet;

    fn log(&self, _level: Level, _message: &str) {}
    fn sleep_ms(&self, _ms: u64) {}
    fn random_u64(&self) -> u64 {
        self.calls.get()
    }
    fn metric(&self, source: &str, stat: &str, delta: u64) {
        Host::metric(&self.inner, source, stat, delta);
    }
    fn list(
        &self,
        bucket: Bucket,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ObjectInfo>, Error> {
        self.guarded(format!("list {bucket:?} {prefix} {start_after:?}"), || {
            self.inner.list(bucket, prefix, start_after, limit)
        })
    }
    fn open(&self, bucket: Bucket, key: &str, encoding: Encoding) -> Result<String, Error> {
        self.guarded(format!("open {key}"), || {
            self.inner.open(bucket, key, encoding)
        })
    }
    fn post_stream(&self, stream: &StreamRef, body: &String) -> Result<(), Error> {
        self.guarded(format!("post-stream {body}"), || {
            self.inner.post_stream(stream, body)
        })
    }
    fn post_events(&self, model: &str, body: &String) -> Result<PostResult, Error> {
        self.guarded(format!("post-events {body}"), || {
            self.inner.post_events(model, body)
        })
    }
    fn post_events_singly(
        &self,
        model: &str,
        body: &String,
        first: u32,
    ) -> Result<PostResult, Error> {
        self.guarded(format!("post-singly {body}"), || {
            self.inner.post_events_singly(model, body, first)
        })
    }
    fn read_state(&self, name: &str) -> Result<Option<String>, Error> {
        self.guarded(format!("read {name}"), || self.inner.read_state(name))
    }
    fn write_state(&self, name: &str, content: &str) -> Result<(), Error> {
        self.guarded(format!("write {name}"), || {
            self.inner.write_state(name, content)
        })
    }
    fn append_line(&self, name: &str, line: &str) -> Result<(), Error> {
        // Recording a failure is the policy giving something up, whatever the write's fate.
        self.inner.note(format!("{GAVE_UP}{name} {line}"));
        self.guarded(format!("append {name}"), || {
            self.inner.append_line(name, line)
        })
    }
    fn open_queue(&self, name: &str, capacity: u32) -> FakeQueue {
        self.inner.open_queue(name, capacity)
    }
    fn spawn(&self, role: &str, args: &[u8]) -> Result<SimTask, Error> {
        Ok(SimTask {
            host: self.clone(),
            role: role.into(),
            args: args.to_vec(),
        })
    }
    fn stop_requested(&self) -> bool {
        false
    }
    fn exists(&self, bucket: Bucket, key: &str) -> Result<bool, Error> {
        self.guarded(format!("exists {key}"), || self.inner.exists(bucket, key))
    }
    fn inspect_bundle(&self, key: &str) -> Result<BundleContent, Error> {
        self.guarded(format!("inspect {key}"), || self.inner.inspect_bundle(key))
    }
    fn check_object(&self, bucket: Bucket, key: &str, e: Encoding) -> Result<ObjectCheck, Error> {
        self.guarded(format!("check {key}"), || {
            self.inner.check_object(bucket, key, e)
        })
    }
    fn open_key_set(&self, name: &str) -> Result<FakeKeySet, Error> {
        self.guarded(format!("key-set {name}"), || self.inner.open_key_set(name))
    }
}

const SOURCES: [&str; 2] = ["samples", "testing"];

fn config() -> RestoreConfig {
    RestoreConfig {
        sources: SOURCES.map(String::from).to_vec(),
        backup_id: "1".into(),
        restore_type: "all".into(),
        stream_workers: 2,
        channel_size: 50,
        retry_count: 3,
        retry_average_delay_ms: 1,
        list_retry_count: 3,
        checkpoint_binary_count: 3,
        skip_existing_streams: false,
    }
}

/// A backup for `seed`: a few streams per source, system bundles, and binary bundles of a
/// few actions, named as backup names them (day-ordered timestamps).
fn backup(seed: u64) -> (FakeHost, BTreeSet<String>, Vec<String>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let host = FakeHost::default();
    let mut streams = BTreeSet::new();
    let mut bundles = Vec::new();
    for source in SOURCES {
        for i in 0..rng.random_range(0..8) {
            let key = format!("{source}/content/{:064x}", seed * 100 + i);
            host.put(Bucket::Streams, &key);
            streams.insert(key);
        }
        for action in ["sourced", "extracted"] {
            for n in 0..rng.random_range(0..5) {
                bundles.push(format!(
                    "{source}/binary/{action}/2025-01-{:02}T00:00:00Z-1-k{n}",
                    n + 1
                ));
            }
        }
    }
    for model in ["insert", "delete"] {
        for n in 0..rng.random_range(0..4) {
            bundles.push(format!(
                "system/{model}/default/2025-02-{:02}T00:00:00Z-1-s{n}",
                n + 1
            ));
        }
    }
    for key in &bundles {
        host.put(Bucket::Events, key);
    }
    (host, streams, bundles)
}

/// One life: the restore until it ends or crashes. Queues are process memory: lost.
fn life(host: &FakeHost, faults: Option<Faults>) -> bool {
    host.clear_queues();
    host.note(LIFE.to_string());
    let sim = SimHost {
        inner: host.clone(),
        faults: Rc::new(RefCell::new(faults)),
        calls: Rc::default(),
        failures_in_a_row: Rc::default(),
    };
    match catch_unwind(AssertUnwindSafe(|| crate::supervisor::run(&sim, &config()))) {
        Ok(result) => {
            assert!(
                sim.faults.borrow().is_some() || result.is_ok(),
                "the fault-free life succeeds: {result:?}"
            );
            false
        }
        Err(payload) if payload.is::<Crash>() => true,
        Err(payload) => resume_unwind(payload),
    }
}

fn simulate(seed: u64) -> (u32, u32, usize) {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let (host, streams, bundles) = backup(seed);
    let (mut lives, mut crashes) = (0, 0);
    for _ in 0..rng.random_range(1..=4) {
        let faults = Faults {
            rng: StdRng::seed_from_u64(rng.random()),
            error_rate: rng.random_range(0.0..0.3),
            crash_rate: rng.random_range(0.0..0.08),
            crashes_left: 1,
        };
        crashes += u32::from(life(&host, Some(faults)));
        lives += 1;
    }
    assert!(!life(&host, None));
    let posted = host.posted();
    check(&posted, &streams, &bundles);
    let posts: Vec<&String> = posted
        .iter()
        .filter(|p| p.starts_with("stream ") || p.starts_with("events "))
        .collect();
    let repeats = posts.len() - posts.iter().collect::<BTreeSet<_>>().len();
    (lives + 1, crashes, repeats)
}

/// Completeness, and order: an event arrives first only after every stream did, and a binary
/// event only after every system bundle — unless, in that life, the policy gave something up
/// (a failed stream does not hold events back; the run then reports it).
fn check(posted: &[String], streams: &BTreeSet<String>, bundles: &[String]) {
    let is_system = |p: &str| p.starts_with("events insert ") || p.starts_with("events delete ");
    let system_total = bundles.iter().filter(|k| k.starts_with("system/")).count();
    let (mut streams_seen, mut system_seen) = (BTreeSet::new(), BTreeSet::new());
    let mut gave_up = false;
    for p in posted {
        if p == LIFE {
            gave_up = false;
        } else if p.starts_with(GAVE_UP) {
            gave_up = true;
        } else if let Some(stream) = p.strip_prefix("stream ") {
            streams_seen.insert(stream);
        } else if p.starts_with("events ") {
            assert!(
                gave_up || streams_seen.len() == streams.len(),
                "{p} posted before every stream\nposted: {posted:?}"
            );
            if is_system(p) {
                system_seen.insert(p.as_str());
            } else {
                assert!(
                    gave_up || system_seen.len() == system_total,
                    "{p} posted before every system bundle\nposted: {posted:?}"
                );
            }
        }
    }
    let first: BTreeMap<&str, usize> = posted
        .iter()
        .enumerate()
        .rev()
        .map(|(i, p)| (p.as_str(), i))
        .collect();
    let at = |what: String| -> usize {
        *first
            .get(what.as_str())
            .unwrap_or_else(|| panic!("never posted: {what}\nposted: {posted:?}"))
    };
    let event_post = |key: &str| {
        let model = key.split('/').nth(1).unwrap_or_default();
        at(format!("events {model} {key}"))
    };
    for key in bundles {
        event_post(key);
    }
    let mut by_type: BTreeMap<String, Vec<&String>> = BTreeMap::new();
    for key in bundles {
        let folder = key.rsplit_once('/').map(|(f, _)| f).unwrap_or_default();
        by_type.entry(folder.to_string()).or_default().push(key);
    }
    for (folder, mut keys) in by_type {
        keys.sort();
        let order: Vec<usize> = keys.iter().map(|k| event_post(k)).collect();
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "{folder}: first arrivals out of key order"
        );
    }
}

#[test]
fn seeded_faults_and_crashes_never_lose_or_reorder_anything() {
    let (seeds, outcomes) = run_seeds::<Crash, _>("guest-restore", simulate);
    let (mut lives, mut crashes, mut repeats) = (0, 0, 0);
    for (l, c, r) in outcomes {
        lives += l;
        crashes += c;
        repeats += r;
    }
    println!(
        "restore simulation: {} seeds, {lives} lives, {crashes} crashes; streams and bundles \
         lost 0, order kept; {repeats} posts repeated after crashes",
        seeds
    );
}
