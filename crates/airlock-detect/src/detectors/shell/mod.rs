//! `shell` detector: dangerous commands in the arguments of shell and code tools — recursive
//! deletes of root, home or system directories, download piped to an interpreter, reverse
//! shells, disk wipes and fork bombs, permission changes on system paths, reading credential
//! stores, history and log tampering, persistence (cron, systemd, shell startup files,
//! authorized_keys, launchd, init scripts, sudoers) and cryptominers.
//!
//! Text is parsed, not pattern-matched: [`lexer`] implements the shell word grammar (quotes,
//! escapes, `$IFS`, variables, substitutions) and turns text into simple commands, [`resolve`]
//! unwraps `sudo`/`env`/`xargs`/… and lexes the strings a command runs (`bash -c`, `eval`,
//! `find -exec`, inline Python), and [`rules`] match on what would run. So `r'm' -rf /`,
//! `a=rm; $a -rf /` and `{"command": "sudo bash -c \"rm -rf ~\""}` are one finding, while
//! `echo "rm -rf /"` and `rm -rf ./build` are none.
//!
//! Where the text came from decides how much a command means (see [`grade`]): in a tool
//! call's command argument it is about to run; in a README, a model's answer or a web page it
//! is at most something to be told about, and a mention inside a sentence is not reported at
//! all for files and completions.
//!
//! Ordinary prose costs a few SIMD passes ([`prefilter`]): only lines that carry a command-line
//! anchor (`/`, `~`, `` ` ``, `$`, `{`, ` -x`) *and* a command name or path of interest are
//! lexed. Command arguments of tool calls are always lexed whole (up to 256 KB), so no spelling
//! of a command can slip past a keyword list there. All lexing shares a byte budget per scan.
//!
//! Decisions: listing a credential directory (`ls ~/.ssh`) or using a key (`ssh -i`) is not
//! reading it; `cat`, `cp`, `tar`, `base64`, … are. JSON tool arguments are decoded and each
//! string judged by its property: `command`, `cmd`, `script`, `code`, … run (configurable with
//! the `command_keys` option); others (`content`, `path`) are data and graded like text an agent
//! reads.

mod json;
mod lexer;
mod paths;
mod prefilter;
mod resolve;
mod rules;

#[cfg(test)]
mod tests;

use airlock_core::{Category, EventKind, Finding, Severity, Span, mask_secret};
use regex::Regex;
use serde::Deserialize;

use crate::config::ConfigProblem;
use crate::detector::{Detector, Input};
use crate::registry::{DetectorSpec, Options};

use lexer::{Mode, State, Word};

/// Registry entry.
pub const SPEC: DetectorSpec = DetectorSpec {
    id: "shell",
    summary: "dangerous shell commands: destructive deletes, download-and-run, reverse shells, \
              disk wipes, credential theft, log tampering, persistence, cryptominers",
    build,
};

const ID: &str = "shell";
/// Longest excerpt, in characters.
const EXCERPT_CHARS: usize = 80;
/// Script regions longer than this are lexed line by line around prefilter hits.
const MAX_SCRIPT: usize = 256 * 1024;
/// Lines longer than this are lexed in windows around prefilter hits.
const MAX_LINE: usize = 16 * 1024;
const WINDOW: usize = 2048;
/// Continuation lines (`\` at the end) joined to a prose line.
const MAX_CONTINUATIONS: usize = 20;
/// Nesting of JSON documents inside JSON strings (`"arguments": "{\"command\": …}"`).
const MAX_JSON_NESTING: usize = 3;

/// JSON properties whose string value is a command line or program to run.
const COMMAND_KEYS: &[&str] = &[
    "command",
    "cmd",
    "commands",
    "cmdline",
    "commandline",
    "script",
    "shell",
    "bash",
    "sh",
    "zsh",
    "powershell",
    "pwsh",
    "code",
    "exec",
    "execute",
    "run",
    "program",
    "args",
    "argv",
    "arguments",
    "input",
    "stdin",
    "line",
    "source",
    "snippet",
    "cell",
    "python",
    "javascript",
    "js",
    "ruby",
    "perl",
    "php",
    "query",
];
/// JSON properties whose value is program code (also checked for inline-code signatures).
const CODE_KEYS: &[&str] = &[
    "code",
    "script",
    "source",
    "program",
    "snippet",
    "cell",
    "python",
    "javascript",
    "js",
    "ruby",
    "perl",
    "php",
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawOptions {
    /// More JSON property names whose values tool calls run as commands.
    command_keys: Vec<String>,
}

fn build(options: &Options) -> Result<Box<dyn Detector>, Vec<ConfigProblem>> {
    let raw: RawOptions = crate::parse_options(ID, options)?;
    Ok(Box::new(ShellDetector::new(&raw)))
}

/// Words that mark a line as a sentence about a command rather than a command.
const STOPWORDS: &[&str] = &[
    "the",
    "a",
    "an",
    "is",
    "are",
    "was",
    "were",
    "be",
    "to",
    "of",
    "and",
    "or",
    "on",
    "at",
    "with",
    "this",
    "that",
    "it",
    "its",
    "it's",
    "you",
    "your",
    "we",
    "our",
    "they",
    "will",
    "would",
    "should",
    "can",
    "could",
    "does",
    "don't",
    "never",
    "not",
    "what",
    "which",
    "when",
    "how",
    "why",
    "than",
    "as",
    "by",
    "from",
    "about",
    "into",
    "also",
    "just",
    "only",
    "because",
    "before",
    "after",
    "deletes",
    "removes",
    "means",
    "careful",
    "dangerous",
];

/// How a command appeared, which with the event kind sets severity and score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setting {
    /// About to run: a tool call's command argument.
    Exec,
    /// On a line of its own or in a code block of text.
    Line,
    /// Inside a sentence.
    Inline,
}

/// The `shell` detector.
#[derive(Debug)]
pub struct ShellDetector {
    triggers: prefilter::Prefilter,
    command_keys: Vec<String>,
    secret_assignment: Regex,
    url_credentials: Regex,
}

/// One finding before severity grading and de-duplication.
#[derive(Debug)]
struct Pending {
    rule: &'static str,
    severity: Severity,
    score: f32,
    message: String,
    span: Span,
    setting: Setting,
}

/// Maps a byte offset of the region being scanned to an offset in the event's text.
type OffsetMap<'a> = &'a dyn Fn(usize) -> usize;

impl ShellDetector {
    fn new(raw: &RawOptions) -> ShellDetector {
        let triggers = prefilter::Prefilter::new();
        let regex = |pattern: &str| match Regex::new(pattern) {
            Ok(regex) => regex,
            Err(err) => panic!("shell excerpt regex is invalid: {err}"),
        };
        let mut command_keys: Vec<String> = COMMAND_KEYS.iter().map(|k| (*k).to_owned()).collect();
        command_keys.extend(raw.command_keys.iter().map(|k| normalize_key(k)));
        ShellDetector {
            triggers,
            command_keys,
            secret_assignment: regex(
                r#"(?i)(?:password|passwd|pwd|token|secret|api[_-]?key|apikey|authorization|access[_-]?key|private[_-]?key|client[_-]?secret)["']?\s*[:=]\s*["']?([^\s"'&;|]{3,})"#,
            ),
            url_credentials: regex(r"://[^/\s:@]+:([^@\s/]+)@"),
        }
    }

    fn is_command_key(&self, key: &str) -> bool {
        let key = normalize_key(key);
        self.command_keys.contains(&key)
    }

    /// A JSON document's strings, each scanned as what its property says it is.
    fn scan_json(
        &self,
        items: Vec<json::Item>,
        kind: EventKind,
        map: OffsetMap<'_>,
        depth: usize,
        st: &mut State,
        out: &mut Vec<Pending>,
    ) {
        let tool_call = kind == EventKind::ToolCall;
        for item in items {
            match item {
                json::Item::Value { key, value } => {
                    let decoded = value.decoded.as_str();
                    let inner = |o: usize| map(value.to_document(o));
                    if depth < MAX_JSON_NESTING
                        && decoded.trim_start().starts_with(['{', '['])
                        && let Some(nested) = json::walk(decoded)
                    {
                        self.scan_json(nested, kind, &inner, depth + 1, st, out);
                        continue;
                    }
                    if tool_call && (self.is_command_key(&key) || key.is_empty()) {
                        let code = CODE_KEYS.contains(&normalize_key(&key).as_str());
                        self.scan_script(decoded, code, &inner, st, out);
                    } else {
                        self.scan_prose(decoded, Mode::Prose, None, &inner, st, out);
                    }
                }
                json::Item::Array { key, values } => {
                    let command = tool_call && (self.is_command_key(&key) || key.is_empty());
                    let one_argv = values
                        .first()
                        .is_some_and(|v| !v.decoded.trim().contains([' ', '\n', '\t']));
                    if command && one_argv {
                        let words = values.iter().map(json_word).collect();
                        self.scan_argv(words, map, st, out);
                        continue;
                    }
                    for value in values {
                        let inner = |o: usize| map(value.to_document(o));
                        if command {
                            self.scan_script(&value.decoded, false, &inner, st, out);
                        } else {
                            self.scan_prose(&value.decoded, Mode::Prose, None, &inner, st, out);
                        }
                    }
                }
                json::Item::Program { program, args } => {
                    let mut words = vec![json_word(&program)];
                    words.extend(args.iter().map(json_word));
                    if tool_call {
                        self.scan_argv(words, map, st, out);
                    } else {
                        let joined = words
                            .iter()
                            .map(|w| w.text.as_str())
                            .collect::<Vec<_>>()
                            .join(" ");
                        let at = program.raw_start;
                        self.scan_prose(&joined, Mode::Prose, None, &|_| map(at), st, out);
                    }
                }
            }
        }
    }

    /// A command argument of a tool call: lexed whole, as the shell will run it.
    fn scan_script(
        &self,
        text: &str,
        code: bool,
        map: OffsetMap<'_>,
        st: &mut State,
        out: &mut Vec<Pending>,
    ) {
        if text.len() > MAX_SCRIPT {
            self.scan_prose(text, Mode::Script, Some(Setting::Exec), map, st, out);
            return;
        }
        st.reset();
        st.lex(text, Mode::Script, 0, None);
        if code {
            let end = text.len();
            st.push_argv(
                vec![
                    Word::literal(resolve::CODE, 0, end, false),
                    Word::literal(text, 0, end, true),
                ],
                0,
                None,
            );
        }
        let hits = rules::analyze(st, 0);
        self.collect(st, &hits, Setting::Exec, map, out);
        if let Some((start, end)) = fork_bomb(text) {
            out.push(fork_bomb_pending(
                Span::new(map(start), map(end)),
                Setting::Exec,
            ));
        }
    }

    fn scan_argv(
        &self,
        words: Vec<Word>,
        map: OffsetMap<'_>,
        st: &mut State,
        out: &mut Vec<Pending>,
    ) {
        st.reset();
        st.push_argv(words, 0, None);
        let hits = rules::analyze(st, 0);
        self.collect(st, &hits, Setting::Exec, map, out);
    }

    /// Text that is read, not run: only lines with a prefilter hit are lexed, one by one.
    fn scan_prose(
        &self,
        text: &str,
        mode: Mode,
        setting: Option<Setting>,
        map: OffsetMap<'_>,
        st: &mut State,
        out: &mut Vec<Pending>,
    ) {
        let bytes = text.as_bytes();
        let mut pos = 0;
        let mut fence_open = false;
        let mut fence_scanned = 0;
        let mut anchors = self.triggers.anchors(text);
        while let Some(anchor) = anchors.next_from(pos) {
            if st.exhausted {
                return;
            }
            // Line bounds, looked for at most MAX_LINE away: a longer line is read in a
            // window around the anchor, so one huge line costs linear time.
            let back = anchor.saturating_sub(MAX_LINE);
            let line_start =
                match memchr::memrchr(b'\n', bytes.get(back..anchor).unwrap_or_default()) {
                    Some(p) => back + p + 1,
                    None if back == 0 => 0,
                    None => floor_boundary(text, anchor.saturating_sub(WINDOW)),
                };
            let ahead = (anchor + MAX_LINE).min(text.len());
            let mut line_end =
                match memchr::memchr(b'\n', bytes.get(anchor..ahead).unwrap_or_default()) {
                    Some(p) => anchor + p,
                    None if ahead == text.len() => text.len(),
                    None => ceil_boundary(text, anchor + WINDOW),
                };
            let mut joined = 0;
            while joined < MAX_CONTINUATIONS
                && line_end < text.len()
                && bytes.get(line_end) == Some(&b'\n')
                && text
                    .get(line_start..line_end)
                    .is_some_and(|l| l.trim_end_matches('\r').ends_with('\\'))
            {
                let next = (line_end + 1 + MAX_LINE).min(text.len());
                line_end = memchr::memchr(b'\n', bytes.get(line_end + 1..next).unwrap_or_default())
                    .map_or(next, |p| line_end + 1 + p);
                joined += 1;
            }
            let (start, end) = (line_start, ceil_boundary(text, line_end));
            pos = end.max(anchor + 1);
            if self.triggers.trigger_in(text, start, end).is_none() {
                continue;
            }
            let fences = memchr::memmem::find_iter(
                bytes.get(fence_scanned..start).unwrap_or_default(),
                b"```",
            )
            .count();
            fence_open ^= fences % 2 == 1;
            fence_scanned = fence_scanned.max(start);
            self.scan_line(text, start, end, mode, setting, fence_open, map, st, out);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn scan_line(
        &self,
        text: &str,
        start: usize,
        end: usize,
        mode: Mode,
        setting: Option<Setting>,
        in_fence: bool,
        map: OffsetMap<'_>,
        st: &mut State,
        out: &mut Vec<Pending>,
    ) {
        let Some(line) = text.get(start..end) else {
            return;
        };
        let skip = line_prefix(line);
        let Some(body) = line.get(skip..) else { return };
        let body_start = start + skip;
        let setting = setting.unwrap_or(if in_fence || !is_sentence(body) {
            Setting::Line
        } else {
            Setting::Inline
        });
        st.reset();
        st.lex(body, mode, 0, None);
        let hits = rules::analyze(st, 0);
        let inner = |o: usize| map(body_start + o);
        self.collect(st, &hits, setting, &inner, out);
        if let Some((s, e)) = fork_bomb(body) {
            out.push(fork_bomb_pending(Span::new(inner(s), inner(e)), setting));
        }
    }

    /// Turns rule hits into pending findings at the span of their top-level commands.
    fn collect(
        &self,
        st: &State,
        hits: &[rules::Hit],
        setting: Setting,
        map: OffsetMap<'_>,
        out: &mut Vec<Pending>,
    ) {
        for hit in hits {
            let span_of = |i: usize| {
                let command = st.commands.get(i)?;
                // In text, `` `curl … | sh` `` inside a sentence is reported where it is; a
                // command about to run is reported as the whole command line around it.
                if setting != Setting::Exec && command.spanned && command.depth > 0 {
                    return Some((command.start, command.end));
                }
                let top = st.commands.get(command.top).unwrap_or(command);
                Some((top.start, top.end))
            };
            let (Some(first), Some(last)) = (span_of(hit.first), span_of(hit.last)) else {
                continue;
            };
            let (start, end) = (first.0.min(last.0), first.1.max(last.1));
            out.push(Pending {
                rule: hit.rule,
                severity: hit.severity,
                score: hit.score,
                message: hit.message.clone(),
                span: Span::new(map(start), map(end).max(map(start))),
                setting,
            });
        }
    }

    /// A redaction-safe excerpt: the command, with values that look like secrets masked.
    fn excerpt(&self, text: &str) -> String {
        let head = text
            .get(..floor_boundary(text, 512.min(text.len())))
            .unwrap_or_default();
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        for regex in [&self.secret_assignment, &self.url_credentials] {
            for caps in regex.captures_iter(head) {
                if let Some(m) = caps.get(1) {
                    ranges.push((m.start(), m.end()));
                }
            }
        }
        let bytes = head.as_bytes();
        let token = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'=' | b'_' | b'-');
        let mut i = 0;
        while i < bytes.len() {
            if !token(bytes[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && token(bytes[i]) {
                i += 1;
            }
            let word = &bytes[start..i];
            let digits = word.iter().filter(|b| b.is_ascii_digit()).count();
            let letters = word.iter().filter(|b| b.is_ascii_alphabetic()).count();
            if word.len() >= 20 && digits >= 2 && letters >= 4 && !word.starts_with(b"-") {
                ranges.push((start, i));
            }
        }
        ranges.sort_unstable();
        let mut masked = String::with_capacity(head.len());
        let mut at = 0;
        for (s, e) in ranges {
            if s < at {
                continue;
            }
            masked.push_str(head.get(at..s).unwrap_or_default());
            masked.push_str(&mask_secret(head.get(s..e).unwrap_or_default()));
            at = e;
        }
        masked.push_str(head.get(at..).unwrap_or_default());
        let flat: String = masked
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let mut excerpt: String = flat.chars().take(EXCERPT_CHARS).collect();
        if flat.chars().count() > EXCERPT_CHARS {
            excerpt.pop();
            excerpt.push('…');
        }
        excerpt
    }
}

impl Detector for ShellDetector {
    fn id(&self) -> &'static str {
        ID
    }

    fn detect(&self, input: &Input<'_>, findings: &mut Vec<Finding>) {
        let text = input.text();
        if text.is_empty() {
            return;
        }
        let kind = input.context().kind;
        let mut st = State::new((8 << 20) + 2 * text.len());
        let mut pending = Vec::new();
        let identity = |o: usize| o;
        let first = text.trim_start().as_bytes().first().copied();
        let items = if matches!(first, Some(b'{' | b'[')) {
            json::walk(text)
        } else {
            None
        };
        match items {
            Some(items) => self.scan_json(items, kind, &identity, 0, &mut st, &mut pending),
            None if kind == EventKind::ToolCall => {
                self.scan_script(text, false, &identity, &mut st, &mut pending);
            }
            None => self.scan_prose(text, Mode::Prose, None, &identity, &mut st, &mut pending),
        }
        self.emit(text, kind, pending, findings);
    }
}

impl ShellDetector {
    fn emit(
        &self,
        text: &str,
        kind: EventKind,
        pending: Vec<Pending>,
        findings: &mut Vec<Finding>,
    ) {
        let mut graded: Vec<(Pending, Severity, f32)> = pending
            .into_iter()
            .filter_map(|p| {
                let (severity, score) = grade(kind, p.setting, p.severity, p.score)?;
                Some((p, severity, score))
            })
            .collect();
        // One finding per rule and place: keep the most severe of overlapping ones.
        graded.sort_by(|a, b| {
            (a.0.rule, a.0.span.start, std::cmp::Reverse(a.1)).cmp(&(
                b.0.rule,
                b.0.span.start,
                std::cmp::Reverse(b.1),
            ))
        });
        let mut kept: Vec<(Pending, Severity, f32)> = Vec::new();
        for item in graded {
            let start = floor_boundary(text, item.0.span.start.min(text.len()));
            let end = ceil_boundary(text, item.0.span.end.min(text.len()).max(start));
            let span = Span::new(start, end);
            if let Some(last) = kept.last_mut()
                && last.0.rule == item.0.rule
                && (last.0.span.overlaps(&span) || last.0.span == span)
            {
                if item.1 > last.1 {
                    *last = (Pending { span, ..item.0 }, item.1, item.2);
                }
                continue;
            }
            kept.push((Pending { span, ..item.0 }, item.1, item.2));
        }
        for (p, severity, score) in kept {
            let matched = text.get(p.span.start..p.span.end).unwrap_or_default();
            findings.push(Finding {
                detector: ID.to_owned(),
                rule: p.rule.to_owned(),
                category: Category::DangerousCommand,
                severity,
                score: score.clamp(0.0, 1.0),
                span: p.span,
                excerpt: self.excerpt(matched),
                message: one_line(&p.message),
                via: Vec::new(),
            });
        }
    }
}

/// Severity and score of a command given where it appeared; `None` when not worth reporting.
fn grade(
    kind: EventKind,
    setting: Setting,
    severity: Severity,
    score: f32,
) -> Option<(Severity, f32)> {
    let serious = severity >= Severity::High;
    let low_or_info = if serious {
        Severity::Low
    } else {
        Severity::Info
    };
    let reads_to_agent = matches!(
        kind,
        EventKind::ToolCall
            | EventKind::Prompt
            | EventKind::ToolResult
            | EventKind::RetrievedDocument
            | EventKind::ToolDefinition
    );
    match setting {
        Setting::Exec => Some((severity, score)),
        Setting::Line if reads_to_agent => {
            let capped = match severity {
                Severity::Critical | Severity::High => Severity::Medium,
                Severity::Medium | Severity::Low => Severity::Low,
                Severity::Info => Severity::Info,
            };
            Some((capped, score * 0.7))
        }
        Setting::Line => Some((low_or_info, score * 0.6)),
        Setting::Inline if reads_to_agent => Some((low_or_info, score * 0.5)),
        Setting::Inline => None,
    }
}

/// A message on one line and of bounded length: paths in it come from the scanned text.
fn one_line(message: &str) -> String {
    const MAX_MESSAGE_CHARS: usize = 160;
    let flat: String = message
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if flat.chars().count() <= MAX_MESSAGE_CHARS {
        return flat;
    }
    let mut short: String = flat.chars().take(MAX_MESSAGE_CHARS - 1).collect();
    short.push('…');
    short
}

fn json_word(value: &json::JsonString) -> Word {
    Word::literal(&value.decoded, value.raw_start, value.raw_end, true)
}

fn normalize_key(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Bytes of leading decoration before a command on a line of text: indentation, `> ` quote
/// markers, `$ ` prompts, list bullets.
fn line_prefix(line: &str) -> usize {
    let bytes = line.as_bytes();
    let mut i = 0;
    loop {
        while matches!(bytes.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        match (bytes.get(i), bytes.get(i + 1)) {
            (Some(b'>' | b'$' | b'%' | b'-' | b'*' | b'+'), Some(b' ')) => i += 2,
            (Some(d), _) if d.is_ascii_digit() => {
                let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
                if matches!(bytes.get(i + digits), Some(b'.' | b')'))
                    && bytes.get(i + digits + 1) == Some(&b' ')
                {
                    i += digits + 2;
                } else {
                    return i;
                }
            }
            _ => return i,
        }
    }
}

/// Whether a line reads as a sentence (two or more function words outside code spans).
fn is_sentence(line: &str) -> bool {
    let mut outside = String::with_capacity(line.len());
    let mut in_code = false;
    let ticks = line.bytes().filter(|&b| b == b'`').count();
    for c in line.chars() {
        if c == '`' && ticks >= 2 {
            in_code = !in_code;
            outside.push(' ');
        } else if !in_code {
            outside.push(c);
        }
    }
    outside
        .split_whitespace()
        .map(|w| {
            w.trim_end_matches(['.', ',', ';', ':', '!', '?', ')'])
                .trim_start_matches('(')
        })
        .filter(|w| {
            let lower = w.to_ascii_lowercase();
            STOPWORDS.contains(&lower.as_str())
        })
        .take(2)
        .count()
        >= 2
}

fn fork_bomb_pending(span: Span, setting: Setting) -> Pending {
    Pending {
        rule: "fork_bomb",
        severity: Severity::Critical,
        score: 0.95,
        message: "fork bomb: forks processes until the machine stops responding".to_owned(),
        span,
        setting,
    }
}

/// Finds `NAME(){ NAME|NAME& };NAME` (any name, any spacing) or `%0|%0`.
fn fork_bomb(text: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    if let Some(p) = memchr::memmem::find(bytes, b"%0|%0") {
        return Some((p, p + 5));
    }
    let skip_ws = |mut i: usize| {
        while matches!(bytes.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            i += 1;
        }
        i
    };
    for open in memchr::memchr_iter(b'(', bytes).take(10_000) {
        let close = skip_ws(open + 1);
        if bytes.get(close) != Some(&b')') {
            continue;
        }
        let brace = skip_ws(close + 1);
        if bytes.get(brace) != Some(&b'{') {
            continue;
        }
        let mut name_end = open;
        while name_end > 0 && matches!(bytes[name_end - 1], b' ' | b'\t') {
            name_end -= 1;
        }
        let mut name_start = name_end;
        while name_start > 0
            && !matches!(
                bytes[name_start - 1],
                b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'{' | b'}'
            )
        {
            name_start -= 1;
        }
        let Some(name) = text
            .get(name_start..name_end)
            .filter(|n| !n.is_empty() && n.len() <= 64)
        else {
            continue;
        };
        let body_end = match memchr::memchr(b'}', bytes.get(brace..).unwrap_or_default()) {
            Some(p) if p <= 256 => brace + p,
            _ => continue,
        };
        let body: String = text
            .get(brace + 1..body_end)
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if !body.contains(&format!("{name}|{name}")) || !body.contains('&') {
            continue;
        }
        let mut call = skip_ws(body_end + 1);
        while matches!(bytes.get(call), Some(b';' | b' ' | b'\t' | b'\n')) {
            call += 1;
        }
        if text.get(call..).is_some_and(|rest| rest.starts_with(name)) {
            return Some((name_start, call + name.len()));
        }
    }
    None
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while at < text.len() && !text.is_char_boundary(at) {
        at += 1;
    }
    at
}
