//! Credentials recognised by their structure rather than a fixed prefix: PEM private keys
//! (armour and body), JWTs (a header that decodes to JSON naming an algorithm), passwords in
//! URLs and in `curl -u`, Discord bot tokens (whose first part decodes to a numeric user id),
//! GCP service-account JSON, and the AWS secret access key that sits near an access key id.
//!
//! Each scanner starts from one prefilter hit and reads a bounded neighbourhood of it, so the
//! work per hit is capped whatever the input.

use airlock_core::{Severity, Span};
use memchr::memmem;

use super::Candidate;
use super::value::{
    Classes, decode_base64, entropy, is_placeholder, is_reference, is_weak_default,
};

/// Longest PEM block looked at: an 8192-bit RSA key is about 6.5 KB.
const MAX_PEM: usize = 64 * 1024;

/// Largest index `<= i` that is a character boundary of `text`.
pub(super) fn floor_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Smallest index `>= i` that is a character boundary of `text`.
pub(super) fn ceil_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Finds the next occurrence of a marker (`-----END`, `Private-Lines:`) with amortised
/// linear work across calls that move forward, so that a text full of headers without
/// footers costs one pass, not one search per header.
#[derive(Debug)]
pub(super) struct Finder {
    needle: &'static [u8],
    /// No marker starts between the last search start and this offset.
    searched_to: usize,
    /// The first marker at or after the last search start, if any was found.
    found: Option<usize>,
}

impl Finder {
    pub(super) fn new(needle: &'static [u8]) -> Finder {
        Finder {
            needle,
            searched_to: 0,
            found: None,
        }
    }

    /// The first marker at or after `from` and before `from + MAX_PEM`.
    fn next(&mut self, bytes: &[u8], from: usize) -> Option<usize> {
        let limit = (from + MAX_PEM).min(bytes.len());
        if let Some(found) = self.found
            && found >= from
        {
            return (found < limit).then_some(found);
        }
        let overlap = self.needle.len();
        let start = from
            .max(self.searched_to.saturating_sub(overlap))
            .min(limit);
        let hit = memmem::find(&bytes[start..limit], self.needle).map(|i| start + i);
        // A search stops at its first hit: only the bytes before it are known to be clear.
        self.searched_to = hit.unwrap_or(limit);
        self.found = hit;
        hit
    }
}

/// A PEM private key block starting near the `PRIVATE KEY` at `at`. Returns the candidate
/// and where scanning may resume.
pub(super) fn pem_private_key(
    text: &str,
    at: usize,
    ends: &mut Finder,
) -> Option<(Candidate, usize)> {
    let bytes = text.as_bytes();
    let look_from = at.saturating_sub(40);
    let begin = look_from + memmem::rfind(&bytes[look_from..at], b"-----BEGIN")?;
    let label = &bytes[begin + 10..at];
    if !label
        .iter()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b' ')
    {
        return None;
    }
    let after_kw = at + "PRIVATE KEY".len();
    let header_end = if bytes[after_kw..].starts_with(b"-----") {
        after_kw + 5
    } else if bytes[after_kw..].starts_with(b" BLOCK-----") {
        after_kw + 11
    } else {
        return None;
    };
    let encrypted = memmem::find(label, b"ENCRYPTED").is_some();

    let (body_end, span_end, complete) = match ends.next(bytes, header_end) {
        Some(end) => {
            let footer_limit = (end + 8 + 48).min(bytes.len());
            let close =
                memmem::find(&bytes[end + 8..footer_limit], b"-----").map(|i| end + 8 + i + 5)?;
            (end, close, true)
        }
        None => {
            // Truncated block (a tool output cut short): the key body runs as far as the
            // base64 does.
            let limit = (header_end + MAX_PEM).min(bytes.len());
            let mut i = header_end;
            while i < limit {
                let b = bytes[i];
                if is_b64(b) || b.is_ascii_whitespace() {
                    i += 1;
                } else if b == b'\\' && matches!(bytes.get(i + 1), Some(b'n' | b'r')) {
                    i += 2;
                } else {
                    break;
                }
            }
            while i > header_end && !is_b64(bytes[i - 1]) {
                i -= 1;
            }
            (i, i, false)
        }
    };
    let body = text.get(header_end..body_end)?;
    let mut base64 = 0usize;
    for line in body.split(['\n', '\r']).flat_map(|line| line.split("\\n")) {
        let line = line.trim().trim_matches('"');
        if line.contains(": ") {
            // Armour headers: Proc-Type, DEK-Info, Version, Comment.
            continue;
        }
        if !line.bytes().all(is_b64) {
            return None;
        }
        base64 += line.len();
    }
    let lower = body.to_ascii_lowercase();
    let masked = ["xxxx", "....", "redacted", "<", "your", "example"]
        .iter()
        .any(|fragment| lower.contains(fragment));
    let needed = if complete { 48 } else { 200 };
    if base64 < needed || masked {
        return None;
    }
    let (severity, score, note) = match (encrypted, complete) {
        (true, _) => (Severity::High, 0.85, " (passphrase-encrypted)"),
        (false, true) => (Severity::Critical, 0.97, ""),
        (false, false) => (Severity::Critical, 0.85, " (truncated)"),
    };
    Some((
        Candidate::provider(
            "private_key",
            "Private key",
            note,
            Span::new(begin, span_end),
            severity,
            score,
        ),
        span_end,
    ))
}

/// A PuTTY private key file from its `PuTTY-User-Key-File-` header through `Private-MAC`.
pub(super) fn putty_private_key(
    text: &str,
    at: usize,
    private_lines: &mut Finder,
) -> Option<(Candidate, usize)> {
    let bytes = text.as_bytes();
    let limit = (at + MAX_PEM).min(bytes.len());
    let region = &bytes[at..limit];
    let lines_at = private_lines.next(bytes, at)? - at;
    let mut end = at + lines_at;
    // The MAC line closes the file; without it, the private lines do.
    if let Some(mac) = memmem::find(&region[lines_at..], b"Private-MAC:") {
        end = at + lines_at + mac;
    } else {
        end += "Private-Lines:".len();
    }
    while end < limit && bytes[end] != b'\n' && bytes[end] != b'\r' {
        end += 1;
    }
    let encrypted = memmem::find(&region[..lines_at], b"Encryption: none").is_none();
    let (severity, note) = if encrypted {
        (Severity::High, " (passphrase-encrypted)")
    } else {
        (Severity::Critical, "")
    };
    Some((
        Candidate::provider(
            "private_key",
            "PuTTY private key",
            note,
            Span::new(at, end),
            severity,
            0.95,
        ),
        end,
    ))
}

/// A JSON Web Token starting at `at` (its `eyJ`): three base64url parts whose header
/// decodes to a JSON object naming an algorithm.
pub(super) fn jwt(text: &str, at: usize) -> Option<(Candidate, usize)> {
    let bytes = text.as_bytes();
    if at > 0 {
        let prev = bytes[at - 1];
        if is_b64url(prev) || matches!(prev, b'+' | b'/' | b'.') {
            return None;
        }
    }
    let run = |from: usize, max: usize| -> usize {
        let limit = (from + max).min(bytes.len());
        let mut i = from;
        while i < limit && is_b64url(bytes[i]) {
            i += 1;
        }
        i
    };
    let header_end = run(at, 4096);
    if header_end - at < 10 || bytes.get(header_end) != Some(&b'.') {
        return None;
    }
    let payload_end = run(header_end + 1, 16 * 1024);
    if payload_end - header_end - 1 < 4 || bytes.get(payload_end) != Some(&b'.') {
        return None;
    }
    let mut end = run(payload_end + 1, 4096);
    let signed = end > payload_end + 1;
    // A JWE has five parts; take them all so that the whole token is redacted.
    for _ in 0..2 {
        if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(|b| is_b64url(*b)) {
            end = run(end + 1, 16 * 1024);
        }
    }
    if bytes.get(end).is_some_and(|b| is_b64url(*b)) {
        return None;
    }
    let header = text.get(at..header_end)?;
    let decoded = decode_base64(header)?;
    let structured = serde_json::from_slice::<serde_json::Value>(&decoded)
        .ok()
        .and_then(|value| value.as_object().map(|object| object.contains_key("alg")))
        .unwrap_or(false);
    let looks_like = decoded.starts_with(b"{\"")
        && (memmem::find(&decoded, b"\"alg\"").is_some()
            || memmem::find(&decoded, b"\"typ\"").is_some());
    let (score, note) = match (structured, looks_like, signed) {
        (true, _, true) => (0.95, " (header names its algorithm)"),
        (true, _, false) => (0.7, " (unsigned)"),
        (false, true, _) => (0.8, ""),
        (false, false, _) => return None,
    };
    Some((
        Candidate::provider(
            "jwt",
            "JSON Web Token",
            note,
            Span::new(at, end),
            Severity::High,
            score,
        ),
        end,
    ))
}

/// Hosts that only appear in documentation and local development.
fn is_example_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let name = host.split([':', '/']).next().unwrap_or("");
    matches!(
        name,
        "localhost" | "127.0.0.1" | "0.0.0.0" | "host" | "hostname"
    ) || name.ends_with("example.com")
        || name.ends_with("example.org")
        || name.ends_with("example.net")
        || name.ends_with(".example")
        || name.ends_with(".test")
        || name.ends_with(".invalid")
}

/// Whether a password written next to its user name is a real one: not a placeholder, a
/// template variable, a mask, the user name again or a default.
fn real_password(user: &str, password: &str, stop_words: &[String]) -> bool {
    !password.is_empty()
        && !is_reference(password)
        && !is_placeholder(password, stop_words)
        && !is_weak_default(password)
        && !password.eq_ignore_ascii_case(user)
        && !password
            .bytes()
            .all(|b| b.is_ascii_digit() && password.len() <= 5)
        && !password
            .bytes()
            .all(|b| matches!(b, b'*' | b'x' | b'X' | b'.' | b'#'))
}

fn password_score(password: &str) -> f32 {
    if password.len() >= 8 && entropy(password) >= 3.0 {
        0.9
    } else {
        0.75
    }
}

/// The password of `scheme://user:password@host` around the `://` at `at`.
pub(super) fn url_password(
    text: &str,
    at: usize,
    stop_words: &[String],
) -> Option<(Candidate, usize)> {
    let bytes = text.as_bytes();
    let mut scheme_start = at;
    while scheme_start > 0
        && at - scheme_start < 32
        && (bytes[scheme_start - 1].is_ascii_alphanumeric()
            || matches!(bytes[scheme_start - 1], b'+' | b'.' | b'-'))
    {
        scheme_start -= 1;
    }
    if at - scheme_start < 2 || !bytes[scheme_start].is_ascii_alphabetic() {
        return None;
    }
    let start = at + 3;
    let limit = (start + 512).min(bytes.len());
    let mut end = start;
    while end < limit
        && !bytes[end].is_ascii_whitespace()
        && !matches!(
            bytes[end],
            b'/' | b'?' | b'#' | b'"' | b'\'' | b'`' | b'<' | b'>' | b'\\' | b')' | b'}' | b','
        )
    {
        end += 1;
    }
    let authority = text.get(start..end)?;
    let at_sign = authority.rfind('@')?;
    let userinfo = &authority[..at_sign];
    let host = &authority[at_sign + 1..];
    if !host
        .as_bytes()
        .first()
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'[')
    {
        return None;
    }
    let colon = userinfo.find(':')?;
    let (user, password) = (&userinfo[..colon], &userinfo[colon + 1..]);
    // `cvs://:pserver:anoncvs@host`: a colon left unescaped is a protocol field, not part of
    // a password.
    if password.contains(':') || !real_password(user, password, stop_words) {
        return None;
    }
    let password_start = start + colon + 1;
    let score = if is_example_host(host) {
        0.7
    } else {
        password_score(password)
    };
    Some((
        Candidate::provider(
            "url_password",
            "Password in a URL",
            "",
            Span::new(password_start, password_start + password.len()),
            Severity::High,
            score,
        ),
        end,
    ))
}

/// The password of `curl -u user:password` / `--user user:password` in the command that
/// starts at `at`. Returns candidates and the end of the command.
pub(super) fn curl_user(
    text: &str,
    at: usize,
    stop_words: &[String],
    out: &mut Vec<Candidate>,
) -> usize {
    let bytes = text.as_bytes();
    let limit = (at + 4096).min(bytes.len());
    // The command runs to the end of the line, following `\` continuations.
    let mut end = at;
    while end < limit {
        if bytes[end] == b'\n' {
            let continued = bytes[..end]
                .iter()
                .rev()
                .find(|b| **b != b' ' && **b != b'\r')
                .is_some_and(|b| *b == b'\\');
            if !continued {
                break;
            }
        }
        end += 1;
    }
    let command = &bytes[at..end];
    for flag in [&b" -u"[..], b" --user"] {
        for found in memmem::find_iter(command, flag) {
            let mut i = at + found + flag.len();
            match bytes.get(i) {
                Some(b' ' | b'=' | b'\t') => {}
                _ => continue,
            }
            while i < end && matches!(bytes[i], b' ' | b'=' | b'\t') {
                i += 1;
            }
            if i >= end {
                continue;
            }
            let (arg_start, arg_end) = match bytes.get(i) {
                Some(&quote @ (b'"' | b'\'')) => {
                    let close = bytes[i + 1..end]
                        .iter()
                        .position(|b| *b == quote)
                        .map_or(end, |p| i + 1 + p);
                    (i + 1, close)
                }
                _ => {
                    let stop = bytes[i..end]
                        .iter()
                        .position(|b| b.is_ascii_whitespace())
                        .map_or(end, |p| i + p);
                    (i, stop)
                }
            };
            let Some(arg) = text.get(arg_start..arg_end) else {
                continue;
            };
            let Some(colon) = arg.find(':') else {
                continue;
            };
            let (user, password) = (&arg[..colon], &arg[colon + 1..]);
            let password = password.trim_end_matches(['"', '\'']);
            let password = password.trim_start_matches(['"', '\'']);
            if password.len() < 4 || !real_password(user, password, stop_words) {
                continue;
            }
            let Some(offset) = arg[colon + 1..].find(password) else {
                continue;
            };
            let password_start = arg_start + colon + 1 + offset;
            out.push(Candidate::provider(
                "basic_auth",
                "Password passed to curl",
                "",
                Span::new(password_start, password_start + password.len()),
                Severity::High,
                password_score(password).min(0.85),
            ));
        }
    }
    end
}

/// Discord bot tokens: `base64(user id) . base64(timestamp) . hmac`. Found by their dots;
/// the first part must decode to a numeric snowflake id, which prose never does.
pub(super) fn discord_bot_tokens(text: &str, out: &mut Vec<Candidate>) {
    let bytes = text.as_bytes();
    let mut skip_to = 0;
    for dot in memchr::memchr_iter(b'.', bytes) {
        if dot < skip_to || dot < 24 {
            continue;
        }
        // Second part: exactly six characters, then a dot.
        if bytes.get(dot + 7) != Some(&b'.')
            || !bytes[dot + 1..dot + 7].iter().all(|b| is_b64url(*b))
        {
            continue;
        }
        let mut start = dot;
        while start > 0 && dot - start < 29 && is_b64url(bytes[start - 1]) {
            start -= 1;
        }
        let id_len = dot - start;
        if !(23..=28).contains(&id_len) || !matches!(bytes[start], b'M' | b'N' | b'O') {
            continue;
        }
        if start > 0 && (is_b64url(bytes[start - 1]) || bytes[start - 1] == b'.') {
            continue;
        }
        let mut end = dot + 8;
        while end < bytes.len() && end - dot - 8 < 40 && is_b64url(bytes[end]) {
            end += 1;
        }
        let mac_len = end - dot - 8;
        if !(27..=38).contains(&mac_len) || bytes.get(end).is_some_and(|b| is_b64url(*b)) {
            continue;
        }
        let Some(id) = text.get(start..dot).and_then(decode_base64) else {
            continue;
        };
        if !(17..=20).contains(&id.len()) || !id.iter().all(u8::is_ascii_digit) {
            continue;
        }
        out.push(Candidate::provider(
            "discord_bot_token",
            "Discord bot token",
            " (id part decodes to a user id)",
            Span::new(start, end),
            Severity::High,
            0.95,
        ));
        skip_to = end;
    }
}

/// Facebook app access tokens, `app id|app secret`: fifteen or sixteen digits, a pipe, and
/// 27 characters of mixed case. Found by their pipe, so markdown tables cost one check each.
pub(super) fn facebook_app_tokens(text: &str, out: &mut Vec<Candidate>) {
    let bytes = text.as_bytes();
    for pipe in memchr::memchr_iter(b'|', bytes) {
        if pipe < 15 || !bytes[pipe - 1].is_ascii_digit() {
            continue;
        }
        let mut start = pipe;
        while start > 0 && pipe - start < 17 && bytes[start - 1].is_ascii_digit() {
            start -= 1;
        }
        if !(15..=16).contains(&(pipe - start))
            || start > 0 && bytes[start - 1].is_ascii_alphanumeric()
        {
            continue;
        }
        let end = pipe + 28;
        let Some(secret) = text.get(pipe + 1..end) else {
            continue;
        };
        let bounded = bytes.get(end).is_none_or(|b| !is_b64url(*b));
        let classes = Classes::of(secret);
        if !bounded
            || !secret.bytes().all(is_b64url)
            || classes.lower == 0
            || classes.upper == 0
            || is_placeholder(secret, &[])
        {
            continue;
        }
        out.push(Candidate::provider(
            "facebook_app_token",
            "Facebook app access token (app id|app secret)",
            "",
            Span::new(start, end),
            Severity::High,
            0.85,
        ));
    }
}

/// The `private_key` of a GCP service-account key file: a JSON object with
/// `"type": "service_account"`, `client_email` and a PEM `private_key`.
pub(super) fn gcp_service_account(text: &str, at: usize) -> Option<(Candidate, usize)> {
    let bytes = text.as_bytes();
    let from = at.saturating_sub(8192);
    let to = (at + 8192).min(bytes.len());
    let region = &bytes[from..to];
    memmem::find(region, b"client_email")?;
    let key_at = from + memmem::find(region, b"private_key\"")? + "private_key\"".len();
    // `"private_key": "-----BEGIN ...` possibly with escaped quotes in embedded JSON.
    let mut i = key_at;
    while i < to && matches!(bytes[i], b' ' | b':' | b'\\' | b'\t') {
        i += 1;
    }
    if bytes.get(i) != Some(&b'"') {
        return None;
    }
    let value_start = i + 1;
    let mut j = value_start;
    while j < to {
        match bytes[j] {
            b'"' => break,
            b'\\' if bytes.get(j + 1) == Some(&b'"') => break,
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
    let value_end = j.min(to);
    let value = text.get(value_start..value_end)?;
    if !value.contains("PRIVATE KEY") || value.len() < 100 {
        return None;
    }
    Some((
        Candidate::provider(
            "gcp_service_account",
            "GCP service account key",
            " (private key with client email)",
            Span::new(value_start, value_end),
            Severity::Critical,
            0.99,
        ),
        value_end,
    ))
}

/// The AWS secret access key written near an access key id: forty base64 characters with
/// both cases and a digit, bounded on both sides, within `reach` bytes.
pub(super) fn aws_secret_near(text: &str, id: Span, reach: usize) -> Option<Span> {
    let bytes = text.as_bytes();
    let from = id.start.saturating_sub(reach);
    let to = (id.end + reach).min(bytes.len());
    let is_secret_char = |b: u8| b.is_ascii_alphanumeric() || b == b'/' || b == b'+';
    let mut best: Option<(usize, Span)> = None;
    let mut i = from;
    while i < to {
        if !is_secret_char(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < to && is_secret_char(bytes[i]) {
            i += 1;
        }
        let bounded_before = start == 0 || !is_secret_char(bytes[start - 1]);
        let bounded_after = bytes
            .get(i)
            .is_none_or(|b| !is_secret_char(*b) && *b != b'=');
        if i - start != 40 || !bounded_before || !bounded_after || (start < id.end && i > id.start)
        {
            continue;
        }
        let candidate = &text[start..i];
        let classes = Classes::of(candidate);
        if classes.lower == 0 || classes.upper == 0 || classes.digit == 0 {
            continue;
        }
        if entropy(candidate) < 4.0 || is_placeholder(candidate, &[]) {
            continue;
        }
        let distance = if start >= id.end {
            start - id.end
        } else {
            id.start.saturating_sub(i)
        };
        if best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, Span::new(start, i)));
        }
    }
    best.map(|(_, span)| span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_finder_answers_forward_queries() {
        let text = "a -----END b -----END c";
        let mut finder = Finder::new(b"-----END");
        assert_eq!(finder.next(text.as_bytes(), 0), Some(2));
        assert_eq!(finder.next(text.as_bytes(), 1), Some(2));
        assert_eq!(finder.next(text.as_bytes(), 3), Some(13));
        assert_eq!(finder.next(text.as_bytes(), 14), None);
    }

    #[test]
    fn boundaries_stay_on_characters() {
        let text = "aé";
        assert_eq!(floor_boundary(text, 2), 1);
        assert_eq!(ceil_boundary(text, 2), 3);
    }
}
