//! Per-event latency of the whole pipeline on 4 KB events: p50, p99 and throughput, printed as
//! a markdown table for docs/BENCHMARKS.md. Each event is a different 4 KB window of typical
//! text, so caches do not flatter the numbers.
//! Run: `cargo bench -p airlock-detect --bench latency`; name scanners after `--` to run only
//! those (`-- injection pipeline`), e.g. under a profiler. `injection` also runs the detector
//! without its model tier, so the two tiers can be compared in one run.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use airlock_core::EventKind;
use airlock_detect::registry::DETECTORS;
use airlock_detect::{RawDetectConfig, ScanContext, Scanner};

const EVENT: usize = 4 << 10;
const EVENTS: usize = 2_000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn main() {
    // `cargo bench` passes `--bench`; other arguments name the scanners to run.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    let text = common::typical_text(EVENT * 64);
    let windows: Vec<&str> = (0..EVENTS)
        .map(|i| {
            let mut start = (i * 997) % (text.len() - EVENT);
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = start + EVENT;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            &text[start..end]
        })
        .collect();
    let context = ScanContext::of_kind(EventKind::ToolResult);

    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| name.starts_with(o.as_str()));
    let mut scanners: Vec<(String, Scanner)> = DETECTORS
        .iter()
        .filter(|spec| wanted(spec.id))
        .map(|spec| (spec.id.to_owned(), common::only(spec.id)))
        .collect();
    // The injection detector's cost without its model tier, for the per-tier latency table
    // in docs/DETECTION.md.
    if wanted("injection") {
        let mut config = RawDetectConfig::only(&["injection"]);
        if let Some(table) = config.detectors.get_mut("injection") {
            table.insert("model".into(), false.into());
        }
        let heuristics = Scanner::from_config(&config).expect("injection without model is valid");
        scanners.push(("injection, heuristics only".to_owned(), heuristics));
    }
    if wanted("pipeline") {
        scanners.push(("pipeline (all)".to_owned(), Scanner::with_defaults()));
    }

    println!("| scanner | p50 per 4 KB | p99 per 4 KB | throughput |");
    println!("|---|---:|---:|---:|");
    for (name, scanner) in &scanners {
        for window in windows.iter().take(200) {
            black_box(scanner.scan(window, context));
        }
        let mut times = Vec::with_capacity(EVENTS);
        let mut bytes = 0usize;
        let started = Instant::now();
        for window in &windows {
            let t = Instant::now();
            black_box(scanner.scan(black_box(window), context));
            times.push(t.elapsed());
            bytes += window.len();
        }
        let total = started.elapsed();
        times.sort();
        println!(
            "| {name} | {:.1} µs | {:.1} µs | {:.0} MB/s |",
            percentile(&times, 0.50).as_secs_f64() * 1e6,
            percentile(&times, 0.99).as_secs_f64() * 1e6,
            bytes as f64 / total.as_secs_f64() / 1e6,
        );
    }
}
