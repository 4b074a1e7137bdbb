//! Restore orchestration, run as a sandboxed component by the `azul-backup` host.
//!
//! Order: streams (source by source), then system insert/delete, then binary events, each
//! type oldest bundle first. Progress is saved after every posted bundle and every chunk of
//! streams, in the original's checkpoint files, so a restart resumes where it stopped.

mod events;
#[cfg(test)]
mod fake;
pub mod host;
/// The retry policy is shared with the backup component (same trait shape over each host).
#[path = "../../guest-backup/src/retry.rs"]
mod retry;
mod streams;
mod supervisor;

/// Generated from `wit/`. The exported `run` takes a wide record, which the generated
/// lowering code passes as many flat arguments.
#[allow(clippy::too_many_arguments)]
mod bindings {
    wit_bindgen::generate!({
        world: "restore",
        path: "../wit",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
        default_bindings_module: "crate::bindings",
    });
}

pub use bindings::{Guest, RestoreConfig, azul};
use host::WasmHost;

pub const POLICY_VERSION: &str = concat!("guest-restore ", env!("CARGO_PKG_VERSION"));

struct Component;

impl Guest for Component {
    fn run(config: RestoreConfig) -> Result<(), String> {
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
