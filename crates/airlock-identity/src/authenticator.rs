//! [`Authenticator`]: credentials in, [`Principal`] or [`AuthError`] out.

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use airlock_core::Principal;
use jsonwebtoken::DecodingKey;

use crate::api_key::find_key;
use crate::config::{IdentityConfig, JwksSource, JwtConfig};
use crate::credentials::Credentials;
use crate::error::{AuthError, KeyError};
use crate::jwt::{KeyReport, KeySet, load_shared_secret, validate_token};

/// Authenticates requests against one validated [`IdentityConfig`]. Cheap to share
/// (`Arc<Authenticator>`); `authenticate` takes `&self` and may run on many threads while
/// `reload` swaps the key set.
#[derive(Debug)]
pub struct Authenticator {
    config: IdentityConfig,
    // Whole-set replacement: a request sees either the old keys or the new ones, never a mix.
    keys: RwLock<Arc<KeySet>>,
    hmac: Option<DecodingKey>,
}

impl Authenticator {
    /// Loads the key material the config names (the JWKS file, the shared secret) and returns
    /// an authenticator, or says which file or secret is unusable.
    pub fn new(config: IdentityConfig) -> Result<Authenticator, KeyError> {
        // jsonwebtoken picks its crypto backend from crate features and panics on first use
        // when it cannot (e.g. another crate in the build also enables `aws_lc_rs`). Choosing
        // one explicitly removes that trap; if a provider is already installed, it stays.
        let _already_installed =
            jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        let (keys, hmac) = match &config.jwt {
            None => (KeySet::default(), None),
            Some(jwt) => {
                let keys = match &jwt.jwks {
                    Some(source) => load_keys(source, jwt)?.0,
                    None => KeySet::default(),
                };
                let hmac = jwt
                    .shared_secret
                    .as_ref()
                    .map(load_shared_secret)
                    .transpose()?;
                (keys, hmac)
            }
        };
        Ok(Authenticator {
            config,
            keys: RwLock::new(Arc::new(keys)),
            hmac,
        })
    }

    /// The JWKS URL and refresh interval, when keys come from `jwks_url`.
    pub fn jwks_url(&self) -> Option<(&str, u64)> {
        match self.config.jwt.as_ref()?.jwks.as_ref()? {
            JwksSource::Url {
                url,
                refresh_seconds,
            } => Some((url.as_str(), *refresh_seconds)),
            JwksSource::File(_) => None,
        }
    }

    /// The configuration this authenticator enforces (e.g. for `api_key_header`).
    pub fn config(&self) -> &IdentityConfig {
        &self.config
    }

    /// The clock skew tolerated on token times, also the right leeway for
    /// [`crate::check_step_up`]. Zero when no JWT validation is configured.
    pub fn leeway_seconds(&self) -> u64 {
        self.config.jwt.as_ref().map_or(0, |jwt| jwt.leeway_seconds)
    }

    /// Re-reads the JWKS file, for when the identity provider rotates keys. On failure the
    /// keys already in service stay in service and the error says why. (A `jwks_url` is
    /// refetched by the server, which calls [`Authenticator::install_jwks`].)
    pub fn reload(&self) -> Result<KeyReport, KeyError> {
        let Some(jwt) = &self.config.jwt else {
            return Ok(KeyReport::default());
        };
        let Some(source @ JwksSource::File(_)) = &jwt.jwks else {
            return Ok(KeyReport::default());
        };
        let (keys, report) = load_keys(source, jwt)?;
        self.put_in_service(keys);
        Ok(report)
    }

    /// Puts the keys of a JWKS document obtained some other way into service (the seam for a
    /// fetcher of `jwks_url` living in an async server: fetch, then call this). The document
    /// is checked exactly as a `jwks_file` is; on failure the keys in service stay. Returns
    /// [`KeyError::ParseJwks`] when no `[identity.jwt]` is configured, since there would be
    /// no algorithm allow-list to check the keys against.
    pub fn install_jwks(&self, document: &str, source: &str) -> Result<KeyReport, KeyError> {
        let Some(jwt) = &self.config.jwt else {
            return Err(KeyError::ParseJwks {
                path: source.into(),
                reason: "no [identity.jwt] is configured".to_owned(),
            });
        };
        let (keys, report) = KeySet::parse(document, Path::new(source), &jwt.algorithms)?;
        self.put_in_service(keys);
        Ok(report)
    }

    /// Turns `credentials` into a principal, using the system clock for token times.
    pub fn authenticate(&self, credentials: &Credentials) -> Result<Principal, AuthError> {
        self.authenticate_at(credentials, unix_now())
    }

    /// [`Authenticator::authenticate`] at a given time (seconds since the Unix epoch).
    ///
    /// - No credentials: an anonymous principal when `allow_anonymous`, else
    ///   [`AuthError::MissingCredentials`]. Credentials that are present but wrong are never
    ///   downgraded to anonymous.
    /// - An API key (its header, or a bearer value that is not a three-part JWT): the
    ///   configured principal for that key.
    /// - A bearer JWT: validated against `[identity.jwt]`, claims mapped to the principal.
    pub fn authenticate_at(
        &self,
        credentials: &Credentials,
        now: i64,
    ) -> Result<Principal, AuthError> {
        match credentials {
            Credentials::None if self.config.allow_anonymous => Ok(Principal::default()),
            Credentials::None => Err(AuthError::MissingCredentials),
            Credentials::ApiKey(key) => self.api_key(key),
            Credentials::Bearer(token) if looks_like_jwt(token) => self.token(token, now),
            Credentials::Bearer(key) => self.api_key(key),
        }
    }

    fn put_in_service(&self, keys: KeySet) {
        let mut current = self
            .keys
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *current = Arc::new(keys);
    }

    fn api_key(&self, key: &str) -> Result<Principal, AuthError> {
        let entry = find_key(&self.config.api_keys, key).ok_or(AuthError::UnknownApiKey)?;
        Ok(Principal {
            agent: Some(entry.agent.clone()),
            user: entry.on_behalf_of.clone(),
            roles: entry.roles.clone(),
            groups: entry.groups.clone(),
            tenant: entry.tenant.clone(),
            ..Principal::default()
        })
    }

    fn token(&self, token: &str, now: i64) -> Result<Principal, AuthError> {
        let jwt = self
            .config
            .jwt
            .as_ref()
            .ok_or(AuthError::TokensNotAccepted)?;
        let keys = Arc::clone(
            &self
                .keys
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        Ok(validate_token(token, jwt, &keys, self.hmac.as_ref(), now)?)
    }
}

fn load_keys(source: &JwksSource, jwt: &JwtConfig) -> Result<(KeySet, KeyReport), KeyError> {
    match source {
        JwksSource::File(path) => KeySet::load(path, &jwt.algorithms),
        // Fetched by the server and installed with `install_jwks`; none until then.
        JwksSource::Url { .. } => Ok((KeySet::default(), KeyReport::default())),
    }
}

/// A compact JWS is three base64url parts separated by two dots; API keys are one opaque
/// string.
fn looks_like_jwt(value: &str) -> bool {
    value.bytes().filter(|byte| *byte == b'.').count() == 2
}

fn unix_now() -> i64 {
    // A clock before 1970 is broken; reading it as the far future makes every token expired,
    // so a bad clock fails closed.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(i64::MAX, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}
