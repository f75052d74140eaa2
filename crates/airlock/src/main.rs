//! The `airlock` command: a thin shell that parses flags and wires the library crates together.
//! No detection or policy logic lives here: each subcommand module turns its flags and inputs
//! into calls on `airlock_detect::Scanner` and renders what comes back.
//!
//! Exit codes are the same for every subcommand: `0` nothing at or above the threshold, `1`
//! findings at or above it (`scan` only), `2` a usage or input error (bad flag, unreadable
//! path, invalid config, malformed input line). An error always wins over findings, so a CI
//! gate fails closed when part of the input could not be checked.

mod audit;
mod config;
mod eval;
mod input;
mod jsonl;
mod mcp;
mod output;
mod policy;
mod records;
mod redact;
mod scan;
mod serve;

use std::io;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "airlock",
    version,
    about = "Runtime security gateway for AI agents",
    long_about = "Runtime security gateway for AI agents.\n\n\
        Put it in front of MCP servers (`mcp wrap` for one stdio server, `serve` for several at \
        /mcp) or call its decision API (`serve`): tool listings are reviewed, tool calls \
        authorized by Cedar policy, tool results inspected, every decision audited. Scan \
        files or text for secrets, personal data, prompt injection, obfuscation, exfiltration \
        links and dangerous commands; redact; check policies; verify and export the audit log.",
    after_help = "Exit codes: 0 nothing at or above the threshold, 1 findings, 2 usage or input error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scan files, directories, stdin or JSON Lines records for findings.
    Scan(scan::ScanArgs),
    /// Measure precision, recall and latency on a labelled JSON Lines file.
    Eval(eval::EvalArgs),
    /// Replace secrets and personal data read from stdin with typed placeholders.
    Redact(redact::RedactArgs),
    /// Verify, read and export the tamper-evident audit log.
    Audit(audit::AuditArgs),
    /// Validate Cedar policies (`check`) and run policy test cases (`test`).
    Policy(policy::PolicyArgs),
    /// Serve the HTTP decision API (inspect, authorize) with hot-reloaded policies.
    Serve(serve::ServeArgs),
    /// Put airlock in front of an MCP server (`wrap`) and pin its tool definitions (`pin`).
    Mcp(mcp::McpArgs),
}

/// How a command ended, as the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Nothing at or above the threshold.
    Clean,
    /// Findings at or above the threshold.
    Findings,
    /// Some input could not be read or parsed; what could be was still processed.
    InputError,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        ExitCode::from(match status {
            Status::Clean => 0,
            Status::Findings => 1,
            Status::InputError => 2,
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Redact(args) => redact::run(args),
        Command::Policy(args) => policy::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Mcp(args) => mcp::run(args),
    };
    match result {
        Ok(status) => status.into(),
        // The reader went away (`airlock scan . | head`): stop quietly, but do not claim a
        // clean result for output nobody saw in full.
        Err(err) if is_broken_pipe(&err) => Status::InputError.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            Status::InputError.into()
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
