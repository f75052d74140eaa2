//! `airlock scan --format sarif`, validated against the official SARIF 2.1.0 schema
//! (`tests/fixtures/sarif-schema-2.1.0.json`, see the README there) with Python `jsonschema`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::{AWS_ID, AWS_SECRET, GITHUB_TOKEN, airlock_in, fixtures, secrets_text, write_file};

/// The Python that has `jsonschema`: `$AIRLOCK_TEST_PYTHON` (set by scripts/test.sh), else the
/// repository's `.venv`. Fails with instructions rather than skipping, so that CI cannot pass
/// without validating.
fn python() -> PathBuf {
    let candidates: Vec<PathBuf> = std::env::var_os("AIRLOCK_TEST_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python")])
        .collect();
    for candidate in &candidates {
        let works = Command::new(candidate)
            .args(["-c", "import jsonschema"])
            .output()
            .is_ok_and(|output| output.status.success());
        if works {
            return candidate.clone();
        }
    }
    panic!(
        "no Python with `jsonschema` found (tried {candidates:?}); run scripts/test.sh, which \
         creates .venv from tests/requirements.txt and sets AIRLOCK_TEST_PYTHON"
    );
}

const VALIDATE: &str = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1], encoding="utf-8"))
log = json.load(open(sys.argv[2], encoding="utf-8"))
jsonschema.Draft4Validator.check_schema(schema)
validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
for error in errors:
    print("/".join(map(str, error.absolute_path)) + ": " + error.message)
sys.exit(1 if errors else 0)
"#;

/// Asserts that `sarif` is valid against the vendored schema.
fn assert_valid_sarif(sarif: &str) {
    let dir = tempfile::tempdir().unwrap();
    let log = write_file(dir.path(), "log.sarif", sarif);
    let output = Command::new(python())
        .arg("-c")
        .arg(VALIDATE)
        .arg(fixtures().join("sarif-schema-2.1.0.json"))
        .arg(&log)
        .output()
        .expect("run python");
    assert!(
        output.status.success(),
        "SARIF does not validate:\n{}{}\n{sarif}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn scan_sarif(dir: &Path, args: &[&str]) -> (i32, String, Value) {
    let mut all = vec!["scan", "--format", "sarif"];
    all.extend_from_slice(args);
    let run = airlock_in(dir, &all, None);
    let log = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}\n{}", run.stdout, run.stderr));
    (run.code, run.stdout, log)
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "config/creds.ini", secrets_text());
    write_file(
        dir.path(),
        "docs/my notes.md",
        "# Notes\n\nmail ana.ng@example.org\n",
    );
    write_file(dir.path(), "logs/gw.log", "peer 10.0.0.1 connected\n");
    write_file(dir.path(), "blob.bin", b"\0\x01\x02 ana.ng@example.org");
    write_file(dir.path(), "latin1.txt", b"caf\xe9\n");
    dir
}

#[test]
fn sarif_log_validates_against_the_official_schema() {
    let dir = project();
    let (code, text, _) = scan_sarif(dir.path(), &["."]);
    assert_eq!(code, 1);
    assert_valid_sarif(&text);
}

#[test]
fn sarif_of_a_clean_scan_validates() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "a.txt", "nothing here\n");
    let (code, text, log) = scan_sarif(dir.path(), &["a.txt"]);
    assert_eq!(code, 0);
    assert_valid_sarif(&text);
    assert_eq!(log["runs"][0]["results"], Value::Array(vec![]));
    assert_eq!(
        log["runs"][0]["tool"]["driver"]["rules"],
        Value::Array(vec![])
    );
}

#[test]
fn sarif_of_stdin_and_errors_validates() {
    let dir = tempfile::tempdir().unwrap();
    let run = airlock_in(
        dir.path(),
        &["scan", "--format", "sarif", "-", "missing.txt"],
        Some(b"mail ana.ng@example.org"),
    );
    assert_eq!(run.code, 2);
    assert_valid_sarif(&run.stdout);
    let log: Value = serde_json::from_str(&run.stdout).unwrap();
    let run0 = &log["runs"][0];
    assert_eq!(
        run0["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "%3Cstdin%3E"
    );
    assert_eq!(run0["invocations"][0]["executionSuccessful"], false);
    let notification = &run0["invocations"][0]["toolExecutionNotifications"][0];
    assert_eq!(notification["level"], "error");
}

#[test]
fn sarif_rules_results_and_regions_describe_each_finding() {
    let dir = project();
    let (_, text, log) = scan_sarif(dir.path(), &["."]);
    let run = &log["runs"][0];
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let rule_ids: Vec<&str> = rules
        .iter()
        .map(|rule| rule["id"].as_str().unwrap())
        .collect();
    let results = run["results"].as_array().unwrap();

    // Every result's rule is described, at the index the result names.
    for result in results {
        let id = result["ruleId"].as_str().unwrap();
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rule_ids[index], id);
        assert!(id.contains('/'), "{id} is detector/rule");
    }
    // ...and every rule described fired.
    for id in &rule_ids {
        assert!(
            results.iter().any(|r| r["ruleId"] == *id),
            "{id} never fired"
        );
    }

    let find = |rule: &str| {
        results
            .iter()
            .find(|r| r["ruleId"] == rule)
            .unwrap_or_else(|| panic!("no {rule} in {text}"))
    };
    let email = find("pii/email");
    assert_eq!(email["level"], "warning");
    let location = &email["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "docs/my%20notes.md");
    assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    let region = &location["region"];
    assert_eq!(
        [
            &region["startLine"],
            &region["startColumn"],
            &region["endLine"],
            &region["endColumn"]
        ],
        [3, 6, 3, 24]
    );
    // "# Notes\n\nmail " is 14 bytes.
    assert_eq!(
        (&region["byteOffset"], &region["byteLength"]),
        (&14.into(), &18.into())
    );

    let aws = find("secrets/aws_access_key");
    assert_eq!(aws["level"], "error");
    assert_eq!(aws["properties"]["severity"], "critical");
    assert_eq!(find("pii/ip_address")["level"], "note");
    let aws_rule = &rules[aws["ruleIndex"].as_u64().unwrap() as usize];
    assert_eq!(aws_rule["properties"]["security-severity"], "9.5");
    assert_eq!(aws_rule["defaultConfiguration"]["level"], "error");

    // The binary file is skipped with a note, not scanned.
    let notes = &run["invocations"][0]["toolExecutionNotifications"];
    assert!(notes.to_string().contains("blob.bin"), "{notes}");
    assert!(
        notes
            .to_string()
            .contains("latin1.txt`: invalid UTF-8 from byte 3"),
        "{notes}"
    );
    assert!(results.iter().all(|r| !r.to_string().contains("blob.bin")));
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
}

#[test]
fn sarif_never_contains_the_secret_even_in_fingerprints() {
    let dir = project();
    let (_, text, log) = scan_sarif(dir.path(), &["."]);
    for value in [
        AWS_ID,
        AWS_SECRET,
        GITHUB_TOKEN,
        "ana.ng@example.org",
        "10.0.0.1",
    ] {
        assert!(!text.contains(value), "SARIF contains {value}");
    }
    for result in log["runs"][0]["results"].as_array().unwrap() {
        let fingerprint = result["partialFingerprints"]["airlockFinding/v1"]
            .as_str()
            .unwrap();
        assert_eq!(fingerprint.len(), 16);
        assert!(fingerprint.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(result.get("snippet").is_none());
    }
}

#[test]
fn sarif_fingerprint_survives_lines_added_above() {
    let dir = tempfile::tempdir().unwrap();
    let fingerprints = |contents: &str| {
        write_file(dir.path(), "a.txt", contents);
        let (_, _, log) = scan_sarif(dir.path(), &["a.txt"]);
        log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["ruleId"] == "pii/email")
            .map(|r| r["partialFingerprints"]["airlockFinding/v1"].clone())
            .collect::<Vec<_>>()
    };
    let before = fingerprints("mail ana.ng@example.org\n");
    let after = fingerprints("a new first line\n\nmail ana.ng@example.org\n");
    assert_eq!(before.len(), 1);
    assert_eq!(before, after);
    // A second occurrence of the same finding gets its own fingerprint.
    let twice = fingerprints("mail ana.ng@example.org\nmail ana.ng@example.org\n");
    assert_eq!(twice.len(), 2);
    assert_ne!(twice[0], twice[1]);
}
