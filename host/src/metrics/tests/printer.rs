use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::metrics::{PrintSchedule, REDUCING_NOTICE, Stats, StatsPrinter, TickAction, report};
use crate::runtime::Kind;

#[test]
fn schedule_is_every_tick_for_thirty_then_hourly() {
    let schedule = PrintSchedule::default();
    assert_eq!(schedule.tick, Duration::from_secs(60));
    let printing: Vec<u64> = (1..=200)
        .filter(|n| schedule.at(*n) == TickAction::Print)
        .collect();
    let expected: Vec<u64> = (1..=30).chain([60, 120, 180]).collect();
    assert_eq!(printing, expected);
    assert_eq!(schedule.at(31), TickAction::AnnounceReduced);
}

#[test]
fn report_has_the_originals_columns_and_rates() {
    let stats = Stats::default();
    stats.add("samples", "events-ok", 30);
    stats.add("samples", "streams-ok", 3);
    stats.add("samples", "streams-complete", 1);
    let [table, rates] = report(Kind::Restore, &stats, Duration::from_secs(10));
    assert_eq!(
        table,
        "Restore stats:\n\
         source   events-ok  events-fail  event-types-complete  streams-ok  streams-fail  streams-complete\n\
         samples  30         0            0                     3           0             true"
    );
    assert_eq!(rates, "Processed 30 events (3.00/s) and 3 streams (0.30/s)");
    let [table, _] = report(Kind::Backup, &stats, Duration::ZERO);
    assert!(table.starts_with(
        "Backup stats:\nsource   events-ok  events-fail  streams-ok  streams-missing  streams-fail\n"
    ));
}

#[tokio::test]
async fn fast_ticks_print_thirty_times_then_announce_then_hourly_then_final() {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let stats = Stats::default();
    stats.add("samples", "events-ok", 1);
    let schedule = PrintSchedule {
        tick: Duration::from_millis(2),
        ..PrintSchedule::default()
    };
    let emit = move |line: String| sink.lock().unwrap().push(line);
    let printer = StatsPrinter::with_schedule(Kind::Backup, stats, Instant::now(), schedule, emit);
    let tables = || {
        let lines = lines.lock().unwrap();
        lines
            .iter()
            .filter(|l| l.starts_with("Backup stats:"))
            .count()
    };
    // Tick 60 is the first hourly print.
    let deadline = Instant::now() + Duration::from_secs(30);
    while tables() < 31 {
        assert!(Instant::now() < deadline, "printer too slow");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    printer.finish().await;

    let lines = lines.lock().unwrap();
    let first_tables: Vec<&String> = lines.iter().take(60).collect();
    for pair in first_tables.chunks(2) {
        assert!(pair[0].starts_with("Backup stats:\nsource"), "{pair:?}");
        assert!(pair[1].starts_with("Processed 1 events ("), "{pair:?}");
    }
    assert_eq!(lines[60], REDUCING_NOTICE);
    // Then only hourly prints (tick 60, maybe later ones) and the final one.
    let rest = &lines[61..];
    assert!(rest.len() >= 4 && rest.len().is_multiple_of(2), "{rest:?}");
    assert!(!rest.iter().any(|l| l == REDUCING_NOTICE));
}
