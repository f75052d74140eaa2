//! The promises every scan keeps, checked in one place: by the [`crate::Scanner`] in debug
//! builds, by the conformance suite on edge cases, and by the fuzz target on arbitrary input.
//! A surface can rely on them without re-checking: spans index the scanned text safely and
//! scores are comparable.

use airlock_core::Finding;

/// The first broken promise, described for a bug report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detector}/{rule}: {problem}")]
pub struct InvariantViolation {
    /// The detector of the offending finding.
    pub detector: String,
    /// Its rule.
    pub rule: String,
    /// What is wrong.
    pub problem: String,
}

/// Longest excerpt a finding may carry, in characters. Excerpts are for humans and logs; a
/// long excerpt is a way to leak content past redaction.
pub const MAX_EXCERPT_CHARS: usize = 200;

/// Checks one finding against the text it was reported on.
pub fn check_finding(text: &str, finding: &Finding) -> Result<(), InvariantViolation> {
    let fail = |problem: String| InvariantViolation {
        detector: finding.detector.clone(),
        rule: finding.rule.clone(),
        problem,
    };
    let span = finding.span;
    if span.start > span.end || span.end > text.len() {
        return Err(fail(format!(
            "span {}..{} outside text of {} bytes",
            span.start,
            span.end,
            text.len()
        )));
    }
    if !text.is_char_boundary(span.start) || !text.is_char_boundary(span.end) {
        return Err(fail(format!(
            "span {}..{} is not on character boundaries",
            span.start, span.end
        )));
    }
    if !(finding.score.is_finite() && (0.0..=1.0).contains(&finding.score)) {
        return Err(fail(format!("score {} outside [0, 1]", finding.score)));
    }
    if finding.excerpt.chars().count() > MAX_EXCERPT_CHARS {
        return Err(fail(format!(
            "excerpt longer than {MAX_EXCERPT_CHARS} characters"
        )));
    }
    let rule_is_snake_case = !finding.rule.is_empty()
        && finding
            .rule
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !rule_is_snake_case {
        return Err(fail("rule id is not snake_case".to_owned()));
    }
    Ok(())
}

/// Checks every finding of one scan, and that they come sorted by span.
pub fn check_scan(text: &str, findings: &[Finding]) -> Result<(), InvariantViolation> {
    for finding in findings {
        check_finding(text, finding)?;
    }
    if let Some(pair) = findings.windows(2).find(|pair| pair[0].span > pair[1].span) {
        return Err(InvariantViolation {
            detector: pair[1].detector.clone(),
            rule: pair[1].rule.clone(),
            problem: "findings are not sorted by span".to_owned(),
        });
    }
    Ok(())
}

/// Makes a finding that broke an invariant usable: the span is clamped into the text and
/// widened to character boundaries, the score clamped into `[0, 1]`, the excerpt shortened.
pub fn repair(text: &str, finding: &mut Finding) {
    let mut end = finding.span.end.min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    let mut start = finding.span.start.min(end);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    finding.span = airlock_core::Span::new(start, end);
    finding.score = if finding.score.is_finite() {
        finding.score.clamp(0.0, 1.0)
    } else {
        1.0
    };
    if finding.excerpt.chars().count() > MAX_EXCERPT_CHARS {
        finding.excerpt = finding.excerpt.chars().take(MAX_EXCERPT_CHARS).collect();
    }
}
