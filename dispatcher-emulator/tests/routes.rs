//! The route table and gin's answers outside it.

mod common;

use common::serve_fast;
use reqwest::Method;

#[tokio::test]
async fn root_names_the_dispatcher() {
    let s = serve_fast().await;
    let response = s.client.get(s.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(response.text().await.unwrap(), "Azul Dispatcher");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_gins_plain_404() {
    let s = serve_fast().await;
    let stream_path = format!("/api/v3/stream/testing/content/{}", "a".repeat(64));
    let cases = [
        (Method::GET, "/nope"),
        (Method::GET, "/api/v2/event"),
        (Method::PUT, "/api/v2/event"),
        (Method::POST, "/api/v2/event/binary/passive"),
        (Method::HEAD, "/"),
        (Method::GET, "/api/v3/stream/testing/content"),
        // DELETE is not registered unless the dispatcher allows it (off by default).
        (Method::DELETE, stream_path.as_str()),
    ];
    for (method, path) in cases {
        let response = s
            .client
            .request(method.clone(), s.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{method} {path}");
        assert_eq!(
            response.headers()["content-type"],
            "text/plain",
            "{method} {path}"
        );
        if method != Method::HEAD {
            assert_eq!(response.text().await.unwrap(), "404 page not found");
        }
    }
}

#[tokio::test]
async fn active_consumers_are_refused_honestly() {
    let s = serve_fast().await;
    let response = s
        .client
        .get(s.url("/api/v2/event/binary/active?r-historic=true&avro-format=true"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["title"], "not supported by the emulator");
}
