//! Hot reload: the config file and policy folder are polled for changes, and SIGHUP reloads at
//! once. A reload that fails validation is logged with every problem and changes nothing: the
//! previous snapshot keeps serving.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use airlock_gateway::Gateway;
use tokio::task::JoinHandle;

/// What a file looked like at the last check: its modification time and length.
type Stamp = Vec<(PathBuf, Option<(SystemTime, u64)>)>;

fn stamp(gateway: &Gateway) -> Stamp {
    gateway
        .watched_files()
        .into_iter()
        .map(|path| {
            let meta = std::fs::metadata(&path)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())));
            (path, meta)
        })
        .collect()
}

/// Reloads now and logs the outcome. Returns whether the new configuration is in force.
pub fn reload_now(gateway: &Gateway, why: &str) -> bool {
    match gateway.reload() {
        Ok(notes) => {
            tracing::info!(trigger = why, "configuration reloaded");
            for note in notes {
                tracing::warn!("{note}");
            }
            true
        }
        Err(err) => {
            // One line per event, so that log pipelines keep the problems with the message.
            let file = err
                .file
                .as_ref()
                .map(|file| file.display().to_string())
                .unwrap_or_default();
            tracing::error!(
                trigger = why,
                file,
                problems = err.problems.join("; "),
                "reload rejected, previous configuration still serving"
            );
            false
        }
    }
}

/// Starts the reload task: polls the watched files every `[server] reload_interval_ms` and
/// reloads on SIGHUP.
pub fn spawn_reloader(gateway: Arc<Gateway>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let interval = gateway.server_settings().reload_interval;
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .map_err(|err| tracing::warn!("SIGHUP reload unavailable: {err}"))
            .ok();
        let mut last = stamp(&gateway);
        loop {
            let sighup = async {
                match hangup.as_mut() {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let tick = async {
                match interval {
                    Some(every) => tokio::time::sleep(every).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = sighup => {
                    reload_now(&gateway, "SIGHUP");
                    last = stamp(&gateway);
                }
                () = tick => {
                    let now = stamp(&gateway);
                    if now != last {
                        reload_now(&gateway, "file change");
                        // Remember the files as they are now, reloaded or not, so that a bad
                        // edit is reported once and the next edit is noticed.
                        last = stamp(&gateway);
                    }
                }
            }
        }
    })
}
