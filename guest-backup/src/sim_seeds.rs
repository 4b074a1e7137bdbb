//! Seed handling shared by the policy simulations (this crate's and guest-restore's): which
//! seeds to run, silence for the panics that stand for crashes, and a replay line for a seed
//! that fails.

use std::panic::{RefUnwindSafe, catch_unwind, resume_unwind};

/// Runs `simulate` for every seed — `SIM_SEED=S` alone, else `0..SIM_SEEDS` (1000 by default)
/// — with panics carrying a `Crash` payload kept quiet; a failing seed is printed with the
/// command that replays it (`cargo test -p <package> sim`).
pub fn run_seeds<Crash: 'static, T>(
    package: &str,
    simulate: impl Fn(u64) -> T + RefUnwindSafe,
) -> (usize, Vec<T>) {
    quiet_panics_of::<Crash>();
    let seeds: Vec<u64> = match std::env::var("SIM_SEED") {
        Ok(seed) => vec![seed.parse().expect("SIM_SEED is a number")],
        Err(_) => {
            let n = std::env::var("SIM_SEEDS")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(1000);
            (0..n).collect()
        }
    };
    let outcomes = seeds
        .iter()
        .map(|&seed| {
            catch_unwind(|| simulate(seed)).unwrap_or_else(|payload| {
                eprintln!(
                    "simulation seed {seed} failed; replay: SIM_SEED={seed} cargo test -p {package} sim"
                );
                resume_unwind(payload)
            })
        })
        .collect();
    (seeds.len(), outcomes)
}

/// Panics whose payload is a `P` are expected: only other panics are reported.
fn quiet_panics_of<P: 'static>() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<P>() {
                default(info);
            }
        }));
    });
}
