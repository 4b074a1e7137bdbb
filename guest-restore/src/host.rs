//! The capabilities restore uses, as a small trait: the real imports ([`WasmHost`]) or a
//! fake in tests.

pub use crate::azul::backup::dispatcher::{PostFailure, PostResult};
pub use crate::azul::backup::log::Level;
pub use crate::azul::backup::store::{
    Bucket, BundleContent, BundleSummary, ObjectCheck, ObjectInfo,
};
pub use crate::azul::backup::types::{Encoding, Error, ErrorKind, StreamRef};
use crate::azul::backup::{clock, dispatcher, log, metrics, queues, statedir, store, tasks, types};

pub trait Queue {
    fn send(&self, message: &[u8]) -> Result<(), Error>;
    fn recv(&self) -> Option<Vec<u8>>;
    fn close(&self);
}

pub trait Task {
    fn join(&self) -> Result<(), String>;
}

/// A set of keys kept on disk by the host, shared by name between workers.
pub trait KeySet {
    fn add(&self, keys: &[String]) -> Result<(), Error>;
    fn flush(&self) -> Result<(), Error>;
    fn sorted(&self, start_after: Option<&str>, limit: u32) -> Result<Vec<String>, Error>;
    fn clear(&self) -> Result<(), Error>;
}

pub trait Host {
    type Body;
    type Queue: Queue;
    type Task: Task;
    type KeySet: KeySet;

    fn log(&self, level: Level, message: &str);
    fn sleep_ms(&self, ms: u64);
    fn random_u64(&self) -> u64;
    fn metric(&self, source: &str, stat: &str, delta: u64);
    fn list(
        &self,
        bucket: Bucket,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ObjectInfo>, Error>;
    fn open(&self, bucket: Bucket, key: &str, encoding: Encoding) -> Result<Self::Body, Error>;
    fn post_stream(&self, stream: &StreamRef, body: &Self::Body) -> Result<(), Error>;
    fn post_events(&self, model: &str, body: &Self::Body) -> Result<PostResult, Error>;
    fn post_events_singly(
        &self,
        model: &str,
        body: &Self::Body,
        first: u32,
    ) -> Result<PostResult, Error>;
    fn read_state(&self, name: &str) -> Result<Option<String>, Error>;
    fn write_state(&self, name: &str, content: &str) -> Result<(), Error>;
    fn append_line(&self, name: &str, line: &str) -> Result<(), Error>;
    fn open_queue(&self, name: &str, capacity: u32) -> Self::Queue;
    fn spawn(&self, role: &str, args: &[u8]) -> Result<Self::Task, Error>;
    fn stop_requested(&self) -> bool;
    fn exists(&self, bucket: Bucket, key: &str) -> Result<bool, Error>;
    fn inspect_bundle(&self, key: &str) -> Result<BundleContent, Error>;
    fn check_object(
        &self,
        bucket: Bucket,
        key: &str,
        encoding: Encoding,
    ) -> Result<ObjectCheck, Error>;
    fn open_key_set(&self, name: &str) -> Result<Self::KeySet, Error>;
}

pub struct WasmHost;

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
}

impl KeySet for statedir::KeySet {
    fn add(&self, keys: &[String]) -> Result<(), Error> {
        statedir::KeySet::add(self, keys)
    }
    fn flush(&self) -> Result<(), Error> {
        statedir::KeySet::flush(self)
    }
    fn sorted(&self, start_after: Option<&str>, limit: u32) -> Result<Vec<String>, Error> {
        statedir::KeySet::sorted(self, start_after, limit)
    }
    fn clear(&self) -> Result<(), Error> {
        statedir::KeySet::clear(self)
    }
}

impl Host for WasmHost {
    type Body = types::Body;
    type Queue = queues::Queue;
    type Task = tasks::Task;
    type KeySet = statedir::KeySet;

    fn log(&self, level: Level, message: &str) {
        log::log(level, message)
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
    fn list(
        &self,
        bucket: Bucket,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ObjectInfo>, Error> {
        store::list(bucket, prefix, start_after, limit)
    }
    fn open(&self, bucket: Bucket, key: &str, encoding: Encoding) -> Result<types::Body, Error> {
        store::open(bucket, key, encoding)
    }
    fn post_stream(&self, stream: &StreamRef, body: &types::Body) -> Result<(), Error> {
        dispatcher::post_stream(stream, body)
    }
    fn post_events(&self, model: &str, body: &types::Body) -> Result<PostResult, Error> {
        dispatcher::post_events(model, body)
    }
    fn post_events_singly(
        &self,
        model: &str,
        body: &types::Body,
        first: u32,
    ) -> Result<PostResult, Error> {
        dispatcher::post_events_singly(model, body, first)
    }
    fn read_state(&self, name: &str) -> Result<Option<String>, Error> {
        statedir::read(name)
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
    fn stop_requested(&self) -> bool {
        tasks::cancelled() || tasks::shutdown_requested()
    }
    fn exists(&self, bucket: Bucket, key: &str) -> Result<bool, Error> {
        store::exists(bucket, key)
    }
    fn inspect_bundle(&self, key: &str) -> Result<BundleContent, Error> {
        store::inspect_bundle(key)
    }
    fn check_object(
        &self,
        bucket: Bucket,
        key: &str,
        encoding: Encoding,
    ) -> Result<ObjectCheck, Error> {
        store::check_object(bucket, key, encoding)
    }
    fn open_key_set(&self, name: &str) -> Result<statedir::KeySet, Error> {
        statedir::open_key_set(name)
    }
}
