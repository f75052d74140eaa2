//! What a request presents to prove who it is, parsed from its HTTP header values.

use std::fmt;

use crate::error::AuthError;

/// Longest credential accepted, in bytes. Real JWTs are a few KB; anything larger is refused
/// before any parsing or hashing, so a huge header costs nothing.
pub const MAX_CREDENTIAL_LEN: usize = 16 * 1024;

/// The credentials a request carries. Its `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// No `Authorization` and no API-key header.
    None,
    /// `Authorization: Bearer <value>`: a JWT, or an API key sent the way OpenAI-style clients
    /// send theirs (the authenticator tells them apart by shape).
    Bearer(String),
    /// The value of the API-key header (`x-api-key` by default).
    ApiKey(String),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::None => f.write_str("Credentials::None"),
            Credentials::Bearer(_) => f.write_str("Credentials::Bearer([redacted])"),
            Credentials::ApiKey(_) => f.write_str("Credentials::ApiKey([redacted])"),
        }
    }
}

impl Credentials {
    /// Reads the credentials from every value of the `Authorization` header and every value of
    /// the API-key header (pass all of them, e.g. `headers.get_all(AUTHORIZATION)`, so a
    /// request that repeats a header is refused rather than judged on whichever copy came
    /// first).
    ///
    /// Refuses, with [`AuthError::MalformedHeader`]: a repeated header, both kinds at once, a
    /// scheme other than `Bearer`, an empty or oversized value, or bytes a token cannot hold.
    pub fn from_headers<'a>(
        authorization: impl IntoIterator<Item = &'a [u8]>,
        api_key: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Credentials, AuthError> {
        let authorization = single(authorization, "authorization header sent more than once")?;
        let api_key = single(api_key, "api key header sent more than once")?;
        match (authorization, api_key) {
            (Some(_), Some(_)) => Err(AuthError::MalformedHeader(
                "send either an authorization header or an api key header, not both",
            )),
            (Some(value), None) => parse_authorization(value).map(Credentials::Bearer),
            (None, Some(value)) => parse_api_key(value).map(Credentials::ApiKey),
            (None, None) => Ok(Credentials::None),
        }
    }

    /// True when nothing was presented.
    pub fn is_none(&self) -> bool {
        matches!(self, Credentials::None)
    }
}

fn single<'a>(
    values: impl IntoIterator<Item = &'a [u8]>,
    repeated: &'static str,
) -> Result<Option<&'a [u8]>, AuthError> {
    let mut values = values.into_iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(AuthError::MalformedHeader(repeated));
    }
    Ok(first)
}

/// `Authorization: Bearer <token68>` (RFC 6750 §2.1; the scheme is case-insensitive,
/// RFC 9110 §11.1).
fn parse_authorization(value: &[u8]) -> Result<String, AuthError> {
    if value.len() > MAX_CREDENTIAL_LEN {
        return Err(AuthError::MalformedHeader(
            "authorization header is too long",
        ));
    }
    let value = value.trim_ascii();
    let Some(space) = value.iter().position(|byte| *byte == b' ') else {
        return Err(AuthError::MalformedHeader(
            "authorization header must be `Bearer <token>`",
        ));
    };
    let (scheme, rest) = value.split_at(space);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Err(AuthError::MalformedHeader(
            "unsupported authorization scheme; use `Bearer <token>`",
        ));
    }
    let token = rest.trim_ascii_start();
    if token.is_empty() {
        return Err(AuthError::MalformedHeader("bearer token is empty"));
    }
    if !is_token68(token) {
        return Err(AuthError::MalformedHeader(
            "bearer token contains characters a token cannot hold",
        ));
    }
    // is_token68 admits ASCII only, so this cannot fail; map it anyway rather than panic.
    String::from_utf8(token.to_vec())
        .map_err(|_| AuthError::MalformedHeader("bearer token is not ASCII"))
}

fn is_token68(token: &[u8]) -> bool {
    let body_end = token
        .iter()
        .rposition(|byte| *byte != b'=')
        .map_or(0, |last| last + 1);
    body_end > 0
        && token[..body_end].iter().all(|byte| {
            byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

fn parse_api_key(value: &[u8]) -> Result<String, AuthError> {
    if value.len() > MAX_CREDENTIAL_LEN {
        return Err(AuthError::MalformedHeader("api key header is too long"));
    }
    let value = value.trim_ascii();
    if value.is_empty() {
        return Err(AuthError::MalformedHeader("api key header is empty"));
    }
    if !value.iter().all(|byte| byte.is_ascii_graphic()) {
        return Err(AuthError::MalformedHeader(
            "api key contains spaces or characters outside printable ASCII",
        ));
    }
    String::from_utf8(value.to_vec())
        .map_err(|_| AuthError::MalformedHeader("api key is not ASCII"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(auth: &[&str], key: &[&str]) -> Result<Credentials, AuthError> {
        Credentials::from_headers(
            auth.iter().map(|v| v.as_bytes()),
            key.iter().map(|v| v.as_bytes()),
        )
    }

    #[test]
    fn reads_bearer_token_with_any_scheme_case() {
        assert_eq!(
            parse(&["Bearer abc.def.ghi"], &[]).unwrap(),
            Credentials::Bearer("abc.def.ghi".into())
        );
        assert_eq!(
            parse(&["  bearer   abc-_~+/=="], &[]).unwrap(),
            Credentials::Bearer("abc-_~+/==".into())
        );
    }

    #[test]
    fn reads_api_key_header() {
        assert_eq!(
            parse(&[], &["sk-test-123"]).unwrap(),
            Credentials::ApiKey("sk-test-123".into())
        );
    }

    #[test]
    fn no_headers_is_no_credentials() {
        assert!(parse(&[], &[]).unwrap().is_none());
    }

    #[test]
    fn refuses_malformed_repeated_or_mixed_headers() {
        for (auth, key) in [
            (vec!["Basic dXNlcjpwYXNz"], vec![]),
            (vec!["Bearer"], vec![]),
            (vec!["Bearer "], vec![]),
            (vec!["Bearer a b"], vec![]),
            (vec!["Bearer =="], vec![]),
            (vec!["Bearer a=b"], vec![]),
            (vec!["Bearer a", "Bearer b"], vec![]),
            (vec![], vec!["k1", "k2"]),
            (vec![], vec!["key with space"]),
            (vec![], vec![""]),
            (vec!["Bearer a"], vec!["k"]),
        ] {
            let error = parse(&auth, &key).unwrap_err();
            assert!(
                matches!(error, AuthError::MalformedHeader(_)),
                "{auth:?} {key:?}: {error:?}"
            );
        }
        let huge = format!("Bearer {}", "a".repeat(MAX_CREDENTIAL_LEN));
        assert!(matches!(
            parse(&[&huge], &[]),
            Err(AuthError::MalformedHeader(_))
        ));
        let non_utf8: &[u8] = b"Bearer \xff\xfe";
        assert!(matches!(
            Credentials::from_headers([non_utf8], []),
            Err(AuthError::MalformedHeader(_))
        ));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let shown = format!("{:?}", Credentials::Bearer("eyJsecret".into()));
        assert!(!shown.contains("eyJsecret"), "{shown}");
        let shown = format!("{:?}", Credentials::ApiKey("sk-secret".into()));
        assert!(!shown.contains("sk-secret"), "{shown}");
    }
}
