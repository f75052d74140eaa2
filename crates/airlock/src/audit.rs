//! `airlock audit`: check, read and export the tamper-evident audit log that the gateway
//! writes (see `airlock_audit`). Read-only: these commands never create or change a log.

use std::io::{self, Write};
use std::path::PathBuf;

use airlock_audit::{AuditKey, AuditReader, AuditRecord, ExportFormat, default_key_file};
use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};

use crate::Status;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  airlock audit verify                          check ./airlock-data/audit.db
  airlock audit tail -n 50 --db /var/lib/airlock/audit.db
  airlock audit session 7f3c2a                  one agent session as a timeline
  airlock audit export --format ocsf > audit.ocsf.jsonl
  airlock audit verify --postgres 'host=db user=auditor dbname=audit' --log gw_eu1 --key gw_eu1.key

Exit codes: 0 success (verify: the chain is intact), 1 verify found tampering (the first bad
sequence number is printed), 2 usage or input error (no database, not an audit log, bad key).")]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Walk the hash chain and the signed head; name the first tampered record.
    Verify(VerifyArgs),
    /// Show the last records.
    Tail(TailArgs),
    /// Show one session's records as a timeline.
    Session(SessionArgs),
    /// Write every record to stdout as JSON Lines or OCSF events.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
struct DbArg {
    /// The audit database.
    #[arg(long, value_name = "PATH", default_value = airlock_audit::DEFAULT_PATH)]
    db: PathBuf,

    /// Read a PostgreSQL log instead (fleet mode): a connection string such as
    /// `host=127.0.0.1 user=airlock dbname=audit`.
    #[arg(long, value_name = "URL", conflicts_with = "db")]
    postgres: Option<String>,

    /// The PostgreSQL log name (table prefix) to read.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "airlock_audit",
        requires = "postgres"
    )]
    log: String,
}

impl DbArg {
    fn open(&self) -> Result<AuditReader> {
        Ok(match &self.postgres {
            Some(url) => AuditReader::open_postgres(url, &self.log)?,
            None => AuditReader::open(&self.db)?,
        })
    }
}

#[derive(Debug, Args)]
struct VerifyArgs {
    #[command(flatten)]
    db: DbArg,

    /// The audit key file, to authenticate the signed head. Default: `audit.key` next to the
    /// database (`./airlock-data/audit.key` with --postgres); when that is absent the head is
    /// only compared, not authenticated, and a warning says so.
    #[arg(long, value_name = "PATH")]
    key: Option<PathBuf>,

    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct TailArgs {
    #[command(flatten)]
    db: DbArg,

    /// How many records.
    #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 20)]
    count: usize,

    /// Print records as JSON Lines instead of a timeline.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct SessionArgs {
    /// The session id.
    #[arg(value_name = "ID")]
    id: String,

    #[command(flatten)]
    db: DbArg,

    /// Print records as JSON Lines instead of a timeline.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ExportArgs {
    #[command(flatten)]
    db: DbArg,

    /// `jsonl`: one audit record per line. `ocsf`: one OCSF 1.3 API Activity event (class 6003)
    /// per line.
    #[arg(long, value_enum, value_name = "FORMAT")]
    format: ExportArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExportArg {
    Jsonl,
    Ocsf,
}

/// Runs `airlock audit …`.
pub fn run(args: AuditArgs) -> Result<Status> {
    match args.command {
        AuditCommand::Verify(args) => verify(args),
        AuditCommand::Tail(args) => {
            let records = args.db.open()?.tail(args.count)?;
            print_records(&records, args.json)?;
            Ok(Status::Clean)
        }
        AuditCommand::Session(args) => {
            let records = args.db.open()?.session(&args.id)?;
            if records.is_empty() {
                eprintln!("no records for session `{}`", args.id);
            }
            print_records(&records, args.json)?;
            Ok(Status::Clean)
        }
        AuditCommand::Export(args) => {
            let format = match args.format {
                ExportArg::Jsonl => ExportFormat::Jsonl,
                ExportArg::Ocsf => ExportFormat::Ocsf,
            };
            let mut reader = args.db.open()?;
            let mut stdout = io::stdout().lock();
            airlock_audit::export(&mut reader, format, &mut stdout)?;
            Ok(Status::Clean)
        }
    }
}

fn verify(args: VerifyArgs) -> Result<Status> {
    let mut reader = args.db.open()?;
    let key = match &args.key {
        Some(path) => Some(AuditKey::load(path)?),
        None => {
            let path = default_key_file(&args.db.db);
            if path.exists() {
                Some(AuditKey::load(&path)?)
            } else {
                eprintln!(
                    "warning: no audit key at `{}`: the head is compared but not authenticated \
                     (pass --key)",
                    path.display()
                );
                None
            }
        }
    };
    let report = reader.verify(key.as_ref())?;
    let mut stdout = io::stdout().lock();
    if args.json {
        writeln!(stdout, "{}", serde_json::to_string(&report)?)?;
    } else if let Some(problem) = &report.problem {
        writeln!(
            stdout,
            "tampered: record {} {}: {}",
            problem.sequence,
            problem.kind.as_str(),
            problem.detail
        )?;
    } else {
        let head = if report.head_authenticated {
            "signed head verified"
        } else {
            "head not authenticated (no key)"
        };
        writeln!(
            stdout,
            "intact: {} records, last sequence {}, {head}\nlast hash: {}",
            report.records, report.last_sequence, report.last_hash
        )?;
    }
    stdout.flush()?;
    Ok(if report.is_intact() {
        Status::Clean
    } else {
        Status::Findings
    })
}

fn print_records(records: &[AuditRecord], json: bool) -> Result<()> {
    let mut stdout = io::stdout().lock();
    for record in records {
        if json {
            writeln!(stdout, "{}", serde_json::to_string(record)?)?;
        } else {
            writeln!(stdout, "{}", timeline_line(record))?;
        }
    }
    stdout.flush()?;
    Ok(())
}

/// `#12 2026-12-07T00:50:07.123Z mail-agent for ana tool_call send_email via github (1.500 ms)
/// deny: reason; reason [secrets/aws_access_key critical]`. The upstream and its latency are
/// shown when the record has them.
fn timeline_line(record: &AuditRecord) -> String {
    let mut line = format!(
        "#{} {} {} {}",
        record.sequence,
        record.time,
        record.principal.display_name(),
        record.event_kind.as_str()
    );
    if let Some(tool) = &record.tool {
        line.push(' ');
        line.push_str(tool);
    }
    let context = &record.context;
    if let Some(upstream) = &context.upstream {
        line.push_str(" via ");
        line.push_str(upstream);
    }
    if let Some(latency_us) = context.upstream_latency_us {
        // Exact: microseconds as milliseconds with three decimals, no float rounding.
        let latency = format!("{}.{:03} ms", latency_us / 1000, latency_us % 1000);
        if context.upstream.is_some() {
            line.push_str(&format!(" ({latency})"));
        } else {
            line.push_str(&format!(" (upstream {latency})"));
        }
    }
    line.push(' ');
    line.push_str(record.decision.outcome.as_str());
    if !record.decision.reasons.is_empty() {
        line.push_str(": ");
        line.push_str(&record.decision.reasons.join("; "));
    }
    if !record.findings.is_empty() {
        let findings: Vec<String> = record
            .findings
            .iter()
            .map(|finding| format!("{}/{} {}", finding.detector, finding.rule, finding.severity))
            .collect();
        line.push_str(&format!(" [{}]", findings.join(", ")));
    }
    line
}

#[cfg(test)]
mod tests {
    use airlock_audit::AuditContext;
    use airlock_core::{Decision, EventKind, Principal};

    use super::*;

    fn record(context: AuditContext) -> AuditRecord {
        AuditRecord {
            sequence: 12,
            time: "2026-12-07T00:50:07.123Z".into(),
            session: Some("s-1".into()),
            principal: Principal {
                agent: Some("mail-agent".into()),
                ..Principal::default()
            },
            event_kind: EventKind::ToolCall,
            tool: Some("send_email".into()),
            arguments: serde_json::Value::Null,
            arguments_fingerprint: String::new(),
            findings: vec![],
            decision: Decision::deny("untrusted data may not leave by e-mail"),
            prev_hash: airlock_audit::GENESIS_HASH.into(),
            context,
            hash: String::new(),
        }
    }

    #[test]
    fn audit_timeline_shows_the_upstream_and_its_latency() {
        let line = timeline_line(&record(AuditContext {
            upstream: Some("github".into()),
            upstream_latency_us: Some(1_500),
        }));
        assert!(
            line.ends_with(
                "send_email via github (1.500 ms) deny: untrusted data may not leave by e-mail"
            ),
            "{line}"
        );
    }

    #[test]
    fn audit_timeline_shows_a_latency_without_an_upstream_name() {
        let line = timeline_line(&record(AuditContext {
            upstream: None,
            upstream_latency_us: Some(42),
        }));
        assert!(
            line.contains("send_email (upstream 0.042 ms) deny"),
            "{line}"
        );
    }

    #[test]
    fn audit_timeline_of_a_record_without_context_is_unchanged() {
        let line = timeline_line(&record(AuditContext::default()));
        assert!(line.contains("send_email deny: "), "{line}");
        assert!(!line.contains("via") && !line.contains(" ms"), "{line}");
    }
}
