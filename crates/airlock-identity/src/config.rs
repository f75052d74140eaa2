//! The `[identity]` section: parsed into `Raw*` types that mirror the file, then validated into
//! [`IdentityConfig`] with every problem reported at once, each with its path.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use jsonwebtoken::Algorithm;
use serde::Deserialize;

use crate::api_key::parse_key_hash;

/// The header an API key arrives in when none is configured.
pub const DEFAULT_API_KEY_HEADER: &str = "x-api-key";
/// Clock skew tolerated on `exp`, `nbf` and `auth_time` when none is configured, in seconds.
pub const DEFAULT_LEEWAY_SECONDS: u64 = 60;
/// The largest leeway accepted: more would keep a stolen, expired token useful for long.
pub const MAX_LEEWAY_SECONDS: u64 = 300;

/// The `[identity]` section of a config file, as written.
///
/// ```toml
/// [identity]
/// allow_anonymous = false          # default: a request without credentials is refused
///
/// # The key itself never goes in the file, only its SHA-256:
/// #   printf %s "$KEY" | sha256sum      -> put `sha256:<hex>` below
/// [[identity.api_keys]]
/// hash = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
/// agent = "ci-bot"
/// roles = ["reader"]
/// tenant = "acme"
/// on_behalf_of = "alice@example.com"   # optional: the user whose authority the key carries
///
/// [identity.jwt]
/// issuer = "https://idp.example.com/"
/// audience = ["airlock"]             # one string or a list
/// jwks_file = "/etc/airlock/jwks.json"
/// algorithms = ["RS256", "ES256", "EdDSA"]   # the default
/// leeway_seconds = 60
/// roles_claim = "roles"
/// groups_claim = "groups"
/// tenant_claim = "tenant"
/// agent_claims = ["client_id", "azp"]        # first one present names the agent
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIdentityConfig {
    /// Whether a request that carries no credentials at all is let through as an anonymous
    /// principal. Default `false`: the server refuses it with 401. Credentials that are present
    /// but wrong are refused whatever this says.
    #[serde(default)]
    pub allow_anonymous: bool,
    /// The request header that carries an API key. Default `x-api-key`.
    #[serde(default)]
    pub api_key_header: Option<String>,
    /// API keys, each mapped to the agent (and optionally the user) it authenticates.
    #[serde(default)]
    pub api_keys: Vec<RawApiKey>,
    /// Bearer-token (JWT) validation. Absent: bearer JWTs are refused.
    #[serde(default)]
    pub jwt: Option<RawJwtConfig>,
}

/// One `[[identity.api_keys]]` entry, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApiKey {
    /// `sha256:<64 hex digits>`: the SHA-256 of the key. Never the key itself.
    #[serde(default)]
    pub hash: Option<String>,
    /// The agent this key identifies (required).
    #[serde(default)]
    pub agent: Option<String>,
    /// The user the agent acts for with this key, if the key is a delegation.
    #[serde(default)]
    pub on_behalf_of: Option<String>,
    /// Roles granted to requests made with this key.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Groups granted to requests made with this key.
    #[serde(default)]
    pub groups: Vec<String>,
    /// The tenant the key is confined to.
    #[serde(default)]
    pub tenant: Option<String>,
}

/// One audience or several, as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// `audience = "airlock"`
    One(String),
    /// `audience = ["airlock", "airlock-staging"]`
    Many(Vec<String>),
}

/// The `[identity.jwt]` table, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJwtConfig {
    /// The exact `iss` tokens must carry (required).
    #[serde(default)]
    pub issuer: Option<String>,
    /// The `aud` values accepted; a token must name at least one (required).
    #[serde(default)]
    pub audience: Option<OneOrMany>,
    /// A JWKS document on disk, read at start-up and on `reload()`.
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// A JWKS URL (`https://`, or `http://` on a loopback host only), fetched by the server at
    /// start-up, every `jwks_refresh_seconds`, and when a token names an unknown `kid`.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// How often `jwks_url` is fetched again, seconds. Default 300, from 10 to 86400.
    #[serde(default)]
    pub jwks_refresh_seconds: Option<u64>,
    /// Accepted `alg` values. Default `RS256`, `ES256`, `EdDSA`. `none` is always refused;
    /// `HS*` only together with a shared secret.
    #[serde(default)]
    pub algorithms: Option<Vec<String>>,
    /// Clock skew tolerated on `exp`, `nbf` and `auth_time`, seconds. Default 60, at most 300.
    #[serde(default)]
    pub leeway_seconds: Option<u64>,
    /// The claim holding roles (array, or space-separated string). Default `roles`.
    #[serde(default)]
    pub roles_claim: Option<String>,
    /// The claim holding groups. Default `groups`.
    #[serde(default)]
    pub groups_claim: Option<String>,
    /// The claim holding the tenant. Default `tenant`.
    #[serde(default)]
    pub tenant_claim: Option<String>,
    /// Claims naming the agent (the OAuth client), tried in order. Default
    /// `["client_id", "azp"]` (RFC 9068 access tokens, then OpenID Connect ID tokens).
    #[serde(default)]
    pub agent_claims: Option<Vec<String>>,
    /// A file holding the HMAC secret for `HS*` tokens. The secret never goes in the config.
    #[serde(default)]
    pub shared_secret_file: Option<PathBuf>,
    /// An environment variable holding the HMAC secret for `HS*` tokens.
    #[serde(default)]
    pub shared_secret_env: Option<String>,
}

/// Validated identity settings, ready for [`crate::Authenticator::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityConfig {
    /// Let requests without any credentials through as an anonymous principal.
    pub allow_anonymous: bool,
    /// Lower-case name of the header that carries an API key.
    pub api_key_header: String,
    /// The configured API keys.
    pub api_keys: Vec<ApiKeyEntry>,
    /// JWT validation, when configured.
    pub jwt: Option<JwtConfig>,
}

impl Default for IdentityConfig {
    /// Nothing accepted: no keys, no tokens, no anonymous access.
    fn default() -> Self {
        IdentityConfig {
            allow_anonymous: false,
            api_key_header: DEFAULT_API_KEY_HEADER.to_owned(),
            api_keys: Vec::new(),
            jwt: None,
        }
    }
}

/// One configured API key: the digest to match and the principal it stands for.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeyEntry {
    /// SHA-256 of the key.
    pub digest: [u8; 32],
    /// The agent the key identifies.
    pub agent: String,
    /// The user the agent acts for, when the key is a delegation.
    pub on_behalf_of: Option<String>,
    /// Roles granted.
    pub roles: Vec<String>,
    /// Groups granted.
    pub groups: Vec<String>,
    /// Tenant scope.
    pub tenant: Option<String>,
}

impl fmt::Debug for ApiKeyEntry {
    // The digest is not the key, but it is still what an attacker would need to brute-force a
    // weak key offline: keep it out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyEntry")
            .field("digest", &"[redacted]")
            .field("agent", &self.agent)
            .field("on_behalf_of", &self.on_behalf_of)
            .field("roles", &self.roles)
            .field("groups", &self.groups)
            .field("tenant", &self.tenant)
            .finish()
    }
}

/// Where the JWKS comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// A file read at construction and on every `reload()`.
    File(PathBuf),
    /// A URL the server fetches and hands to [`crate::Authenticator::install_jwks`]; until the
    /// first fetch succeeds no token verifies (fail closed).
    Url {
        /// `https://…` (or `http://` on loopback).
        url: String,
        /// Seconds between fetches.
        refresh_seconds: u64,
    },
}

/// Where the HMAC secret for `HS*` tokens comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A file whose whole content (trailing newline removed) is the secret.
    File(PathBuf),
    /// An environment variable.
    Env(String),
}

/// Validated `[identity.jwt]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtConfig {
    /// Required `iss`.
    pub issuer: String,
    /// Accepted `aud` values.
    pub audience: Vec<String>,
    /// Public keys for asymmetric algorithms; `None` when only `HS*` is allowed.
    pub jwks: Option<JwksSource>,
    /// Accepted algorithms.
    pub algorithms: Vec<Algorithm>,
    /// Clock skew tolerated, seconds.
    pub leeway_seconds: u64,
    /// Claim names.
    pub roles_claim: String,
    /// Claim names.
    pub groups_claim: String,
    /// Claim names.
    pub tenant_claim: String,
    /// Claims naming the agent, in order of preference.
    pub agent_claims: Vec<String>,
    /// The HMAC secret's source, when `HS*` algorithms are allowed.
    pub shared_secret: Option<SecretSource>,
}

/// One problem in the identity configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Dotted path of the offending key, e.g. `identity.api_keys[1].hash`.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl ConfigProblem {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigProblem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem found in an identity configuration. Nothing is applied when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The problems, in the order found.
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid identity configuration:")?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

const DEFAULT_ALGORITHMS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];
const KNOWN_ALGORITHMS: &str =
    "RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA, HS256, HS384, HS512";

/// Parses an algorithm name as JOSE writes it (case-sensitive, like the `alg` header).
pub(crate) fn parse_algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        _ => return None,
    })
}

pub(crate) fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

impl RawIdentityConfig {
    /// Checks every setting and returns the typed configuration, or every problem found.
    /// Reads no files: key material is loaded by [`crate::Authenticator::new`].
    pub fn validate(&self) -> Result<IdentityConfig, ConfigError> {
        let mut problems = Vec::new();

        let api_key_header = match &self.api_key_header {
            None => DEFAULT_API_KEY_HEADER.to_owned(),
            Some(name) => {
                let lower = name.to_ascii_lowercase();
                if lower.is_empty() || !lower.bytes().all(is_header_name_byte) {
                    problems.push(ConfigProblem::new(
                        "identity.api_key_header",
                        "must be an HTTP header name (letters, digits, `-`), e.g. `x-api-key`",
                    ));
                } else if lower == "authorization" {
                    problems.push(ConfigProblem::new(
                        "identity.api_key_header",
                        "`authorization` is already read for bearer credentials (an API key sent \
                         as `Authorization: Bearer <key>` is accepted); pick another header",
                    ));
                }
                lower
            }
        };

        let mut api_keys = Vec::new();
        let mut seen: BTreeMap<[u8; 32], usize> = BTreeMap::new();
        for (index, raw) in self.api_keys.iter().enumerate() {
            let path = format!("identity.api_keys[{index}]");
            if let Some(digest) = raw.hash.as_deref().and_then(parse_key_hash)
                && let Some(first) = seen.insert(digest, index)
            {
                problems.push(ConfigProblem::new(
                    format!("{path}.hash"),
                    format!(
                        "the same key hash is already configured at identity.api_keys[{first}]; \
                         one key must map to one principal"
                    ),
                ));
            }
            if let Some(entry) = validate_api_key(raw, &path, &mut problems) {
                api_keys.push(entry);
            }
        }

        let jwt = self
            .jwt
            .as_ref()
            .and_then(|raw| validate_jwt(raw, &mut problems));

        if problems.is_empty() {
            Ok(IdentityConfig {
                allow_anonymous: self.allow_anonymous,
                api_key_header,
                api_keys,
                jwt,
            })
        } else {
            Err(ConfigError { problems })
        }
    }
}

fn is_header_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-'
}

fn check_names(values: &[String], path: &str, what: &str, problems: &mut Vec<ConfigProblem>) {
    for (index, value) in values.iter().enumerate() {
        if value.trim().is_empty() {
            problems.push(ConfigProblem::new(
                format!("{path}[{index}]"),
                format!("empty {what}; remove it or give it a name"),
            ));
        }
    }
}

fn non_empty(
    value: &Option<String>,
    path: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Option<String> {
    match value {
        Some(value) if value.trim().is_empty() => {
            problems.push(ConfigProblem::new(
                path,
                "must not be empty; remove the key or set a value",
            ));
            None
        }
        other => other.clone(),
    }
}

fn validate_api_key(
    raw: &RawApiKey,
    path: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Option<ApiKeyEntry> {
    let digest = match &raw.hash {
        None => {
            problems.push(ConfigProblem::new(
                format!("{path}.hash"),
                "missing; set `sha256:<hex>` from `printf %s \"$KEY\" | sha256sum`",
            ));
            None
        }
        // The value is never echoed: someone may have pasted the key itself here.
        Some(hash) => match parse_key_hash(hash) {
            Some(digest) => Some(digest),
            None => {
                problems.push(ConfigProblem::new(
                    format!("{path}.hash"),
                    "expected `sha256:` followed by 64 hex digits; put the key's SHA-256 here, \
                     never the key (`printf %s \"$KEY\" | sha256sum`)",
                ));
                None
            }
        },
    };
    let agent = match &raw.agent {
        Some(agent) if !agent.trim().is_empty() => Some(agent.clone()),
        Some(_) => {
            problems.push(ConfigProblem::new(
                format!("{path}.agent"),
                "must not be empty; name the agent this key identifies",
            ));
            None
        }
        None => {
            problems.push(ConfigProblem::new(
                format!("{path}.agent"),
                "missing; name the agent this key identifies",
            ));
            None
        }
    };
    let on_behalf_of = non_empty(&raw.on_behalf_of, &format!("{path}.on_behalf_of"), problems);
    let tenant = non_empty(&raw.tenant, &format!("{path}.tenant"), problems);
    check_names(&raw.roles, &format!("{path}.roles"), "role", problems);
    check_names(&raw.groups, &format!("{path}.groups"), "group", problems);
    Some(ApiKeyEntry {
        digest: digest?,
        agent: agent?,
        on_behalf_of,
        roles: raw.roles.clone(),
        groups: raw.groups.clone(),
        tenant,
    })
}

fn claim_name(
    value: &Option<String>,
    default: &str,
    path: &str,
    problems: &mut Vec<ConfigProblem>,
) -> String {
    match value {
        None => default.to_owned(),
        Some(name) if name.trim().is_empty() => {
            problems.push(ConfigProblem::new(path, "must name a claim, e.g. `roles`"));
            String::new()
        }
        Some(name) => name.clone(),
    }
}

fn validate_jwt(raw: &RawJwtConfig, problems: &mut Vec<ConfigProblem>) -> Option<JwtConfig> {
    let before = problems.len();

    let issuer = match &raw.issuer {
        Some(issuer) if !issuer.trim().is_empty() => issuer.clone(),
        _ => {
            problems.push(ConfigProblem::new(
                "identity.jwt.issuer",
                "missing; set the exact `iss` your identity provider puts in tokens",
            ));
            String::new()
        }
    };

    let audience = match &raw.audience {
        None => Vec::new(),
        Some(OneOrMany::One(one)) => vec![one.clone()],
        Some(OneOrMany::Many(many)) => many.clone(),
    };
    if audience.is_empty() {
        problems.push(ConfigProblem::new(
            "identity.jwt.audience",
            "missing; set the `aud` value(s) tokens for this gateway carry, so tokens minted \
             for another service are refused",
        ));
    }
    check_names(&audience, "identity.jwt.audience", "audience", problems);

    let mut algorithms = Vec::new();
    match &raw.algorithms {
        None => algorithms.extend(DEFAULT_ALGORITHMS),
        Some(names) if names.is_empty() => problems.push(ConfigProblem::new(
            "identity.jwt.algorithms",
            "empty; list at least one algorithm, e.g. [\"RS256\"], or remove the key for the default",
        )),
        Some(names) => {
            for (index, name) in names.iter().enumerate() {
                let path = format!("identity.jwt.algorithms[{index}]");
                if name.eq_ignore_ascii_case("none") {
                    problems.push(ConfigProblem::new(
                        path,
                        "`none` is never accepted: an unsigned token proves nothing",
                    ));
                } else if let Some(alg) = parse_algorithm(name) {
                    if !algorithms.contains(&alg) {
                        algorithms.push(alg);
                    }
                } else {
                    problems.push(ConfigProblem::new(
                        path,
                        format!("unknown algorithm `{name}`; known: {KNOWN_ALGORITHMS}"),
                    ));
                }
            }
        }
    }

    let shared_secret = match (&raw.shared_secret_file, &raw.shared_secret_env) {
        (Some(_), Some(_)) => {
            problems.push(ConfigProblem::new(
                "identity.jwt.shared_secret_env",
                "set either shared_secret_file or shared_secret_env, not both",
            ));
            None
        }
        (Some(file), None) => Some(SecretSource::File(file.clone())),
        (None, Some(var)) if var.trim().is_empty() => {
            problems.push(ConfigProblem::new(
                "identity.jwt.shared_secret_env",
                "must name an environment variable",
            ));
            None
        }
        (None, Some(var)) => Some(SecretSource::Env(var.clone())),
        (None, None) => None,
    };
    let wants_hmac = algorithms.iter().any(|alg| is_hmac(*alg));
    let wants_public_keys = algorithms.iter().any(|alg| !is_hmac(*alg));
    let secret_configured = raw.shared_secret_file.is_some() || raw.shared_secret_env.is_some();
    if wants_hmac && !secret_configured {
        // Accepting HS* against a JWKS is the classic algorithm-confusion hole: the public key
        // would become the HMAC secret.
        problems.push(ConfigProblem::new(
            "identity.jwt.algorithms",
            "HS256/HS384/HS512 need a shared secret: set shared_secret_file or \
             shared_secret_env, or remove the HS algorithms",
        ));
    }
    if secret_configured && !wants_hmac {
        problems.push(ConfigProblem::new(
            "identity.jwt.algorithms",
            "a shared secret is configured but no HS256/HS384/HS512 algorithm is allowed; \
             add one or remove the secret",
        ));
    }

    let jwks = match (&raw.jwks_file, &raw.jwks_url) {
        (Some(_), Some(_)) => {
            problems.push(ConfigProblem::new(
                "identity.jwt.jwks_url",
                "set together with jwks_file; keep one of them",
            ));
            None
        }
        (None, Some(url)) => {
            let refresh_seconds = raw.jwks_refresh_seconds.unwrap_or(300);
            if !(10..=86_400).contains(&refresh_seconds) {
                problems.push(ConfigProblem::new(
                    "identity.jwt.jwks_refresh_seconds",
                    format!("{refresh_seconds} is outside 10..=86400"),
                ));
            }
            match check_jwks_url(url) {
                Ok(()) if wants_public_keys => Some(JwksSource::Url {
                    url: url.clone(),
                    refresh_seconds,
                }),
                Ok(()) => {
                    problems.push(ConfigProblem::new(
                        "identity.jwt.jwks_url",
                        "set, but identity.jwt.algorithms allows no public-key algorithm (RS*, \
                         PS*, ES*, EdDSA); add one or remove jwks_url",
                    ));
                    None
                }
                Err(message) => {
                    problems.push(ConfigProblem::new("identity.jwt.jwks_url", message));
                    None
                }
            }
        }
        (Some(_), None) if !wants_public_keys => {
            problems.push(ConfigProblem::new(
                "identity.jwt.jwks_file",
                "set, but identity.jwt.algorithms allows no public-key algorithm (RS*, PS*, \
                 ES*, EdDSA); add one or remove jwks_file",
            ));
            None
        }
        (Some(file), None) => Some(JwksSource::File(file.clone())),
        (None, None) => {
            if wants_public_keys {
                problems.push(ConfigProblem::new(
                    "identity.jwt.jwks_file",
                    "missing; set jwks_url or jwks_file to your identity provider's JWKS",
                ));
            }
            None
        }
    };

    let leeway_seconds = raw.leeway_seconds.unwrap_or(DEFAULT_LEEWAY_SECONDS);
    if leeway_seconds > MAX_LEEWAY_SECONDS {
        problems.push(ConfigProblem::new(
            "identity.jwt.leeway_seconds",
            format!(
                "{leeway_seconds} is more than {MAX_LEEWAY_SECONDS}; a large leeway keeps expired \
                 tokens usable, fix the clocks instead"
            ),
        ));
    }

    let roles_claim = claim_name(
        &raw.roles_claim,
        "roles",
        "identity.jwt.roles_claim",
        problems,
    );
    let groups_claim = claim_name(
        &raw.groups_claim,
        "groups",
        "identity.jwt.groups_claim",
        problems,
    );
    let tenant_claim = claim_name(
        &raw.tenant_claim,
        "tenant",
        "identity.jwt.tenant_claim",
        problems,
    );
    let agent_claims = match &raw.agent_claims {
        None => vec!["client_id".to_owned(), "azp".to_owned()],
        Some(names) if names.is_empty() => {
            problems.push(ConfigProblem::new(
                "identity.jwt.agent_claims",
                "empty; list the claim(s) that name the OAuth client, e.g. [\"client_id\", \"azp\"]",
            ));
            Vec::new()
        }
        Some(names) => {
            check_names(names, "identity.jwt.agent_claims", "claim name", problems);
            names.clone()
        }
    };

    (problems.len() == before).then_some(JwtConfig {
        issuer,
        audience,
        jwks,
        algorithms,
        leeway_seconds,
        roles_claim,
        groups_claim,
        tenant_claim,
        agent_claims,
        shared_secret,
    })
}

/// Keys must come over TLS; plain HTTP only from this machine (a sidecar, a test IdP).
fn check_jwks_url(url: &str) -> Result<(), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("`{url}` is not an absolute URL"))?;
    let host = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .rsplit_once('@')
        .map_or_else(
            || rest.split(['/', '?', '#']).next().unwrap_or_default(),
            |(_, h)| h,
        );
    let host_only = if host.starts_with('[') {
        host.split(']').next().map(|h| &h[1..]).unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default()
    };
    if host_only.is_empty() {
        return Err(format!("`{url}` has no host"));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if matches!(host_only, "localhost" | "127.0.0.1" | "::1") => Ok(()),
        "http" => Err(format!(
            "`{url}`: keys must be fetched over https (plain http only from localhost)"
        )),
        other => Err(format!("`{url}`: unsupported scheme `{other}`; use https")),
    }
}

#[cfg(test)]
mod jwks_url_tests {
    use super::check_jwks_url;

    #[test]
    fn jwks_urls_must_be_https_except_on_loopback() {
        assert!(check_jwks_url("https://idp.example.com/.well-known/jwks.json").is_ok());
        assert!(check_jwks_url("http://127.0.0.1:8081/jwks").is_ok());
        assert!(check_jwks_url("http://localhost/jwks").is_ok());
        assert!(check_jwks_url("http://[::1]:9000/jwks").is_ok());
        assert!(check_jwks_url("http://idp.example.com/jwks").is_err());
        assert!(check_jwks_url("http://127.0.0.1.evil.example/jwks").is_err());
        assert!(check_jwks_url("ftp://idp.example.com/jwks").is_err());
        assert!(check_jwks_url("idp.example.com/jwks").is_err());
    }
}
