//! Restore orchestration, run as a sandboxed component by the `azul-backup` host.
//!
//! Order: streams (source by source), then system insert/delete, then binary events, each
//! type oldest bundle first. Progress is saved after every posted bundle and every chunk of
//! streams, in the original's checkpoint files, so a restart resumes where it stopped.
//! `verify` checks a backup without restoring it.

mod events;
#[cfg(test)]
mod fake;
pub mod host;
/// The retry policy is shared with the backup component (same trait shape over each host).
#[path = "../../guest-backup/src/retry.rs"]
mod retry;
#[cfg(test)]
mod sim;
/// The simulations' seed handling is shared with the backup component.
#[cfg(test)]
#[path = "../../guest-backup/src/sim_seeds.rs"]
mod sim_seeds;
mod streams;
mod supervisor;
mod verify;

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

use azul::backup::verification::{VerifyConfig, VerifyReport};
pub use bindings::{Guest, RestoreConfig, azul};
use host::{Host, WasmHost};

pub const POLICY_VERSION: &str = concat!("guest-restore ", env!("CARGO_PKG_VERSION"));

/// Every worker role: verify's, or restore's.
pub fn run_worker<H: Host>(host: &H, role: &str, args: &[u8]) -> Result<(), String> {
    match role {
        verify::BUNDLE_ROLE | verify::STREAM_ROLE => verify::run_worker(host, role, args),
        _ => supervisor::run_worker(host, role, args),
    }
}

struct Component;

impl Guest for Component {
    fn run(config: RestoreConfig) -> Result<(), String> {
        supervisor::run(&WasmHost, &config)
    }

    fn run_worker(role: String, args: Vec<u8>) -> Result<(), String> {
        run_worker(&WasmHost, &role, &args)
    }

    fn version() -> String {
        POLICY_VERSION.to_string()
    }

    fn verify(config: VerifyConfig) -> Result<VerifyReport, String> {
        verify::run(&WasmHost, &config)
    }
}

bindings::export!(Component with_types_in bindings);
