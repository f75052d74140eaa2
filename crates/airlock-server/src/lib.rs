//! airlock's HTTP decision API (`airlock serve`).
//!
//! This crate translates HTTP into calls on the shared [`Gateway`] and decisions back into
//! HTTP: `POST /v1/inspect` (content → findings + decision), `POST /v1/authorize` (tool call →
//! decision), `GET /openapi.json`, `/healthz`, `/readyz`. It authenticates the caller
//! (`airlock-identity`), enforces request size and time limits, answers every error with the
//! same JSON shape (`{"error": {"code", "message"}}`), turns a `step_up` decision into
//! `401` with an RFC 9470 `WWW-Authenticate` challenge, and reloads configuration and policies
//! when their files change or on SIGHUP. It also fetches `[identity.jwt] jwks_url` (the
//! identity crate does no network I/O).
//!
//! It must not decide anything: every decision comes from the gateway, already audited.

mod api;
mod error;
mod jwks;
mod mcp_http;
mod reload;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use airlock_gateway::Gateway;
use axum::serve::ListenerExt as _;
use tokio::net::TcpListener;

pub use api::{ApiDoc, ServerState, router};
pub use error::ApiError;
pub use jwks::JwksFetcher;
pub use reload::spawn_reloader;

/// An HTTP client for airlock's own outgoing calls (JWKS, remote MCP upstreams), with
/// rustls on `ring`. `timeout` bounds a whole exchange; leave it out for long streams.
pub(crate) fn http_client(
    timeout: Option<std::time::Duration>,
) -> Result<reqwest::Client, reqwest::Error> {
    // reqwest's rustls needs a process-wide crypto provider; if one is installed already (by
    // another crate), it stays. ring rather than aws-lc-rs: no C/CMake build on the CI
    // machine. Its provider lacks post-quantum key exchange (hence the deprecation).
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .tcp_nodelay(true);
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    builder.build()
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Without any way to authenticate callers, the caller names the principal itself; that
    /// is only acceptable when nobody else can reach the port.
    #[error(
        "refusing to listen on {0} without authentication: configure [identity] api_keys or jwt \
         in airlock.toml, or listen on a loopback address such as 127.0.0.1:8080"
    )]
    OpenOnNetwork(SocketAddr),
    /// The address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The MCP pin file could not be read.
    #[error(transparent)]
    Pins(#[from] airlock_mcp::PinError),
    /// The server stopped with an I/O error.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Binds the configured address, checking first that an unauthenticated API is not exposed
/// beyond loopback.
pub async fn bind(gateway: &Gateway) -> Result<TcpListener, ServeError> {
    bind_to(gateway, gateway.server_settings().listen).await
}

/// Like [`bind`], at `address` instead of the configured one.
pub async fn bind_to(gateway: &Gateway, address: SocketAddr) -> Result<TcpListener, ServeError> {
    if !gateway.identity_configured() && !address.ip().is_loopback() {
        return Err(ServeError::OpenOnNetwork(address));
    }
    TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Bind { address, source })
}

/// Serves the API on `listener` until `shutdown` resolves.
pub async fn serve(
    gateway: Arc<Gateway>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    // axum does not set TCP_NODELAY: without it a small JSON answer waits ~40 ms for the
    // client's delayed ACK (Nagle's algorithm).
    let listener = listener.tap_io(|stream| {
        if let Err(err) = stream.set_nodelay(true) {
            tracing::warn!("cannot set TCP_NODELAY: {err}");
        }
    });
    let state = ServerState::new(gateway)?;
    if let Some(fetcher) = state.jwks() {
        fetcher.spawn_refresher();
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
