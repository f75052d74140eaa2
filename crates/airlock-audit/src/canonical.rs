//! Canonical JSON: object keys sorted by their UTF-8 bytes, no whitespace, strings escaped as
//! serde_json escapes them, numbers as serde_json prints them. Written by hand rather than
//! relying on `serde_json::Value`'s map order, because another crate in the build can switch
//! on serde_json's `preserve_order` feature and silently change the bytes that get hashed.

use serde_json::Value;

/// The canonical text of `value`.
pub fn to_canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => out.push_str(&number.to_string()),
        Value::String(text) => write_string(text, out),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_value(item, out);
            }
            out.push('}');
        }
    }
}

fn write_string(text: &str, out: &mut String) {
    // Serialising a &str cannot fail; fall back to an escaped debug form just in case so the
    // function stays total.
    match serde_json::to_string(text) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str(&format!("{text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_keys_at_every_depth_and_drops_whitespace() {
        let value: Value =
            serde_json::from_str(r#"{ "b": 1, "a": { "z": [true, null], "y": "x\n" } }"#).unwrap();
        assert_eq!(
            to_canonical_json(&value),
            r#"{"a":{"y":"x\n","z":[true,null]},"b":1}"#
        );
    }
}
