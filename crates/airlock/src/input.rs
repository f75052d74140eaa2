//! Turning bytes from a file or stdin into text the scanner accepts, and byte offsets back
//! into line and column.
//!
//! Invalid UTF-8: every byte of an invalid sequence is replaced by U+001A SUBSTITUTE, a
//! one-byte character made for this purpose. Unlike U+FFFD (three bytes), this keeps every
//! byte offset, line and column identical to the original file, so a finding's `byteOffset`
//! points at the same bytes an editor or `dd` would show; and a value split by a stray byte is
//! not glued together into something the file never contained.

use airlock_core::Span;
use serde::Serialize;

/// How much of a file's start is examined for NUL bytes, as git and ripgrep do.
const BINARY_SNIFF_LEN: usize = 8 * 1024;

/// One-byte stand-in for each byte of an invalid UTF-8 sequence.
const SUBSTITUTE: char = '\u{1A}';

/// Whether `bytes` looks like a binary file: a NUL byte in the first 8 KB.
pub fn looks_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(BINARY_SNIFF_LEN)].contains(&0)
}

/// Text decoded from bytes, with the same byte offsets as the bytes.
#[derive(Debug)]
pub struct Decoded {
    /// The text; equal to the input where the input was valid UTF-8.
    pub text: String,
    /// Where invalid UTF-8 was replaced, if anywhere.
    pub invalid: Option<InvalidUtf8>,
}

/// Where a text held invalid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InvalidUtf8 {
    /// Byte offset of the first invalid byte.
    pub first_offset: usize,
    /// How many bytes were replaced in all.
    pub replaced_bytes: usize,
}

/// Decodes `bytes`, replacing each byte of every invalid sequence with U+001A.
pub fn decode(bytes: Vec<u8>) -> Decoded {
    let bytes = match String::from_utf8(bytes) {
        Ok(text) => {
            return Decoded {
                text,
                invalid: None,
            };
        }
        Err(err) => err.into_bytes(),
    };
    let mut text = String::with_capacity(bytes.len());
    let mut invalid: Option<InvalidUtf8> = None;
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        let bad = chunk.invalid().len();
        if bad > 0 {
            let stats = invalid.get_or_insert(InvalidUtf8 {
                first_offset: text.len(),
                replaced_bytes: 0,
            });
            stats.replaced_bytes += bad;
            text.extend(std::iter::repeat_n(SUBSTITUTE, bad));
        }
    }
    Decoded { text, invalid }
}

/// A 1-based line and column. Columns count Unicode scalar values (what a reader counts as
/// characters; SARIF's `unicodeCodePoints`), not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Position {
    /// 1-based line; lines end at `\n` (a preceding `\r` belongs to the line it ends).
    pub line: usize,
    /// 1-based column in characters.
    pub column: usize,
}

/// Start and end positions of a span; `end` is the position just after the last character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// Where the span starts.
    pub start: Position,
    /// The position after its last character.
    pub end: Position,
}

/// The line and column of the start and end of every span, in one pass over the text. Spans
/// are byte offsets into `text`; an offset off a character boundary (never produced by the
/// scanner) is counted as if it were at the next boundary, and offsets past the end clamp.
pub fn regions(text: &str, spans: &[Span]) -> Vec<Region> {
    let mut offsets: Vec<usize> = spans
        .iter()
        .flat_map(|span| [span.start, span.end])
        .map(|offset| offset.min(text.len()))
        .collect();
    offsets.sort_unstable();
    offsets.dedup();

    // Sweep forward once: line and column of each offset from the previous one.
    let mut positions = Vec::with_capacity(offsets.len());
    let bytes = text.as_bytes();
    let (mut cursor, mut line, mut column) = (0usize, 1usize, 1usize);
    for &offset in &offsets {
        let segment = &bytes[cursor..offset];
        match memrchr_newline(segment) {
            Some(last_newline) => {
                line += segment.iter().filter(|&&b| b == b'\n').count();
                column = 1 + count_chars(&segment[last_newline + 1..]);
            }
            None => column += count_chars(segment),
        }
        cursor = offset;
        positions.push(Position { line, column });
    }

    let position_of = |offset: usize| {
        let offset = offset.min(text.len());
        // `offsets` holds every span boundary, so the search always succeeds.
        let index = offsets.binary_search(&offset).unwrap_or_else(|index| index);
        positions.get(index).copied().unwrap_or(Position {
            line: line.max(1),
            column,
        })
    };
    spans
        .iter()
        .map(|span| Region {
            start: position_of(span.start),
            end: position_of(span.end),
        })
        .collect()
}

fn memrchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().rposition(|&b| b == b'\n')
}

/// Characters in a run of UTF-8 bytes: every byte that does not continue a character.
fn count_chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_in_first_8k_is_binary_later_is_not() {
        assert!(looks_binary(b"PK\x03\x04\0\0"));
        assert!(!looks_binary(b"plain text\n"));
        let mut late = vec![b'a'; BINARY_SNIFF_LEN];
        late.push(0);
        assert!(!looks_binary(&late));
    }

    #[test]
    fn invalid_utf8_keeps_byte_offsets() {
        let decoded = decode(b"ab\xff\xfecd\xc3".to_vec());
        assert_eq!(decoded.text, "ab\u{1a}\u{1a}cd\u{1a}");
        assert_eq!(decoded.text.len(), 7);
        assert_eq!(
            decoded.invalid,
            Some(InvalidUtf8 {
                first_offset: 2,
                replaced_bytes: 3
            })
        );
        assert!(decode(b"fine".to_vec()).invalid.is_none());
    }

    #[test]
    fn lines_and_character_columns() {
        let text = "first\r\nsé x\nthird";
        let x = text.find('x').unwrap();
        let third = text.find("third").unwrap();
        let found = regions(
            text,
            &[
                Span::new(x, x + 1),
                Span::new(0, 5),
                Span::new(third, text.len()),
            ],
        );
        assert_eq!(found[0].start, Position { line: 2, column: 4 });
        assert_eq!(found[0].end, Position { line: 2, column: 5 });
        assert_eq!(found[1].start, Position { line: 1, column: 1 });
        assert_eq!(found[1].end, Position { line: 1, column: 6 });
        assert_eq!(found[2].start, Position { line: 3, column: 1 });
        assert_eq!(found[2].end, Position { line: 3, column: 6 });
    }

    #[test]
    fn span_ending_after_newline_ends_at_next_line_start() {
        let found = regions("ab\ncd", &[Span::new(1, 3)]);
        assert_eq!(found[0].start, Position { line: 1, column: 2 });
        assert_eq!(found[0].end, Position { line: 2, column: 1 });
    }
}
