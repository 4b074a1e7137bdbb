//! `/api/v3/stream/...` over real HTTP.

mod common;

use common::{Served, assert_error, serve_fast};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha512};

/// The upload the dispatcher's integration test uses, and its sha256.
const BLAH: &[u8] = b"blahblahblah";
const BLAH_SHA256: &str = "6e80a5bf1f6e165f65965076290a61638dfde0f2972474d73b954a10962a392f";
const NOT_FOUND: &str = r#"{"status":"404","title":"not found","detail":"not found","error_enum":"ErrorStringEnumUnset"}"#;

async fn upload(s: &Served, path: &str, query: &[(&str, &str)], body: &[u8]) -> reqwest::Response {
    s.client
        .post(s.url(path))
        .query(query)
        .header("content-type", "application/octet-stream")
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

async fn download(s: &Served, path: &str, range: Option<&str>) -> reqwest::Response {
    let mut request = s.client.get(s.url(path));
    if let Some(range) = range {
        request = request.header("range", range);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn upload_with_identify_reports_all_hashes() {
    let s = serve_fast().await;
    let response = upload(&s, "/api/v3/stream/testing/content", &[], BLAH).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let want = format!(
        r#"{{"data":{{"label":"content","size":12,"sha512":"{}","sha256":"{BLAH_SHA256}","sha1":"{}","md5":"{}","mime":"","magic":""}}}}"#,
        hex::encode(Sha512::digest(BLAH)),
        hex::encode(Sha1::digest(BLAH)),
        hex::encode(Md5::digest(BLAH)),
    );
    assert_eq!(response.text().await.unwrap(), want);
    assert_eq!(
        s.emulator
            .stream("testing", "content", BLAH_SHA256)
            .unwrap(),
        BLAH
    );
    assert_eq!(
        s.emulator.stream_keys(),
        [(
            "testing".to_string(),
            "content".to_string(),
            BLAH_SHA256.to_string()
        )]
    );
}

#[tokio::test]
async fn restore_upload_skips_identify_but_checks_the_sha256() {
    let s = serve_fast().await;
    let query = [("skip-identify", "true"), ("expected-sha256", BLAH_SHA256)];
    let response = upload(&s, "/api/v3/stream/samples/safe_png", &query, BLAH).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        format!(
            r#"{{"data":{{"label":"","size":12,"sha512":"","sha256":"{BLAH_SHA256}","sha1":"","md5":"","mime":"","magic":""}}}}"#
        )
    );
    // Stored under the URL's label, whatever the response says.
    assert!(
        s.emulator
            .stream("samples", "safe_png", BLAH_SHA256)
            .is_some()
    );

    let wrong = "00".repeat(32);
    let query = [("skip-identify", "1"), ("expected-sha256", wrong.as_str())];
    let response = upload(&s, "/api/v3/stream/samples/content", &query, BLAH).await;
    let detail = format!("sha256 mismatch - supplied: {wrong} vs calc: {BLAH_SHA256}");
    assert_error(response, 400, "sha256 mismatch", &detail).await;
    // The comparison is case-sensitive.
    let upper = BLAH_SHA256.to_uppercase();
    let response = upload(
        &s,
        "/api/v3/stream/samples/content",
        &[("expected-sha256", upper.as_str())],
        BLAH,
    )
    .await;
    assert_eq!(response.status(), 400);
    assert!(
        s.emulator
            .stream("samples", "content", BLAH_SHA256)
            .is_none()
    );
}

#[tokio::test]
async fn upload_errors_are_exact() {
    let s = serve_fast().await;
    let path = "/api/v3/stream/testing/content";
    let response = upload(&s, path, &[("skip-identify", "true")], BLAH).await;
    assert_error(
        response,
        400,
        "must supply sha256 when skipping identify",
        "no error provided",
    )
    .await;
    let response = upload(&s, path, &[("skip-identify", "maybe")], BLAH).await;
    let detail = r#"strconv.ParseBool: parsing "maybe": invalid syntax"#;
    assert_error(response, 400, "bad param skip identify", detail).await;
    let response = upload(&s, path, &[], b"").await;
    assert_error(
        response,
        400,
        "no content in request body",
        "no error provided",
    )
    .await;
    assert!(s.emulator.stream_keys().is_empty());
}

#[tokio::test]
async fn download_whole_and_ranges() {
    let s = serve_fast().await;
    let data: Vec<u8> = (0u8..=99).collect();
    let sha = s.emulator.put_stream("testing", "content", data.clone());
    let path = format!("/api/v3/stream/testing/content/{sha}");

    let whole = download(&s, &path, None).await;
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["content-type"], "application/octet-stream");
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert_eq!(whole.headers()["content-length"], "100");
    assert_eq!(whole.bytes().await.unwrap(), data);

    for (range, start, end) in [
        ("bytes=10-19", 10, 19),
        ("bytes=90-", 90, 99),
        ("bytes=-5", 95, 99),
        ("bytes=95-500", 95, 99),
        ("bytes=0-99", 0, 99),
    ] {
        let part = download(&s, &path, Some(range)).await;
        assert_eq!(part.status(), 206, "{range}");
        assert_eq!(
            part.headers()["content-range"],
            format!("bytes {start}-{end}/100")
        );
        assert!(part.headers().get("accept-ranges").is_none());
        assert_eq!(part.bytes().await.unwrap(), data[start..=end], "{range}");
    }

    for (range, detail) in [
        ("bytes=1-2,5-6", "invalid range (multiple not supported)"),
        ("items=1-2", "invalid range (no bytes= prefix)"),
        ("bytes=9-3", "invalid range (invalid end)"),
        ("bytes=x-3", "invalid range (non numeric)"),
    ] {
        let response = download(&s, &path, Some(range)).await;
        assert_error(response, 400, "invalid range provided", detail).await;
    }
    let response = download(&s, &path, Some("bytes=100-")).await;
    assert_error(response, 400, "invalid range end", "offset after EOF: 100").await;
}

#[tokio::test]
async fn missing_streams_are_404() {
    let s = serve_fast().await;
    let sha = s.emulator.put_stream("testing", "content", b"abc".to_vec());

    // Same hash, other source or label: not found.
    for path in [
        format!("/api/v3/stream/samples/content/{sha}"),
        format!("/api/v3/stream/testing/report/{sha}"),
    ] {
        let response = download(&s, &path, None).await;
        assert_eq!(response.status(), 404);
        assert_eq!(
            response.headers()["content-type"],
            "application/json; charset=utf-8"
        );
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert_eq!(response.text().await.unwrap(), NOT_FOUND);
    }

    let head = |path: String| s.client.head(s.url(&path)).send();
    let found = head(format!("/api/v3/stream/testing/content/{sha}"))
        .await
        .unwrap();
    assert_eq!(found.status(), 200);
    assert!(found.bytes().await.unwrap().is_empty());
    let missing = head(format!("/api/v3/stream/testing/content/{}", "0".repeat(64)))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn patch_copies_between_sources() {
    let s = serve_fast().await;
    let sha = s
        .emulator
        .put_stream("testing", "content", b"copy me".to_vec());
    let copy = s
        .client
        .patch(s.url(&format!("/api/v3/stream/testing/samples/content/{sha}")))
        .send()
        .await
        .unwrap();
    assert_eq!(copy.status(), 200);
    assert!(copy.bytes().await.unwrap().is_empty());
    assert_eq!(
        s.emulator.stream("samples", "content", &sha).unwrap(),
        &b"copy me"[..]
    );

    // A missing source object is a silent no-op.
    let noop = s
        .client
        .patch(s.url(&format!("/api/v3/stream/testing/samples/report/{sha}")))
        .send()
        .await
        .unwrap();
    assert_eq!(noop.status(), 200);
    assert!(s.emulator.stream("samples", "report", &sha).is_none());
}
