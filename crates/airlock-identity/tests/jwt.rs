//! Bearer JWTs: what is accepted, what is refused and why, and what the principal holds.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod support;

use airlock_core::{AuthStrength, Principal};
use airlock_identity::{AuthError, Credentials, TokenError};
use data_encoding::BASE64URL_NOPAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use support::*;

fn refused(credentials: &Credentials) -> TokenError {
    match jwt_authenticator().authenticate_at(credentials, NOW) {
        Err(AuthError::InvalidToken(reason)) => reason,
        other => panic!("expected an invalid-token error, got {other:?}"),
    }
}

fn with(claims: Value, changes: Value) -> Value {
    let mut claims = claims;
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

#[test]
fn valid_token_becomes_a_principal_with_every_field() {
    let token = sign(Algorithm::RS256, &full_claims());
    let principal = jwt_authenticator()
        .authenticate_at(&bearer(&token), NOW)
        .unwrap();
    assert_eq!(
        principal,
        Principal {
            agent: Some("mail-agent".into()),
            user: Some("alice@example.com".into()),
            roles: vec!["reader".into(), "mailer".into()],
            groups: vec!["finance".into()],
            tenant: Some("acme".into()),
            auth: AuthStrength {
                acr: Some("urn:example:mfa".into()),
                amr: vec!["pwd".into(), "otp".into()],
                auth_time: Some(NOW - 120),
            },
            origin: None,
        }
    );
    assert_eq!(principal.display_name(), "mail-agent for alice@example.com");
}

#[test]
fn accepts_es256_and_eddsa_tokens_from_the_same_jwks() {
    let authenticator = jwt_authenticator();
    for alg in [Algorithm::ES256, Algorithm::EdDSA] {
        let token = sign(alg, &full_claims());
        let principal = authenticator.authenticate_at(&bearer(&token), NOW);
        assert_eq!(
            principal.unwrap().user.as_deref(),
            Some("alice@example.com"),
            "{alg:?}"
        );
    }
}

#[test]
fn rejects_token_expired_beyond_the_leeway() {
    let token = sign(
        Algorithm::RS256,
        &with(full_claims(), json!({"exp": NOW - 61})),
    );
    assert_eq!(refused(&bearer(&token)), TokenError::Expired);
}

#[test]
fn accepts_token_expired_within_the_leeway() {
    let token = sign(
        Algorithm::RS256,
        &with(full_claims(), json!({"exp": NOW - 59})),
    );
    assert!(
        jwt_authenticator()
            .authenticate_at(&bearer(&token), NOW)
            .is_ok()
    );
}

#[test]
fn zero_leeway_rejects_a_token_at_its_expiry_second() {
    let authenticator = authenticator(&jwt_toml("leeway_seconds = 0"));
    let at_expiry = sign(Algorithm::RS256, &with(full_claims(), json!({"exp": NOW})));
    let before_expiry = sign(
        Algorithm::RS256,
        &with(full_claims(), json!({"exp": NOW + 1})),
    );
    assert_eq!(
        authenticator.authenticate_at(&bearer(&at_expiry), NOW),
        Err(AuthError::InvalidToken(TokenError::Expired))
    );
    assert!(
        authenticator
            .authenticate_at(&bearer(&before_expiry), NOW)
            .is_ok()
    );
}

#[test]
fn rejects_token_not_yet_valid_beyond_the_leeway_and_accepts_it_within() {
    let early = sign(
        Algorithm::RS256,
        &with(full_claims(), json!({"nbf": NOW + 61})),
    );
    assert_eq!(refused(&bearer(&early)), TokenError::NotYetValid);
    let skewed = sign(
        Algorithm::RS256,
        &with(full_claims(), json!({"nbf": NOW + 59})),
    );
    assert!(
        jwt_authenticator()
            .authenticate_at(&bearer(&skewed), NOW)
            .is_ok()
    );
    let issued_in_future = sign(
        Algorithm::RS256,
        &with(full_claims(), json!({"iat": NOW + 3600})),
    );
    assert_eq!(refused(&bearer(&issued_in_future)), TokenError::NotYetValid);
}

#[test]
fn rejects_token_for_another_audience() {
    let token = sign(
        Algorithm::RS256,
        &with(full_claims(), json!({"aud": "billing-api"})),
    );
    assert_eq!(refused(&bearer(&token)), TokenError::WrongAudience);
    let many = sign(
        Algorithm::RS256,
        &with(full_claims(), json!({"aud": ["billing-api", "crm"]})),
    );
    assert_eq!(refused(&bearer(&many)), TokenError::WrongAudience);
}

#[test]
fn accepts_any_configured_audience_alone_or_among_others() {
    let authenticator = jwt_authenticator();
    for aud in [json!("airlock-staging"), json!(["billing-api", "airlock"])] {
        let token = sign(
            Algorithm::RS256,
            &with(full_claims(), json!({ "aud": aud })),
        );
        assert!(
            authenticator.authenticate_at(&bearer(&token), NOW).is_ok(),
            "{aud}"
        );
    }
}

#[test]
fn rejects_token_from_another_issuer() {
    let token = sign(
        Algorithm::RS256,
        &with(full_claims(), json!({"iss": "https://evil.example/"})),
    );
    assert_eq!(refused(&bearer(&token)), TokenError::WrongIssuer);
}

#[test]
fn rejects_token_missing_iss_aud_or_exp() {
    for claim in ["iss", "aud", "exp"] {
        let token = sign(
            Algorithm::RS256,
            &with(full_claims(), json!({ claim: null })),
        );
        assert_eq!(
            refused(&bearer(&token)),
            TokenError::MissingClaim(claim.into()),
            "{claim}"
        );
    }
}

#[test]
fn rejects_unsigned_alg_none_token() {
    for alg in ["none", "None", "NONE"] {
        let header =
            BASE64URL_NOPAD.encode(json!({"alg": alg, "typ": "JWT"}).to_string().as_bytes());
        let payload = BASE64URL_NOPAD.encode(full_claims().to_string().as_bytes());
        for signature in ["", "AAAA"] {
            let token = format!("{header}.{payload}.{signature}");
            assert_eq!(
                refused(&bearer(&token)),
                TokenError::DisallowedAlgorithm("none".into()),
                "{alg} {signature:?}"
            );
        }
    }
}

#[test]
fn rejects_hs256_token_keyed_with_the_rsa_public_key() {
    // The algorithm-confusion attack: the public key is public, so if the verifier let the
    // token choose HS256 it would use those bytes as the HMAC secret.
    let public_pem = read_fixture("test-only-rsa.pub.pem");
    let forged = sign_with(
        Algorithm::HS256,
        Some("test-rsa"),
        &EncodingKey::from_secret(&public_pem),
        &with(full_claims(), json!({"roles": ["admin"]})),
    );
    assert_eq!(
        refused(&bearer(&forged)),
        TokenError::DisallowedAlgorithm("HS256".into())
    );
}

#[test]
fn hs256_forgery_fails_even_where_hs256_is_enabled_with_a_shared_secret() {
    let dir = tempfile::tempdir().unwrap();
    let secret_path = dir.path().join("hs.secret");
    std::fs::write(&secret_path, "0123456789abcdef0123456789abcdef-test-only\n").unwrap();
    let authenticator = authenticator(&jwt_toml(&format!(
        "algorithms = [\"RS256\", \"HS256\"]\nshared_secret_file = '{}'",
        secret_path.display()
    )));
    let public_pem = read_fixture("test-only-rsa.pub.pem");
    let forged = sign_with(
        Algorithm::HS256,
        Some("test-rsa"),
        &EncodingKey::from_secret(&public_pem),
        &full_claims(),
    );
    assert_eq!(
        authenticator.authenticate_at(&bearer(&forged), NOW),
        Err(AuthError::InvalidToken(TokenError::BadSignature))
    );
    // The benign twin: a token really made with the shared secret.
    let genuine = sign_with(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef-test-only"),
        &full_claims(),
    );
    assert!(
        authenticator
            .authenticate_at(&bearer(&genuine), NOW)
            .is_ok()
    );
}

#[test]
fn rejects_algorithm_outside_the_allow_list() {
    let authenticator = authenticator(&jwt_toml("algorithms = [\"ES256\"]"));
    let token = sign(Algorithm::RS256, &full_claims());
    assert_eq!(
        authenticator.authenticate_at(&bearer(&token), NOW),
        Err(AuthError::InvalidToken(TokenError::DisallowedAlgorithm(
            "RS256".into()
        )))
    );
}

#[test]
fn rejects_unknown_kid_with_a_clear_error() {
    let token = sign_with(
        Algorithm::RS256,
        Some("not-in-the-jwks"),
        &key_for(Algorithm::RS256),
        &full_claims(),
    );
    let error = jwt_authenticator()
        .authenticate_at(&bearer(&token), NOW)
        .unwrap_err();
    assert_eq!(error, AuthError::InvalidToken(TokenError::UnknownKid));
    assert_eq!(
        error.to_string(),
        "invalid token: unknown signing key id (kid)"
    );
}

#[test]
fn rejects_a_header_alg_that_does_not_fit_the_kid_key() {
    // An ES256 signature presented under the RSA key's kid.
    let token = sign_with(
        Algorithm::ES256,
        Some("test-rsa"),
        &key_for(Algorithm::ES256),
        &full_claims(),
    );
    assert_eq!(refused(&bearer(&token)), TokenError::AlgorithmKeyMismatch);
}

#[test]
fn rejects_token_signed_by_another_key_under_a_known_kid() {
    let other = EncodingKey::from_rsa_pem(&read_fixture("test-only-rsa-rotated.pem")).unwrap();
    let token = sign_with(Algorithm::RS256, Some("test-rsa"), &other, &full_claims());
    assert_eq!(refused(&bearer(&token)), TokenError::BadSignature);
}

#[test]
fn rejects_token_whose_payload_was_tampered_with() {
    let token = sign(Algorithm::RS256, &full_claims());
    let parts: Vec<&str> = token.split('.').collect();
    let escalated = with(full_claims(), json!({"roles": ["admin"]}));
    let payload = BASE64URL_NOPAD.encode(escalated.to_string().as_bytes());
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    assert_eq!(refused(&bearer(&tampered)), TokenError::BadSignature);
}

#[test]
fn rejects_token_without_kid_when_the_jwks_has_several_keys() {
    let token = sign_with(
        Algorithm::RS256,
        None,
        &key_for(Algorithm::RS256),
        &full_claims(),
    );
    assert_eq!(refused(&bearer(&token)), TokenError::MissingKid);
}

#[test]
fn accepts_token_without_kid_when_the_jwks_has_one_key() {
    let authenticator = authenticator(&format!(
        "[jwt]\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\njwks_file = '{}'\n",
        fixture("test-only-jwks-rotated.json").display()
    ));
    let key = EncodingKey::from_rsa_pem(&read_fixture("test-only-rsa-rotated.pem")).unwrap();
    let token = sign_with(Algorithm::RS256, None, &key, &full_claims());
    assert!(authenticator.authenticate_at(&bearer(&token), NOW).is_ok());
}

#[test]
fn rejects_token_with_critical_header_extensions() {
    let token = sign_raw_header(
        &json!({"alg": "RS256", "kid": "test-rsa", "crit": ["exp-ext"], "exp-ext": 1}),
        &full_claims(),
        Algorithm::RS256,
        &key_for(Algorithm::RS256),
    );
    assert_eq!(refused(&bearer(&token)), TokenError::UnsupportedCritical);
}

#[test]
fn rejects_garbage_that_merely_has_two_dots() {
    assert_eq!(refused(&bearer("a.b.c")), TokenError::Malformed);
    assert_eq!(refused(&bearer("..")), TokenError::Malformed);
}

#[test]
fn rejects_claims_of_the_wrong_type_instead_of_ignoring_them() {
    let token = sign(Algorithm::RS256, &with(full_claims(), json!({"roles": 7})));
    assert_eq!(
        refused(&bearer(&token)),
        TokenError::InvalidClaim("roles".into())
    );
    let token = sign(
        Algorithm::RS256,
        &with(full_claims(), json!({"auth_time": "yesterday"})),
    );
    assert_eq!(
        refused(&bearer(&token)),
        TokenError::InvalidClaim("auth_time".into())
    );
}

#[test]
fn delegated_token_carries_both_agent_and_user() {
    let token = sign(
        Algorithm::RS256,
        &with(
            full_claims(),
            json!({"client_id": null, "azp": "calendar-agent"}),
        ),
    );
    let principal = jwt_authenticator()
        .authenticate_at(&bearer(&token), NOW)
        .unwrap();
    assert_eq!(principal.agent.as_deref(), Some("calendar-agent"));
    assert_eq!(principal.user.as_deref(), Some("alice@example.com"));

    // RFC 8693 token exchange: the actor claim names the agent.
    let exchanged = sign(
        Algorithm::RS256,
        &with(
            full_claims(),
            json!({"client_id": null, "act": {"sub": "triage-agent"}}),
        ),
    );
    let principal = jwt_authenticator()
        .authenticate_at(&bearer(&exchanged), NOW)
        .unwrap();
    assert_eq!(principal.agent.as_deref(), Some("triage-agent"));
    assert_eq!(principal.user.as_deref(), Some("alice@example.com"));
}

#[test]
fn client_credentials_token_is_an_agent_acting_for_nobody() {
    let token = sign(
        Algorithm::RS256,
        &with(
            full_claims(),
            json!({"sub": "mail-agent", "client_id": "mail-agent"}),
        ),
    );
    let principal = jwt_authenticator()
        .authenticate_at(&bearer(&token), NOW)
        .unwrap();
    assert_eq!(principal.agent.as_deref(), Some("mail-agent"));
    assert_eq!(principal.user, None);
}

#[test]
fn token_naming_nobody_is_refused() {
    let token = sign(
        Algorithm::RS256,
        &with(full_claims(), json!({"sub": null, "client_id": null})),
    );
    assert_eq!(refused(&bearer(&token)), TokenError::NoIdentity);
}

#[test]
fn reads_roles_groups_and_tenant_from_configured_claim_names() {
    let authenticator = authenticator(&jwt_toml(
        "roles_claim = \"realm_access.roles\"\ngroups_claim = \"scope\"\n\
         tenant_claim = \"https://claims.example/org\"\nagent_claims = [\"azp\"]",
    ));
    let token = sign(
        Algorithm::RS256,
        &json!({
            "iss": ISSUER, "aud": AUDIENCE, "exp": NOW + 60, "sub": "bob", "azp": "ide-agent",
            "client_id": "ignored-because-not-configured",
            "realm_access": {"roles": ["dev"]},
            "scope": "mail.read calendar.read",
            "https://claims.example/org": "globex",
        }),
    );
    let principal = authenticator.authenticate_at(&bearer(&token), NOW).unwrap();
    assert_eq!(principal.agent.as_deref(), Some("ide-agent"));
    assert_eq!(principal.roles, ["dev"]);
    assert_eq!(principal.groups, ["mail.read", "calendar.read"]);
    assert_eq!(principal.tenant.as_deref(), Some("globex"));
}

#[test]
fn tokens_are_refused_when_no_issuer_is_configured() {
    let authenticator = authenticator("");
    let token = sign(Algorithm::RS256, &full_claims());
    assert_eq!(
        authenticator.authenticate_at(&bearer(&token), NOW),
        Err(AuthError::TokensNotAccepted)
    );
}

#[test]
fn reload_picks_up_a_rotated_key_and_a_failed_reload_keeps_the_old_keys() {
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    std::fs::copy(fixture("test-only-jwks.json"), &jwks).unwrap();
    let authenticator = authenticator(&format!(
        "[jwt]\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\njwks_file = '{}'\n",
        jwks.display()
    ));
    let rotated_key =
        EncodingKey::from_rsa_pem(&read_fixture("test-only-rsa-rotated.pem")).unwrap();
    let rotated = sign_with(
        Algorithm::RS256,
        Some("test-rsa-rotated"),
        &rotated_key,
        &full_claims(),
    );
    let old = sign(Algorithm::RS256, &full_claims());
    assert_eq!(
        authenticator.authenticate_at(&bearer(&rotated), NOW),
        Err(AuthError::InvalidToken(TokenError::UnknownKid))
    );

    std::fs::write(&jwks, "{ not json").unwrap();
    assert!(authenticator.reload().is_err());
    assert!(authenticator.authenticate_at(&bearer(&old), NOW).is_ok());

    std::fs::copy(fixture("test-only-jwks-rotated.json"), &jwks).unwrap();
    let report = authenticator.reload().unwrap();
    assert_eq!(report.loaded, ["test-rsa-rotated"]);
    assert!(
        authenticator
            .authenticate_at(&bearer(&rotated), NOW)
            .is_ok()
    );
    assert_eq!(
        authenticator.authenticate_at(&bearer(&old), NOW),
        Err(AuthError::InvalidToken(TokenError::UnknownKid))
    );
}

#[test]
fn keys_installed_from_a_fetched_document_replace_the_old_ones() {
    let authenticator = jwt_authenticator();
    let old = sign(Algorithm::RS256, &full_claims());
    let rotated_key =
        EncodingKey::from_rsa_pem(&read_fixture("test-only-rsa-rotated.pem")).unwrap();
    let rotated = sign_with(
        Algorithm::RS256,
        Some("test-rsa-rotated"),
        &rotated_key,
        &full_claims(),
    );
    assert!(
        authenticator
            .install_jwks("{\"keys\": 3}", "https://idp.test.example/jwks")
            .is_err()
    );
    assert!(authenticator.authenticate_at(&bearer(&old), NOW).is_ok());

    let document = String::from_utf8(read_fixture("test-only-jwks-rotated.json")).unwrap();
    let report = authenticator
        .install_jwks(&document, "https://idp.test.example/jwks")
        .unwrap();
    assert_eq!(report.loaded, ["test-rsa-rotated"]);
    assert!(
        authenticator
            .authenticate_at(&bearer(&rotated), NOW)
            .is_ok()
    );
    assert_eq!(
        authenticator.authenticate_at(&bearer(&old), NOW),
        Err(AuthError::InvalidToken(TokenError::UnknownKid))
    );
}

#[test]
fn refusals_never_echo_the_token() {
    let token = sign(
        Algorithm::RS256,
        &with(full_claims(), json!({"aud": "elsewhere"})),
    );
    let error = jwt_authenticator()
        .authenticate_at(&bearer(&token), NOW)
        .unwrap_err();
    let parts: Vec<&str> = token.split('.').collect();
    for shown in [
        error.to_string(),
        error.www_authenticate(),
        format!("{error:?}"),
    ] {
        for part in &parts {
            assert!(!shown.contains(part), "{shown}");
        }
        assert!(!shown.contains("alice"), "{shown}");
    }
    assert_eq!(error.http_status(), 401);
    assert_eq!(
        error.www_authenticate(),
        "Bearer error=\"invalid_token\", error_description=\"invalid token: wrong audience\""
    );
}

/// xorshift64*: a fixed-seed generator so the test is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn no_single_character_change_to_a_valid_token_is_accepted() {
    let authenticator = jwt_authenticator();
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        let token = sign(alg, &full_claims());
        assert!(authenticator.authenticate_at(&bearer(&token), NOW).is_ok());
        let mut rng = Rng(0x5eed_0fa1_1c0c + alg as u64);
        for _ in 0..400 {
            let mut bytes = token.clone().into_bytes();
            let at = rng.below(bytes.len());
            bytes[at] = ALPHABET[rng.below(ALPHABET.len())];
            let mutated = String::from_utf8(bytes).unwrap();
            if mutated == token {
                continue;
            }
            let result = authenticator.authenticate_at(&bearer(&mutated), NOW);
            assert!(
                result.is_err(),
                "{alg:?}: changing byte {at} was accepted: {result:?}"
            );
        }
    }
}

#[test]
fn arbitrary_header_bytes_are_refused_without_panicking() {
    let authenticator = jwt_authenticator();
    let mut rng = Rng(0xa1_4c0c_4e11);
    let seeds: [&[u8]; 4] = [b"Bearer ", b"bearer e30.e30.", b"Bearer eyJhbGciOi", b""];
    for _ in 0..5_000 {
        let mut value = seeds[rng.below(seeds.len())].to_vec();
        for _ in 0..rng.below(64) {
            value.push(rng.next() as u8);
        }
        let outcome = Credentials::from_headers([value.as_slice()], [])
            .and_then(|credentials| authenticator.authenticate_at(&credentials, NOW));
        assert!(outcome.is_err(), "{value:?} was accepted");
    }
}
