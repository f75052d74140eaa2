//! A minimal MCP client over stdio, for airlock's own use: `airlock mcp pin` starts a server,
//! initializes a session and lists its tools so that a person can review and pin them.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

use crate::jsonrpc::{self, Kind};
use crate::stdio::UpstreamCommand;

/// The protocol revision airlock asks for; the server may answer with another it supports.
pub const PROTOCOL_VERSION: &str = "2025-11-25";

/// Why talking to the server failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be started.
    #[error("cannot start the MCP server `{command}`: {source}")]
    Spawn {
        /// The command.
        command: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Reading or writing failed.
    #[error("talking to the MCP server: {0}")]
    Io(#[from] std::io::Error),
    /// The server closed its output or did not answer in time.
    #[error("the MCP server {0}")]
    NoAnswer(&'static str),
    /// The server answered with an error.
    #[error("the MCP server answered `{method}` with an error: {error}")]
    Refused {
        /// The request.
        method: String,
        /// The error object.
        error: Value,
    },
}

/// A running server and an initialized session with it.
#[derive(Debug)]
pub struct StdioClient {
    child: Child,
    input: ChildStdin,
    output: Lines<BufReader<ChildStdout>>,
    next_id: u64,
    /// What the server said about itself in its `initialize` answer.
    pub server_info: Value,
}

const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

impl StdioClient {
    /// Starts the server and initializes a session.
    pub async fn start(upstream: &UpstreamCommand) -> Result<StdioClient, ClientError> {
        let mut child = upstream.spawn().map_err(|source| ClientError::Spawn {
            command: upstream.display(),
            source,
        })?;
        let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(ClientError::NoAnswer("has no stdin/stdout"));
        };
        let mut client = StdioClient {
            child,
            input,
            output: BufReader::new(output).lines(),
            next_id: 1,
            server_info: Value::Null,
        };
        let answer = client
            .request(
                "initialize",
                json!({
                    "protocolVersion": PROTOCOL_VERSION,
                    "capabilities": {},
                    "clientInfo": { "name": "airlock", "version": env!("CARGO_PKG_VERSION") },
                }),
            )
            .await?;
        client.server_info = answer.get("serverInfo").cloned().unwrap_or(Value::Null);
        client
            .send(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))
            .await?;
        Ok(client)
    }

    /// Every tool the server lists, following `nextCursor` pages.
    pub async fn list_tools(&mut self) -> Result<Vec<Value>, ClientError> {
        let mut tools = Vec::new();
        let mut cursor: Option<Value> = None;
        loop {
            let params = match &cursor {
                Some(cursor) => json!({ "cursor": cursor }),
                None => json!({}),
            };
            let answer = self.request("tools/list", params).await?;
            if let Some(page) = answer.get("tools").and_then(Value::as_array) {
                tools.extend(page.iter().cloned());
            }
            match answer.get("nextCursor") {
                Some(next @ Value::String(_)) => cursor = Some(next.clone()),
                _ => return Ok(tools),
            }
        }
    }

    /// Closes the session and waits for the server to exit.
    pub async fn close(mut self) -> Result<(), ClientError> {
        drop(self.input);
        match tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await {
            Ok(status) => status.map(|_| ()).map_err(ClientError::Io),
            Err(_) => self.child.kill().await.map_err(ClientError::Io),
        }
    }

    async fn request(&mut self, method: &str, params: Value) -> Result<Value, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))
            .await?;
        let wanted = json!(id);
        let read = async {
            loop {
                let Some(line) = self.output.next_line().await? else {
                    return Err(ClientError::NoAnswer("closed its output before answering"));
                };
                let Ok(message) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                match jsonrpc::classify(&message) {
                    Kind::Response { id } if *id == wanted => {
                        if let Some(error) = message.get("error") {
                            return Err(ClientError::Refused {
                                method: method.to_owned(),
                                error: error.clone(),
                            });
                        }
                        return Ok(message.get("result").cloned().unwrap_or(Value::Null));
                    }
                    Kind::Request { id, .. } => {
                        // airlock declares no client capabilities: refuse what a server asks.
                        let refusal = jsonrpc::error_response(
                            id,
                            -32601,
                            "airlock's pinning client supports no client features",
                            None,
                        );
                        self.send(&refusal).await?;
                    }
                    _ => {}
                }
            }
        };
        tokio::time::timeout(ANSWER_TIMEOUT, read)
            .await
            .map_err(|_| ClientError::NoAnswer("did not answer within 30 s"))?
    }

    async fn send(&mut self, message: &Value) -> Result<(), ClientError> {
        let mut line = message.to_string();
        line.push('\n');
        self.input.write_all(line.as_bytes()).await?;
        self.input.flush().await?;
        Ok(())
    }
}
