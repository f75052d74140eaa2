//! Data-flow tracking: did a sensitive value this session read come back out in an egress
//! call's arguments?
//!
//! Values are never stored. Each is normalised (see [`tokens`]: split into tokens at anything
//! but letters, digits and `.@-_`, tokens trimmed of `.-_` at their ends and lowercased, then
//! joined by one space) and kept as an HMAC-SHA256 under a key that is random per process
//! (or configured, so that several gateway processes agree), together with the number of
//! tokens it has. An outbound string is tokenised the same way, and every window of `k`
//! consecutive tokens, for each `k` some stored value has, is hashed and looked up. So a value
//! is found anywhere in an argument as long as it starts and ends on token boundaries
//! (`"to: ana.ng@example.org, thanks"` contains `ana.ng@example.org`), with a cost of
//! (tokens × distinct lengths) hashes per argument — bounded because values of more than
//! [`MAX_VALUE_TOKENS`] tokens are not tracked. Those window hashes are a cheap keyed 64-bit
//! hash built from per-token hashes, kept beside each fingerprint as a prefilter: only a
//! window whose prefilter hash some stored value has is HMACed and looked up, so an argument
//! costs a few non-cryptographic mixes per token instead of one HMAC per window.
//!
//! Memory is bounded per session by `max_fingerprints`: when full, the oldest fingerprint is
//! evicted (first in, first out), so a session that reads a flood of data forgets its oldest
//! values rather than growing without limit.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;

use airlock_core::hash64::{finish, mix};
use airlock_core::{Category, Finding, Severity, Span};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// Values with more tokens than this are not tracked (their secret/PII parts still are, as
/// finding spans).
pub const MAX_VALUE_TOKENS: usize = 32;
/// Longest outbound string examined, in bytes; the rest of a longer string is not searched.
pub const MAX_SCANNED_BYTES: usize = 256 * 1024;

type HmacSha256 = Hmac<Sha256>;

/// The secret key of the fingerprints. Its `Debug` never shows it.
#[derive(Clone)]
pub struct FingerprintKey {
    mac: HmacSha256,
    /// Key of the prefilter hash, derived from the HMAC key.
    prefilter_seed: u64,
}

impl fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FingerprintKey(..)")
    }
}

/// The operating system's random source failed; without a key no fingerprint can be kept
/// safely.
#[derive(Debug, thiserror::Error)]
#[error("cannot create a fingerprint key: the system random source failed: {0}")]
pub struct KeyError(String);

impl FingerprintKey {
    /// A fresh random 256-bit key.
    pub fn random() -> Result<FingerprintKey, KeyError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| KeyError(e.to_string()))?;
        Ok(Self::from_bytes(&key))
    }

    /// A configured key (e.g. shared by the processes of one deployment).
    pub fn from_bytes(key: &[u8]) -> FingerprintKey {
        // HMAC accepts keys of any length.
        let mac = <HmacSha256 as Mac>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable_hmac_key_error());
        let mut derive = mac.clone();
        derive.update(b"airlock dataflow prefilter seed");
        let derived = derive.finalize().into_bytes();
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&derived[..8]);
        FingerprintKey {
            mac,
            prefilter_seed: u64::from_le_bytes(seed),
        }
    }

    /// The prefilter hash of one normalised token.
    fn token_hash(&self, token: &str) -> u64 {
        let mut hash = self.prefilter_seed;
        for &byte in token.as_bytes() {
            hash = mix(hash, u64::from(byte));
        }
        finish(hash)
    }

    /// The prefilter hash of a window of tokens, from their [`FingerprintKey::token_hash`]es.
    fn window_hash(&self, token_hashes: &[u64]) -> u64 {
        let mut hash = self.prefilter_seed ^ token_hashes.len() as u64;
        for &token in token_hashes {
            hash = mix(hash, token);
        }
        finish(hash)
    }

    fn fingerprint(&self, normalised: &str) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(normalised.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

#[cold]
fn unreachable_hmac_key_error() -> HmacSha256 {
    // `new_from_slice` only fails for MACs with a fixed key size, which HMAC is not.
    <HmacSha256 as Mac>::new_from_slice(&[0u8; 32])
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"))
}

/// What kind of sensitive value was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// A secret finding's span.
    Secret,
    /// A personal-data finding's span.
    Pii,
    /// A string from a tool labelled `private`.
    Private,
}

impl ValueKind {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueKind::Secret => "secret",
            ValueKind::Pii => "pii",
            ValueKind::Private => "private",
        }
    }
}

/// Where a tracked value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueSource {
    /// The tool whose result held it.
    pub tool: String,
    /// The call id of that result.
    pub call_id: String,
    /// What it was.
    pub kind: ValueKind,
}

/// A sensitive value found in an outbound call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DataFlow {
    /// The tool whose result the value came from.
    pub source_tool: String,
    /// That result's call id.
    pub source_call_id: String,
    /// What kind of value it is.
    pub kind: ValueKind,
    /// Where in the outbound arguments, as a JSON pointer (`/body`).
    pub argument: String,
}

impl DataFlow {
    /// The finding surfaces log and audit; it names the source, never the value.
    pub fn to_finding(&self) -> Finding {
        Finding {
            detector: "dataflow".into(),
            rule: "sensitive_value_to_egress".into(),
            category: Category::Exfiltration,
            severity: Severity::High,
            score: 1.0,
            span: Span::new(0, 0),
            excerpt: format!("{} value at {}", self.kind.as_str(), self.argument),
            message: format!(
                "argument {} carries a {} value read from `{}` (call {})",
                self.argument,
                self.kind.as_str(),
                self.source_tool,
                self.source_call_id
            ),
            via: Vec::new(),
        }
    }
}

/// The normalised tokens of `text`.
pub fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '.' | '@' | '-' | '_')))
        .map(|t| t.trim_matches(|c| matches!(c, '.' | '-' | '_')))
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
}

/// Takes one off a count; `true` when none is left and its key should be removed.
fn take_one(count: Option<&mut usize>) -> bool {
    count.is_some_and(|n| {
        *n -= 1;
        *n == 0
    })
}

/// One session's fingerprints, bounded.
#[derive(Debug, Clone, Default)]
pub struct FingerprintSet {
    entries: HashMap<[u8; 32], ValueSource>,
    order: VecDeque<[u8; 32]>,
    /// Token count → how many stored values have it.
    lengths: BTreeMap<usize, usize>,
    /// Each fingerprint's token count and prefilter hash, to forget them on eviction.
    shapes: HashMap<[u8; 32], (usize, u64)>,
    /// Prefilter hash → how many stored values have it.
    prefilter: HashMap<u64, usize>,
}

impl FingerprintSet {
    /// Number of fingerprints held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Tracks `value` (if it normalises to 1..=[`MAX_VALUE_TOKENS`] tokens and at least
    /// `min_len` bytes), evicting the oldest when `cap` is reached. Returns whether it was
    /// added.
    pub fn insert(
        &mut self,
        key: &FingerprintKey,
        value: &str,
        min_len: usize,
        source: ValueSource,
        cap: usize,
    ) -> bool {
        let parts: Vec<String> = tokens(value).take(MAX_VALUE_TOKENS + 1).collect();
        if parts.is_empty() || parts.len() > MAX_VALUE_TOKENS {
            return false;
        }
        let normalised = parts.join(" ");
        if normalised.len() < min_len || cap == 0 {
            return false;
        }
        let fp = key.fingerprint(&normalised);
        if self.entries.contains_key(&fp) {
            // The first source is the one an auditor needs; keep it.
            return false;
        }
        while self.entries.len() >= cap {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.entries.remove(&oldest);
            if let Some((count, prefilter)) = self.shapes.remove(&oldest) {
                if take_one(self.lengths.get_mut(&count)) {
                    self.lengths.remove(&count);
                }
                if take_one(self.prefilter.get_mut(&prefilter)) {
                    self.prefilter.remove(&prefilter);
                }
            }
        }
        let token_hashes: Vec<u64> = parts.iter().map(|part| key.token_hash(part)).collect();
        let prefilter = key.window_hash(&token_hashes);
        self.entries.insert(fp, source);
        self.order.push_back(fp);
        self.shapes.insert(fp, (parts.len(), prefilter));
        *self.lengths.entry(parts.len()).or_default() += 1;
        *self.prefilter.entry(prefilter).or_default() += 1;
        true
    }

    /// Every tracked value found in the string leaves (and numbers) of `arguments`.
    pub fn find_in(&self, key: &FingerprintKey, arguments: &Value) -> Vec<DataFlow> {
        let mut found = Vec::new();
        if self.entries.is_empty() {
            return found;
        }
        let mut pointer = String::new();
        self.walk(key, arguments, &mut pointer, &mut found);
        found
    }

    fn walk(
        &self,
        key: &FingerprintKey,
        value: &Value,
        pointer: &mut String,
        out: &mut Vec<DataFlow>,
    ) {
        match value {
            Value::String(s) => self.search(key, s, pointer, out),
            Value::Number(n) => self.search(key, &n.to_string(), pointer, out),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = pointer.len();
                    pointer.push_str(&format!("/{i}"));
                    self.walk(key, item, pointer, out);
                    pointer.truncate(len);
                }
            }
            Value::Object(map) => {
                for (name, item) in map {
                    let len = pointer.len();
                    pointer.push('/');
                    // RFC 6901 escaping.
                    pointer.push_str(&name.replace('~', "~0").replace('/', "~1"));
                    self.walk(key, item, pointer, out);
                    pointer.truncate(len);
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }

    fn search(&self, key: &FingerprintKey, text: &str, pointer: &str, out: &mut Vec<DataFlow>) {
        let mut end = text.len().min(MAX_SCANNED_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let parts: Vec<String> = tokens(&text[..end]).collect();
        let token_hashes: Vec<u64> = parts.iter().map(|part| key.token_hash(part)).collect();
        let mut window = String::new();
        for &k in self.lengths.keys() {
            if k > parts.len() {
                break;
            }
            for start in 0..=parts.len() - k {
                if !self
                    .prefilter
                    .contains_key(&key.window_hash(&token_hashes[start..start + k]))
                {
                    continue;
                }
                window.clear();
                for (j, part) in parts[start..start + k].iter().enumerate() {
                    if j > 0 {
                        window.push(' ');
                    }
                    window.push_str(part);
                }
                if let Some(source) = self.entries.get(&key.fingerprint(&window)) {
                    let flow = DataFlow {
                        source_tool: source.tool.clone(),
                        source_call_id: source.call_id.clone(),
                        kind: source.kind,
                        argument: if pointer.is_empty() {
                            "/".into()
                        } else {
                            pointer.to_owned()
                        },
                    };
                    if !out.contains(&flow) {
                        out.push(flow);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn source(tool: &str) -> ValueSource {
        ValueSource {
            tool: tool.into(),
            call_id: "call-1".into(),
            kind: ValueKind::Pii,
        }
    }

    #[test]
    fn finds_a_value_inside_a_longer_argument_on_token_boundaries() {
        let key = FingerprintKey::from_bytes(b"test key");
        let mut set = FingerprintSet::default();
        assert!(set.insert(&key, "Ana.Ng@Example.org", 4, source("crm"), 10));
        let flows = set.find_in(
            &key,
            &json!({"body": "Forwarding: ana.ng@example.org, as asked."}),
        );
        assert_eq!(flows.len(), 1);
        assert_eq!(flows[0].argument, "/body");
        assert_eq!(flows[0].source_tool, "crm");
        // A value that merely contains it as a part of a token is a different value.
        assert!(
            set.find_in(&key, &json!({"body": "xana.ng@example.org"}))
                .is_empty()
        );
    }

    #[test]
    fn multi_token_values_match_across_separators() {
        let key = FingerprintKey::from_bytes(b"k");
        let mut set = FingerprintSet::default();
        set.insert(&key, "4111 1111 1111 1111", 4, source("billing"), 10);
        let flows = set.find_in(&key, &json!({"q": ["card=4111-1111 1111/1111 ok"]}));
        // `-` is kept inside tokens, so "4111-1111" is one token and does not match.
        assert!(flows.is_empty());
        let flows = set.find_in(&key, &json!({"q": ["card: 4111 1111 1111 1111 ok"]}));
        assert_eq!(flows[0].argument, "/q/0");
    }

    #[test]
    fn evicts_the_oldest_fingerprint_at_the_cap() {
        let key = FingerprintKey::from_bytes(b"k");
        let mut set = FingerprintSet::default();
        for i in 0..5 {
            set.insert(&key, &format!("value-number-{i}"), 4, source("t"), 3);
        }
        assert_eq!(set.len(), 3);
        // Evicted values leave no token-count or prefilter entry behind.
        assert_eq!(set.lengths.values().sum::<usize>(), 3);
        assert_eq!(set.prefilter.values().sum::<usize>(), 3);
        assert!(set.find_in(&key, &json!("value-number-0")).is_empty());
        assert_eq!(set.find_in(&key, &json!("value-number-4")).len(), 1);
    }

    #[test]
    fn key_debug_does_not_show_the_key() {
        let key = FingerprintKey::from_bytes(b"super secret key");
        assert_eq!(format!("{key:?}"), "FingerprintKey(..)");
    }
}
