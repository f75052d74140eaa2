//! `--format sarif`: a SARIF 2.1.0 log (OASIS standard, errata 01) for code-scanning UIs such
//! as GitHub code scanning.
//!
//! - `tool.driver.rules` lists every rule that fired, id `detector/rule`, with a default level
//!   and a `security-severity` property (GitHub sorts alerts by it).
//! - Each result has its `ruleId`, a `level` mapped from severity (critical and high → `error`,
//!   medium → `warning`, low and info → `note`), and a region with line, column (Unicode code
//!   points; `columnKind` says so) and exact `byteOffset`/`byteLength`.
//! - No `snippet`, and `partialFingerprints` are a hash of the rule, the masked excerpt, the
//!   path and the occurrence count: a SARIF file must never carry the secret it reports, yet
//!   an alert must keep its identity when lines above it move.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Component, Path};

use airlock_core::Severity;
use serde_json::{Value, json};

use super::{FileReport, Report};

/// The published location of the schema this log conforms to.
const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The base id relative artifact URIs are resolved against (the directory `scan` ran in).
const SRCROOT: &str = "%SRCROOT%";

/// Key of airlock's fingerprint in `partialFingerprints`; bump the version if the recipe
/// changes, so that consumers do not match old and new fingerprints.
const FINGERPRINT_KEY: &str = "airlockFinding/v1";

/// Writes the report as a SARIF log with one run.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let cwd = std::env::current_dir().ok();
    let log = build(report, cwd.as_deref());
    serde_json::to_writer_pretty(&mut *out, &log).map_err(io::Error::from)?;
    writeln!(out)
}

fn build(report: &Report, cwd: Option<&Path>) -> Value {
    // Rules in a stable order (by id), each with the highest severity it was reported at.
    let mut rules: BTreeMap<String, RuleInfo> = BTreeMap::new();
    for (_, located) in report.findings() {
        let finding = &located.finding;
        let entry = rules
            .entry(finding.qualified_rule())
            .or_insert_with(|| RuleInfo {
                detector: finding.detector.clone(),
                rule: finding.rule.clone(),
                category: finding.category.as_str(),
                severity: finding.severity,
            });
        entry.severity = entry.severity.max(finding.severity);
    }
    let rule_index: BTreeMap<&str, usize> = rules
        .keys()
        .enumerate()
        .map(|(index, id)| (id.as_str(), index))
        .collect();

    let mut uses_srcroot = false;
    let mut results = Vec::new();
    for file in &report.files {
        let (uri, base) = artifact_uri(file, cwd);
        uses_srcroot |= base.is_some();
        let mut occurrences: BTreeMap<(String, &str), usize> = BTreeMap::new();
        for located in &file.findings {
            let finding = &located.finding;
            let id = finding.qualified_rule();
            let occurrence = occurrences
                .entry((id.clone(), finding.excerpt.as_str()))
                .or_insert(0);
            *occurrence += 1;
            let fingerprint = fingerprint(&id, &finding.excerpt, &uri, *occurrence);
            let mut artifact = json!({ "uri": uri });
            if let Some(base) = base {
                artifact["uriBaseId"] = json!(base);
            }
            let mut text = finding.message.clone();
            if !finding.excerpt.is_empty() {
                text.push_str(&format!(" ({})", finding.excerpt));
            }
            let mut properties = json!({
                "severity": finding.severity.as_str(),
                "category": finding.category.as_str(),
                "score": score(finding.score),
                "excerpt": finding.excerpt,
            });
            if !finding.via.is_empty() {
                properties["via"] = json!(finding.via);
            }
            results.push(json!({
                "ruleId": id,
                "ruleIndex": rule_index.get(id.as_str()).copied().unwrap_or(0),
                "level": level(finding.severity),
                "message": { "text": text },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": artifact,
                        "region": {
                            "startLine": located.region.start.line,
                            "startColumn": located.region.start.column,
                            "endLine": located.region.end.line,
                            "endColumn": located.region.end.column,
                            "byteOffset": finding.span.start,
                            "byteLength": finding.span.len(),
                        }
                    }
                }],
                "partialFingerprints": { FINGERPRINT_KEY: fingerprint },
                "properties": properties,
            }));
        }
    }

    let rules: Vec<Value> = rules
        .iter()
        .map(|(id, info)| {
            let summary = airlock_detect::registry::find(&info.detector)
                .map_or("airlock detector", |spec| spec.summary);
            json!({
                "id": id,
                "shortDescription": {
                    "text": format!("{} ({})", info.rule.replace('_', " "), info.detector)
                },
                "fullDescription": { "text": summary },
                "defaultConfiguration": { "level": level(info.severity) },
                "properties": {
                    "category": info.category,
                    "tags": ["security", info.category],
                    "security-severity": security_severity(info.severity),
                },
            })
        })
        .collect();

    let mut notifications: Vec<Value> = Vec::new();
    for skipped in &report.skipped {
        notifications.push(json!({
            "level": "note",
            "message": { "text": format!("skipped {} file `{}`", skipped.reason, skipped.name) },
        }));
    }
    for file in &report.files {
        if let Some(invalid) = file.invalid_utf8 {
            notifications.push(json!({
                "level": "note",
                "message": { "text": format!(
                    "`{}`: invalid UTF-8 from byte {}; {} bytes scanned as U+001A, offsets unchanged",
                    file.name, invalid.first_offset, invalid.replaced_bytes
                ) },
            }));
        }
    }
    for error in &report.errors {
        notifications.push(json!({
            "level": "error",
            "message": { "text": error.message },
        }));
    }

    let mut run = json!({
        "tool": {
            "driver": {
                "name": "airlock",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }
        },
        "invocations": [{
            "executionSuccessful": report.errors.is_empty(),
            "toolExecutionNotifications": notifications,
        }],
        "columnKind": "unicodeCodePoints",
        "results": results,
    });
    if let Some(root) = cwd.and_then(directory_uri).filter(|_| uses_srcroot) {
        run["originalUriBaseIds"] = json!({ SRCROOT: { "uri": root } });
    }
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [run],
    })
}

struct RuleInfo {
    detector: String,
    rule: String,
    category: &'static str,
    severity: Severity,
}

/// The score as JSON shows it elsewhere (`0.9`, not the `0.8999999761581421` of a widened
/// `f32`).
fn score(value: f32) -> f64 {
    value.to_string().parse().unwrap_or(f64::from(value))
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's scale: 9.0+ critical, 7.0–8.9 high, 4.0–6.9 medium, 0.1–3.9 low.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.5",
    }
}

/// The artifact URI of a file and the base id it is relative to: relative paths (and absolute
/// ones under the working directory) are relative to `%SRCROOT%`; others are `file:` URIs;
/// stdin is its display name.
fn artifact_uri(file: &FileReport, cwd: Option<&Path>) -> (String, Option<&'static str>) {
    let Some(path) = &file.path else {
        return (encode_segment(file.name.as_bytes()), None);
    };
    let relative = if path.is_absolute() {
        cwd.and_then(|cwd| path.strip_prefix(cwd).ok())
    } else {
        Some(path.as_path())
    };
    match relative {
        Some(relative) => (relative_uri(relative), Some(SRCROOT)),
        None => (format!("file://{}", absolute_uri_path(path)), None),
    }
}

/// `a/./b/c.txt` → `a/b/c.txt`, each segment percent-encoded.
fn relative_uri(path: &Path) -> String {
    let segments: Vec<String> = path
        .components()
        .filter_map(|component| match component {
            Component::CurDir => None,
            Component::ParentDir => Some("..".to_owned()),
            Component::Normal(name) => Some(encode_segment(name.as_encoded_bytes())),
            Component::RootDir | Component::Prefix(_) => None,
        })
        .collect();
    segments.join("/")
}

fn absolute_uri_path(path: &Path) -> String {
    let mut out = String::new();
    for component in path.components() {
        if let Component::Normal(name) = component {
            out.push('/');
            out.push_str(&encode_segment(name.as_encoded_bytes()));
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// `file:///home/dev/repo/` for a directory (the trailing slash makes it a base).
fn directory_uri(dir: &Path) -> Option<String> {
    dir.is_absolute().then(|| {
        let mut uri = format!("file://{}", absolute_uri_path(dir));
        if !uri.ends_with('/') {
            uri.push('/');
        }
        uri
    })
}

/// Percent-encodes everything but RFC 3986 unreserved characters and the sub-delimiters
/// allowed in a path segment. Works on bytes, so non-UTF-8 file names survive exactly.
fn encode_segment(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &byte in bytes {
        let keep = byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&byte);
        if keep {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// FNV-1a (64-bit) over the parts, NUL-separated, as 16 hex digits. Not a secret hash: the
/// inputs are already redaction-safe; it only has to be stable across runs and versions.
fn fingerprint(rule: &str, excerpt: &str, uri: &str, occurrence: usize) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let occurrence = occurrence.to_string();
    let mut hash = OFFSET;
    for part in [rule, excerpt, uri, &occurrence] {
        for &byte in part.as_bytes().iter().chain(std::iter::once(&0u8)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn file(path: &str) -> FileReport {
        FileReport {
            name: path.to_owned(),
            path: Some(PathBuf::from(path)),
            findings: vec![],
            invalid_utf8: None,
        }
    }

    #[test]
    fn relative_paths_are_encoded_relative_uris() {
        let (uri, base) = artifact_uri(&file("./docs/my notes/100%.md"), None);
        assert_eq!(uri, "docs/my%20notes/100%25.md");
        assert_eq!(base, Some(SRCROOT));
    }

    #[test]
    fn absolute_paths_under_cwd_become_relative() {
        let cwd = Path::new("/home/dev/repo");
        let (uri, base) = artifact_uri(&file("/home/dev/repo/src/a.rs"), Some(cwd));
        assert_eq!((uri.as_str(), base), ("src/a.rs", Some(SRCROOT)));
        let (uri, base) = artifact_uri(&file("/etc/x y"), Some(cwd));
        assert_eq!((uri.as_str(), base), ("file:///etc/x%20y", None));
        assert_eq!(
            directory_uri(cwd).as_deref(),
            Some("file:///home/dev/repo/")
        );
    }

    #[test]
    fn fingerprint_is_stable_and_separates_parts() {
        assert_eq!(
            fingerprint("secrets/aws_access_key", "AKIA****", "a.txt", 1),
            fingerprint("secrets/aws_access_key", "AKIA****", "a.txt", 1)
        );
        assert_ne!(
            fingerprint("a", "bc", "x", 1),
            fingerprint("ab", "c", "x", 1)
        );
        assert_ne!(fingerprint("a", "b", "x", 1), fingerprint("a", "b", "x", 2));
    }
}
