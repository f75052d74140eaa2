//! Shared test helpers: configs pointing at the TEST-ONLY keys in `tests/fixtures/`, and token
//! signing with those keys.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;

use airlock_identity::{Authenticator, Credentials, RawIdentityConfig};
use data_encoding::BASE64URL_NOPAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// A fixed "now" so that no test depends on the wall clock.
pub const NOW: i64 = 1_800_000_000;
pub const ISSUER: &str = "https://idp.test.example/";
pub const AUDIENCE: &str = "airlock";

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn read_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

/// `[identity]` TOML with a JWT section over the test JWKS, plus `extra` lines appended to
/// the `[jwt]` table.
pub fn jwt_toml(extra: &str) -> String {
    format!(
        "[jwt]\nissuer = \"{ISSUER}\"\naudience = [\"{AUDIENCE}\", \"airlock-staging\"]\n\
         jwks_file = '{}'\n{extra}\n",
        fixture("test-only-jwks.json").display()
    )
}

pub fn parse(toml_text: &str) -> RawIdentityConfig {
    toml::from_str(toml_text).unwrap()
}

pub fn authenticator(toml_text: &str) -> Authenticator {
    Authenticator::new(parse(toml_text).validate().unwrap()).unwrap()
}

pub fn jwt_authenticator() -> Authenticator {
    authenticator(&jwt_toml(""))
}

/// Claims of a token a user `alice` got through agent `mail-agent`, with every field the
/// principal maps.
pub fn full_claims() -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice@example.com",
        "client_id": "mail-agent",
        "exp": NOW + 600,
        "iat": NOW - 10,
        "nbf": NOW - 10,
        "roles": ["reader", "mailer"],
        "groups": ["finance"],
        "tenant": "acme",
        "acr": "urn:example:mfa",
        "amr": ["pwd", "otp"],
        "auth_time": NOW - 120,
    })
}

pub fn key_for(alg: Algorithm) -> EncodingKey {
    match alg {
        Algorithm::RS256 | Algorithm::PS256 => {
            EncodingKey::from_rsa_pem(&read_fixture("test-only-rsa.pem")).unwrap()
        }
        Algorithm::ES256 => {
            EncodingKey::from_ec_pem(&read_fixture("test-only-ec-p256.pem")).unwrap()
        }
        Algorithm::EdDSA => {
            EncodingKey::from_ed_pem(&read_fixture("test-only-ed25519.pem")).unwrap()
        }
        other => panic!("no test key for {other:?}"),
    }
}

pub fn kid_for(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::ES256 => "test-ec",
        Algorithm::EdDSA => "test-ed",
        _ => "test-rsa",
    }
}

/// Signs `claims` with the test key for `alg`, with the matching kid.
pub fn sign(alg: Algorithm, claims: &Value) -> String {
    sign_with(alg, Some(kid_for(alg)), &key_for(alg), claims)
}

pub fn sign_with(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

/// A token with an arbitrary header, signed over exactly those bytes (for headers that
/// `jsonwebtoken::Header` cannot express, such as `crit`).
pub fn sign_raw_header(
    header: &Value,
    claims: &Value,
    alg: Algorithm,
    key: &EncodingKey,
) -> String {
    let message = format!(
        "{}.{}",
        BASE64URL_NOPAD.encode(header.to_string().as_bytes()),
        BASE64URL_NOPAD.encode(claims.to_string().as_bytes())
    );
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

pub fn bearer(token: &str) -> Credentials {
    Credentials::Bearer(token.to_owned())
}
