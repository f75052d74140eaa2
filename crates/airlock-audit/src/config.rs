use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::AuditError;

/// Where the log lives when nothing is configured.
pub const DEFAULT_PATH: &str = "airlock-data/audit.db";
/// The key file's name, next to the database unless configured.
pub const DEFAULT_KEY_FILE_NAME: &str = "audit.key";
const DEFAULT_MAX_BATCH: usize = 1024;
const MAX_BATCH_LIMIT: usize = 65_536;

/// The `[audit]` section as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuditConfig {
    /// SQLite database file; default `./airlock-data/audit.db`.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// File holding the 32-byte audit key as hex; default `audit.key` next to the database,
    /// created (mode 0600) on first open. Keep it off the database's volume where possible.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Most records one group commit writes; default 1024.
    #[serde(default)]
    pub max_batch: Option<usize>,
    /// What an acknowledged record must survive: `power_loss` (default; SQLite
    /// `synchronous=FULL`, an fsync per group commit) or `process_crash` (`synchronous=NORMAL`
    /// in WAL mode: survives a killed process, not a power cut or kernel crash; far lower
    /// latency on slow disks). SQLite only.
    #[serde(default)]
    pub durability: Option<String>,
    /// Write to PostgreSQL instead of SQLite (fleets): `path` is then unused.
    #[serde(default)]
    pub postgres: Option<RawPostgresConfig>,
}

/// What an acknowledged SQLite append survives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// Power loss and kernel crashes too: the WAL is fsynced at every commit.
    #[default]
    PowerLoss,
    /// A killed or crashed airlock process, but not a power cut: commits reach the OS, the
    /// WAL is fsynced at checkpoints.
    ProcessCrash,
}

/// `[audit.postgres]` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPostgresConfig {
    /// Connection string, e.g. `host=127.0.0.1 user=airlock dbname=audit`.
    #[serde(default)]
    pub url: Option<String>,
    /// This instance's log name (table prefix). Instances may share one (their batches take
    /// turns on the head table) or keep their own. Default `airlock_audit`.
    #[serde(default)]
    pub log: Option<String>,
}

/// Where a PostgreSQL log lives.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresConfig {
    /// Connection string (may hold a password; never printed).
    pub url: String,
    /// Log name: tables `<log>_records`, `<log>_head`, `<log>_meta`.
    pub log: String,
}

impl std::fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("log", &self.log)
            .finish()
    }
}

/// The validated audit configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    /// SQLite database file.
    pub path: PathBuf,
    /// Audit key file.
    pub key_file: PathBuf,
    /// Most records per group commit (1 to 65536).
    pub max_batch: usize,
    /// What an acknowledged SQLite append survives.
    pub durability: Durability,
    /// PostgreSQL instead of SQLite, when set.
    pub postgres: Option<PostgresConfig>,
}

impl Default for AuditConfig {
    fn default() -> AuditConfig {
        AuditConfig::at(DEFAULT_PATH)
    }
}

impl AuditConfig {
    /// A log at `path` with its key file beside it and default batching.
    pub fn at(path: impl Into<PathBuf>) -> AuditConfig {
        let path = path.into();
        AuditConfig {
            key_file: default_key_file(&path),
            path,
            max_batch: DEFAULT_MAX_BATCH,
            durability: Durability::PowerLoss,
            postgres: None,
        }
    }
}

/// `audit.key` in the database's directory.
pub fn default_key_file(db: &Path) -> PathBuf {
    db.parent()
        .unwrap_or_else(|| Path::new(""))
        .join(DEFAULT_KEY_FILE_NAME)
}

impl RawAuditConfig {
    /// Checks every value and reports all problems at once, each with its path under `audit`.
    pub fn validate(&self) -> Result<AuditConfig, AuditError> {
        let mut problems = Vec::new();
        let path = self
            .path
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_PATH));
        if path.as_os_str().is_empty() {
            problems.push("audit.path: must not be empty".to_owned());
        }
        if self
            .key_file
            .as_ref()
            .is_some_and(|file| file.as_os_str().is_empty())
        {
            problems.push("audit.key_file: must not be empty".to_owned());
        }
        let max_batch = self.max_batch.unwrap_or(DEFAULT_MAX_BATCH);
        if !(1..=MAX_BATCH_LIMIT).contains(&max_batch) {
            problems.push(format!(
                "audit.max_batch: {max_batch} is out of range; use 1 to {MAX_BATCH_LIMIT}"
            ));
        }
        if self.key_file.is_some() && self.key_file == Some(path.clone()) {
            problems.push("audit.key_file: must not be the database file".to_owned());
        }
        let durability = match self.durability.as_deref() {
            None | Some("power_loss") => Durability::PowerLoss,
            Some("process_crash") => Durability::ProcessCrash,
            Some(other) => {
                problems.push(format!(
                    "audit.durability: unknown value `{other}`; use `power_loss` or `process_crash`"
                ));
                Durability::PowerLoss
            }
        };
        let postgres = self.postgres.as_ref().map(|raw| {
            let url = raw.url.clone().unwrap_or_default();
            if url.trim().is_empty() {
                problems.push("audit.postgres.url: required when audit.postgres is set".to_owned());
            }
            let log = raw
                .log
                .clone()
                .unwrap_or_else(|| "airlock_audit".to_owned());
            if let Err(reason) = crate::validate_log_name(&log) {
                problems.push(format!("audit.postgres.log: {reason}"));
            }
            PostgresConfig { url, log }
        });
        if !problems.is_empty() {
            return Err(AuditError::Config(problems));
        }
        Ok(AuditConfig {
            key_file: self
                .key_file
                .clone()
                .unwrap_or_else(|| default_key_file(&path)),
            path,
            max_batch,
            durability,
            postgres,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durability_defaults_to_power_loss_and_names_a_typo() {
        let default = RawAuditConfig::default().validate().unwrap();
        assert_eq!(default.durability, Durability::PowerLoss);
        let fast = RawAuditConfig {
            durability: Some("process_crash".into()),
            ..RawAuditConfig::default()
        };
        assert_eq!(
            fast.validate().unwrap().durability,
            Durability::ProcessCrash
        );
        let typo = RawAuditConfig {
            durability: Some("fast".into()),
            ..RawAuditConfig::default()
        };
        let err = typo.validate().unwrap_err().to_string();
        assert!(
            err.contains("audit.durability: unknown value `fast`"),
            "{err}"
        );
    }

    #[test]
    fn defaults_put_the_log_and_its_key_under_airlock_data() {
        let config = RawAuditConfig::default().validate().unwrap();
        assert_eq!(config.path, Path::new("airlock-data/audit.db"));
        assert_eq!(config.key_file, Path::new("airlock-data/audit.key"));
        assert_eq!(config.max_batch, 1024);
    }

    #[test]
    fn reports_every_problem_with_its_path() {
        let raw: RawAuditConfig = toml_like(r#"{"path": "", "key_file": "", "max_batch": 0}"#);
        let err = raw.validate().unwrap_err().to_string();
        for expected in ["audit.path", "audit.key_file", "audit.max_batch"] {
            assert!(err.contains(expected), "{err}");
        }
        let unknown = serde_json::from_str::<RawAuditConfig>(r#"{"paht": "x"}"#);
        assert!(unknown.is_err(), "unknown keys must be rejected");
    }

    #[test]
    fn postgres_needs_a_url_and_a_plain_log_name() {
        let raw = toml_like(r#"{"postgres": {"log": "Prod-Audit"}}"#);
        let err = raw.validate().unwrap_err().to_string();
        assert!(err.contains("audit.postgres.url: required"), "{err}");
        assert!(
            err.contains("audit.postgres.log: log name `Prod-Audit`"),
            "{err}"
        );
        let ok = toml_like(r#"{"postgres": {"url": "host=127.0.0.1 password=hunter22"}}"#)
            .validate()
            .unwrap();
        let postgres = ok.postgres.unwrap();
        assert_eq!(postgres.log, "airlock_audit");
        assert!(!format!("{postgres:?}").contains("hunter22"));
    }

    fn toml_like(json: &str) -> RawAuditConfig {
        serde_json::from_str(json).unwrap()
    }
}
