//! RFC 9470 step-up authentication: does a principal meet a [`StepUpChallenge`], and the
//! `WWW-Authenticate` challenge that tells the client what to get when it does not.

use std::fmt;

use airlock_core::{Principal, StepUpChallenge};

/// How a principal falls short of a step-up challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepUpShortfall {
    /// The challenge lists `acr_values` and the principal's `acr` is absent or not among them.
    AcrNotAccepted,
    /// The challenge has a `max_age` and the principal's token carries no `auth_time`.
    AuthTimeUnknown,
    /// The user authenticated longer than `max_age` (plus leeway) ago, or `auth_time` lies in
    /// the future beyond the leeway (a clock or token problem: not trusted).
    AuthTooOld,
}

impl StepUpShortfall {
    /// The `error_description` for the challenge, in the words RFC 9470 §3 uses.
    pub fn description(self) -> &'static str {
        match self {
            StepUpShortfall::AcrNotAccepted => "A different authentication level is required",
            StepUpShortfall::AuthTimeUnknown | StepUpShortfall::AuthTooOld => {
                "More recent authentication is required"
            }
        }
    }
}

impl fmt::Display for StepUpShortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// Checks `principal` against `challenge` at time `now` (seconds since the epoch), tolerating
/// `leeway_seconds` of clock skew on `auth_time`. An empty challenge is always met.
///
/// `acr` must equal one of `acr_values` exactly (RFC 9470 compares them as opaque strings; an
/// ordering of "stronger" classes is a deployment's policy, to be written into `acr_values`).
pub fn check_step_up(
    principal: &Principal,
    challenge: &StepUpChallenge,
    now: i64,
    leeway_seconds: u64,
) -> Result<(), StepUpShortfall> {
    if !challenge.acr_values.is_empty() {
        let accepted = principal
            .auth
            .acr
            .as_ref()
            .is_some_and(|acr| challenge.acr_values.iter().any(|value| value == acr));
        if !accepted {
            return Err(StepUpShortfall::AcrNotAccepted);
        }
    }
    if let Some(max_age) = challenge.max_age {
        let auth_time = principal
            .auth
            .auth_time
            .ok_or(StepUpShortfall::AuthTimeUnknown)?;
        let leeway = i64::try_from(leeway_seconds).unwrap_or(i64::MAX);
        let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
        if auth_time > now.saturating_add(leeway) {
            return Err(StepUpShortfall::AuthTooOld);
        }
        let age = now.saturating_sub(auth_time);
        if age > max_age.saturating_add(leeway) {
            return Err(StepUpShortfall::AuthTooOld);
        }
    }
    Ok(())
}

/// The `WWW-Authenticate` value for a 401 asking for step-up (RFC 9470 §3):
///
/// `Bearer error="insufficient_user_authentication", error_description="…", acr_values="a b", max_age="300"`
///
/// `acr_values` and `max_age` are included when the challenge has them. Every value is a
/// quoted-string with `"` and `\` escaped and control characters replaced, so nothing in a
/// policy's text can break the header or inject another one.
pub fn step_up_www_authenticate(challenge: &StepUpChallenge, description: &str) -> String {
    let mut header = format!(
        "Bearer error=\"insufficient_user_authentication\", error_description=\"{}\"",
        quote(description)
    );
    if !challenge.acr_values.is_empty() {
        header.push_str(&format!(
            ", acr_values=\"{}\"",
            quote(&challenge.acr_values.join(" "))
        ));
    }
    if let Some(max_age) = challenge.max_age {
        header.push_str(&format!(", max_age=\"{max_age}\""));
    }
    header
}

/// The inside of an HTTP quoted-string (RFC 9110 §5.6.4): `\` and `"` escaped, control and
/// non-ASCII characters replaced by `?` (header values are ASCII in practice, and CR/LF would
/// end the header).
pub(crate) fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '"' | '\\' => {
                quoted.push('\\');
                quoted.push(ch);
            }
            ' ' | '\t' => quoted.push(ch),
            ch if ch.is_ascii_graphic() => quoted.push(ch),
            _ => quoted.push('?'),
        }
    }
    quoted
}

#[cfg(test)]
mod tests {
    use airlock_core::AuthStrength;

    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn principal(acr: Option<&str>, auth_time: Option<i64>) -> Principal {
        Principal {
            user: Some("alice".into()),
            auth: AuthStrength {
                acr: acr.map(str::to_owned),
                amr: vec!["pwd".into(), "otp".into()],
                auth_time,
            },
            ..Principal::default()
        }
    }

    fn challenge(acr_values: &[&str], max_age: Option<u64>) -> StepUpChallenge {
        StepUpChallenge {
            acr_values: acr_values.iter().map(|v| (*v).to_owned()).collect(),
            max_age,
        }
    }

    #[test]
    fn mfa_principal_meets_an_mfa_challenge_and_password_only_does_not() {
        let wanted = challenge(&["urn:example:mfa", "urn:example:phr"], None);
        assert_eq!(
            check_step_up(&principal(Some("urn:example:mfa"), None), &wanted, NOW, 60),
            Ok(())
        );
        assert_eq!(
            check_step_up(&principal(Some("urn:example:pwd"), None), &wanted, NOW, 60),
            Err(StepUpShortfall::AcrNotAccepted)
        );
        assert_eq!(
            check_step_up(&principal(None, None), &wanted, NOW, 60),
            Err(StepUpShortfall::AcrNotAccepted)
        );
    }

    #[test]
    fn recent_login_meets_max_age_and_stale_login_does_not() {
        let wanted = challenge(&[], Some(300));
        assert_eq!(
            check_step_up(&principal(None, Some(NOW - 300)), &wanted, NOW, 0),
            Ok(())
        );
        assert_eq!(
            check_step_up(&principal(None, Some(NOW - 301)), &wanted, NOW, 0),
            Err(StepUpShortfall::AuthTooOld)
        );
        // Within the leeway.
        assert_eq!(
            check_step_up(&principal(None, Some(NOW - 350)), &wanted, NOW, 60),
            Ok(())
        );
        assert_eq!(
            check_step_up(&principal(None, None), &wanted, NOW, 60),
            Err(StepUpShortfall::AuthTimeUnknown)
        );
        // An auth_time far in the future is not "very recent": it is untrustworthy.
        assert_eq!(
            check_step_up(&principal(None, Some(NOW + 3600)), &wanted, NOW, 60),
            Err(StepUpShortfall::AuthTooOld)
        );
    }

    #[test]
    fn both_conditions_must_hold() {
        let wanted = challenge(&["urn:example:mfa"], Some(60));
        assert_eq!(
            check_step_up(
                &principal(Some("urn:example:mfa"), Some(NOW - 10)),
                &wanted,
                NOW,
                0
            ),
            Ok(())
        );
        assert_eq!(
            check_step_up(
                &principal(Some("urn:example:mfa"), Some(NOW - 600)),
                &wanted,
                NOW,
                0
            ),
            Err(StepUpShortfall::AuthTooOld)
        );
        assert_eq!(
            check_step_up(
                &principal(Some("urn:example:pwd"), Some(NOW - 10)),
                &wanted,
                NOW,
                0
            ),
            Err(StepUpShortfall::AcrNotAccepted)
        );
    }

    #[test]
    fn empty_challenge_is_always_met() {
        assert_eq!(
            check_step_up(&principal(None, None), &challenge(&[], None), NOW, 0),
            Ok(())
        );
    }

    #[test]
    fn renders_rfc9470_challenge_header() {
        let header = step_up_www_authenticate(
            &challenge(&["urn:example:mfa", "urn:example:phr"], Some(300)),
            StepUpShortfall::AcrNotAccepted.description(),
        );
        assert_eq!(
            header,
            "Bearer error=\"insufficient_user_authentication\", \
             error_description=\"A different authentication level is required\", \
             acr_values=\"urn:example:mfa urn:example:phr\", max_age=\"300\""
        );
        let bare = step_up_www_authenticate(
            &challenge(&[], None),
            "More recent authentication is required",
        );
        assert_eq!(
            bare,
            "Bearer error=\"insufficient_user_authentication\", \
             error_description=\"More recent authentication is required\""
        );
    }

    #[test]
    fn escapes_quotes_and_strips_line_breaks_in_the_challenge() {
        let header = step_up_www_authenticate(
            &challenge(&["a\"b"], None),
            "say \"mfa\" \\ now\r\nSet-Cookie: x=1",
        );
        assert_eq!(
            header,
            "Bearer error=\"insufficient_user_authentication\", \
             error_description=\"say \\\"mfa\\\" \\\\ now??Set-Cookie: x=1\", \
             acr_values=\"a\\\"b\""
        );
        assert!(!header.contains('\r') && !header.contains('\n'));
    }
}
