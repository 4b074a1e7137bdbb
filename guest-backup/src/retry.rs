//! Retry policy (shared by both components): a bounded number of attempts, exponential
//! backoff with jitter, and only for failures the host says can be retried.

use crate::host::{Error, Host};

/// Longest single wait between attempts.
const MAX_DELAY_MS: u64 = 30_000;

/// Delay before attempt `attempt + 1` (attempt counts from 1): uniform in
/// `[base/2, base]` where `base` doubles each attempt from `average_ms`.
pub fn backoff_ms<H: Host>(host: &H, attempt: u32, average_ms: u64) -> u64 {
    let base = average_ms
        .max(1)
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(MAX_DELAY_MS);
    base / 2 + host.random_u64() % (base / 2 + 1)
}

/// Metric stat of a retry: `retry:<cause>` (the host counts it by cause).
pub const RETRY_STAT: &str = "retry:";

/// Run `op` up to `attempts` times (at least once); each retry is counted under `cause`.
pub fn with_retry<H: Host, T>(
    host: &H,
    cause: &str,
    attempts: u32,
    average_ms: u64,
    mut op: impl FnMut() -> Result<T, Error>,
) -> Result<T, Error> {
    let attempts = attempts.max(1);
    let mut attempt = 1;
    loop {
        match op() {
            Ok(v) => return Ok(v),
            Err(e) if !e.retryable || attempt >= attempts => return Err(e),
            Err(_) => {
                host.metric("", &format!("{RETRY_STAT}{cause}"), 1);
                host.sleep_ms(backoff_ms(host, attempt, average_ms));
                attempt += 1;
            }
        }
    }
}
