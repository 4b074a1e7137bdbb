//! The referenced streams against the stream objects present: two sorted key sets merged a
//! page at a time. A reference without an object is missing; an object without a reference
//! is an orphan.

use std::cmp::Ordering;
use std::collections::VecDeque;

use super::{PAGE, tally::Tally};
use crate::azul::backup::verification::{ProblemKind, VerifyConfig};
use crate::host::{Bucket, Host, KeySet};
use crate::retry::with_retry;

/// A key set read in order, a page at a time.
struct Cursor<'a, K: KeySet> {
    set: &'a K,
    name: &'static str,
    page: VecDeque<String>,
    after: Option<String>,
    exhausted: bool,
}

impl<'a, K: KeySet> Cursor<'a, K> {
    fn new(set: &'a K, name: &'static str) -> Self {
        Cursor {
            set,
            name,
            page: VecDeque::new(),
            after: None,
            exhausted: false,
        }
    }

    fn peek(&mut self) -> Result<Option<&String>, String> {
        if self.page.is_empty() && !self.exhausted {
            let page = self
                .set
                .sorted(self.after.as_deref(), PAGE)
                .map_err(|e| format!("reading {}: {}", self.name, e.message))?;
            self.exhausted = page.is_empty();
            self.after = page.last().cloned().or(self.after.take());
            self.page = page.into();
        }
        Ok(self.page.front())
    }

    fn pop(&mut self) {
        self.page.pop_front();
    }
}

/// A reference outside the listed prefix (an event of another source, under `--source`):
/// looked up on its own.
fn check_outside<H: Host>(host: &H, config: &VerifyConfig, key: &str, tally: &mut Tally) {
    let found = with_retry(
        host,
        "stream-exists",
        config.retry_count,
        config.retry_average_delay_ms,
        || host.exists(Bucket::Streams, key),
    );
    match found {
        Ok(true) => {}
        Ok(false) => tally.problem(host, ProblemKind::Missing, key, MISSING),
        Err(e) => tally.problem(host, ProblemKind::Unreadable, key, &e.message),
    }
}

const MISSING: &str = "referenced by a backed-up binary event, not in the streams bucket";
const ORPHAN: &str = "no backed-up event references it";

pub fn run<H: Host>(
    host: &H,
    config: &VerifyConfig,
    referenced: &H::KeySet,
    present: &H::KeySet,
    prefix: &str,
    tally: &mut Tally,
) -> Result<(), String> {
    let mut refs = Cursor::new(referenced, super::REFERENCED);
    let mut objects = Cursor::new(present, super::PRESENT);
    loop {
        let order = match (refs.peek()?.cloned(), objects.peek()?) {
            (None, None) => return Ok(()),
            (Some(r), _) if !r.starts_with(prefix) => {
                tally.referenced();
                check_outside(host, config, &r, tally);
                refs.pop();
                continue;
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(r), Some(o)) => r.as_str().cmp(o.as_str()),
        };
        match order {
            Ordering::Less => {
                let r = refs.peek()?.cloned().unwrap_or_default();
                tally.referenced();
                tally.problem(host, ProblemKind::Missing, &r, MISSING);
                refs.pop();
            }
            Ordering::Greater => {
                let o = objects.peek()?.cloned().unwrap_or_default();
                tally.problem(host, ProblemKind::Orphan, &o, ORPHAN);
                objects.pop();
            }
            Ordering::Equal => {
                tally.referenced();
                refs.pop();
                objects.pop();
            }
        }
    }
}
