//! `secrets` detector: credentials in text — provider tokens (AWS, GCP, Azure, GitHub,
//! GitLab, Slack, Stripe, OpenAI, Anthropic and about a hundred more formats), private keys,
//! JWTs, passwords in URLs and `curl -u`, and `password=` / `api_key:` style assignments of
//! random-looking literals.
//!
//! One pass: an Aho-Corasick automaton over every rule's literal keyword (token prefixes such
//! as `ghp_`, `AKIA`, `xoxb-`; credential words such as `password`, `token`; armour such as
//! `PRIVATE KEY`) finds where a secret may be. Only there does the owning rule run: a
//! provider regex over a bounded window (windows of one rule merged, so no byte is searched
//! twice by the same rule), or a hand-written parser for assignments, URLs, PEM blocks and
//! JWTs. Matches are then validated (checksums, decoded structure, entropy, placeholders),
//! overlapping candidates resolved in favour of the most specific, and each finding's span
//! covers the secret value only, so that redaction replaces just the value.
//!
//! Confidence: 0.99 for a verified checksum or a fully structured key file, about 0.9 for a
//! format that matched its structure, 0.6–0.8 for generic assignments gated by entropy.

mod generic;
mod rules;
mod structured;
mod value;

use std::collections::BTreeMap;

use airlock_core::{Category, Finding, Severity, Span, mask_secret};
use regex::Regex;
use serde::Deserialize;

use crate::config::{ConfigProblem, parse_options};
use crate::detector::{Detector, Input};
use crate::keywords::{Case, Keywords};
use crate::registry::{DetectorSpec, Options};

use generic::GenericSettings;
use rules::{Check, RULES, RuleDef};
use structured::{Finder, ceil_boundary, floor_boundary};
use value::{Classes, base62_crc32_matches, entropy, min_body_entropy};

/// Registry entry.
pub const SPEC: DetectorSpec = DetectorSpec {
    id: "secrets",
    summary: "credentials: provider API keys and tokens, private keys, JWTs, passwords in URLs \
              and high-entropy values assigned to password/secret/token/key names",
    build,
};

fn build(options: &Options) -> Result<Box<dyn Detector>, Vec<ConfigProblem>> {
    let options: SecretsOptions = parse_options("secrets", options)?;
    Ok(Box::new(SecretsDetector::new(options)?))
}

/// The `[detect.detectors.secrets]` options besides the common ones.
///
/// ```toml
/// [detect.detectors.secrets]
/// generic = true                 # password=/token:/api_key assignments
/// min_entropy = 3.0              # bits per character for generic token-like values
/// stop_words = ["acme-fixture"]  # values containing these are placeholders
/// report_invalid_checksums = true
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsOptions {
    /// Report values assigned to credential names (`password = "…"`, `"api_key": "…"`,
    /// `?token=…`, `Authorization: Bearer …`). Default true.
    pub generic: bool,
    /// Shannon entropy (bits per character) a generic token-like value must reach; short
    /// values need proportionally less. Default 3.0; 0 to 8.
    pub min_entropy: f64,
    /// Extra placeholder fragments: a value containing one (case-insensitively) is never
    /// reported. For fixtures particular to a code base.
    pub stop_words: Vec<String>,
    /// Report GitHub and npm tokens whose built-in CRC32 checksum does not match, at low
    /// confidence (0.6, Medium): samples, typos, truncations. When false they are dropped.
    /// Default true.
    pub report_invalid_checksums: bool,
}

impl Default for SecretsOptions {
    fn default() -> Self {
        SecretsOptions {
            generic: true,
            min_entropy: 3.0,
            stop_words: Vec::new(),
            report_invalid_checksums: true,
        }
    }
}

/// What a prefilter keyword sets off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    /// A provider rule, by index into the compiled rules.
    Rule(usize),
    /// A credential word: read the assignment around it.
    Assignment,
    PrivateKey,
    Putty,
    Jwt,
    UrlPassword,
    Curl,
    GcpServiceAccount,
}

/// Credential words of assignments, in the three spellings code uses (`token`, `Token`,
/// `TOKEN`). The assignment parser widens each hit to the whole identifier.
const ASSIGNMENT_WORDS: &[&str] = &[
    "pass", "pwd", "secret", "token", "key", "auth", "cred", "jwt",
];

/// A possible secret before overlaps are resolved.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    rule: &'static str,
    what: &'static str,
    note: &'static str,
    span: Span,
    severity: Severity,
    score: f32,
    /// Found by context (an assignment) rather than by format; yields to format matches.
    generic: bool,
}

impl Candidate {
    pub(super) fn provider(
        rule: &'static str,
        what: &'static str,
        note: &'static str,
        span: Span,
        severity: Severity,
        score: f32,
    ) -> Candidate {
        Candidate {
            rule,
            what,
            note,
            span,
            severity,
            score,
            generic: false,
        }
    }

    pub(super) fn generic(
        rule: &'static str,
        what: &'static str,
        note: &'static str,
        span: Span,
        severity: Severity,
        score: f32,
    ) -> Candidate {
        Candidate {
            generic: true,
            ..Candidate::provider(rule, what, note, span, severity, score)
        }
    }
}

/// The `secrets` detector, with its rules compiled.
#[derive(Debug)]
pub struct SecretsDetector {
    prefilter: Keywords,
    /// For each prefilter pattern, what it triggers.
    triggers: Vec<Vec<Trigger>>,
    rules: Vec<(RuleDef, Regex)>,
    generic: Option<GenericSettings>,
    stop_words: Vec<String>,
    report_invalid_checksums: bool,
}

impl SecretsDetector {
    /// Compiles the rules with `options`, or says what is wrong with the options.
    pub fn new(options: SecretsOptions) -> Result<SecretsDetector, Vec<ConfigProblem>> {
        if !(0.0..=8.0).contains(&options.min_entropy) {
            return Err(vec![ConfigProblem::new(
                "detect.detectors.secrets.min_entropy",
                format!(
                    "{} is outside [0, 8] (bits of entropy per character)",
                    options.min_entropy
                ),
            )]);
        }
        let mut keywords: Vec<String> = Vec::new();
        let mut triggers: Vec<Vec<Trigger>> = Vec::new();
        let mut add =
            |keyword: &str, trigger: Trigger| match keywords.iter().position(|k| k == keyword) {
                Some(i) => triggers[i].push(trigger),
                None => {
                    keywords.push(keyword.to_owned());
                    triggers.push(vec![trigger]);
                }
            };
        let mut rules = Vec::with_capacity(RULES.len());
        for (index, rule) in RULES.iter().enumerate() {
            // The table is fixed and covered by tests, so a pattern that fails to compile
            // is a bug in this crate; report it rather than panic.
            let regex = Regex::new(rule.pattern).map_err(|err| {
                vec![ConfigProblem::new(
                    "detect.detectors.secrets",
                    format!("built-in rule `{}` does not compile: {err}", rule.id),
                )]
            })?;
            for keyword in rule.keywords {
                add(keyword, Trigger::Rule(index));
            }
            rules.push((*rule, regex));
        }
        if options.generic {
            for word in ASSIGNMENT_WORDS {
                let mut capitalised = word.to_string();
                capitalised[..1].make_ascii_uppercase();
                add(word, Trigger::Assignment);
                add(&capitalised, Trigger::Assignment);
                add(&word.to_ascii_uppercase(), Trigger::Assignment);
            }
        }
        add("PRIVATE KEY", Trigger::PrivateKey);
        add("PuTTY-User-Key-File-", Trigger::Putty);
        add("eyJ", Trigger::Jwt);
        add("://", Trigger::UrlPassword);
        add("curl", Trigger::Curl);
        add("service_account", Trigger::GcpServiceAccount);
        // A DFA: the keyword set is fixed and small enough, and scanning speed is what
        // every event pays.
        let prefilter = Keywords::new(&keywords, Case::Sensitive).map_err(|err| {
            vec![ConfigProblem::new(
                "detect.detectors.secrets",
                format!("building the keyword prefilter failed: {err}"),
            )]
        })?;
        Ok(SecretsDetector {
            prefilter,
            triggers,
            rules,
            generic: options.generic.then(|| GenericSettings {
                min_entropy: options.min_entropy,
                stop_words: options.stop_words.clone(),
            }),
            stop_words: options.stop_words,
            report_invalid_checksums: options.report_invalid_checksums,
        })
    }

    /// Every candidate in `text`, overlaps not yet resolved.
    fn candidates(&self, text: &str) -> Vec<Candidate> {
        let mut out = Vec::new();
        // (rule, window start, window end) for each provider keyword hit.
        let mut windows: Vec<(usize, usize, usize)> = Vec::new();
        let mut assignment_until = 0;
        let mut pem_until = 0;
        let mut jwt_until = 0;
        let mut url_until = 0;
        let mut curl_until = 0;
        let mut gcp_until = 0;
        let mut ends = Finder::new(b"-----END");
        let mut private_lines = Finder::new(b"Private-Lines:");
        let mut hits = Vec::new();
        self.prefilter.find_all(text.as_bytes(), &mut hits);
        for hit in hits {
            let (start, end) = (hit.start, hit.end);
            for &trigger in &self.triggers[hit.keyword] {
                match trigger {
                    Trigger::Rule(index) => {
                        let rule = &self.rules[index].0;
                        windows.push((index, start.saturating_sub(rule.back), start + rule.ahead));
                    }
                    Trigger::Assignment => {
                        if let Some(settings) = &self.generic
                            && start >= assignment_until
                        {
                            assignment_until =
                                generic::assignment_at(text, (start, end), settings, &mut out);
                        }
                    }
                    Trigger::PrivateKey => {
                        if start >= pem_until
                            && let Some((candidate, until)) =
                                structured::pem_private_key(text, start, &mut ends)
                        {
                            pem_until = until;
                            out.push(candidate);
                        }
                    }
                    Trigger::Putty => {
                        if let Some((candidate, _)) =
                            structured::putty_private_key(text, start, &mut private_lines)
                        {
                            out.push(candidate);
                        }
                    }
                    Trigger::Jwt => {
                        if start >= jwt_until
                            && let Some((candidate, until)) = structured::jwt(text, start)
                        {
                            jwt_until = until;
                            out.push(candidate);
                        }
                    }
                    Trigger::UrlPassword => {
                        if start >= url_until
                            && let Some((candidate, until)) =
                                structured::url_password(text, start, &self.stop_words)
                        {
                            url_until = until;
                            out.push(candidate);
                        }
                    }
                    Trigger::Curl => {
                        if start >= curl_until {
                            curl_until =
                                structured::curl_user(text, start, &self.stop_words, &mut out);
                        }
                    }
                    Trigger::GcpServiceAccount => {
                        if start >= gcp_until
                            && let Some((candidate, until)) =
                                structured::gcp_service_account(text, start)
                        {
                            gcp_until = until;
                            out.push(candidate);
                        }
                    }
                }
            }
        }
        self.run_rules(text, windows, &mut out);
        structured::discord_bot_tokens(text, &mut out);
        structured::facebook_app_tokens(text, &mut out);
        pair_aws_keys(text, &mut out);
        out
    }

    /// Runs each provider rule over the merged windows around its keyword hits.
    fn run_rules(
        &self,
        text: &str,
        mut windows: Vec<(usize, usize, usize)>,
        out: &mut Vec<Candidate>,
    ) {
        windows.sort_unstable();
        let mut merged: Vec<(usize, usize, usize)> = Vec::with_capacity(windows.len());
        for (rule, start, end) in windows {
            match merged.last_mut() {
                Some((r, _, e)) if *r == rule && start <= *e => *e = (*e).max(end),
                _ => merged.push((rule, start, end)),
            }
        }
        for (index, start, end) in merged {
            let (rule, regex) = &self.rules[index];
            // One byte past the window so that the boundary after a match can be checked.
            let end = ceil_boundary(text, end.saturating_add(1));
            let mut at = floor_boundary(text, start);
            let haystack = &text[..end];
            while at < end {
                let Some(captures) = regex.captures_at(haystack, at) else {
                    break;
                };
                let Some(whole) = captures.get(0) else {
                    break;
                };
                at = if whole.end() > whole.start() {
                    whole.end()
                } else {
                    ceil_boundary(text, whole.end() + 1)
                };
                let secret = captures.name("s").unwrap_or(whole);
                let span = Span::new(secret.start(), secret.end());
                if !bounded(text, whole.start(), whole.end()) {
                    continue;
                }
                if let Some(candidate) = self.validate(text, rule, span) {
                    out.push(candidate);
                }
            }
        }
    }

    /// Applies a rule's check to a match of its shape.
    fn validate(&self, text: &str, rule: &RuleDef, span: Span) -> Option<Candidate> {
        let secret = text.get(span.start..span.end)?;
        let body = rule
            .keywords
            .iter()
            .find_map(|keyword| secret.strip_prefix(keyword))
            .unwrap_or(secret);
        let random = !value::is_placeholder(body, &self.stop_words)
            && entropy(body) >= min_body_entropy(body.len());
        let found = |note: &'static str, severity: Severity, score: f32| {
            Candidate::provider(rule.id, rule.what, note, span, severity, score)
        };
        let classes = Classes::of(body);
        match rule.check {
            Check::Random => random.then(|| found("", rule.severity, rule.score)),
            Check::MixedCase => (random && classes.lower > 0 && classes.upper > 0)
                .then(|| found("", rule.severity, rule.score)),
            Check::LettersAndDigits => (random && classes.letters() > 0 && classes.digit > 0)
                .then(|| found("", rule.severity, rule.score)),
            Check::GithubChecksum | Check::NpmChecksum => {
                let (random_part, checksum) = (secret.get(4..34)?, secret.get(34..40)?);
                if base62_crc32_matches(random_part, checksum) {
                    Some(found(" (checksum valid)", rule.severity, 0.99))
                } else if random && self.report_invalid_checksums {
                    Some(found(
                        " (checksum does not match: a sample, typo or truncation)",
                        Severity::Medium,
                        0.6,
                    ))
                } else {
                    None
                }
            }
            Check::Lenient => (!value::has_placeholder_fragment(body, &self.stop_words)
                && entropy(body) >= min_body_entropy(body.len()))
            .then(|| found("", rule.severity, rule.score)),
            Check::Base64Pem => {
                // The armour line is in the first ~45 decoded bytes: 60 characters of base64.
                let head = secret.get(..secret.len().min(60))?;
                let decoded = value::decode_base64(&head[..head.len() - head.len() % 4])?;
                memchr::memmem::find(&decoded, b"PRIVATE KEY")
                    .map(|_| found("", rule.severity, rule.score))
            }
            Check::AzureSas => {
                let from = floor_boundary(text, span.start.saturating_sub(512));
                let query = text.get(from..span.start)?;
                let sas = query.contains("sv=")
                    && (query.contains("se=") || query.contains("sp=") || query.contains("sr="));
                (sas && random).then(|| found("", rule.severity, rule.score))
            }
        }
    }
}

/// Whether a match stands alone: not glued to letters or digits on either side.
fn bounded(text: &str, start: usize, end: usize) -> bool {
    let bytes = text.as_bytes();
    let before = start
        .checked_sub(1)
        .and_then(|i| bytes.get(i))
        .is_some_and(|b| b.is_ascii_alphanumeric());
    let after = bytes
        .get(end)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
    !before && !after
}

/// How close an AWS secret access key must be to its key id to be reported with it as one
/// credential (the two lines of a credentials file or an env block).
const AWS_PAIR_GAP: usize = 200;

/// An AWS access key id with its secret access key nearby is one, more certain, finding:
/// the pair is a working credential. An id alone is still reported.
fn pair_aws_keys(text: &str, out: &mut Vec<Candidate>) {
    let mut extra = Vec::new();
    for candidate in out.iter_mut().filter(|c| c.rule == "aws_access_key") {
        let Some(secret) = structured::aws_secret_near(text, candidate.span, 2 * AWS_PAIR_GAP)
        else {
            continue;
        };
        let gap = if secret.start >= candidate.span.end {
            secret.start - candidate.span.end
        } else {
            candidate.span.start - secret.end
        };
        candidate.severity = Severity::Critical;
        if gap <= AWS_PAIR_GAP {
            candidate.span = Span::new(
                candidate.span.start.min(secret.start),
                candidate.span.end.max(secret.end),
            );
            candidate.score = 0.97;
            candidate.what = "AWS access key id with its secret access key";
        } else {
            candidate.score = 0.95;
            extra.push(Candidate::provider(
                "aws_secret_access_key",
                "AWS secret access key",
                " (near an access key id)",
                secret,
                Severity::Critical,
                0.9,
            ));
        }
    }
    out.extend(extra);
}

/// Keeps, among overlapping candidates, the most specific: format matches before generic
/// assignments, then the higher score, then the longer span.
fn resolve_overlaps(mut candidates: Vec<Candidate>) -> Vec<Candidate> {
    candidates.sort_by(|a, b| {
        a.generic
            .cmp(&b.generic)
            .then(b.score.total_cmp(&a.score))
            .then(b.span.len().cmp(&a.span.len()))
            .then(a.span.start.cmp(&b.span.start))
    });
    let mut taken: BTreeMap<usize, usize> = BTreeMap::new();
    let mut kept = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        let span = candidate.span;
        if span.is_empty() {
            continue;
        }
        let overlaps = taken
            .range(..span.end)
            .next_back()
            .is_some_and(|(_, &end)| end > span.start);
        if !overlaps {
            taken.insert(span.start, span.end);
            kept.push(candidate);
        }
    }
    kept.sort_by_key(|candidate| candidate.span);
    kept
}

impl Detector for SecretsDetector {
    fn id(&self) -> &'static str {
        "secrets"
    }

    fn detect(&self, input: &Input<'_>, findings: &mut Vec<Finding>) {
        let text = input.text();
        if text.is_empty() {
            return;
        }
        for candidate in resolve_overlaps(self.candidates(text)) {
            let Some(value) = text.get(candidate.span.start..candidate.span.end) else {
                continue;
            };
            findings.push(Finding {
                detector: "secrets".to_owned(),
                rule: candidate.rule.to_owned(),
                category: Category::Secret,
                severity: candidate.severity,
                score: candidate.score,
                span: candidate.span,
                excerpt: mask_secret(value),
                message: format!("{}{}", candidate.what, candidate.note),
                via: Vec::new(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use airlock_core::EventKind;

    use super::*;
    use crate::detector::ScanContext;

    fn detector() -> SecretsDetector {
        SecretsDetector::new(SecretsOptions::default()).expect("defaults are valid")
    }

    /// Findings of the secrets detector alone on `text`.
    fn scan(text: &str) -> Vec<Finding> {
        let detector = detector();
        let mut findings = Vec::new();
        let input = Input::new(
            text,
            ScanContext::of_kind(EventKind::ToolResult),
            0,
            &NoRescan,
        );
        detector.detect(&input, &mut findings);
        findings
    }

    struct NoRescan;

    impl crate::detector::Rescan for NoRescan {
        fn rescan(&self, _: &str, _: ScanContext, _: usize) -> Vec<Finding> {
            Vec::new()
        }
        fn max_depth(&self) -> usize {
            0
        }
    }

    fn data_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
    }

    /// `(text, label, source rule)` records of one split of a JSONL file.
    fn records(file: &str, split: &str) -> Option<Vec<(String, u8, String)>> {
        let data = std::fs::read_to_string(data_dir().join(file)).ok()?;
        Some(
            data.lines()
                .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
                .filter(|record| record["split"] == split)
                .map(|record| {
                    (
                        record["text"].as_str().unwrap_or_default().to_owned(),
                        u8::try_from(record["label"].as_u64().unwrap_or(0)).unwrap_or(0),
                        record["rule"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect(),
        )
    }

    /// Precision and recall on the secrets data of `split`, with every benign record of the
    /// injection data of the same split added as negatives. `None` without the data.
    fn quality(split: &str, verbose: bool) -> Option<(f64, f64)> {
        let secrets = records("secrets_gitleaks.jsonl", split)?;
        let benign = records("injection.jsonl", split)?
            .into_iter()
            .filter(|(_, label, _)| *label == 0);
        let detector = detector();
        let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
        for (text, label, rule) in secrets.into_iter().chain(benign) {
            let mut findings = Vec::new();
            let input = Input::new(
                &text,
                ScanContext::of_kind(EventKind::ToolResult),
                0,
                &NoRescan,
            );
            detector.detect(&input, &mut findings);
            let predicted = findings.iter().any(|f| f.category == Category::Secret);
            match (label == 1, predicted) {
                (true, true) => tp += 1,
                (false, true) => {
                    fp += 1;
                    if verbose {
                        let rules: Vec<String> = findings
                            .iter()
                            .map(|f| format!("{}@{}..{}", f.rule, f.span.start, f.span.end))
                            .collect();
                        println!(
                            "FP [{rule}] {rules:?} {:?}",
                            text.chars().take(200).collect::<String>()
                        );
                    }
                }
                (true, false) => {
                    fn_ += 1;
                    if verbose {
                        println!(
                            "FN [{rule}] {:?}",
                            text.chars().take(200).collect::<String>()
                        );
                    }
                }
                (false, false) => {}
            }
        }
        let precision = tp as f64 / (tp + fp).max(1) as f64;
        let recall = tp as f64 / (tp + fn_).max(1) as f64;
        if verbose {
            println!(
                "{split}: tp {tp} fp {fp} fn {fn_} precision {precision:.4} recall {recall:.4}"
            );
        }
        Some((precision, recall))
    }

    #[test]
    #[ignore = "tuning aid: prints every miss and false alarm on the dev split"]
    fn print_dev_errors() {
        quality("dev", true);
    }

    #[test]
    #[ignore = "tuning aid: prints every miss and false alarm on the train split"]
    fn print_train_errors() {
        quality("train", true);
    }

    /// Findings with their rule and the text they cover.
    fn found(text: &str) -> Vec<(String, String)> {
        scan(text)
            .into_iter()
            .map(|f| (f.rule, text[f.span.start..f.span.end].to_owned()))
            .collect()
    }

    fn assert_finds(text: &str, rule: &str, value: &str) {
        let findings = found(text);
        assert!(
            findings.iter().any(|(r, v)| r == rule && v == value),
            "expected {rule} covering {value:?} in {text:?}, got {findings:?}"
        );
    }

    fn assert_clean(text: &str) {
        let findings = found(text);
        assert!(
            findings.is_empty(),
            "expected nothing in {text:?}, got {findings:?}"
        );
    }

    fn only_finding(text: &str) -> Finding {
        let mut findings = scan(text);
        assert_eq!(findings.len(), 1, "{text:?}: {findings:?}");
        findings.remove(0)
    }

    // Synthetic credentials, generated for these tests: they match the formats and are not
    // anyone's keys.
    const AWS_ID: &str = "AKIAQ3EGUWV7RSTZ4XKM";
    const AWS_SECRET: &str = "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";
    const GITHUB_VALID: &str = "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";
    const GITHUB_BAD_CHECKSUM: &str = "ghp_Ky9Pf34qY6Nb3wWD25RQ4F5ZR3qa7y3gm1IM";
    const NPM_VALID: &str = "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";
    const PEM_BODY: &str = "mb6UKUFqcJPw93iNt5gnBdvRtebGkYZZ/tlqpefWWZMjS2wQCUyxIeiYo9yq2PuR\n\
                            7hTrTNWTuah+TCVOf/6tMu0r3SmwXYvSQZj0XZJ43A35VpYlQwV+gqSogkIiajXv\n\
                            X4TtFSRKrg0HRpNdPtvsqQDqXeRZlsGuJXbKsVb9twtDvWN4PtbJBlSXprd2TbYp";
    const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMDQyIiwicm9sZSI6ImFkbWluIn0.x3YJ-UdQNhi3litGguHFIeZdCqdOYPNMLVZAJcDt1wl";

    // --- Cloud ---------------------------------------------------------------------------

    #[test]
    fn flags_aws_access_key_id_alone() {
        let finding = only_finding(&format!("aws_access_key_id = {AWS_ID}"));
        assert_eq!(finding.rule, "aws_access_key");
        assert_eq!(finding.severity, Severity::High);
        assert_eq!(finding.excerpt, "AKIA********");
    }

    #[test]
    fn ignores_aws_documentation_example_key() {
        assert_clean("aws_access_key_id = AKIAIOSFODNN7EXAMPLE");
        assert_clean("key = AKIAXXXXXXXXXXXXXXXX");
    }

    #[test]
    fn flags_aws_key_pair_as_one_critical_finding() {
        let text = format!(
            "[default]\naws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}\n"
        );
        let finding = only_finding(&text);
        assert_eq!(finding.rule, "aws_access_key");
        assert_eq!(finding.severity, Severity::Critical);
        assert!(finding.score > 0.95);
        let covered = &text[finding.span.start..finding.span.end];
        assert!(
            covered.starts_with(AWS_ID) && covered.ends_with(AWS_SECRET),
            "{covered}"
        );
    }

    #[test]
    fn aws_key_id_next_to_a_hex_hash_is_not_a_pair() {
        let text = format!("{AWS_ID} 39fba0916abb3b9ccbbf33b4d46db59b41cbd2c0");
        let finding = only_finding(&text);
        assert_eq!(finding.severity, Severity::High);
        assert_eq!(&text[finding.span.start..finding.span.end], AWS_ID);
    }

    #[test]
    fn flags_aws_secret_assigned_by_name() {
        assert_finds(
            &format!("AWS_SECRET_ACCESS_KEY={AWS_SECRET}"),
            "aws_secret_access_key",
            AWS_SECRET,
        );
    }

    #[test]
    fn flags_gcp_api_key_and_ignores_filler() {
        let key = "AIzaSyC8vR2mQ4tW7xN1bK9pL3dF6hJ0gZ5sYeU";
        assert_finds(&format!("const firebaseKey = '{key}';"), "gcp_api_key", key);
        assert_clean("apiKey: \"AIzaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"");
    }

    #[test]
    fn flags_gcp_service_account_json() {
        let json = format!(
            "{{\"type\": \"service_account\", \"project_id\": \"acme\",\n \"private_key\": \
             \"-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n\",\n \
             \"client_email\": \"bot@acme.iam.gserviceaccount.com\"}}",
            PEM_BODY.replace('\n', "\\n")
        );
        let finding = only_finding(&json);
        assert_eq!(finding.rule, "gcp_service_account");
        assert_eq!(finding.severity, Severity::Critical);
    }

    #[test]
    fn service_account_type_alone_is_not_a_key() {
        assert_clean(
            "{\"type\": \"service_account\", \"client_email\": \"bot@acme.iam.gserviceaccount.com\"}",
        );
    }

    #[test]
    fn flags_azure_storage_connection_string_key() {
        let key = "p618HE2Oz3WjT1LRgqGqNjVHf0A7g8HNAlIrCRZg1LsKnGO3ciADW18zOl2DFJX1+XwtiQW0GRBxXGxDXs7P+l==";
        let text = format!(
            "DefaultEndpointsProtocol=https;AccountName=acmestore;AccountKey={key};EndpointSuffix=core.windows.net"
        );
        let finding = only_finding(&text);
        assert_eq!(finding.rule, "azure_storage_key");
        assert_eq!(finding.severity, Severity::Critical);
        assert_eq!(&text[finding.span.start..finding.span.end], key);
    }

    #[test]
    fn ignores_azure_connection_string_template() {
        assert_clean(
            "DefaultEndpointsProtocol=https;AccountName=<account>;AccountKey=<your-account-key>;EndpointSuffix=core.windows.net",
        );
    }

    #[test]
    fn flags_azure_sas_signature_only_inside_a_sas_query() {
        let sig = "ATbOOy8kpDtYLQmVOhs4wTmeCmuoxXKMCV6uPdvF2wY%3D";
        assert_finds(
            &format!(
                "https://acme.blob.core.windows.net/c/f.txt?sv=2022-11-02&sp=r&se=2025-01-01T00:00:00Z&sig={sig}"
            ),
            "azure_sas_token",
            sig,
        );
        assert_clean(&format!(
            "https://example.org/download?file=a.txt&sig={sig}"
        ));
    }

    #[test]
    fn flags_azure_ad_client_secret() {
        let secret = "Xy78Q~UZzhYIR4M7obeJ_rflk.6kA7USUrsXc~o8";
        assert_finds(
            &format!("AZURE_CLIENT_SECRET={secret}"),
            "azure_ad_client_secret",
            secret,
        );
        assert_clean("client_secret=bP88Q~xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    }

    // --- Source control and registries ---------------------------------------------------

    #[test]
    fn github_token_with_valid_checksum_is_certain() {
        let finding = only_finding(&format!("export GITHUB_TOKEN={GITHUB_VALID}"));
        assert_eq!(finding.rule, "github_pat");
        assert_eq!(finding.severity, Severity::High);
        assert!(finding.score >= 0.99, "{}", finding.score);
        assert!(finding.message.contains("checksum valid"));
    }

    #[test]
    fn github_token_failing_checksum_is_reported_at_low_confidence() {
        let finding = only_finding(&format!("token: {GITHUB_BAD_CHECKSUM}"));
        assert_eq!(finding.rule, "github_pat");
        assert_eq!(finding.severity, Severity::Medium);
        assert!(finding.score <= 0.6, "{}", finding.score);
    }

    #[test]
    fn github_token_failing_checksum_can_be_dropped() {
        let detector = SecretsDetector::new(SecretsOptions {
            report_invalid_checksums: false,
            ..SecretsOptions::default()
        })
        .unwrap();
        let text = format!("see {GITHUB_BAD_CHECKSUM} and {GITHUB_VALID}");
        let mut findings = Vec::new();
        let input = Input::new(
            &text,
            ScanContext::of_kind(EventKind::ToolResult),
            0,
            &NoRescan,
        );
        detector.detect(&input, &mut findings);
        assert_eq!(findings.len(), 1);
        assert_eq!(
            &text[findings[0].span.start..findings[0].span.end],
            GITHUB_VALID
        );
    }

    #[test]
    fn ignores_github_token_placeholders() {
        assert_clean("GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        assert_clean("use a token like ghp_... from your settings");
    }

    #[test]
    fn flags_github_fine_grained_and_oauth_tokens() {
        let fine = "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";
        assert_finds(
            &format!("pat = \"{fine}\""),
            "github_fine_grained_pat",
            fine,
        );
        let oauth = "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";
        assert_finds(oauth, "github_oauth_token", oauth);
    }

    #[test]
    fn flags_gitlab_token_and_ignores_its_placeholder() {
        let token = "glpat-VEq8tR2tm6MVTtfZ6F4u";
        assert_finds(&format!("GITLAB_TOKEN: {token}"), "gitlab_pat", token);
        assert_clean("GITLAB_TOKEN: glpat-XXXXXXXXXXX-XXXXXXXX");
    }

    #[test]
    fn flags_npm_token_with_checksum_and_pypi_token() {
        let finding = only_finding(&format!("//registry.npmjs.org/:_authToken={NPM_VALID}"));
        assert_eq!(finding.rule, "npm_token");
        assert!(finding.score >= 0.99);
        let pypi =
            "pypi-AgEIcHlwaS5vcmc6TVaNFHH-mISnmzT2KcxX8trJintjig_IaEkGqAQwe71NwaAV04N7bRJRx_4";
        assert_finds(&format!("password = {pypi}"), "pypi_token", pypi);
    }

    #[test]
    fn ignores_npm_and_pypi_mentions_without_tokens() {
        assert_clean(
            "run npm_config_cache=/tmp npm install; upload with pypi-token from the vault",
        );
    }

    // --- Chat -----------------------------------------------------------------------------

    #[test]
    fn flags_slack_bot_token_and_webhook() {
        let bot = "xoxb-2847361950-7392018465-G70O2L2ld3sYXCuJX8gkbipM";
        assert_finds(&format!("SLACK_BOT_TOKEN={bot}"), "slack_bot_token", bot);
        let hook = "https://hooks.slack.com/services/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";
        assert_finds(
            &format!("curl -X POST {hook} -d @msg.json"),
            "slack_webhook_url",
            hook,
        );
    }

    #[test]
    fn ignores_slack_token_placeholders() {
        assert_clean("SLACK_BOT_TOKEN=xoxb-your-bot-token-here");
        assert_clean("xoxb-12345-abcd234 and xoxb-xxxxxxxxx-xxxxxxxxxx-xxxxxxxxxxxx");
    }

    #[test]
    fn flags_discord_bot_token_by_its_decoded_id() {
        let token = "NDAxMjgzOTQ3NTYyMzEwNTk4.J59cLc._vKc1CxE3WPF5TMR97GKIxc2fPWM2X8vIyMt8j";
        assert_finds(
            &format!("client.run('{token}')"),
            "discord_bot_token",
            token,
        );
    }

    #[test]
    fn dotted_words_are_not_discord_tokens() {
        assert_clean(
            "See docs.example.org/releases.Changes and ThisIsNotAnIdAtAllReally.abcdef.ghijklmnopqrstuvwxyzABCDEFGHIJK",
        );
    }

    #[test]
    fn flags_facebook_app_token_but_not_table_cells() {
        let token = "1477036645700765|wRPf2v3mt2JfMqCLK8n7oltrEmc";
        assert_finds(&format!("fb = '{token}'"), "facebook_app_token", token);
        assert_clean(
            "| 1477036645700765 | wRPf2v3mt2JfMqCLK8n7oltrEmc |\n| id | 123456789012345|name |",
        );
    }

    #[test]
    fn flags_discord_webhook() {
        let hook = "https://discord.com/api/webhooks/1120483957261048392/BEQMx5VYDVobbZpoJ-OfgYGlBPGwWLTSnLw0n3EWtBKEFE_h_rjq5tqnOO9JT1EOg5Ey";
        assert_finds(hook, "discord_webhook_url", hook);
        assert_clean("POST https://discord.com/api/webhooks/{webhook.id}/{webhook.token}");
    }

    // --- Payments ---------------------------------------------------------------------

    #[test]
    fn stripe_live_key_is_high_and_test_key_low() {
        let live = only_finding("STRIPE_KEY=sk_live_s6crgGuWFoB1NnklR5ryOWMJ");
        assert_eq!(
            (live.rule.as_str(), live.severity),
            ("stripe_secret_key", Severity::High)
        );
        let test = only_finding("STRIPE_KEY=sk_test_s6crgGuWFoB1NnklR5ryOWMJ");
        assert_eq!(
            (test.rule.as_str(), test.severity),
            ("stripe_test_secret_key", Severity::Low)
        );
    }

    #[test]
    fn ignores_stripe_publishable_key() {
        assert_clean("const stripe = Stripe('pk_live_s6crgGuWFoB1NnklR5ryOWMJ');");
    }

    // --- AI providers -------------------------------------------------------------------

    #[test]
    fn flags_openai_anthropic_and_hugging_face_keys() {
        let openai = "sk-proj-y7fz5zxGO6zO4tY6MlruT3BlbkFJEDO8gU2doXbgumw3uOeh";
        assert_finds(
            &format!("OPENAI_API_KEY={openai}"),
            "openai_api_key",
            openai,
        );
        let anthropic = "sk-ant-api03-QD1OjlXPlNRhPDW5co6Ny4yImuWQ9rXxApsUQ1wU1p8jhVkBkFTTeLr_5ZhOczI036TNh18Goar99lMLLDUtKdWqOEcWZAA";
        assert_finds(
            &format!("client = Anthropic(api_key=\"{anthropic}\")"),
            "anthropic_api_key",
            anthropic,
        );
        let hf = "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";
        assert_finds(
            &format!("huggingface-cli login --token {hf}"),
            "huggingface_token",
            hf,
        );
    }

    #[test]
    fn ignores_ai_key_lookalikes() {
        assert_clean("OPENAI_API_KEY=sk-...your key...");
        assert_clean("- (id)hf_requiredCharacteristicTypesForDisplayMetadata;");
        assert_clean(
            "anthropic key: sk-ant-api03-abc123xyz-456de-klMnopqrstuvwx-3456yza789bcde-1234fghijklmnopAA",
        );
    }

    // --- Private keys -------------------------------------------------------------------

    #[test]
    fn flags_pem_private_key_as_one_critical_block() {
        let block =
            format!("-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----");
        let text = format!("key file:\n{block}\ndone");
        let finding = only_finding(&text);
        assert_eq!(finding.rule, "private_key");
        assert_eq!(finding.severity, Severity::Critical);
        assert_eq!(&text[finding.span.start..finding.span.end], block);
        assert!(!finding.excerpt.contains("MII") && !finding.message.contains(PEM_BODY));
    }

    #[test]
    fn flags_openssh_and_json_escaped_private_keys() {
        let ssh = format!(
            "-----BEGIN OPENSSH PRIVATE KEY-----\n{PEM_BODY}\n-----END OPENSSH PRIVATE KEY-----"
        );
        assert_eq!(only_finding(&ssh).rule, "private_key");
        let escaped = format!(
            "{{\"key\": \"-----BEGIN EC PRIVATE KEY-----\\n{}\\n-----END EC PRIVATE KEY-----\\n\"}}",
            PEM_BODY.replace('\n', "\\n")
        );
        assert_eq!(only_finding(&escaped).rule, "private_key");
    }

    #[test]
    fn flags_base64_encoded_private_key_but_not_certificate() {
        let pem =
            format!("-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----\n");
        let encoded = base64_standard(pem.as_bytes());
        assert_finds(
            &format!("    client-key-data: {encoded}\n"),
            "private_key",
            &encoded,
        );
        let cert = base64_standard(
            format!("-----BEGIN CERTIFICATE-----\n{PEM_BODY}\n-----END CERTIFICATE-----\n")
                .as_bytes(),
        );
        assert_clean(&format!("    client-certificate-data: {cert}\n"));
    }

    fn base64_standard(bytes: &[u8]) -> String {
        data_encoding::BASE64.encode(bytes)
    }

    #[test]
    fn ignores_public_keys_and_elided_private_keys() {
        assert_clean(&format!(
            "-----BEGIN PUBLIC KEY-----\n{PEM_BODY}\n-----END PUBLIC KEY-----"
        ));
        assert_clean("-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----");
        assert_clean("-----BEGIN OPENSSH PRIVATE KEY----------END OPENSSH PRIVATE KEY-----");
    }

    #[test]
    fn truncated_private_key_is_still_reported() {
        let text = format!("-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n{PEM_BODY}\n");
        let finding = only_finding(&text);
        assert_eq!(finding.rule, "private_key");
        assert!(finding.message.contains("truncated"));
    }

    // --- JWTs ---------------------------------------------------------------------------

    #[test]
    fn flags_jwt_whose_header_names_an_algorithm() {
        let finding = only_finding(&format!("Authorization: Bearer {JWT}"));
        assert_eq!(finding.rule, "jwt");
        assert!(finding.score >= 0.9);
    }

    #[test]
    fn ignores_dotted_base64_that_is_not_a_jwt() {
        // `eyJ` starts base64 of `{"`, but this header decodes to a JSON object without "alg".
        assert_clean("eyJmb28iOiJiYXIifQ.eyJzdWIiOiIxMDQyIn0.x3YJ-UdQNhi3litGguHFIeZdCqdOY");
        assert_clean("data: eyJmb28iOiJiYXIifQ==");
    }

    // --- Connection strings ---------------------------------------------------------------

    #[test]
    fn flags_password_in_database_url_covering_only_the_password() {
        assert_finds(
            "DATABASE_URL=postgres://app:Vq8mZ2pL9xwK@db.internal:5432/prod",
            "url_password",
            "Vq8mZ2pL9xwK",
        );
        assert_finds(
            "redis://:n7Gx2Lq9Wz4Rp8Tk@cache:6379/0",
            "url_password",
            "n7Gx2Lq9Wz4Rp8Tk",
        );
        assert_finds(
            "amqp://svc:Qx7Lw2Zp9Nd4@mq.internal/",
            "url_password",
            "Qx7Lw2Zp9Nd4",
        );
    }

    #[test]
    fn ignores_placeholder_passwords_in_urls() {
        assert_clean("postgres://user:password@localhost:5432/db");
        assert_clean("redis://:${REDIS_PASSWORD}@cache:6379");
        assert_clean("mongodb://admin:changeme@mongo:27017");
        assert_clean("amqp://guest:guest@localhost:5672/");
        assert_clean(
            "https://user:<password>@git.example.com/repo.git and https://host.example.com:8443/path",
        );
    }

    #[test]
    fn flags_password_passed_to_curl() {
        assert_finds(
            "curl -u deploy:Xk29vLq8Tz4W https://api.internal/v1",
            "basic_auth",
            "Xk29vLq8Tz4W",
        );
        assert_clean(
            "curl -u \"$USER:$PASS\" https://api.internal/v1 && curl --user user:pass https://x",
        );
    }

    // --- Generic assignments ---------------------------------------------------------------

    #[test]
    fn flags_generic_assignments_covering_only_the_value() {
        assert_finds("password = \"Tr0ub4dor&3x\"", "password", "Tr0ub4dor&3x");
        assert_finds(
            "{\"client_secret\": \"OXo4jjbE44NnpEpa8TrP\"}",
            "generic_secret",
            "OXo4jjbE44NnpEpa8TrP",
        );
        assert_finds(
            "API_TOKEN=iGUmoM9ZbrIWG31irGIu3wtpCHZbvVBy\n",
            "generic_secret",
            "iGUmoM9ZbrIWG31irGIu3wtpCHZbvVBy",
        );
        assert_finds("db:\n  password: Xk29!vLq8Tz\n", "password", "Xk29!vLq8Tz");
        assert_finds(
            "GET /v1/items?page=2&access_token=iGUmoM9ZbrIWG31irGIu3wtpCHZbvVBy&sort=asc",
            "generic_secret",
            "iGUmoM9ZbrIWG31irGIu3wtpCHZbvVBy",
        );
        assert_finds(
            "headers = {\"Authorization\": \"Bearer te9gJLN6OOJBhOAW4Q7hDljnzc6IV1XR\"}",
            "bearer_token",
            "te9gJLN6OOJBhOAW4Q7hDljnzc6IV1XR",
        );
        assert_finds(
            "api_key: str = \"iGUmoM9ZbrIWG31irGIu3wtpCHZbvVBy\"",
            "generic_secret",
            "iGUmoM9ZbrIWG31irGIu3wtpCHZbvVBy",
        );
    }

    #[test]
    fn names_prefixless_provider_keys_by_their_variable() {
        assert_finds(
            "DD_API_KEY=aee4769951d2e1ebfafe933e3c267131",
            "datadog_api_key",
            "aee4769951d2e1ebfafe933e3c267131",
        );
        assert_finds(
            "okta_api_token: \"00kmYqOGe2ifyVQyTi7flbqWgVtdXm7fW3M65d0\"",
            "okta_api_token",
            "00kmYqOGe2ifyVQyTi7flbqWgVtdXm7fW3M65d0",
        );
        assert_clean("DD_API_KEY=${DATADOG_API_KEY}\nokta_api_token: <token>");
    }

    #[test]
    fn flags_passwords_in_prose_xml_and_netrc() {
        assert_finds(
            "For staging the password is Xk29!vLq8Tz, rotate it.",
            "password",
            "Xk29!vLq8Tz",
        );
        assert_finds(
            "<password>Xk29!vLq8Tz</password>",
            "password",
            "Xk29!vLq8Tz",
        );
        assert_finds(
            "machine api.example.net login deploy password Xk29vLq8Tz4W\n",
            "password",
            "Xk29vLq8Tz4W",
        );
        assert_finds(
            "secret_key_base: iGUmoM9ZbrIWG31irGIu3wtpCHZbvVBy",
            "generic_secret",
            "iGUmoM9ZbrIWG31irGIu3wtpCHZbvVBy",
        );
    }

    #[test]
    fn words_before_a_key_in_prose_qualify_it() {
        assert_finds(
            &format!("Here is the AWS secret key: {AWS_SECRET}"),
            "aws_secret_access_key",
            AWS_SECRET,
        );
        assert_finds(
            "my api key is iGUmoM9ZbrIWG31irGIu3wtpCHZbvVBy",
            "generic_secret",
            "iGUmoM9ZbrIWG31irGIu3wtpCHZbvVBy",
        );
        assert_clean(
            "Next page token: eav1OzQB0OM8rLdGXOEsyQWSG and the public key: iGUmoM9ZbrIWG31irGIu3wtpCHZbvVBy",
        );
    }

    #[test]
    fn prose_about_passwords_is_not_a_password() {
        assert_clean("The password is required. Your token is invalid and the key is missing.");
        assert_clean("The key is 5d41402abc4b2a76b9719d911017c592 in the cache table.");
    }

    #[test]
    fn ignores_placeholder_password_changeme() {
        assert_clean("password = \"changeme\"");
        assert_clean("api_key = \"<your-key-here>\"");
        assert_clean("token = ${SECRET}");
        assert_clean("secret: xxxxxxxx");
        assert_clean("api_key=\"example-key-1234\"\npassword: dummy-password\npassword: test1234");
        assert_clean("\"password\": \"********\", \"token\": \"YOUR_API_TOKEN_HERE\"");
    }

    #[test]
    fn ignores_code_that_reads_a_secret() {
        assert_clean(
            "password = os.environ[\"DB_PASSWORD\"]\ntoken = get_token()\nsecret = self.secret",
        );
        assert_clean("const apiKey = process.env.API_KEY;\nlet token = req.headers.authorization;");
        assert_clean("if password == \"hunter2hunter2\": pass");
        assert_clean("pub key: btrfs_ioctl_search_key,\ntype Token: core::fmt::Debug;");
    }

    #[test]
    fn ignores_hashes_ids_and_lockfile_entries() {
        assert_clean(concat!(
            "\"resolved\": \"https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz\",\n",
            "\"integrity\": \"sha512-j2+amCKdixwnyDnsuRgzFCA74aPVTcJng7J7k6reqMDHAh+9DrE9HlHgARO1oabH7/L0hv9YM2I/YUZtdscZNw==\",\n",
            "commit: 39fba0916abb3b9ccbbf33b4d46db59b41cbd2c0\n",
            "image: nginx@sha256:aee4769951d2e1ebfafe933e3c267131a07cc7ed8819f90f359db037df1986e0\n",
            "checksum = \"aee4769951d2e1ebfafe933e3c267131a07cc7ed8819f90f359db037df1986e0\"\n",
            "request_id: 3b551023-03b9-44f5-924a-e89ebffb0fe8\n",
            "\"clientRequestToken\": \"1d2129a1-3d38-460a-9756-e5b91fddb951\"\n",
        ));
    }

    #[test]
    fn ignores_prose_about_credentials() {
        assert_clean(
            "Password: must be at least 8 characters. Your API key is shown once; store the \
             token in a secret manager. The key to success is practice. max_tokens = 4096, \
             token_type: bearer, public_key: ssh-ed25519.",
        );
    }

    #[test]
    fn generic_rule_can_be_turned_off_and_extended() {
        let text = "password = \"Tr0ub4dor&3x\"";
        let off = SecretsDetector::new(SecretsOptions {
            generic: false,
            ..SecretsOptions::default()
        })
        .unwrap();
        let mut findings = Vec::new();
        off.detect(
            &Input::new(text, ScanContext::of_kind(EventKind::Prompt), 0, &NoRescan),
            &mut findings,
        );
        assert!(findings.is_empty());
        let stop = SecretsDetector::new(SecretsOptions {
            stop_words: vec!["tr0ub4dor".to_owned()],
            ..SecretsOptions::default()
        })
        .unwrap();
        stop.detect(
            &Input::new(text, ScanContext::of_kind(EventKind::Prompt), 0, &NoRescan),
            &mut findings,
        );
        assert!(findings.is_empty());
        assert_eq!(found(text).len(), 1);
    }

    #[test]
    fn options_reject_unknown_keys_and_bad_entropy() {
        let options = |json: &str| -> Options { serde_json::from_str(json).unwrap() };
        let err = (SPEC.build)(&options(r#"{"min_entropi": 3.0}"#)).unwrap_err();
        assert!(
            err[0].message.contains("unknown field `min_entropi`"),
            "{err:?}"
        );
        let err = (SPEC.build)(&options(r#"{"min_entropy": 12.0}"#)).unwrap_err();
        assert!(err[0].path.ends_with("min_entropy"), "{err:?}");
        assert!((SPEC.build)(&options(r#"{"generic": false, "stop_words": ["acme"]}"#)).is_ok());
    }

    // --- Cross-cutting ------------------------------------------------------------------

    #[test]
    fn provider_formats_are_recognised() {
        let cases = [
            (
                "sendgrid_api_key",
                "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",
            ),
            ("twilio_api_key", "SK4220df1a667c9846287e107ed63c02d0"),
            ("mailgun_api_key", "key-60feb38c51fdf43f45c44880351149f7"),
            (
                "shopify_access_token",
                "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",
            ),
            (
                "digitalocean_pat",
                "dop_v1_559e045741b35375909385737dfc81a3bb906997415388d068cd33634b2a9a78",
            ),
            ("databricks_token", "dapi8ba41adea5736952616bbfa8153d23e5"),
            (
                "doppler_token",
                "dp.pt.ts5k338b8yu9j5tcyhpx0yzlfei8cyulvg4ikna9ba6",
            ),
            (
                "linear_api_key",
                "lin_api_oy0sbpvouaxuki7bifbll16g243j4awk0tc0i5fy",
            ),
            (
                "postman_api_key",
                "PMAK-5c27e3022adaf842c7001829-f3d02ae92ae3ac01e93fc8d4291943dc57",
            ),
            (
                "telegram_bot_token",
                "5938472610:AAHk3Qz9Lw2Xp7Rt4Vb8Nm1Cd6Fg0Js5YeU",
            ),
            ("new_relic_user_api_key", "NRAK-P4BHWR6P7BFJRQKIC6LRBZK2MRC"),
            (
                "sentry_user_token",
                "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",
            ),
            ("square_access_token", "sq0atp-cWjx8W_t-3MhRV9CO1FOAX"),
            (
                "grafana_service_account_token",
                "glsa_wl6zl96um4y872cls9qkw94nmccbhy16_86547dc5",
            ),
            (
                "pulumi_access_token",
                "pul-1a9203c98be483dbace8a5a516986a267e94d2e9",
            ),
            (
                "vault_token",
                "hvs.CAESIP2jTxc9S2K7Z6CtcFWQv7-044m_oSsxnPE1H3nF89l3GiYKHGh2cy5sQmlIZVNyTWJNcDRsYWJpQjlhYjVlb1cQh6PL8wEYAg",
            ),
            (
                "atlassian_api_token",
                "ATATT3xFfGF0K3irG5tKKi-6u-wwaXQFeGwZ-IHR-hQ3CulkKtMSuteRQFfLZ6jihHThzZCg_UjnDt-4Wl_gIRf4zrZJs5JqaeuBhsfJ4W5GD6yGg3W7903gbvaxZPBjxIQQ7BgFDSkPS8oPispw4KLz56mdK-G6CIvLO6hHRrZHY0Q3tvJ6JxE=C63992E6",
            ),
            (
                "age_secret_key",
                "AGE-SECRET-KEY-10GH7YQ7SWV77EFWFCQY2ZNP37CMEUGHXZGLDSMN6CK6W4P325XD3J8Y779",
            ),
        ];
        for (rule, token) in cases {
            assert_finds(&format!("value: {token}\n"), rule, token);
        }
    }

    #[test]
    fn provider_prefixes_without_random_bodies_are_ignored() {
        assert_clean(concat!(
            "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx SG.xxxxxxxxxxxxxxxxxxxxxx.yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy ",
            "dop_v1_0000000000000000000000000000000000000000000000000000000000000000 ",
            "sntryu_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ",
            "hvs.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx ",
            "task_test_yav1wphtn8 sha256~XXXXXXXXXX_PUT_YOUR_TOKEN_HERE_XXXXXXXXXXXX",
        ));
    }

    #[test]
    fn redaction_replaces_only_the_value() {
        let text = "db_password = \"Tr0ub4dor&3x\" # rotate monthly";
        let redacted = crate::redact_sensitive(text, &scan(text));
        assert_eq!(
            redacted.text,
            "db_password = \"[REDACTED:password#1]\" # rotate monthly"
        );
    }

    #[test]
    fn findings_never_carry_the_secret() {
        let text = format!("{GITHUB_VALID} {AWS_ID} password=\"Tr0ub4dor&3x\" {JWT}");
        for finding in scan(&text) {
            let value = &text[finding.span.start..finding.span.end];
            assert!(!finding.excerpt.contains(value) || value.len() < 4);
            assert!(!finding.message.contains(value));
            assert_eq!(finding.category, Category::Secret);
        }
    }

    #[test]
    fn overlapping_candidates_keep_the_most_specific() {
        // The token matches its provider format and the generic assignment; only the format
        // match is reported.
        let finding = only_finding(&format!("GITHUB_TOKEN=\"{GITHUB_VALID}\""));
        assert_eq!(finding.rule, "github_pat");
    }

    #[test]
    fn meets_secret_targets_on_dev_split() {
        let (precision, recall) = quality("dev", false).unwrap_or_else(|| {
            panic!(
                "the secrets quality test needs shared/data at {}",
                data_dir().display()
            )
        });
        // Measured: precision 0.990, recall 0.952 (secrets_gitleaks dev + injection dev benign).
        assert!(precision >= 0.98, "precision {precision:.4}");
        assert!(recall >= 0.95, "recall {recall:.4}");
    }

    /// Random compositions of every construct the parsers react to, with multi-byte
    /// characters between them: spans must stay in bounds and on character boundaries.
    #[test]
    fn keyword_soup_never_breaks_invariants() {
        let pieces = [
            "password",
            "=",
            ":",
            "\"",
            "'",
            " ",
            "\n",
            "token",
            "Key",
            "AKIA",
            "ghp_",
            "xoxb-",
            "-----BEGIN RSA PRIVATE KEY-----",
            "-----END",
            "eyJ",
            ".",
            "://",
            "@",
            "curl -u ",
            "é",
            "𝔸",
            "\\",
            "\\n",
            "sk-",
            "T3BlbkFJ",
            "Q~",
            "|",
            "1234567890123456",
            "Authorization: Bearer ",
            "Basic ",
            "service_account",
            "private_key\"",
            "client_email",
            "PuTTY-User-Key-File-2",
            "Private-Lines: 3",
            "abcDEF123",
            "==",
            "/",
            "(",
            ")",
            "[",
            "]",
            "LS0tLS1CRUdJTi",
            "sig=",
            "sv=",
            "-us1",
            "NRAL",
            ":AA",
            "AAAA",
            "<",
            ">",
            "is ",
            "login ",
        ];
        let detector = detector();
        let mut state: u64 = 0x9E3779B97F4A7C15;
        for _ in 0..20_000 {
            let mut text = String::new();
            let n = (state % 40) as usize + 1;
            for _ in 0..n {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                if state.is_multiple_of(5) {
                    for _ in 0..(state % 50) {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        text.push((b'0' + (state % 75) as u8) as char);
                    }
                } else {
                    text.push_str(pieces[(state % pieces.len() as u64) as usize]);
                }
            }
            let mut findings = Vec::new();
            let input = Input::new(&text, ScanContext::of_kind(EventKind::File), 0, &NoRescan);
            detector.detect(&input, &mut findings);
            for f in &findings {
                crate::invariants::check_finding(&text, f)
                    .unwrap_or_else(|e| panic!("{e} in {text:?}"));
            }
        }
    }
}
