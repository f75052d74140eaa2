//! `airlock eval` on `tests/fixtures/eval_pii.jsonl`, whose outcome is worked out by hand:
//!
//! | id | label | source | split | e-mail in text | outcome for `--task pii` |
//! |----|-------|--------|-------|----------------|--------------------------|
//! | p1 | 1     | alpha  | dev   | yes            | TP |
//! | p2 | 1     | alpha  | dev   | no             | FN |
//! | p3 | 0     | alpha  | dev   | no             | TN |
//! | 4  | 0     | beta   | dev   | yes            | FP |
//! | p5 | true  | beta   | dev   | yes            | TP |
//! | p6 | 0     | beta   | train | no             | TN |
//! | p7 | 1     | alpha  | train | yes            | TP |
//!
//! All: tp 3, fp 1, tn 2, fn 1 → precision 3/4, recall 3/4, FPR 1/3, F1 3/4.
//! alpha: tp 2, fp 0, tn 1, fn 1 → precision 1, recall 2/3, FPR 0, F1 4/5.
//! beta: tp 1, fp 1, tn 1, fn 0 → precision 1/2, recall 1, FPR 1/2, F1 2/3.
//! dev only: tp 2, fp 1, tn 1, fn 1 → precision 2/3, recall 2/3, FPR 1/2, F1 2/3.

use serde_json::Value;

use crate::{airlock, fixtures};

fn eval_json(extra: &[&str]) -> (i32, Value, String) {
    let file = fixtures().join("eval_pii.jsonl");
    let mut args = vec!["eval", file.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(extra);
    let run = airlock(&args, None);
    let doc = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}\n{}", run.stdout, run.stderr));
    (run.code, doc, run.stderr)
}

fn assert_close(actual: &Value, expected: f64) {
    let actual = actual
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {actual}"));
    assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
}

fn assert_counts(metrics: &Value, tp: u64, fp: u64, tn: u64, fn_: u64) {
    assert_eq!(
        [
            &metrics["tp"],
            &metrics["fp"],
            &metrics["tn"],
            &metrics["fn"]
        ],
        [tp, fp, tn, fn_],
        "{metrics}"
    );
    assert_eq!(metrics["records"], tp + fp + tn + fn_);
}

#[test]
fn metrics_overall_and_per_source_match_hand_computed_values() {
    let (code, doc, stderr) = eval_json(&["--task", "pii"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(doc["task"], "pii");
    assert_eq!(doc["split"], "all");
    assert_eq!(doc["other_split"], 0);
    assert_eq!(doc["malformed"], 0);

    let overall = &doc["overall"];
    assert_counts(overall, 3, 1, 2, 1);
    assert_close(&overall["precision"], 0.75);
    assert_close(&overall["recall"], 0.75);
    assert_close(&overall["fpr"], 1.0 / 3.0);
    assert_close(&overall["f1"], 0.75);

    let alpha = &doc["by_source"]["alpha"];
    assert_counts(alpha, 2, 0, 1, 1);
    assert_close(&alpha["precision"], 1.0);
    assert_close(&alpha["recall"], 2.0 / 3.0);
    assert_close(&alpha["fpr"], 0.0);
    assert_close(&alpha["f1"], 0.8);

    let beta = &doc["by_source"]["beta"];
    assert_counts(beta, 1, 1, 1, 0);
    assert_close(&beta["precision"], 0.5);
    assert_close(&beta["recall"], 1.0);
    assert_close(&beta["fpr"], 0.5);
    assert_close(&beta["f1"], 2.0 / 3.0);

    // Latency is reported but its values are machine-dependent: only its shape is checked.
    for key in ["p50", "p99", "max", "mean"] {
        assert!(doc["latency_us"][key].is_number(), "{}", doc["latency_us"]);
    }
    assert!(doc.get("errors").is_none());
}

#[test]
fn split_selects_records_by_their_split_field() {
    let (code, doc, _) = eval_json(&["--task", "pii", "--split", "dev"]);
    assert_eq!(code, 0);
    assert_eq!(doc["other_split"], 2);
    assert_counts(&doc["overall"], 2, 1, 1, 1);
    assert_close(&doc["overall"]["precision"], 2.0 / 3.0);
    assert_close(&doc["overall"]["recall"], 2.0 / 3.0);
    assert_close(&doc["overall"]["fpr"], 0.5);
    assert_close(&doc["overall"]["f1"], 2.0 / 3.0);
}

#[test]
fn findings_of_other_categories_do_not_count_and_undefined_rates_are_null() {
    // No secrets anywhere: nothing predicted positive, so precision and F1 are undefined.
    let (code, doc, _) = eval_json(&["--task", "secrets"]);
    assert_eq!(code, 0);
    let overall = &doc["overall"];
    assert_counts(overall, 0, 0, 3, 4);
    assert_eq!(overall["precision"], Value::Null);
    assert_eq!(overall["f1"], Value::Null);
    assert_close(&overall["recall"], 0.0);
    assert_close(&overall["fpr"], 0.0);
}

#[test]
fn show_errors_lists_misclassified_ids_with_the_rules_that_fired() {
    let (_, doc, _) = eval_json(&["--task", "pii", "--show-errors", "5"]);
    let errors = &doc["errors"];
    assert_eq!(
        errors["false_negatives"],
        serde_json::json!([{"id": "p2", "source": "alpha"}])
    );
    assert_eq!(
        errors["false_positives"],
        serde_json::json!([{"id": 4, "source": "beta", "rules": ["pii/email"]}])
    );
}

#[test]
fn text_report_has_a_row_per_source_and_latency() {
    let file = fixtures().join("eval_pii.jsonl");
    let run = airlock(
        &[
            "eval",
            file.to_str().unwrap(),
            "--task",
            "pii",
            "--show-errors",
            "1",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let row = |name: &str| {
        run.stdout
            .lines()
            .find(|line| line.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no row {name}:\n{}", run.stdout))
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        row("overall"),
        [
            "7", "3", "1", "2", "1", "0.7500", "0.7500", "0.3333", "0.7500"
        ]
    );
    assert_eq!(
        row("alpha"),
        [
            "4", "2", "0", "1", "1", "1.0000", "0.6667", "0.0000", "0.8000"
        ]
    );
    assert_eq!(
        row("beta"),
        [
            "3", "1", "1", "1", "0", "0.5000", "1.0000", "0.5000", "0.6667"
        ]
    );
    assert!(
        run.stdout.contains("scan latency per record: p50 "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("false negatives (first 1):\n  \"p2\"  alpha"),
        "{}",
        run.stdout
    );
}

#[test]
fn malformed_lines_are_reported_and_exit_2_after_the_metrics() {
    let input = concat!(
        r#"{"id": 1, "text": "mail ana.ng@example.org", "label": 1, "source": "s"}"#,
        "\n",
        r#"{"id": 2, "text": "no label", "source": "s"}"#,
        "\n",
        r#"{"id": 3, "text": "bad label", "label": "yes", "source": "s"}"#,
        "\n",
        r#"{"id": 4, "text": "plain", "label": 0}"#,
        "\n",
    );
    let run = airlock(
        &["eval", "-", "--task", "pii", "--format", "json"],
        Some(input.as_bytes()),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(r#"line 2: missing field "label""#),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(r#"line 3: field "label" must be 0 or 1"#),
        "{}",
        run.stderr
    );
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["malformed"], 2);
    assert_counts(&doc["overall"], 1, 0, 1, 0);
    // A record without a source is grouped as "unknown".
    assert_eq!(doc["by_source"]["unknown"]["tn"], 1);
}

#[test]
fn a_split_with_no_records_is_an_error() {
    let file = fixtures().join("eval_pii.jsonl");
    let run = airlock(
        &[
            "eval",
            file.to_str().unwrap(),
            "--task",
            "pii",
            "--split",
            "test",
        ],
        None,
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no records to evaluate"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("split `test`"), "{}", run.stderr);
}

#[test]
fn task_is_required() {
    let run = airlock(&["eval", "-"], Some(b""));
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--task"), "{}", run.stderr);
}
