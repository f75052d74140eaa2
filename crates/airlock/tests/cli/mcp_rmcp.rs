//! `airlock mcp wrap` with the official Rust MCP SDK (`rmcp`) as the client, so that the
//! gateway is checked against a second independent client implementation besides the Python
//! SDK of `mcp.rs`. `rmcp` launches the real binary over stdio (`TokioChildProcess`) and talks
//! to it with its own handshake, framing and result types; the servers behind airlock are the
//! same real ones as in `mcp.rs`. Nothing here mocks MCP.

use std::path::Path;
use std::time::Duration;

use rmcp::RoleClient;
use rmcp::model::{CallToolRequestParams, CallToolResult, JsonObject};
use rmcp::service::{RunningService, ServiceExt};
use rmcp::transport::TokioChildProcess;
use serde_json::json;

use crate::mcp::{npm_server, python, repo};
use crate::{airlock_in, write_file};

/// How long one whole client session may take: a hang fails the test instead of blocking CI.
const SESSION_TIMEOUT: Duration = Duration::from_secs(60);

type Client = RunningService<RoleClient, ()>;

/// Runs `session` on a fresh runtime, bounded by [`SESSION_TIMEOUT`]. The tests of this crate
/// are synchronous; `rmcp` needs tokio (its child-process guard spawns its clean-up task, so
/// the client must also be dropped inside the runtime, which `session` ensures by closing it).
fn run_session<F: Future<Output = ()>>(session: F) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        tokio::time::timeout(SESSION_TIMEOUT, session)
            .await
            .expect("the rmcp session through airlock finished within the timeout");
    });
}

/// Starts `airlock mcp wrap [wrap_args] -- server...` in `dir` (HOME too) and completes the
/// MCP handshake with `rmcp`'s client.
async fn connect(dir: &Path, wrap_args: &[&str], server: &[String]) -> Client {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_airlock"));
    command
        .args(["mcp", "wrap"])
        .args(wrap_args)
        .arg("--")
        .args(server)
        .current_dir(dir)
        .env("HOME", dir)
        .env("RUST_LOG", "warn");
    let transport = TokioChildProcess::new(command).expect("start airlock mcp wrap");
    ().serve(transport)
        .await
        .expect("rmcp client initialized through airlock")
}

/// Ends the session the way an MCP stdio client should: close airlock's stdin and wait for it
/// (and the server behind it) to exit.
async fn close(mut client: Client) {
    client.close().await.expect("rmcp client closed");
}

async fn tool_names(client: &Client) -> Vec<String> {
    client
        .list_all_tools()
        .await
        .expect("tools/list through airlock")
        .into_iter()
        .map(|tool| tool.name.into_owned())
        .collect()
}

async fn call(client: &Client, name: &'static str, arguments: serde_json::Value) -> CallToolResult {
    let arguments: JsonObject = match arguments {
        serde_json::Value::Object(object) => object,
        other => panic!("tool arguments must be a JSON object, not {other}"),
    };
    client
        .call_tool(CallToolRequestParams::new(name).with_arguments(arguments))
        .await
        .unwrap_or_else(|err| panic!("tools/call {name} through airlock: {err}"))
}

/// The text of a tool result's first content block.
fn text(result: &CallToolResult) -> &str {
    result
        .content
        .first()
        .and_then(|block| block.as_text())
        .map(|content| content.text.as_str())
        .unwrap_or_else(|| panic!("no text content: {result:?}"))
}

fn python_server(name: &str) -> Vec<String> {
    let script = repo().join("tests/mcp/servers").join(name);
    vec![python().display().to_string(), script.display().to_string()]
}

#[test]
fn rmcp_client_sees_tools_and_only_harmless_calls_pass_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let everything = vec![
        npm_server("mcp-server-everything").display().to_string(),
        "stdio".to_owned(),
    ];
    run_session(async {
        let client = connect(dir.path(), &[], &everything).await;

        // rmcp offers its newest protocol (2026-07-28, which has no `initialize`); the answer
        // must be a version that still has the handshake, which rmcp accepts.
        let server = client.peer_info().expect("server info after initialize");
        assert!(
            server.protocol_version.has_initialize(),
            "negotiated {}",
            server.protocol_version
        );

        let tools = tool_names(&client).await;
        for expected in ["echo", "get-sum", "get-env"] {
            assert!(
                tools.iter().any(|tool| tool == expected),
                "{expected} hidden: {tools:?}"
            );
        }

        let echoed = call(&client, "echo", json!({"message": "hello from rmcp"})).await;
        assert_ne!(echoed.is_error, Some(true), "{echoed:?}");
        assert_eq!(text(&echoed), "Echo: hello from rmcp");

        // Unknown to the built-in labels: refused as a tool error (not a protocol error), and
        // the message says how to allow it.
        let refused = call(&client, "get-env", json!({})).await;
        assert_eq!(refused.is_error, Some(true), "{refused:?}");
        let message = text(&refused);
        assert!(
            message.contains("airlock denied `get-env`") && message.contains("[tools.get-env]"),
            "{message}"
        );
        let outcome = refused
            .meta
            .as_ref()
            .and_then(|meta| meta.get("airlock"))
            .map(|airlock| airlock["outcome"].clone());
        assert_eq!(outcome, Some(json!("deny")), "{refused:?}");

        close(client).await;
    });

    // The decisions of this session are in the audit log, and the chain verifies.
    let verify = airlock_in(dir.path(), &["audit", "verify"], None);
    assert_eq!(verify.code, 0, "{}", verify.all_output());
    let tail = airlock_in(dir.path(), &["audit", "tail", "-n", "10"], None);
    assert!(tail.stdout.contains("get-env"), "{}", tail.stdout);
}

#[test]
fn rmcp_client_sees_only_the_clean_tool_of_a_poisoned_server() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "airlock.toml",
        "[tools.add]\nlabels = [\"read_only\"]\n[tools.get_weather]\nlabels = [\"read_only\"]\n",
    );
    run_session(async {
        let client = connect(
            dir.path(),
            &["--config", "airlock.toml"],
            &python_server("poisoned.py"),
        )
        .await;

        // get_weather (hidden <IMPORTANT> block), lookup (Unicode tag characters) and
        // send_feedback (shadowing another server's tool) never reach the client.
        assert_eq!(tool_names(&client).await, ["add"]);

        let sum = call(&client, "add", json!({"a": 1, "b": 2})).await;
        assert_ne!(sum.is_error, Some(true), "{sum:?}");
        assert!(text(&sum).contains('3'), "{sum:?}");

        // Calling a hidden tool by name is refused, even though the config labels it
        // read-only: its definition carries instructions for the model.
        let refused = call(&client, "get_weather", json!({"city": "Oslo"})).await;
        assert_eq!(refused.is_error, Some(true), "{refused:?}");
        assert!(
            text(&refused).contains("instructions for the model"),
            "{refused:?}"
        );

        close(client).await;
    });
}
