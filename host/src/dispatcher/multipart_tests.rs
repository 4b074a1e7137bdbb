//! Property tests of the fetch-answer parser on broken framing: arbitrary bodies, valid bodies
//! cut or damaged, any split into network chunks, and parts over their size limit. It must
//! return the parts or `Malformed`, never panic, and never depend on how bytes arrive.

use bytes::Bytes;
use proptest::prelude::*;

use super::multipart::parse_fetch_body;
use super::{DispatcherError, FetchInfo};

const CONTENT_TYPE: &str = "multipart/form-data; boundary=b0undary";

fn body(info: &str, events: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--b0undary\r\nContent-Disposition: form-data; name=\"info\"\r\n\r\n{info}\r\n\
         --b0undary\r\nContent-Disposition: form-data; name=\"events\"; filename=\"events.json\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(events);
    body.extend_from_slice(b"\r\n--b0undary--\r\n");
    body
}

/// Feeds `bytes` to the parser in chunks cut at `cuts`.
fn parse(bytes: &[u8], cuts: &[usize]) -> Result<(FetchInfo, Bytes), DispatcherError> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    at.extend([0, bytes.len()]);
    at.sort_unstable();
    at.dedup();
    let chunks: Vec<Result<Bytes, std::io::Error>> = at
        .windows(2)
        .map(|w| Ok(Bytes::copy_from_slice(&bytes[w[0]..w[1]])))
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(parse_fetch_body(
        CONTENT_TYPE,
        futures::stream::iter(chunks),
    ))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn arbitrary_bodies_are_parsed_or_refused(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(any::<usize>(), 0..4),
    ) {
        match parse(&bytes, &cuts) {
            Ok(_) | Err(DispatcherError::Malformed(_)) => {}
            Err(other) => prop_assert!(false, "unexpected error kind: {other:?}"),
        }
    }

    #[test]
    fn valid_bodies_parse_the_same_in_any_chunks(
        events in proptest::collection::vec(any::<u8>(), 0..300),
        fetched in 0u32..1000,
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let info = format!("{{\"fetched\":{fetched},\"ready\":true}}");
        let (parsed_info, parsed_events) = parse(&body(&info, &events), &cuts).unwrap();
        prop_assert_eq!(parsed_info.fetched, fetched);
        prop_assert_eq!(parsed_events.as_ref(), events.as_slice());
    }

    #[test]
    fn damaged_bodies_never_panic(
        events in proptest::collection::vec(any::<u8>(), 0..200),
        cut in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    ) {
        let mut bytes = body("{\"ready\":true}", &events);
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let cut = cut.index(bytes.len() + 1);
        let _ = parse(&bytes[..cut], &[]);
    }
}

#[test]
fn missing_parts_unknown_parts_and_oversized_info_are_malformed() {
    let only_info =
        "--b0undary\r\nContent-Disposition: form-data; name=\"info\"\r\n\r\n{}\r\n--b0undary--\r\n";
    let unknown =
        "--b0undary\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--b0undary--\r\n";
    let huge_info = body(&format!("\"{}\"", "x".repeat(2 << 20)), b"");
    for (what, bytes) in [
        ("no events part", only_info.as_bytes().to_vec()),
        ("an unknown part", unknown.as_bytes().to_vec()),
        ("a 2 MiB info part", huge_info),
        ("no body", Vec::new()),
    ] {
        match parse(&bytes, &[]) {
            Err(DispatcherError::Malformed(message)) => println!("{what}: {message}"),
            other => panic!("{what}: {other:?}"),
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let json = runtime.block_on(parse_fetch_body(
        "application/json",
        futures::stream::iter([Ok::<Bytes, std::io::Error>(Bytes::from_static(b"{}"))]),
    ));
    assert!(
        matches!(&json, Err(DispatcherError::Malformed(m)) if m.contains("content type")),
        "{json:?}"
    );
}
