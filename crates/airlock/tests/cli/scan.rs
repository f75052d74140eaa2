//! `airlock scan` of files, directories and stdin.

use serde_json::Value;

use crate::{AWS_ID, AWS_SECRET, GITHUB_TOKEN, airlock, airlock_in, secrets_text, write_file};

#[test]
fn clean_stdin_exits_0_with_a_summary_on_stderr() {
    let run = airlock(&["scan"], Some(b"just a sentence about the weather\n"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("no findings in 1 file scanned"),
        "{}",
        run.stderr
    );
}

#[test]
fn finding_on_stdin_exits_1_with_path_line_and_column() {
    let run = airlock(
        &["scan", "-"],
        Some(b"first line\nmail: ana.ng@example.org\n"),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("<stdin>:2:7: medium pii/email: "),
        "{}",
        run.stdout
    );
    assert!(!run.all_output().contains("ana.ng@example.org"));
    assert!(
        run.stderr
            .contains("1 finding in 1 of 1 file scanned (1 medium)"),
        "{}",
        run.stderr
    );
}

#[test]
fn stdin_name_labels_piped_text() {
    let run = airlock(
        &["scan", "--stdin-name", "notes/today.md"],
        Some(b"ana.ng@example.org"),
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.starts_with("notes/today.md:1:1: "),
        "{}",
        run.stdout
    );
}

#[test]
fn secrets_are_reported_masked_in_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "creds.ini", secrets_text());
    for format in ["text", "json"] {
        let run = airlock_in(dir.path(), &["scan", "--format", format, "creds.ini"], None);
        assert_eq!(run.code, 1, "{format}: {}", run.stderr);
        for value in [AWS_ID, AWS_SECRET, GITHUB_TOKEN] {
            assert!(
                !run.all_output().contains(value),
                "{format} printed a secret"
            );
        }
        assert!(run.stdout.contains("secrets/github_pat") || run.stdout.contains("github_pat"));
    }
    let run = airlock_in(dir.path(), &["scan", "creds.ini"], None);
    assert!(
        run.stdout
            .contains("creds.ini:2:21: critical secrets/aws_access_key: "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("creds.ini:4:9: high secrets/github_pat: "),
        "{}",
        run.stdout
    );
}

#[test]
fn unreadable_path_exits_2_but_the_rest_is_still_scanned() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "a.txt", "mail ana.ng@example.org\n");
    let run = airlock_in(dir.path(), &["scan", "missing.txt", "a.txt"], None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot read `missing.txt`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("a.txt:1:6: medium pii/email"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("1 error"), "{}", run.stderr);
}

#[test]
fn bad_flag_values_exit_2() {
    for args in [
        &["scan", "--fail-on", "severe", "-"][..],
        &["scan", "--format", "xml", "-"][..],
        &["scan", "--context", "email", "-"][..],
        &["scan", "--jsonl", "x.jsonl", "--format", "sarif"][..],
    ] {
        let run = airlock(args, Some(b""));
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
    }
    let run = airlock(&["scan", "--fail-on", "severe", "-"], Some(b""));
    assert!(
        run.stderr.contains("unknown severity `severe`"),
        "{}",
        run.stderr
    );
}

#[test]
fn fail_on_sets_the_exit_threshold() {
    // An e-mail address is medium; a private IPv4 address is info.
    let medium = b"mail ana.ng@example.org\n";
    let info = b"gateway 10.0.0.1\n";
    let code = |fail_on: Option<&str>, input: &[u8]| {
        let mut args = vec!["scan"];
        if let Some(fail_on) = fail_on {
            args.extend(["--fail-on", fail_on]);
        }
        airlock(&args, Some(input)).code
    };
    assert_eq!(code(None, medium), 1, "default threshold is low");
    assert_eq!(code(None, info), 0, "info findings do not fail by default");
    assert_eq!(code(Some("info"), info), 1);
    assert_eq!(code(Some("medium"), medium), 1);
    assert_eq!(code(Some("high"), medium), 0);
    assert_eq!(code(Some("none"), secrets_text().as_bytes()), 0);
    assert_eq!(code(Some("critical"), secrets_text().as_bytes()), 1);
}

#[test]
fn info_findings_are_still_printed_below_the_threshold() {
    let run = airlock(&["scan"], Some(b"gateway 10.0.0.1\n"));
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("info pii/ip_address"), "{}", run.stdout);
}

#[test]
fn directory_walk_respects_gitignore_scans_dotfiles_and_skips_binaries() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_file(root, "repo/.gitignore", "ignored.txt\nbuild/\n");
    write_file(root, "repo/ignored.txt", "mail ana.ng@example.org\n");
    write_file(root, "repo/build/out.txt", "mail ana.ng@example.org\n");
    write_file(root, "repo/.git/config", "mail ana.ng@example.org\n");
    write_file(root, "repo/.env", "mail ana.ng@example.org\n");
    write_file(root, "repo/src/b.txt", "\n\nmail ana.ng@example.org\n");
    let mut binary = b"\x7fELF\x02\x01\x01\0\0\0".to_vec();
    binary.extend_from_slice(b"mail ana.ng@example.org\n");
    write_file(root, "repo/tool.bin", binary);

    let run = airlock_in(root, &["scan", "repo"], None);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let reported: Vec<&str> = run
        .stdout
        .lines()
        .map(|line| line.split(':').next().unwrap())
        .collect();
    assert_eq!(reported, ["repo/.env", "repo/src/b.txt"], "{}", run.stdout);
    assert!(
        run.stdout.contains("repo/src/b.txt:3:6: medium pii/email"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("note: skipping binary file repo/tool.bin"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("1 binary file skipped"),
        "{}",
        run.stderr
    );

    // A path named explicitly is scanned even though .gitignore lists it.
    let run = airlock_in(root, &["scan", "repo/ignored.txt"], None);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.starts_with("repo/ignored.txt:1:6:"),
        "{}",
        run.stdout
    );
}

#[test]
fn directory_walk_without_git_repo_still_reads_gitignore_in_json() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), ".gitignore", "*.log\n");
    write_file(dir.path(), "debug.log", "mail ana.ng@example.org\n");
    write_file(dir.path(), "keep.txt", "nothing to see\n");
    let run = airlock_in(dir.path(), &["scan", "--format", "json", "."], None);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["summary"]["files_scanned"], 2, "{doc}");
    assert_eq!(doc["summary"]["findings"], 0);
    assert_eq!(doc["files"], Value::Array(vec![]));
}

#[test]
fn json_reports_findings_per_file_with_line_column_and_skips() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "a.txt", "héllo\n  ana.ng@example.org\n");
    write_file(dir.path(), "b.bin", b"\0\0\0binary");
    let run = airlock_in(
        dir.path(),
        &["scan", "--format", "json", "a.txt", "b.bin"],
        None,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let file = &doc["files"][0];
    assert_eq!(file["path"], "a.txt");
    let finding = &file["findings"][0];
    assert_eq!(finding["detector"], "pii");
    assert_eq!(finding["rule"], "email");
    assert_eq!(finding["severity"], "medium");
    assert_eq!(finding["category"], "pii");
    // "héllo\n" is 7 bytes; two spaces of indent.
    assert_eq!(finding["start"], 9);
    assert_eq!(finding["end"], 9 + "ana.ng@example.org".len());
    assert_eq!(
        (finding["line"].as_u64(), finding["column"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(finding["end_line"], 2);
    assert_eq!(finding["end_column"], 3 + 18);
    assert_eq!(doc["skipped"][0]["path"], "b.bin");
    assert_eq!(doc["skipped"][0]["reason"], "binary");
    assert_eq!(doc["summary"]["by_severity"]["medium"], 1);
    assert_eq!(doc["summary"]["failed"], true);
    assert!(!run.stdout.contains("ana.ng@example.org"));
}

#[test]
fn invalid_utf8_is_scanned_with_offsets_of_the_original_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // Latin-1 "café", a stray 0xFF, then an address: offsets must count the raw bytes.
    let bytes = b"caf\xe9 \xff mail ana.ng@example.org\n".to_vec();
    let start = bytes.windows(3).position(|w| w == b"ana").unwrap();
    write_file(dir.path(), "latin1.txt", &bytes);
    let run = airlock_in(
        dir.path(),
        &["scan", "--format", "json", "latin1.txt"],
        None,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let file = &doc["files"][0];
    assert_eq!(file["invalid_utf8"]["first_offset"], 3);
    assert_eq!(file["invalid_utf8"]["replaced_bytes"], 2);
    assert_eq!(file["findings"][0]["start"], start);
    assert_eq!(
        file["findings"][0]["column"],
        start + 1,
        "one column per byte here"
    );
    assert!(
        run.stderr.contains("latin1.txt: invalid UTF-8 from byte 3"),
        "{}",
        run.stderr
    );
}

#[test]
fn context_flag_is_accepted_for_every_kind() {
    for kind in [
        "prompt",
        "tool_call",
        "tool_result",
        "retrieved_document",
        "completion",
        "file",
    ] {
        let run = airlock(&["scan", "--context", kind], Some(b"ana.ng@example.org"));
        assert_eq!(run.code, 1, "{kind}: {}", run.stderr);
    }
}

#[test]
fn config_file_turns_a_detector_off() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "airlock.toml",
        "[detect.detectors.pii]\nenabled = false\n",
    );
    let run = airlock_in(
        dir.path(),
        &["scan", "--config", "airlock.toml"],
        Some(b"mail ana.ng@example.org"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
}

#[test]
fn config_allowlist_suppresses_a_value() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "airlock.toml",
        "[detect]\nallow = [\"ana.ng@example.org\"]\n",
    );
    let run = airlock_in(
        dir.path(),
        &["scan", "--config", "airlock.toml"],
        Some(b"mail ana.ng@example.org and bo.li@example.org"),
    );
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(run.stdout.contains(":1:29:"), "{}", run.stdout);
}

#[test]
fn invalid_config_exits_2_naming_the_file_and_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "bad.toml",
        "[detect]\nallow_patterns = ['(']\n[detect.detectors.pii-iban]\n\
         [detect.detectors.secrets]\nmin_score = 2.0\n",
    );
    let run = airlock_in(
        dir.path(),
        &["scan", "--config", "bad.toml", "-"],
        Some(b"x"),
    );
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "");
    for expected in [
        "invalid config `bad.toml`",
        "detect.allow_patterns",
        "detect.detectors.pii-iban: unknown detector `pii-iban`",
        "detect.detectors.secrets.min_score",
    ] {
        assert!(
            run.stderr.contains(expected),
            "missing {expected}: {}",
            run.stderr
        );
    }

    write_file(dir.path(), "typo.toml", "[detect]\nalow = []\n");
    let run = airlock_in(
        dir.path(),
        &["scan", "--config", "typo.toml", "-"],
        Some(b"x"),
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("invalid config `typo.toml`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("line 2"), "{}", run.stderr);
    assert!(
        run.stderr.contains("unknown field `alow`"),
        "{}",
        run.stderr
    );

    let run = airlock_in(
        dir.path(),
        &["scan", "--config", "none.toml", "-"],
        Some(b"x"),
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("cannot read config `none.toml`"),
        "{}",
        run.stderr
    );
}

#[test]
fn file_names_with_control_characters_are_escaped_in_text_output() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "evil\n\x1b[2Jname.txt", "ana.ng@example.org");
    let run = airlock_in(dir.path(), &["scan", "."], None);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(
        run.stdout.starts_with("evil\\u{a}\\u{1b}[2Jname.txt:1:1:"),
        "{}",
        run.stdout
    );
}
