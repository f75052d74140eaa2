//! The audit key: 32 secret bytes that key the argument fingerprints and authenticate the
//! chain head. Whoever holds it can forge a head, so keep the key file where the database's
//! writers-by-other-means cannot read it (another volume, a secret store), and give verifiers
//! a copy.

use std::fmt;
use std::io::Write;
use std::path::Path;

use data_encoding::HEXLOWER;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::AuditError;

type HmacSha256 = Hmac<Sha256>;

/// A 256-bit HMAC key. Its `Debug` form never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditKey([u8; 32]);

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditKey(id {})", self.id())
    }
}

impl AuditKey {
    /// A key from its bytes (for tests and for callers that keep the key in a secret store).
    pub fn from_bytes(bytes: [u8; 32]) -> AuditKey {
        AuditKey(bytes)
    }

    /// A fresh random key from the operating system.
    pub fn generate() -> Result<AuditKey, AuditError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|err| AuditError::Random(err.to_string()))?;
        Ok(AuditKey(bytes))
    }

    /// Reads a key file: 64 hex digits, surrounding whitespace ignored.
    pub fn load(path: &Path) -> Result<AuditKey, AuditError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuditError::Io {
            action: "read audit key",
            path: path.to_owned(),
            source,
        })?;
        let bad = |reason: &str| AuditError::BadKey {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        let bytes = HEXLOWER
            .decode(text.trim().to_ascii_lowercase().as_bytes())
            .map_err(|_| bad("expected 64 hex digits"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| bad("expected 64 hex digits (32 bytes)"))?;
        Ok(AuditKey(bytes))
    }

    /// Reads the key file, or creates it with a fresh key (mode 0600 on Unix) when absent.
    pub fn load_or_create(path: &Path) -> Result<AuditKey, AuditError> {
        if path.exists() {
            return AuditKey::load(path);
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| AuditError::Io {
                action: "create directory",
                path: parent.to_owned(),
                source,
            })?;
        }
        let key = AuditKey::generate()?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let io = |source| AuditError::Io {
            action: "create audit key",
            path: path.to_owned(),
            source,
        };
        let mut file = options.open(path).map_err(io)?;
        file.write_all(format!("{}\n", HEXLOWER.encode(&key.0)).as_bytes())
            .map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(key)
    }

    /// A public name for the key (first 16 hex digits of a hash of it), stored in the log so a
    /// wrong key is reported as such instead of as tampering.
    pub fn id(&self) -> String {
        let digest = Sha256::new()
            .chain_update(b"airlock-audit-key-id-v1\0")
            .chain_update(self.0)
            .finalize();
        HEXLOWER.encode(&digest[..8])
    }

    /// HMAC-SHA256 of `parts` under a domain label, as lowercase hex.
    pub(crate) fn mac_hex(&self, domain: &[u8], parts: &[&[u8]]) -> String {
        HEXLOWER.encode(&self.mac(domain, parts))
    }

    fn mac(&self, domain: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        // new_from_slice accepts any key length for HMAC; 32 bytes cannot fail.
        let mut mac = match HmacSha256::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => return Vec::new(),
        };
        mac.update(domain);
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    }

    /// Whether `tag_hex` is the MAC of `parts`, compared in constant time.
    pub(crate) fn verify_hex(&self, domain: &[u8], parts: &[&[u8]], tag_hex: &str) -> bool {
        let Ok(tag) = HEXLOWER.decode(tag_hex.as_bytes()) else {
            return false;
        };
        let Ok(mut mac) = HmacSha256::new_from_slice(&self.0) else {
            return false;
        };
        mac.update(domain);
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.verify_slice(&tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_a_private_key_file_once_and_reads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/audit.key");
        let created = AuditKey::load_or_create(&path).unwrap();
        let again = AuditKey::load_or_create(&path).unwrap();
        assert_eq!(created, again);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "key file readable by others: {mode:o}");
        }
        assert!(!format!("{created:?}").contains(&HEXLOWER.encode(&created.0)));
    }

    #[test]
    fn rejects_a_key_file_that_is_not_32_hex_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.key");
        std::fs::write(&path, "abcd\n").unwrap();
        let err = AuditKey::load(&path).unwrap_err();
        assert!(err.to_string().contains("64 hex digits"), "{err}");
    }
}
