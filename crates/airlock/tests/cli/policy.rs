//! `airlock policy check` and `airlock policy test`.

use std::path::Path;

use crate::{airlock, airlock_in, write_file};

fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn check_accepts_the_builtin_pack() {
    let run = airlock(&["policy", "check"], None);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("policies valid"), "{}", run.stdout);
}

#[test]
fn check_prints_every_error_with_file_line_and_column_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "policies/typo.cedar",
        "permit(principal, action == Action::\"call_tool\", resource)\n  when { context.sesion.call_count > 1 };\n",
    );
    write_file(
        dir.path(),
        "policies/syntax.cedar",
        "// comment\nforbid(principal action, resource);\n",
    );
    let run = airlock_in(
        dir.path(),
        &["policy", "check", "--policies", "policies"],
        None,
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("policies/typo.cedar:2:"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("policies/syntax.cedar:2:"),
        "{}",
        run.stdout
    );
}

#[test]
fn check_uses_argument_types_from_the_config() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "policies/url.cedar",
        "forbid(principal, action == Action::\"call_tool\", resource)\n  when { context.arguments has url && context.arguments.url like \"*evil*\" };\n",
    );
    let without = airlock_in(
        dir.path(),
        &["policy", "check", "--policies", "policies"],
        None,
    );
    assert_eq!(
        without.code, 2,
        "undeclared argument must not validate:\n{}",
        without.stdout
    );
    write_file(
        dir.path(),
        "airlock.toml",
        "[tools.http_post]\nlabels = [\"egress\"]\narguments = { url = \"String\" }\n",
    );
    let with = airlock_in(
        dir.path(),
        &[
            "policy",
            "check",
            "--policies",
            "policies",
            "--config",
            "airlock.toml",
        ],
        None,
    );
    assert_eq!(with.code, 0, "{}{}", with.stdout, with.stderr);
}

#[test]
fn test_runs_the_builtin_cases_and_all_pass() {
    let cases = repo_root().join("policies/tests/builtin.yaml");
    let run = airlock(&["policy", "test", cases.to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("pass  support agent with fresh mfa"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(" 0 failed"), "{}", run.stdout);
}

#[test]
fn test_reports_a_failing_case_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "cases.yaml",
        "cases:\n  - name: unknown tool is allowed (wrong)\n    tool: launch_rockets\n    expect: allow\n  - name: read_file is allowed\n    tool: read_file\n    expect: allow\n",
    );
    let run = airlock_in(dir.path(), &["policy", "test", "cases.yaml"], None);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("FAIL  unknown tool is allowed (wrong): expected allow, got deny"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("pass  read_file is allowed"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("1 passed, 1 failed"), "{}", run.stdout);
}

#[test]
fn test_with_a_malformed_file_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "cases.yaml",
        "cases:\n  - name: x\n    expect: maybe\n",
    );
    let run = airlock_in(dir.path(), &["policy", "test", "cases.yaml"], None);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
}
