//! The sources the dispatcher is configured with (`DP__EVENTS__SOURCES`): a YAML file as Azul
//! writes it (top-level `sources:` map), or a plain list of names. Only what the dispatcher
//! acts on is kept: the names (one binary topic per source and action) and
//! `expire_events_after` (ageoff), parsed as bedrock's `ParseSourcesYaml` does.

use std::{collections::BTreeMap, time::Duration};

use serde::Deserialize;

use crate::gostr::parse_int;

/// Configured sources, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    /// Name → how long events of that source live (`None`: forever).
    pub expiry: BTreeMap<String, Option<Duration>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SourcesError {
    #[error("reading sources file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("bad sources yaml: {0}")]
    Yaml(String),
    /// bedrock's message, word for word.
    #[error(
        "couldn't parse the expire_events_after setting with value '{value}' for source '{source_name}' with error {reason}"
    )]
    Expiry {
        value: String,
        source_name: String,
        reason: String,
    },
}

#[derive(Deserialize)]
struct SourcesFile {
    #[serde(default)]
    sources: Option<BTreeMap<String, Option<SourceItem>>>,
}

#[derive(Deserialize, Default)]
struct SourceItem {
    /// A string in Azul's files, but YAML lets a bare `0` through as a number.
    #[serde(default)]
    expire_events_after: Option<serde_yaml_ng::Value>,
}

impl Sources {
    /// Sources without ageoff.
    pub fn names<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Self {
        Sources {
            expiry: names.into_iter().map(|n| (n.into(), None)).collect(),
        }
    }

    pub fn parse_yaml(text: &str) -> Result<Self, SourcesError> {
        let file: SourcesFile =
            serde_yaml_ng::from_str(text).map_err(|e| SourcesError::Yaml(e.to_string()))?;
        let mut expiry = BTreeMap::new();
        for (name, item) in file.sources.unwrap_or_default() {
            let value = match item.unwrap_or_default().expire_events_after {
                None | Some(serde_yaml_ng::Value::Null) => String::new(),
                Some(serde_yaml_ng::Value::String(s)) => s,
                Some(serde_yaml_ng::Value::Number(n)) => n.to_string(),
                Some(other) => format!("{other:?}"),
            };
            let value = if value.is_empty() { "0".into() } else { value };
            let after = expiry_of(&value).map_err(|reason| SourcesError::Expiry {
                value: value.clone(),
                source_name: name.clone(),
                reason,
            })?;
            expiry.insert(name, after);
        }
        Ok(Sources { expiry })
    }

    pub fn read_yaml(path: &std::path::Path) -> Result<Self, SourcesError> {
        let text = std::fs::read_to_string(path).map_err(|source| SourcesError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse_yaml(&text)
    }

    pub fn list(&self) -> Vec<String> {
        self.expiry.keys().cloned().collect()
    }
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// `calculateExpiryMs`: `<n> <days|weeks|months|years>` split on single spaces, months of 30
/// days and years of 365; zero or negative means no ageoff.
fn expiry_of(value: &str) -> Result<Option<Duration>, String> {
    if value == "0" {
        return Ok(None);
    }
    let parts: Vec<&str> = value.split(' ').collect();
    if parts.len() != 2 {
        return Err(format!(
            "expire_events_after did not split into '2' elements as expected actual number was \
             '{}', split list was [{}] for input value {value}",
            parts.len(),
            parts.join(" ")
        ));
    }
    let count = parse_int(parts[0]).map_err(|e| {
        format!(
            "provided duration '{}' was not a valid integer (innerError: {e})",
            parts[0]
        )
    })?;
    let days = match parts[1] {
        "days" => 1,
        "weeks" => 7,
        "months" => 30,
        "years" => 365,
        unit => {
            return Err(format!(
                "provided unit '{unit}' was not in the allowed values days, weeks, months, years  \
                 (innerError: <nil>)"
            ));
        }
    };
    let ms = count.saturating_mul(DAY_MS).saturating_mul(days);
    Ok(u64::try_from(ms)
        .ok()
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_follows_bedrock() {
        let day = Duration::from_millis(DAY_MS as u64);
        assert_eq!(expiry_of("7 days"), Ok(Some(day * 7)));
        assert_eq!(expiry_of("3 months"), Ok(Some(day * 90)));
        assert_eq!(expiry_of("2 weeks"), Ok(Some(day * 14)));
        assert_eq!(expiry_of("1 years"), Ok(Some(day * 365)));
        assert_eq!(expiry_of("0"), Ok(None));
        assert_eq!(expiry_of("-1 days"), Ok(None));
        assert!(
            expiry_of("7  days")
                .unwrap_err()
                .contains("actual number was '3'")
        );
        assert!(expiry_of(" 7 days").is_err());
        assert!(expiry_of("7 days ").is_err());
        assert_eq!(
            expiry_of("x days").unwrap_err(),
            "provided duration 'x' was not a valid integer (innerError: strconv.ParseInt: \
             parsing \"x\": invalid syntax)"
        );
        assert!(
            expiry_of("7 fortnights")
                .unwrap_err()
                .contains("'fortnights'")
        );
    }

    #[test]
    fn yaml_sources_and_defaults() {
        let yaml = "sources:\n  a:\n    expire_events_after: 7 days\n  b: {}\n  c:\n  d:\n    expire_events_after: 0\n";
        let sources = Sources::parse_yaml(yaml).unwrap();
        assert_eq!(sources.list(), ["a", "b", "c", "d"]);
        assert!(sources.expiry["a"].is_some());
        assert_eq!(sources.expiry["b"], None);
        assert_eq!(sources.expiry["d"], None);
        let err = Sources::parse_yaml("sources:\n  t:\n    expire_events_after: \"7  days\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "couldn't parse the expire_events_after setting with value '7  days' for source 't'"
            ),
            "{err}"
        );
    }
}
