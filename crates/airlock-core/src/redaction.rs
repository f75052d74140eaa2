use std::fmt;

/// The text that replaces a redacted value: `[REDACTED:aws_access_key#1]`. The label is the
/// rule that found the value; the index numbers distinct values of that label within one
/// input, so the same value always gets the same placeholder and a reader can still tell
/// "the same key twice" from "two keys".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Placeholder {
    /// The rule id, e.g. `aws_access_key`.
    pub label: String,
    /// 1-based index of the distinct value within its label.
    pub index: usize,
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[REDACTED:{}#{}]", self.label, self.index)
    }
}

/// A form of a sensitive value that is safe to show: at most the first four characters of a
/// value of 16 or more characters (enough to tell `AKIA` from `ghp_`), the rest as `*`
/// capped at eight. Short values are masked entirely, since four characters of an eight-character
/// password are half of it.
pub fn mask_secret(value: &str) -> String {
    let chars = value.chars().count();
    let shown = if chars >= 16 { 4 } else { 0 };
    let mut masked: String = value.chars().take(shown).collect();
    masked.extend(std::iter::repeat_n('*', (chars - shown).min(8)));
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_format_is_stable() {
        let placeholder = Placeholder {
            label: "aws_access_key".into(),
            index: 1,
        };
        assert_eq!(placeholder.to_string(), "[REDACTED:aws_access_key#1]");
    }

    #[test]
    fn mask_never_reveals_short_values_and_caps_length() {
        assert_eq!(mask_secret("hunter22"), "********");
        assert_eq!(mask_secret("AKIAIOSFODNN7EXAMPLE"), "AKIA********");
        assert_eq!(mask_secret(""), "");
    }
}
