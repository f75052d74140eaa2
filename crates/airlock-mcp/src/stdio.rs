//! `airlock mcp wrap`: the client launches airlock instead of the MCP server; airlock starts
//! the server as its child and relays newline-delimited JSON-RPC between the two, through an
//! [`McpGuard`]. The server's stderr is passed through untouched (it is the server's log).
//!
//! Each direction is one loop that handles its messages in order, so notifications keep their
//! place relative to the answers around them (progress before the result it reports on).

use std::ffi::OsString;
use std::process::{ExitStatus, Stdio};

use serde_json::Value;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;

use crate::guard::{McpGuard, Route};
use crate::jsonrpc::{self, code};

/// Why the stdio relay stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StdioError {
    /// The upstream server could not be started.
    #[error("cannot start the MCP server `{command}`: {source}")]
    Spawn {
        /// The command.
        command: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Reading from or writing to the client or the server failed.
    #[error("MCP stdio relay: {0}")]
    Io(#[from] std::io::Error),
    /// The server sent a message over `[mcp] max_message_bytes`: it was stopped.
    #[error(
        "the MCP server sent a message over {limit} bytes; it was stopped (raise [mcp] max_message_bytes if this is expected)"
    )]
    MessageTooLarge {
        /// The limit.
        limit: usize,
    },
}

/// The server to start.
#[derive(Debug, Clone, Default)]
pub struct UpstreamCommand {
    /// The program.
    pub program: OsString,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Its environment: `None` inherits airlock's; `Some` gives it only `PATH`, `HOME` and
    /// `LANG` from airlock's plus these entries (for servers airlock starts on its own, whose
    /// credentials are configured per server).
    pub env: Option<Vec<(OsString, OsString)>>,
    /// Its working directory (default: airlock's).
    pub cwd: Option<std::path::PathBuf>,
}

impl UpstreamCommand {
    /// A command that inherits airlock's environment and working directory.
    pub fn new(program: impl Into<OsString>, args: Vec<OsString>) -> UpstreamCommand {
        UpstreamCommand {
            program: program.into(),
            args,
            env: None,
            cwd: None,
        }
    }

    /// Starts the server with piped stdin and stdout; its stderr goes to airlock's, and it is
    /// killed if the handle is dropped.
    pub fn spawn(&self) -> std::io::Result<tokio::process::Child> {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some(env) = &self.env {
            command.env_clear();
            for kept in ["PATH", "HOME", "LANG"] {
                if let Some(value) = std::env::var_os(kept) {
                    command.env(kept, value);
                }
            }
            command.envs(env.iter().map(|(key, value)| (key, value)));
        }
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        command.spawn()
    }

    /// The program's name, for messages.
    pub fn display(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }
}

/// Starts `upstream` and relays between the client (`client_in`, `client_out`) and it until
/// the client closes its input or the server exits. Returns the server's exit status.
pub async fn wrap<R, W>(
    guard: McpGuard,
    upstream: &UpstreamCommand,
    client_in: R,
    client_out: W,
    max_message_bytes: usize,
) -> Result<ExitStatus, StdioError>
where
    R: AsyncBufRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let mut child = upstream.spawn().map_err(|source| StdioError::Spawn {
        command: upstream.display(),
        source,
    })?;
    let (Some(child_in), Some(child_out)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(StdioError::Io(std::io::Error::other(
            "the child's stdin/stdout were not piped",
        )));
    };

    let (to_client, client_rx) = mpsc::channel::<Value>(64);
    let (to_upstream, upstream_rx) = mpsc::channel::<Value>(64);
    let client_writer = tokio::spawn(write_lines(client_rx, client_out));
    let upstream_writer = tokio::spawn(write_lines(upstream_rx, child_in));
    guard.attach_upstream(to_upstream.clone());
    let guard = std::sync::Arc::new(guard);

    let from_client = {
        let guard = guard.clone();
        let to_client = to_client.clone();
        let to_upstream = to_upstream.clone();
        tokio::spawn(async move {
            let mut reader = client_in;
            loop {
                let message = match read_message(&mut reader, max_message_bytes).await {
                    Ok(Some(Ok(message))) => message,
                    Ok(Some(Err(answer))) => {
                        let _ = to_client.send(answer).await;
                        continue;
                    }
                    Ok(None) => break,
                    Err(err) => {
                        tracing::warn!("reading from the MCP client: {err}");
                        break;
                    }
                };
                for route in guard.from_client(message).await {
                    if send(route, &to_client, &to_upstream).await.is_err() {
                        return;
                    }
                }
            }
            // The client is gone: closing the server's stdin asks it to exit.
            guard.detach_upstream();
        })
    };
    drop(to_upstream);

    let mut server_reader = BufReader::new(child_out);
    let mut relay_error = None;
    loop {
        match read_message(&mut server_reader, max_message_bytes).await {
            Ok(Some(Ok(message))) => {
                for route in guard.from_upstream(message).await {
                    match route {
                        Route::ToClient(message) => {
                            if to_client.send(message).await.is_err() {
                                break;
                            }
                        }
                        Route::ToUpstream(_) => {}
                    }
                }
            }
            Ok(Some(Err(_unparseable))) => {
                tracing::warn!("the MCP server wrote a line that is not JSON-RPC; dropped");
            }
            Ok(None) => break,
            Err(ReadError::TooLarge) => {
                relay_error = Some(StdioError::MessageTooLarge {
                    limit: max_message_bytes,
                });
                let _ = child.start_kill();
                break;
            }
            Err(ReadError::Io(err)) => {
                relay_error = Some(StdioError::Io(err));
                break;
            }
        }
    }
    from_client.abort();
    drop(to_client);
    let _ = client_writer.await;
    upstream_writer.abort();
    let status = child.wait().await?;
    match relay_error {
        Some(err) => Err(err),
        None => Ok(status),
    }
}

async fn send(
    route: Route,
    to_client: &mpsc::Sender<Value>,
    to_upstream: &mpsc::Sender<Value>,
) -> Result<(), ()> {
    let result = match route {
        Route::ToClient(message) => to_client.send(message).await,
        Route::ToUpstream(message) => to_upstream.send(message).await,
    };
    result.map_err(|_| ())
}

/// Writes each message as one JSON line, until `rx` closes; then shuts `out` down.
pub(crate) async fn write_lines<W: AsyncWrite + Unpin>(mut rx: mpsc::Receiver<Value>, mut out: W) {
    while let Some(message) = rx.recv().await {
        let mut line = message.to_string();
        line.push('\n');
        if out.write_all(line.as_bytes()).await.is_err() || out.flush().await.is_err() {
            break;
        }
    }
    let _ = out.shutdown().await;
}

#[derive(Debug)]
pub(crate) enum ReadError {
    TooLarge,
    Io(std::io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::TooLarge => f.write_str("message too large"),
            ReadError::Io(err) => err.fmt(f),
        }
    }
}

/// Reads one line: `None` at the end of input, `Some(Ok)` for a JSON value, `Some(Err)` with
/// the JSON-RPC parse-error answer for a line that is not JSON. Blank lines are skipped.
pub(crate) async fn read_message<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    limit: usize,
) -> Result<Option<Result<Value, Value>>, ReadError> {
    let mut line = Vec::new();
    loop {
        line.clear();
        loop {
            let available = reader.fill_buf().await.map_err(ReadError::Io)?;
            if available.is_empty() {
                if line.is_empty() {
                    return Ok(None);
                }
                break;
            }
            let (taken, done) = match find_newline(available) {
                Some(at) => (at + 1, true),
                None => (available.len(), false),
            };
            if line.len() + taken > limit + 1 {
                return Err(ReadError::TooLarge);
            }
            line.extend_from_slice(&available[..taken]);
            reader.consume(taken);
            if done {
                break;
            }
        }
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        return Ok(Some(serde_json::from_slice(text).map_err(|err| {
            jsonrpc::error_response(
                &Value::Null,
                code::PARSE_ERROR,
                &format!("not JSON: {err}"),
                None,
            )
        })));
    }
}

fn find_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&byte| byte == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_read_one_message_at_a_time_and_bad_lines_answered() {
        let input: &[u8] = b"{\"jsonrpc\":\"2.0\",\"method\":\"a\"}\n\n{oops\n{\"x\":1}";
        let mut reader = BufReader::new(input);
        let first = read_message(&mut reader, 1024)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(first["method"], "a");
        let bad = read_message(&mut reader, 1024)
            .await
            .unwrap()
            .unwrap()
            .unwrap_err();
        assert_eq!(bad["error"]["code"], code::PARSE_ERROR);
        let last = read_message(&mut reader, 1024)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(last["x"], 1);
        assert!(read_message(&mut reader, 1024).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn an_oversized_message_is_an_error_not_an_allocation() {
        let input = vec![b'a'; 10_000];
        let mut reader = BufReader::with_capacity(64, input.as_slice());
        assert!(matches!(
            read_message(&mut reader, 4096).await,
            Err(ReadError::TooLarge)
        ));
    }
}
