use serde::{Deserialize, Serialize};

/// Who is acting, on whose behalf, and how strongly they proved it.
///
/// Built by the server from an API key or a validated JWT — never from what the agent claims
/// about itself in a request body. An agent acting for a user carries both identities
/// (delegation), and policy sees both: `principal.agent` is what runs, `principal.user` is
/// whose authority it borrows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principal {
    /// The agent's identity (API key mapping or the token's `client_id`/`azp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The human the agent acts for (the token's `sub`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Roles granted to this principal (from config for API keys, from a claim for JWTs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Groups the user belongs to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// The tenant or region scope the principal is confined to, when the deployment has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// How strongly the user authenticated.
    #[serde(default)]
    pub auth: AuthStrength,
    /// Where the request came from: a client name or address, for audit and policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

impl Principal {
    /// The identity to show in logs and audit records: `agent for user`, or whichever exists.
    pub fn display_name(&self) -> String {
        match (&self.agent, &self.user) {
            (Some(agent), Some(user)) => format!("{agent} for {user}"),
            (Some(agent), None) => agent.clone(),
            (None, Some(user)) => user.clone(),
            (None, None) => "anonymous".to_owned(),
        }
    }
}

/// Authentication strength as OpenID Connect states it (RFC 9470 step-up uses the same terms).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthStrength {
    /// Authentication context class reference (`acr`), e.g. `urn:example:mfa`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// Authentication methods used (`amr`), e.g. `["pwd", "otp"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// When the user authenticated, in seconds since the Unix epoch (`auth_time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
}
