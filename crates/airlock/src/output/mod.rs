//! What `airlock scan` found, and its renderings: `text` for people, `json` for scripts,
//! `sarif` for code-scanning UIs. Every format shows a finding's redaction-safe `excerpt`,
//! never the matched text itself.

pub mod json;
pub mod sarif;
pub mod text;

use std::collections::BTreeMap;
use std::path::PathBuf;

use airlock_core::{Finding, Severity};

use crate::input::{InvalidUtf8, Region};

/// `--fail-on`: the lowest severity that makes `scan` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// Exit 1 for any finding at or above this severity.
    At(Severity),
    /// Never exit 1 (errors still exit 2).
    Never,
}

impl FailOn {
    /// Parses `info` … `critical`, or `none`.
    pub fn parse(text: &str) -> Result<FailOn, String> {
        if text.trim().eq_ignore_ascii_case("none") {
            return Ok(FailOn::Never);
        }
        text.parse::<Severity>()
            .map(FailOn::At)
            .map_err(|err| format!("{err}, none"))
    }

    /// Whether a finding of this severity makes the run fail.
    pub fn trips(self, severity: Severity) -> bool {
        match self {
            FailOn::At(threshold) => severity >= threshold,
            FailOn::Never => false,
        }
    }

    /// The name as given on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            FailOn::At(severity) => severity.as_str(),
            FailOn::Never => "none",
        }
    }
}

/// Everything one `scan` run produced, in input order.
#[derive(Debug)]
pub struct Report {
    /// Every file (or stdin) that was scanned, with or without findings.
    pub files: Vec<FileReport>,
    /// Inputs not scanned on purpose.
    pub skipped: Vec<Skipped>,
    /// Inputs that could not be read.
    pub errors: Vec<InputError>,
    /// The threshold in force.
    pub fail_on: FailOn,
}

/// One scanned input and its findings.
#[derive(Debug)]
pub struct FileReport {
    /// How the input is shown: the path as walked (`src/main.rs`) or the stdin name.
    pub name: String,
    /// The file's path; `None` for stdin.
    pub path: Option<PathBuf>,
    /// Findings sorted by position.
    pub findings: Vec<Located>,
    /// Where invalid UTF-8 was replaced, if anywhere.
    pub invalid_utf8: Option<InvalidUtf8>,
}

/// A finding with its line and column.
#[derive(Debug)]
pub struct Located {
    /// What the scanner reported; `span` is in bytes of the input.
    pub finding: Finding,
    /// Line and column of the span.
    pub region: Region,
}

/// An input left out on purpose.
#[derive(Debug)]
pub struct Skipped {
    /// The path as walked.
    pub name: String,
    /// Why, e.g. `binary`.
    pub reason: &'static str,
}

/// An input that could not be scanned.
#[derive(Debug)]
pub struct InputError {
    /// The path as given or walked.
    pub name: String,
    /// What went wrong.
    pub message: String,
}

impl Report {
    /// All findings with the file they are in.
    pub fn findings(&self) -> impl Iterator<Item = (&FileReport, &Located)> {
        self.files
            .iter()
            .flat_map(|file| file.findings.iter().map(move |located| (file, located)))
    }

    /// Whether any finding is at or above `--fail-on`.
    pub fn trips_threshold(&self) -> bool {
        self.findings()
            .any(|(_, located)| self.fail_on.trips(located.finding.severity))
    }

    /// Finding counts per severity, most severe first, only severities that occur.
    pub fn counts_by_severity(&self) -> Vec<(Severity, usize)> {
        let mut counts: BTreeMap<Severity, usize> = BTreeMap::new();
        for (_, located) in self.findings() {
            *counts.entry(located.finding.severity).or_default() += 1;
        }
        counts.into_iter().rev().collect()
    }

    /// One line for stderr: what was scanned and found.
    pub fn summary(&self) -> String {
        let total = self.findings().count();
        let scanned = self.files.len();
        let plural = |n: usize, word: &str| {
            if n == 1 {
                format!("{n} {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        let mut line = if total == 0 {
            format!("no findings in {} scanned", plural(scanned, "file"))
        } else {
            let with = self
                .files
                .iter()
                .filter(|file| !file.findings.is_empty())
                .count();
            let by_severity = self
                .counts_by_severity()
                .iter()
                .map(|(severity, count)| format!("{count} {severity}"))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "{} in {with} of {} scanned ({by_severity})",
                plural(total, "finding"),
                plural(scanned, "file")
            )
        };
        if !self.skipped.is_empty() {
            line.push_str(&format!(
                "; {} skipped",
                plural(self.skipped.len(), "binary file")
            ));
        }
        if !self.errors.is_empty() {
            line.push_str(&format!("; {}", plural(self.errors.len(), "error")));
        }
        line
    }
}

/// Makes untrusted text safe to print on one terminal line: control characters (ANSI escapes,
/// newlines), bidirectional overrides and invisible characters are written as `\u{…}` escapes,
/// so an excerpt or file name cannot rewrite the terminal or hide what it says.
pub fn printable(text: &str) -> String {
    use airlock_detect::normalize::{is_bidi_control, is_invisible};
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || is_bidi_control(c) || is_invisible(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_on_accepts_severities_and_none() {
        assert_eq!(FailOn::parse("HIGH"), Ok(FailOn::At(Severity::High)));
        assert_eq!(FailOn::parse("none"), Ok(FailOn::Never));
        let err = FailOn::parse("severe").unwrap_err();
        assert!(err.contains("critical, none"), "{err}");
        assert!(FailOn::At(Severity::High).trips(Severity::Critical));
        assert!(!FailOn::At(Severity::High).trips(Severity::Medium));
        assert!(!FailOn::Never.trips(Severity::Critical));
    }

    #[test]
    fn printable_escapes_terminal_controls_and_bidi() {
        assert_eq!(printable("a\x1b[31mb\nc"), "a\\u{1b}[31mb\\u{a}c");
        assert_eq!(printable("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(printable("héllo ✓"), "héllo ✓");
    }
}
