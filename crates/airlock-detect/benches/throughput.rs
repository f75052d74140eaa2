//! Criterion throughput of each detector alone and of the whole pipeline on typical text of
//! 1 KB, 4 KB and 64 KB. Run: `cargo bench -p airlock-detect --bench throughput`.

mod common;

use std::hint::black_box;

use airlock_core::EventKind;
use airlock_detect::registry::DETECTORS;
use airlock_detect::{ScanContext, Scanner};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const SIZES: [usize; 3] = [1 << 10, 4 << 10, 64 << 10];

fn bench(c: &mut Criterion) {
    let context = ScanContext::of_kind(EventKind::ToolResult);
    let mut scanners: Vec<(String, Scanner)> = DETECTORS
        .iter()
        .map(|spec| (spec.id.to_owned(), common::only(spec.id)))
        .collect();
    scanners.push(("pipeline".to_owned(), Scanner::with_defaults()));
    for (name, scanner) in &scanners {
        let mut group = c.benchmark_group(name.as_str());
        for size in SIZES {
            let text = common::typical_text(size);
            group.throughput(Throughput::Bytes(text.len() as u64));
            group.bench_with_input(BenchmarkId::from_parameter(size), &text, |b, text| {
                b.iter(|| scanner.scan(black_box(text), context));
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
