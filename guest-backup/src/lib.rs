//! Backup orchestration, run as a sandboxed component by the `azul-backup` host.
//!
//! The policy (which consumers exist, when to flush, object keys, dedupe, retries, the
//! shutdown order) is plain Rust over the [`host::Host`] trait, so it also compiles natively
//! and runs against a deterministic fake host in unit tests.

mod consumer;
mod dedupe;
pub mod host;
mod retry;
mod streams;
mod supervisor;
#[cfg(test)]
mod fake;

wit_bindgen::generate!({
    world: "backup",
    path: "../wit",
    additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
});

use host::WasmHost;

/// Version of this policy, reported by the host at load time.
pub const POLICY_VERSION: &str = concat!("guest-backup ", env!("CARGO_PKG_VERSION"));

struct Component;

impl Guest for Component {
    fn run(config: BackupConfig) -> Result<(), String> {
        supervisor::run(&WasmHost, &config)
    }

    fn run_worker(role: String, args: Vec<u8>) -> Result<(), String> {
        supervisor::run_worker(&WasmHost, &role, &args)
    }

    fn version() -> String {
        POLICY_VERSION.to_string()
    }
}

export!(Component);
