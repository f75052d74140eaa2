use std::collections::HashSet;

use airlock_core::{Event, Finding, Severity};
use regex::RegexSet;

use crate::config::{COMMON_KEYS, ConfigError, ConfigProblem, RawCommonSettings, RawDetectConfig};
use crate::detector::{Detector, Input, Rescan, ScanContext};
use crate::invariants;
use crate::registry::{self, Options};

/// Default bound on decode-and-rescan nesting (`base64(url(hex(…)))` is three).
const DEFAULT_MAX_DECODE_DEPTH: usize = 3;
/// Hard ceiling whatever the config says: each level may multiply work.
const MAX_DECODE_DEPTH_LIMIT: usize = 8;

/// Values and patterns whose matches are never reported.
#[derive(Debug, Default)]
struct Allowlist {
    values: HashSet<String>,
    patterns: Option<RegexSet>,
}

impl Allowlist {
    fn build(
        path: &str,
        values: &[String],
        patterns: &[String],
        problems: &mut Vec<ConfigProblem>,
    ) -> Allowlist {
        let patterns = if patterns.is_empty() {
            None
        } else {
            match RegexSet::new(patterns) {
                Ok(set) => Some(set),
                Err(err) => {
                    problems.push(ConfigProblem::new(
                        format!("{path}.allow_patterns"),
                        format!("invalid regular expression: {err}"),
                    ));
                    None
                }
            }
        };
        Allowlist {
            values: values.iter().cloned().collect(),
            patterns,
        }
    }

    fn allows(&self, matched: &str) -> bool {
        self.values.contains(matched)
            || self
                .patterns
                .as_ref()
                .is_some_and(|set| set.is_match(matched))
    }
}

/// One detector with the settings every detector shares.
#[derive(Debug)]
struct ConfiguredDetector {
    detector: Box<dyn Detector>,
    disabled_rules: HashSet<String>,
    min_score: f32,
    allow: Allowlist,
}

/// Runs the configured detectors over text and returns their findings, filtered by
/// allowlists, disabled rules and thresholds, sorted by position. Immutable once built, so
/// one `Scanner` serves every thread; reconfiguring means building a new one.
#[derive(Debug)]
pub struct Scanner {
    detectors: Vec<ConfiguredDetector>,
    allow: Allowlist,
    min_severity: Severity,
    max_decode_depth: usize,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner::with_defaults()
    }
}

impl Scanner {
    /// Every detector with its default settings.
    pub fn with_defaults() -> Scanner {
        match Scanner::from_config(&RawDetectConfig::default()) {
            Ok(scanner) => scanner,
            // Built-in defaults are covered by tests; failing here is a bug in this crate.
            Err(err) => panic!("built-in detector defaults are invalid: {err}"),
        }
    }

    /// Validates `raw` and builds the scanner, or returns every problem found.
    pub fn from_config(raw: &RawDetectConfig) -> Result<Scanner, ConfigError> {
        let mut problems = Vec::new();
        for id in raw.detectors.keys() {
            if registry::find(id).is_none() {
                problems.push(ConfigProblem::new(
                    format!("detect.detectors.{id}"),
                    format!("unknown detector `{id}`; known: {}", registry::known_ids()),
                ));
            }
        }
        let max_decode_depth = raw.max_decode_depth.unwrap_or(DEFAULT_MAX_DECODE_DEPTH);
        if max_decode_depth > MAX_DECODE_DEPTH_LIMIT {
            problems.push(ConfigProblem::new(
                "detect.max_decode_depth",
                format!("{max_decode_depth} is above the limit of {MAX_DECODE_DEPTH_LIMIT}"),
            ));
        }
        let allow = Allowlist::build("detect", &raw.allow, &raw.allow_patterns, &mut problems);

        let mut detectors = Vec::new();
        let empty = Options::new();
        for spec in registry::DETECTORS {
            let table = raw.detectors.get(spec.id).unwrap_or(&empty);
            let path = format!("detect.detectors.{}", spec.id);
            let (common, options) = split_common(table);
            let common: RawCommonSettings =
                match serde_json::from_value(serde_json::Value::Object(common)) {
                    Ok(common) => common,
                    Err(err) => {
                        problems.push(ConfigProblem::new(&path, err.to_string()));
                        continue;
                    }
                };
            let min_score = common.min_score.unwrap_or(0.0);
            if !(0.0..=1.0).contains(&min_score) {
                problems.push(ConfigProblem::new(
                    format!("{path}.min_score"),
                    format!("{min_score} is outside [0, 1]"),
                ));
            }
            let allow =
                Allowlist::build(&path, &common.allow, &common.allow_patterns, &mut problems);
            let detector = match (spec.build)(&options) {
                Ok(detector) => detector,
                Err(errs) => {
                    problems.extend(errs);
                    continue;
                }
            };
            if common.enabled {
                detectors.push(ConfiguredDetector {
                    detector,
                    disabled_rules: common.disabled_rules.into_iter().collect(),
                    min_score,
                    allow,
                });
            }
        }

        if problems.is_empty() {
            Ok(Scanner {
                detectors,
                allow,
                min_severity: raw.min_severity.unwrap_or(Severity::Info),
                max_decode_depth,
            })
        } else {
            Err(ConfigError { problems })
        }
    }

    /// The ids of the enabled detectors, in run order.
    pub fn detector_ids(&self) -> Vec<&'static str> {
        self.detectors.iter().map(|d| d.detector.id()).collect()
    }

    /// Scans an event's content in the event's context.
    pub fn scan_event(&self, event: &Event) -> Vec<Finding> {
        self.scan(&event.content, ScanContext::for_event(event))
    }

    /// Scans `text` and returns the findings sorted by span, then detector and rule.
    pub fn scan(&self, text: &str, context: ScanContext) -> Vec<Finding> {
        self.scan_at_depth(text, context, 0)
    }

    fn scan_at_depth(&self, text: &str, context: ScanContext, depth: usize) -> Vec<Finding> {
        let input = Input::new(text, context, depth, self);
        let mut findings = Vec::new();
        for configured in &self.detectors {
            configured.detector.detect(&input, &mut findings);
        }
        for finding in &mut findings {
            if let Err(violation) = invariants::check_finding(text, finding) {
                // A detector bug. Tests catch it; in production the finding is repaired, not
                // dropped, so that a bug fails closed.
                debug_assert!(false, "detector bug: {violation}");
                invariants::repair(text, finding);
            }
        }
        findings.retain(|finding| self.keeps(finding, text));
        findings
            .sort_by(|a, b| (a.span, &a.detector, &a.rule).cmp(&(b.span, &b.detector, &b.rule)));
        findings.dedup_by(|a, b| a.span == b.span && a.detector == b.detector && a.rule == b.rule);
        findings
    }

    /// Whether a finding survives thresholds and allowlists. Settings are looked up by the
    /// finding's own detector, so a secret found inside base64 obeys the `secrets` settings.
    fn keeps(&self, finding: &Finding, text: &str) -> bool {
        let matched = &text[finding.span.start..finding.span.end];
        if finding.severity < self.min_severity || self.allow.allows(matched) {
            return false;
        }
        match self
            .detectors
            .iter()
            .find(|configured| configured.detector.id() == finding.detector)
        {
            Some(configured) => {
                !configured.disabled_rules.contains(&finding.rule)
                    && finding.score >= configured.min_score
                    && !configured.allow.allows(matched)
            }
            // A finding relayed for a detector that is disabled (e.g. found in decoded text).
            None => false,
        }
    }
}

impl Rescan for Scanner {
    fn rescan(&self, text: &str, context: ScanContext, depth: usize) -> Vec<Finding> {
        self.scan_at_depth(text, context, depth)
    }

    fn max_depth(&self) -> usize {
        self.max_decode_depth
    }
}

/// Splits a detector table into the common keys and the detector's own options.
fn split_common(table: &Options) -> (Options, Options) {
    let mut common = Options::new();
    let mut options = Options::new();
    for (key, value) in table {
        if COMMON_KEYS.contains(&key.as_str()) {
            common.insert(key.clone(), value.clone());
        } else {
            options.insert(key.clone(), value.clone());
        }
    }
    (common, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> RawDetectConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn defaults_build() {
        let scanner = Scanner::with_defaults();
        assert_eq!(scanner.detector_ids().len(), registry::DETECTORS.len());
    }

    #[test]
    fn reports_every_config_problem_with_its_path() {
        let err = Scanner::from_config(&config(
            r#"{"detectors": {"pii-iban": {}, "secrets": {"min_score": 2.0}},
                "allow_patterns": ["("]}"#,
        ))
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("detect.detectors.pii-iban: unknown detector `pii-iban`; known: secrets"),
            "{text}"
        );
        assert!(
            text.contains("detect.detectors.secrets.min_score: 2 is outside [0, 1]"),
            "{text}"
        );
        assert!(
            text.contains("detect.allow_patterns: invalid regular expression"),
            "{text}"
        );
    }

    #[test]
    fn only_config_runs_just_the_named_detectors_and_reports_unknown_ones() {
        let scanner = Scanner::from_config(&RawDetectConfig::only(&["pii", "shell"])).unwrap();
        assert_eq!(scanner.detector_ids(), ["pii", "shell"]);
        let err = Scanner::from_config(&RawDetectConfig::only(&["nope"])).unwrap_err();
        assert!(err.to_string().contains("unknown detector `nope`"), "{err}");
    }

    #[test]
    fn disabled_detector_does_not_run() {
        let scanner =
            Scanner::from_config(&config(r#"{"detectors": {"shell": {"enabled": false}}}"#))
                .unwrap();
        assert!(!scanner.detector_ids().contains(&"shell"));
    }
}
