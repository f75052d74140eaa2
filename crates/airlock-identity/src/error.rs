//! Why a request was not authenticated, and why key material could not be loaded.
//!
//! [`AuthError`] messages are safe to send back to the client: they say what kind of
//! credential failed and why, and never contain the token, the key or anything copied out of
//! them.

use std::path::PathBuf;

use crate::stepup::quote;

/// Why a request's credentials were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Nothing was presented and anonymous access is off.
    #[error("no credentials: send `Authorization: Bearer <token>` or an api key header")]
    MissingCredentials,
    /// A credential header was present but unusable.
    #[error("malformed credentials: {0}")]
    MalformedHeader(&'static str),
    /// The API key matches no configured key.
    #[error("unknown api key")]
    UnknownApiKey,
    /// A JWT arrived but no `[identity.jwt]` is configured.
    #[error("bearer tokens are not accepted: no token issuer is configured")]
    TokensNotAccepted,
    /// The JWT failed validation.
    #[error("invalid token: {0}")]
    InvalidToken(#[from] TokenError),
}

/// Why a JWT was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts, or a part is not the JSON it should be.
    #[error("not a well-formed jwt")]
    Malformed,
    /// `exp` is past, beyond the leeway.
    #[error("token expired")]
    Expired,
    /// `nbf` or `iat` is in the future, beyond the leeway.
    #[error("token not valid yet")]
    NotYetValid,
    /// `aud` names none of this gateway's audiences.
    #[error("wrong audience")]
    WrongAudience,
    /// `iss` is not the configured issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// The signature does not verify with the selected key.
    #[error("bad signature")]
    BadSignature,
    /// The token's `kid` is not in the key set (possibly a key the identity provider rotated
    /// to after the key set was last loaded).
    #[error("unknown signing key id (kid)")]
    UnknownKid,
    /// The token has no `kid` and the key set has more than one key to choose from.
    #[error("token has no key id (kid) and the key set has several keys")]
    MissingKid,
    /// The `alg` is `none`, unknown, or not in the allow-list. Holds the algorithm's name when
    /// it is one airlock knows, `none`, or `unsupported`.
    #[error("algorithm `{0}` is not allowed")]
    DisallowedAlgorithm(String),
    /// The `alg` is allowed but the key selected by `kid` is of another kind or pinned to
    /// another algorithm.
    #[error("algorithm does not match the signing key")]
    AlgorithmKeyMismatch,
    /// The header lists `crit` extensions, which airlock does not implement (RFC 7515 §4.1.11
    /// says such a token must be refused).
    #[error("token uses critical header extensions this gateway does not support")]
    UnsupportedCritical,
    /// A claim the gateway requires is absent.
    #[error("missing claim `{0}`")]
    MissingClaim(String),
    /// A claim has the wrong type (e.g. `roles` is a number).
    #[error("claim `{0}` has the wrong type")]
    InvalidClaim(String),
    /// Neither `sub` nor an agent claim names anyone.
    #[error("token names neither a user (sub) nor an agent")]
    NoIdentity,
}

impl AuthError {
    /// The HTTP status a server should answer with: 400 for a malformed header (RFC 6750
    /// `invalid_request`), 401 otherwise.
    pub fn http_status(&self) -> u16 {
        match self {
            AuthError::MalformedHeader(_) => 400,
            _ => 401,
        }
    }

    /// The `WWW-Authenticate` header value for this refusal (RFC 6750 §3). A request that sent
    /// nothing gets a bare challenge with no error code, as §3.1 asks.
    pub fn www_authenticate(&self) -> String {
        let code = match self {
            AuthError::MissingCredentials => return "Bearer".to_owned(),
            AuthError::MalformedHeader(_) => "invalid_request",
            _ => "invalid_token",
        };
        format!(
            "Bearer error=\"{code}\", error_description=\"{}\"",
            quote(&self.to_string())
        )
    }
}

/// Why key material (a JWKS file, a shared secret) could not be loaded. Returned by
/// [`crate::Authenticator::new`] and [`crate::Authenticator::reload`]; a failed reload keeps
/// the keys that were serving.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The JWKS file could not be read.
    #[error("cannot read jwks file `{path}`: {source}")]
    ReadJwks {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The JWKS file is not a JSON object with a `keys` array.
    #[error("jwks file `{path}` is not a jwks document: {reason}")]
    ParseJwks {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A key that must not be there (a symmetric `oct` key) or that is broken.
    #[error("jwks file `{path}`, keys[{index}]: {reason}")]
    BadKey {
        /// The file.
        path: PathBuf,
        /// Position in `keys`.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// No key in the file can verify any allowed algorithm.
    #[error("jwks file `{path}` holds no usable signing key for the allowed algorithms{skipped}")]
    NoUsableKeys {
        /// The file.
        path: PathBuf,
        /// Why keys were skipped, prefixed with `; skipped: ` when there were any.
        skipped: String,
    },
    /// The HMAC secret could not be read or is too short.
    #[error("shared secret: {0}")]
    SharedSecret(String),
}
