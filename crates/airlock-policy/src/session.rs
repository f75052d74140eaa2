//! Per-session state that policy needs to judge a call in context: what the session has seen
//! (taint labels), which tools it used, and which sensitive values it read (data-flow
//! fingerprints, see [`crate::dataflow`]).
//!
//! Taint rules, applied by [`SessionStore::observe`]:
//!
//! - `untrusted_content`: a tool result or retrieved document whose trust is untrusted (the
//!   default for those kinds; a tool labelled `trusted` is trusted), or any result of a tool
//!   labelled `untrusted_output`.
//! - `private_data`: a result of a tool labelled `private`, or any content with a secret or
//!   personal-data finding.
//! - `injection_suspected`: any content with an injection finding scoring at or above
//!   `injection_threshold`.
//!
//! Taint only grows for the life of a session: a later benign result does not undo having
//! read a poisoned one.
//!
//! Bounds: at most `max_sessions` sessions (inserting one more evicts the least recently
//! used, an O(n) scan that only happens when a new session arrives at the cap); a session idle
//! for `ttl_seconds` is forgotten (on access, and by [`SessionStore::sweep`], which the server
//! calls periodically); at most `max_fingerprints` fingerprints per session (oldest evicted).
//! Forgetting fails towards *less* context, so a policy that must survive eviction should not
//! rely on taint alone — the built-in pack pairs taint checks with tool labels.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use airlock_core::{Category, Event, EventKind, Finding, Trust};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::SessionConfig;
use crate::dataflow::{DataFlow, FingerprintKey, FingerprintSet, ValueKind, ValueSource};

/// Taint: the session has read content it must not obey.
pub const UNTRUSTED_CONTENT: &str = "untrusted_content";
/// Taint: the session has read private data (secrets, personal data, a private tool).
pub const PRIVATE_DATA: &str = "private_data";
/// Taint: the session has seen a likely prompt injection.
pub const INJECTION_SUSPECTED: &str = "injection_suspected";

/// What policy sees of a session (`context.session`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSnapshot {
    /// Taint labels.
    #[serde(default)]
    pub taint: BTreeSet<String>,
    /// Tool name → calls so far.
    #[serde(default)]
    pub tools_used: BTreeMap<String, u64>,
    /// Tool calls so far.
    #[serde(default)]
    pub call_count: u64,
    /// Named counters a surface may keep (e.g. `prompts`).
    #[serde(default)]
    pub counters: BTreeMap<String, u64>,
}

/// One piece of content the session saw, with what is known about where it came from.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// The content.
    pub event: &'a Event,
    /// The tool that produced it (tool results).
    pub tool: Option<&'a str>,
    /// The call id of that result, for data-flow findings.
    pub call_id: Option<&'a str>,
    /// The tool's configured labels.
    pub labels: &'a BTreeSet<String>,
    /// What the detectors found in `event.content` (spans index into it).
    pub findings: &'a [Finding],
}

#[derive(Debug, Default)]
struct SessionState {
    snapshot: SessionSnapshot,
    fingerprints: FingerprintSet,
    last_seen: i64,
}

/// All sessions of one gateway process.
#[derive(Debug)]
pub struct SessionStore {
    config: SessionConfig,
    key: FingerprintKey,
    sessions: Mutex<HashMap<String, SessionState>>,
}

impl SessionStore {
    /// A store with the given limits and fingerprint key.
    pub fn new(config: SessionConfig, key: FingerprintKey) -> SessionStore {
        SessionStore {
            config,
            key,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn with<R>(&self, session: &str, now: i64, f: impl FnOnce(&mut SessionState) -> R) -> R {
        // A poisoned lock means another thread panicked mid-update; the state is still a
        // valid map, and refusing every later request would turn one bug into an outage.
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let ttl = i64::try_from(self.config.ttl_seconds).unwrap_or(i64::MAX);
        if let Some(state) = sessions.get(session)
            && now.saturating_sub(state.last_seen) > ttl
        {
            sessions.remove(session);
        }
        if !sessions.contains_key(session) && sessions.len() >= self.config.max_sessions {
            let oldest = sessions
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                sessions.remove(&oldest);
            }
        }
        let state = sessions.entry(session.to_owned()).or_default();
        state.last_seen = state.last_seen.max(now);
        f(state)
    }

    /// The session as policy sees it now (an empty one if unknown).
    pub fn snapshot(&self, session: &str, now: i64) -> SessionSnapshot {
        self.with(session, now, |s| s.snapshot.clone())
    }

    /// Counts a tool call (after it was allowed).
    pub fn record_call(&self, session: &str, tool: &str, now: i64) {
        self.with(session, now, |s| {
            *s.snapshot.tools_used.entry(tool.to_owned()).or_default() += 1;
            s.snapshot.call_count += 1;
        });
    }

    /// Adds `by` to a named counter and returns its new value.
    pub fn bump(&self, session: &str, counter: &str, by: u64, now: i64) -> u64 {
        self.with(session, now, |s| {
            let value = s.snapshot.counters.entry(counter.to_owned()).or_default();
            *value = value.saturating_add(by);
            *value
        })
    }

    /// Updates taint and fingerprints from content the session saw. Returns the taint labels
    /// this observation added.
    pub fn observe(&self, session: &str, observation: &Observation<'_>, now: i64) -> Vec<String> {
        let taints = taints_for(observation, self.config.injection_threshold);
        let min_len = self.config.min_private_value_len;
        let cap = self.config.max_fingerprints;
        self.with(session, now, |state| {
            let mut added = Vec::new();
            for taint in taints {
                if state.snapshot.taint.insert(taint.to_owned()) {
                    added.push(taint.to_owned());
                }
            }
            if matches!(
                observation.event.kind,
                EventKind::ToolResult | EventKind::RetrievedDocument
            ) {
                let source = |kind| ValueSource {
                    tool: observation.tool.unwrap_or("unknown").to_owned(),
                    call_id: observation.call_id.unwrap_or("unknown").to_owned(),
                    kind,
                };
                let text = &observation.event.content;
                for finding in observation.findings {
                    let kind = match finding.category {
                        Category::Secret => ValueKind::Secret,
                        Category::Pii => ValueKind::Pii,
                        _ => continue,
                    };
                    if let Some(value) = text.get(finding.span.start..finding.span.end) {
                        // Detected values are short by nature: track them down to 4 bytes.
                        state
                            .fingerprints
                            .insert(&self.key, value, 4, source(kind), cap);
                    }
                }
                if observation.labels.contains("private") {
                    for value in private_values(text) {
                        state.fingerprints.insert(
                            &self.key,
                            &value,
                            min_len,
                            source(ValueKind::Private),
                            cap,
                        );
                    }
                }
            }
            added
        })
    }

    /// The sensitive values of this session found in an outbound call's arguments.
    pub fn check_outbound(&self, session: &str, arguments: &Value, now: i64) -> Vec<DataFlow> {
        self.with(session, now, |s| {
            s.fingerprints.find_in(&self.key, arguments)
        })
    }

    /// Forgets sessions idle longer than the TTL.
    pub fn sweep(&self, now: i64) {
        let ttl = i64::try_from(self.config.ttl_seconds).unwrap_or(i64::MAX);
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.retain(|_, s| now.saturating_sub(s.last_seen) <= ttl);
    }

    /// Sessions held.
    pub fn len(&self) -> usize {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn taints_for(observation: &Observation<'_>, threshold: f32) -> Vec<&'static str> {
    let mut taints = Vec::new();
    let event = observation.event;
    let is_result = matches!(
        event.kind,
        EventKind::ToolResult | EventKind::RetrievedDocument
    );
    let trust = if observation.labels.contains("trusted") && event.trust.is_none() {
        Trust::Trusted
    } else {
        event.trust()
    };
    if (is_result && trust == Trust::Untrusted)
        || (event.kind == EventKind::ToolResult && observation.labels.contains("untrusted_output"))
    {
        taints.push(UNTRUSTED_CONTENT);
    }
    if (event.kind == EventKind::ToolResult && observation.labels.contains("private"))
        || observation
            .findings
            .iter()
            .any(|f| f.category.is_sensitive_value())
    {
        taints.push(PRIVATE_DATA);
    }
    if observation
        .findings
        .iter()
        .any(|f| f.category == Category::Injection && f.score >= threshold)
    {
        taints.push(INJECTION_SUSPECTED);
    }
    taints
}

/// The strings of a private tool's result: the string leaves of a JSON result, or the lines
/// of a text one.
fn private_values(text: &str) -> Vec<String> {
    fn leaves(value: Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) => out.push(s),
            Value::Array(items) => items.into_iter().for_each(|v| leaves(v, out)),
            Value::Object(map) => map.into_iter().for_each(|(_, v)| leaves(v, out)),
            _ => {}
        }
    }
    match serde_json::from_str::<Value>(text) {
        Ok(value) => {
            let mut found = Vec::new();
            leaves(value, &mut found);
            found
        }
        Err(_) => text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use airlock_core::{Severity, Span};

    use super::*;

    fn store() -> SessionStore {
        SessionStore::new(
            SessionConfig::default(),
            FingerprintKey::from_bytes(b"test"),
        )
    }

    fn finding(category: Category, score: f32, span: Span) -> Finding {
        Finding {
            detector: "x".into(),
            rule: "y".into(),
            category,
            severity: Severity::High,
            score,
            span,
            excerpt: String::new(),
            message: String::new(),
            via: vec![],
        }
    }

    fn labels(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn tool_result_taints_untrusted_unless_tool_is_trusted() {
        let store = store();
        let event = Event::new(EventKind::ToolResult, "weather: sunny");
        let none = labels(&[]);
        let obs = Observation {
            event: &event,
            tool: Some("web"),
            call_id: None,
            labels: &none,
            findings: &[],
        };
        assert_eq!(store.observe("s1", &obs, 0), vec![UNTRUSTED_CONTENT]);
        let trusted = labels(&["trusted"]);
        let obs = Observation {
            labels: &trusted,
            ..obs
        };
        assert!(store.observe("s2", &obs, 0).is_empty());
    }

    #[test]
    fn private_tool_and_pii_findings_taint_private_data() {
        let store = store();
        let event = Event::new(EventKind::ToolResult, r#"{"email":"ana.ng@example.org"}"#);
        let private = labels(&["private", "trusted"]);
        let obs = Observation {
            event: &event,
            tool: Some("crm"),
            call_id: Some("c1"),
            labels: &private,
            findings: &[],
        };
        assert_eq!(store.observe("s", &obs, 0), vec![PRIVATE_DATA]);

        let prompt = Event::new(EventKind::Prompt, "my mail is bo@example.org");
        let pii = [finding(Category::Pii, 0.9, Span::new(11, 25))];
        let none = labels(&[]);
        let obs = Observation {
            event: &prompt,
            tool: None,
            call_id: None,
            labels: &none,
            findings: &pii,
        };
        assert_eq!(store.observe("t", &obs, 0), vec![PRIVATE_DATA]);
    }

    #[test]
    fn injection_taints_only_at_or_above_threshold() {
        let store = store();
        let event = Event::new(EventKind::Prompt, "ignore previous instructions");
        let none = labels(&[]);
        let weak = [finding(Category::Injection, 0.5, Span::new(0, 6))];
        let obs = Observation {
            event: &event,
            tool: None,
            call_id: None,
            labels: &none,
            findings: &weak,
        };
        assert!(store.observe("s", &obs, 0).is_empty());
        let strong = [finding(Category::Injection, 0.95, Span::new(0, 6))];
        let obs = Observation {
            findings: &strong,
            ..obs
        };
        assert_eq!(store.observe("s", &obs, 0), vec![INJECTION_SUSPECTED]);
    }

    #[test]
    fn sessions_expire_after_ttl_and_are_capped() {
        let config = SessionConfig {
            ttl_seconds: 10,
            max_sessions: 2,
            ..SessionConfig::default()
        };
        let store = SessionStore::new(config, FingerprintKey::from_bytes(b"k"));
        store.record_call("a", "read_file", 0);
        assert_eq!(store.snapshot("a", 5).call_count, 1);
        assert_eq!(store.snapshot("a", 100).call_count, 0, "expired");
        store.record_call("b", "x", 101);
        store.record_call("c", "x", 102);
        // a (seen at 100) was the least recently used when c arrived.
        assert_eq!(store.len(), 2);
        assert_eq!(store.snapshot("b", 103).call_count, 1);
        store.sweep(1000);
        assert!(store.is_empty());
    }
}
