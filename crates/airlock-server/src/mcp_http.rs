//! `/mcp`: the MCP Streamable HTTP endpoint that aggregates `[mcp.upstreams]`
//! ([`airlock_mcp::Aggregator`]).
//!
//! - `POST /mcp` takes one JSON-RPC message and answers with `application/json` (the
//!   transport lets a server answer a request with JSON instead of an SSE stream); the
//!   session id travels in `Mcp-Session-Id`. `GET /mcp` opens the session's standing SSE
//!   stream (what upstreams send outside a call); `DELETE /mcp` ends the session.
//! - Callers authenticate as on the decision API (API key or bearer token). airlock is an
//!   OAuth 2.1 resource server: a 401 carries `WWW-Authenticate: Bearer resource_metadata=…`
//!   pointing at the RFC 9728 document served at `/.well-known/oauth-protected-resource`.
//!   The caller's credentials are never passed to upstreams, which get their own from
//!   `[mcp.upstreams.NAME] env`.
//! - A request whose `Origin` is neither loopback nor in `[server] allowed_origins` is
//!   refused (DNS-rebinding defence).

use std::sync::Arc;

use airlock_core::Principal;
use airlock_gateway::url_host_is_loopback;
use airlock_mcp::{Aggregator, Reply};
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::api::{ServerState, authenticated_principal};
use crate::error::ApiError;

/// The session header of the Streamable HTTP transport.
pub const SESSION_HEADER: &str = "mcp-session-id";

/// `POST /mcp`.
pub(crate) async fn post_mcp(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let aggregator = guarded(&state, &headers)?;
        let principal = mcp_principal(&state, &headers).await?;
        let body = body.map_err(|err| ApiError::invalid_request(err.body_text()))?;
        let message: Value = serde_json::from_slice(&body).map_err(|err| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("the body is not JSON: {err}"),
            )
        })?;
        let session = session_id(&headers)?;
        let streaming = headers.get_all(header::ACCEPT).iter().any(|accept| {
            accept
                .to_str()
                .is_ok_and(|v| v.contains("text/event-stream"))
        });
        let reply = aggregator
            .handle(session.as_deref(), &principal, message, streaming)
            .await;
        Ok::<_, ApiError>(match reply {
            Reply::Message {
                message,
                new_session,
            } => {
                let mut response = axum::Json(message).into_response();
                if let Some(id) = new_session.and_then(|id| HeaderValue::from_str(&id).ok()) {
                    response.headers_mut().insert(SESSION_HEADER, id);
                }
                response
            }
            Reply::Stream(events) => event_stream(events),
            Reply::Accepted => StatusCode::ACCEPTED.into_response(),
            Reply::UnknownSession | Reply::NotYourSession => refusal_response(reply),
        })
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// The HTTP answer to a session that cannot be used.
fn refusal_response(reply: Reply) -> Response {
    match reply {
        Reply::NotYourSession => ApiError::new(
            StatusCode::FORBIDDEN,
            "not_your_session",
            "this MCP session belongs to another caller",
        )
        .into_response(),
        _ => ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_session",
            "no such MCP session (it ended or never existed); send initialize to start one",
        )
        .into_response(),
    }
}

/// An SSE answer: one `message` event per JSON-RPC message, the last being the answer.
fn event_stream(events: tokio::sync::mpsc::Receiver<Value>) -> Response {
    let stream = futures_util::stream::unfold(events, |mut events| async move {
        let message = events.recv().await?;
        let event = format!("event: message\ndata: {message}\n\n");
        Some((Ok::<_, std::convert::Infallible>(event), events))
    });
    let mut response = axum::body::Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /mcp`: the session's standing event stream, for what upstreams send outside a call.
pub(crate) async fn get_mcp(State(state): State<Arc<ServerState>>, headers: HeaderMap) -> Response {
    let result = async {
        let aggregator = guarded(&state, &headers)?;
        let principal = mcp_principal(&state, &headers).await?;
        let accepts_events = headers.get_all(header::ACCEPT).iter().any(|accept| {
            accept
                .to_str()
                .is_ok_and(|v| v.contains("text/event-stream"))
        });
        if !accepts_events {
            return Err(ApiError::new(
                StatusCode::NOT_ACCEPTABLE,
                "not_acceptable",
                "GET /mcp answers with an event stream: send Accept: text/event-stream",
            ));
        }
        let Some(session) = session_id(&headers)? else {
            return Err(ApiError::invalid_request(
                "GET /mcp needs an Mcp-Session-Id header",
            ));
        };
        Ok(match aggregator.open_stream(&session, &principal) {
            Ok(events) => event_stream(events),
            Err(reply) => refusal_response(reply),
        })
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `DELETE /mcp`.
pub(crate) async fn delete_mcp(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let aggregator = guarded(&state, &headers)?;
        let principal = mcp_principal(&state, &headers).await?;
        let Some(session) = session_id(&headers)? else {
            return Err(ApiError::invalid_request(
                "DELETE /mcp needs an Mcp-Session-Id header",
            ));
        };
        Ok(if aggregator.close(&session, &principal).await {
            StatusCode::NO_CONTENT.into_response()
        } else {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_session",
                "no such MCP session",
            )
            .into_response()
        })
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /.well-known/oauth-protected-resource` (RFC 9728).
pub(crate) async fn protected_resource_metadata(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
) -> Response {
    let mut metadata = json!({
        "resource": resource_url(&headers),
        "bearer_methods_supported": ["header"],
        "resource_name": "airlock MCP gateway",
    });
    if let Some(issuer) = state.gateway().jwt_issuer() {
        metadata["authorization_servers"] = json!([issuer]);
    }
    axum::Json(metadata).into_response()
}

/// The aggregator, once the `Origin` is acceptable.
fn guarded<'a>(state: &'a ServerState, headers: &HeaderMap) -> Result<&'a Aggregator, ApiError> {
    check_origin(state, headers)?;
    state.mcp().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no MCP upstream is configured: add [mcp.upstreams.NAME] command = [...] to \
             airlock.toml to serve /mcp",
        )
    })
}

fn check_origin(state: &ServerState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default();
    let allowed = state.gateway().server_settings().allowed_origins;
    if url_host_is_loopback(origin) || allowed.iter().any(|entry| entry == origin) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "origin_not_allowed",
        format!(
            "requests from the origin `{origin}` are refused; add it to [server] allowed_origins \
             if it is yours"
        ),
    ))
}

/// The caller: from credentials when identity is configured, else the configured MCP agent
/// (the listener is then loopback-only).
async fn mcp_principal(state: &ServerState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let gateway = state.gateway();
    if !gateway.identity_configured() {
        return Ok(Principal {
            agent: Some(gateway.mcp_settings().agent),
            origin: Some("mcp-http".to_owned()),
            ..Principal::default()
        });
    }
    authenticated_principal(state, headers)
        .await
        .map_err(|mut err| {
            if err.status == StatusCode::UNAUTHORIZED {
                let metadata = format!(
                    "{}/.well-known/oauth-protected-resource",
                    origin_of(headers)
                );
                let challenge = err.challenge.take().unwrap_or_else(|| "Bearer".to_owned());
                err.challenge = Some(format!("{challenge}, resource_metadata=\"{metadata}\""));
            }
            err
        })
}

fn session_id(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    match headers.get(SESSION_HEADER) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .ok()
            .filter(|id| {
                !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic())
            })
            .map(|id| Some(id.to_owned()))
            .ok_or_else(|| ApiError::invalid_request("the Mcp-Session-Id header is malformed")),
    }
}

/// `http://HOST` of the request, for the metadata URLs.
fn origin_of(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

fn resource_url(headers: &HeaderMap) -> String {
    format!("{}/mcp", origin_of(headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_origins_pass_without_configuration() {
        for origin in [
            "http://localhost:3000",
            "http://127.0.0.1",
            "https://[::1]:8443",
            "http://127.0.0.2:80",
        ] {
            assert!(url_host_is_loopback(origin), "{origin}");
        }
        for origin in [
            "http://evil.example",
            "http://localhost.evil.example",
            "http://127.0.0.1.nip.io",
            "null",
            "file://",
        ] {
            assert!(!url_host_is_loopback(origin), "{origin}");
        }
    }
}
