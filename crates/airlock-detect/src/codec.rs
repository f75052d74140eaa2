//! Small decoders shared by several detectors. Kept separate from the `encoding` detector,
//! which finds and rescans encoded payloads; these only turn bytes into bytes.

/// Decodes standard or URL-safe base64 (both alphabets at once, as hand-written attack strings
/// and token formats mix them), tolerant of non-zero trailing bits. With `skip_padding_and_space`
/// the characters `=`, space, tab, CR and LF are ignored wherever they appear (shell input such
/// as `echo … | base64 -d`); otherwise they make the input invalid. `None` on any other
/// character.
pub(crate) fn decode_base64_lenient(input: &[u8], skip_padding_and_space: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in input {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' | b' ' | b'\n' | b'\r' | b'\t' if skip_padding_and_space => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_both_alphabets_and_skips_space_only_when_asked() {
        assert_eq!(
            decode_base64_lenient(b"_-8", false).unwrap(),
            vec![0xff, 0xef]
        );
        assert_eq!(
            decode_base64_lenient(b"cm0g\nLXJm", true).unwrap(),
            b"rm -rf"
        );
        assert!(decode_base64_lenient(b"cm0g\nLXJm", false).is_none());
        assert!(decode_base64_lenient(b"a*b", true).is_none());
    }
}
