use serde::{Deserialize, Serialize};

use crate::Severity;

/// A half-open byte range `[start, end)` into the text that was scanned. Always on UTF-8
/// character boundaries of that text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Self {
        debug_assert!(start <= end, "span start {start} after end {end}");
        Span { start, end }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether the span covers no bytes.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Whether the two spans share at least one byte.
    pub fn overlaps(&self, other: &Span) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// The family a finding belongs to. Redaction, policy and `airlock eval` select on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A credential: key, token, password, private key, connection string.
    Secret,
    /// Personal data: e-mail, phone, card, IBAN, national id, IP address.
    Pii,
    /// Instructions aimed at the model: prompt injection, jailbreak, fake role markers.
    Injection,
    /// Content hidden from a human reader: invisible characters, tag smuggling, homoglyphs,
    /// encoded payloads.
    Obfuscation,
    /// A channel that carries data out: a markdown image or link to an unknown host.
    Exfiltration,
    /// A shell or code command that destroys, persists, escalates or exfiltrates.
    DangerousCommand,
}

impl Category {
    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Secret => "secret",
            Category::Pii => "pii",
            Category::Injection => "injection",
            Category::Obfuscation => "obfuscation",
            Category::Exfiltration => "exfiltration",
            Category::DangerousCommand => "dangerous_command",
        }
    }

    /// Whether findings of this family are sensitive values that redaction replaces.
    pub fn is_sensitive_value(self) -> bool {
        matches!(self, Category::Secret | Category::Pii)
    }
}

/// What a detector reports: where, what, how bad and how sure. A finding never holds the
/// sensitive value itself — only a redaction-safe excerpt — so findings may be logged,
/// stored in the audit trail and shown in the console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The detector that reported it, e.g. `secrets`.
    pub detector: String,
    /// The rule within the detector, snake_case, e.g. `aws_access_key`. Also the label of the
    /// redaction placeholder.
    pub rule: String,
    /// The family of the finding.
    pub category: Category,
    /// How serious it is.
    pub severity: Severity,
    /// Confidence in `[0, 1]` that the finding is real.
    pub score: f32,
    /// Byte offsets into the scanned text. For a finding inside decoded content, the span of
    /// the encoded text it came from.
    #[serde(flatten)]
    pub span: Span,
    /// A short excerpt that is safe to show and store: secrets and personal data are masked.
    pub excerpt: String,
    /// One line for a human: what was found and why it matters.
    pub message: String,
    /// The decodings applied before this finding was made, outermost first (e.g.
    /// `["base64", "url"]`). Empty when found in the text as given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
}

impl Finding {
    /// `detector/rule`, the name used in allowlists and in text output.
    pub fn qualified_rule(&self) -> String {
        format!("{}/{}", self.detector, self.rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_json_has_flat_start_and_end() {
        let finding = Finding {
            detector: "secrets".into(),
            rule: "aws_access_key".into(),
            category: Category::Secret,
            severity: Severity::High,
            score: 0.9,
            span: Span::new(3, 23),
            excerpt: "AKIA****".into(),
            message: "AWS access key id".into(),
            via: vec![],
        };
        let json = serde_json::to_value(&finding).unwrap();
        assert_eq!(json["start"], 3);
        assert_eq!(json["end"], 23);
        assert_eq!(json["category"], "secret");
        assert!(json.get("via").is_none());
        let back: Finding = serde_json::from_value(json).unwrap();
        assert_eq!(back, finding);
    }
}
