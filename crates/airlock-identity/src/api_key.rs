//! API keys: stored as SHA-256 digests, matched in constant time.
//!
//! A plain (unsalted) SHA-256 is enough because API keys are long random strings, not
//! passwords: there is nothing to guess from a dictionary. Keys must therefore carry at least
//! 128 bits of randomness (e.g. `openssl rand -base64 32`). The digest lets the config file be
//! read by more people than the keys themselves.

use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

use crate::config::ApiKeyEntry;

const PREFIX: &str = "sha256:";

/// The value to put in `[[identity.api_keys]] hash` for `key`: `sha256:<64 lower-case hex>`.
///
/// Without the CLI, the same value comes from `printf %s "$KEY" | sha256sum` (use `printf`, not
/// `echo`, which would hash a trailing newline too).
pub fn hash_api_key(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    format!("{PREFIX}{}", data_encoding::HEXLOWER.encode(&digest))
}

/// Parses `sha256:<64 hex digits>` (either case) into the digest.
pub(crate) fn parse_key_hash(text: &str) -> Option<[u8; 32]> {
    let hex = text.trim().strip_prefix(PREFIX)?;
    let bytes = data_encoding::HEXLOWER_PERMISSIVE
        .decode(hex.as_bytes())
        .ok()?;
    bytes.try_into().ok()
}

/// Finds the entry whose digest matches `key`. Every entry is compared, in constant time, so
/// the time taken does not reveal how much of a digest matched or which entry did.
pub(crate) fn find_key<'a>(entries: &'a [ApiKeyEntry], key: &str) -> Option<&'a ApiKeyEntry> {
    let presented: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    let mut found = None;
    for entry in entries {
        let hit: Choice = entry.digest.ct_eq(&presented);
        if bool::from(hit) && found.is_none() {
            found = Some(entry);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_sha256sum_of_the_key_without_newline() {
        // printf %s test | sha256sum
        assert_eq!(
            hash_api_key("test"),
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
    }

    #[test]
    fn parses_hash_in_either_case_and_rejects_other_shapes() {
        let lower = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let upper = "sha256:9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
        assert!(parse_key_hash(lower).is_some());
        assert_eq!(parse_key_hash(lower), parse_key_hash(upper));
        assert_eq!(
            parse_key_hash("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
            None
        );
        assert_eq!(parse_key_hash("sha256:9f86"), None);
        assert_eq!(parse_key_hash("sk-live-the-key-itself"), None);
    }
}
