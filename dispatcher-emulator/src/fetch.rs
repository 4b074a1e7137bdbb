//! A consumer's GET: pulling from its subscriptions through the consume filters, and waiting
//! for more events up to the deadline.

use std::{future::pending, time::Duration};

use tokio::{
    sync::watch,
    time::{Instant, sleep_until},
};

use crate::{
    Emulator,
    consume_filters::ConsumeFilters,
    consumers::Pulled,
    emulator::{lock, now_micros},
    params::ConsumeParams,
};

impl Emulator {
    /// Pull events for a consumer, waiting (without polling) until `count` events were handed
    /// out, the deadline passed, the logs ran dry with `early_return`, or the server stops.
    pub(crate) async fn fetch(
        &self,
        p: &ConsumeParams,
        mut stopping: watch::Receiver<bool>,
    ) -> Pulled {
        let config = &self.inner.config;
        let count = config
            .max_events_per_fetch
            .map_or(p.count, |max| p.count.min(max.max(1)));
        let deadline = u64::try_from(p.deadline)
            .ok()
            .filter(|secs| *secs > 0)
            .and_then(|secs| Instant::now().checked_add(Duration::from_secs(secs)));
        if p.reset {
            let state = &mut *lock(&self.inner.events);
            state.groups.reset(p, &state.topics);
        }
        let mut pulled = Pulled::default();
        loop {
            // Registered before looking, so an append between the look and the wait still wakes us.
            let appended = self.inner.appended.notified();
            tokio::pin!(appended);
            appended.as_mut().enable();
            {
                let state = &mut *lock(&self.inner.events);
                let filters = ConsumeFilters {
                    params: p,
                    ageoff: &config.ageoff,
                    graveyard: &state.graveyard,
                    now_micros: now_micros(),
                };
                state
                    .groups
                    .pull(&filters, count, &state.topics, &mut pulled);
            }
            let done = pulled.events.len() >= count
                || config.early_return
                || *stopping.borrow()
                || deadline.is_some_and(|d| Instant::now() >= d);
            if done {
                return pulled;
            }
            let until_deadline = async {
                match deadline {
                    Some(d) => sleep_until(d).await,
                    None => pending().await,
                }
            };
            tokio::select! {
                _ = &mut appended => {}
                _ = until_deadline => {}
                _ = stopping.changed() => return pulled,
            }
        }
    }
}
