//! What the backup holds against what the restored dispatcher holds, and the summary.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Key (or content) → how many times it occurs.
pub type Multiset = BTreeMap<String, usize>;

/// Events by model and streams, as the drill compares them: binary and insert events by
/// kafka_key (the dispatcher recomputes those keys deterministically), delete events by
/// their JSON without the key (their keys are random), streams by `<source>/<label>/<sha256>`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Holdings {
    pub binary: Multiset,
    pub inserts: Multiset,
    pub deletes: Multiset,
    pub streams: BTreeSet<String>,
}

/// What the backup holds for a restore with these settings, and what it left out by design.
#[derive(Debug, Default)]
pub struct Expected {
    pub holds: Holdings,
    pub bundles: usize,
    /// Binary events a backed-up delete matches: the restored dispatcher drops them.
    pub buried: usize,
    /// Events failing Azul's validity rules: the dispatcher refuses them.
    pub invalid: usize,
    /// Objects of the events bucket the restore does not post (sources not configured).
    pub outside: usize,
    /// Bundles that cannot be read, with why: their events cannot be restored.
    pub unreadable: Vec<(String, String)>,
}

/// What the restored dispatcher holds.
#[derive(Debug, Default)]
pub struct Received {
    pub holds: Holdings,
    /// Streams downloaded back and hashed, and those whose content does not match.
    pub content_checked: usize,
    pub bad_content: Vec<(String, String)>,
    /// Streams that restored binary events reference and the dispatcher does not hold.
    pub dangling: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Difference {
    RestoreFailed(String),
    UnreadableBundle {
        key: String,
        why: String,
    },
    /// In the backup, not restored (or restored fewer times).
    NotRestored {
        what: &'static str,
        key: String,
        count: usize,
    },
    /// Restored, not in the backup (or more times).
    Unexpected {
        what: &'static str,
        key: String,
        count: usize,
    },
    BadContent {
        key: String,
        actual: String,
    },
    Dangling {
        key: String,
    },
}

fn multiset_differences(
    what: &'static str,
    expected: &Multiset,
    received: &Multiset,
    out: &mut Vec<Difference>,
) {
    let keys: BTreeSet<&String> = expected.keys().chain(received.keys()).collect();
    for key in keys {
        let (e, r) = (
            expected.get(key).copied().unwrap_or(0),
            received.get(key).copied().unwrap_or(0),
        );
        let key = key.clone();
        if e > r {
            out.push(Difference::NotRestored {
                what,
                key,
                count: e - r,
            });
        } else if r > e {
            out.push(Difference::Unexpected {
                what,
                key,
                count: r - e,
            });
        }
    }
}

fn as_multiset(set: &BTreeSet<String>) -> Multiset {
    set.iter().map(|k| (k.clone(), 1)).collect()
}

pub fn differences(expected: &Expected, received: &Received) -> Vec<Difference> {
    let mut out: Vec<Difference> = expected
        .unreadable
        .iter()
        .map(|(key, why)| Difference::UnreadableBundle {
            key: key.clone(),
            why: why.clone(),
        })
        .collect();
    let (e, r) = (&expected.holds, &received.holds);
    multiset_differences("binary event", &e.binary, &r.binary, &mut out);
    multiset_differences("insert event", &e.inserts, &r.inserts, &mut out);
    multiset_differences("delete event", &e.deletes, &r.deletes, &mut out);
    let (es, rs) = (as_multiset(&e.streams), as_multiset(&r.streams));
    multiset_differences("stream", &es, &rs, &mut out);
    out.extend(
        received
            .bad_content
            .iter()
            .map(|(key, actual)| Difference::BadContent {
                key: key.clone(),
                actual: actual.clone(),
            }),
    );
    out.extend(
        received
            .dangling
            .iter()
            .map(|key| Difference::Dangling { key: key.clone() }),
    );
    out
}

pub fn total(m: &Multiset) -> usize {
    m.values().sum()
}

/// Long keys (delete events' JSON) are cut for the summary.
fn short(key: &str) -> String {
    match key.char_indices().nth(100) {
        Some((at, _)) => format!("{}…", &key[..at]),
        None => key.to_string(),
    }
}

fn describe(d: &Difference) -> String {
    match d {
        Difference::RestoreFailed(e) => format!("the restore failed: {e}"),
        Difference::UnreadableBundle { key, why } => {
            format!("bundle {key} cannot be read, its events cannot be restored: {why}")
        }
        Difference::NotRestored { what, key, count } => {
            format!("{what} not restored ({count}x): {}", short(key))
        }
        Difference::Unexpected { what, key, count } => {
            format!(
                "{what} restored but not in the backup ({count}x): {}",
                short(key)
            )
        }
        Difference::BadContent { key, actual } => {
            format!("stream {key} restored with content hashing to {actual}")
        }
        Difference::Dangling { key } => {
            format!("restored binary events reference stream {key}, which was not restored")
        }
    }
}

/// Differences listed one by one; the rest are counted.
const LISTED: usize = 50;

pub fn render(
    expected: &Expected,
    received: &Received,
    differences: &[Difference],
    content_checked: bool,
) -> String {
    let (e, r) = (&expected.holds, &received.holds);
    let mut out = String::from("Drill summary\n");
    let _ = writeln!(out, "  {:<16} {:>10} {:>10}", "", "in backup", "restored");
    for (name, exp, got) in [
        ("binary events", total(&e.binary), total(&r.binary)),
        ("insert events", total(&e.inserts), total(&r.inserts)),
        ("delete events", total(&e.deletes), total(&r.deletes)),
        ("streams", e.streams.len(), r.streams.len()),
    ] {
        let _ = writeln!(out, "  {name:<16} {exp:>10} {got:>10}");
    }
    let _ = writeln!(out, "  bundles decoded: {}", expected.bundles);
    let _ = match content_checked {
        true => writeln!(
            out,
            "  restored stream contents re-hashed: {}",
            received.content_checked
        ),
        false => writeln!(
            out,
            "  restored stream contents not checked (--verify-sha256 off)"
        ),
    };
    let _ = writeln!(
        out,
        "  by design: {} binary events dropped by restored deletes, {} invalid events refused, \
         {} event objects outside the configured sources",
        expected.buried, expected.invalid, expected.outside
    );
    for d in differences.iter().take(LISTED) {
        let _ = writeln!(out, "  DIFFERENCE {}", describe(d));
    }
    if differences.len() > LISTED {
        let _ = writeln!(
            out,
            "  … and {} more differences",
            differences.len() - LISTED
        );
    }
    let _ = write!(
        out,
        "result: {}",
        match differences.len() {
            0 => "OK — the restored dispatcher holds what the backup holds".to_string(),
            1 => "FAILED — 1 difference".to_string(),
            n => format!("FAILED — {n} differences"),
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holdings(binary: &[&str], streams: &[&str]) -> Holdings {
        let mut h = Holdings::default();
        for k in binary {
            *h.binary.entry(k.to_string()).or_default() += 1;
        }
        h.streams = streams.iter().map(|s| s.to_string()).collect();
        h
    }

    #[test]
    fn equal_holdings_differ_in_nothing() {
        let expected = Expected {
            holds: holdings(&["a", "a", "b"], &["s/c/1"]),
            ..Expected::default()
        };
        let received = Received {
            holds: holdings(&["a", "a", "b"], &["s/c/1"]),
            ..Received::default()
        };
        assert!(differences(&expected, &received).is_empty());
        let text = render(&expected, &received, &[], true);
        let row = |name: &str| {
            text.lines()
                .find(|l| l.trim_start().starts_with(name))
                .map(|l| l.split_whitespace().rev().take(2).collect::<Vec<_>>())
        };
        assert_eq!(row("binary events"), Some(vec!["3", "3"]), "{text}");
        assert!(text.ends_with("result: OK — the restored dispatcher holds what the backup holds"));
    }

    #[test]
    fn every_kind_of_difference_is_found() {
        let expected = Expected {
            holds: holdings(&["a", "a", "b"], &["s/c/1", "s/c/2"]),
            unreadable: vec![("s/binary/sourced/x".into(), "not gzip".into())],
            ..Expected::default()
        };
        let received = Received {
            holds: holdings(&["a", "c"], &["s/c/1"]),
            bad_content: vec![("s/c/1".into(), "ff".into())],
            dangling: ["s/c/2".to_string()].into(),
            ..Received::default()
        };
        let found = differences(&expected, &received);
        assert_eq!(found.len(), 7, "{found:#?}");
        assert!(found.contains(&Difference::NotRestored {
            what: "binary event",
            key: "a".into(),
            count: 1
        }));
        assert!(found.contains(&Difference::Unexpected {
            what: "binary event",
            key: "c".into(),
            count: 1
        }));
        let text = render(&expected, &received, &found, true);
        assert!(
            text.contains("DIFFERENCE stream not restored (1x): s/c/2"),
            "{text}"
        );
        assert!(text.ends_with("result: FAILED — 7 differences"), "{text}");
    }
}
