//! `airlock policy check` and `airlock policy test`: validate policies against the schema, and
//! run YAML policy cases. All policy logic is in `airlock_policy`; this module reads files and
//! prints.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use airlock_policy::testing::run_case_file;
use airlock_policy::{PolicySnapshot, RawPolicyConfig, RawToolConfig};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use crate::Status;

/// `airlock policy …`.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    command: PolicyCommand,
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Validate the built-in pack and a policy folder against the schema.
    ///
    /// Prints every problem as `file:line:column: message`. Exit codes: 0 valid, 2 invalid.
    Check(CheckArgs),
    /// Run a YAML file of policy cases and print pass/fail per case.
    ///
    /// Exit codes: 0 all passed, 1 a case failed, 2 the file or the policies are invalid.
    Test(TestArgs),
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// A folder of extra `*.cedar` policies, checked together with the built-in pack.
    #[arg(long, value_name = "DIR")]
    policies: Option<PathBuf>,
    /// `airlock.toml` whose `[policy]` and `[tools]` tables (labels, argument types) apply.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct TestArgs {
    /// The cases file (see `policies/tests/builtin.yaml`).
    cases: PathBuf,
    /// A folder of extra `*.cedar` policies (overrides the file's `config.dir`).
    #[arg(long, value_name = "DIR")]
    policies: Option<PathBuf>,
}

pub fn run(args: PolicyArgs) -> Result<Status> {
    match args.command {
        PolicyCommand::Check(args) => check(args),
        PolicyCommand::Test(args) => test(args),
    }
}

fn check(args: CheckArgs) -> Result<Status> {
    let raw = match &args.config {
        Some(path) => read_policy_config(path)?,
        None => RawPolicyConfig::default(),
    };
    let mut out = io::stdout().lock();
    let config = match raw.validate() {
        Ok(config) => config,
        Err(problems) => {
            for problem in problems {
                writeln!(out, "{problem}")?;
            }
            return Ok(Status::InputError);
        }
    };
    let dir = args.policies.clone().or_else(|| config.dir.clone());
    match PolicySnapshot::load_with_dir(config, dir.as_deref()) {
        Ok(snapshot) => {
            for warning in snapshot.warnings() {
                writeln!(out, "warning: {warning}")?;
            }
            writeln!(out, "ok: {} policies valid", snapshot.policies().len())?;
            Ok(Status::Clean)
        }
        Err(problems) => {
            for problem in &problems {
                writeln!(out, "{problem}")?;
            }
            writeln!(out, "{} problem(s)", problems.len())?;
            Ok(Status::InputError)
        }
    }
}

fn test(args: TestArgs) -> Result<Status> {
    let yaml = fs::read_to_string(&args.cases)
        .with_context(|| format!("cannot read cases `{}`", args.cases.display()))?;
    let mut out = io::stdout().lock();
    let results = match run_case_file(&yaml, args.policies.as_deref()) {
        Ok(results) => results,
        Err(err) => {
            writeln!(out, "{}: {err}", args.cases.display())?;
            return Ok(Status::InputError);
        }
    };
    let mut failed = 0;
    for result in &results {
        if result.passed {
            writeln!(out, "pass  {}", result.name)?;
        } else {
            failed += 1;
            writeln!(
                out,
                "FAIL  {}: {} (reasons: {})",
                result.name,
                result.failure.as_deref().unwrap_or(""),
                result.decision.reasons.join("; ")
            )?;
        }
    }
    writeln!(out, "{} passed, {failed} failed", results.len() - failed)?;
    Ok(if failed == 0 {
        Status::Clean
    } else {
        Status::Findings
    })
}

/// The `[policy]` and `[tools]` tables of `airlock.toml`; other sections belong to other
/// subcommands and are left to them.
fn read_policy_config(path: &Path) -> Result<RawPolicyConfig> {
    #[derive(serde::Deserialize)]
    struct Partial {
        #[serde(default)]
        policy: Option<RawPolicyConfig>,
        #[serde(default)]
        tools: std::collections::BTreeMap<String, RawToolConfig>,
    }
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read config `{}`", path.display()))?;
    let partial: Partial =
        toml::from_str(&text).with_context(|| format!("invalid config `{}`", path.display()))?;
    let mut raw = partial.policy.unwrap_or_default();
    raw.tools.extend(partial.tools);
    Ok(raw)
}
