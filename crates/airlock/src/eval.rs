//! `airlock eval`: detection quality of the full default scanner (what users get) on a
//! labelled JSON Lines file.
//!
//! A record is predicted positive when the scanner reports any finding in the task's category
//! (`injection` → injection, `secrets` → secret, `pii` → personal data). Findings of other
//! families do not count, so the injection numbers are not inflated by an e-mail address in a
//! benign prompt. Precision, recall, false-positive rate, F1 and the confusion counts are
//! printed overall and per `source`, with the p50/p99 scan time per record (wall clock of each
//! `Scanner::scan` call, so it includes every detector, not only the task's).
//!
//! For `--task injection` every record also gets a score (the highest injection finding's;
//! the detector is asked to report regions below its thresholds too) so that a ranking table
//! can be printed per source: ROC AUC and recall at 1 % and 0.1 % false-positive rate, the
//! rates measured on the split's benign records of the same trust level (a user's prompts, or
//! untrusted data). The prediction at the operating point still uses the configured
//! thresholds. A record's context is its `context` field, else the one its `kind` implies
//! ([`airlock_detect::labelled::context_for_kind`]), else `--context`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use airlock_core::{Category, Trust};
use airlock_detect::detectors::injection::{self, InjectionThresholds};
use airlock_detect::labelled::{self, recall_at, roc_auc, threshold_at_fpr};
use airlock_detect::{ScanContext, Scanner};
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::Status;
use crate::config::{ConfigArgs, ContextArg};
use crate::output::printable;
use crate::records::{self, Lines};

#[derive(Debug, Args)]
#[command(after_help = "\
Input lines: {\"id\": <any>, \"text\": \"...\", \"label\": 0|1, \"source\": \"...\"}, optionally
\"split\" (selected with --split), \"context\" (overrides --context for that record) and \"kind\"
(the shared data's record kind, which implies a context when \"context\" is absent). Records
without a source are grouped as `unknown`. Malformed lines are reported on stderr as
`line N: ...` and skipped; the metrics are still printed and the exit code is 2.

Example:
  airlock eval data/injection.jsonl --task injection --split dev --show-errors 10")]
pub struct EvalArgs {
    /// Labelled JSON Lines file; `-` reads stdin.
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// Which family of findings counts as a positive prediction.
    #[arg(long, value_enum)]
    task: Task,

    /// Evaluate only records whose "split" field equals this (`dev`, `train`, …); `all`
    /// takes every record, with or without a split.
    #[arg(long, value_name = "SPLIT", default_value = "all")]
    split: String,

    /// Output format.
    #[arg(long, value_enum, default_value_t = EvalFormat::Text)]
    format: EvalFormat,

    /// List up to N false-negative and N false-positive ids (with the rules that fired).
    #[arg(long, value_name = "N", default_value_t = 0)]
    show_errors: usize,

    /// Context for records without their own "context" field. The default reads every record
    /// as an untrusted tool result, the strictest reading (as `scan` reads files); use
    /// `prompt` to judge records as a user's own prompts.
    #[arg(long, value_enum, value_name = "KIND", default_value_t = ContextArg::ToolResult)]
    context: ContextArg,

    #[command(flatten)]
    config: ConfigArgs,
}

/// `--task`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Task {
    /// Prompt injection and jailbreaks (category `injection`).
    Injection,
    /// Credentials (category `secret`).
    Secrets,
    /// Personal data (category `pii`).
    Pii,
}

impl Task {
    fn category(self) -> Category {
        match self {
            Task::Injection => Category::Injection,
            Task::Secrets => Category::Secret,
            Task::Pii => Category::Pii,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Task::Injection => "injection",
            Task::Secrets => "secrets",
            Task::Pii => "pii",
        }
    }
}

/// `--format` of eval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EvalFormat {
    /// A table for people.
    Text,
    /// One JSON document for scripts.
    Json,
}

/// A confusion matrix.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
struct Counts {
    tp: u64,
    fp: u64,
    tn: u64,
    #[serde(rename = "fn")]
    fn_: u64,
}

impl Counts {
    fn add(&mut self, label: bool, predicted: bool) {
        match (label, predicted) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (false, false) => self.tn += 1,
            (true, false) => self.fn_ += 1,
        }
    }

    fn total(&self) -> u64 {
        self.tp + self.fp + self.tn + self.fn_
    }

    /// The rates; `None` where the denominator is zero (no positives predicted, no positive
    /// or no negative records), never a misleading 0 or 1.
    fn metrics(&self) -> Metrics {
        let ratio = |num: u64, den: u64| (den > 0).then(|| num as f64 / den as f64);
        let precision = ratio(self.tp, self.tp + self.fp);
        let recall = ratio(self.tp, self.tp + self.fn_);
        let f1 = match (precision, recall) {
            (Some(p), Some(r)) if p + r > 0.0 => Some(2.0 * p * r / (p + r)),
            (Some(_), Some(_)) => Some(0.0),
            _ => None,
        };
        Metrics {
            records: self.total(),
            counts: *self,
            precision,
            recall,
            fpr: ratio(self.fp, self.fp + self.tn),
            f1,
        }
    }
}

#[derive(Debug, Serialize)]
struct Metrics {
    records: u64,
    #[serde(flatten)]
    counts: Counts,
    precision: Option<f64>,
    recall: Option<f64>,
    fpr: Option<f64>,
    f1: Option<f64>,
}

/// A misclassified record, for `--show-errors`.
#[derive(Debug, Serialize)]
struct Miss {
    id: Box<RawValue>,
    source: String,
    /// The task's rules that fired (false positives); empty for false negatives.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    rules: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Latency {
    p50: f64,
    p99: f64,
    max: f64,
    mean: f64,
}

#[derive(Debug, Serialize)]
struct Misclassified {
    false_negatives: Vec<Miss>,
    false_positives: Vec<Miss>,
}

#[derive(Debug, Serialize)]
struct Summary {
    task: &'static str,
    file: String,
    split: String,
    context: &'static str,
    /// Records outside the chosen split.
    other_split: u64,
    malformed: u64,
    overall: Metrics,
    by_source: BTreeMap<String, Metrics>,
    /// Score-based measures (injection only).
    #[serde(skip_serializing_if = "Option::is_none")]
    ranking: Option<Ranking>,
    /// Microseconds per record.
    latency_us: Latency,
    /// `release` or `debug`: debug-build timings say little about real latency.
    build: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Misclassified>,
}

/// Ranking measures of the injection scores, per source and per trust level.
#[derive(Debug, Serialize)]
struct Ranking {
    /// The thresholds the verdicts above used.
    threshold_trusted: f32,
    threshold_untrusted: f32,
    /// Attack sources, and `all trusted` / `all untrusted`.
    by_source: BTreeMap<String, RankRow>,
}

#[derive(Debug, Serialize)]
struct RankRow {
    /// `trusted` or `untrusted`: whose benign records the rates are measured on.
    trust: &'static str,
    attacks: usize,
    benign: usize,
    auc: Option<f64>,
    recall_at_1pct_fpr: Option<f64>,
    recall_at_0_1pct_fpr: Option<f64>,
}

/// How records are scored: the scanner, and for injection the thresholds that make a
/// score a positive prediction.
struct Scoring {
    scanner: Scanner,
    thresholds: Option<InjectionThresholds>,
}

impl Scoring {
    fn new(args: &EvalArgs) -> Result<Scoring> {
        if args.task != Task::Injection {
            return Ok(Scoring {
                scanner: args.config.scanner()?,
                thresholds: None,
            });
        }
        let config = args.config.detect_config()?;
        let (scoring, thresholds) = injection::scoring_config(&config)
            .map_err(|problems| airlock_detect::ConfigError { problems })?;
        Ok(Scoring {
            scanner: Scanner::from_config(&scoring)?,
            thresholds: Some(thresholds),
        })
    }
}

/// One scored record, for the ranking table.
struct Scored {
    source: String,
    label: bool,
    trust: Trust,
    score: f32,
}

/// Runs `airlock eval`.
pub fn run(args: EvalArgs) -> Result<Status> {
    let Scoring {
        scanner,
        thresholds,
    } = Scoring::new(&args)?;
    let mut scored: Vec<Scored> = Vec::new();
    let category = args.task.category();
    let default_context = args.context.scan_context();
    let mut lines = Lines::new(records::open(&args.file)?);

    let mut overall = Counts::default();
    let mut by_source: BTreeMap<String, Counts> = BTreeMap::new();
    let mut latencies: Vec<Duration> = Vec::new();
    let mut false_negatives = Vec::new();
    let mut false_positives = Vec::new();
    let (mut other_split, mut malformed) = (0u64, 0u64);
    let stderr = &mut io::stderr().lock();

    while let Some((number, line)) = lines
        .next_line()
        .with_context(|| format!("cannot read `{}`", args.file.display()))?
    {
        let record = match records::parse(line).and_then(|raw| raw.check(true)) {
            Ok(record) => record,
            Err(problem) => {
                malformed += 1;
                writeln!(stderr, "line {number}: {problem}")?;
                continue;
            }
        };
        if args.split != "all" && record.split.as_deref() != Some(args.split.as_str()) {
            other_split += 1;
            continue;
        }
        let context = record
            .context
            .or_else(|| record.kind.as_deref().and_then(labelled::context_for_kind))
            .map_or(default_context, ScanContext::of_kind);
        let started = Instant::now();
        let findings = scanner.scan(&record.text, context);
        latencies.push(started.elapsed());

        let threshold = thresholds.map_or(0.0, |t| t.for_context(context));
        let in_task = findings
            .iter()
            .filter(|finding| finding.category == category);
        let score = in_task.clone().map(|f| f.score).fold(0.0, f32::max);
        let mut rules: Vec<String> = in_task
            .filter(|finding| finding.score >= threshold)
            .map(|finding| finding.qualified_rule())
            .collect();
        let predicted = !rules.is_empty();
        let label = record.label.unwrap_or(false);
        let source = record.source.unwrap_or_else(|| "unknown".to_owned());
        if thresholds.is_some() {
            scored.push(Scored {
                source: source.clone(),
                label,
                trust: context.trust,
                score,
            });
        }
        overall.add(label, predicted);
        by_source
            .entry(source.clone())
            .or_default()
            .add(label, predicted);

        let misses = match (label, predicted) {
            (true, false) => Some(&mut false_negatives),
            (false, true) => Some(&mut false_positives),
            _ => None,
        };
        if let Some(misses) = misses.filter(|misses| misses.len() < args.show_errors) {
            rules.sort();
            rules.dedup();
            misses.push(Miss {
                id: record.id.to_owned(),
                source,
                rules,
            });
        }
    }

    if overall.total() == 0 {
        bail!(
            "no records to evaluate in `{}`{}",
            args.file.display(),
            if args.split == "all" {
                String::new()
            } else {
                format!(" with split `{}`", args.split)
            }
        );
    }

    let summary = Summary {
        task: args.task.as_str(),
        file: args.file.display().to_string(),
        split: args.split.clone(),
        context: args.context.kind().as_str(),
        other_split,
        malformed,
        overall: overall.metrics(),
        by_source: by_source
            .into_iter()
            .map(|(source, counts)| (source, counts.metrics()))
            .collect(),
        ranking: thresholds.map(|thresholds| ranking(&scored, thresholds)),
        latency_us: latency(&mut latencies),
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        errors: (args.show_errors > 0).then_some(Misclassified {
            false_negatives,
            false_positives,
        }),
    };
    let stdout = &mut io::BufWriter::new(io::stdout().lock());
    match args.format {
        EvalFormat::Text => write_text(&summary, stdout)?,
        EvalFormat::Json => {
            serde_json::to_writer_pretty(&mut *stdout, &summary).map_err(io::Error::from)?;
            writeln!(stdout)?;
        }
    }
    stdout.flush()?;
    if malformed > 0 {
        writeln!(
            stderr,
            "{malformed} malformed line{} skipped",
            if malformed == 1 { "" } else { "s" }
        )?;
        return Ok(Status::InputError);
    }
    Ok(Status::Clean)
}

/// The ranking table: each attack source against the benign records of its trust level.
fn ranking(scored: &[Scored], thresholds: InjectionThresholds) -> Ranking {
    let trust_name = |trust: Trust| match trust {
        Trust::Trusted => "trusted",
        Trust::Untrusted => "untrusted",
    };
    let benign = |trust: Trust| -> Vec<f32> {
        scored
            .iter()
            .filter(|r| !r.label && r.trust == trust)
            .map(|r| r.score)
            .collect()
    };
    let row = |trust: Trust, attacks: &[f32]| {
        let negatives = benign(trust);
        let recall =
            |fpr: f64| threshold_at_fpr(&negatives, fpr).and_then(|t| recall_at(attacks, t));
        RankRow {
            trust: trust_name(trust),
            attacks: attacks.len(),
            benign: negatives.len(),
            auc: roc_auc(attacks, &negatives),
            recall_at_1pct_fpr: recall(0.01),
            recall_at_0_1pct_fpr: recall(0.001),
        }
    };
    let mut by_source = BTreeMap::new();
    for trust in [Trust::Trusted, Trust::Untrusted] {
        let attacks: Vec<f32> = scored
            .iter()
            .filter(|r| r.label && r.trust == trust)
            .map(|r| r.score)
            .collect();
        if !attacks.is_empty() {
            by_source.insert(format!("all {}", trust_name(trust)), row(trust, &attacks));
        }
    }
    let mut sources: BTreeMap<(&str, &str), (Trust, Vec<f32>)> = BTreeMap::new();
    for record in scored.iter().filter(|r| r.label) {
        sources
            .entry((record.source.as_str(), trust_name(record.trust)))
            .or_insert_with(|| (record.trust, Vec::new()))
            .1
            .push(record.score);
    }
    for ((source, trust_label), (trust, attacks)) in &sources {
        let name = if sources.keys().filter(|(s, _)| s == source).count() > 1 {
            format!("{source} ({trust_label})")
        } else {
            (*source).to_owned()
        };
        by_source.insert(name, row(*trust, attacks));
    }
    Ranking {
        threshold_trusted: thresholds.trusted,
        threshold_untrusted: thresholds.untrusted,
        by_source,
    }
}

/// Nearest-rank percentiles, in microseconds rounded to 0.1.
fn latency(samples: &mut [Duration]) -> Latency {
    samples.sort_unstable();
    let micros = |duration: Duration| (duration.as_secs_f64() * 1e7).round() / 10.0;
    let rank = |p: f64| {
        let index = ((p * samples.len() as f64).ceil() as usize).saturating_sub(1);
        samples.get(index).copied().unwrap_or_default()
    };
    let total: Duration = samples.iter().sum();
    let mean = if samples.is_empty() {
        Duration::ZERO
    } else {
        total / u32::try_from(samples.len()).unwrap_or(u32::MAX)
    };
    Latency {
        p50: micros(rank(0.50)),
        p99: micros(rank(0.99)),
        max: micros(samples.last().copied().unwrap_or_default()),
        mean: micros(mean),
    }
}

fn write_text(summary: &Summary, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "task {}, file {}, split {}, context {}",
        summary.task,
        printable(&summary.file),
        printable(&summary.split),
        summary.context
    )?;
    writeln!(
        out,
        "{} records evaluated; {} in other splits; {} malformed",
        summary.overall.records, summary.other_split, summary.malformed
    )?;
    writeln!(out)?;
    let width = source_column_width(summary.by_source.keys());
    writeln!(
        out,
        "{:<width$} {:>7} {:>6} {:>6} {:>6} {:>6} {:>9} {:>7} {:>7} {:>7}",
        "source", "records", "tp", "fp", "tn", "fn", "precision", "recall", "fpr", "f1"
    )?;
    write_row(out, "overall", &summary.overall, width)?;
    for (source, metrics) in &summary.by_source {
        write_row(out, &format!("  {}", printable(source)), metrics, width)?;
    }
    if let Some(ranking) = &summary.ranking {
        write_ranking(out, ranking)?;
    }
    writeln!(out)?;
    let latency = &summary.latency_us;
    writeln!(
        out,
        "scan latency per record: p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs, mean {:.1} µs",
        latency.p50, latency.p99, latency.max, latency.mean
    )?;
    if summary.build == "debug" {
        writeln!(
            out,
            "(debug build: use a release build for representative timings)"
        )?;
    }
    if let Some(errors) = &summary.errors {
        for (title, misses) in [
            ("false negatives", &errors.false_negatives),
            ("false positives", &errors.false_positives),
        ] {
            writeln!(out)?;
            writeln!(out, "{title} (first {}):", misses.len())?;
            for miss in misses {
                write!(
                    out,
                    "  {}  {}",
                    printable(miss.id.get()),
                    printable(&miss.source)
                )?;
                if !miss.rules.is_empty() {
                    write!(out, "  {}", miss.rules.join(", "))?;
                }
                writeln!(out)?;
            }
        }
    }
    Ok(())
}

/// Width of the first column: the longest source name as printed (indented by two), at least
/// as wide as its header.
fn source_column_width<'a>(sources: impl Iterator<Item = &'a String>) -> usize {
    sources
        .map(|source| printable(source).chars().count() + 2)
        .chain([7])
        .max()
        .unwrap_or(7)
}

fn write_ranking(out: &mut dyn Write, ranking: &Ranking) -> io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "ranking by score (thresholds above: trusted {:.4}, untrusted {:.4}); rates against \
         the benign records of the same trust level",
        ranking.threshold_trusted, ranking.threshold_untrusted
    )?;
    let width = source_column_width(ranking.by_source.keys());
    writeln!(
        out,
        "{:<width$} {:>9} {:>7} {:>6} {:>7} {:>12} {:>13}",
        "source", "trust", "attacks", "benign", "auc", "recall@1%fpr", "recall@0.1%fpr"
    )?;
    let rate = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |v| format!("{v:.4}"));
    for (source, row) in &ranking.by_source {
        let name = if source.starts_with("all ") {
            source.clone()
        } else {
            format!("  {}", printable(source))
        };
        writeln!(
            out,
            "{:<width$} {:>9} {:>7} {:>6} {:>7} {:>12} {:>13}",
            name,
            row.trust,
            row.attacks,
            row.benign,
            rate(row.auc),
            rate(row.recall_at_1pct_fpr),
            rate(row.recall_at_0_1pct_fpr),
        )?;
    }
    Ok(())
}

fn write_row(out: &mut dyn Write, name: &str, metrics: &Metrics, width: usize) -> io::Result<()> {
    let rate = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |v| format!("{v:.4}"));
    let counts = &metrics.counts;
    writeln!(
        out,
        "{:<width$} {:>7} {:>6} {:>6} {:>6} {:>6} {:>9} {:>7} {:>7} {:>7}",
        name,
        metrics.records,
        counts.tp,
        counts.fp,
        counts.tn,
        counts.fn_,
        rate(metrics.precision),
        rate(metrics.recall),
        rate(metrics.fpr),
        rate(metrics.f1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_from_counts() {
        let counts = Counts {
            tp: 3,
            fp: 1,
            tn: 4,
            fn_: 2,
        };
        let metrics = counts.metrics();
        assert_eq!(metrics.precision, Some(0.75));
        assert_eq!(metrics.recall, Some(0.6));
        assert_eq!(metrics.fpr, Some(0.2));
        let f1 = metrics.f1.unwrap();
        assert!((f1 - 2.0 / 3.0).abs() < 1e-12, "{f1}");
    }

    #[test]
    fn undefined_rates_are_none_not_zero() {
        let only_negatives = Counts {
            tn: 5,
            ..Counts::default()
        };
        let metrics = only_negatives.metrics();
        assert_eq!(metrics.precision, None);
        assert_eq!(metrics.recall, None);
        assert_eq!(metrics.fpr, Some(0.0));
        assert_eq!(metrics.f1, None);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let mut samples: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let latency = latency(&mut samples);
        assert_eq!((latency.p50, latency.p99, latency.max), (50.0, 99.0, 100.0));
    }
}
