//! Replacing sensitive values with typed placeholders. Redaction is a pure function of the
//! text and the findings: it never emits the replaced value, and the same value gets the same
//! placeholder within one input so that a reader (human or model) can still follow the text.

use std::collections::HashMap;

use airlock_core::{Finding, Placeholder, Span};

/// Text with sensitive values replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redaction {
    /// The redacted text.
    pub text: String,
    /// What was replaced, in order of position in the original.
    pub replacements: Vec<Replacement>,
}

/// One replaced value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    /// Where the value was in the original text.
    pub span: Span,
    /// What replaced it.
    pub placeholder: Placeholder,
}

/// Redacts the findings whose category is a sensitive value (secrets, personal data).
pub fn redact_sensitive(text: &str, findings: &[Finding]) -> Redaction {
    redact(text, findings, |finding| {
        finding.category.is_sensitive_value()
    })
}

/// Replaces the span of every finding `select` accepts with a placeholder labelled with its
/// rule. Overlapping findings are merged into one replacement labelled by the most severe
/// (then longest) of them, so no byte of a selected value survives.
pub fn redact(text: &str, findings: &[Finding], select: impl Fn(&Finding) -> bool) -> Redaction {
    let mut chosen: Vec<&Finding> = findings
        .iter()
        .filter(|finding| {
            select(finding) && text.get(finding.span.start..finding.span.end).is_some()
        })
        .collect();
    chosen.sort_by_key(|finding| finding.span);

    // Merge overlapping spans; keep the label of the strongest finding in each group.
    let mut groups: Vec<(Span, &Finding)> = Vec::new();
    for finding in chosen {
        match groups.last_mut() {
            Some((span, label)) if span.overlaps(&finding.span) => {
                span.end = span.end.max(finding.span.end);
                if (finding.severity, finding.span.len()) > (label.severity, label.span.len()) {
                    *label = finding;
                }
            }
            _ => groups.push((finding.span, finding)),
        }
    }

    let mut out = String::with_capacity(text.len());
    let mut replacements = Vec::with_capacity(groups.len());
    let mut index_of: HashMap<(&str, &str), usize> = HashMap::new();
    let mut count_of: HashMap<&str, usize> = HashMap::new();
    let mut cursor = 0;
    for (span, label) in groups {
        out.push_str(&text[cursor..span.start]);
        let value = &text[span.start..span.end];
        let index = *index_of
            .entry((label.rule.as_str(), value))
            .or_insert_with(|| {
                let count = count_of.entry(label.rule.as_str()).or_insert(0);
                *count += 1;
                *count
            });
        let placeholder = Placeholder {
            label: label.rule.clone(),
            index,
        };
        out.push_str(&placeholder.to_string());
        replacements.push(Replacement { span, placeholder });
        cursor = span.end;
    }
    out.push_str(&text[cursor..]);
    Redaction {
        text: out,
        replacements,
    }
}

#[cfg(test)]
mod tests {
    use airlock_core::{Category, Severity};

    use super::*;

    fn finding(rule: &str, start: usize, end: usize, severity: Severity) -> Finding {
        Finding {
            detector: "test".into(),
            rule: rule.into(),
            category: Category::Secret,
            severity,
            score: 1.0,
            span: Span::new(start, end),
            excerpt: String::new(),
            message: String::new(),
            via: vec![],
        }
    }

    #[test]
    fn same_value_gets_same_placeholder() {
        let text = "a=KEY1 b=KEY2 c=KEY1";
        let findings = [
            finding("api_key", 2, 6, Severity::High),
            finding("api_key", 9, 13, Severity::High),
            finding("api_key", 16, 20, Severity::High),
        ];
        let redaction = redact_sensitive(text, &findings);
        assert_eq!(
            redaction.text,
            "a=[REDACTED:api_key#1] b=[REDACTED:api_key#2] c=[REDACTED:api_key#1]"
        );
    }

    #[test]
    fn overlapping_findings_merge_under_the_most_severe_label() {
        let text = "token: ghp_abcdefgh end";
        let findings = [
            finding("generic_secret", 0, 19, Severity::Medium),
            finding("github_pat", 7, 19, Severity::High),
        ];
        let redaction = redact_sensitive(text, &findings);
        assert_eq!(redaction.text, "[REDACTED:github_pat#1] end");
        assert!(!redaction.text.contains("ghp_"));
    }
}
