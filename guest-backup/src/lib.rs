//! Backup orchestration, run as a sandboxed component by the `azul-backup` host.
//!
//! The policy (which consumers exist, when to flush, object keys, dedupe, retries, the
//! shutdown order) is plain Rust over the [`host::Host`] trait, so it also compiles natively
//! and runs against a deterministic fake host in unit tests.

mod consumer;
mod dedupe;
mod failed;
#[cfg(test)]
mod fake;
pub mod host;
mod retry;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod sim_seeds;
mod streams;
mod supervisor;

/// Generated from `wit/`. The exported `run` takes a wide record, which the generated
/// lowering code passes as many flat arguments.
#[allow(clippy::too_many_arguments)]
mod bindings {
    wit_bindgen::generate!({
        world: "backup",
        path: "../wit",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
        default_bindings_module: "crate::bindings",
    });
}

pub use bindings::{BackupConfig, Guest, azul};

/// The policy over any [`host::Host`]: what the component's exports run, callable natively
/// (the benchmarks compare it with the component on the same host).
pub mod policy {
    pub use crate::supervisor::{run, run_worker};
}
use host::WasmHost;

/// Version of this policy, reported by the host at load time.
#[cfg(not(feature = "swap-variant"))]
pub const POLICY_VERSION: &str = concat!("guest-backup ", env!("CARGO_PKG_VERSION"));
#[cfg(feature = "swap-variant")]
pub const POLICY_VERSION: &str =
    concat!("guest-backup ", env!("CARGO_PKG_VERSION"), "+swap-variant");

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

bindings::export!(Component with_types_in bindings);
