use serde::{Deserialize, Serialize};

/// What the gateway does with an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Let it through unchanged.
    Allow,
    /// Refuse it.
    Deny,
    /// Hold it until a human approves this exact call.
    RequireApproval,
    /// Refuse it until the user authenticates more strongly (RFC 9470).
    StepUp,
    /// Let it through with the findings' spans replaced by placeholders.
    Redact,
}

impl Outcome {
    /// The stable snake_case name used in JSON, policy annotations and audit records.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Deny => "deny",
            Outcome::RequireApproval => "require_approval",
            Outcome::StepUp => "step_up",
            Outcome::Redact => "redact",
        }
    }

    /// Parses the name written in a policy's `@outcome("…")` annotation.
    pub fn parse(name: &str) -> Option<Outcome> {
        Some(match name {
            "allow" => Outcome::Allow,
            "deny" => Outcome::Deny,
            "require_approval" => Outcome::RequireApproval,
            "step_up" => Outcome::StepUp,
            "redact" => Outcome::Redact,
            _ => return None,
        })
    }

    /// True when the action may proceed now (possibly redacted).
    pub fn proceeds(self) -> bool {
        matches!(self, Outcome::Allow | Outcome::Redact)
    }
}

/// The policy engine's verdict on one action, with everything a surface needs to enforce it
/// and an auditor needs to understand it. Every surface translates this into its own protocol
/// (HTTP status, JSON-RPC error, SSE event); none decides anything itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// What to do.
    pub outcome: Outcome,
    /// Human-readable reasons, most important first (from `@reason` annotations, or the
    /// evaluation error that forced a deny).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// Ids of the policies that determined the outcome.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_ids: Vec<String>,
    /// What the caller must do to be allowed, for a `step_up` outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_up: Option<StepUpChallenge>,
}

impl Decision {
    /// A deny that no policy produced: evaluation failed, input was invalid, or nothing
    /// permitted the action. Fail closed, and say why.
    pub fn deny(reason: impl Into<String>) -> Decision {
        Decision {
            outcome: Outcome::Deny,
            reasons: vec![reason.into()],
            policy_ids: Vec::new(),
            step_up: None,
        }
    }
}

/// The stronger authentication a `step_up` decision asks for (RFC 9470 `acr_values`,
/// `max_age`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepUpChallenge {
    /// Acceptable authentication context classes, space-separated in the challenge.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acr_values: Vec<String>,
    /// The authentication must be at most this many seconds old.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_names_round_trip_through_parse_and_json() {
        for outcome in [
            Outcome::Allow,
            Outcome::Deny,
            Outcome::RequireApproval,
            Outcome::StepUp,
            Outcome::Redact,
        ] {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(outcome));
            let json = serde_json::to_string(&outcome).unwrap();
            assert_eq!(json, format!("\"{}\"", outcome.as_str()));
        }
        assert_eq!(Outcome::parse("permit"), None);
    }

    #[test]
    fn a_bare_deny_says_why() {
        let decision = Decision::deny("no policy permits call_tool on `shell`");
        assert_eq!(decision.outcome, Outcome::Deny);
        assert!(!decision.outcome.proceeds());
        assert_eq!(decision.reasons, ["no policy permits call_tool on `shell`"]);
    }
}
