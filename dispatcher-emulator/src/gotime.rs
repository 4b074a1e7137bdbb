//! Go `time.Time.Format` output the dispatcher derives keys and tracking ids from.
//!
//! Events decoded from avro carry UTC times. Events posted as JSON keep the zone they were
//! written with (Go parses the offset and formats with it), so for those the original text is
//! used when it is well-formed RFC 3339.

/// `(year, month, day, hour, minute, second)` in UTC of a Unix time in microseconds.
fn civil(micros: i64) -> (i64, u32, u32, u32, u32, u32) {
    let secs = micros.div_euclid(1_000_000);
    let (days, secs_of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    let s = secs_of_day as u32;
    (year, month, day, s / 3600, s % 3600 / 60, s % 60)
}

/// `t.Format(time.RFC3339)` of a UTC time, e.g. `2021-02-06T16:43:23Z`.
pub fn rfc3339(micros: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(micros);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// The `YYYY-MM-DDTHH:MM:SS` prefix of an RFC 3339 text, if `text` is one.
fn rfc3339_prefix(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let well_formed = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    well_formed.then(|| &text[..19])
}

/// The seconds-precision time text in a binary event's key: the first 19 characters of
/// `source.timestamp.Format(time.RFC3339)`.
pub fn key_seconds(micros: i64, original: Option<&str>) -> String {
    match original.and_then(rfc3339_prefix) {
        Some(prefix) => prefix.to_string(),
        None => rfc3339(micros)[..19].to_string(),
    }
}

/// `t.Format("2006_01_02T15_04_05Z07_00")`, the time in a tracking link.
pub fn link_stamp(micros: i64, original: Option<&str>) -> String {
    if let Some(text) = original
        && let Some(prefix) = rfc3339_prefix(text)
    {
        let zone = if text.ends_with('Z') || text.ends_with('z') {
            Some("Z".to_string())
        } else {
            // `+hh:mm` or `-hh:mm`, which Go prints back as `+hh_mm`.
            let tail = &text[text.len() - 6..];
            let b = tail.as_bytes();
            (matches!(b[0], b'+' | b'-') && b[3] == b':').then(|| tail.replace(':', "_"))
        };
        if let Some(zone) = zone {
            return format!("{}{zone}", prefix.replace(['-', ':'], "_"));
        }
    }
    rfc3339(micros).replace(['-', ':'], "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_612_629_803_999_999), "2021-02-06T16:43:23Z");
        assert_eq!(rfc3339(-62_135_596_800_000_000), "0001-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400_000_000), "2000-02-29T00:00:00Z");
        assert_eq!(
            link_stamp(1_612_629_803_000_000, None),
            "2021_02_06T16_43_23Z"
        );
    }

    #[test]
    fn json_text_keeps_its_zone() {
        let text = "2021-02-07T21:40:31.872294+11:00";
        assert_eq!(key_seconds(0, Some(text)), "2021-02-07T21:40:31");
        assert_eq!(link_stamp(0, Some(text)), "2021_02_07T21_40_31+11_00");
        assert_eq!(
            link_stamp(0, Some("2021-02-07T21:40:31Z")),
            "2021_02_07T21_40_31Z"
        );
        // Anything else falls back to the UTC value.
        assert_eq!(key_seconds(0, Some("yesterday")), "1970-01-01T00:00:00");
    }
}
