//! End-to-end tests of the `airlock` binary: each test starts the real executable with
//! `std::process::Command` and checks exit codes, stdout and stderr.
//!
//! Findings come from the real detectors. The inputs use values the finished detectors flag:
//! e-mail addresses and IP addresses (`pii`), an AWS key pair and a GitHub token with a valid
//! checksum (`secrets`). The synthetic credentials are split in the source so that secret
//! scanners (including airlock itself, run over this repository) do not report this file.

// In a test a panic is the failure report; the workspace denies unwrap only outside tests,
// and clippy does not see helpers of an integration test crate as test code.
#![allow(clippy::unwrap_used)]

mod audit;
mod eval;
mod jsonl;
mod mcp;
mod mcp_rmcp;
mod policy;
mod redact;
mod sarif;
mod scan;
mod serve;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A synthetic AWS access key id and its secret: the format of real ones, nobody's keys.
pub const AWS_ID: &str = concat!("AKIA", "6NAR2KHSWAUUXBNX");
pub const AWS_SECRET: &str = concat!("ad1XgHpVirEQ5kZu50M2", "qqywr9uKrHBQsJ7tdlY2");
/// A synthetic GitHub token whose last six characters are a valid CRC32 checksum.
pub const GITHUB_TOKEN: &str = concat!("ghp_", "26auCJp8cHzlQEWht8NC1Wd3N52OWt3Wgcs9");

/// Text with a critical AWS key pair (lines 2–3) and a high GitHub token (line 4).
pub fn secrets_text() -> String {
    format!(
        "[default]\naws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}\n\
         token = {GITHUB_TOKEN}\n"
    )
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Everything the run printed, for "never prints the secret" checks.
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs `airlock ARGS` in `dir` with `stdin` piped in (empty when `None`). HOME and XDG
/// directories point into `dir` so that a developer's global gitignore cannot change results.
pub fn airlock_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join(".config-for-test"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start airlock");
    let mut pipe = child.stdin.take().expect("stdin pipe");
    let input = stdin.unwrap_or_default().to_vec();
    let writer = std::thread::spawn(move || {
        // The binary may exit before reading (usage errors): ignore a closed pipe.
        let _ = pipe.write_all(&input);
    });
    let output = child.wait_with_output().expect("wait for airlock");
    writer.join().expect("stdin writer");
    Run {
        code: output.status.code().expect("exit code, not a signal"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// Runs `airlock ARGS` in a fresh empty directory.
pub fn airlock(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    airlock_in(dir.path(), args, stdin)
}

/// Writes `contents` to `dir/relative`, creating parent directories.
pub fn write_file(dir: &Path, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create parent");
    }
    std::fs::write(&path, contents).expect("write fixture");
    path
}

/// The directory of this crate's test fixtures.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[test]
fn scan_help_explains_flags_formats_and_exit_codes() {
    let run = airlock(&["scan", "--help"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for expected in [
        "--format",
        "sarif",
        "--fail-on",
        "--jsonl",
        "--context",
        "--config",
        "Exit codes",
        "path:line:col",
    ] {
        assert!(
            run.stdout.contains(expected),
            "missing {expected}:\n{}",
            run.stdout
        );
    }
}

#[test]
fn version_and_top_level_help_exit_0() {
    assert_eq!(airlock(&["--version"], None).code, 0);
    let help = airlock(&["--help"], None);
    assert_eq!(help.code, 0);
    for command in ["scan", "eval", "redact"] {
        assert!(help.stdout.contains(command), "{}", help.stdout);
    }
}

#[test]
fn unknown_subcommand_or_flag_exits_2() {
    assert_eq!(airlock(&["scna"], None).code, 2);
    let run = airlock(&["scan", "--formt", "json", "-"], Some(b""));
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--formt"), "{}", run.stderr);
}
