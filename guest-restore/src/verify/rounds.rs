//! One round: a page of keys checked by a few workers at once. The results queue has room
//! for every key's outcome, so workers never wait on it and the supervisor collects the
//! outcomes once the workers are done.

use super::WorkerArgs;
use super::checks::Checked;
use crate::azul::backup::verification::VerifyConfig;
use crate::host::{Host, Queue, Task};

pub fn run<H: Host>(
    host: &H,
    config: &VerifyConfig,
    role: &str,
    round: u32,
    keys: &[String],
) -> Result<Vec<Checked>, String> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let work_name = format!("{role}-{round}");
    let results_name = format!("{work_name}-results");
    let capacity = keys.len() as u32;
    let work = host.open_queue(&work_name, capacity);
    let results = host.open_queue(&results_name, capacity);
    let args = serde_json::to_vec(&WorkerArgs {
        config: config.clone(),
        work: work_name,
        results: results_name,
    })
    .map_err(|e| e.to_string())?;
    let workers = (0..config.workers.clamp(1, capacity))
        .map(|_| host.spawn(role, &args))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("starting {role} workers: {}", e.message))?;
    for key in keys {
        work.send(key.as_bytes()).map_err(|e| e.message)?;
    }
    work.close();
    // A worker that failed leaves its objects unchecked: the verify cannot be complete.
    let failures: Vec<String> = workers.iter().filter_map(|w| w.join().err()).collect();
    results.close();
    if !failures.is_empty() {
        return Err(format!("{role} worker failed: {}", failures.join("; ")));
    }
    let mut checked = Vec::with_capacity(keys.len());
    while let Some(message) = results.recv() {
        checked.push(
            serde_json::from_slice::<Checked>(&message)
                .map_err(|e| format!("{role} outcome: {e}"))?,
        );
    }
    if checked.len() != keys.len() {
        return Err(format!(
            "{role}: {} of {} objects reported",
            checked.len(),
            keys.len()
        ));
    }
    Ok(checked)
}
