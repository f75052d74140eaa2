//! The string values of a JSON document (a tool call's arguments), decoded, each with the
//! property it belongs to and a map from decoded bytes back to the document, so that a command
//! found in `{"command": "rm -rf \"$HOME\""}` is reported at its place in the JSON text.

const MAX_DEPTH: usize = 64;
const MAX_ITEMS: usize = 10_000;

/// One decoded JSON string.
#[derive(Debug, Clone)]
pub(crate) struct JsonString {
    pub decoded: String,
    /// Byte offset in the document of the string's first content byte.
    pub raw_start: usize,
    /// Byte offset of its closing quote.
    pub raw_end: usize,
    /// Document offset of each decoded byte, plus one for the end; `None` when the string had
    /// no escapes (decoded offset + `raw_start`).
    pub map: Option<Vec<usize>>,
}

impl JsonString {
    /// The document offset of a decoded offset.
    pub(crate) fn to_document(&self, offset: usize) -> usize {
        match &self.map {
            None => self.raw_start + offset.min(self.decoded.len()),
            Some(map) => map.get(offset).copied().unwrap_or(self.raw_end),
        }
    }
}

/// What the walk found.
#[derive(Debug, Clone)]
pub(crate) enum Item {
    /// A string value under a property (lower-cased; empty at the top level).
    Value { key: String, value: JsonString },
    /// An array made only of strings: an argv when its property names a command.
    Array {
        key: String,
        values: Vec<JsonString>,
    },
    /// `{"command": "rm", "args": ["-rf", "/"]}`: a program and its arguments.
    Program {
        program: JsonString,
        args: Vec<JsonString>,
    },
}

enum Parsed {
    Str(JsonString),
    StrArray(Vec<JsonString>),
    Other,
}

/// The strings of `text` if it is one JSON object or array; `None` when it is not JSON.
pub(crate) fn walk(text: &str) -> Option<Vec<Item>> {
    let mut walker = Walker {
        b: text.as_bytes(),
        pos: 0,
        items: Vec::new(),
    };
    walker.ws();
    if !matches!(walker.b.get(walker.pos), Some(b'{' | b'[')) {
        return None;
    }
    match walker.value("", 0)? {
        Parsed::StrArray(values) => walker.push(Item::Array {
            key: String::new(),
            values,
        }),
        Parsed::Str(value) => walker.push(Item::Value {
            key: String::new(),
            value,
        }),
        Parsed::Other => {}
    }
    walker.ws();
    (walker.pos == walker.b.len()).then_some(walker.items)
}

struct Walker<'a> {
    b: &'a [u8],
    pos: usize,
    items: Vec<Item>,
}

const PROGRAM_KEYS: &[&str] = &["command", "cmd", "executable", "program", "file", "bin"];
const ARGS_KEYS: &[&str] = &["args", "argv", "arguments", "params"];

impl Walker<'_> {
    fn push(&mut self, item: Item) {
        if self.items.len() < MAX_ITEMS {
            self.items.push(item);
        }
    }

    fn ws(&mut self) {
        while matches!(self.b.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn value(&mut self, key: &str, depth: usize) -> Option<Parsed> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match self.b.get(self.pos)? {
            b'{' => self.object(depth).map(|()| Parsed::Other),
            b'[' => self.array(key, depth),
            b'"' => self.string().map(Parsed::Str),
            _ => {
                let len = self.b[self.pos..]
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.'))
                    .count();
                if len == 0 {
                    return None;
                }
                self.pos += len;
                Some(Parsed::Other)
            }
        }
    }

    fn object(&mut self, depth: usize) -> Option<()> {
        self.pos += 1;
        let mut strings: Vec<(String, JsonString)> = Vec::new();
        let mut arrays: Vec<(String, Vec<JsonString>)> = Vec::new();
        self.ws();
        if self.b.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Some(());
        }
        loop {
            self.ws();
            if self.b.get(self.pos) != Some(&b'"') {
                return None;
            }
            let key = self.string()?.decoded.to_ascii_lowercase();
            self.ws();
            if self.b.get(self.pos) != Some(&b':') {
                return None;
            }
            self.pos += 1;
            match self.value(&key, depth + 1)? {
                Parsed::Str(value) => strings.push((key, value)),
                Parsed::StrArray(values) => arrays.push((key, values)),
                Parsed::Other => {}
            }
            self.ws();
            match self.b.get(self.pos)? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    break;
                }
                _ => return None,
            }
        }
        let program = strings
            .iter()
            .position(|(k, _)| PROGRAM_KEYS.contains(&k.as_str()));
        let args = arrays
            .iter()
            .position(|(k, _)| ARGS_KEYS.contains(&k.as_str()));
        if let (Some(p), Some(a)) = (program, args) {
            let (_, program) = strings.remove(p);
            let (_, args) = arrays.remove(a);
            self.push(Item::Program { program, args });
        }
        for (key, value) in strings {
            self.push(Item::Value { key, value });
        }
        for (key, values) in arrays {
            self.push(Item::Array { key, values });
        }
        Some(())
    }

    fn array(&mut self, key: &str, depth: usize) -> Option<Parsed> {
        self.pos += 1;
        let mut strings = Vec::new();
        let mut only_strings = true;
        self.ws();
        if self.b.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Some(Parsed::Other);
        }
        loop {
            match self.value(key, depth + 1)? {
                Parsed::Str(value) => strings.push(value),
                Parsed::StrArray(values) => {
                    only_strings = false;
                    for value in values {
                        self.push(Item::Value {
                            key: key.to_owned(),
                            value,
                        });
                    }
                }
                Parsed::Other => only_strings = false,
            }
            self.ws();
            match self.b.get(self.pos)? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    break;
                }
                _ => return None,
            }
        }
        if only_strings {
            return Some(Parsed::StrArray(strings));
        }
        for value in strings {
            self.push(Item::Value {
                key: key.to_owned(),
                value,
            });
        }
        Some(Parsed::Other)
    }

    fn string(&mut self) -> Option<JsonString> {
        self.pos += 1;
        let start = self.pos;
        let mut decoded: Vec<u8> = Vec::new();
        let mut map: Option<Vec<usize>> = None;
        loop {
            let c = *self.b.get(self.pos)?;
            match c {
                b'"' => break,
                b'\\' => {
                    let map = map.get_or_insert_with(|| (start..self.pos).collect());
                    let escape_at = self.pos;
                    let e = *self.b.get(self.pos + 1)?;
                    self.pos += 2;
                    let mut buf = [0u8; 4];
                    let bytes: &[u8] = match e {
                        b'"' => b"\"",
                        b'\\' => b"\\",
                        b'/' => b"/",
                        b'b' => b"\x08",
                        b'f' => b"\x0c",
                        b'n' => b"\n",
                        b'r' => b"\r",
                        b't' => b"\t",
                        b'u' => {
                            let high = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&high)
                                && self.b.get(self.pos) == Some(&b'\\')
                                && self.b.get(self.pos + 1) == Some(&b'u')
                            {
                                let save = self.pos;
                                self.pos += 2;
                                match self.hex4() {
                                    Some(low) if (0xDC00..0xE000).contains(&low) => char::from_u32(
                                        0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00),
                                    ),
                                    _ => {
                                        self.pos = save;
                                        None
                                    }
                                }
                            } else {
                                char::from_u32(high)
                            };
                            c.unwrap_or('\u{FFFD}').encode_utf8(&mut buf).as_bytes()
                        }
                        _ => return None,
                    };
                    decoded.extend_from_slice(bytes);
                    map.extend(std::iter::repeat_n(escape_at, bytes.len()));
                }
                0..=0x1f => return None,
                _ => {
                    let run = self.b[self.pos..]
                        .iter()
                        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                        .unwrap_or(self.b.len() - self.pos);
                    decoded.extend_from_slice(&self.b[self.pos..self.pos + run]);
                    if let Some(map) = map.as_mut() {
                        map.extend(self.pos..self.pos + run);
                    }
                    self.pos += run;
                }
            }
        }
        let raw_end = self.pos;
        self.pos += 1;
        if let Some(map) = map.as_mut() {
            map.push(raw_end);
        }
        // Raw runs are copied whole between ASCII delimiters, so this is valid UTF-8 unless the
        // document itself was not; lossy keeps the map aligned only when nothing is replaced.
        let decoded = match String::from_utf8(decoded) {
            Ok(decoded) => decoded,
            Err(_) => return None,
        };
        Some(JsonString {
            decoded,
            raw_start: start,
            raw_end,
            map,
        })
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.b.get(self.pos..self.pos + 4)?;
        let mut value = 0;
        for &d in digits {
            value = value * 16 + (d as char).to_digit(16)?;
        }
        self.pos += 4;
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_decoded_offsets_back_to_the_document() {
        let text = r#"{"command": "echo \"hi\" && rm -rf /", "timeout": 5}"#;
        let items = walk(text).unwrap();
        let Item::Value { key, value } = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(key, "command");
        assert_eq!(value.decoded, r#"echo "hi" && rm -rf /"#);
        let at = value.decoded.find("rm").unwrap();
        let doc = value.to_document(at);
        assert_eq!(&text[doc..doc + 2], "rm");
        assert_eq!(
            value.to_document(value.decoded.len()),
            text.find(r#"", "t"#).unwrap()
        );
    }

    #[test]
    fn pairs_program_with_its_arguments() {
        let items = walk(r#"{"cmd": "rm", "args": ["-rf", "/"]}"#).unwrap();
        assert!(matches!(&items[0], Item::Program { args, .. } if args.len() == 2));
        assert!(walk("[not json").is_none());
        assert!(walk("plain text").is_none());
    }
}
