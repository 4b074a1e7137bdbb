//! A deterministic fake host for restore policy tests: an in-memory bucket, a recording
//! dispatcher with scripted failures, state files, key sets, and workers that run when joined.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;

use crate::host::{
    Bucket, BundleContent, BundleSummary, Encoding, Error, ErrorKind, Host, KeySet, Level,
    ObjectCheck, ObjectInfo, PostFailure, PostResult, Queue, StreamRef, Task,
};

#[derive(Default)]
pub struct State {
    pub objects: BTreeMap<(u8, String), Vec<u8>>,
    /// Every post in order: `stream <source>/<label>/<sha>` or `events <model> <key>`.
    pub posted: Vec<String>,
    /// Keys whose post fails with this error kind (and retryable flag), every time.
    pub failing: BTreeMap<String, (ErrorKind, bool)>,
    pub files: BTreeMap<String, String>,
    pub queues: BTreeMap<String, Rc<RefCell<VecDeque<Vec<u8>>>>>,
    pub metrics: BTreeMap<(String, String), u64>,
    pub stop_after_posts: Option<usize>,
    /// What `inspect-bundle` finds in an events object; an object without one is not gzip.
    pub bundles: BTreeMap<String, BundleContent>,
    /// What a stream object's content hashes to, when not the sha256 its key names.
    pub hashes: BTreeMap<String, String>,
    pub key_sets: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Clone, Default)]
pub struct FakeHost(pub Rc<RefCell<State>>);

fn bucket_id(b: Bucket) -> u8 {
    match b {
        Bucket::Events => 0,
        Bucket::Streams => 1,
    }
}

impl FakeHost {
    pub fn put(&self, bucket: Bucket, key: &str) {
        self.0.borrow_mut().objects.insert(
            (bucket_id(bucket), key.to_string()),
            key.as_bytes().to_vec(),
        );
    }

    /// A bundle of `events` events referencing `streams` (`<source>/<label>/<sha256>`).
    pub fn put_bundle(&self, key: &str, events: u32, invalid: u32, streams: &[&str]) {
        self.put(Bucket::Events, key);
        let stream_refs = streams
            .iter()
            .map(|s| {
                let mut parts = s.splitn(3, '/');
                let mut next = || parts.next().unwrap_or_default().to_string();
                StreamRef {
                    source: next(),
                    label: next(),
                    sha256: next(),
                }
            })
            .collect();
        let summary = BundleSummary {
            events,
            invalid,
            stream_refs,
        };
        self.0
            .borrow_mut()
            .bundles
            .insert(key.into(), BundleContent::Decoded(summary));
    }

    pub fn remove(&self, bucket: Bucket, key: &str) {
        self.0
            .borrow_mut()
            .objects
            .remove(&(bucket_id(bucket), key.to_string()));
    }

    /// The scripted failure of `key`, if any.
    fn scripted(&self, key: &str) -> Result<(), Error> {
        match self.0.borrow().failing.get(key) {
            Some((kind, retryable)) => Err(Error {
                kind: *kind,
                message: format!("scripted {kind:?} for {key}"),
                retryable: *retryable,
            }),
            None => Ok(()),
        }
    }

    fn object(&self, bucket: Bucket, key: &str) -> Result<usize, Error> {
        self.scripted(key)?;
        match self
            .0
            .borrow()
            .objects
            .get(&(bucket_id(bucket), key.to_string()))
        {
            Some(content) => Ok(content.len()),
            None => Err(Error {
                kind: ErrorKind::NotFound,
                message: key.into(),
                retryable: false,
            }),
        }
    }

    pub fn metric(&self, source: &str, stat: &str) -> u64 {
        self.0
            .borrow()
            .metrics
            .get(&(source.to_string(), stat.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Adds a line to the log of posts (simulation markers).
    pub fn note(&self, line: String) {
        self.0.borrow_mut().posted.push(line);
    }

    /// Queues live in process memory: a crash loses them.
    pub fn clear_queues(&self) {
        self.0.borrow_mut().queues.clear();
    }

    pub fn posted(&self) -> Vec<String> {
        self.0.borrow().posted.clone()
    }

    fn post(&self, what: String, key: &str) -> Result<(), Error> {
        let mut s = self.0.borrow_mut();
        if let Some((kind, retryable)) = s.failing.get(key) {
            return Err(Error {
                kind: *kind,
                message: format!("scripted {kind:?} for {key}"),
                retryable: *retryable,
            });
        }
        s.posted.push(what);
        Ok(())
    }
}

#[derive(Clone)]
pub struct FakeQueue(Rc<RefCell<VecDeque<Vec<u8>>>>);

impl Queue for FakeQueue {
    fn send(&self, message: &[u8]) -> Result<(), Error> {
        self.0.borrow_mut().push_back(message.to_vec());
        Ok(())
    }
    fn recv(&self) -> Option<Vec<u8>> {
        self.0.borrow_mut().pop_front()
    }
    fn close(&self) {}
}

pub struct FakeTask {
    host: FakeHost,
    role: String,
    args: Vec<u8>,
}

impl Task for FakeTask {
    fn join(&self) -> Result<(), String> {
        crate::run_worker(&self.host, &self.role, &self.args)
    }
}

pub struct FakeKeySet {
    host: FakeHost,
    name: String,
}

impl FakeKeySet {
    fn with<T>(&self, f: impl FnOnce(&mut BTreeSet<String>) -> T) -> T {
        f(self
            .host
            .0
            .borrow_mut()
            .key_sets
            .entry(self.name.clone())
            .or_default())
    }
}

impl KeySet for FakeKeySet {
    fn add(&self, keys: &[String]) -> Result<(), Error> {
        self.with(|set| set.extend(keys.iter().cloned()));
        Ok(())
    }
    fn flush(&self) -> Result<(), Error> {
        Ok(())
    }
    fn sorted(&self, start_after: Option<&str>, limit: u32) -> Result<Vec<String>, Error> {
        Ok(self.with(|set| {
            set.iter()
                .filter(|k| start_after.is_none_or(|a| k.as_str() > a))
                .take(limit as usize)
                .cloned()
                .collect()
        }))
    }
    fn clear(&self) -> Result<(), Error> {
        self.with(|set| set.clear());
        Ok(())
    }
}

impl Host for FakeHost {
    /// A body is the key it was read from.
    type Body = String;
    type Queue = FakeQueue;
    type Task = FakeTask;
    type KeySet = FakeKeySet;

    fn log(&self, _level: Level, _message: &str) {}
    fn sleep_ms(&self, _ms: u64) {}
    fn random_u64(&self) -> u64 {
        4
    }
    fn metric(&self, source: &str, stat: &str, delta: u64) {
        *self
            .0
            .borrow_mut()
            .metrics
            .entry((source.into(), stat.into()))
            .or_default() += delta;
    }
    fn list(
        &self,
        bucket: Bucket,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ObjectInfo>, Error> {
        let s = self.0.borrow();
        Ok(s.objects
            .keys()
            .filter(|(b, k)| {
                *b == bucket_id(bucket)
                    && k.starts_with(prefix)
                    && start_after.is_none_or(|a| k.as_str() > a)
            })
            .take(limit as usize)
            .map(|(_, k)| ObjectInfo {
                key: k.clone(),
                size: 1,
            })
            .collect())
    }
    fn open(&self, bucket: Bucket, key: &str, _encoding: Encoding) -> Result<String, Error> {
        match self
            .0
            .borrow()
            .objects
            .contains_key(&(bucket_id(bucket), key.to_string()))
        {
            true => Ok(key.to_string()),
            false => Err(Error {
                kind: ErrorKind::NotFound,
                message: key.into(),
                retryable: false,
            }),
        }
    }
    fn post_stream(&self, stream: &StreamRef, body: &String) -> Result<(), Error> {
        self.post(
            format!(
                "stream {}/{}/{}",
                stream.source, stream.label, stream.sha256
            ),
            body,
        )
    }
    fn post_events(&self, model: &str, body: &String) -> Result<PostResult, Error> {
        self.post(format!("events {model} {body}"), body)?;
        // A bundle whose name ends in "-truncated" holds 3 events; the dispatcher takes 1.
        let (sent, ok) = if body.ends_with("-truncated") {
            (3, 1)
        } else {
            (1, 1)
        };
        Ok(PostResult {
            sent,
            total_ok: ok,
            total_failures: 0,
            failures: Vec::new(),
            skipped: Vec::new(),
        })
    }
    fn post_events_singly(
        &self,
        model: &str,
        body: &String,
        first: u32,
    ) -> Result<PostResult, Error> {
        let event = || "{\"kafka_key\":\"x\"}".to_string();
        // A bundle scripted as filtered: its one event was dropped on purpose (aged off).
        if self
            .0
            .borrow()
            .failing
            .get(body)
            .is_some_and(|(kind, _)| *kind == ErrorKind::Filtered)
        {
            self.0
                .borrow_mut()
                .posted
                .push(format!("singly {model} {body} from {first}"));
            let skipped = vec![PostFailure {
                event: event(),
                error: "aged off".into(),
            }];
            return Ok(PostResult {
                sent: 1,
                total_ok: 0,
                total_failures: 0,
                failures: Vec::new(),
                skipped,
            });
        }
        self.post(format!("singly {model} {body} from {first}"), body)?;
        let failures = vec![PostFailure {
            event: event(),
            error: "invalid event".into(),
        }];
        Ok(PostResult {
            sent: 3 - first,
            total_ok: 3 - first - 1,
            total_failures: 1,
            failures,
            skipped: Vec::new(),
        })
    }
    fn read_state(&self, name: &str) -> Result<Option<String>, Error> {
        Ok(self.0.borrow().files.get(name).cloned())
    }
    fn write_state(&self, name: &str, content: &str) -> Result<(), Error> {
        self.0
            .borrow_mut()
            .files
            .insert(name.into(), content.into());
        Ok(())
    }
    fn append_line(&self, name: &str, line: &str) -> Result<(), Error> {
        self.0
            .borrow_mut()
            .files
            .entry(name.into())
            .or_default()
            .push_str(&format!("{line}\n"));
        Ok(())
    }
    fn open_queue(&self, name: &str, _capacity: u32) -> FakeQueue {
        FakeQueue(
            self.0
                .borrow_mut()
                .queues
                .entry(name.into())
                .or_default()
                .clone(),
        )
    }
    fn spawn(&self, role: &str, args: &[u8]) -> Result<FakeTask, Error> {
        Ok(FakeTask {
            host: self.clone(),
            role: role.into(),
            args: args.to_vec(),
        })
    }
    fn stop_requested(&self) -> bool {
        let s = self.0.borrow();
        s.stop_after_posts.is_some_and(|n| s.posted.len() >= n)
    }
    fn exists(&self, bucket: Bucket, key: &str) -> Result<bool, Error> {
        self.scripted(key)?;
        let id = (bucket_id(bucket), key.to_string());
        Ok(self.0.borrow().objects.contains_key(&id))
    }
    fn inspect_bundle(&self, key: &str) -> Result<BundleContent, Error> {
        self.object(Bucket::Events, key)?;
        match self.0.borrow().bundles.get(key) {
            Some(content) => Ok(content.clone()),
            None => Err(Error {
                kind: ErrorKind::Corrupt,
                message: format!("{key}: not valid gzip"),
                retryable: false,
            }),
        }
    }
    /// Content hashes to the sha256 its key names unless `hashes` says otherwise.
    fn check_object(
        &self,
        bucket: Bucket,
        key: &str,
        _encoding: Encoding,
    ) -> Result<ObjectCheck, Error> {
        let len = self.object(bucket, key)? as u64;
        let named = crate::streams::parse_key(key).map(|s| s.sha256);
        let sha256 = self.0.borrow().hashes.get(key).cloned();
        Ok(ObjectCheck {
            stored_bytes: len,
            plain_bytes: len,
            sha256: sha256.or(named).unwrap_or_default(),
        })
    }
    fn open_key_set(&self, name: &str) -> Result<FakeKeySet, Error> {
        Ok(FakeKeySet {
            host: self.clone(),
            name: name.into(),
        })
    }
}
