//! Fault injection: rules that make matching requests fail the ways a real dispatcher (or the
//! network in front of it) does, so clients' retry and at-most-once handling can be tested.

use serde::{Deserialize, Serialize};

/// One fault. A request matches when its method (if given) and path match; the first matching
/// rule with uses left applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// HTTP method to match, any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Path pattern; `*` matches any run of characters, e.g. `/api/v2/event/*/passive`.
    pub path: String,
    /// Answer with this status and a JSON error body instead of handling the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// How many matching requests the rule applies to; every one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Wait this long before handling (a slow dispatcher).
    #[serde(default)]
    pub delay_ms: u64,
    /// Handle the request (offsets committed, events published), then drop the connection
    /// instead of sending the body.
    #[serde(default)]
    pub drop_connection: bool,
    /// Handle the request, then answer `status` anyway (e.g. a 500 after publishing).
    #[serde(default)]
    pub after_processing: bool,
    /// Avro POST: publish only the first `k` events and report `total_ok = k` without a
    /// failure, as the dispatcher does when it meets an invalid event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncate_at: Option<usize>,
    /// GET events: answer an empty batch with `ready=false`, consuming nothing.
    #[serde(default)]
    pub not_ready: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    #[error("a fault rule needs a path pattern")]
    NoPath,
    #[error("status {0} is not an HTTP error status (400-599)")]
    BadStatus(u16),
    #[error("after_processing needs a status to answer with")]
    AfterWithoutStatus,
    #[error(
        "a fault rule must do something: status, delay_ms, drop_connection, truncate_at or not_ready"
    )]
    NoEffect,
}

impl FaultRule {
    fn check(&self) -> Result<(), FaultError> {
        if self.path.is_empty() {
            return Err(FaultError::NoPath);
        }
        if let Some(status) = self.status
            && !(400..=599).contains(&status)
        {
            return Err(FaultError::BadStatus(status));
        }
        if self.after_processing && self.status.is_none() {
            return Err(FaultError::AfterWithoutStatus);
        }
        let effect = self.status.is_some()
            || self.delay_ms > 0
            || self.drop_connection
            || self.truncate_at.is_some()
            || self.not_ready;
        if !effect {
            return Err(FaultError::NoEffect);
        }
        Ok(())
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && glob(&self.path, path)
    }
}

/// The active rules, in the order they were added.
#[derive(Debug, Default)]
pub struct FaultSet {
    rules: Vec<FaultRule>,
}

impl FaultSet {
    pub fn add(&mut self, rule: FaultRule) -> Result<(), FaultError> {
        rule.check()?;
        self.rules.push(rule);
        Ok(())
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn rules(&self) -> Vec<FaultRule> {
        self.rules.clone()
    }

    /// The first rule matching the request, with one use counted; spent rules are removed.
    pub fn take(&mut self, method: &str, path: &str) -> Option<FaultRule> {
        let i = self.rules.iter().position(|r| r.matches(method, path))?;
        let rule = self.rules[i].clone();
        match &mut self.rules[i].count {
            Some(1) | Some(0) => {
                self.rules.remove(i);
            }
            Some(n) => *n -= 1,
            None => {}
        }
        Some(rule)
    }
}

/// `*` matches any run of characters (including `/`); everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("/api/v2/event", "/api/v2/event"));
        assert!(!glob("/api/v2/event", "/api/v2/event/x"));
        assert!(glob(
            "/api/v2/event/*/passive",
            "/api/v2/event/binary/passive"
        ));
        assert!(glob("*", "/anything"));
        assert!(glob("/api/v3/stream/*", "/api/v3/stream/a/b/c"));
        assert!(!glob("/api/v3/stream/*/x", "/api/v3/stream/a/b/c"));
        assert!(glob("*a*a", "aa"));
        assert!(!glob("*ab*ab", "ab"));
    }

    #[test]
    fn counts_run_out_and_methods_filter() {
        let mut set = FaultSet::default();
        let rule = FaultRule {
            method: Some("get".into()),
            path: "/x".into(),
            status: Some(503),
            count: Some(2),
            ..FaultRule::default()
        };
        set.add(rule).unwrap();
        assert!(set.take("POST", "/x").is_none());
        assert!(set.take("GET", "/x").is_some());
        assert_eq!(set.rules()[0].count, Some(1));
        assert!(set.take("GET", "/x").is_some());
        assert!(set.take("GET", "/x").is_none());
        assert!(set.rules().is_empty());
    }

    #[test]
    fn useless_rules_are_refused() {
        let mut set = FaultSet::default();
        let base = FaultRule {
            path: "/x".into(),
            ..FaultRule::default()
        };
        assert_eq!(set.add(base.clone()), Err(FaultError::NoEffect));
        let bad = FaultRule {
            status: Some(200),
            ..base.clone()
        };
        assert_eq!(set.add(bad), Err(FaultError::BadStatus(200)));
        let after = FaultRule {
            after_processing: true,
            drop_connection: true,
            ..base
        };
        assert_eq!(set.add(after), Err(FaultError::AfterWithoutStatus));
    }
}
