//! What a candidate value looks like: randomness (Shannon entropy, character classes),
//! placeholders and references that only name a secret, code expressions, and the checksums
//! some token formats carry. Every function here is total and allocation-light: they run on
//! each candidate the prefilter lets through.

/// Shannon entropy of the bytes of `value`, in bits per byte.
pub(super) fn entropy(value: &str) -> f64 {
    let bytes = value.as_bytes();
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let len = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / len;
            -p * p.log2()
        })
        .sum()
}

/// How many characters of each class a value has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Classes {
    pub lower: usize,
    pub upper: usize,
    pub digit: usize,
    pub other: usize,
}

impl Classes {
    pub(super) fn of(value: &str) -> Classes {
        let mut classes = Classes::default();
        for b in value.bytes() {
            match b {
                b'a'..=b'z' => classes.lower += 1,
                b'A'..=b'Z' => classes.upper += 1,
                b'0'..=b'9' => classes.digit += 1,
                _ => classes.other += 1,
            }
        }
        classes
    }

    /// How many of the four classes occur.
    pub(super) fn kinds(self) -> usize {
        [self.lower, self.upper, self.digit, self.other]
            .iter()
            .filter(|&&n| n > 0)
            .count()
    }

    pub(super) fn letters(self) -> usize {
        self.lower + self.upper
    }
}

/// Fragments that mark a value as a stand-in for a secret rather than a secret: documentation
/// examples, template slots, masked output. Matched case-insensitively anywhere in the value;
/// each is long or odd enough that a random token contains it with negligible probability.
const PLACEHOLDER_FRAGMENTS: &[&str] = &[
    "example",
    "sample",
    "placeholder",
    "dummy",
    "changeme",
    "change_me",
    "change-me",
    "changeit",
    "your_",
    "your-",
    "yourkey",
    "yourtoken",
    "yoursecret",
    "yourpass",
    "yourapi",
    "youraccess",
    "insert",
    "replace",
    "redacted",
    "xxxx",
    "****",
    "...",
    "####",
    "fake",
    "notreal",
    "not_real",
    "not-real",
    "todo",
    "fixme",
    "_here",
    "-here",
    "here_",
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "access_key",
    "private_key",
    "lorem",
    "ipsum",
    "foobar",
    "qwerty",
    "asdf",
    "abc123",
    "1234",
    "abcd",
    "a1b2c3",
    "xmpl",
    "deadbeef",
    "cafebabe",
];

/// Whole values (after dropping trailing digits and punctuation) that are defaults or
/// teaching examples, never worth reporting as a leaked password.
const WEAK_DEFAULTS: &[&str] = &[
    "admin",
    "administrator",
    "root",
    "toor",
    "guest",
    "default",
    "letmein",
    "welcome",
    "user",
    "username",
    "pass",
    "none",
    "null",
    "nil",
    "undefined",
    "true",
    "false",
    "empty",
    "string",
    "value",
    "key",
    "foo",
    "bar",
    "baz",
    "demo",
    "test",
    "testing",
    "tester",
    "secret",
    "password",
    "changeme",
    "hunter",
    "qwerty",
    "master",
    "login",
    "abc",
    "xyz",
    "postgres",
    "mysql",
    "redis",
    "rabbitmq",
    "mongo",
    "guest",
    "sa",
    "example",
    "required",
    "optional",
    "anonymous",
    "anoncvs",
];

/// Whether `value` is a placeholder: a template slot, an example, masked output, a run of
/// one character or a keyboard or alphabet sequence.
pub(super) fn is_placeholder(value: &str, extra_stop_words: &[String]) -> bool {
    if has_placeholder_fragment(value, extra_stop_words) {
        return true;
    }
    let lower = value.to_ascii_lowercase();
    // `P@ssw0rd`, `s3cr3t`: the classic examples, spelled with digits and symbols.
    if deleet(&lower).map(|plain| {
        ["passw", "secret", "changeme", "letmein", "admin"]
            .iter()
            .any(|word| plain.contains(word))
    }) == Some(true)
    {
        return true;
    }
    // `test1234`, `my_test_key`; a long random value after `test_` is a test-mode key.
    if value.len() < 20
        && (lower.starts_with("test") || lower.ends_with("test") || lower.contains("_test"))
    {
        return true;
    }
    has_run(value.as_bytes()) || has_sequence(lower.as_bytes())
}

/// Whether `value` contains a placeholder fragment (see [`is_placeholder`]), without the
/// run and sequence tests: for formats whose random part legitimately holds runs
/// (macaroons, base64 of binary with zero bytes).
pub(super) fn has_placeholder_fragment(value: &str, extra_stop_words: &[String]) -> bool {
    let lower = value.to_ascii_lowercase();
    PLACEHOLDER_FRAGMENTS
        .iter()
        .any(|fragment| lower.contains(fragment))
        || extra_stop_words
            .iter()
            .any(|word| !word.is_empty() && lower.contains(&word.to_ascii_lowercase()))
}

/// The value with look-alike digits and symbols read as letters (`p4ssw0rd` → `password`),
/// or `None` when it has none.
fn deleet(lower: &str) -> Option<String> {
    let mut changed = false;
    let plain = lower
        .chars()
        .map(|c| {
            let letter = match c {
                '4' | '@' => 'a',
                '3' => 'e',
                '1' | '!' => 'i',
                '0' => 'o',
                '5' | '$' => 's',
                '7' => 't',
                _ => return c,
            };
            changed = true;
            letter
        })
        .collect();
    changed.then_some(plain)
}

/// Whether the value, stripped of trailing digits and punctuation, is a well-known default.
pub(super) fn is_weak_default(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    let core = lower.trim_end_matches(|c: char| !c.is_ascii_alphabetic());
    let core = core.trim_start_matches(|c: char| !c.is_ascii_alphabetic());
    core.is_empty() || WEAK_DEFAULTS.contains(&core)
}

/// Five or more of the same letter or digit in a row (`xxxxx`, `00000`): masked or filler.
fn has_run(bytes: &[u8]) -> bool {
    let mut run = 1;
    for pair in bytes.windows(2) {
        if pair[0] == pair[1] && pair[0].is_ascii_alphanumeric() {
            run += 1;
            if run >= 5 {
                return true;
            }
        } else {
            run = 1;
        }
    }
    false
}

/// Five or more consecutive letters or digits in alphabet order, either way (`12345`,
/// `abcde`, `98765`): typed by a person, not drawn at random. `bytes` must be lower case.
fn has_sequence(bytes: &[u8]) -> bool {
    let (mut up, mut down) = (1, 1);
    for pair in bytes.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let same_kind = (a.is_ascii_digit() && b.is_ascii_digit())
            || (a.is_ascii_lowercase() && b.is_ascii_lowercase());
        up = if same_kind && b == a.wrapping_add(1) {
            up + 1
        } else {
            1
        };
        down = if same_kind && a == b.wrapping_add(1) {
            down + 1
        } else {
            1
        };
        if up >= 5 || down >= 5 {
            return true;
        }
    }
    false
}

/// Whether the value names a secret instead of holding one: an environment or template
/// variable, a secret-store lookup, a format string.
pub(super) fn is_reference(value: &str) -> bool {
    let first = value.as_bytes().first().copied().unwrap_or(b' ');
    if matches!(
        first,
        b'$' | b'%' | b'{' | b'<' | b'[' | b'(' | b'#' | b'&' | b'*'
    ) {
        return true;
    }
    const MARKERS: &[&str] = &[
        "${",
        "{{",
        "}}",
        "%(",
        "$(",
        "{%",
        "%s",
        "%}",
        "process.env",
        "os.environ",
        "getenv",
        "env(",
        "env[",
        "secrets.",
        "vars.",
        "!ref",
        "!sub",
        "vault:",
        "arn:aws",
    ];
    let lower = value.to_ascii_lowercase();
    MARKERS.iter().any(|marker| lower.contains(marker))
}

/// Whether a value names something instead of being a secret: a dotted path
/// (`self.password`, `config.api.token`, `"StreamDescription.Shards"`) or words
/// (`getToken`, `lengthComputable`).
pub(super) fn is_code_identifier(value: &str) -> bool {
    let bytes = value.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return false;
    }
    if !bytes
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
    {
        return false;
    }
    let segments: Vec<&str> = value.split('.').collect();
    let dotted = segments.len() > 1 && segments.iter().all(|segment| is_name(segment));
    dotted || looks_like_words(value)
}

/// Whether an unquoted value is code: a path (`crate::net::Creds`), or an identifier with
/// no digits or snake-case with few (`btrfs_ioctl_search_key`, `__u64`). Literal secrets in
/// code are quoted; unquoted ones (env files, YAML, flags) nearly always hold digits.
pub(super) fn is_unquoted_code(value: &str) -> bool {
    if value.starts_with('!') || value.contains("::") || value.contains("->") {
        return true;
    }
    let bytes = value.as_bytes();
    let identifier = bytes
        .first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
    let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count();
    let letters = bytes.iter().filter(|b| b.is_ascii_alphabetic()).count();
    identifier
        && (digits == 0
            || (bytes.contains(&b'_') && digits <= 3)
            // `PKCS12PrivateKeyTypes`: a type name, one hump per word.
            || (digits <= 2 && humps(value) >= 1 && humps(value) * 4 <= letters))
}

/// One segment of a dotted path that names something: a short name (`os`, `cfg`), words
/// (`password`, `apiKey`, `api_token`) or a constant (`SECRET_KEY`).
fn is_name(segment: &str) -> bool {
    let Some(&first) = segment.as_bytes().first() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return false;
    }
    segment.len() <= 4
        || is_constant_name(segment)
        || looks_like_words(segment)
        || segment
            .split('_')
            .all(|part| part.len() <= 3 || word_like(&part.to_ascii_lowercase()))
}

/// `UPPER_SNAKE_CASE` made of words: the name of a constant or variable, such as
/// `ADD_YOUR_TOKEN_HERE` or `DB_PASSWORD`.
pub(super) fn is_constant_name(value: &str) -> bool {
    let bytes = value.as_bytes();
    if !bytes
        .iter()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
        || !bytes.contains(&b'_')
    {
        return false;
    }
    value
        .split('_')
        .filter(|segment| segment.len() >= 3)
        .all(|segment| {
            let lower = segment.to_ascii_lowercase();
            word_like(&lower)
        })
}

fn is_vowel(b: u8) -> bool {
    matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

/// Whether a run of lower-case letters reads like a word: a plausible share of vowels and
/// no long consonant cluster.
fn word_like(run: &str) -> bool {
    let bytes = run.as_bytes();
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_alphabetic) {
        return false;
    }
    let vowels = bytes.iter().filter(|&&b| is_vowel(b)).count();
    let ratio = vowels as f64 / bytes.len() as f64;
    let mut cluster = 0;
    let mut longest = 0;
    for &b in bytes {
        if is_vowel(b) {
            cluster = 0;
        } else {
            cluster += 1;
            longest = longest.max(cluster);
        }
    }
    (0.1..=0.8).contains(&ratio) && longest <= 4
}

/// Whether a value is made of words (`correct-horse-battery`, `MySecretValue`,
/// `Summer2024!`) rather than drawn at random. Letters split at non-letters and camel-case
/// humps; every run of three or more letters must read like a word, digits may only trail
/// or lead, and there must be at least one run of four.
pub(super) fn looks_like_words(value: &str) -> bool {
    let classes = Classes::of(value);
    if classes.letters() * 2 < value.len() || classes.digit > 4 {
        return false;
    }
    let bytes = value.as_bytes();
    let mut runs: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut digit_breaks = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b.is_ascii_alphabetic() {
            let prev = if i > 0 { bytes[i - 1] } else { b' ' };
            let next = bytes.get(i + 1).copied().unwrap_or(b' ');
            let hump = b.is_ascii_uppercase()
                && (prev.is_ascii_lowercase()
                    || (prev.is_ascii_uppercase() && next.is_ascii_lowercase()));
            if hump && !current.is_empty() {
                runs.push(std::mem::take(&mut current));
            }
            current.push(b.to_ascii_lowercase() as char);
        } else {
            if b.is_ascii_digit() && !current.is_empty() && i + 1 < bytes.len() {
                digit_breaks += 1;
            }
            if !current.is_empty() {
                runs.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    if digit_breaks > 1 {
        return false;
    }
    // Random mixed case has a hump every few letters (`suSrbFtydiGdS`); identifiers have
    // one per word (`usedRepositoryInPkgJson`).
    let letters: usize = runs.iter().map(String::len).sum();
    if runs.is_empty() || humps(value) * 4 > letters || letters < 3 * runs.len() {
        return false;
    }
    // Runs of up to three letters pass: abbreviations (`pkg`, `xml`, `cfg`) have no vowels.
    let mut long_run = false;
    for run in runs.iter().filter(|run| run.len() >= 4) {
        if !word_like(run) && !ABBREVIATIONS.contains(&run.as_str()) {
            return false;
        }
        long_run = true;
    }
    long_run
}

/// Vowel-less words of four letters or more that identifiers are made of.
const ABBREVIATIONS: &[&str] = &[
    "http", "https", "html", "xhtml", "smtp", "sftp", "ntlm", "pkcs", "hmac", "scss", "mqtt",
    "grpc", "xmlns", "cstr", "ctrl", "html5", "nfts", "pgsql", "mysql", "sqls",
];

/// Lower-case letters directly followed by an upper-case one (`aB`): camel-case humps.
pub(super) fn humps(value: &str) -> usize {
    value
        .as_bytes()
        .windows(2)
        .filter(|pair| pair[0].is_ascii_lowercase() && pair[1].is_ascii_uppercase())
        .count()
}

/// File extensions that mark a value as a file name (`server.key`, `export-i-1.ova`).
const FILE_EXTENSIONS: &[&str] = &[
    "ova", "zip", "tar", "gz", "tgz", "bz2", "xz", "json", "yaml", "yml", "xml", "txt", "csv",
    "log", "pdf", "png", "jpg", "jpeg", "gif", "svg", "html", "htm", "js", "ts", "py", "rs", "go",
    "java", "war", "jar", "exe", "dll", "so", "bin", "iso", "img", "vmdk", "vhd", "conf", "cfg",
    "ini", "env", "pem", "key", "crt", "cer", "der", "p12", "pfx", "jks", "md", "sh", "sql", "db",
    "toml", "lock", "gpg", "asc", "pub",
];

/// Whether a value is a file path or object key (`/etc/app.conf`, `my-app/build.war`,
/// `logs/2024/`, `server.key`), not a credential.
pub(super) fn is_path(value: &str) -> bool {
    if ["/", "./", "../", "~/"]
        .iter()
        .any(|p| value.starts_with(p))
    {
        return true;
    }
    if let Some(dot) = value.rfind('.')
        && dot > 0
        && FILE_EXTENSIONS.contains(&&value[dot + 1..])
    {
        return true;
    }
    let Some(slash) = value.rfind('/') else {
        return false;
    };
    let last = &value[slash + 1..];
    let extension = last.rfind('.').is_some_and(|dot| {
        let ext = &last[dot + 1..];
        (2..=5).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_lowercase())
    });
    extension || (last.is_empty() && !value.contains('='))
}

/// Whether a UUID appears anywhere in the value (`cf-2e351785-e821-450c-9d58-625e1e1ebfb6`).
pub(super) fn contains_uuid(value: &str) -> bool {
    value.len() >= 36 && (0..=value.len() - 36).any(|i| value.get(i..i + 36).is_some_and(is_uuid))
}

/// `8-4-4-4-12` hexadecimal.
pub(super) fn is_uuid(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

pub(super) fn is_hex(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(super) fn is_digits(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
}

/// The entropy a random body of `len` characters should at least reach: most of the
/// maximum a string that short can have, capped at three bits.
pub(super) fn min_body_entropy(len: usize) -> f64 {
    if len < 2 {
        return 0.0;
    }
    (0.6 * (len as f64).log2()).min(3.0)
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The GitHub (and npm) token checksum: the last six characters are the CRC32 of the random
/// part, written in base 62 and left-padded with zeros.
/// <https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/>
pub(super) fn base62_crc32_matches(random: &str, checksum: &str) -> bool {
    if checksum.len() != 6 {
        return false;
    }
    let mut n = crc32fast::hash(random.as_bytes());
    let mut encoded = [b'0'; 6];
    for slot in encoded.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    n == 0 && encoded == checksum.as_bytes()
}

/// Decodes standard or URL-safe base64, padded or not. `None` on any other character or an
/// impossible length. Tolerant of non-zero trailing bits, as token parsers are.
pub(super) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.trim_end_matches('=');
    if trimmed.len() % 4 == 1 {
        return None;
    }
    crate::codec::decode_base64_lenient(trimmed.as_bytes(), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_separates_random_from_repetitive() {
        assert!(entropy("aaaaaaaa") < 0.01);
        assert!(entropy("xkg98tnp12xdcc6esqj8z-iqk9mt4yw6") > 4.0);
    }

    #[test]
    fn placeholders_are_recognised() {
        for value in [
            "changeme",
            "<your-key-here>",
            "xxxxxxxxxxxx",
            "AKIAIOSFODNN7EXAMPLE",
            "ADD_YOUR_TOKEN_HERE",
            "123456789",
            "abcdefgh",
            "my-dummy-value",
            "P4ssw0rd!",
            "s3cr3t-value",
        ] {
            assert!(is_placeholder(value, &[]), "{value}");
        }
        for value in [
            "xkg98tnp12xdcc6esqj8z-iqk9mt4yw6",
            "Xk29!vLq8Tz",
            "wJalrXUtnFEMI/K7MDENG",
        ] {
            assert!(!is_placeholder(value, &[]), "{value}");
        }
        assert!(is_placeholder("acme-internal-value", &["ACME".to_owned()]));
    }

    #[test]
    fn words_are_not_random() {
        for value in [
            "correct-horse-battery",
            "MySecretValue",
            "Summer2024!",
            "getToken",
        ] {
            assert!(looks_like_words(value), "{value}");
        }
        for value in [
            "xkg98tnp12xdcc6esqj8z",
            "uouwt2o1q4oemw",
            "yqDVtkqPECriaLRi",
            "P4ssw0rd",
        ] {
            assert!(!looks_like_words(value), "{value}");
        }
    }

    #[test]
    fn references_and_code_are_not_literals() {
        for value in [
            "${SECRET}",
            "$API_KEY",
            "{{ .Values.password }}",
            "<token>",
            "%(pw)s",
        ] {
            assert!(is_reference(value), "{value}");
        }
        for value in ["self.password", "config.api.token", "getToken"] {
            assert!(is_code_identifier(value), "{value}");
        }
        assert!(is_constant_name("ADD_YOUR_HUGGING_FACE_TOKEN_HERE"));
        assert!(!is_constant_name("AKIALALEMEL33243OLIB"));
    }

    #[test]
    fn base62_checksum_matches_crc32_of_random_part() {
        // 30 random characters, then base62(crc32) = six characters.
        let random = "a".repeat(30);
        let mut n = crc32fast::hash(random.as_bytes());
        let mut check = [b'0'; 6];
        for slot in check.iter_mut().rev() {
            *slot = BASE62[(n % 62) as usize];
            n /= 62;
        }
        let check = String::from_utf8(check.to_vec()).unwrap();
        assert!(base62_crc32_matches(&random, &check));
        assert!(!base62_crc32_matches(&random, "000000"));
    }

    #[test]
    fn base64_decodes_both_alphabets_with_or_without_padding() {
        assert_eq!(
            decode_base64("eyJhbGciOiJIUzI1NiJ9").unwrap(),
            br#"{"alg":"HS256"}"#
        );
        assert_eq!(decode_base64("YnJvd3Nlcjo=").unwrap(), b"browser:");
        assert_eq!(decode_base64("_-8").unwrap(), vec![0xff, 0xef]);
        assert!(decode_base64("a b").is_none());
    }
}
