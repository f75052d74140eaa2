//! A remote upstream over MCP's Streamable HTTP transport, as a pair of message channels like
//! a stdio child: what airlock sends goes out as one `POST` per message; what comes back
//! (a JSON body, or the events of an SSE answer) comes in. The upstream's session id and the
//! negotiated protocol version are sent on every request after `initialize`; the configured
//! headers (the upstream's own credentials) too. The caller's credentials never are.

use std::sync::{Arc, Mutex};

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::jsonrpc::{self, Kind, code};

/// Where and how to reach a remote server.
#[derive(Debug, Clone)]
pub(crate) struct RemoteUpstream {
    /// Its endpoint.
    pub url: String,
    /// Headers for every request (credentials), already resolved.
    pub headers: HeaderMap,
}

#[derive(Debug, Default)]
struct Negotiated {
    session: Option<String>,
    version: Option<String>,
}

/// Relays `outgoing` to the remote server and its answers to `incoming`, until `outgoing`
/// closes.
pub(crate) fn connect(
    client: reqwest::Client,
    remote: RemoteUpstream,
    mut outgoing: mpsc::Receiver<Value>,
    incoming: mpsc::Sender<Value>,
    max_message_bytes: usize,
) {
    let negotiated = Arc::new(Mutex::new(Negotiated::default()));
    tokio::spawn(async move {
        while let Some(message) = outgoing.recv().await {
            let is_initialize = message.get("method").and_then(Value::as_str) == Some("initialize");
            let exchange = post(
                client.clone(),
                remote.clone(),
                Arc::clone(&negotiated),
                message,
                incoming.clone(),
                max_message_bytes,
            );
            if is_initialize {
                // Later requests need the session id this answer brings.
                exchange.await;
            } else {
                tokio::spawn(exchange);
            }
        }
        // The session is over: tell the server (best effort).
        let session = lock(&negotiated).session.clone();
        if let Some(session) = session {
            let _ = client
                .delete(&remote.url)
                .headers(remote.headers.clone())
                .header("mcp-session-id", session)
                .send()
                .await;
        }
    });
}

async fn post(
    client: reqwest::Client,
    remote: RemoteUpstream,
    negotiated: Arc<Mutex<Negotiated>>,
    message: Value,
    incoming: mpsc::Sender<Value>,
    max_message_bytes: usize,
) {
    let request_id = match jsonrpc::classify(&message) {
        Kind::Request { id, .. } => Some(id.clone()),
        _ => None,
    };
    let fail = |problem: String| {
        let incoming = incoming.clone();
        let request_id = request_id.clone();
        async move {
            if let Some(id) = request_id {
                let answer = jsonrpc::error_response(&id, code::INTERNAL_ERROR, &problem, None);
                let _ = incoming.send(answer).await;
            } else {
                tracing::warn!("remote MCP upstream: {problem}");
            }
        }
    };
    let mut request = client
        .post(&remote.url)
        .headers(remote.headers.clone())
        .header(ACCEPT, "application/json, text/event-stream")
        .header(CONTENT_TYPE, "application/json")
        .body(message.to_string());
    {
        let negotiated = lock(&negotiated);
        if let Some(session) = &negotiated.session {
            request = request.header("mcp-session-id", session.as_str());
        }
        if let Some(version) = &negotiated.version {
            request = request.header("mcp-protocol-version", version.as_str());
        }
    }
    let mut response = match request.send().await {
        Ok(response) => response,
        Err(err) => return fail(format!("the remote server cannot be reached: {err}")).await,
    };
    if let Some(session) = response
        .headers()
        .get("mcp-session-id")
        .and_then(|value| value.to_str().ok())
    {
        lock(&negotiated).session = Some(session.to_owned());
    }
    let status = response.status();
    if status == reqwest::StatusCode::ACCEPTED || request_id.is_none() {
        return;
    }
    if !status.is_success() {
        return fail(format!("the remote server answered HTTP {status}")).await;
    }
    let event_stream = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/event-stream"));
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(err) => return fail(format!("the remote server's answer broke off: {err}")).await,
        };
        buffer.extend_from_slice(&chunk);
        if buffer.len() > max_message_bytes {
            return fail(format!(
                "the remote server's answer is over {max_message_bytes} bytes"
            ))
            .await;
        }
        if event_stream {
            while let Some(event) = take_event(&mut buffer) {
                if let Some(message) = event_data(&event) {
                    remember_version(&negotiated, &message);
                    let _ = incoming.send(message).await;
                }
            }
        }
    }
    if !event_stream {
        match serde_json::from_slice::<Value>(&buffer) {
            Ok(message) => {
                remember_version(&negotiated, &message);
                let _ = incoming.send(message).await;
            }
            Err(err) => fail(format!("the remote server's answer is not JSON: {err}")).await,
        }
    }
}

/// The negotiated version, from an `initialize` answer.
fn remember_version(negotiated: &Mutex<Negotiated>, message: &Value) {
    if let Some(version) = message
        .pointer("/result/protocolVersion")
        .and_then(Value::as_str)
    {
        lock(negotiated).version = Some(version.to_owned());
    }
}

/// Removes one complete SSE event (up to a blank line) from the front of `buffer`. Works on
/// bytes, so that a chunk boundary inside a UTF-8 character changes nothing.
fn take_event(buffer: &mut Vec<u8>) -> Option<String> {
    let find = |separator: &[u8]| {
        buffer
            .windows(separator.len())
            .position(|window| window == separator)
            .map(|at| (at, separator.len()))
    };
    let (end, separator) = [find(b"\r\n\r\n"), find(b"\n\n")]
        .into_iter()
        .flatten()
        .min()?;
    let event = String::from_utf8_lossy(&buffer[..end]).into_owned();
    buffer.drain(..end + separator);
    Some(event)
}

/// The JSON message in an SSE event's `data:` lines, if any.
fn event_data(event: &str) -> Option<Value> {
    let data: Vec<&str> = event
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(|data| data.strip_prefix(' ').unwrap_or(data))
        .collect();
    if data.is_empty() {
        return None;
    }
    serde_json::from_str(&data.join("\n")).ok()
}

/// Turns configured header values (`env:NAME` from airlock's environment) into a header map.
pub(crate) fn resolve_headers(
    headers: &std::collections::BTreeMap<String, String>,
) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (key, value) in headers {
        let value = match value.strip_prefix("env:") {
            Some(variable) => std::env::var(variable).map_err(|_| {
                format!("headers.{key} names airlock's variable `{variable}`, which is not set")
            })?,
            None => value.clone(),
        };
        let name = HeaderName::from_bytes(key.as_bytes())
            .map_err(|_| format!("headers.{key}: not a valid header name"))?;
        let mut value = HeaderValue::from_str(&value)
            .map_err(|_| format!("headers.{key}: the value is not a valid header value"))?;
        value.set_sensitive(true);
        map.insert(name, value);
    }
    Ok(map)
}

fn lock(negotiated: &Mutex<Negotiated>) -> std::sync::MutexGuard<'_, Negotiated> {
    negotiated
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_events_are_split_and_their_data_parsed() {
        let mut buffer = b"event: message\ndata: {\"a\":1}\n\n: comment\r\n\r\ndata: {\"b\":\ndata: 2}\n\npartial"
            .to_vec();
        let first = take_event(&mut buffer).unwrap();
        assert_eq!(event_data(&first).unwrap()["a"], 1);
        let comment = take_event(&mut buffer).unwrap();
        assert!(event_data(&comment).is_none());
        let multi_line = take_event(&mut buffer).unwrap();
        assert_eq!(event_data(&multi_line).unwrap()["b"], 2);
        assert!(take_event(&mut buffer).is_none());
        assert_eq!(buffer, b"partial");
    }

    #[test]
    fn header_values_come_from_the_environment_and_are_marked_sensitive() {
        let mut configured = std::collections::BTreeMap::new();
        configured.insert("x-static".to_owned(), "plain".to_owned());
        configured.insert(
            "authorization".to_owned(),
            "env:AIRLOCK_TEST_SURELY_UNSET_VARIABLE".to_owned(),
        );
        let err = resolve_headers(&configured).unwrap_err();
        assert!(err.contains("AIRLOCK_TEST_SURELY_UNSET_VARIABLE"), "{err}");
        configured.remove("authorization");
        let map = resolve_headers(&configured).unwrap();
        assert!(map["x-static"].is_sensitive());
    }
}
