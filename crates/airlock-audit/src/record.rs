use std::collections::HashMap;

use airlock_core::{Category, Decision, EventKind, Finding, Placeholder, Principal, Severity};
use data_encoding::HEXLOWER;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::canonical::to_canonical_json;
use crate::{AuditError, AuditKey};

/// The `prev_hash` of record 1.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const RECORD_DOMAIN: &[u8] = b"airlock-audit-record-v1\0";
const ARGUMENTS_DOMAIN: &[u8] = b"airlock-audit-arguments-v1\0";

/// What a surface hands to [`crate::AuditLog::append`]: one decision about one action.
/// The log assigns the sequence number, time and hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// The agent session the action belongs to, when the surface has one.
    pub session: Option<String>,
    /// Who acted.
    pub principal: Principal,
    /// What kind of event was decided on.
    pub event_kind: EventKind,
    /// The tool called, for tool calls and results.
    pub tool: Option<String>,
    /// The arguments as they will be stored: secrets already replaced by placeholders (see
    /// [`redact_arguments`]). Stored and exported as given.
    pub arguments: Value,
    /// The arguments as received, secrets and all. Never stored: only an HMAC-SHA256
    /// fingerprint of their canonical JSON under the audit key is kept, so two records can be
    /// compared ("the same call again") without the log holding the value.
    pub raw_arguments: Value,
    /// What the detectors found.
    pub findings: Vec<FindingSummary>,
    /// What the gateway decided.
    pub decision: Decision,
    /// Where the action went and how long it took, when the surface knows.
    pub context: AuditContext,
}

/// Facts about an action that only the surface knows: which upstream served it and how long
/// the upstream took.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditContext {
    /// The upstream (MCP server or model API) the action was sent to, by its configured name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// How long the upstream took to answer, in microseconds (tool results, completions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_latency_us: Option<u64>,
}

impl AuditContext {
    /// Whether the surface supplied nothing. An empty context is not stored at all, so a
    /// record without one hashes and exports exactly as records did before contexts existed.
    pub fn is_empty(&self) -> bool {
        self.upstream.is_none() && self.upstream_latency_us.is_none()
    }
}

impl AuditEntry {
    /// An entry for `raw_arguments` whose stored form is computed here: every secret and piece
    /// of personal data that `findings` located in `scanned` (the text the detectors saw,
    /// usually the arguments' JSON) is replaced by its placeholder wherever it occurs in the
    /// arguments. This is the constructor to use: it cannot forget to redact.
    #[allow(clippy::too_many_arguments)]
    pub fn redacted(
        session: Option<String>,
        principal: Principal,
        event_kind: EventKind,
        tool: Option<String>,
        raw_arguments: Value,
        scanned: &str,
        findings: &[Finding],
        decision: Decision,
    ) -> AuditEntry {
        AuditEntry {
            session,
            principal,
            event_kind,
            tool,
            arguments: redact_arguments(&raw_arguments, scanned, findings),
            raw_arguments,
            findings: findings.iter().map(FindingSummary::from).collect(),
            decision,
            context: AuditContext::default(),
        }
    }
}

/// A finding as the audit log keeps it: which rule fired, how bad, how sure, and where.
/// No excerpt and no message, so nothing of the matched value can reach the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingSummary {
    /// The detector, e.g. `secrets`.
    pub detector: String,
    /// The rule within it, e.g. `aws_access_key`.
    pub rule: String,
    /// The finding's family.
    pub category: Category,
    /// How serious it is.
    pub severity: Severity,
    /// Confidence, rounded to three decimals so that it prints the same everywhere.
    pub score: f64,
    /// First byte of the finding in the scanned text.
    pub start: usize,
    /// One past its last byte.
    pub end: usize,
}

impl From<&Finding> for FindingSummary {
    fn from(finding: &Finding) -> FindingSummary {
        FindingSummary {
            detector: finding.detector.clone(),
            rule: finding.rule.clone(),
            category: finding.category,
            severity: finding.severity,
            score: (f64::from(finding.score) * 1000.0).round() / 1000.0,
            start: finding.span.start,
            end: finding.span.end,
        }
    }
}

/// One stored record, decoded. Its JSON form is what `airlock audit export --format jsonl`
/// writes, one per line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// Position in the log: 1, 2, 3, … with no gaps.
    pub sequence: u64,
    /// When the writer stored it: RFC 3339, UTC, millisecond precision
    /// (`2026-12-07T00:50:07.123Z`).
    pub time: String,
    /// The agent session, when known.
    pub session: Option<String>,
    /// Who acted.
    pub principal: Principal,
    /// What kind of event.
    pub event_kind: EventKind,
    /// The tool, when there is one.
    pub tool: Option<String>,
    /// The arguments with secrets replaced by placeholders.
    pub arguments: Value,
    /// HMAC-SHA256 (audit key) of the raw arguments' canonical JSON, hex.
    pub arguments_fingerprint: String,
    /// What the detectors found.
    pub findings: Vec<FindingSummary>,
    /// What the gateway decided.
    pub decision: Decision,
    /// `hash` of the previous record; 64 zeros for record 1.
    pub prev_hash: String,
    /// Which upstream served the action and how long it took, when the surface said.
    /// Left out of the JSON when empty, so such records read as they did before it existed.
    #[serde(default, skip_serializing_if = "AuditContext::is_empty")]
    pub context: AuditContext,
    /// SHA-256 of this record's canonical form, hex.
    pub hash: String,
}

/// A record exactly as stored: JSON fields as their canonical text. The hash is computed over
/// these bytes, so verification never depends on parsing and re-serialising (floats, key
/// order) and a record that no longer parses is still checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Position in the log.
    pub sequence: u64,
    /// RFC 3339 UTC time.
    pub time: String,
    /// Session id.
    pub session: Option<String>,
    /// Canonical JSON of the principal.
    pub principal: String,
    /// Snake-case event kind.
    pub event_kind: String,
    /// Tool name.
    pub tool: Option<String>,
    /// Canonical JSON of the redacted arguments.
    pub arguments: String,
    /// Hex HMAC of the raw arguments.
    pub arguments_fingerprint: String,
    /// Canonical JSON array of finding summaries.
    pub findings: String,
    /// Canonical JSON of the decision.
    pub decision: String,
    /// Previous record's hash.
    pub prev_hash: String,
    /// Canonical JSON of the [`AuditContext`]; `None` when the context is empty (never
    /// `{}`), so that a record without one hashes as records did before contexts existed.
    pub context: Option<String>,
    /// This record's hash.
    pub hash: String,
}

impl StoredRecord {
    /// The SHA-256 of this record's canonical serialisation: a domain label, then every field
    /// but `hash` in declaration order, each as a presence byte, a big-endian u64 length and
    /// the bytes. Length prefixes make the encoding unambiguous: no two different records
    /// share an input.
    ///
    /// `context`, the last field, is appended only when present (no presence byte when it is
    /// absent): a record without a context hashes exactly as it did before the field existed,
    /// so logs written then still verify. This stays unambiguous because every field encodes
    /// its own length: the input either ends after `prev_hash` or carries one more field.
    pub fn compute_hash(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(RECORD_DOMAIN);
        let sequence = self.sequence.to_string();
        let mut field = |value: Option<&str>| match value {
            None => hasher.update([0u8]),
            Some(text) => {
                hasher.update([1u8]);
                hasher.update((text.len() as u64).to_be_bytes());
                hasher.update(text.as_bytes());
            }
        };
        field(Some(&sequence));
        field(Some(&self.time));
        field(self.session.as_deref());
        field(Some(&self.principal));
        field(Some(&self.event_kind));
        field(self.tool.as_deref());
        field(Some(&self.arguments));
        field(Some(&self.arguments_fingerprint));
        field(Some(&self.findings));
        field(Some(&self.decision));
        field(Some(&self.prev_hash));
        if let Some(context) = &self.context {
            field(Some(context));
        }
        HEXLOWER.encode(&hasher.finalize())
    }

    /// Decodes the JSON fields.
    pub fn decode(&self) -> Result<AuditRecord, AuditError> {
        let corrupt = |what: &str, err: serde_json::Error| AuditError::Corrupt {
            sequence: self.sequence,
            reason: format!("{what}: {err}"),
        };
        Ok(AuditRecord {
            sequence: self.sequence,
            time: self.time.clone(),
            session: self.session.clone(),
            principal: serde_json::from_str(&self.principal)
                .map_err(|err| corrupt("principal", err))?,
            event_kind: serde_json::from_value(Value::String(self.event_kind.clone()))
                .map_err(|err| corrupt("event_kind", err))?,
            tool: self.tool.clone(),
            arguments: serde_json::from_str(&self.arguments)
                .map_err(|err| corrupt("arguments", err))?,
            arguments_fingerprint: self.arguments_fingerprint.clone(),
            findings: serde_json::from_str(&self.findings)
                .map_err(|err| corrupt("findings", err))?,
            decision: serde_json::from_str(&self.decision)
                .map_err(|err| corrupt("decision", err))?,
            prev_hash: self.prev_hash.clone(),
            context: match &self.context {
                Some(context) => {
                    serde_json::from_str(context).map_err(|err| corrupt("context", err))?
                }
                None => AuditContext::default(),
            },
            hash: self.hash.clone(),
        })
    }
}

/// An entry turned into stored text, waiting for the writer to give it a place in the chain.
/// Built on the appender's thread so that serialisation and the fingerprint run in parallel.
#[derive(Debug)]
pub(crate) struct PendingRecord {
    session: Option<String>,
    principal: String,
    event_kind: String,
    tool: Option<String>,
    arguments: String,
    arguments_fingerprint: String,
    findings: String,
    decision: String,
    context: Option<String>,
}

fn canonical<T: Serialize>(value: &T) -> String {
    // Serialising these core types to a Value cannot fail (no maps with non-string keys).
    match serde_json::to_value(value) {
        Ok(value) => to_canonical_json(&value),
        Err(_) => "null".to_owned(),
    }
}

impl PendingRecord {
    pub(crate) fn new(entry: &AuditEntry, key: &AuditKey) -> PendingRecord {
        let raw = to_canonical_json(&entry.raw_arguments);
        PendingRecord {
            session: entry.session.clone(),
            principal: canonical(&entry.principal),
            event_kind: entry.event_kind.as_str().to_owned(),
            tool: entry.tool.clone(),
            arguments: to_canonical_json(&entry.arguments),
            arguments_fingerprint: key.mac_hex(ARGUMENTS_DOMAIN, &[raw.as_bytes()]),
            findings: canonical(&entry.findings),
            decision: canonical(&entry.decision),
            context: (!entry.context.is_empty()).then(|| canonical(&entry.context)),
        }
    }

    pub(crate) fn seal(self, sequence: u64, time: String, prev_hash: String) -> StoredRecord {
        let mut record = StoredRecord {
            sequence,
            time,
            session: self.session,
            principal: self.principal,
            event_kind: self.event_kind,
            tool: self.tool,
            arguments: self.arguments,
            arguments_fingerprint: self.arguments_fingerprint,
            findings: self.findings,
            decision: self.decision,
            prev_hash,
            context: self.context,
            hash: String::new(),
        };
        record.hash = record.compute_hash();
        record
    }
}

/// The fingerprint [`AuditRecord::arguments_fingerprint`] holds for `raw_arguments` under
/// `key`: compare it with stored records to find "the same arguments" without storing them.
pub fn fingerprint_arguments(key: &AuditKey, raw_arguments: &Value) -> String {
    let raw = to_canonical_json(raw_arguments);
    key.mac_hex(ARGUMENTS_DOMAIN, &[raw.as_bytes()])
}

/// `raw` with every secret and piece of personal data that `findings` located in `scanned`
/// replaced by its typed placeholder (`[REDACTED:aws_access_key#1]`), wherever the value
/// occurs: in string values, in object keys, and as a number's digits.
///
/// `scanned` is the text the detectors saw, usually the arguments' JSON; each sensitive
/// finding's span is cut from it, and both that text and its JSON-unescaped form are searched
/// for. Findings of other categories (injection, commands) are not values to hide and are left.
/// Only what the detectors found is redacted: a secret they missed is stored as given.
pub fn redact_arguments(raw: &Value, scanned: &str, findings: &[Finding]) -> Value {
    let mut numbering: HashMap<&str, usize> = HashMap::new();
    let mut seen: HashMap<&str, String> = HashMap::new();
    let mut values: Vec<(String, String)> = Vec::new();
    for finding in findings
        .iter()
        .filter(|finding| finding.category.is_sensitive_value())
    {
        let Some(text) = scanned.get(finding.span.start..finding.span.end) else {
            continue;
        };
        if text.is_empty() || seen.contains_key(text) {
            continue;
        }
        let index = numbering.entry(finding.rule.as_str()).or_insert(0);
        *index += 1;
        let placeholder = Placeholder {
            label: finding.rule.clone(),
            index: *index,
        }
        .to_string();
        seen.insert(text, placeholder.clone());
        if let Ok(unescaped) = serde_json::from_str::<String>(&format!("\"{text}\""))
            && unescaped != text
            && !unescaped.is_empty()
        {
            values.push((unescaped, placeholder.clone()));
        }
        values.push((text.to_owned(), placeholder));
    }
    // Longest first, so a value that contains another is replaced whole.
    values.sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
    replace_in(raw, &values)
}

fn replace_text(text: &str, values: &[(String, String)]) -> String {
    let mut out = text.to_owned();
    for (value, placeholder) in values {
        if out.contains(value.as_str()) {
            out = out.replace(value.as_str(), placeholder);
        }
    }
    out
}

fn replace_in(value: &Value, values: &[(String, String)]) -> Value {
    if values.is_empty() {
        return value.clone();
    }
    match value {
        Value::String(text) => Value::String(replace_text(text, values)),
        Value::Number(number) => {
            let digits = number.to_string();
            let replaced = replace_text(&digits, values);
            if replaced == digits {
                value.clone()
            } else {
                Value::String(replaced)
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| replace_in(v, values)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| (replace_text(key, values), replace_in(item, values)))
                .collect(),
        ),
        Value::Null | Value::Bool(_) => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use airlock_core::Span;
    use serde_json::json;

    use super::*;

    fn secret_finding(scanned: &str, value: &str, rule: &str) -> Finding {
        let start = scanned.find(value).unwrap();
        Finding {
            detector: "secrets".into(),
            rule: rule.into(),
            category: Category::Secret,
            severity: Severity::Critical,
            score: 0.9,
            span: Span::new(start, start + value.len()),
            excerpt: "AKIA********".into(),
            message: "key".into(),
            via: vec![],
        }
    }

    #[test]
    fn redacts_found_secrets_everywhere_they_occur_and_keeps_the_rest() {
        let key = concat!("AKIA", "6NAR2KHSWAUUXBNX");
        let raw =
            json!({"to": "ops@example.org", "body": format!("key {key}"), "cc": [key], key: 1});
        let scanned = serde_json::to_string(&raw).unwrap();
        let findings = [secret_finding(&scanned, key, "aws_access_key")];
        let redacted = redact_arguments(&raw, &scanned, &findings);
        let text = redacted.to_string();
        assert!(!text.contains(key), "{text}");
        assert_eq!(redacted["body"], "key [REDACTED:aws_access_key#1]");
        assert_eq!(redacted["cc"][0], "[REDACTED:aws_access_key#1]");
        assert_eq!(redacted["to"], "ops@example.org");
    }

    #[test]
    fn leaves_arguments_alone_when_nothing_sensitive_was_found() {
        let raw = json!({"command": "rm -rf /", "n": 3});
        let scanned = raw.to_string();
        let mut finding = secret_finding(&scanned, "rm -rf /", "rm_rf");
        finding.category = Category::DangerousCommand;
        assert_eq!(redact_arguments(&raw, &scanned, &[finding]), raw);
    }

    fn base_record() -> StoredRecord {
        StoredRecord {
            sequence: 1,
            time: "2026-01-01T00:00:00.000Z".into(),
            session: Some("s".into()),
            principal: "{}".into(),
            event_kind: "tool_call".into(),
            tool: Some("t".into()),
            arguments: "{}".into(),
            arguments_fingerprint: "ab".into(),
            findings: "[]".into(),
            decision: r#"{"outcome":"allow"}"#.into(),
            prev_hash: GENESIS_HASH.into(),
            context: None,
            hash: String::new(),
        }
    }

    #[test]
    fn hash_covers_every_field() {
        let base = base_record();
        let original = base.compute_hash();
        type Change = Box<dyn Fn(&mut StoredRecord)>;
        let variants: Vec<Change> = vec![
            Box::new(|r| r.sequence = 2),
            Box::new(|r| r.time.push('x')),
            Box::new(|r| r.session = None),
            Box::new(|r| r.principal = r#"{"agent":"a"}"#.into()),
            Box::new(|r| r.event_kind = "prompt".into()),
            Box::new(|r| r.tool = None),
            Box::new(|r| r.arguments = "[]".into()),
            Box::new(|r| r.arguments_fingerprint = "cd".into()),
            Box::new(|r| r.findings = "[1]".into()),
            Box::new(|r| r.decision = r#"{"outcome":"deny"}"#.into()),
            Box::new(|r| r.prev_hash = "1".repeat(64)),
            Box::new(|r| r.context = Some(r#"{"upstream":"github"}"#.into())),
            // An empty object is stored text like any other, not the same as no context.
            Box::new(|r| r.context = Some("{}".into())),
            Box::new(|r| r.context = Some(String::new())),
        ];
        for change in variants {
            let mut record = base.clone();
            change(&mut record);
            assert_ne!(record.compute_hash(), original);
        }
        // Moving bytes between adjacent fields changes the hash too (length prefixes).
        let mut shifted = base.clone();
        shifted.session = Some("sx".into());
        shifted.tool = Some(String::new());
        let mut other = base.clone();
        other.session = Some("s".into());
        other.tool = Some("xt".into());
        assert_ne!(shifted.compute_hash(), other.compute_hash());
    }

    /// The hash of [`base_record`] as airlock computed it before records had a context
    /// (commit 686c76c), and as an independent implementation of the documented encoding
    /// gives it. If this changes, every existing log stops verifying.
    const BASE_RECORD_HASH_V1: &str =
        "ecfaca39c5fb6f1e6194b300a6f134a524bfeec3ee5f69f3f789d350bf13c27f";

    #[test]
    fn a_record_without_context_hashes_exactly_as_before_contexts_existed() {
        assert_eq!(base_record().compute_hash(), BASE_RECORD_HASH_V1);
    }

    #[test]
    fn a_record_with_context_hashes_its_canonical_json_as_a_trailing_field() {
        let mut record = base_record();
        record.context = Some(r#"{"upstream":"github","upstream_latency_us":1500}"#.into());
        assert_eq!(
            record.compute_hash(),
            "524c24d8221d911307e33bfe1b8283f92e4f173a37c8354f5902de192e4dbfc4"
        );
    }

    fn entry_with(context: AuditContext) -> AuditEntry {
        AuditEntry {
            session: None,
            principal: Principal::default(),
            event_kind: EventKind::ToolCall,
            tool: Some("t".into()),
            arguments: json!({}),
            raw_arguments: json!({}),
            findings: vec![],
            decision: Decision::deny("x"),
            context,
        }
    }

    #[test]
    fn an_empty_context_is_not_stored_and_a_full_one_is_stored_as_canonical_json() {
        let key = AuditKey::from_bytes([7; 32]);
        let empty = PendingRecord::new(&entry_with(AuditContext::default()), &key);
        assert_eq!(empty.context, None);
        let full = PendingRecord::new(
            &entry_with(AuditContext {
                upstream: Some("github".into()),
                upstream_latency_us: Some(1500),
            }),
            &key,
        );
        assert_eq!(
            full.context.as_deref(),
            Some(r#"{"upstream":"github","upstream_latency_us":1500}"#)
        );
        let only_latency = PendingRecord::new(
            &entry_with(AuditContext {
                upstream: None,
                upstream_latency_us: Some(0),
            }),
            &key,
        );
        assert_eq!(
            only_latency.context.as_deref(),
            Some(r#"{"upstream_latency_us":0}"#)
        );
    }

    #[test]
    fn a_record_without_context_serialises_without_the_field() {
        let mut record = base_record();
        record.principal = serde_json::to_string(&Principal::default()).unwrap();
        record.hash = record.compute_hash();
        let decoded = record.decode().unwrap();
        let text = serde_json::to_string(&decoded).unwrap();
        assert!(!text.contains("context"), "{text}");
        let back: AuditRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(back, decoded);
    }

    #[test]
    fn a_stored_context_that_is_not_json_is_reported_as_corrupt() {
        let mut record = base_record();
        record.principal = serde_json::to_string(&Principal::default()).unwrap();
        record.context = Some("{not json".into());
        let err = record.decode().unwrap_err();
        assert!(
            matches!(err, AuditError::Corrupt { sequence: 1, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("context"), "{err}");
    }
}
