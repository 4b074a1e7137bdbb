//! A deterministic fake host for policy tests: scripted fetch results, an in-memory store,
//! queues and a clock that advances on sleep. Workers run inline (spawn records them).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};

use crate::host::{
    Batch, Bucket, Encoding, Error, ErrorKind, EventMark, FetchInfo, FetchRequest, Host, Journal,
    Level, Queue, Spool, StreamRef, StreamRequest, Task,
};

#[derive(Clone, Default)]
pub struct FakeBatch {
    pub events: Vec<(String, String)>, // (timestamp, kafka_key)
    pub streams: Vec<StreamRequest>,
    pub ready: bool,
}

impl Batch for FakeBatch {
    fn len(&self) -> u32 {
        self.events.len() as u32
    }
    fn invalid_count(&self) -> u32 {
        0
    }
    fn last_valid(&self) -> Option<EventMark> {
        self.events.last().map(|(t, k)| EventMark {
            timestamp: t.clone(),
            kafka_key: k.clone(),
        })
    }
    fn stream_requests(&self) -> Vec<StreamRequest> {
        self.streams.clone()
    }
    fn info(&self) -> FetchInfo {
        FetchInfo {
            ready: self.ready,
            paused: false,
            filtered: 0,
            fetched: self.len(),
        }
    }
}

#[derive(Default)]
pub struct FakeSpool {
    held: RefCell<Vec<FakeBatch>>,
}

impl Spool for FakeSpool {
    type Batch = FakeBatch;
    fn append(&self, batch: &FakeBatch) -> Result<(), Error> {
        self.held.borrow_mut().push(batch.clone());
        Ok(())
    }
    fn len(&self) -> u32 {
        self.held.borrow().iter().map(Batch::len).sum()
    }
    fn invalid_count(&self) -> u32 {
        0
    }
    fn last_valid(&self) -> Option<EventMark> {
        self.held.borrow().iter().rev().find_map(Batch::last_valid)
    }
    fn stream_requests(&self) -> Vec<StreamRequest> {
        self.held
            .borrow()
            .iter()
            .flat_map(Batch::stream_requests)
            .collect()
    }
    fn clear(&self) -> Result<(), Error> {
        self.held.borrow_mut().clear();
        Ok(())
    }
}

#[derive(Clone, Default)]
pub struct FakeQueue {
    pub items: std::rc::Rc<RefCell<VecDeque<Vec<u8>>>>,
}

impl Queue for FakeQueue {
    fn send(&self, message: &[u8]) -> Result<(), Error> {
        self.items.borrow_mut().push_back(message.to_vec());
        Ok(())
    }
    fn recv(&self) -> Option<Vec<u8>> {
        self.items.borrow_mut().pop_front()
    }
    fn close(&self) {}
}

/// The journal as a multiset of outstanding items.
#[derive(Clone, Default)]
pub struct FakeJournal {
    pub outstanding: std::rc::Rc<RefCell<Vec<String>>>,
    pub recovered: Vec<String>,
}

impl Journal for FakeJournal {
    fn add(&self, items: &[String]) -> Result<(), Error> {
        self.outstanding.borrow_mut().extend_from_slice(items);
        Ok(())
    }
    fn done(&self, item: &str) -> Result<(), Error> {
        let mut o = self.outstanding.borrow_mut();
        if let Some(i) = o.iter().position(|x| x == item) {
            o.remove(i);
        }
        Ok(())
    }
    fn recovered(&self) -> Vec<String> {
        self.recovered.clone()
    }
}

pub struct FakeTask;

impl Task for FakeTask {
    fn join(&self) -> Result<(), String> {
        Ok(())
    }
    fn cancel(&self) {}
}

fn err(kind: ErrorKind, retryable: bool) -> Error {
    Error {
        kind,
        message: format!("{kind:?}"),
        retryable,
    }
}

/// Scripted behaviour plus a record of what the policy did.
#[derive(Default)]
pub struct FakeHost {
    pub fetches: RefCell<VecDeque<Result<FakeBatch, Error>>>,
    pub put_failures: Cell<u32>,
    pub stored: RefCell<BTreeMap<String, u32>>,
    pub lines: RefCell<Vec<(String, String)>>,
    pub queues: RefCell<BTreeMap<String, FakeQueue>>,
    pub metrics: RefCell<BTreeMap<(String, String), u64>>,
    pub clock_ms: Cell<u64>,
    pub seed: Cell<u64>,
    pub journal: FakeJournal,
    pub files: RefCell<BTreeMap<String, String>>,
    pub stop_reason: RefCell<Option<String>>,
    pub event_errors: RefCell<Vec<String>>,
    /// sha256s whose download fails (transient) or is missing (404).
    pub failing: RefCell<Vec<String>>,
    pub missing: RefCell<Vec<String>>,
}

impl FakeHost {
    pub fn metric_value(&self, source: &str, stat: &str) -> u64 {
        self.metrics
            .borrow()
            .get(&(source.to_string(), stat.to_string()))
            .copied()
            .unwrap_or(0)
    }

    pub fn transient() -> Error {
        err(ErrorKind::Transient, true)
    }
}

impl Host for FakeHost {
    type Batch = FakeBatch;
    type Spool = FakeSpool;
    type Body = StreamRef;
    type Queue = FakeQueue;
    type Task = FakeTask;
    type Journal = FakeJournal;

    fn log(&self, _level: Level, _message: &str) {}
    fn monotonic_ms(&self) -> u64 {
        self.clock_ms.get()
    }
    fn sleep_ms(&self, ms: u64) {
        self.clock_ms.set(self.clock_ms.get() + ms);
    }
    fn random_u64(&self) -> u64 {
        // xorshift: deterministic jitter
        let mut x = self.seed.get() | 1;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed.set(x);
        x
    }
    fn metric(&self, source: &str, stat: &str, delta: u64) {
        *self
            .metrics
            .borrow_mut()
            .entry((source.into(), stat.into()))
            .or_default() += delta;
    }
    fn event_error(&self, source: &str, event: &str, keyword: &str) {
        self.event_errors
            .borrow_mut()
            .push(format!("{source} {event} {keyword}"));
    }
    fn object_error(&self, _keyword: &str) {}
    fn stream_exists(&self, _stream: &StreamRef) -> Result<bool, Error> {
        Ok(false)
    }
    fn open_journal(&self, _name: &str) -> Result<FakeJournal, Error> {
        Ok(self.journal.clone())
    }
    fn read_state(&self, name: &str) -> Result<Option<String>, Error> {
        Ok(self.files.borrow().get(name).cloned())
    }
    fn remove_state(&self, name: &str) -> Result<(), Error> {
        self.files.borrow_mut().remove(name);
        Ok(())
    }
    fn write_state(&self, name: &str, content: &str) -> Result<(), Error> {
        self.files.borrow_mut().insert(name.into(), content.into());
        Ok(())
    }
    fn request_stop(&self, reason: &str) {
        self.stop_reason
            .borrow_mut()
            .get_or_insert_with(|| reason.to_string());
    }
    fn fetch_events(&self, _request: &FetchRequest) -> Result<FakeBatch, Error> {
        self.fetches
            .borrow_mut()
            .pop_front()
            .unwrap_or(Ok(FakeBatch {
                ready: true,
                ..Default::default()
            }))
    }
    fn open_stream(&self, stream: &StreamRef) -> Result<StreamRef, Error> {
        if self.failing.borrow().contains(&stream.sha256) {
            return Err(Self::transient());
        }
        if self.missing.borrow().contains(&stream.sha256) {
            return Err(err(ErrorKind::NotFound, false));
        }
        Ok(stream.clone())
    }
    fn put(
        &self,
        _bucket: Bucket,
        key: &str,
        _body: StreamRef,
        _encoding: Encoding,
    ) -> Result<u64, Error> {
        self.stored.borrow_mut().insert(key.into(), 1);
        Ok(1)
    }
    fn put_spool(&self, key: &str, spool: &FakeSpool) -> Result<u64, Error> {
        if self.put_failures.get() > 0 {
            self.put_failures.set(self.put_failures.get() - 1);
            return Err(Self::transient());
        }
        self.stored.borrow_mut().insert(key.into(), spool.len());
        Ok(u64::from(spool.len()))
    }
    fn exists(&self, _bucket: Bucket, key: &str) -> Result<bool, Error> {
        Ok(self.stored.borrow().contains_key(key))
    }
    fn open_spool(&self, _name: &str, _model: &str) -> Result<FakeSpool, Error> {
        Ok(FakeSpool::default())
    }
    fn append_line(&self, name: &str, line: &str) -> Result<(), Error> {
        self.lines.borrow_mut().push((name.into(), line.into()));
        self.files
            .borrow_mut()
            .entry(name.into())
            .or_default()
            .push_str(&format!("{line}\n"));
        Ok(())
    }
    fn open_queue(&self, name: &str, _capacity: u32) -> FakeQueue {
        self.queues
            .borrow_mut()
            .entry(name.into())
            .or_default()
            .clone()
    }
    fn spawn(&self, _role: &str, _args: &[u8]) -> Result<FakeTask, Error> {
        Ok(FakeTask)
    }
    fn cancelled(&self) -> bool {
        false
    }
    fn shutdown_requested(&self) -> bool {
        self.stop_reason.borrow().is_some()
    }
}
