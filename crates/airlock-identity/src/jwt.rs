//! JWT validation: key selection from a JWKS, signature, `iss`, `aud`, time claims, and the
//! mapping of claims onto a [`Principal`].
//!
//! Signature, `iss` and `aud` are checked by `jsonwebtoken`; the header and the time claims
//! are read here first, so that `alg: none` and unknown algorithms get a precise error, and so
//! that time is a parameter (tests pass `now` instead of waiting for a token to expire).

use std::collections::HashSet;
use std::path::Path;

use airlock_core::{AuthStrength, Principal};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::{JwtConfig, SecretSource, is_hmac, parse_algorithm};
use crate::error::{KeyError, TokenError};

/// RSA moduli shorter than this are refused (NIST SP 800-131A: 2048 bits minimum).
const MIN_RSA_MODULUS_BYTES: usize = 256;
/// HMAC secrets shorter than this are refused (RFC 7518 §3.2: at least the hash size).
const MIN_SHARED_SECRET_BYTES: usize = 32;

const RSA_ALGORITHMS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// One public key from the JWKS and the algorithms it may verify.
#[derive(Debug, Clone)]
pub(crate) struct VerifyingKey {
    kid: Option<String>,
    key: DecodingKey,
    algorithms: Vec<Algorithm>,
}

/// The public keys in service, replaced whole on reload.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeySet {
    keys: Vec<VerifyingKey>,
}

/// What a JWKS load kept and skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyReport {
    /// Key ids in service (`<no kid>` for a key without one).
    pub loaded: Vec<String>,
    /// Keys left out and why (encryption keys, unsupported curves, weak RSA).
    pub skipped: Vec<String>,
}

impl KeySet {
    /// Reads and parses a JWKS file, keeping the keys that can verify one of `allowed`.
    pub(crate) fn load(
        path: &Path,
        allowed: &[Algorithm],
    ) -> Result<(KeySet, KeyReport), KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::ReadJwks {
            path: path.to_owned(),
            source,
        })?;
        KeySet::parse(&text, path, allowed)
    }

    pub(crate) fn parse(
        text: &str,
        path: &Path,
        allowed: &[Algorithm],
    ) -> Result<(KeySet, KeyReport), KeyError> {
        let parse_error = |reason: String| KeyError::ParseJwks {
            path: path.to_owned(),
            reason,
        };
        let document: Value =
            serde_json::from_str(text).map_err(|error| parse_error(error.to_string()))?;
        let Some(entries) = document.get("keys").and_then(Value::as_array) else {
            return Err(parse_error(
                "expected an object with a `keys` array".to_owned(),
            ));
        };

        let mut set = KeySet::default();
        let mut report = KeyReport::default();
        for (index, entry) in entries.iter().enumerate() {
            let label = entry
                .get("kid")
                .and_then(Value::as_str)
                .map_or_else(|| format!("keys[{index}]"), |kid| format!("kid `{kid}`"));
            // Parse keys one at a time: one key of a type we do not know must not take the
            // identity provider's other keys down with it.
            let jwk: Jwk = match serde_json::from_value(entry.clone()) {
                Ok(jwk) => jwk,
                Err(error) => {
                    report
                        .skipped
                        .push(format!("{label}: unsupported key ({error})"));
                    continue;
                }
            };
            if !matches!(
                jwk.common.public_key_use,
                None | Some(PublicKeyUse::Signature)
            ) {
                report
                    .skipped
                    .push(format!("{label}: not a signature key (`use` is not `sig`)"));
                continue;
            }
            let algorithms = match key_algorithms(&jwk) {
                Ok(algorithms) => algorithms,
                Err(KeyVerdict::Refuse(reason)) => {
                    return Err(KeyError::BadKey {
                        path: path.to_owned(),
                        index,
                        reason,
                    });
                }
                Err(KeyVerdict::Skip(reason)) => {
                    report.skipped.push(format!("{label}: {reason}"));
                    continue;
                }
            };
            let algorithms: Vec<Algorithm> = algorithms
                .into_iter()
                .filter(|alg| allowed.contains(alg))
                .collect();
            if algorithms.is_empty() {
                report.skipped.push(format!(
                    "{label}: its algorithm is not in identity.jwt.algorithms"
                ));
                continue;
            }
            let key = DecodingKey::from_jwk(&jwk).map_err(|error| KeyError::BadKey {
                path: path.to_owned(),
                index,
                reason: format!("cannot build a verifying key: {error}"),
            })?;
            report.loaded.push(
                jwk.common
                    .key_id
                    .clone()
                    .unwrap_or_else(|| "<no kid>".to_owned()),
            );
            set.keys.push(VerifyingKey {
                kid: jwk.common.key_id.clone(),
                key,
                algorithms,
            });
        }
        if set.keys.is_empty() {
            let skipped = if report.skipped.is_empty() {
                String::new()
            } else {
                format!("; skipped: {}", report.skipped.join("; "))
            };
            return Err(KeyError::NoUsableKeys {
                path: path.to_owned(),
                skipped,
            });
        }
        Ok((set, report))
    }

    fn select(&self, kid: Option<&str>, alg: Algorithm) -> Result<&VerifyingKey, TokenError> {
        let candidate = match kid {
            Some(kid) => {
                let mut matching = self
                    .keys
                    .iter()
                    .filter(|key| key.kid.as_deref() == Some(kid))
                    .peekable();
                if matching.peek().is_none() {
                    return Err(TokenError::UnknownKid);
                }
                // Identity providers occasionally publish one kid for an RSA and an EC key.
                matching
                    .find(|key| key.algorithms.contains(&alg))
                    .ok_or(TokenError::AlgorithmKeyMismatch)?
            }
            // Without a kid only an unambiguous set is usable: trying every key would let an
            // attacker probe which one verifies.
            None => match self.keys.as_slice() {
                [only] => only,
                _ => return Err(TokenError::MissingKid),
            },
        };
        if candidate.algorithms.contains(&alg) {
            Ok(candidate)
        } else {
            Err(TokenError::AlgorithmKeyMismatch)
        }
    }
}

enum KeyVerdict {
    /// A key that should never be in a JWKS: refuse the whole document.
    Refuse(String),
    /// A key we cannot use but that may legitimately be there.
    Skip(String),
}

/// The algorithms a JWK may verify: those of its type and curve, narrowed to its own `alg`
/// when it names one.
fn key_algorithms(jwk: &Jwk) -> Result<Vec<Algorithm>, KeyVerdict> {
    let by_type: Vec<Algorithm> = match &jwk.algorithm {
        AlgorithmParameters::RSA(params) => {
            let modulus = data_encoding::BASE64URL_NOPAD
                .decode(params.n.trim_end_matches('=').as_bytes())
                .map_err(|_| KeyVerdict::Refuse("`n` is not base64url".to_owned()))?;
            let significant = modulus.iter().skip_while(|byte| **byte == 0).count();
            if significant < MIN_RSA_MODULUS_BYTES {
                return Err(KeyVerdict::Skip(format!(
                    "rsa key of {} bits is below the 2048-bit minimum",
                    significant * 8
                )));
            }
            RSA_ALGORITHMS.to_vec()
        }
        AlgorithmParameters::EllipticCurve(params) => match params.curve {
            EllipticCurve::P256 => vec![Algorithm::ES256],
            EllipticCurve::P384 => vec![Algorithm::ES384],
            _ => return Err(KeyVerdict::Skip("unsupported elliptic curve".to_owned())),
        },
        AlgorithmParameters::OctetKeyPair(params) => match params.curve {
            EllipticCurve::Ed25519 => vec![Algorithm::EdDSA],
            _ => return Err(KeyVerdict::Skip("unsupported OKP curve".to_owned())),
        },
        // A JWKS is public. A symmetric key in it is either a leak or a setup for algorithm
        // confusion; either way nothing signed with it can be trusted.
        AlgorithmParameters::OctetKey(_) => {
            return Err(KeyVerdict::Refuse(
                "symmetric (`oct`) keys must not be published in a jwks; configure \
                 shared_secret_file for HS256 instead"
                    .to_owned(),
            ));
        }
        _ => return Err(KeyVerdict::Skip("unsupported key type".to_owned())),
    };
    match jwk.common.key_algorithm {
        None => Ok(by_type),
        Some(pinned) => {
            let pinned = key_algorithm_name(pinned).and_then(parse_algorithm);
            match pinned {
                Some(alg) if by_type.contains(&alg) => Ok(vec![alg]),
                Some(_) => Err(KeyVerdict::Refuse(
                    "`alg` does not match the key type".to_owned(),
                )),
                None => Err(KeyVerdict::Skip(
                    "`alg` is not a signature algorithm".to_owned(),
                )),
            }
        }
    }
}

fn key_algorithm_name(alg: KeyAlgorithm) -> Option<&'static str> {
    Some(match alg {
        KeyAlgorithm::RS256 => "RS256",
        KeyAlgorithm::RS384 => "RS384",
        KeyAlgorithm::RS512 => "RS512",
        KeyAlgorithm::PS256 => "PS256",
        KeyAlgorithm::PS384 => "PS384",
        KeyAlgorithm::PS512 => "PS512",
        KeyAlgorithm::ES256 => "ES256",
        KeyAlgorithm::ES384 => "ES384",
        KeyAlgorithm::EdDSA => "EdDSA",
        KeyAlgorithm::HS256 => "HS256",
        KeyAlgorithm::HS384 => "HS384",
        KeyAlgorithm::HS512 => "HS512",
        _ => return None,
    })
}

/// Reads the HMAC secret named by the config.
pub(crate) fn load_shared_secret(source: &SecretSource) -> Result<DecodingKey, KeyError> {
    let secret = match source {
        SecretSource::File(path) => {
            let mut bytes = std::fs::read(path).map_err(|error| {
                KeyError::SharedSecret(format!("cannot read `{}`: {error}", path.display()))
            })?;
            // Editors and `echo` add a newline that is not part of the secret.
            while matches!(bytes.last(), Some(b'\n' | b'\r')) {
                bytes.pop();
            }
            bytes
        }
        SecretSource::Env(name) => std::env::var(name)
            .map_err(|_| {
                KeyError::SharedSecret(format!(
                    "environment variable `{name}` is not set or not UTF-8"
                ))
            })?
            .into_bytes(),
    };
    if secret.len() < MIN_SHARED_SECRET_BYTES {
        return Err(KeyError::SharedSecret(format!(
            "the secret is {} bytes; HS256 needs at least {MIN_SHARED_SECRET_BYTES} random bytes \
             (e.g. `openssl rand -base64 48`)",
            secret.len()
        )));
    }
    Ok(DecodingKey::from_secret(&secret))
}

#[derive(Deserialize)]
struct RawHeader {
    alg: Option<String>,
    kid: Option<String>,
    crit: Option<Value>,
}

/// Validates `token` against `config` at time `now` (seconds since the epoch) and maps its
/// claims onto a principal.
pub(crate) fn validate_token(
    token: &str,
    config: &JwtConfig,
    keys: &KeySet,
    hmac: Option<&DecodingKey>,
    now: i64,
) -> Result<Principal, TokenError> {
    let header = read_header(token)?;
    if header.crit.is_some() {
        return Err(TokenError::UnsupportedCritical);
    }
    let alg_name = header.alg.as_deref().ok_or(TokenError::Malformed)?;
    if alg_name.eq_ignore_ascii_case("none") {
        return Err(TokenError::DisallowedAlgorithm("none".to_owned()));
    }
    let Some(alg) = parse_algorithm(alg_name) else {
        return Err(TokenError::DisallowedAlgorithm("unsupported".to_owned()));
    };
    if !config.algorithms.contains(&alg) {
        return Err(TokenError::DisallowedAlgorithm(alg_name.to_owned()));
    }
    // HS* tokens are checked only against the configured secret, never against a JWKS key:
    // that is what closes the RS256→HS256 confusion attack.
    let key = if is_hmac(alg) {
        hmac.ok_or_else(|| TokenError::DisallowedAlgorithm(alg_name.to_owned()))?
    } else {
        &keys.select(header.kid.as_deref(), alg)?.key
    };

    let mut validation = Validation::new(alg);
    // Time is checked below with the caller's clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = true;
    validation.set_audience(&config.audience);
    validation.set_issuer(&[&config.issuer]);
    // jsonwebtoken checks `iss` and `aud` only when present; requiring them closes that gap.
    validation.required_spec_claims = ["exp", "iss", "aud"]
        .map(str::to_owned)
        .into_iter()
        .collect::<HashSet<_>>();

    let data = jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation)
        .map_err(map_jwt_error)?;
    let claims = data.claims;
    check_times(&claims, config.leeway_seconds, now)?;
    principal_from_claims(&claims, config)
}

fn read_header(token: &str) -> Result<RawHeader, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let bytes = data_encoding::BASE64URL_NOPAD
        .decode(header.as_bytes())
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

fn map_jwt_error(error: jsonwebtoken::errors::Error) -> TokenError {
    use jsonwebtoken::errors::ErrorKind;
    match error.into_kind() {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::MissingRequiredClaim(claim) => TokenError::MissingClaim(claim),
        ErrorKind::InvalidClaimFormat(claim) => TokenError::InvalidClaim(claim),
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            TokenError::AlgorithmKeyMismatch
        }
        // A signature of the wrong length or a point not on the curve fails inside the
        // verifier with a key-shaped error; to the client it is simply a bad signature.
        ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat
        | ErrorKind::Provider(_) => TokenError::BadSignature,
        _ => TokenError::Malformed,
    }
}

/// RFC 7519 NumericDate: seconds, possibly fractional.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, TokenError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => {
            if let Some(seconds) = value.as_i64() {
                Ok(Some(seconds))
            } else if let Some(seconds) = value.as_f64().filter(|s| s.is_finite()) {
                // Truncation toward zero is the conservative reading for `exp` and harmless
                // for the others at one-second resolution.
                #[allow(clippy::cast_possible_truncation)]
                Ok(Some(seconds as i64))
            } else {
                Err(TokenError::InvalidClaim(name.to_owned()))
            }
        }
    }
}

fn check_times(claims: &Map<String, Value>, leeway: u64, now: i64) -> Result<(), TokenError> {
    let leeway = i64::try_from(leeway).unwrap_or(i64::MAX);
    let exp = numeric_date(claims, "exp")?.ok_or_else(|| TokenError::MissingClaim("exp".into()))?;
    // RFC 7519 §4.1.4: the current time must be before `exp`.
    if now >= exp.saturating_add(leeway) {
        return Err(TokenError::Expired);
    }
    if let Some(nbf) = numeric_date(claims, "nbf")?
        && now.saturating_add(leeway) < nbf
    {
        return Err(TokenError::NotYetValid);
    }
    if let Some(iat) = numeric_date(claims, "iat")?
        && iat > now.saturating_add(leeway)
    {
        return Err(TokenError::NotYetValid);
    }
    Ok(())
}

/// Looks a claim up by its exact name, then, for names with dots that are not present as
/// such, as a path into nested objects (`realm_access.roles` in Keycloak tokens).
fn lookup<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(name) {
        return Some(value);
    }
    if !name.contains('.') {
        return None;
    }
    let mut parts = name.split('.');
    let mut current = claims.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

fn optional_string(claims: &Map<String, Value>, name: &str) -> Result<Option<String>, TokenError> {
    match lookup(claims, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.is_empty() => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(TokenError::InvalidClaim(name.to_owned())),
    }
}

/// An array of strings, or one space-separated string (how `scope` is written).
fn string_list(claims: &Map<String, Value>, name: &str) -> Result<Vec<String>, TokenError> {
    match lookup(claims, name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(text.split_whitespace().map(str::to_owned).collect()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| TokenError::InvalidClaim(name.to_owned()))
            })
            .collect(),
        Some(_) => Err(TokenError::InvalidClaim(name.to_owned())),
    }
}

fn principal_from_claims(
    claims: &Map<String, Value>,
    config: &JwtConfig,
) -> Result<Principal, TokenError> {
    let subject = optional_string(claims, "sub")?;
    let mut agent = None;
    for name in &config.agent_claims {
        if let Some(value) = optional_string(claims, name)? {
            agent = Some(value);
            break;
        }
    }
    // RFC 8693 §4.1: in a token-exchange (delegation) token, `act.sub` is the party acting.
    if agent.is_none()
        && let Some(actor) = claims.get("act").and_then(Value::as_object)
    {
        agent = optional_string(actor, "sub")?;
    }
    // A client-credentials token has `sub` = the client itself (RFC 9068 §2.2): that is an
    // agent acting for nobody, not a user.
    let user = subject.filter(|sub| agent.as_deref() != Some(sub.as_str()));
    if agent.is_none() && user.is_none() {
        return Err(TokenError::NoIdentity);
    }
    let auth_time = match claims.get("auth_time") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_i64()
                .ok_or_else(|| TokenError::InvalidClaim("auth_time".into()))?,
        ),
    };
    let amr = match claims.get("amr") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(_)) => string_list(claims, "amr")?,
        Some(_) => return Err(TokenError::InvalidClaim("amr".into())),
    };
    Ok(Principal {
        agent,
        user,
        roles: string_list(claims, &config.roles_claim)?,
        groups: string_list(claims, &config.groups_claim)?,
        tenant: optional_string(claims, &config.tenant_claim)?,
        auth: AuthStrength {
            acr: optional_string(claims, "acr")?,
            amr,
            auth_time,
        },
        origin: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys_of(json: &str) -> Result<(KeySet, KeyReport), KeyError> {
        KeySet::parse(
            json,
            Path::new("jwks.json"),
            &[Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA],
        )
    }

    #[test]
    fn refuses_a_jwks_that_publishes_a_symmetric_key() {
        let error = keys_of(r#"{"keys":[{"kty":"oct","kid":"s","k":"c2VjcmV0"}]}"#).unwrap_err();
        assert!(
            matches!(error, KeyError::BadKey { index: 0, .. }),
            "{error}"
        );
        assert!(error.to_string().contains("symmetric"), "{error}");
    }

    #[test]
    fn skips_encryption_and_unknown_keys_but_keeps_the_rest() {
        let (set, report) = keys_of(
            r#"{"keys":[
                {"kty":"OKP","crv":"Ed25519","kid":"enc","use":"enc","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
                {"kty":"weird","kid":"w"},
                {"kty":"OKP","crv":"Ed25519","kid":"sig","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(report.loaded, ["sig"]);
        assert_eq!(report.skipped.len(), 2, "{report:?}");
        assert_eq!(set.keys.len(), 1);
    }

    #[test]
    fn skips_rsa_keys_below_2048_bits() {
        // A 512-bit modulus.
        let n = data_encoding::BASE64URL_NOPAD.encode(&[0xC5; 64]);
        let json = format!(r#"{{"keys":[{{"kty":"RSA","kid":"weak","n":"{n}","e":"AQAB"}}]}}"#);
        let error = keys_of(&json).unwrap_err();
        assert!(error.to_string().contains("2048"), "{error}");
    }

    #[test]
    fn refuses_a_document_without_keys() {
        assert!(matches!(keys_of("{}"), Err(KeyError::ParseJwks { .. })));
        assert!(matches!(
            keys_of("not json"),
            Err(KeyError::ParseJwks { .. })
        ));
    }

    #[test]
    fn looks_up_nested_claims_by_dotted_path() {
        let claims: Map<String, Value> = serde_json::from_str(
            r#"{"realm_access":{"roles":["a","b"]},"https://x.example/roles":["c"]}"#,
        )
        .unwrap();
        assert_eq!(
            string_list(&claims, "realm_access.roles").unwrap(),
            ["a", "b"]
        );
        assert_eq!(
            string_list(&claims, "https://x.example/roles").unwrap(),
            ["c"]
        );
        assert_eq!(
            string_list(&claims, "missing.path").unwrap(),
            Vec::<String>::new()
        );
    }
}
