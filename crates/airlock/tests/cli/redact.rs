//! `airlock redact`: stdin → stdout with typed placeholders.

use crate::{AWS_ID, AWS_SECRET, GITHUB_TOKEN, airlock, airlock_in, secrets_text, write_file};

#[test]
fn replaces_secrets_and_pii_and_never_prints_them() {
    let input = format!(
        "{}first {GITHUB_TOKEN} then again {GITHUB_TOKEN}\nmail ana.ng@example.org, \
         cc bo.li@example.org, reply ana.ng@example.org\n",
        secrets_text()
    );
    let run = airlock(&["redact"], Some(input.as_bytes()));
    assert_eq!(run.code, 0, "{}", run.stderr);
    for value in [
        AWS_ID,
        AWS_SECRET,
        GITHUB_TOKEN,
        "ana.ng@example.org",
        "bo.li@example.org",
    ] {
        assert!(
            !run.all_output().contains(value),
            "printed {value}:\n{}",
            run.stdout
        );
    }
    assert!(
        run.stdout.contains("[REDACTED:aws_access_key#1]"),
        "{}",
        run.stdout
    );
    // The same value gets the same placeholder; a different one the next index.
    assert_eq!(
        run.stdout.matches("[REDACTED:github_pat#1]").count(),
        3,
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("github_pat#2"));
    assert_eq!(
        run.stdout.matches("[REDACTED:email#1]").count(),
        2,
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stdout.matches("[REDACTED:email#2]").count(),
        1,
        "{}",
        run.stdout
    );
    // Everything else is kept.
    assert!(
        run.stdout.starts_with("[default]\naws_access_key_id = "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with(", reply [REDACTED:email#1]\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn text_without_findings_passes_through_byte_for_byte() {
    let input = "line one\r\nline two, no secrets ✓\n\n";
    let run = airlock(&["redact"], Some(input.as_bytes()));
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout, input);
}

#[test]
fn config_applies_to_redaction() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "airlock.toml",
        "[detect.detectors.pii]\nenabled = false\n",
    );
    let input = format!("mail ana.ng@example.org token {GITHUB_TOKEN}\n");
    let run = airlock_in(
        dir.path(),
        &["redact", "--config", "airlock.toml"],
        Some(input.as_bytes()),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "mail ana.ng@example.org token [REDACTED:github_pat#1]\n"
    );

    let run = airlock_in(
        dir.path(),
        &["redact", "--config", "missing.toml"],
        Some(b"x"),
    );
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "", "nothing is printed when the config is bad");
}
