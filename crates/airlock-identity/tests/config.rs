//! The `[identity]` section: defaults, and every mistake reported at once with its path.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod support;

use airlock_identity::{
    Algorithm, Authenticator, IdentityConfig, JwksSource, KeyError, RawIdentityConfig,
};
use support::*;

fn problems(toml_text: &str) -> Vec<String> {
    parse(toml_text)
        .validate()
        .unwrap_err()
        .problems
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn empty_section_accepts_nothing_and_refuses_anonymous() {
    let config = RawIdentityConfig::default().validate().unwrap();
    assert_eq!(config, IdentityConfig::default());
    assert!(!config.allow_anonymous);
    assert!(config.api_keys.is_empty());
    assert!(config.jwt.is_none());
}

#[test]
fn jwt_defaults_are_safe() {
    let config = parse(&jwt_toml("")).validate().unwrap();
    let jwt = config.jwt.unwrap();
    assert_eq!(
        jwt.algorithms,
        [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA]
    );
    assert_eq!(jwt.leeway_seconds, 60);
    assert_eq!(jwt.roles_claim, "roles");
    assert_eq!(jwt.groups_claim, "groups");
    assert_eq!(jwt.tenant_claim, "tenant");
    assert_eq!(jwt.agent_claims, ["client_id", "azp"]);
    assert_eq!(jwt.audience, ["airlock", "airlock-staging"]);
    assert_eq!(
        jwt.jwks,
        Some(JwksSource::File(fixture("test-only-jwks.json")))
    );
    assert_eq!(jwt.shared_secret, None);
}

#[test]
fn bad_config_reports_every_problem_with_its_path() {
    let found = problems(
        r#"
api_key_header = "x api key"

[[api_keys]]
hash = "sk-live-pasted-the-real-key"
roles = ["", "reader"]

[[api_keys]]
hash = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
agent = "a"

[[api_keys]]
hash = "sha256:9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
agent = ""

[jwt]
jwks_url = "http://idp.example/jwks"
algorithms = ["RS256", "none", "HS256", "XY999"]
leeway_seconds = 3600
roles_claim = ""
agent_claims = []
"#,
    );
    let expected_paths = [
        "identity.api_key_header:",
        "identity.api_keys[0].hash:",
        "identity.api_keys[0].agent: missing",
        "identity.api_keys[0].roles[0]:",
        "identity.api_keys[2].agent: must not be empty",
        "identity.api_keys[2].hash: the same key hash is already configured at identity.api_keys[1]",
        "identity.jwt.issuer: missing",
        "identity.jwt.audience: missing",
        "identity.jwt.algorithms[1]: `none` is never accepted",
        "identity.jwt.algorithms[3]: unknown algorithm `XY999`",
        "identity.jwt.algorithms: HS256/HS384/HS512 need a shared secret",
        "identity.jwt.jwks_url: `http://idp.example/jwks`: keys must be fetched over https",
        "identity.jwt.leeway_seconds: 3600 is more than 300",
        "identity.jwt.roles_claim:",
        "identity.jwt.agent_claims: empty",
    ];
    for path in expected_paths {
        assert!(
            found.iter().any(|problem| problem.starts_with(path)),
            "no problem starting with `{path}` in:\n{}",
            found.join("\n")
        );
    }
    assert_eq!(found.len(), expected_paths.len(), "{}", found.join("\n"));
    // A pasted key is never repeated back in the error.
    assert!(
        !found
            .iter()
            .any(|problem| problem.contains("sk-live-pasted")),
        "{found:?}"
    );
}

#[test]
fn an_https_jwks_url_is_accepted_with_its_refresh_interval() {
    let raw: RawIdentityConfig = toml::from_str(&format!(
        "[jwt]\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\n\
         jwks_url = \"https://idp.example/jwks\"\njwks_refresh_seconds = 60\n"
    ))
    .unwrap();
    let config = raw.validate().unwrap();
    assert_eq!(
        config.jwt.unwrap().jwks,
        Some(JwksSource::Url {
            url: "https://idp.example/jwks".into(),
            refresh_seconds: 60
        })
    );
    let both = problems(&format!(
        "[jwt]\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\n\
         jwks_url = \"https://idp.example/jwks\"\njwks_file = \"k.json\"\n"
    ));
    assert_eq!(both.len(), 1, "{both:?}");
    assert!(both[0].contains("keep one of them"), "{both:?}");
}

#[test]
fn jwt_section_needs_a_key_source_unless_it_only_uses_a_shared_secret() {
    let found = problems(&format!(
        "[jwt]\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\n"
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("identity.jwt.jwks_file: missing"),
        "{found:?}"
    );

    let hmac_only = parse(&format!(
        "[jwt]\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\nalgorithms = [\"HS256\"]\n\
         shared_secret_env = \"AIRLOCK_TEST_ONLY_UNSET_SECRET\"\n"
    ))
    .validate();
    assert!(hmac_only.is_ok(), "{hmac_only:?}");
}

#[test]
fn jwks_file_with_only_hs_algorithms_is_a_mistake() {
    let found = problems(&jwt_toml(
        "algorithms = [\"HS256\"]\nshared_secret_env = \"JWT_SECRET\"",
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("identity.jwt.jwks_file: set, but"),
        "{found:?}"
    );
}

#[test]
fn shared_secret_without_an_hs_algorithm_is_a_mistake() {
    let found = problems(&jwt_toml("shared_secret_env = \"JWT_SECRET\""));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("no HS256/HS384/HS512"), "{found:?}");
}

#[test]
fn unknown_keys_are_rejected_by_the_parser() {
    let error = toml::from_str::<RawIdentityConfig>("[jwt]\nissuers = \"x\"\n").unwrap_err();
    assert!(error.to_string().contains("issuers"), "{error}");
    let error = toml::from_str::<RawIdentityConfig>("[[api_keys]]\nkey = \"x\"\n").unwrap_err();
    assert!(error.to_string().contains("key"), "{error}");
}

#[test]
fn missing_jwks_file_is_reported_with_its_path() {
    let config = parse(&format!(
        "[jwt]\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\njwks_file = '/nonexistent/airlock-jwks.json'\n"
    ))
    .validate()
    .unwrap();
    let error = Authenticator::new(config).unwrap_err();
    assert!(matches!(error, KeyError::ReadJwks { .. }), "{error}");
    assert!(
        error.to_string().contains("/nonexistent/airlock-jwks.json"),
        "{error}"
    );
}

#[test]
fn short_or_missing_shared_secret_is_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short.secret");
    std::fs::write(&short, "hunter2\n").unwrap();
    let config = parse(&format!(
        "[jwt]\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\nalgorithms = [\"HS256\"]\n\
         shared_secret_file = '{}'\n",
        short.display()
    ))
    .validate()
    .unwrap();
    let error = Authenticator::new(config).unwrap_err();
    assert!(error.to_string().contains("at least 32"), "{error}");
    assert!(!error.to_string().contains("hunter2"), "{error}");

    let config = parse(&format!(
        "[jwt]\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\nalgorithms = [\"HS256\"]\n\
         shared_secret_env = \"AIRLOCK_TEST_ONLY_UNSET_SECRET\"\n"
    ))
    .validate()
    .unwrap();
    let error = Authenticator::new(config).unwrap_err();
    assert!(
        error.to_string().contains("AIRLOCK_TEST_ONLY_UNSET_SECRET"),
        "{error}"
    );
}

#[test]
fn jwks_that_publishes_a_symmetric_key_is_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(
        &jwks,
        r#"{"keys":[{"kty":"oct","kid":"k","k":"c2VjcmV0c2VjcmV0"}]}"#,
    )
    .unwrap();
    let config = parse(&format!(
        "[jwt]\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\njwks_file = '{}'\n",
        jwks.display()
    ))
    .validate()
    .unwrap();
    let error = Authenticator::new(config).unwrap_err();
    assert!(error.to_string().contains("symmetric"), "{error}");
}
