//! Query parameters of `GET /api/v2/event/{model}/passive`, parsed and validated in the same
//! order and with the same messages as the dispatcher's `parseParams`.

use std::collections::BTreeMap;

use azul_backup::avro::Model;

use crate::{
    gostr::{NumError, atoi, parse_bool},
    topics::ACTIONS,
};

/// `api_event_fetch_limit`.
pub const FETCH_LIMIT: i64 = 1000;
/// `api_default_event_wait`, in seconds.
pub const DEFAULT_DEADLINE: &str = "5";

/// A decoded query string, read the way Go's `url.Values` is.
pub struct QueryValues(Vec<(String, String)>);

impl QueryValues {
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = form_urlencoded::parse(raw.unwrap_or_default().as_bytes());
        QueryValues(pairs.into_owned().collect())
    }

    /// `url.Values.Get`: the first value, or "" when absent.
    pub fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    /// `url.Values[key]`: every value, empty ones included.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The dispatcher's `getWithDefault`: an absent or empty value takes the default.
    pub fn get_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        match self.get(key) {
            "" => default,
            v => v,
        }
    }

    /// Go's truthiness for flags on POST routes: exactly `true` or `1`.
    pub fn is_truthy(&self, key: &str) -> bool {
        matches!(self.get(key), "true" | "1")
    }

    fn bool(&self, key: &'static str) -> Result<bool, ParamError> {
        parse_bool(self.get_or(key, "false")).map_err(|e| ParamError::bad(key, e))
    }

    fn int(&self, key: &'static str, default: &str) -> Result<i64, ParamError> {
        atoi(self.get_or(key, default)).map_err(|e| ParamError::bad(key, e))
    }
}

/// Why a value was rejected; displayed after `bad parameter for <key>: `.
#[derive(Debug, thiserror::Error)]
pub enum BadValue {
    #[error(transparent)]
    Parse(#[from] NumError),
    #[error("not a registered model type: {0}")]
    Model(String),
    #[error("invalid event type '{0}'")]
    Action(String),
    #[error(
        "minimum content size cannot be greater than max content size. min: '{over}' max: '{under}'"
    )]
    ContentSizes { over: i64, under: i64 },
}

/// A 422 `bad parameters` answer.
#[derive(Debug, thiserror::Error)]
pub enum ParamError {
    #[error("bad parameter for {key}: {value}")]
    Bad { key: &'static str, value: BadValue },
    #[error("can only r-expedite with binary events")]
    ExpediteNotBinary,
    #[error("requires at least one of r-expedite, r-live or r-historic")]
    NoSubscription,
    #[error("cannot combine r-action with r-content or d-action")]
    ContentWithActions,
}

impl ParamError {
    fn bad(key: &'static str, value: impl Into<BadValue>) -> Self {
        ParamError::Bad {
            key,
            value: value.into(),
        }
    }
}

/// What a consumer asked for. `max-security`, which the emulator cannot apply, is kept so the
/// caller can refuse it instead of silently ignoring it.
#[derive(Debug, Clone)]
pub struct ConsumeParams {
    pub model: Model,
    pub name: String,
    pub version: String,
    pub avro_format: bool,
    pub count: usize,
    /// Seconds; zero or less waits until `count` events are available.
    pub deadline: i64,
    pub expedite: bool,
    pub live: bool,
    pub historic: bool,
    pub sources: Vec<String>,
    /// After `r-content` expansion to `sourced, extracted`.
    pub require_actions: Vec<String>,
    pub deny_actions: Vec<String>,
    pub require_content: bool,
    pub under_content_size: i64,
    pub over_content_size: i64,
    pub deny_self: bool,
    pub streams: Vec<String>,
    pub max_security: String,
    pub reset: bool,
    pub debug: bool,
}

fn check_actions(values: Vec<String>) -> Result<Vec<String>, ParamError> {
    match values.iter().find(|a| !ACTIONS.contains(&a.as_str())) {
        Some(bad) => Err(ParamError::bad("r-action", BadValue::Action(bad.clone()))),
        None => Ok(values),
    }
}

impl ConsumeParams {
    pub fn parse(model: &str, q: &QueryValues) -> Result<Self, ParamError> {
        let model: Model = model
            .parse()
            .map_err(|_| ParamError::bad("model", BadValue::Model(model.to_string())))?;
        let avro_format = q.bool("avro-format")?;
        let expedite = q.bool("r-expedite")?;
        if model != Model::Binary && expedite {
            return Err(ParamError::ExpediteNotBinary);
        }
        let live = q.bool("r-live")?;
        let historic = q.bool("r-historic")?;
        if !expedite && !live && !historic {
            return Err(ParamError::NoSubscription);
        }
        let count = q.int("count", "1")?.clamp(1, FETCH_LIMIT) as usize;
        let deadline = q.int("deadline", DEFAULT_DEADLINE)?;
        // `is-task` is removed from the query by the passive route before parsing.
        let sources = q.all("r-source");
        let under_content_size = q.int("r-under-content-size", "0")?;
        let over_content_size = q.int("r-over-content-size", "0")?;
        if under_content_size > 0 && over_content_size > under_content_size {
            let sizes = BadValue::ContentSizes {
                over: over_content_size,
                under: under_content_size,
            };
            return Err(ParamError::bad("r-over-content-size", sizes));
        }
        let mut require_actions = q.all("r-action");
        let deny_actions = q.all("d-action");
        let require_content = q.bool("r-content")?;
        if require_content && (!require_actions.is_empty() || !deny_actions.is_empty()) {
            return Err(ParamError::ContentWithActions);
        }
        if require_content {
            require_actions = vec!["sourced".into(), "extracted".into()];
        }
        let require_actions = check_actions(require_actions)?;
        // The dispatcher reports an invalid d-action under the r-action name too.
        let deny_actions = check_actions(deny_actions)?;
        Ok(ConsumeParams {
            model,
            name: q.get("name").to_string(),
            version: q.get("version").to_string(),
            avro_format,
            count,
            deadline,
            expedite,
            live,
            historic,
            sources,
            require_actions,
            deny_actions,
            require_content,
            under_content_size,
            over_content_size,
            deny_self: q.bool("d-self")?,
            reset: q.bool("reset")?,
            debug: q.bool("debug")?,
            streams: q.all("r-streams"),
            max_security: q.get("max-security").to_string(),
        })
    }

    /// The consumer-group key (`GenerateKafkaPluginKey`).
    pub fn group_key(&self) -> String {
        let mut key = format!("{}-{}-{}", self.name, self.version, self.model.as_str());
        let mut flow = String::new();
        if self.model == Model::Binary {
            key.push('-');
            key.push_str(&join_or(&self.sources, "allsrc"));
            key.push('-');
            key.push_str(&join_or(&self.require_actions, "alltype"));
            if self.expedite {
                flow.push('E');
            }
        }
        for (on, letter) in [(self.live, 'L'), (self.historic, 'H'), (self.debug, 'D')] {
            if on {
                flow.push(letter);
            }
        }
        if !flow.is_empty() {
            key.push('-');
            key.push_str(&flow);
        }
        key
    }

    /// `r-streams` values (`label[,fmtPrefix...]`) as label → file format prefixes; a later
    /// value for the same label replaces an earlier one, as the dispatcher's map does.
    pub fn required_streams(&self) -> BTreeMap<&str, Vec<&str>> {
        let mut wanted = BTreeMap::new();
        for value in &self.streams {
            let mut parts = value.split(',').filter(|part| !part.is_empty());
            if let Some(label) = parts.next() {
                wanted.insert(label, parts.collect());
            }
        }
        wanted
    }

    /// A filter the emulator cannot honour, named for the error message.
    pub fn unsupported_filter(&self) -> Option<&'static str> {
        // Security filtering shells out to Azul's Python security module.
        (!self.max_security.is_empty()).then_some("max-security")
    }
}

fn join_or(values: &[String], fallback: &str) -> String {
    if values.is_empty() {
        fallback.to_string()
    } else {
        values.join(".")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(model: &str, query: &str) -> Result<ConsumeParams, ParamError> {
        ConsumeParams::parse(model, &QueryValues::parse(Some(query)))
    }

    #[test]
    fn group_key_follows_the_dispatcher() {
        let p = parse(
            "binary",
            "name=n&version=1&r-historic=true&r-source=a&r-source=b&r-action=sourced",
        )
        .unwrap();
        assert_eq!(p.group_key(), "n-1-binary-a.b-sourced-H");
        let p = parse("insert", "name=n&version=1&r-live=1&r-historic=1&debug=t").unwrap();
        assert_eq!(p.group_key(), "n-1-insert-LHD");
        let p = parse("binary", "r-expedite=true&r-content=true").unwrap();
        assert_eq!(p.group_key(), "--binary-allsrc-sourced.extracted-E");
    }

    #[test]
    fn count_and_deadline_defaults() {
        let p = parse("binary", "r-historic=true&count=&deadline=").unwrap();
        assert_eq!((p.count, p.deadline), (1, 5));
        let p = parse("binary", "r-historic=true&count=5000&deadline=0").unwrap();
        assert_eq!((p.count, p.deadline), (1000, 0));
        let p = parse("binary", "r-historic=true&count=-4").unwrap();
        assert_eq!(p.count, 1);
    }

    #[test]
    fn errors_read_like_the_dispatcher() {
        let cases = [
            (
                "nope",
                "r-historic=true",
                "bad parameter for model: not a registered model type: nope",
            ),
            (
                "insert",
                "r-expedite=true",
                "can only r-expedite with binary events",
            ),
            (
                "binary",
                "",
                "requires at least one of r-expedite, r-live or r-historic",
            ),
            (
                "binary",
                "r-live=yes",
                r#"bad parameter for r-live: strconv.ParseBool: parsing "yes": invalid syntax"#,
            ),
            (
                "binary",
                "r-live=1&r-action=sorced",
                "bad parameter for r-action: invalid event type 'sorced'",
            ),
            (
                "binary",
                "r-live=1&d-action=x",
                "bad parameter for r-action: invalid event type 'x'",
            ),
            (
                "binary",
                "r-live=1&r-content=1&d-action=mapped",
                "cannot combine r-action with r-content or d-action",
            ),
        ];
        for (model, query, want) in cases {
            assert_eq!(
                parse(model, query).unwrap_err().to_string(),
                want,
                "{query}"
            );
        }
    }
}
