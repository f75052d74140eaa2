//! The one shape every error response has: `{"error": {"code": "...", "message": "..."}}`,
//! with a stable `code` clients can branch on and a message that says what to do.

use airlock_gateway::GatewayError;
use airlock_identity::AuthError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What went wrong and how to fix it. Never contains a credential.
    pub message: String,
    /// `WWW-Authenticate` challenge for 401 answers.
    pub challenge: Option<String>,
}

impl ApiError {
    /// A `400 invalid_request`.
    pub fn invalid_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// Any status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            challenge: None,
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> ApiError {
        let status = StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::UNAUTHORIZED);
        let code = if status == StatusCode::BAD_REQUEST {
            "malformed_credentials"
        } else {
            "unauthenticated"
        };
        ApiError {
            status,
            code,
            message: err.to_string(),
            challenge: Some(err.www_authenticate()),
        }
    }
}

impl From<GatewayError> for ApiError {
    fn from(err: GatewayError) -> ApiError {
        match err {
            GatewayError::InvalidRequest(message) => ApiError::invalid_request(message),
            // Fail closed: no decision leaves without its audit record.
            GatewayError::Audit(err) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "audit_unavailable",
                format!("the decision could not be audited, so it is refused: {err}"),
            ),
            other => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                other.to_string(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(challenge) = self.challenge
            && let Ok(value) = HeaderValue::from_str(&challenge)
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}
