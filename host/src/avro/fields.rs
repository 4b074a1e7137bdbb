//! Reading the fields backup and the emulator need out of a decoded event.

use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use super::{DecodedEvent, Model, StreamRef, datum::Datum, validate};

/// Build the summary of one decoded (v6) event.
pub(crate) fn describe(model: Model, raw: Vec<u8>, event: &Datum) -> DecodedEvent {
    let source = event
        .get("source")
        .and_then(|s| s.get("name"))
        .and_then(Datum::as_str)
        .map(str::to_string);
    let action = event
        .get("action")
        .and_then(Datum::as_str)
        .map(str::to_string);
    let invalid = validate::check(model, event);
    let datastreams = match model {
        Model::Binary => event.items_at("entity.datastreams"),
        _ => &[],
    };
    let streams = match (&source, &invalid) {
        (Some(src), None) => datastreams
            .iter()
            .map(|d| StreamRef {
                source: src.clone(),
                label: d.str_at("label").to_string(),
                sha256: d.str_at("sha256").to_string(),
            })
            .collect(),
        _ => Vec::new(),
    };
    let content_size = datastreams
        .iter()
        .find(|d| d.str_at("label") == "content")
        .and_then(|d| d.get("size")?.as_u64());
    let path_len = match model {
        Model::Binary | Model::Download => event.items_at("source.path").len(),
        _ => 0,
    };
    DecodedEvent {
        raw,
        kafka_key: event.str_at("kafka_key").to_string(),
        timestamp_micros: match event.get("timestamp") {
            Some(Datum::Timestamp(t)) => *t,
            _ => GO_ZERO_TIME_MICROS,
        },
        source,
        action,
        streams,
        invalid,
        author_name: event.str_at("author.name").to_string(),
        expedite: event.bool_at("flags.expedite"),
        retry: event.bool_at("flags.retry"),
        path_len,
        content_size,
        stream_formats: datastreams
            .iter()
            .map(|d| {
                let label = d.str_at("label").to_string();
                (label, d.str_at("file_format").to_string())
            })
            .collect(),
    }
}

/// Go's `time.Time{}` (0001-01-01T00:00:00Z) in Unix microseconds.
pub const GO_ZERO_TIME_MICROS: i64 = -62_135_596_800_000_000;

/// Format like Go's `time.RFC3339Nano` in UTC: trailing fractional zeros trimmed, `Z` suffix.
/// Out-of-range times (which Go refuses to render) come out as `@<micros>us`.
pub fn rfc3339_nano(micros: i64) -> String {
    try_rfc3339_nano(micros).unwrap_or_else(|| format!("@{micros}us"))
}

/// [`rfc3339_nano`], or `None` outside years 0000-9999 (Go's `MarshalJSON` range).
pub(crate) fn try_rfc3339_nano(micros: i64) -> Option<String> {
    let nanos = i128::from(micros) * 1_000;
    let t = OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?;
    if !(0..=9999).contains(&t.year()) {
        return None;
    }
    t.format(&Rfc3339).ok()
}

/// Parse an RFC 3339 time (any offset, up to nanoseconds) into Unix microseconds, rounding
/// down as Go's avro encoder does.
pub(crate) fn parse_rfc3339_micros(text: &str) -> Option<i64> {
    let nanos = OffsetDateTime::parse(text, &Rfc3339)
        .ok()?
        .unix_timestamp_nanos();
    i64::try_from(nanos.div_euclid(1_000)).ok()
}
