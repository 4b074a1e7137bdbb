//! The capabilities the policy uses, as a small trait: implemented by the real host
//! imports ([`WasmHost`]) and by a seeded fake in tests.

pub use crate::azul::backup::dispatcher::FetchRequest;
pub use crate::azul::backup::log::Level;
pub use crate::azul::backup::store::Bucket;
pub use crate::azul::backup::types::{
    Encoding, Error, ErrorKind, EventMark, FetchInfo, StreamRef, StreamRequest,
};
use crate::azul::backup::{clock, dispatcher, log, metrics, queues, statedir, store, tasks, types};

pub trait Batch {
    fn len(&self) -> u32;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn invalid_count(&self) -> u32;
    fn last_valid(&self) -> Option<EventMark>;
    fn stream_requests(&self) -> Vec<StreamRequest>;
    fn info(&self) -> FetchInfo;
}

pub trait Spool {
    type Batch;
    fn append(&self, batch: &Self::Batch) -> Result<(), Error>;
    fn len(&self) -> u32;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn invalid_count(&self) -> u32;
    fn last_valid(&self) -> Option<EventMark>;
    fn stream_requests(&self) -> Vec<StreamRequest>;
    fn clear(&self) -> Result<(), Error>;
}

pub trait Journal {
    fn add(&self, items: &[String]) -> Result<(), Error>;
    fn done(&self, item: &str) -> Result<(), Error>;
    fn recovered(&self) -> Vec<String>;
}

pub trait Queue {
    fn send(&self, message: &[u8]) -> Result<(), Error>;
    fn recv(&self) -> Option<Vec<u8>>;
    fn close(&self);
}

pub trait Task {
    fn join(&self) -> Result<(), String>;
    fn cancel(&self);
}

pub trait Host {
    type Batch: Batch;
    type Spool: Spool<Batch = Self::Batch>;
    type Body;
    type Queue: Queue;
    type Task: Task;
    type Journal: Journal;

    fn log(&self, level: Level, message: &str);
    fn monotonic_ms(&self) -> u64;
    fn sleep_ms(&self, ms: u64);
    fn random_u64(&self) -> u64;
    fn metric(&self, source: &str, stat: &str, delta: u64);
    fn event_error(&self, source: &str, event: &str, keyword: &str);
    fn object_error(&self, keyword: &str);
    fn fetch_events(&self, request: &FetchRequest) -> Result<Self::Batch, Error>;
    fn open_stream(&self, stream: &StreamRef) -> Result<Self::Body, Error>;
    fn stream_exists(&self, stream: &StreamRef) -> Result<bool, Error>;
    fn put(
        &self,
        bucket: Bucket,
        key: &str,
        body: Self::Body,
        encoding: Encoding,
    ) -> Result<u64, Error>;
    fn put_spool(&self, key: &str, spool: &Self::Spool) -> Result<u64, Error>;
    fn exists(&self, bucket: Bucket, key: &str) -> Result<bool, Error>;
    fn open_spool(&self, name: &str, model: &str) -> Result<Self::Spool, Error>;
    fn open_journal(&self, name: &str) -> Result<Self::Journal, Error>;
    fn read_state(&self, name: &str) -> Result<Option<String>, Error>;
    fn remove_state(&self, name: &str) -> Result<(), Error>;
    fn write_state(&self, name: &str, content: &str) -> Result<(), Error>;
    fn append_line(&self, name: &str, line: &str) -> Result<(), Error>;
    fn open_queue(&self, name: &str, capacity: u32) -> Self::Queue;
    fn spawn(&self, role: &str, args: &[u8]) -> Result<Self::Task, Error>;
    fn cancelled(&self) -> bool;
    fn shutdown_requested(&self) -> bool;
    fn request_stop(&self, reason: &str);
}

/// The real host, through the component's imports.
pub struct WasmHost;

impl Batch for types::EventBatch {
    fn len(&self) -> u32 {
        types::EventBatch::len(self)
    }
    fn invalid_count(&self) -> u32 {
        types::EventBatch::invalid_count(self)
    }
    fn last_valid(&self) -> Option<EventMark> {
        types::EventBatch::last_valid(self)
    }
    fn stream_requests(&self) -> Vec<StreamRequest> {
        types::EventBatch::stream_requests(self)
    }
    fn info(&self) -> FetchInfo {
        types::EventBatch::info(self)
    }
}

impl Spool for statedir::Spool {
    type Batch = types::EventBatch;
    fn append(&self, batch: &types::EventBatch) -> Result<(), Error> {
        statedir::Spool::append(self, batch)
    }
    fn len(&self) -> u32 {
        statedir::Spool::len(self)
    }
    fn invalid_count(&self) -> u32 {
        statedir::Spool::invalid_count(self)
    }
    fn last_valid(&self) -> Option<EventMark> {
        statedir::Spool::last_valid(self)
    }
    fn stream_requests(&self) -> Vec<StreamRequest> {
        statedir::Spool::stream_requests(self)
    }
    fn clear(&self) -> Result<(), Error> {
        statedir::Spool::clear(self)
    }
}

impl Journal for statedir::Journal {
    fn add(&self, items: &[String]) -> Result<(), Error> {
        statedir::Journal::add(self, items)
    }
    fn done(&self, item: &str) -> Result<(), Error> {
        statedir::Journal::done(self, item)
    }
    fn recovered(&self) -> Vec<String> {
        statedir::Journal::recovered(self)
    }
}

impl Queue for queues::Queue {
    fn send(&self, message: &[u8]) -> Result<(), Error> {
        queues::Queue::send(self, message)
    }
    fn recv(&self) -> Option<Vec<u8>> {
        queues::Queue::recv(self)
    }
    fn close(&self) {
        queues::Queue::close(self)
    }
}

impl Task for tasks::Task {
    fn join(&self) -> Result<(), String> {
        tasks::Task::join(self)
    }
    fn cancel(&self) {
        tasks::Task::cancel(self)
    }
}

impl Host for WasmHost {
    type Batch = types::EventBatch;
    type Spool = statedir::Spool;
    type Body = types::Body;
    type Queue = queues::Queue;
    type Task = tasks::Task;
    type Journal = statedir::Journal;

    fn log(&self, level: Level, message: &str) {
        log::log(level, message)
    }
    fn monotonic_ms(&self) -> u64 {
        clock::monotonic_ms()
    }
    fn sleep_ms(&self, ms: u64) {
        clock::sleep_ms(ms)
    }
    fn random_u64(&self) -> u64 {
        clock::random_u64()
    }
    fn metric(&self, source: &str, stat: &str, delta: u64) {
        metrics::add(source, stat, delta)
    }
    fn event_error(&self, source: &str, event: &str, keyword: &str) {
        metrics::event_error(source, event, keyword)
    }
    fn object_error(&self, keyword: &str) {
        metrics::object_error(keyword)
    }
    fn fetch_events(&self, request: &FetchRequest) -> Result<types::EventBatch, Error> {
        dispatcher::fetch_events(request)
    }
    fn open_stream(&self, stream: &StreamRef) -> Result<types::Body, Error> {
        dispatcher::open_stream(stream)
    }
    fn stream_exists(&self, stream: &StreamRef) -> Result<bool, Error> {
        dispatcher::stream_exists(stream)
    }
    fn put(
        &self,
        bucket: Bucket,
        key: &str,
        body: types::Body,
        encoding: Encoding,
    ) -> Result<u64, Error> {
        store::put(bucket, key, body, encoding)
    }
    fn put_spool(&self, key: &str, spool: &statedir::Spool) -> Result<u64, Error> {
        store::put_spool(key, spool)
    }
    fn exists(&self, bucket: Bucket, key: &str) -> Result<bool, Error> {
        store::exists(bucket, key)
    }
    fn open_spool(&self, name: &str, model: &str) -> Result<statedir::Spool, Error> {
        statedir::open_spool(name, model)
    }
    fn open_journal(&self, name: &str) -> Result<statedir::Journal, Error> {
        statedir::open_journal(name)
    }
    fn read_state(&self, name: &str) -> Result<Option<String>, Error> {
        statedir::read(name)
    }
    fn remove_state(&self, name: &str) -> Result<(), Error> {
        statedir::remove(name)
    }
    fn write_state(&self, name: &str, content: &str) -> Result<(), Error> {
        statedir::write_atomic(name, content)
    }
    fn append_line(&self, name: &str, line: &str) -> Result<(), Error> {
        statedir::append_line(name, line)
    }
    fn open_queue(&self, name: &str, capacity: u32) -> queues::Queue {
        queues::open(name, capacity)
    }
    fn spawn(&self, role: &str, args: &[u8]) -> Result<tasks::Task, Error> {
        tasks::spawn(role, args)
    }
    fn cancelled(&self) -> bool {
        tasks::cancelled()
    }
    fn shutdown_requested(&self) -> bool {
        tasks::shutdown_requested()
    }
    fn request_stop(&self, reason: &str) {
        tasks::request_stop(reason)
    }
}
