//! `airlock redact`: stdin → stdout with every secret and piece of personal data replaced by a
//! typed placeholder (`[REDACTED:aws_access_key#1]`). The same value gets the same placeholder
//! throughout one input. The whole input is read first, since numbering spans all of it.

use std::io::{self, Read, Write};

use anyhow::{Context, Result};
use clap::Args;

use crate::Status;
use crate::config::{ConfigArgs, ContextArg};

#[derive(Debug, Args)]
#[command(after_help = "\
Example:
  airlock redact < transcript.txt > transcript.redacted.txt

Invalid UTF-8 in the input is written out as U+FFFD. Nothing but the redacted text goes to
stdout; the replaced values are never printed.")]
pub struct RedactArgs {
    /// What the text is; detectors pick rules and thresholds by it.
    #[arg(long, value_enum, value_name = "KIND", default_value_t = ContextArg::File)]
    context: ContextArg,

    #[command(flatten)]
    config: ConfigArgs,
}

/// Runs `airlock redact`.
pub fn run(args: RedactArgs) -> Result<Status> {
    let scanner = args.config.scanner()?;
    let mut bytes = Vec::new();
    io::stdin()
        .lock()
        .read_to_end(&mut bytes)
        .context("cannot read stdin")?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            eprintln!("note: invalid UTF-8 in the input is written as U+FFFD");
            String::from_utf8_lossy(err.as_bytes()).into_owned()
        }
    };
    let findings = scanner.scan(&text, args.context.scan_context());
    let redaction = airlock_detect::redact_sensitive(&text, &findings);
    let mut stdout = io::stdout().lock();
    stdout.write_all(redaction.text.as_bytes())?;
    stdout.flush()?;
    Ok(Status::Clean)
}
