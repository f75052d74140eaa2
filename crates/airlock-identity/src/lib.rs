//! Who is calling: turns the credentials on an incoming request into an
//! [`airlock_core::Principal`].
//!
//! This crate owns authentication for every airlock surface: the `[identity]` config section
//! ([`RawIdentityConfig`] → [`IdentityConfig`]), reading credentials from HTTP header values
//! ([`Credentials::from_headers`]), checking API keys (stored as SHA-256 digests, compared in
//! constant time) and JWT bearer tokens (signature against a JWKS selected by `kid`, algorithm
//! allow-list, `iss`, `aud`, `exp`/`nbf`/`iat` with leeway), mapping claims onto the principal
//! (`sub` → user, `client_id`/`azp`/`act.sub` → agent, roles, groups, tenant, `acr`, `amr`,
//! `auth_time`), and RFC 9470 step-up checks and challenges ([`check_step_up`],
//! [`step_up_www_authenticate`]).
//!
//! It must not decide what a principal may *do* (that is policy), must not speak HTTP (the
//! server hands it header values and turns [`AuthError`] into a response with
//! [`AuthError::http_status`] and [`AuthError::www_authenticate`]), and must never log, store
//! or echo a key or token: errors say what failed, not what was sent.
//!
//! A JWKS comes from `jwks_file` (read here, again on [`Authenticator::reload`]) or from
//! `jwks_url`, which this crate does not fetch — it does no network I/O: the server fetches
//! the document and hands it to [`Authenticator::install_jwks`], which checks it the same way. The seam for a
//! fetcher in the async server is [`Authenticator::install_jwks`]: this crate stays free of an
//! HTTP client and an async runtime.
//!
//! ```no_run
//! # fn demo(auth_header: Option<&[u8]>, key_header: Option<&[u8]>) -> Result<(), Box<dyn std::error::Error>> {
//! use airlock_identity::{Authenticator, Credentials, RawIdentityConfig};
//!
//! let raw: RawIdentityConfig = toml::from_str(r#"
//!     [jwt]
//!     issuer = "https://idp.example.com/"
//!     audience = "airlock"
//!     jwks_file = "/etc/airlock/jwks.json"
//! "#)?;
//! let authenticator = Authenticator::new(raw.validate()?)?;
//! // Per request (pass every value of each header so a repeated header is refused):
//! match Credentials::from_headers(auth_header, key_header)
//!     .and_then(|credentials| authenticator.authenticate(&credentials))
//! {
//!     Ok(principal) => println!("{}", principal.display_name()),
//!     Err(error) => {
//!         // Respond error.http_status() with WWW-Authenticate: error.www_authenticate()
//!         // and error.to_string() as the body: none of them contains the credential.
//!         let _ = (error.http_status(), error.www_authenticate());
//!     }
//! }
//! # Ok(()) }
//! ```

mod api_key;
mod authenticator;
mod config;
mod credentials;
mod error;
mod jwt;
mod stepup;

pub use api_key::hash_api_key;
pub use authenticator::Authenticator;
pub use config::{
    ApiKeyEntry, ConfigError, ConfigProblem, DEFAULT_API_KEY_HEADER, DEFAULT_LEEWAY_SECONDS,
    IdentityConfig, JwksSource, JwtConfig, MAX_LEEWAY_SECONDS, OneOrMany, RawApiKey,
    RawIdentityConfig, RawJwtConfig, SecretSource,
};
pub use credentials::{Credentials, MAX_CREDENTIAL_LEN};
pub use error::{AuthError, KeyError, TokenError};
pub use jsonwebtoken::Algorithm;
pub use jwt::KeyReport;
pub use stepup::{StepUpShortfall, check_step_up, step_up_www_authenticate};
