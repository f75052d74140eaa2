//! Detector configuration: parsed into `Raw*` types that mirror the file, then validated into
//! the [`crate::Scanner`] with every problem reported at once, each with its path.

use std::collections::BTreeMap;
use std::fmt;

use airlock_core::Severity;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The `[detect]` section of a config file, as written.
///
/// ```toml
/// [detect]
/// min_severity = "low"                      # drop findings below this
/// allow = ["AKIAIOSFODNN7EXAMPLE"]          # exact matched values never reported
/// allow_patterns = ['(?i)^sk_test_']        # regexes over the matched value
///
/// [detect.detectors.pii]
/// disabled_rules = ["ip_address"]
///
/// [detect.detectors.exfil_link]              # detector-specific options sit beside the common ones
/// allowed_hosts = ["github.com", "*.corp.example"]
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDetectConfig {
    /// Findings below this severity are dropped. Default: report everything.
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// How many times decoded content is decoded and rescanned again. Default 3.
    #[serde(default)]
    pub max_decode_depth: Option<usize>,
    /// Exact matched values that are never reported (test fixtures, documented examples).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Regular expressions; a finding whose matched text matches one is not reported.
    #[serde(default)]
    pub allow_patterns: Vec<String>,
    /// Per-detector tables keyed by detector id.
    #[serde(default)]
    pub detectors: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
}

impl RawDetectConfig {
    /// A configuration that enables only the detectors in `ids` (unknown ids are left in, so
    /// that building the scanner reports them), each with its default settings.
    pub fn only(ids: &[&str]) -> RawDetectConfig {
        let mut config = RawDetectConfig::default();
        for spec in crate::registry::DETECTORS {
            let mut table = serde_json::Map::new();
            table.insert("enabled".into(), ids.contains(&spec.id).into());
            config.detectors.insert(spec.id.to_owned(), table);
        }
        for id in ids {
            config.detectors.entry((*id).to_owned()).or_default();
        }
        config
    }
}

/// The keys every detector table accepts; the remaining keys are the detector's own options.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCommonSettings {
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    #[serde(default)]
    pub disabled_rules: Vec<String>,
    #[serde(default)]
    pub min_score: Option<f32>,
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub allow_patterns: Vec<String>,
}

fn enabled_by_default() -> bool {
    true
}

pub(crate) const COMMON_KEYS: &[&str] = &[
    "enabled",
    "disabled_rules",
    "min_score",
    "allow",
    "allow_patterns",
];

/// One thing wrong with a configuration, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Dotted path of the offending key, e.g. `detect.detectors.pii.min_score`.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl ConfigProblem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigProblem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem found in a detector configuration. Nothing is applied when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The problems, in the order found.
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid detector configuration:")?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

/// Deserialises a detector's own options from its table (the common keys removed), rejecting
/// unknown keys. `T` should use `#[serde(deny_unknown_fields, default)]`.
pub fn parse_options<T: DeserializeOwned>(
    detector_id: &str,
    options: &serde_json::Map<String, serde_json::Value>,
) -> Result<T, Vec<ConfigProblem>> {
    serde_json::from_value(serde_json::Value::Object(options.clone())).map_err(|err| {
        vec![ConfigProblem::new(
            format!("detect.detectors.{detector_id}"),
            err.to_string(),
        )]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_unknown_top_level_keys() {
        let err = serde_json::from_str::<RawDetectConfig>(r#"{"alow": []}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `alow`"), "{err}");
    }
}
