//! Arbitrary bytes as an MCP message and as a tool definition: classification, the id key,
//! the definition's text, its pin digest and the tool-poisoning rules never panic, and every
//! rule finding lies inside the text on character boundaries.
#![no_main]

use airlock_mcp::{definition_digest, jsonrpc, poison};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let jsonrpc::Kind::Request { id, .. } | jsonrpc::Kind::Response { id } =
        jsonrpc::classify(&message)
    {
        assert!(!jsonrpc::id_key(id).is_empty());
    }
    let text = poison::definition_text(&message);
    let _ = definition_digest(&message);
    for finding in poison::rule_findings(&text) {
        assert!(finding.span.end <= text.len());
        assert!(
            text.is_char_boundary(finding.span.start) && text.is_char_boundary(finding.span.end)
        );
    }
});
