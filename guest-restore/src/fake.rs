//! A deterministic fake host for restore policy tests: an in-memory bucket, a recording
//! dispatcher with scripted failures, state files, and workers that run when joined.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use crate::host::{
    Bucket, Encoding, Error, ErrorKind, Host, Level, ObjectInfo, PostFailure, PostResult, Queue,
    StreamRef, Task,
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

    pub fn metric(&self, source: &str, stat: &str) -> u64 {
        self.0
            .borrow()
            .metrics
            .get(&(source.to_string(), stat.to_string()))
            .copied()
            .unwrap_or(0)
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
        crate::supervisor::run_worker(&self.host, &self.role, &self.args)
    }
}

impl Host for FakeHost {
    /// A body is the key it was read from.
    type Body = String;
    type Queue = FakeQueue;
    type Task = FakeTask;

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
        })
    }
    fn post_events_singly(
        &self,
        model: &str,
        body: &String,
        first: u32,
    ) -> Result<PostResult, Error> {
        self.post(format!("singly {model} {body} from {first}"), body)?;
        let failures = vec![PostFailure {
            event: "{\"kafka_key\":\"x\"}".into(),
            error: "invalid event".into(),
        }];
        Ok(PostResult {
            sent: 3 - first,
            total_ok: 3 - first - 1,
            total_failures: 1,
            failures,
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
}
