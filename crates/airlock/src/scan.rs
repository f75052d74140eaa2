//! `airlock scan`: files, directories and stdin (or JSON Lines records, see [`crate::jsonl`])
//! through the scanner, rendered as text, JSON or SARIF.
//!
//! Directories are walked with the `ignore` crate: `.gitignore`, `.ignore` and git's exclude
//! files are respected (also outside a git repository), hidden files such as `.env` are
//! scanned (they are where secrets live), `.git/` is not, symlinks are not followed, and
//! entries are visited in file-name order so that output is stable. A file with a NUL byte in
//! its first 8 KB is skipped as binary with a note on stderr; a path named explicitly is
//! scanned even if ignored. Files are scanned in parallel and reported in walk order.

use std::fs;
use std::io::{self, IsTerminal, Read, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use airlock_detect::{ScanContext, Scanner};
use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use ignore::WalkBuilder;

use crate::Status;
use crate::config::{ConfigArgs, ContextArg};
use crate::input::{self, InvalidUtf8};
use crate::jsonl;
use crate::output::{self, FailOn, FileReport, InputError, Located, Report, Skipped};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  airlock scan src/ config/             scan directories (.gitignore respected, binaries skipped)
  echo 'text' | airlock scan            scan stdin (also: airlock scan -)
  airlock scan --format sarif . > airlock.sarif
  airlock scan --fail-on high .         exit 1 only for high or critical findings
  airlock scan --jsonl records.jsonl    {\"id\",\"text\"} per line -> {\"id\",\"findings\"} per line

Text output: `path:line:col: severity detector/rule: message (excerpt)`, columns counted in
characters; a summary goes to stderr. Findings show only a masked excerpt, never the value.

Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 usage or input error
(unreadable path, bad flag, invalid config, malformed JSON Lines record). An input error wins
over findings: everything readable is still scanned and reported.")]
pub struct ScanArgs {
    /// Files or directories to scan; `-` reads stdin. With no paths, stdin is read when it is
    /// not a terminal.
    #[arg(value_name = "PATH", conflicts_with = "jsonl")]
    paths: Vec<PathBuf>,

    /// Scan JSON Lines records instead: each line `{"id": <any>, "text": "..."}` (optional
    /// "context") gives one output line `{"id", "findings": [{detector, rule, severity, score,
    /// start, end}]}` with byte offsets into `text`. `-` reads stdin. Malformed lines are
    /// reported on stderr as `line N: ...`, skipped, and make the exit code 2.
    #[arg(long, value_name = "FILE")]
    jsonl: Option<PathBuf>,

    /// Output format (not with --jsonl, whose output is always JSON Lines).
    #[arg(long, value_enum, default_value_t = Format::Text, conflicts_with = "jsonl")]
    format: Format,

    /// Exit 1 when a finding is at or above this severity: info, low, medium, high, critical,
    /// or none to never fail on findings. The default, low, lets informational findings
    /// (e.g. an IP address in a log) through.
    #[arg(long, value_name = "SEVERITY", default_value = "low", value_parser = FailOn::parse)]
    fail_on: FailOn,

    /// What the text is; detectors pick rules and thresholds by it. Files, stdin and records
    /// without their own "context" field default to `file`, so piping a file gives the same
    /// findings as naming it.
    #[arg(long, value_enum, value_name = "KIND", default_value_t = ContextArg::File)]
    context: ContextArg,

    /// Name shown for stdin in the output (e.g. the path the text came from).
    #[arg(long, value_name = "NAME", default_value = "<stdin>")]
    stdin_name: String,

    #[command(flatten)]
    config: ConfigArgs,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// `path:line:col: severity detector/rule: message (excerpt)`, summary on stderr.
    Text,
    /// One JSON document: findings per file with line and column, skipped files, errors.
    Json,
    /// SARIF 2.1.0, for code-scanning UIs.
    Sarif,
}

/// Runs `airlock scan`.
pub fn run(args: ScanArgs) -> Result<Status> {
    let scanner = args.config.scanner()?;
    let context = args.context.scan_context();
    if let Some(path) = &args.jsonl {
        return jsonl::run(path, &scanner, context, args.fail_on);
    }

    let mut errors = Vec::new();
    let targets = collect_targets(&args, &mut errors)?;
    let outcomes = scan_all(&scanner, context, &targets);

    let mut report = Report {
        files: Vec::new(),
        skipped: Vec::new(),
        errors,
        fail_on: args.fail_on,
    };
    let stderr = &mut io::stderr().lock();
    for error in &report.errors {
        writeln!(stderr, "error: {}", output::printable(&error.message))?;
    }
    for (target, outcome) in targets.iter().zip(outcomes) {
        match outcome {
            Outcome::Scanned(file) => {
                if let Some(invalid) = file.invalid_utf8 {
                    writeln!(
                        stderr,
                        "note: {}: invalid UTF-8 from byte {} ({} bytes scanned as U+001A; \
                         offsets unchanged)",
                        output::printable(&file.name),
                        invalid.first_offset,
                        invalid.replaced_bytes
                    )?;
                }
                report.files.push(file);
            }
            Outcome::Binary => {
                writeln!(
                    stderr,
                    "note: skipping binary file {}",
                    output::printable(&target.name)
                )?;
                report.skipped.push(Skipped {
                    name: target.name.clone(),
                    reason: "binary",
                });
            }
            Outcome::Failed(message) => {
                writeln!(stderr, "error: {}", output::printable(&message))?;
                report.errors.push(InputError {
                    name: target.name.clone(),
                    message,
                });
            }
        }
    }

    let stdout = &mut io::BufWriter::new(io::stdout().lock());
    match args.format {
        Format::Text => output::text::write(&report, stdout)?,
        Format::Json => output::json::write(&report, stdout)?,
        Format::Sarif => output::sarif::write(&report, stdout)?,
    }
    stdout.flush()?;
    if args.format == Format::Text {
        writeln!(stderr, "{}", report.summary())?;
    }

    Ok(if !report.errors.is_empty() {
        Status::InputError
    } else if report.trips_threshold() {
        Status::Findings
    } else {
        Status::Clean
    })
}

/// One input to scan.
#[derive(Debug)]
struct Target {
    /// As shown in output.
    name: String,
    source: Source,
}

#[derive(Debug)]
enum Source {
    File(PathBuf),
    Stdin,
}

enum Outcome {
    Scanned(FileReport),
    Binary,
    Failed(String),
}

/// Expands the paths into files, in order. Unreadable paths become errors; the rest is still
/// scanned.
fn collect_targets(args: &ScanArgs, errors: &mut Vec<InputError>) -> Result<Vec<Target>> {
    let stdin = || Target {
        name: args.stdin_name.clone(),
        source: Source::Stdin,
    };
    if args.paths.is_empty() {
        if io::stdin().is_terminal() {
            bail!(
                "nothing to scan: give files or directories, `-` for stdin, or pipe text in \
                 (see `airlock scan --help`)"
            );
        }
        return Ok(vec![stdin()]);
    }
    let mut targets = Vec::new();
    for path in &args.paths {
        if path.as_os_str() == "-" {
            targets.push(stdin());
            continue;
        }
        match fs::metadata(path) {
            Err(err) => errors.push(InputError {
                name: display_name(path),
                message: format!("cannot read `{}`: {err}", path.display()),
            }),
            Ok(meta) if meta.is_dir() => walk(path, &mut targets, errors),
            // Named explicitly: scanned even if an ignore file would exclude it.
            Ok(_) => targets.push(Target {
                name: display_name(path),
                source: Source::File(path.clone()),
            }),
        }
    }
    Ok(targets)
}

fn walk(root: &Path, targets: &mut Vec<Target>, errors: &mut Vec<InputError>) {
    let walker = WalkBuilder::new(root)
        .hidden(false)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|entry| entry.file_name() != ".git")
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    for entry in walker {
        match entry {
            Ok(entry) => {
                if entry.file_type().is_some_and(|kind| kind.is_file()) {
                    targets.push(Target {
                        name: display_name(entry.path()),
                        source: Source::File(entry.into_path()),
                    });
                }
            }
            // An unreadable directory means files went unchecked: that is an input error.
            Err(err) if err.is_io() => errors.push(InputError {
                name: display_name(root),
                message: format!("cannot walk `{}`: {err}", root.display()),
            }),
            // A bad pattern in an ignore file only means fewer files are ignored.
            Err(err) => eprintln!("warning: {}", output::printable(&err.to_string())),
        }
    }
}

/// The path as the user would type it: `./src/a.rs` → `src/a.rs`.
fn display_name(path: &Path) -> String {
    let shown = path.strip_prefix(".").unwrap_or(path);
    if shown.as_os_str().is_empty() {
        return path.display().to_string();
    }
    shown.display().to_string()
}

/// Scans every target on all cores; results come back in target order.
fn scan_all(scanner: &Scanner, context: ScanContext, targets: &[Target]) -> Vec<Outcome> {
    let workers = thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(targets.len());
    if workers <= 1 {
        return targets
            .iter()
            .map(|target| scan_one(scanner, context, target))
            .collect();
    }
    let next = AtomicUsize::new(0);
    let mut slots: Vec<Option<Outcome>> = targets.iter().map(|_| None).collect();
    thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(target) = targets.get(index) else {
                            break done;
                        };
                        done.push((index, scan_one(scanner, context, target)));
                    }
                })
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(done) => {
                    for (index, outcome) in done {
                        if let Some(slot) = slots.get_mut(index) {
                            *slot = Some(outcome);
                        }
                    }
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    slots
        .into_iter()
        .map(|slot| slot.unwrap_or_else(|| Outcome::Failed("internal error: not scanned".into())))
        .collect()
}

fn scan_one(scanner: &Scanner, context: ScanContext, target: &Target) -> Outcome {
    let bytes = match &target.source {
        Source::File(path) => match fs::read(path) {
            Ok(bytes) => bytes,
            Err(err) => return Outcome::Failed(format!("cannot read `{}`: {err}", path.display())),
        },
        Source::Stdin => {
            let mut bytes = Vec::new();
            if let Err(err) = io::stdin().lock().read_to_end(&mut bytes) {
                return Outcome::Failed(format!("cannot read stdin: {err}"));
            }
            bytes
        }
    };
    // Stdin is scanned whatever it holds: the user chose to pipe it in.
    if matches!(target.source, Source::File(_)) && input::looks_binary(&bytes) {
        return Outcome::Binary;
    }
    Outcome::Scanned(scan_bytes(scanner, context, target, bytes))
}

fn scan_bytes(
    scanner: &Scanner,
    context: ScanContext,
    target: &Target,
    bytes: Vec<u8>,
) -> FileReport {
    let decoded = input::decode(bytes);
    let findings = scanner.scan(&decoded.text, context);
    let spans: Vec<_> = findings.iter().map(|finding| finding.span).collect();
    let regions = input::regions(&decoded.text, &spans);
    let invalid_utf8: Option<InvalidUtf8> = decoded.invalid;
    FileReport {
        name: target.name.clone(),
        path: match &target.source {
            Source::File(path) => Some(path.clone()),
            Source::Stdin => None,
        },
        findings: findings
            .into_iter()
            .zip(regions)
            .map(|(finding, region)| Located { finding, region })
            .collect(),
        invalid_utf8,
    }
}
