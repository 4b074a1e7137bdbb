//! `metrics`: per-source counters aggregated across all workers of a run.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::HostState;
use crate::runtime::bindings::metrics;

/// `source → stat → count`, in a stable order for printing.
#[derive(Debug, Default)]
pub struct Stats {
    counts: Mutex<BTreeMap<String, BTreeMap<String, u64>>>,
}

impl Stats {
    pub fn add(&self, source: &str, stat: &str, delta: u64) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts
            .entry(source.to_string())
            .or_default()
            .entry(stat.to_string())
            .or_default() += delta;
    }

    pub fn get(&self, source: &str, stat: &str) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts
            .get(source)
            .and_then(|s| s.get(stat))
            .copied()
            .unwrap_or(0)
    }

    /// Sum of `stat` over all sources.
    pub fn total(&self, stat: &str) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.values().filter_map(|s| s.get(stat)).sum()
    }

    pub fn snapshot(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A space-aligned table with one row per source and the given columns.
    pub fn table(&self, columns: &[&str]) -> String {
        let snap = self.snapshot();
        let mut rows = vec![
            std::iter::once("source".to_string())
                .chain(columns.iter().map(|c| c.to_string()))
                .collect::<Vec<_>>(),
        ];
        for (source, stats) in &snap {
            let row = std::iter::once(source.clone())
                .chain(
                    columns
                        .iter()
                        .map(|c| stats.get(*c).copied().unwrap_or(0).to_string()),
                )
                .collect();
            rows.push(row);
        }
        let widths: Vec<usize> = (0..=columns.len())
            .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
            .collect();
        rows.iter()
            .map(|r| {
                r.iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl metrics::Host for HostState {
    async fn add(&mut self, source: String, stat: String, delta: u64) -> wasmtime::Result<()> {
        self.run.stats.add(&source, &stat, delta);
        Ok(())
    }
}
