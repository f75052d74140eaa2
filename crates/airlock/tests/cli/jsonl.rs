//! `airlock scan --jsonl`: one record per line in, one result per line out.

use serde_json::Value;

use crate::{airlock, airlock_in, write_file};

fn parse_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect()
}

#[test]
fn echoes_each_id_as_written_with_byte_offsets_into_text() {
    let input = concat!(
        r#"{"id": 1.50, "text": "no findings here"}"#,
        "\n",
        r#"{"id": {"doc": "a", "n": [1, 2]}, "text": "é mail ana.ng@example.org", "label": 1}"#,
        "\n",
        r#"{"id": "x-3", "text": "gateway 10.0.0.1"}"#,
        "\n",
    );
    let run = airlock(&["scan", "--jsonl", "-"], Some(input.as_bytes()));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stderr, "");
    // Ids are echoed byte for byte (1.50 is not rewritten as 1.5).
    let raw: Vec<&str> = run.stdout.lines().collect();
    assert!(raw[0].starts_with(r#"{"id":1.50,"#), "{}", raw[0]);
    let lines = parse_lines(&run.stdout);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["findings"], Value::Array(vec![]));
    assert_eq!(lines[1]["id"], serde_json::json!({"doc": "a", "n": [1, 2]}));
    let finding = &lines[1]["findings"][0];
    assert_eq!(finding["detector"], "pii");
    assert_eq!(finding["rule"], "email");
    assert_eq!(finding["severity"], "medium");
    assert!(finding["score"].as_f64().unwrap() > 0.0);
    // "é" is two bytes: "é mail " is 8 bytes.
    assert_eq!(finding["start"], 8);
    assert_eq!(finding["end"], 8 + "ana.ng@example.org".len());
    // Exactly these keys (their order depends on serde_json features other crates enable).
    let mut keys: Vec<&String> = finding.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["detector", "end", "rule", "score", "severity", "start"]
    );
    assert_eq!(lines[2]["id"], "x-3");
    assert_eq!(lines[2]["findings"][0]["rule"], "ip_address");
    assert!(!run.stdout.contains("ana.ng@example.org"));
}

#[test]
fn malformed_lines_are_reported_skipped_and_exit_2() {
    let input = concat!(
        r#"{"id": 1, "text": "fine"}"#,
        "\n",
        r#"{"id": 2, "text": "unterminated"#,
        "\n",
        r#"{"id": 3}"#,
        "\n",
        r#"{"id": 4, "text": 42}"#,
        "\n",
        r#"{"text": "no id"}"#,
        "\n",
        "\n",
        r#"[5, "an array"]"#,
        "\n",
        r#"{"id": 6, "text": "last one is good", "context": "tool_result"}"#,
        "\n",
        r#"{"id": 7, "text": "bad context", "context": "email"}"#,
        "\n",
    );
    let run = airlock(&["scan", "--jsonl", "-"], Some(input.as_bytes()));
    assert_eq!(run.code, 2, "{}", run.stderr);
    let ids: Vec<Value> = parse_lines(&run.stdout)
        .into_iter()
        .map(|line| line["id"].clone())
        .collect();
    assert_eq!(ids, [1, 6]);
    let errors: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(errors.len(), 7, "{}", run.stderr);
    assert!(
        errors[0].starts_with("line 2: invalid JSON: "),
        "{}",
        errors[0]
    );
    assert_eq!(errors[1], r#"line 3: missing field "text""#);
    assert_eq!(
        errors[2],
        r#"line 4: field "text" must be a string, got 42"#
    );
    assert_eq!(errors[3], r#"line 5: missing field "id""#);
    assert_eq!(errors[4], "line 7: expected a JSON object");
    assert!(
        errors[5].starts_with(r#"line 9: field "context" must be one of"#),
        "{}",
        errors[5]
    );
    assert_eq!(errors[6], "6 malformed lines skipped");
}

#[test]
fn reads_a_file_and_exits_0_when_nothing_is_found() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "records.jsonl",
        "{\"id\": \"a\", \"text\": \"hello\"}\r\n{\"id\": \"b\", \"text\": \"world\"}",
    );
    let run = airlock_in(dir.path(), &["scan", "--jsonl", "records.jsonl"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "{\"id\":\"a\",\"findings\":[]}\n{\"id\":\"b\",\"findings\":[]}\n"
    );
}

#[test]
fn fail_on_applies_to_records() {
    let input = br#"{"id": 1, "text": "gateway 10.0.0.1"}"#;
    assert_eq!(airlock(&["scan", "--jsonl", "-"], Some(input)).code, 0);
    assert_eq!(
        airlock(&["scan", "--jsonl", "-", "--fail-on", "info"], Some(input)).code,
        1
    );
}

#[test]
fn missing_jsonl_file_exits_2() {
    let run = airlock(&["scan", "--jsonl", "nope.jsonl"], None);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("cannot read `nope.jsonl`"),
        "{}",
        run.stderr
    );
}
