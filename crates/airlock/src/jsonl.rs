//! `airlock scan --jsonl FILE`: one `{"id", "text"}` record per input line, one
//! `{"id", "findings"}` line out per good record, streamed.
//!
//! A malformed line (bad JSON, not an object, missing `id` or `text`, `text` not a string, an
//! unknown `context`) is reported on stderr as `line N: …` and produces no output line; the
//! run goes on, and exits 2 at the end so that a pipeline notices records went unchecked.
//! Output lines are matched to input by `id`, which is echoed back byte for byte.

use std::io::{self, Write};
use std::path::Path;

use airlock_core::{Finding, Severity};
use airlock_detect::{ScanContext, Scanner};
use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::Status;
use crate::output::FailOn;
use crate::records::{self, Lines};

#[derive(Serialize)]
struct OutputLine<'a> {
    id: &'a RawValue,
    findings: Vec<OutputFinding<'a>>,
}

#[derive(Serialize)]
struct OutputFinding<'a> {
    detector: &'a str,
    rule: &'a str,
    severity: Severity,
    score: f32,
    start: usize,
    end: usize,
}

impl<'a> From<&'a Finding> for OutputFinding<'a> {
    fn from(finding: &'a Finding) -> Self {
        OutputFinding {
            detector: &finding.detector,
            rule: &finding.rule,
            severity: finding.severity,
            score: finding.score,
            start: finding.span.start,
            end: finding.span.end,
        }
    }
}

/// Scans every record of `path` (`-` for stdin) and writes one line per good record.
pub fn run(
    path: &Path,
    scanner: &Scanner,
    context: ScanContext,
    fail_on: FailOn,
) -> Result<Status> {
    let mut lines = Lines::new(records::open(path)?);
    // Stdout is line-buffered: each result leaves as soon as it is ready, for streaming pipes.
    let mut stdout = io::stdout().lock();
    let mut stderr = io::stderr().lock();
    let (mut malformed, mut tripped) = (0usize, false);
    while let Some((number, line)) = lines
        .next_line()
        .with_context(|| format!("cannot read `{}`", path.display()))?
    {
        let record = match records::parse(line).and_then(|raw| raw.check(false)) {
            Ok(record) => record,
            Err(problem) => {
                malformed += 1;
                writeln!(stderr, "line {number}: {problem}")?;
                continue;
            }
        };
        let context = record.context.map_or(context, ScanContext::of_kind);
        let findings = scanner.scan(&record.text, context);
        tripped |= findings
            .iter()
            .any(|finding| fail_on.trips(finding.severity));
        let out = OutputLine {
            id: record.id,
            findings: findings.iter().map(OutputFinding::from).collect(),
        };
        serde_json::to_writer(&mut stdout, &out).map_err(io::Error::from)?;
        writeln!(stdout)?;
    }
    stdout.flush()?;
    if malformed > 0 {
        let plural = if malformed == 1 { "" } else { "s" };
        writeln!(stderr, "{malformed} malformed line{plural} skipped")?;
        return Ok(Status::InputError);
    }
    Ok(if tripped {
        Status::Findings
    } else {
        Status::Clean
    })
}
