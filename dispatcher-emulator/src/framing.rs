//! The GET events response body: what Go's `mime/multipart.Writer` produces for the
//! dispatcher's two `CreateFormFile` parts, byte for byte.

use rand::RngCore;

/// A multipart body and the `Content-Type` header that announces its boundary.
pub struct Multipart {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// Go's `randomBoundary`: 30 random bytes as 60 hex characters.
fn random_boundary() -> String {
    let mut bytes = [0u8; 30];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The `info` part then the `events` part, CRLF line endings, closing delimiter last.
pub fn events_response(info_json: &[u8], events: &[u8]) -> Multipart {
    let boundary = random_boundary();
    let mut body = Vec::with_capacity(info_json.len() + events.len() + 512);
    for (i, (name, content)) in [("info", info_json), ("events", events)]
        .into_iter()
        .enumerate()
    {
        let lead = if i == 0 { "" } else { "\r\n" };
        body.extend_from_slice(
            format!(
                "{lead}--{boundary}\r\n\
                 Content-Disposition: form-data; name=\"{name}\"; filename=\"{name}.json\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Multipart {
        content_type: format!("multipart/form-data; boundary={boundary}"),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_matches_go() {
        let m = events_response(b"{}", b"\x0c\x00");
        let boundary = m
            .content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap();
        assert_eq!(boundary.len(), 60);
        let want = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"info\"; filename=\"info.json\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n{{}}\r\n--{b}\r\n\
             Content-Disposition: form-data; name=\"events\"; filename=\"events.json\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n\x0c\x00\r\n--{b}--\r\n",
            b = boundary
        );
        assert_eq!(m.body, want.as_bytes());
    }
}
