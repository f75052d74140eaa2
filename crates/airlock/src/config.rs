//! Flags shared by the subcommands that scan: the config file that builds the [`Scanner`] and
//! the context the text is scanned in.

use std::fs;
use std::path::{Path, PathBuf};

use airlock_core::EventKind;
use airlock_detect::{RawDetectConfig, ScanContext, Scanner};
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use serde::Deserialize;

/// `--config FILE`.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// Config file with a `[detect]` section (allowlists, thresholds, per-detector options).
    /// Without it every detector runs with its built-in defaults.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl ConfigArgs {
    /// The scanner the config describes, or the defaults without one.
    pub fn scanner(&self) -> Result<Scanner> {
        match &self.config {
            None => Ok(Scanner::with_defaults()),
            Some(path) => load_scanner(path),
        }
    }

    /// The `[detect]` section as written (empty without a config file), for callers that
    /// adjust it before building a scanner.
    pub fn detect_config(&self) -> Result<RawDetectConfig> {
        match &self.config {
            None => Ok(RawDetectConfig::default()),
            Some(path) => read_detect_config(path),
        }
    }
}

/// The config file as written. Sections for later steps (policy, audit, …) are added here;
/// unknown sections are rejected so that a typo (`[detetc]`) is not silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfigFile {
    #[serde(default)]
    detect: RawDetectConfig,
}

/// Reads and validates `path`. Errors name the file; validation errors list every problem
/// with its key path (`detect.detectors.pii.min_score: 2 is outside [0, 1]`).
pub fn load_scanner(path: &Path) -> Result<Scanner> {
    Scanner::from_config(&read_detect_config(path)?)
        .with_context(|| format!("invalid config `{}`", path.display()))
}

/// Reads the `[detect]` section of `path`, checking its shape but not its values.
fn read_detect_config(path: &Path) -> Result<RawDetectConfig> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read config `{}`", path.display()))?;
    let raw: RawConfigFile = toml::from_str(&text)
        .map_err(|err| anyhow::anyhow!("{}", err.to_string().trim_end()))
        .with_context(|| format!("invalid config `{}`", path.display()))?;
    Ok(raw.detect)
}

/// What the scanned text is (`--context`); detectors choose rules and thresholds by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum ContextArg {
    /// Text a user or agent sends to a model.
    Prompt,
    /// A tool call's JSON arguments.
    #[value(alias = "tool-call")]
    ToolCall,
    /// What a tool returned (untrusted).
    #[value(alias = "tool-result")]
    ToolResult,
    /// A document retrieved into the context, e.g. by RAG (untrusted).
    #[value(alias = "retrieved-document")]
    RetrievedDocument,
    /// What a model returned.
    Completion,
    /// Content scanned outside any agent session, such as files in a repository.
    File,
    /// An MCP tool's name, description and input schema (untrusted: where tool poisoning
    /// hides).
    #[value(alias = "tool-definition")]
    ToolDefinition,
}

impl ContextArg {
    /// The event kind this names.
    pub fn kind(self) -> EventKind {
        match self {
            ContextArg::Prompt => EventKind::Prompt,
            ContextArg::ToolCall => EventKind::ToolCall,
            ContextArg::ToolResult => EventKind::ToolResult,
            ContextArg::RetrievedDocument => EventKind::RetrievedDocument,
            ContextArg::Completion => EventKind::Completion,
            ContextArg::File => EventKind::File,
            ContextArg::ToolDefinition => EventKind::ToolDefinition,
        }
    }

    /// The scan context, with the kind's default trust.
    pub fn scan_context(self) -> ScanContext {
        ScanContext::of_kind(self.kind())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn load(text: &str) -> Result<Scanner> {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        load_scanner(file.path())
    }

    #[test]
    fn empty_config_builds_the_defaults() {
        let scanner = load("").unwrap();
        assert_eq!(
            scanner.detector_ids(),
            Scanner::with_defaults().detector_ids()
        );
    }

    #[test]
    fn disables_a_detector_from_toml() {
        let scanner = load("[detect.detectors.pii]\nenabled = false\n").unwrap();
        assert!(!scanner.detector_ids().contains(&"pii"));
    }

    #[test]
    fn rejects_unknown_sections_naming_the_file_and_line() {
        let err = format!("{:#}", load("[detetc]\nallow = []\n").unwrap_err());
        assert!(err.contains("invalid config `"), "{err}");
        assert!(err.contains("line 1"), "{err}");
        assert!(err.contains("unknown field `detetc`"), "{err}");
    }

    #[test]
    fn reports_every_validation_problem() {
        let err = format!(
            "{:#}",
            load(
                "[detect]\nallow_patterns = ['(']\n[detect.detectors.nope]\n\
                 [detect.detectors.secrets]\nmin_score = 2.0\n"
            )
            .unwrap_err()
        );
        assert!(err.contains("detect.allow_patterns"), "{err}");
        assert!(err.contains("detect.detectors.nope"), "{err}");
        assert!(err.contains("detect.detectors.secrets.min_score"), "{err}");
    }

    #[test]
    fn missing_file_is_named() {
        let err = format!(
            "{:#}",
            load_scanner(Path::new("/nonexistent/airlock.toml")).unwrap_err()
        );
        assert!(
            err.contains("cannot read config `/nonexistent/airlock.toml`"),
            "{err}"
        );
    }
}
