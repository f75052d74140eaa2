//! Helpers shared by the detectors' unit tests.

use std::path::PathBuf;

use airlock_core::EventKind;

use crate::{ScanContext, Scanner};

/// The shared labelled data, which CI has beside the checkout.
pub(crate) fn shared_data_dir() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// Asserts that `detector`'s own findings (not ones it relays from decoded content) fire on at
/// most `max_rate` of the benign (label 0) dev-split records of all three data files, scanned
/// as untrusted tool results by `scanner`.
pub(crate) fn assert_benign_dev_records_rarely_fire(
    scanner: &Scanner,
    detector: &str,
    max_rate: f64,
) {
    let context = ScanContext::of_kind(EventKind::ToolResult);
    let (mut benign, mut flagged) = (0usize, Vec::new());
    for file in [
        "injection.jsonl",
        "secrets_gitleaks.jsonl",
        "pii_synthetic.jsonl",
    ] {
        let path = shared_data_dir().join(file);
        let lines = std::fs::read_to_string(&path).unwrap_or_else(|err| {
            panic!(
                "this test needs the shared data at {}: {err}",
                path.display()
            )
        });
        for line in lines.lines() {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            if record["split"] != "dev" || record["label"] != 0 {
                continue;
            }
            benign += 1;
            let text = record["text"].as_str().unwrap_or_default();
            if scanner
                .scan(text, context)
                .iter()
                .any(|f| f.detector == detector && f.via.is_empty())
            {
                flagged.push(record["id"].to_string());
            }
        }
    }
    assert!(benign > 2000, "only {benign} benign dev records found");
    let rate = flagged.len() as f64 / benign as f64;
    assert!(
        rate <= max_rate,
        "{detector}: {} of {benign} benign records flagged: {flagged:?}",
        flagged.len()
    );
}
