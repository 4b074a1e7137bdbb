//! Go standard-library behaviour the dispatcher's responses depend on: `strconv` parsing
//! (and its error texts) and `encoding/json` string escaping.

use std::fmt::Write;

/// A `strconv` parse failure, displayed exactly as Go's `*strconv.NumError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("strconv.{func}: parsing {}: {reason}", quote(input))]
pub struct NumError {
    func: &'static str,
    input: String,
    reason: &'static str,
}

/// `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Result<bool, NumError> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(NumError {
            func: "ParseBool",
            input: s.to_string(),
            reason: "invalid syntax",
        }),
    }
}

/// `strconv.Atoi` on a 64-bit platform.
pub fn atoi(s: &str) -> Result<i64, NumError> {
    parse_i64(s, "Atoi")
}

/// `strconv.ParseInt(s, 10, 64)`.
pub fn parse_int(s: &str) -> Result<i64, NumError> {
    parse_i64(s, "ParseInt")
}

fn parse_i64(s: &str, func: &'static str) -> Result<i64, NumError> {
    use std::num::IntErrorKind::{NegOverflow, PosOverflow};
    // Rust accepts a lone sign-free digit string and a leading '+' or '-', as Go does.
    s.parse::<i64>().map_err(|e| NumError {
        func,
        input: s.to_string(),
        reason: match e.kind() {
            PosOverflow | NegOverflow => "value out of range",
            _ => "invalid syntax",
        },
    })
}

/// Go's `strconv.Quote` (the `%q` verb) for the characters a query string can carry.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON string literal as Go's `encoding/json` writes it (HTML-safe escaping included).
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `encoding/json` output from serde_json's: `<`, `>`, `&`, U+2028 and U+2029 escaped.
/// They can only occur inside strings, so escaping them anywhere in the text is safe.
pub fn go_json(serde_json_text: String) -> String {
    if !serde_json_text.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return serde_json_text;
    }
    let mut out = String::with_capacity(serde_json_text.len() + 16);
    for c in serde_json_text.chars() {
        match c {
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_bool_matches_go() {
        assert_eq!(parse_bool("T"), Ok(true));
        assert_eq!(parse_bool("False"), Ok(false));
        assert_eq!(
            parse_bool("yes").unwrap_err().to_string(),
            r#"strconv.ParseBool: parsing "yes": invalid syntax"#
        );
    }

    #[test]
    fn atoi_matches_go() {
        assert_eq!(atoi("+7"), Ok(7));
        assert_eq!(atoi("-3"), Ok(-3));
        assert_eq!(
            atoi("1x").unwrap_err().to_string(),
            r#"strconv.Atoi: parsing "1x": invalid syntax"#
        );
        assert_eq!(
            atoi("99999999999999999999").unwrap_err().to_string(),
            r#"strconv.Atoi: parsing "99999999999999999999": value out of range"#
        );
    }

    #[test]
    fn go_json_escapes_html_characters() {
        let text = serde_json::json!({"a": "<b>&\u{2028}"}).to_string();
        assert_eq!(go_json(text), r#"{"a":"\u003cb\u003e\u0026\u2028"}"#);
    }

    #[test]
    fn json_string_escapes_like_go() {
        assert_eq!(json_string("a<b>&\"\n"), r#""a\u003cb\u003e\u0026\"\n""#);
        assert_eq!(quote("a\"b\x01"), r#""a\"b\x01""#);
    }
}
