//! The backup policy compiled natively and run against the real host: an adapter from the
//! policy's `Host` trait to the host's capability implementations (the same code the wasm
//! component's imports reach), so that a run of it differs from a run of the component only
//! by wasm — no sandbox, no lifting and lowering, no wasm execution. Workers are threads, each
//! with its own host state, as each wasm worker has its own Store.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use azul_backup::capabilities::{
    HostState, batch::EventBatch, body::Body, journal::JournalHandle, queues::QueueHandle,
    statedir::Spool,
};
use azul_backup::run::RunContext;
use azul_backup::runtime::bindings::{
    clock, dispatcher, log, metrics, queues, statedir, store, types,
};
use guest_backup::host as g;
use tokio::runtime::Handle;
use wasmtime::component::Resource;

type State = Rc<RefCell<HostState>>;

fn kind(k: types::ErrorKind) -> g::ErrorKind {
    use types::ErrorKind as H;
    match k {
        H::NotFound => g::ErrorKind::NotFound,
        H::Rejected => g::ErrorKind::Rejected,
        H::Filtered => g::ErrorKind::Filtered,
        H::Transient => g::ErrorKind::Transient,
        H::Corrupt => g::ErrorKind::Corrupt,
        H::Io => g::ErrorKind::Io,
        H::InvalidInput => g::ErrorKind::InvalidInput,
        H::Closed => g::ErrorKind::Closed,
    }
}

fn error(e: types::Error) -> g::Error {
    g::Error {
        kind: kind(e.kind),
        message: e.message,
        retryable: e.retryable,
    }
}

/// A host call's own failure (a trap in the wasm path) ends the worker.
fn trap(e: wasmtime::Error) -> ! {
    panic!("host call failed: {e:#}")
}

fn mark(m: types::EventMark) -> g::EventMark {
    g::EventMark {
        timestamp: m.timestamp,
        kafka_key: m.kafka_key,
    }
}

fn stream_to_host(s: &g::StreamRef) -> types::StreamRef {
    types::StreamRef {
        source: s.source.clone(),
        label: s.label.clone(),
        sha256: s.sha256.clone(),
    }
}

fn requests(list: Vec<types::StreamRequest>) -> Vec<g::StreamRequest> {
    list.into_iter()
        .map(|r| g::StreamRequest {
            event_id: r.event_id,
            stream: g::StreamRef {
                source: r.stream.source,
                label: r.stream.label,
                sha256: r.stream.sha256,
            },
        })
        .collect()
}

fn bucket(b: g::Bucket) -> store::Bucket {
    match b {
        g::Bucket::Events => store::Bucket::Events,
        g::Bucket::Streams => store::Bucket::Streams,
    }
}

/// One worker's view of the host: its state, and the runtime to wait on.
#[derive(Clone)]
pub struct NativeHost {
    state: State,
    run: Arc<RunContext>,
    rt: Handle,
    cancelled: Arc<AtomicBool>,
}

impl NativeHost {
    /// `cancelled`: set by the worker's owner (`Task::cancel`).
    pub fn new(run: Arc<RunContext>, rt: Handle, cancelled: Arc<AtomicBool>) -> Self {
        NativeHost {
            state: Rc::new(RefCell::new(HostState::new(run.clone(), cancelled.clone()))),
            run,
            rt,
            cancelled,
        }
    }

    /// Runs a host call to completion on this worker's state.
    fn call<T>(&self, f: impl AsyncFnOnce(&mut HostState) -> wasmtime::Result<T>) -> T {
        let mut state = self.state.borrow_mut();
        self.rt.block_on(f(&mut state)).unwrap_or_else(|e| trap(e))
    }
}

/// A host resource of this worker, by its handle.
pub struct Res<T: 'static> {
    host: NativeHost,
    rep: u32,
    _kind: std::marker::PhantomData<T>,
}

impl<T: 'static> Res<T> {
    fn new(host: &NativeHost, owned: Resource<T>) -> Self {
        Res {
            host: host.clone(),
            rep: owned.rep(),
            _kind: std::marker::PhantomData,
        }
    }

    fn borrow(&self) -> Resource<T> {
        Resource::new_borrow(self.rep)
    }
}

/// A fetched batch, removed from the worker's state when the policy drops it (as the
/// component's drop of its handle does): batches hold the fetched bytes.
pub struct NativeBatch(Res<EventBatch>);

impl NativeBatch {
    fn borrow(&self) -> Resource<EventBatch> {
        self.0.borrow()
    }
}

impl Drop for NativeBatch {
    fn drop(&mut self) {
        let own = Resource::<EventBatch>::new_own(self.0.rep);
        self.0
            .host
            .call(async |s| types::HostEventBatch::drop(s, own).await);
    }
}
pub type NativeSpool = Res<Spool>;
pub type NativeJournal = Res<JournalHandle>;
pub type NativeQueue = Res<QueueHandle>;
pub type NativeBody = Res<Body>;

impl g::Batch for NativeBatch {
    fn len(&self) -> u32 {
        self.0
            .host
            .call(async |s| types::HostEventBatch::len(s, self.borrow()).await)
    }
    fn invalid_count(&self) -> u32 {
        self.0
            .host
            .call(async |s| types::HostEventBatch::invalid_count(s, self.borrow()).await)
    }
    fn last_valid(&self) -> Option<g::EventMark> {
        self.0
            .host
            .call(async |s| types::HostEventBatch::last_valid(s, self.borrow()).await)
            .map(mark)
    }
    fn stream_requests(&self) -> Vec<g::StreamRequest> {
        requests(
            self.0
                .host
                .call(async |s| types::HostEventBatch::stream_requests(s, self.borrow()).await),
        )
    }
    fn info(&self) -> g::FetchInfo {
        let i = self
            .0
            .host
            .call(async |s| types::HostEventBatch::info(s, self.borrow()).await);
        g::FetchInfo {
            ready: i.ready,
            paused: i.paused,
            filtered: i.filtered,
            fetched: i.fetched,
        }
    }
}

impl g::Spool for NativeSpool {
    type Batch = NativeBatch;
    fn append(&self, batch: &NativeBatch) -> Result<(), g::Error> {
        self.host
            .call(async |s| statedir::HostSpool::append(s, self.borrow(), batch.borrow()).await)
            .map_err(error)
    }
    fn len(&self) -> u32 {
        self.host
            .call(async |s| statedir::HostSpool::len(s, self.borrow()).await)
    }
    fn invalid_count(&self) -> u32 {
        self.host
            .call(async |s| statedir::HostSpool::invalid_count(s, self.borrow()).await)
    }
    fn last_valid(&self) -> Option<g::EventMark> {
        self.host
            .call(async |s| statedir::HostSpool::last_valid(s, self.borrow()).await)
            .map(mark)
    }
    fn stream_requests(&self) -> Vec<g::StreamRequest> {
        requests(
            self.host
                .call(async |s| statedir::HostSpool::stream_requests(s, self.borrow()).await),
        )
    }
    fn clear(&self) -> Result<(), g::Error> {
        self.host
            .call(async |s| statedir::HostSpool::clear(s, self.borrow()).await)
            .map_err(error)
    }
}

impl g::Journal for NativeJournal {
    fn add(&self, items: &[String]) -> Result<(), g::Error> {
        self.host
            .call(async |s| statedir::HostJournal::add(s, self.borrow(), items.to_vec()).await)
            .map_err(error)
    }
    fn done(&self, item: &str) -> Result<(), g::Error> {
        self.host
            .call(async |s| statedir::HostJournal::done(s, self.borrow(), item.to_string()).await)
            .map_err(error)
    }
    fn recovered(&self) -> Vec<String> {
        self.host
            .call(async |s| statedir::HostJournal::recovered(s, self.borrow()).await)
    }
}

impl g::Queue for NativeQueue {
    fn send(&self, message: &[u8]) -> Result<(), g::Error> {
        self.host
            .call(async |s| queues::HostQueue::send(s, self.borrow(), message.to_vec()).await)
            .map_err(error)
    }
    fn recv(&self) -> Option<Vec<u8>> {
        self.host
            .call(async |s| queues::HostQueue::recv(s, self.borrow()).await)
    }
    fn close(&self) {
        self.host
            .call(async |s| queues::HostQueue::close(s, self.borrow()).await)
    }
}

/// A worker thread.
pub struct NativeTask {
    join: Mutex<Option<std::thread::JoinHandle<Result<(), String>>>>,
    cancelled: Arc<AtomicBool>,
}

impl g::Task for NativeTask {
    fn join(&self) -> Result<(), String> {
        let handle = self.join.lock().unwrap().take();
        match handle.map(|h| h.join()) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err("worker panicked".into()),
            None => Err("worker already joined".into()),
        }
    }
    fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }
}

impl g::Host for NativeHost {
    type Batch = NativeBatch;
    type Spool = NativeSpool;
    type Body = NativeBody;
    type Queue = NativeQueue;
    type Task = NativeTask;
    type Journal = NativeJournal;

    fn log(&self, level: g::Level, message: &str) {
        let level = match level {
            g::Level::Trace => log::Level::Trace,
            g::Level::Debug => log::Level::Debug,
            g::Level::Info => log::Level::Info,
            g::Level::Warn => log::Level::Warn,
            g::Level::Error => log::Level::Error,
        };
        self.call(async |s| log::Host::log(s, level, message.to_string()).await)
    }
    fn monotonic_ms(&self) -> u64 {
        self.call(async |s| clock::Host::monotonic_ms(s).await)
    }
    fn sleep_ms(&self, ms: u64) {
        self.call(async |s| clock::Host::sleep_ms(s, ms).await)
    }
    fn random_u64(&self) -> u64 {
        self.call(async |s| clock::Host::random_u64(s).await)
    }
    fn metric(&self, source: &str, stat: &str, delta: u64) {
        self.call(async |s| metrics::Host::add(s, source.into(), stat.into(), delta).await)
    }
    fn event_error(&self, source: &str, event: &str, keyword: &str) {
        self.call(async |s| {
            metrics::Host::event_error(s, source.into(), event.into(), keyword.into()).await
        })
    }
    fn object_error(&self, keyword: &str) {
        self.call(async |s| metrics::Host::object_error(s, keyword.into()).await)
    }
    fn fetch_events(&self, r: &g::FetchRequest) -> Result<NativeBatch, g::Error> {
        let request = dispatcher::FetchRequest {
            consumer: r.consumer.clone(),
            version: r.version.clone(),
            model: r.model.clone(),
            source: r.source.clone(),
            action: r.action.clone(),
            count: r.count,
            deadline_secs: r.deadline_secs,
            deployment_key: r.deployment_key.clone(),
        };
        self.call(async |s| dispatcher::Host::fetch_events(s, request).await)
            .map(|b| NativeBatch(Res::new(self, b)))
            .map_err(error)
    }
    fn open_stream(&self, stream: &g::StreamRef) -> Result<NativeBody, g::Error> {
        let stream = stream_to_host(stream);
        self.call(async |s| dispatcher::Host::open_stream(s, stream).await)
            .map(|b| Res::new(self, b))
            .map_err(error)
    }
    fn stream_exists(&self, stream: &g::StreamRef) -> Result<bool, g::Error> {
        let stream = stream_to_host(stream);
        self.call(async |s| dispatcher::Host::stream_exists(s, stream).await)
            .map_err(error)
    }
    fn put(
        &self,
        to: g::Bucket,
        key: &str,
        body: NativeBody,
        encoding: g::Encoding,
    ) -> Result<u64, g::Error> {
        let encoding = match encoding {
            g::Encoding::Identity => types::Encoding::Identity,
            g::Encoding::Gzip => types::Encoding::Gzip,
        };
        // The put takes the body over, as the component's own call does.
        let own = Resource::<Body>::new_own(body.rep);
        std::mem::forget(body);
        self.call(async |s| store::Host::put(s, bucket(to), key.into(), own, encoding).await)
            .map_err(error)
    }
    fn put_spool(&self, key: &str, spool: &NativeSpool) -> Result<u64, g::Error> {
        self.call(async |s| store::Host::put_spool(s, key.into(), spool.borrow()).await)
            .map_err(error)
    }
    fn exists(&self, to: g::Bucket, key: &str) -> Result<bool, g::Error> {
        self.call(async |s| store::Host::exists(s, bucket(to), key.into()).await)
            .map_err(error)
    }
    fn open_spool(&self, name: &str, model: &str) -> Result<NativeSpool, g::Error> {
        self.call(async |s| statedir::Host::open_spool(s, name.into(), model.into()).await)
            .map(|r| Res::new(self, r))
            .map_err(error)
    }
    fn open_journal(&self, name: &str) -> Result<NativeJournal, g::Error> {
        self.call(async |s| statedir::Host::open_journal(s, name.into()).await)
            .map(|r| Res::new(self, r))
            .map_err(error)
    }
    fn read_state(&self, name: &str) -> Result<Option<String>, g::Error> {
        self.call(async |s| statedir::Host::read(s, name.into()).await)
            .map_err(error)
    }
    fn remove_state(&self, name: &str) -> Result<(), g::Error> {
        self.call(async |s| statedir::Host::remove(s, name.into()).await)
            .map_err(error)
    }
    fn write_state(&self, name: &str, content: &str) -> Result<(), g::Error> {
        self.call(async |s| statedir::Host::write_atomic(s, name.into(), content.into()).await)
            .map_err(error)
    }
    fn append_line(&self, name: &str, line: &str) -> Result<(), g::Error> {
        self.call(async |s| statedir::Host::append_line(s, name.into(), line.into()).await)
            .map_err(error)
    }
    fn open_queue(&self, name: &str, capacity: u32) -> NativeQueue {
        let queue = self.call(async |s| queues::Host::open(s, name.into(), capacity).await);
        Res::new(self, queue)
    }
    fn spawn(&self, role: &str, args: &[u8]) -> Result<NativeTask, g::Error> {
        let (run, rt) = (self.run.clone(), self.rt.clone());
        let (role, args) = (role.to_string(), args.to_vec());
        let cancelled = Arc::new(AtomicBool::new(false));
        let flag = cancelled.clone();
        // The host state is not Send: each worker builds its own on its thread.
        let join = std::thread::spawn(move || {
            let host = NativeHost::new(run, rt, flag);
            guest_backup::policy::run_worker(&host, &role, &args)
        });
        Ok(NativeTask {
            join: Mutex::new(Some(join)),
            cancelled,
        })
    }
    fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst) || self.run.shutdown.rapid()
    }
    fn shutdown_requested(&self) -> bool {
        self.run.shutdown.requested()
    }
    fn request_stop(&self, reason: &str) {
        self.run.shutdown.fail(reason)
    }
}

/// The component's configuration record, as the policy's own type.
pub fn guest_config(
    c: &azul_backup::runtime::bindings::config::BackupConfig,
) -> guest_backup::BackupConfig {
    guest_backup::BackupConfig {
        sources: c.sources.clone(),
        backup_id: c.backup_id.clone(),
        deployment_key: c.deployment_key.clone(),
        event_batch_size: c.event_batch_size,
        flush_interval_ms: c.flush_interval_ms,
        fetch_deadline_secs: c.fetch_deadline_secs,
        stream_workers: c.stream_workers,
        channel_size: c.channel_size,
        retry_count: c.retry_count,
        retry_average_delay_ms: c.retry_average_delay_ms,
        consecutive_stream_failures: c.consecutive_stream_failures,
        dedupe_capacity: c.dedupe_capacity,
        until_idle: c.until_idle,
        retry_failed: None,
    }
}
