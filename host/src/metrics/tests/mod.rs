//! Tests of the operator metrics, one file per concern.

mod printer;
mod registry;
mod server;
mod timed;

use std::collections::BTreeMap;

use prometheus::proto::MetricType;

use super::RunMetrics;

/// `labels → value` of one family's series; histograms give their sample count.
type Series = BTreeMap<Vec<(String, String)>, f64>;

/// Every `recovery_*` family of `metrics`: name → (type, series).
fn families(metrics: &RunMetrics) -> BTreeMap<String, (MetricType, Series)> {
    metrics
        .registry()
        .gather()
        .into_iter()
        .filter(|f| f.name().starts_with("recovery_"))
        .map(|f| {
            let series = f
                .get_metric()
                .iter()
                .map(|m| {
                    let labels = m
                        .get_label()
                        .iter()
                        .map(|l| (l.name().to_string(), l.value().to_string()))
                        .collect();
                    let value = match f.get_field_type() {
                        MetricType::COUNTER => m.get_counter().get_value(),
                        MetricType::GAUGE => m.get_gauge().get_value(),
                        MetricType::HISTOGRAM => m.get_histogram().get_sample_count() as f64,
                        other => panic!("unexpected metric type {other:?}"),
                    };
                    (labels, value)
                })
                .collect();
            (f.name().to_string(), (f.get_field_type(), series))
        })
        .collect()
}

/// Label pairs from `("name", "value")`.
fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}
