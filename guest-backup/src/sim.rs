//! Deterministic simulation of the whole backup policy (supervisor, consumers, dedupe, stream
//! workers) against a seeded host that fails, delays and crashes at every host call.
//!
//! A seed builds a dispatcher (7 consumers, binary events referencing shared streams, some of
//! them missing) and runs "lives": each life runs the policy until it finishes or the host
//! crashes it (a crash unwinds out of a host call, before or after the call took effect, and
//! keeps only what the host keeps on disk or in S3: spools, the journal, state files, objects,
//! the dispatcher's offsets). A last life runs without faults. Then the invariants must hold:
//! every event the dispatcher handed out is in a bundle, unless it was in a fetch answer that a
//! crash destroyed before it reached the spool (the protocol's at-most-once window); bundle
//! keys name their last event and count; every stream a bundle references is stored, or
//! recorded as missing when the dispatcher lacks it; no work is left in spools, journal or
//! `backup.stream`.
//!
//! `SIM_SEEDS=N` runs more seeds; a failure prints its seed, and `SIM_SEED=S` replays one.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind, panic_any, resume_unwind};

use crate::sim_seeds::run_seeds;
use std::rc::Rc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::BackupConfig;
use crate::host::{
    Batch, Bucket, Encoding, Error, ErrorKind, EventMark, FetchInfo, FetchRequest, Host, Journal,
    Level, Queue, Spool, StreamRef, StreamRequest, Task,
};
use crate::streams::{FAILED_FILE, MISSING_FILE};
use crate::supervisor::{self, consumers};

/// The payload of a simulated crash.
struct Crash;

#[derive(Debug, Clone)]
struct Event {
    key: String,
    timestamp: String,
    streams: Vec<StreamRequest>,
}

/// What survives a crash.
#[derive(Default)]
struct Durable {
    topics: BTreeMap<String, Vec<Event>>,
    offsets: BTreeMap<String, usize>,
    /// sha256s the dispatcher holds.
    dispatcher_streams: BTreeSet<String>,
    spools: BTreeMap<String, Vec<Event>>,
    journal: Vec<String>,
    files: BTreeMap<String, String>,
    bundles: BTreeMap<String, Vec<Event>>,
    streams: BTreeSet<String>,
    /// Handed out by a fetch that a crash destroyed before it reached a spool.
    lost_in_flight: BTreeSet<String>,
}

/// Faults of one life.
struct Faults {
    rng: StdRng,
    error_rate: f64,
    crash_rate: f64,
    crashes_left: u32,
}

struct Inner {
    world: RefCell<Durable>,
    faults: RefCell<Option<Faults>>,
    clock: Cell<u64>,
    queues: RefCell<BTreeMap<String, SimQueue>>,
    /// The batch a consumer fetched and has not yet made durable.
    in_flight: RefCell<Vec<String>>,
    stop: Cell<bool>,
    journal_at_start: Vec<String>,
}

#[derive(Clone)]
struct SimHost(Rc<Inner>);

#[derive(Clone, Copy, PartialEq)]
enum When {
    Before,
    After,
}

impl SimHost {
    /// Decides the fate of one host call: `Err` for an injected failure; a crash unwinds.
    fn call(&self, when_ok: impl FnOnce()) -> Result<(), Error> {
        let mut fate = None;
        if let Some(f) = self.0.faults.borrow_mut().as_mut() {
            self.0
                .clock
                .set(self.0.clock.get() + f.rng.random_range(0..40));
            if f.crashes_left > 0 && f.rng.random_bool(f.crash_rate) {
                f.crashes_left -= 1;
                fate = Some(if f.rng.random_bool(0.5) {
                    When::Before
                } else {
                    When::After
                });
            } else if f.rng.random_bool(f.error_rate) {
                return Err(Error {
                    kind: ErrorKind::Transient,
                    message: "injected".into(),
                    retryable: true,
                });
            }
        }
        match fate {
            None => {
                when_ok();
                Ok(())
            }
            Some(when) => {
                if when == When::After {
                    when_ok();
                }
                self.crash()
            }
        }
    }

    fn crash(&self) -> ! {
        let lost = std::mem::take(&mut *self.0.in_flight.borrow_mut());
        self.0.world.borrow_mut().lost_in_flight.extend(lost);
        panic_any(Crash)
    }
}

#[derive(Clone)]
struct SimBatch(Vec<Event>);

fn mark(events: &[Event]) -> Option<EventMark> {
    events.last().map(|e| EventMark {
        timestamp: e.timestamp.clone(),
        kafka_key: e.key.clone(),
    })
}

fn requests(events: &[Event]) -> Vec<StreamRequest> {
    events.iter().flat_map(|e| e.streams.clone()).collect()
}

impl Batch for SimBatch {
    fn len(&self) -> u32 {
        self.0.len() as u32
    }
    fn invalid_count(&self) -> u32 {
        0
    }
    fn last_valid(&self) -> Option<EventMark> {
        mark(&self.0)
    }
    fn stream_requests(&self) -> Vec<StreamRequest> {
        requests(&self.0)
    }
    fn info(&self) -> FetchInfo {
        FetchInfo {
            ready: true,
            paused: false,
            filtered: 0,
            fetched: self.len(),
        }
    }
}

struct SimSpool {
    host: SimHost,
    name: String,
}

impl SimSpool {
    fn held(&self) -> Vec<Event> {
        let world = self.host.0.world.borrow();
        world.spools.get(&self.name).cloned().unwrap_or_default()
    }
}

impl Spool for SimSpool {
    type Batch = SimBatch;
    fn append(&self, batch: &SimBatch) -> Result<(), Error> {
        self.host.call(|| {
            let mut world = self.host.0.world.borrow_mut();
            let spool = world.spools.entry(self.name.clone()).or_default();
            spool.extend(batch.0.iter().cloned());
            self.host.0.in_flight.borrow_mut().clear();
        })
    }
    fn len(&self) -> u32 {
        self.held().len() as u32
    }
    fn invalid_count(&self) -> u32 {
        0
    }
    fn last_valid(&self) -> Option<EventMark> {
        mark(&self.held())
    }
    fn stream_requests(&self) -> Vec<StreamRequest> {
        requests(&self.held())
    }
    fn clear(&self) -> Result<(), Error> {
        self.host.call(|| {
            self.host.0.world.borrow_mut().spools.remove(&self.name);
        })
    }
}

struct SimJournal(SimHost);

impl Journal for SimJournal {
    fn add(&self, items: &[String]) -> Result<(), Error> {
        self.0
            .call(|| self.0.0.world.borrow_mut().journal.extend_from_slice(items))
    }
    fn done(&self, item: &str) -> Result<(), Error> {
        self.0.call(|| {
            let mut world = self.0.0.world.borrow_mut();
            if let Some(i) = world.journal.iter().position(|x| x == item) {
                world.journal.remove(i);
            }
        })
    }
    fn recovered(&self) -> Vec<String> {
        self.0.0.journal_at_start.clone()
    }
}

/// Volatile; the supervisor's order (producers are joined before their consumers run) makes
/// a queue that reports "closed" when empty behave like the host's blocking one.
#[derive(Clone, Default)]
struct SimQueue(Rc<RefCell<VecDeque<Vec<u8>>>>);

impl Queue for SimQueue {
    fn send(&self, message: &[u8]) -> Result<(), Error> {
        self.0.borrow_mut().push_back(message.to_vec());
        Ok(())
    }
    fn recv(&self) -> Option<Vec<u8>> {
        self.0.borrow_mut().pop_front()
    }
    fn close(&self) {}
}

/// Runs its worker when joined: the supervisor joins producers before consumers.
struct SimTask {
    host: SimHost,
    role: String,
    args: Vec<u8>,
}

impl Task for SimTask {
    fn join(&self) -> Result<(), String> {
        supervisor::run_worker(&self.host, &self.role, &self.args)
    }
    fn cancel(&self) {}
}

impl Host for SimHost {
    type Batch = SimBatch;
    type Spool = SimSpool;
    type Body = StreamRef;
    type Queue = SimQueue;
    type Task = SimTask;
    type Journal = SimJournal;

    fn log(&self, _level: Level, _message: &str) {}
    fn monotonic_ms(&self) -> u64 {
        self.0.clock.get()
    }
    fn sleep_ms(&self, ms: u64) {
        self.0.clock.set(self.0.clock.get() + ms);
    }
    fn random_u64(&self) -> u64 {
        self.0.clock.get().wrapping_mul(6364136223846793005)
    }
    fn metric(&self, _source: &str, _stat: &str, _delta: u64) {}
    fn event_error(&self, _source: &str, _event: &str, _keyword: &str) {}
    fn object_error(&self, _keyword: &str) {}

    fn fetch_events(&self, request: &FetchRequest) -> Result<SimBatch, Error> {
        let mut taken = Vec::new();
        self.call(|| {
            let mut world = self.0.world.borrow_mut();
            let at = world.offsets.get(&request.consumer).copied().unwrap_or(0);
            let topic = world
                .topics
                .get(&request.consumer)
                .cloned()
                .unwrap_or_default();
            let n = (request.count as usize).min(3).min(topic.len() - at);
            taken = topic[at..at + n].to_vec();
            world.offsets.insert(request.consumer.clone(), at + n);
            *self.0.in_flight.borrow_mut() = taken.iter().map(|e| e.key.clone()).collect();
        })?;
        Ok(SimBatch(taken))
    }
    fn open_stream(&self, stream: &StreamRef) -> Result<StreamRef, Error> {
        self.call(|| {})?;
        if self
            .0
            .world
            .borrow()
            .dispatcher_streams
            .contains(&stream.sha256)
        {
            Ok(stream.clone())
        } else {
            Err(Error {
                kind: ErrorKind::NotFound,
                message: "404".into(),
                retryable: false,
            })
        }
    }
    fn stream_exists(&self, stream: &StreamRef) -> Result<bool, Error> {
        self.call(|| {})?;
        Ok(self
            .0
            .world
            .borrow()
            .dispatcher_streams
            .contains(&stream.sha256))
    }
    fn put(
        &self,
        _bucket: Bucket,
        key: &str,
        _body: StreamRef,
        _e: Encoding,
    ) -> Result<u64, Error> {
        self.call(|| {
            self.0.world.borrow_mut().streams.insert(key.to_string());
        })?;
        Ok(1)
    }
    fn put_spool(&self, key: &str, spool: &SimSpool) -> Result<u64, Error> {
        let held = spool.held();
        self.call(|| {
            self.0
                .world
                .borrow_mut()
                .bundles
                .insert(key.to_string(), held.clone());
        })?;
        Ok(held.len() as u64)
    }
    fn exists(&self, bucket: Bucket, key: &str) -> Result<bool, Error> {
        self.call(|| {})?;
        let world = self.0.world.borrow();
        Ok(match bucket {
            Bucket::Streams => world.streams.contains(key),
            Bucket::Events => world.bundles.contains_key(key),
        })
    }
    fn open_spool(&self, name: &str, _model: &str) -> Result<SimSpool, Error> {
        self.call(|| {})?;
        Ok(SimSpool {
            host: self.clone(),
            name: name.to_string(),
        })
    }
    fn open_journal(&self, _name: &str) -> Result<SimJournal, Error> {
        self.call(|| {})?;
        Ok(SimJournal(self.clone()))
    }
    fn read_state(&self, name: &str) -> Result<Option<String>, Error> {
        self.call(|| {})?;
        Ok(self.0.world.borrow().files.get(name).cloned())
    }
    fn remove_state(&self, name: &str) -> Result<(), Error> {
        self.call(|| {
            self.0.world.borrow_mut().files.remove(name);
        })
    }
    fn write_state(&self, name: &str, content: &str) -> Result<(), Error> {
        self.call(|| {
            let mut world = self.0.world.borrow_mut();
            world.files.insert(name.to_string(), content.to_string());
        })
    }
    fn append_line(&self, name: &str, line: &str) -> Result<(), Error> {
        self.call(|| {
            let mut world = self.0.world.borrow_mut();
            let file = world.files.entry(name.to_string()).or_default();
            file.push_str(line);
            file.push('\n');
        })
    }
    fn open_queue(&self, name: &str, _capacity: u32) -> SimQueue {
        let mut queues = self.0.queues.borrow_mut();
        queues.entry(name.to_string()).or_default().clone()
    }
    fn spawn(&self, role: &str, args: &[u8]) -> Result<SimTask, Error> {
        Ok(SimTask {
            host: self.clone(),
            role: role.to_string(),
            args: args.to_vec(),
        })
    }
    fn cancelled(&self) -> bool {
        false
    }
    fn shutdown_requested(&self) -> bool {
        self.0.stop.get()
    }
    fn request_stop(&self, _reason: &str) {
        self.0.stop.set(true);
    }
}

fn config() -> BackupConfig {
    BackupConfig {
        sources: vec!["s".into()],
        backup_id: "1".into(),
        deployment_key: "recovery".into(),
        event_batch_size: 4,
        flush_interval_ms: 500,
        fetch_deadline_secs: 1,
        stream_workers: 2,
        channel_size: 100,
        retry_count: 3,
        retry_average_delay_ms: 10,
        consecutive_stream_failures: 5,
        dedupe_capacity: 3,
        until_idle: true,
        retry_failed: None,
    }
}

/// A dispatcher for `seed`: up to 10 events per consumer, binary ones referencing up to two
/// of 12 streams, of which the dispatcher lacks a few.
fn world(seed: u64) -> Durable {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut world = Durable::default();
    let shas: Vec<String> = (0..12).map(|i| format!("{i:064x}")).collect();
    for sha in &shas {
        if rng.random_bool(0.85) {
            world.dispatcher_streams.insert(sha.clone());
        }
    }
    for (c, consumer) in consumers(&config().sources).iter().enumerate() {
        let events = (0..rng.random_range(0..=10))
            .map(|n| {
                let key = format!("k{c}-{n}");
                let streams = if consumer.model == "binary" {
                    (0..rng.random_range(0..=2))
                        .map(|_| StreamRequest {
                            event_id: key.clone(),
                            stream: StreamRef {
                                source: consumer.source.clone(),
                                label: "content".into(),
                                sha256: shas[rng.random_range(0..shas.len())].clone(),
                            },
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                Event {
                    timestamp: format!("2025-01-01T00:{c:02}:{n:02}Z"),
                    key,
                    streams,
                }
            })
            .collect();
        world.topics.insert(consumer.name("1"), events);
    }
    world
}

/// One life: runs the policy until it ends or crashes; returns the durable state.
fn life(world: Durable, faults: Option<Faults>) -> (Durable, bool) {
    let journal_at_start = world.journal.clone();
    let host = SimHost(Rc::new(Inner {
        world: RefCell::new(world),
        faults: RefCell::new(faults),
        clock: Cell::new(0),
        queues: RefCell::default(),
        in_flight: RefCell::default(),
        stop: Cell::new(false),
        journal_at_start,
    }));
    let outcome = catch_unwind(AssertUnwindSafe(|| supervisor::run(&host, &config())));
    let crashed = match outcome {
        Ok(_) => false,
        Err(payload) if payload.is::<Crash>() => true,
        Err(payload) => resume_unwind(payload),
    };
    (host.0.world.replace(Durable::default()), crashed)
}

/// Runs one seed and checks every invariant; the figures are (lives, crashes, lost in flight).
fn simulate(seed: u64) -> (u32, u32, usize) {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let mut world = world(seed);
    let (mut lives, mut crashes) = (0, 0);
    for _ in 0..rng.random_range(1..=4) {
        let faults = Faults {
            rng: StdRng::seed_from_u64(rng.random()),
            error_rate: rng.random_range(0.0..0.2),
            crash_rate: rng.random_range(0.0..0.05),
            crashes_left: 1,
        };
        let (next, crashed) = life(world, Some(faults));
        world = next;
        lives += 1;
        crashes += u32::from(crashed);
    }
    let (world, crashed) = life(world, None);
    assert!(!crashed, "the fault-free life does not crash");
    check(&world);
    (lives + 1, crashes, world.lost_in_flight.len())
}

fn check(world: &Durable) {
    let mut bundled: BTreeSet<&str> = BTreeSet::new();
    for (key, events) in &world.bundles {
        let last = events.last().expect("no empty bundle");
        assert!(
            key.ends_with(&format!(
                "/{}-{}-{}",
                last.timestamp,
                events.len(),
                last.key
            )),
            "bundle {key} is named after its last event and count"
        );
        bundled.extend(events.iter().map(|e| e.key.as_str()));
    }
    for (consumer, events) in &world.topics {
        let offset = world.offsets.get(consumer).copied().unwrap_or(0);
        assert_eq!(offset, events.len(), "{consumer} consumed everything");
        for e in events {
            assert!(
                bundled.contains(e.key.as_str()) || world.lost_in_flight.contains(&e.key),
                "event {} of {consumer} was handed out but is in no bundle",
                e.key
            );
        }
    }
    let missing = world.files.get(MISSING_FILE).cloned().unwrap_or_default();
    for events in world.bundles.values() {
        for r in events.iter().flat_map(|e| &e.streams) {
            let key = format!("{}/{}/{}", r.stream.source, r.stream.label, r.stream.sha256);
            if world.dispatcher_streams.contains(&r.stream.sha256) {
                assert!(world.streams.contains(&key), "stream {key} is stored");
            } else {
                assert!(missing.contains(&key), "stream {key} is recorded missing");
            }
        }
    }
    assert!(world.spools.values().all(Vec::is_empty), "spools are empty");
    assert!(world.journal.is_empty(), "journal: {:?}", world.journal);
    let failed = world.files.get(FAILED_FILE).cloned().unwrap_or_default();
    assert!(failed.trim().is_empty(), "{FAILED_FILE}: {failed}");
}

#[test]
fn seeded_faults_and_crashes_never_lose_an_event_or_a_stream() {
    let (seeds, outcomes) = run_seeds::<Crash, _>("guest-backup", simulate);
    let (mut lives, mut crashes, mut lost) = (0, 0, 0);
    for (l, c, n) in outcomes {
        lives += l;
        crashes += c;
        lost += n;
    }
    println!(
        "backup simulation: {} seeds, {lives} lives, {crashes} crashes; events lost 0, \
         streams lost 0; {lost} events lost in flight (fetched, then crashed before the spool)",
        seeds
    );
}
