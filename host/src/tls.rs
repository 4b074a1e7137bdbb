//! One TLS stack for every client: rustls with the ring provider.

/// Install ring as the process-wide rustls provider (idempotent).
pub fn install_default_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
