//! Secrets with no recognisable format, found by what they are assigned to: `password=…`,
//! `"api_key": "…"`, `SECRET: …`, `?token=…`, `Authorization: Bearer …`, in code, env files,
//! YAML, JSON, INI, XML and URL query strings.
//!
//! This is where false positives come from, so a value must clear several gates: the key's
//! last word must name a credential (`db_password`, `clientSecret`, `API_KEY`, not
//! `token_type` or `public_key`), and the value must be a literal (not `${VAR}`, `self.pw`,
//! `getToken()`), not a placeholder (`changeme`, `<your-key>`, `xxxx`), not words, and random
//! enough for its kind (Shannon entropy and character classes).

use airlock_core::{Severity, Span};

use super::Candidate;
use super::value::{
    Classes, contains_uuid, decode_base64, entropy, is_code_identifier, is_constant_name,
    is_digits, is_hex, is_path, is_placeholder, is_reference, is_unquoted_code, is_uuid,
    is_weak_default, looks_like_words,
};

/// The settings the generic rule runs with.
#[derive(Debug, Clone)]
pub(super) struct GenericSettings {
    /// Bits per character a token-like value must reach (less for short values, which
    /// cannot reach it).
    pub min_entropy: f64,
    /// Extra placeholder fragments from the configuration.
    pub stop_words: Vec<String>,
}

/// What the key of an assignment says its value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyClass {
    /// `password`, `db_pass`, `passphrase`: may be human-chosen.
    Password,
    /// `token`, `secret`, `api_key`, `credentials`: machine-generated.
    Strong,
    /// `key` with no qualifier, or a provider name and `key` (`hubspotKey`): often a
    /// credential, sometimes a cache or map key, so the value must be clearly random.
    Weak,
    /// `Authorization`, `auth`: the value may start with a scheme (`Bearer`, `Basic`).
    Auth,
}

/// Words after the credential word that do not change what the value is.
const NOISE_WORDS: &[&str] = &[
    "value",
    "val",
    "str",
    "string",
    "b64",
    "base64",
    "hex",
    "raw",
    "plain",
    "plaintext",
    "txt",
    "env",
    "var",
    "literal",
    "override",
    "here",
    "base",
    "data",
];

/// Words that, anywhere in the key, make it something other than a credential.
const NEGATIVE_WORDS: &[&str] = &[
    "public",
    "pub",
    "publishable",
    "primary",
    "foreign",
    "sort",
    "partition",
    "cache",
    "idempotency",
    "next",
    "prev",
    "previous",
    "page",
    "pagination",
    "cursor",
    "continuation",
    "csrf",
    "xsrf",
    "authenticity",
    "max",
    "min",
    "num",
    "count",
    "length",
    "len",
    "size",
    "limit",
    "type",
    "name",
    "file",
    "path",
    "url",
    "uri",
    "endpoint",
    "hash",
    "hashed",
    "digest",
    "checksum",
    "format",
    "field",
    "param",
    "label",
    "placeholder",
    "prompt",
    "policy",
    "expiry",
    "expires",
    "expiration",
    "ttl",
    "timeout",
    "lifetime",
    "hint",
    "regex",
    "pattern",
    "validation",
    "strength",
    "algorithm",
    "alg",
    "encoding",
    "scheme",
    "mode",
    "kind",
    "usage",
    "example",
    "sample",
    "mock",
    "dummy",
    "fake",
    "i18n",
    "error",
    "title",
    "description",
    "desc",
    "keyboard",
    "hotkey",
    "shortcut",
    "lookup",
    "dict",
    "map",
    "index",
    "column",
    "table",
    // Fixtures.
    "test",
    "testing",
    "fixture",
    // Tokens that are identifiers, not credentials: idempotency, paging, tracing.
    "starting",
    "start",
    "marker",
    "request",
    "lifecycle",
    "correlation",
    "trace",
    "tracking",
    "sync",
    "change",
    "output",
    "input",
    "result",
    "more",
];

/// Qualifiers that make `…_key` a credential.
const KEY_QUALIFIERS: &[&str] = &[
    "api",
    "access",
    "secret",
    "private",
    "priv",
    "auth",
    "signing",
    "sign",
    "encryption",
    "encrypt",
    "crypt",
    "master",
    "license",
    "licence",
    "account",
    "service",
    "client",
    "app",
    "application",
    "subscription",
    "webhook",
    "shared",
    "hmac",
    "session",
    "consumer",
    "admin",
    "write",
    "ingest",
    "ingestion",
    "server",
    "developer",
    "dev",
    "personal",
    "integration",
    "management",
    "root",
    "sas",
    "storage",
    "jwt",
];

const PASSWORD_WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "pass",
    "pswd",
    "passcode",
    "pw",
];

/// Providers whose credentials have no prefix of their own, recognised by the word in the
/// key (`DD_API_KEY`, `okta_token`, `TWILIO_AUTH_TOKEN`): (key word, rule id, description).
const KEYED_PROVIDERS: &[(&str, &str, &str)] = &[
    (
        "datadog",
        "datadog_api_key",
        "Datadog API or application key",
    ),
    ("dd", "datadog_api_key", "Datadog API or application key"),
    ("okta", "okta_api_token", "Okta API token"),
    ("twilio", "twilio_auth_token", "Twilio auth token"),
    ("heroku", "heroku_api_key", "Heroku API key"),
    ("algolia", "algolia_api_key", "Algolia API key"),
    ("cloudflare", "cloudflare_api_token", "Cloudflare API token"),
    ("snyk", "snyk_token", "Snyk token"),
    ("vercel", "vercel_token", "Vercel token"),
    ("netlify", "netlify_token", "Netlify access token"),
    ("circleci", "circleci_token", "CircleCI token"),
    ("codecov", "codecov_token", "Codecov upload token"),
    ("pagerduty", "pagerduty_api_key", "PagerDuty API key"),
    ("cohere", "cohere_api_key", "Cohere API key"),
    ("mistral", "mistral_api_key", "Mistral API key"),
    ("azure", "azure_secret", "Azure secret"),
    ("slack", "slack_secret", "Slack signing secret or token"),
    ("firebase", "firebase_secret", "Firebase secret"),
    ("mapbox", "mapbox_token", "Mapbox token"),
    ("dropbox", "dropbox_token", "Dropbox token"),
];

/// Words that make a UUID under a `…token` key an identifier (an idempotency or request
/// token, a resource id) rather than a credential.
const UUID_ID_WORDS: &[&str] = &[
    "client",
    "idempotency",
    "action",
    "session",
    "job",
    "task",
    "execution",
    "operation",
    "transaction",
    "upload",
    "instance",
    "state",
    "nonce",
    "id",
    "resource",
    "workspace",
    "tenant",
    "project",
    "org",
    "organization",
    "user",
    "device",
    "event",
    "message",
    "order",
    "invite",
    "invitation",
];

/// Why an identifier is a key worth reading: its class and whether it names AWS's secret.
fn classify(words: &[String]) -> Option<(KeyClass, bool)> {
    let meaningful: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| !w.is_empty() && !is_digits(w))
        .collect();
    let mut end = meaningful.len();
    while end > 1 && NOISE_WORDS.contains(&meaningful[end - 1]) {
        end -= 1;
    }
    let words = &meaningful[..end];
    let (&last, rest) = words.split_last()?;
    if rest.iter().any(|w| NEGATIVE_WORDS.contains(w)) {
        return None;
    }
    let previous = rest.last().copied().unwrap_or("");
    // `ClientToken` is an idempotency token in most APIs; a credential would say so.
    if previous == "client" && last == "token" {
        return None;
    }
    let aws = words.contains(&"aws")
        || (words.contains(&"secret") && words.contains(&"access") && last == "key")
        || last == "secretaccesskey";
    let class = if PASSWORD_WORDS.contains(&last)
        || ["password", "passwd", "passphrase"]
            .iter()
            .any(|suffix| last.ends_with(suffix))
    {
        KeyClass::Password
    } else if matches!(last, "auth" | "authorization" | "authentication") {
        KeyClass::Auth
    } else if matches!(
        last,
        "token" | "secret" | "secrets" | "apikey" | "credential" | "credentials" | "creds" | "jwt"
    ) || ["token", "secret", "apikey", "credential", "credentials"]
        .iter()
        .any(|suffix| last.ends_with(suffix))
    {
        KeyClass::Strong
    } else if last == "key" {
        if KEY_QUALIFIERS.contains(&previous) {
            KeyClass::Strong
        } else {
            KeyClass::Weak
        }
    } else if last.ends_with("key") && last.len() > 3 {
        let qualifier = &last[..last.len() - 3];
        if KEY_QUALIFIERS.contains(&qualifier) {
            KeyClass::Strong
        } else if NEGATIVE_WORDS.contains(&qualifier) || qualifier.len() < 2 {
            return None;
        } else {
            // `monkey`, `turkey` are words; `hubspotkey` is a provider key. Only a camel or
            // snake split gives a reliable qualifier, so keep compound words out.
            return None;
        }
    } else {
        return None;
    };
    Some((class, aws))
}

/// Splits an identifier into lower-case words at `_ - .`, camel-case humps and digits.
fn split_words(ident: &str) -> Vec<String> {
    let bytes = ident.as_bytes();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &b) in bytes.iter().enumerate() {
        if !b.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if let Some(&prev) = i.checked_sub(1).and_then(|p| bytes.get(p)) {
            let next = bytes.get(i + 1).copied().unwrap_or(b' ');
            let hump = b.is_ascii_uppercase()
                && (prev.is_ascii_lowercase()
                    || prev.is_ascii_digit()
                    || (prev.is_ascii_uppercase() && next.is_ascii_lowercase()));
            let digit_edge =
                b.is_ascii_digit() != prev.is_ascii_digit() && prev.is_ascii_alphanumeric();
            if (hump || digit_edge) && !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
        }
        current.push(b.to_ascii_lowercase() as char);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

fn is_quote(b: u8) -> bool {
    matches!(b, b'"' | b'\'' | b'`')
}

/// Authorization schemes that precede the credential in a header value.
const SCHEMES: &[&str] = &[
    "bearer",
    "basic",
    "token",
    "bot",
    "digest",
    "ssws",
    "api-token",
    "apikey",
    "key",
    "jwt",
];

/// Reads an assignment around the credential word found at `hit`. Pushes a candidate if the
/// value is a secret and returns how far the text was read (the identifier, and the value if
/// one was read), so that further hits inside them are skipped and each byte is parsed
/// about once.
pub(super) fn assignment_at(
    text: &str,
    hit: (usize, usize),
    settings: &GenericSettings,
    out: &mut Vec<Candidate>,
) -> usize {
    let bytes = text.as_bytes();
    let (hit_start, hit_end) = hit;
    let mut start = hit_start;
    while start > 0 && hit_start - start < 64 && is_ident_byte(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = hit_end;
    while end < bytes.len() && end - hit_end < 64 && is_ident_byte(bytes[end]) {
        end += 1;
    }
    let ident_end = end;
    while end > hit_end && matches!(bytes[end - 1], b'.' | b'-') {
        end -= 1;
    }
    let mut read_to = ident_end;
    if let Some(candidate) = read_assignment(text, start, end, settings, &mut read_to) {
        out.push(candidate);
    }
    read_to.max(ident_end)
}

fn read_assignment(
    text: &str,
    start: usize,
    end: usize,
    settings: &GenericSettings,
    read_to: &mut usize,
) -> Option<Candidate> {
    let bytes = text.as_bytes();
    let ident = text.get(start..end)?;
    let flag = ident.starts_with('-');

    let before = start.checked_sub(1).map(|i| bytes[i]);
    // `AWS::IAM::AccessKey`, `arn:…:secret:name`, `crate::auth`: a path component.
    if before == Some(b':') {
        return None;
    }
    let quoted_key = before.is_some_and(is_quote);
    // `f("KEY", "value")` passes a key and its value; `{"a", "token", "b"}` is a list.
    let call_argument = quoted_key && {
        let mut k = start - 1;
        while k > 0 && bytes[k - 1] == b' ' {
            k -= 1;
        }
        k > 0 && bytes[k - 1] == b'('
    };
    let xml = before == Some(b'<') || (quoted_key && start >= 2 && bytes[start - 2] == b'<');

    let mut i = end;
    // Closing quote of a quoted key, possibly escaped inside an outer string.
    if bytes.get(i) == Some(&b'\\') && bytes.get(i + 1).is_some_and(|b| is_quote(*b)) {
        i += 2;
    } else if bytes.get(i).is_some_and(|b| is_quote(*b)) {
        i += 1;
    }
    if bytes.get(i) == Some(&b']') {
        i += 1;
    }
    let spaces_before = skip_blanks(bytes, i) - i;
    i += spaces_before;
    let rest = bytes.get(i..).unwrap_or(&[]);
    let operator = [
        &b":::="[..],
        b"::=",
        b":=",
        b"?=",
        b"+=",
        b"=>",
        b"<-",
        b"=",
        b":",
    ]
    .into_iter()
    .find(|op| rest.starts_with(op));
    // `the password is …`: disclosure in prose, for password and token names only.
    let mut prose = false;
    match operator {
        Some(op) => {
            if rest.starts_with(b"==") || rest.starts_with(b"::") && op != b"::=" && op != b":::=" {
                return None;
            }
            i += op.len();
            if op == b":" {
                i = skip_type_annotation(bytes, i);
            }
        }
        None if rest.first() == Some(&b',') && call_argument => {
            i += 1;
            let j = skip_blanks(bytes, i);
            if !bytes.get(j).is_some_and(|b| is_quote(*b)) {
                return None;
            }
        }
        None if rest.first() == Some(&b'>') && xml => i += 1,
        None if flag && spaces_before > 0 => {}
        None if spaces_before > 0 && netrc_line(bytes, start) => {}
        None if spaces_before > 0 => {
            let verb = ["is ", "was ", "is: "].into_iter().find(|verb| {
                rest.len() >= verb.len() && rest[..verb.len()].eq_ignore_ascii_case(verb.as_bytes())
            })?;
            prose = true;
            i += verb.len();
        }
        None => return None,
    }
    i = skip_blanks(bytes, i);
    // Only now, with an assignment in hand, is the key worth splitting into words: most
    // hits are the words `key`, `token`, `password` in prose.
    // `Next page token: …`, `AWS secret key: …`: in prose the words before the key on the
    // line qualify it, as the parts of an identifier do.
    let qualifiers = preceding_words(bytes, start);
    let words: Vec<String> = qualifiers
        .iter()
        .rev()
        .cloned()
        .chain(split_words(ident))
        .collect();
    let (class, aws) = classify(&words)?;
    if prose && !matches!(class, KeyClass::Password | KeyClass::Strong) {
        return None;
    }

    let (value, quoted) = read_value(text, i, read_to)?;
    let scheme = scheme_split(text, value, quoted);
    // `Authorization: AWS4-HMAC-SHA256 Credential=…`: an unknown scheme, not a secret.
    if class == KeyClass::Auth
        && scheme.is_none()
        && !quoted
        && bytes.get(value.end) == Some(&b' ')
        && bytes
            .get(value.end + 1)
            .is_some_and(|b| !b.is_ascii_whitespace())
    {
        return None;
    }
    let (rule, what, value, quoted) = match scheme {
        Some((scheme, credential)) => {
            if scheme.eq_ignore_ascii_case("basic") {
                return basic_auth(text, credential, settings);
            }
            ("bearer_token", "Bearer token", credential, true)
        }
        None if class == KeyClass::Auth => {
            ("generic_secret", "Credential assigned to", value, quoted)
        }
        None if class == KeyClass::Password => ("password", "Password assigned to", value, quoted),
        None => ("generic_secret", "Secret assigned to", value, quoted),
    };
    let literal = text.get(value.start..value.end)?;
    if is_uuid(literal) && words.iter().any(|w| UUID_ID_WORDS.contains(&w.as_str())) {
        return None;
    }
    let class = if rule == "bearer_token" {
        KeyClass::Strong
    } else {
        class
    };
    let score = judge(literal, class, quoted, settings)?;

    if aws && literal.len() == 40 && rule != "password" {
        let classes = Classes::of(literal);
        if classes.lower > 0
            && classes.upper > 0
            && literal
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+')
        {
            return Some(Candidate::generic(
                "aws_secret_access_key",
                "AWS secret access key",
                "",
                value,
                Severity::Critical,
                0.9,
            ));
        }
    }
    let severity = if score >= 0.7 {
        Severity::High
    } else {
        Severity::Medium
    };
    let note = if rule == "bearer_token" {
        " (Authorization header)"
    } else {
        " a credential key"
    };
    // Formats with no prefix of their own (Datadog, Okta, Twilio auth tokens…) are named by
    // the provider their key names.
    if rule == "generic_secret"
        && let Some(&(_, id, provider_what)) = KEYED_PROVIDERS
            .iter()
            .find(|(word, _, _)| words.iter().any(|w| w == word))
    {
        return Some(Candidate::generic(
            id,
            provider_what,
            "",
            value,
            severity,
            score,
        ));
    }
    Some(Candidate::generic(rule, what, note, value, severity, score))
}

/// Up to two lower-cased words directly before the key on its line, each separated by one
/// space: `Next page token` gives `page`, `next`.
fn preceding_words(bytes: &[u8], start: usize) -> Vec<String> {
    let mut words = Vec::new();
    let mut end = start;
    while words.len() < 2
        && end >= 2
        && bytes[end - 1] == b' '
        && bytes[end - 2].is_ascii_alphabetic()
    {
        let mut begin = end - 1;
        while begin > 0 && bytes[begin - 1].is_ascii_alphabetic() && end - begin < 32 {
            begin -= 1;
        }
        words.push(String::from_utf8_lossy(&bytes[begin..end - 1]).to_ascii_lowercase());
        end = begin;
    }
    words
}

/// A `.netrc` line: `machine host login user password secret`, keys and values by spaces.
fn netrc_line(bytes: &[u8], ident_start: usize) -> bool {
    let line_start = bytes[..ident_start]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let line = &bytes[line_start..ident_start];
    line.len() < 512
        && (memchr::memmem::find(line, b"login ").is_some()
            || memchr::memmem::find(line, b"machine ").is_some())
}

fn skip_blanks(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|b| *b == b' ' || *b == b'\t') {
        i += 1;
    }
    i
}

/// `api_key: str = "…"`: after a colon, a type name followed by `=` is an annotation.
fn skip_type_annotation(bytes: &[u8], from: usize) -> usize {
    let mut i = skip_blanks(bytes, from);
    let type_start = i;
    while bytes.get(i).is_some_and(|b| {
        b.is_ascii_alphanumeric() || matches!(*b, b'_' | b'.' | b'[' | b']' | b'|')
    }) {
        i += 1;
    }
    if i == type_start || !bytes.get(type_start).is_some_and(u8::is_ascii_alphabetic) {
        return from;
    }
    let j = skip_blanks(bytes, i);
    if bytes.get(j) == Some(&b'=') && bytes.get(j + 1) != Some(&b'=') {
        j + 1
    } else {
        from
    }
}

/// The value starting at `i`: a quoted string's contents or an unquoted run. Returns its span
/// and whether it was quoted; `None` when it is a call or an index expression.
fn read_value(text: &str, mut i: usize, read_to: &mut usize) -> Option<(Span, bool)> {
    let bytes = text.as_bytes();
    // String prefixes: r"", b'', f"", u"", @"", $"".
    if bytes
        .get(i)
        .is_some_and(|b| matches!(*b, b'r' | b'b' | b'f' | b'u' | b'@' | b'$'))
        && bytes.get(i + 1).is_some_and(|b| matches!(*b, b'"' | b'\''))
    {
        i += 1;
    }
    let escaped = bytes.get(i) == Some(&b'\\') && bytes.get(i + 1).is_some_and(|b| is_quote(*b));
    if escaped {
        i += 1;
    }
    let first = *bytes.get(i)?;
    if is_quote(first) {
        let start = i + 1;
        let limit = (start + 1024).min(bytes.len());
        let mut j = start;
        while j < limit {
            let b = bytes[j];
            if b == b'\n' {
                return None;
            }
            if escaped && b == b'\\' && bytes.get(j + 1) == Some(&first) {
                break;
            }
            if b == first && (j == start || bytes[j - 1] != b'\\') {
                break;
            }
            j += 1;
        }
        *read_to = (*read_to).max(j);
        if j >= limit {
            return None;
        }
        return Some((Span::new(start, j), true));
    }
    let start = i;
    let limit = (start + 1024).min(bytes.len());
    let mut j = start;
    while j < limit {
        let b = bytes[j];
        if b.is_ascii_whitespace()
            || matches!(
                b,
                b'"' | b'\''
                    | b'`'
                    | b';'
                    | b','
                    | b')'
                    | b']'
                    | b'}'
                    | b'<'
                    | b'>'
                    | b'&'
                    | b'|'
                    | b'\\'
            )
        {
            break;
        }
        if matches!(b, b'(' | b'[' | b'{') {
            *read_to = (*read_to).max(j);
            return None;
        }
        j += 1;
    }
    *read_to = (*read_to).max(j);
    if j == start || (j == limit && limit < bytes.len()) {
        return None;
    }
    Some((Span::new(start, j), false))
}

/// `Bearer abc…`, `Basic dXNl…`: splits an authorization scheme from its credential. For an
/// unquoted value the credential is the next word.
fn scheme_split(text: &str, value: Span, quoted: bool) -> Option<(&str, Span)> {
    let bytes = text.as_bytes();
    let literal = text.get(value.start..value.end)?;
    if quoted {
        let space = literal.find(' ')?;
        let scheme = &literal[..space];
        if !SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
            return None;
        }
        let credential_start =
            value.start + space + literal[space..].len() - literal[space..].trim_start().len();
        return Some((scheme, Span::new(credential_start, value.end)));
    }
    if !SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(literal)) {
        return None;
    }
    let i = skip_blanks(bytes, value.end);
    if i == value.end {
        return None;
    }
    let mut read_to = i;
    let (credential, _) = read_value(text, i, &mut read_to)?;
    Some((literal, credential))
}

/// `Authorization: Basic base64(user:password)` with a real password.
fn basic_auth(text: &str, credential: Span, settings: &GenericSettings) -> Option<Candidate> {
    let encoded = text.get(credential.start..credential.end)?;
    let decoded = String::from_utf8_lossy(&decode_base64(encoded)?).into_owned();
    let (user, password) = decoded.split_once(':')?;
    if password.is_empty()
        || is_reference(password)
        || is_placeholder(password, &settings.stop_words)
        || is_weak_default(password)
        || password.eq_ignore_ascii_case(user)
    {
        return None;
    }
    Some(Candidate::generic(
        "basic_auth",
        "HTTP Basic credentials",
        " (Authorization header)",
        credential,
        Severity::High,
        0.85,
    ))
}

/// Whether a literal assigned to a key of `class` is a secret, and how sure that is.
fn judge(value: &str, class: KeyClass, quoted: bool, settings: &GenericSettings) -> Option<f32> {
    let len = value.len();
    if len > 1024 || value.bytes().any(|b| b.is_ascii_whitespace()) {
        return None;
    }
    if is_reference(value)
        || is_placeholder(value, &settings.stop_words)
        || value.contains("://")
        || is_constant_name(value)
    {
        return None;
    }
    let lower = value.to_ascii_lowercase();
    if [
        "sha1:", "sha256:", "sha384:", "sha512:", "sha1-", "sha256-", "sha384-", "sha512-", "md5:",
        "$2a$", "$2b$", "$argon2",
    ]
    .iter()
    .any(|prefix| lower.starts_with(prefix))
    {
        return None;
    }
    if is_code_identifier(value) || (!quoted && is_unquoted_code(value)) || is_path(value) {
        return None;
    }
    let classes = Classes::of(value);
    let h = entropy(value);
    match class {
        KeyClass::Password => {
            if len < 6 || is_weak_default(value) || classes.kinds() < 2 || h < 2.5 {
                return None;
            }
            if looks_like_words(value) && classes.kinds() < 3 {
                return None;
            }
            Some(if classes.kinds() >= 3 && len >= 10 && h >= 3.0 {
                0.8
            } else {
                0.7
            })
        }
        KeyClass::Strong | KeyClass::Auth => {
            if len < 10 {
                return None;
            }
            if is_uuid(value) {
                return Some(0.6);
            }
            if looks_like_words(value) {
                return None;
            }
            if is_digits(value) {
                return (len >= 16 && h >= 2.5).then_some(0.6);
            }
            if is_hex(value) {
                return (len >= 16 && h >= 2.8).then_some(0.75);
            }
            let threshold = settings.min_entropy.min(0.75 * (len as f64).log2());
            if h < threshold || (classes.kinds() < 2 && len < 20) {
                return None;
            }
            Some(if h >= 3.5 && len >= 16 { 0.8 } else { 0.7 })
        }
        KeyClass::Weak => {
            if len < 16 || contains_uuid(value) || is_digits(value) || looks_like_words(value) {
                return None;
            }
            // A bare `key` holding hex is as often a cache key or a digest as a credential.
            if is_hex(value) {
                return None;
            }
            (h >= settings.min_entropy.max(3.5) && classes.kinds() >= 2).then_some(0.6)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(ident: &str) -> Vec<String> {
        split_words(ident)
    }

    #[test]
    fn identifiers_split_into_words() {
        assert_eq!(words("adafruitToken"), ["adafruit", "token"]);
        assert_eq!(
            words("AWS_SECRET_ACCESS_KEY"),
            ["aws", "secret", "access", "key"]
        );
        assert_eq!(words("APIKey2"), ["api", "key", "2"]);
        assert_eq!(words("--db-password"), ["db", "password"]);
    }

    #[test]
    fn keys_are_classified_by_their_last_word() {
        let class = |ident: &str| classify(&words(ident)).map(|(class, _)| class);
        assert_eq!(class("db_password"), Some(KeyClass::Password));
        assert_eq!(class("clientSecret"), Some(KeyClass::Strong));
        assert_eq!(class("API_KEY"), Some(KeyClass::Strong));
        assert_eq!(class("hubspotKey"), Some(KeyClass::Weak));
        assert_eq!(class("Authorization"), Some(KeyClass::Auth));
        assert_eq!(class("bot_token2"), Some(KeyClass::Strong));
        assert_eq!(class("token_type"), None);
        assert_eq!(class("max_tokens"), None);
        assert_eq!(class("public_key"), None);
        assert_eq!(class("tokenizer"), None);
        assert_eq!(class("monkey"), None);
    }
}
