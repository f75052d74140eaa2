//! `airlock serve`: the HTTP decision API. With no flags it runs on the embedded defaults
//! (built-in policy pack, SQLite audit log under `./airlock-data`, loopback only).

use std::path::PathBuf;
use std::sync::Arc;

use airlock_gateway::{ConfigSource, Gateway};
use anyhow::{Context, Result};
use clap::Args;

use crate::Status;

/// `airlock serve [--config FILE] [--listen ADDR]`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// airlock.toml. Without it: embedded defaults. The file and the policy folder it names are
    /// reloaded when they change and on SIGHUP; a reload that fails validation is logged and the
    /// previous configuration keeps serving.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on, overriding `[server] listen` (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,
}

pub fn run(args: ServeArgs) -> Result<Status> {
    init_logging();
    let source = ConfigSource::from_flag(args.config.as_deref());
    let gateway = Arc::new(Gateway::start(source).context("cannot start the gateway")?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = match args.listen {
            Some(address) => airlock_server::bind_to(&gateway, address).await,
            None => airlock_server::bind(&gateway).await,
        }?;
        let address = listener.local_addr().context("listener has no address")?;
        tracing::info!(
            %address,
            policies = gateway.policy_snapshot().policies().len(),
            authentication = if gateway.identity_configured() { "required" } else { "none (loopback only; principal from the request body)" },
            "airlock serving: POST /v1/inspect, POST /v1/authorize, GET /openapi.json, /healthz, /readyz"
        );
        airlock_server::spawn_reloader(Arc::clone(&gateway));
        airlock_server::serve(gateway, listener, shutdown_signal()).await?;
        anyhow::Ok(())
    })?;
    Ok(Status::Clean)
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

/// Logs to stderr; `RUST_LOG` filters (default `info`).
pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
