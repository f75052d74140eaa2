//! Typical text for benchmarks: benign records (prose, instructions, code, docs) from the
//! shared injection dataset, concatenated in file order, so every run measures the same bytes.

use std::path::Path;

use airlock_detect::{RawDetectConfig, Scanner};

/// At least `len` bytes of typical text, cut at a character boundary.
pub fn typical_text(len: usize) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/injection.jsonl");
    let data = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("benchmarks need {}: {err}", path.display()));
    let mut text = String::with_capacity(len + 4096);
    'fill: loop {
        for line in data.lines() {
            let record: serde_json::Value = serde_json::from_str(line).expect("valid jsonl");
            if record["label"] == 0 {
                text.push_str(record["text"].as_str().unwrap_or_default());
                text.push('\n');
                if text.len() >= len {
                    break 'fill;
                }
            }
        }
    }
    let mut cut = len;
    while !text.is_char_boundary(cut) {
        cut += 1;
    }
    text.truncate(cut);
    text
}

/// A scanner running only the detector `id`.
pub fn only(id: &str) -> Scanner {
    Scanner::from_config(&RawDetectConfig::only(&[id])).expect("single-detector config is valid")
}
