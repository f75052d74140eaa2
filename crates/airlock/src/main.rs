//! The `airlock` command: a thin shell that parses flags and wires the library crates together.
//! No detection or policy logic lives here.

use std::process::ExitCode;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "airlock",
    version,
    about = "Runtime security gateway for AI agents"
)]
enum Command {
    /// Scan files, directories or stdin for secrets, PII, injection and other findings.
    Scan,
}

fn main() -> ExitCode {
    match Command::parse() {
        Command::Scan => ExitCode::SUCCESS,
    }
}
