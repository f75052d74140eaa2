//! Routes and handlers. Each handler: authenticate, parse, call the gateway within the time
//! limit, translate the decision into HTTP, log one line.

use std::sync::Arc;

use airlock_core::{Decision, Event, Outcome, Principal};
use airlock_gateway::{AuthorizeRequest, Gateway, InspectRequest};
use airlock_identity::{AuthError, Credentials, TokenError, step_up_www_authenticate};
use airlock_mcp::{Aggregator, PinError, PinStore};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use utoipa::{OpenApi, ToSchema};

use crate::error::ApiError;
use crate::jwks::JwksFetcher;

/// What every handler shares.
#[derive(Debug)]
pub struct ServerState {
    gateway: Arc<Gateway>,
    jwks: Option<Arc<JwksFetcher>>,
    mcp: Option<Aggregator>,
}

impl ServerState {
    /// The state for `gateway`, with a JWKS fetcher when `jwks_url` is configured and the MCP
    /// endpoint when `[mcp.upstreams]` are.
    pub fn new(gateway: Arc<Gateway>) -> Result<Arc<ServerState>, PinError> {
        let jwks = JwksFetcher::new(Arc::clone(&gateway));
        let settings = gateway.mcp_settings();
        let mcp = if settings.upstreams.is_empty() {
            None
        } else {
            let pins = Arc::new(PinStore::open(&settings.pins_file)?);
            let remote = settings
                .upstreams
                .iter()
                .any(|upstream| upstream.url.is_some());
            let http = if remote {
                crate::http_client(None)
                    .map_err(|err| tracing::error!("cannot build the MCP HTTP client: {err}"))
                    .ok()
            } else {
                None
            };
            Some(Aggregator::new(Arc::clone(&gateway), pins, http))
        };
        Ok(Arc::new(ServerState { gateway, jwks, mcp }))
    }

    /// The gateway every route decides with.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// The MCP endpoint, when upstreams are configured.
    pub fn mcp(&self) -> Option<&Aggregator> {
        self.mcp.as_ref()
    }

    /// The JWKS fetcher, when keys come from a URL.
    pub fn jwks(&self) -> Option<&Arc<JwksFetcher>> {
        self.jwks.as_ref()
    }
}

/// The OpenAPI description served at `/openapi.json`.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "airlock decision API",
        description = "Inspect content and authorize tool calls. Every decision is audited \
                       before it is returned. Errors are `{\"error\": {\"code\", \"message\"}}`."
    ),
    paths(inspect, authorize, healthz, readyz),
    components(schemas(InspectBody, AuthorizeBody, ErrorBody, ErrorDetail))
)]
pub struct ApiDoc;

/// `POST /v1/inspect` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectBody {
    /// The agent session, for taint and data-flow tracking across calls.
    #[serde(default)]
    session: Option<String>,
    /// `{"kind": "prompt"|"tool_result"|"retrieved_document"|"completion", "content": "...",
    /// "source": "...", "trust": "trusted"|"untrusted"}`.
    #[schema(value_type = Object)]
    event: Event,
    /// The tool that produced a tool result (default: `event.source`).
    #[serde(default)]
    tool: Option<String>,
    /// The tool call id of a tool result.
    #[serde(default)]
    call_id: Option<String>,
    /// The MCP server the tool belongs to.
    #[serde(default)]
    server: Option<String>,
    /// Who acts — only when the server has no `[identity]` configured (loopback use);
    /// otherwise the principal comes from the credentials.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    principal: Option<Principal>,
}

/// `POST /v1/authorize` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeBody {
    /// The agent session.
    #[serde(default)]
    session: Option<String>,
    /// The tool's name.
    tool: String,
    /// The MCP server the tool belongs to.
    #[serde(default)]
    server: Option<String>,
    /// The call's arguments.
    #[serde(default)]
    #[schema(value_type = Object)]
    arguments: Value,
    /// Who acts — only without `[identity]` (see `InspectBody.principal`).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    principal: Option<Principal>,
}

/// Every error answer.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // documents the shape built in error.rs
pub struct ErrorBody {
    error: ErrorDetail,
}

/// The error itself.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// Stable code: `invalid_json`, `invalid_request`, `payload_too_large`, `unauthenticated`,
    /// `malformed_credentials`, `not_found`, `method_not_allowed`, `timeout`,
    /// `audit_unavailable`, `internal`.
    code: String,
    /// What went wrong and what to do.
    message: String,
}

/// The API's routes over `state`.
pub fn router(state: Arc<ServerState>) -> Router {
    let limit = state.gateway.server_settings().max_body_bytes;
    Router::new()
        .route("/v1/inspect", post(inspect))
        .route("/v1/authorize", post(authorize))
        .route("/openapi.json", get(openapi))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route(
            "/mcp",
            post(crate::mcp_http::post_mcp)
                .get(crate::mcp_http::get_mcp)
                .delete(crate::mcp_http::delete_mcp),
        )
        .route(
            "/.well-known/oauth-protected-resource",
            get(crate::mcp_http::protected_resource_metadata),
        )
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            get(crate::mcp_http::protected_resource_metadata),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// Inspect content: run the detectors, decide, update the session, audit.
#[utoipa::path(
    post,
    path = "/v1/inspect",
    request_body = InspectBody,
    responses(
        (status = 200, description = "Findings and the decision (allow, deny, require_approval, redact with `redacted_content`)", body = Object),
        (status = 401, description = "Unauthenticated, or a `step_up` decision with an RFC 9470 `WWW-Authenticate` challenge", body = Object),
        (status = 400, description = "Invalid request", body = ErrorBody),
        (status = 413, description = "Body over `[server] max_body_bytes`", body = ErrorBody),
        (status = 503, description = "Timed out, or the decision could not be audited (refused)", body = ErrorBody),
    )
)]
async fn inspect(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let gateway = &state.gateway;
        let body: InspectBody = parse_body(body)?;
        let principal = resolve_principal(&state, &headers, body.principal).await?;
        let request = InspectRequest {
            session: body.session,
            event: body.event,
            tool: body.tool,
            call_id: body.call_id,
            server: body.server,
            upstream_latency_us: None,
        };
        let outcome = with_timeout(gateway, gateway.inspect(&principal, &request)).await?;
        let tool = request.tool.as_deref().or(request.event.source.as_deref());
        log_decision("inspect", &principal, tool, &outcome.decision);
        Ok::<_, ApiError>(decision_response(
            &outcome.decision,
            serde_json::to_value(&outcome).unwrap_or(Value::Null),
        ))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Authorize a tool call: scan its arguments, check data flow, decide, audit.
#[utoipa::path(
    post,
    path = "/v1/authorize",
    request_body = AuthorizeBody,
    responses(
        (status = 200, description = "The decision (allow, deny, require_approval, redact), findings, data flows, audit reference", body = Object),
        (status = 401, description = "Unauthenticated, or a `step_up` decision with an RFC 9470 `WWW-Authenticate` challenge", body = Object),
        (status = 400, description = "Invalid request", body = ErrorBody),
        (status = 413, description = "Body over `[server] max_body_bytes`", body = ErrorBody),
        (status = 503, description = "Timed out, or the decision could not be audited (refused)", body = ErrorBody),
    )
)]
async fn authorize(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let gateway = &state.gateway;
        let body: AuthorizeBody = parse_body(body)?;
        let principal = resolve_principal(&state, &headers, body.principal).await?;
        let request = AuthorizeRequest {
            session: body.session,
            tool: body.tool,
            server: body.server,
            arguments: body.arguments,
            invalid_because: None,
        };
        let outcome = with_timeout(gateway, gateway.authorize(&principal, &request)).await?;
        log_decision(
            "authorize",
            &principal,
            Some(&request.tool),
            &outcome.decision,
        );
        Ok::<_, ApiError>(decision_response(
            &outcome.decision,
            serde_json::to_value(&outcome).unwrap_or(Value::Null),
        ))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Alive", body = Object)))]
async fn healthz() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

/// Readiness: policies loaded and the audit log readable.
#[utoipa::path(
    get,
    path = "/readyz",
    responses(
        (status = 200, description = "Ready", body = Object),
        (status = 503, description = "Not ready", body = ErrorBody),
    )
)]
async fn readyz(State(state): State<Arc<ServerState>>) -> Response {
    let gateway = &state.gateway;
    let policies = gateway.policy_snapshot().policies().len();
    match gateway.audit_log().reader() {
        Ok(_) => axum::Json(json!({"status": "ready", "policies": policies})).into_response(),
        Err(err) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "audit_unavailable",
            format!("audit log not readable: {err}"),
        )
        .into_response(),
    }
}

async fn openapi() -> Response {
    axum::Json(ApiDoc::openapi()).into_response()
}

async fn not_found() -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; see /openapi.json",
    )
    .into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed for this endpoint; see /openapi.json",
    )
    .into_response()
}

fn parse_body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let bytes = body.map_err(|rejection| {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                "payload_too_large",
                "request body is larger than [server] max_body_bytes",
            )
        } else {
            ApiError::new(status, "invalid_request", rejection.body_text())
        }
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|err| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", err.to_string()))
}

/// The principal: from the credentials when the server has `[identity]`; from the body only
/// when it has none (the server then listens on loopback only, see [`crate::bind`]).
async fn resolve_principal(
    state: &ServerState,
    headers: &HeaderMap,
    from_body: Option<Principal>,
) -> Result<Principal, ApiError> {
    let gateway = &state.gateway;
    let key_header = gateway.api_key_header();
    let credentials = Credentials::from_headers(
        headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .map(HeaderValue::as_bytes),
        headers
            .get_all(key_header.as_str())
            .iter()
            .map(HeaderValue::as_bytes),
    )?;
    if !gateway.identity_configured() && credentials.is_none() {
        return Ok(from_body.unwrap_or_default());
    }
    if from_body.is_some() {
        return Err(ApiError::invalid_request(
            "`principal` comes from your credentials on this server; remove it from the body",
        ));
    }
    match gateway.authenticate(&credentials) {
        // A key id not in service usually means the identity provider rotated its keys:
        // refetch (rate-limited) and try once more.
        Err(AuthError::InvalidToken(TokenError::UnknownKid)) => match state.jwks() {
            Some(fetcher) if fetcher.fetch_if_due().await => {
                Ok(gateway.authenticate(&credentials)?)
            }
            _ => Err(AuthError::InvalidToken(TokenError::UnknownKid).into()),
        },
        result => Ok(result?),
    }
}

/// The principal the request's credentials stand for; credentials are required when
/// identity is configured (see [`resolve_principal`] for the decision API's rules).
pub(crate) async fn authenticated_principal(
    state: &ServerState,
    headers: &HeaderMap,
) -> Result<Principal, ApiError> {
    resolve_principal(state, headers, None).await
}

async fn with_timeout<T>(
    gateway: &Gateway,
    work: impl Future<Output = Result<T, airlock_gateway::GatewayError>>,
) -> Result<T, ApiError> {
    let limit = gateway.server_settings().request_timeout;
    match tokio::time::timeout(limit, work).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!(
                "no decision within [server] request_timeout_ms ({} ms)",
                limit.as_millis()
            ),
        )),
    }
}

/// 200 with the outcome, except `step_up`: 401 with the RFC 9470 challenge (the body still
/// carries the decision).
fn decision_response(decision: &Decision, body: Value) -> Response {
    let mut response = axum::Json(body).into_response();
    if decision.outcome == Outcome::StepUp {
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        let challenge = decision.step_up.clone().unwrap_or_default();
        let description = decision
            .reasons
            .first()
            .map(String::as_str)
            .unwrap_or("stronger authentication required");
        if let Ok(value) = HeaderValue::from_str(&step_up_www_authenticate(&challenge, description))
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
    }
    response
}

fn log_decision(endpoint: &str, principal: &Principal, tool: Option<&str>, decision: &Decision) {
    tracing::info!(
        endpoint,
        principal = %principal.display_name(),
        tool = tool.unwrap_or(""),
        outcome = decision.outcome.as_str(),
        reasons = ?decision.reasons,
        policies = ?decision.policy_ids,
        "decision"
    );
}
