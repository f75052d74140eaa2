//! API keys and anonymous access.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod support;

use airlock_core::Principal;
use airlock_identity::{AuthError, Credentials, hash_api_key};
use support::*;

// Test-only keys: they exist nowhere but in this file.
const CI_KEY: &str = "ak_test_only_5f1d0c8e9b7a4c2e8f3b6a1d9e0c7b4a";
const DELEGATED_KEY: &str = "ak_test_only_0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d";

fn keys_toml(extra: &str) -> String {
    format!(
        r#"{extra}
[[api_keys]]
hash = "{}"
agent = "ci-bot"
roles = ["reader"]
tenant = "acme"

[[api_keys]]
hash = "{}"
agent = "mail-agent"
on_behalf_of = "alice@example.com"
roles = ["mailer"]
groups = ["finance"]
"#,
        hash_api_key(CI_KEY),
        hash_api_key(DELEGATED_KEY)
    )
}

#[test]
fn known_api_key_becomes_its_configured_agent() {
    let principal = authenticator(&keys_toml(""))
        .authenticate(&Credentials::ApiKey(CI_KEY.into()))
        .unwrap();
    assert_eq!(
        principal,
        Principal {
            agent: Some("ci-bot".into()),
            roles: vec!["reader".into()],
            tenant: Some("acme".into()),
            ..Principal::default()
        }
    );
}

#[test]
fn unknown_api_key_is_refused_without_echoing_it() {
    let near_miss = format!("{}x", &CI_KEY[..CI_KEY.len() - 1]);
    let error = authenticator(&keys_toml(""))
        .authenticate(&Credentials::ApiKey(near_miss.clone()))
        .unwrap_err();
    assert_eq!(error, AuthError::UnknownApiKey);
    for shown in [error.to_string(), error.www_authenticate()] {
        assert!(!shown.contains(&near_miss), "{shown}");
    }
}

#[test]
fn api_key_sent_as_bearer_is_accepted_like_the_header() {
    let principal = authenticator(&keys_toml(""))
        .authenticate(&Credentials::Bearer(CI_KEY.into()))
        .unwrap();
    assert_eq!(principal.agent.as_deref(), Some("ci-bot"));
}

#[test]
fn delegated_api_key_carries_agent_and_user() {
    let principal = authenticator(&keys_toml(""))
        .authenticate(&Credentials::ApiKey(DELEGATED_KEY.into()))
        .unwrap();
    assert_eq!(principal.agent.as_deref(), Some("mail-agent"));
    assert_eq!(principal.user.as_deref(), Some("alice@example.com"));
    assert_eq!(principal.groups, ["finance"]);
    assert_eq!(principal.display_name(), "mail-agent for alice@example.com");
}

#[test]
fn request_without_credentials_is_refused_by_default() {
    let error = authenticator(&keys_toml(""))
        .authenticate(&Credentials::None)
        .unwrap_err();
    assert_eq!(error, AuthError::MissingCredentials);
    assert_eq!(error.http_status(), 401);
    assert_eq!(error.www_authenticate(), "Bearer");
}

#[test]
fn anonymous_access_when_enabled_gives_an_empty_principal() {
    let principal = authenticator(&keys_toml("allow_anonymous = true"))
        .authenticate(&Credentials::None)
        .unwrap();
    assert_eq!(principal, Principal::default());
    assert_eq!(principal.display_name(), "anonymous");
}

#[test]
fn wrong_key_is_refused_even_when_anonymous_access_is_enabled() {
    let error = authenticator(&keys_toml("allow_anonymous = true"))
        .authenticate(&Credentials::ApiKey("ak_wrong".into()))
        .unwrap_err();
    assert_eq!(error, AuthError::UnknownApiKey);
}

#[test]
fn headers_to_principal_end_to_end() {
    let authenticator = authenticator(&keys_toml(""));
    let header_name = authenticator.config().api_key_header.clone();
    assert_eq!(header_name, "x-api-key");
    let credentials = Credentials::from_headers([], [CI_KEY.as_bytes()]).unwrap();
    assert_eq!(
        authenticator
            .authenticate(&credentials)
            .unwrap()
            .agent
            .as_deref(),
        Some("ci-bot")
    );
    let credentials =
        Credentials::from_headers([format!("Bearer {DELEGATED_KEY}").as_bytes()], []).unwrap();
    assert_eq!(
        authenticator
            .authenticate(&credentials)
            .unwrap()
            .user
            .as_deref(),
        Some("alice@example.com")
    );
    let malformed = Credentials::from_headers([b"Basic Zm9vOmJhcg==".as_slice()], []).unwrap_err();
    assert_eq!(malformed.http_status(), 400);
    assert!(
        malformed
            .www_authenticate()
            .starts_with("Bearer error=\"invalid_request\"")
    );
}
