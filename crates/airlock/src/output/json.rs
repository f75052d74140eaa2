//! `--format json`: one document holding the findings of each file (with line and column next
//! to the byte offsets), what was skipped, what failed, and a summary.

use std::collections::BTreeMap;
use std::io::{self, Write};

use airlock_core::Finding;
use serde::Serialize;

use super::Report;
use crate::input::InvalidUtf8;

#[derive(Serialize)]
struct Document<'a> {
    files: Vec<FileJson<'a>>,
    skipped: Vec<SkippedJson<'a>>,
    errors: Vec<ErrorJson<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct FileJson<'a> {
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    invalid_utf8: Option<InvalidUtf8>,
    findings: Vec<FindingJson<'a>>,
}

#[derive(Serialize)]
struct FindingJson<'a> {
    #[serde(flatten)]
    finding: &'a Finding,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
}

#[derive(Serialize)]
struct SkippedJson<'a> {
    path: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    path: &'a str,
    error: &'a str,
}

#[derive(Serialize)]
struct Summary {
    files_scanned: usize,
    files_with_findings: usize,
    findings: usize,
    by_severity: BTreeMap<&'static str, usize>,
    fail_on: &'static str,
    failed: bool,
}

/// Writes the report as one pretty-printed JSON document. Files without findings are counted in
/// the summary but not listed (unless they held invalid UTF-8), so the document stays small on
/// large trees.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let files: Vec<FileJson<'_>> = report
        .files
        .iter()
        .filter(|file| !file.findings.is_empty() || file.invalid_utf8.is_some())
        .map(|file| FileJson {
            path: &file.name,
            invalid_utf8: file.invalid_utf8,
            findings: file
                .findings
                .iter()
                .map(|located| FindingJson {
                    finding: &located.finding,
                    line: located.region.start.line,
                    column: located.region.start.column,
                    end_line: located.region.end.line,
                    end_column: located.region.end.column,
                })
                .collect(),
        })
        .collect();
    let document = Document {
        files,
        skipped: report
            .skipped
            .iter()
            .map(|skipped| SkippedJson {
                path: &skipped.name,
                reason: skipped.reason,
            })
            .collect(),
        errors: report
            .errors
            .iter()
            .map(|error| ErrorJson {
                path: &error.name,
                error: &error.message,
            })
            .collect(),
        summary: Summary {
            files_scanned: report.files.len(),
            files_with_findings: report
                .files
                .iter()
                .filter(|file| !file.findings.is_empty())
                .count(),
            findings: report.findings().count(),
            by_severity: report
                .counts_by_severity()
                .into_iter()
                .map(|(severity, count)| (severity.as_str(), count))
                .collect(),
            fail_on: report.fail_on.as_str(),
            failed: report.trips_threshold(),
        },
    };
    serde_json::to_writer_pretty(&mut *out, &document).map_err(io::Error::from)?;
    writeln!(out)
}
