//! JSON Lines input shared by `scan --jsonl` and `eval`: read one line at a time (never the
//! whole file), parse each into a [`RawRecord`], and turn every problem into one clear
//! message per line (`line 7: missing field "text"`) so that a bad line is reported and
//! skipped without stopping the run.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use airlock_core::EventKind;
use anyhow::{Context, Result};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// Opens `path` for reading line by line; `-` is stdin.
pub fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(io::stdin().lock()));
    }
    let file = File::open(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    Ok(Box::new(BufReader::with_capacity(256 * 1024, file)))
}

/// Reads non-blank lines with their 1-based numbers, line endings and a leading byte-order
/// mark removed.
#[derive(Debug)]
pub struct Lines<R> {
    reader: R,
    buffer: Vec<u8>,
    number: usize,
}

impl<R: BufRead> Lines<R> {
    /// Lines of `reader`.
    pub fn new(reader: R) -> Self {
        Lines {
            reader,
            buffer: Vec::new(),
            number: 0,
        }
    }

    /// The next non-blank line and its number, `None` at the end.
    pub fn next_line(&mut self) -> io::Result<Option<(usize, &[u8])>> {
        loop {
            self.buffer.clear();
            if self.reader.read_until(b'\n', &mut self.buffer)? == 0 {
                return Ok(None);
            }
            self.number += 1;
            let buffer = &self.buffer;
            let mut start = 0;
            if self.number == 1 && buffer.starts_with(b"\xEF\xBB\xBF") {
                start = 3;
            }
            let mut end = buffer.len();
            for ending in [b'\n', b'\r'] {
                if end > start && buffer[end - 1] == ending {
                    end -= 1;
                }
            }
            if buffer[start..end].iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Ok(Some((self.number, &self.buffer[start..end])));
        }
    }
}

/// One input line as written. Every field is kept raw so that a wrong type gets a message
/// naming the field, and `id` can be echoed back byte for byte. Other fields are ignored.
#[derive(Debug, Deserialize)]
pub struct RawRecord<'a> {
    #[serde(default, borrow, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    text: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    label: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    source: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    split: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    context: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    kind: Option<&'a RawValue>,
}

/// Maps a present field to `Some`, even when its value is `null`: only a missing field is
/// `None` (through `#[serde(default)]`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(deserializer).map(Some)
}

/// Parses one line, or says what is wrong with it.
pub fn parse(line: &[u8]) -> Result<RawRecord<'_>, String> {
    // A struct also deserialises from a JSON array; records must be objects.
    if line.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return match serde_json::from_slice::<serde::de::IgnoredAny>(line) {
            Err(err) => Err(json_error(&err)),
            Ok(_) => Err("expected a JSON object".to_owned()),
        };
    }
    serde_json::from_slice(line).map_err(|err| json_error(&err))
}

fn json_error(err: &serde_json::Error) -> String {
    let message = err.to_string();
    // Every line is parsed alone, so serde_json's "at line 1 column N" only needs the column.
    let message = match message.rfind(" at line ") {
        Some(at) => &message[..at],
        None => &message,
    };
    if err.is_data() {
        message.to_owned()
    } else {
        format!("invalid JSON: {message} (column {})", err.column())
    }
}

/// The fields a record turned out to have, checked; built with [`RawRecord::check`].
#[derive(Debug)]
pub struct Record<'a> {
    /// The id exactly as written (any JSON value).
    pub id: &'a RawValue,
    /// The text to scan.
    pub text: String,
    /// 0 or 1, when asked for.
    pub label: Option<bool>,
    /// Where the record came from, when present.
    pub source: Option<String>,
    /// The record's split, when present.
    pub split: Option<String>,
    /// The context to scan it in, when the record names one.
    pub context: Option<EventKind>,
    /// What the text is in the shared data (`indirect_injection`, `benign_prompt`, …), when
    /// present; see [`airlock_detect::labelled::context_for_kind`].
    pub kind: Option<String>,
}

impl<'a> RawRecord<'a> {
    /// Checks the fields: `id` and `text` always required, `label` when `need_label`.
    /// Reports every problem of the line at once.
    pub fn check(self, need_label: bool) -> Result<Record<'a>, String> {
        let mut problems = Vec::new();
        if self.id.is_none() {
            problems.push(r#"missing field "id""#.to_owned());
        }
        let text = match self.text {
            None => {
                problems.push(r#"missing field "text""#.to_owned());
                None
            }
            Some(raw) => string_field("text", raw, &mut problems),
        };
        let label = match self.label {
            None if need_label => {
                problems.push(r#"missing field "label""#.to_owned());
                None
            }
            None => None,
            Some(raw) => match raw.get() {
                "1" | "true" => Some(true),
                "0" | "false" => Some(false),
                other => {
                    problems.push(format!(
                        r#"field "label" must be 0 or 1 (or false/true), got {}"#,
                        shorten(other)
                    ));
                    None
                }
            },
        };
        let source = self
            .source
            .and_then(|raw| string_field("source", raw, &mut problems));
        let split = self
            .split
            .and_then(|raw| string_field("split", raw, &mut problems));
        let kind = self
            .kind
            .and_then(|raw| string_field("kind", raw, &mut problems));
        let context = self.context.and_then(|raw| {
            serde_json::from_str::<EventKind>(raw.get())
                .map_err(|_| {
                    problems.push(format!(
                        r#"field "context" must be one of "prompt", "tool_call", "tool_result", "retrieved_document", "completion", "file"; got {}"#,
                        shorten(raw.get())
                    ));
                })
                .ok()
        });
        match (self.id, text) {
            (Some(id), Some(text)) if problems.is_empty() => Ok(Record {
                id,
                text,
                label,
                source,
                split,
                context,
                kind,
            }),
            _ => Err(problems.join("; ")),
        }
    }
}

fn string_field(name: &str, raw: &RawValue, problems: &mut Vec<String>) -> Option<String> {
    match serde_json::from_str::<String>(raw.get()) {
        Ok(value) => Some(value),
        Err(_) => {
            problems.push(format!(
                r#"field "{name}" must be a string, got {}"#,
                shorten(raw.get())
            ));
            None
        }
    }
}

/// A value for an error message: never more than 40 characters of input.
fn shorten(raw: &str) -> String {
    let mut chars = raw.chars();
    let head: String = chars.by_ref().take(40).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(line: &str) -> Result<Record<'_>, String> {
        parse(line.as_bytes())?.check(false)
    }

    #[test]
    fn echoes_id_exactly_and_reads_text() {
        let record = check(r#"{"id": 1.50, "text": "a\nb", "extra": [1]}"#).unwrap();
        assert_eq!(record.id.get(), "1.50");
        assert_eq!(record.text, "a\nb");
    }

    #[test]
    fn names_each_problem_of_a_line() {
        assert_eq!(
            check(r#"{"id": 1}"#).unwrap_err(),
            r#"missing field "text""#
        );
        assert_eq!(
            check(r#"{"text": 5}"#).unwrap_err(),
            r#"missing field "id"; field "text" must be a string, got 5"#
        );
        assert_eq!(check("[1, 2]").unwrap_err(), "expected a JSON object");
        let err = check(r#"{"id": 1, "text": "x""#).unwrap_err();
        assert!(err.starts_with("invalid JSON: EOF while parsing"), "{err}");
        let err = parse(br#"{"id": 1, "text": "x", "label": 2}"#)
            .unwrap()
            .check(true)
            .unwrap_err();
        assert!(err.contains(r#"field "label" must be 0 or 1"#), "{err}");
    }

    #[test]
    fn null_id_is_present() {
        assert_eq!(
            check(r#"{"id": null, "text": ""}"#).unwrap().id.get(),
            "null"
        );
    }

    #[test]
    fn reads_numbered_non_blank_lines() {
        let input: &[u8] = b"\xEF\xBB\xBF{\"a\":1}\r\n\n  \n{\"b\":2}";
        let mut lines = Lines::new(input);
        assert_eq!(lines.next_line().unwrap(), Some((1, &b"{\"a\":1}"[..])));
        assert_eq!(lines.next_line().unwrap(), Some((4, &b"{\"b\":2}"[..])));
        assert_eq!(lines.next_line().unwrap(), None);
    }
}
