//! One MCP server made of several: the `/mcp` endpoint of `airlock serve` offers the tools of
//! every `[mcp.upstreams.NAME]` as `NAME.tool`, each behind its own [`McpGuard`].
//!
//! Each client session gets its own upstream processes (started at `initialize`, stopped when
//! the session ends), so that upstream state, taint and tool reviews never mix between
//! clients. airlock answers `initialize` itself (it is the server the client talks to) and
//! initializes each upstream with the same protocol version; `tools/list` is the union of
//! the upstreams' reviewed listings, and `tools/call` goes to the upstream its name names.
//! While a `tools/call` runs, what its upstream sends the client (elicitation, sampling and
//! roots requests, progress and other notifications) is relayed on the call's event stream,
//! with request ids rewritten per upstream so that two upstreams never collide; the client's
//! answers are routed back by those ids. When several calls to one upstream run at once, a
//! progress notification goes to the call whose progress token it carries, and the rest to
//! the newest call still running. Outside a call they go to the session's standing
//! stream (`GET /mcp`) when the client opened one; otherwise an upstream's request is refused
//! and its notifications are dropped.

use std::collections::HashMap;
use std::ffi::OsString;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airlock_core::Principal;
use airlock_gateway::{Gateway, McpUpstream};
use serde_json::{Value, json};
use tokio::io::BufReader;
use tokio::process::Child;
use tokio::sync::{mpsc, oneshot};

use crate::guard::{GuardSettings, McpGuard, Route};
use crate::jsonrpc::{self, Kind, code};
use crate::pins::PinStore;
use crate::remote::{self, RemoteUpstream};
use crate::stdio::{UpstreamCommand, read_message, write_lines};

/// Protocol revisions the aggregated endpoint speaks, newest first.
pub const SUPPORTED_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26"];

/// Where messages for the client go: the event stream of a call, or the session's standing
/// `GET /mcp` stream.
type Outlet = Arc<Mutex<Option<mpsc::Sender<Value>>>>;

/// How long an upstream may take to answer one request.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);

/// What the endpoint answers to one client message.
#[derive(Debug)]
pub enum Reply {
    /// A JSON-RPC answer; for `initialize`, with the new session's id.
    Message {
        /// The answer.
        message: Value,
        /// The session created by this `initialize`.
        new_session: Option<String>,
    },
    /// Messages to send as server-sent events, ending with the answer: what the upstream
    /// sends the client while a `tools/call` runs (elicitation, sampling and roots requests,
    /// progress and other notifications) comes first.
    Stream(mpsc::Receiver<Value>),
    /// Nothing to answer (a notification or a response): HTTP 202.
    Accepted,
    /// The session id is unknown or expired: HTTP 404, the client must initialize again.
    UnknownSession,
    /// The session belongs to another principal: HTTP 403.
    NotYourSession,
}

/// The aggregated endpoint: its upstreams and its client sessions.
pub struct Aggregator {
    gateway: Arc<Gateway>,
    pins: Arc<PinStore>,
    /// For remote upstreams (`url`); built by the server, which owns TLS set-up.
    http: Option<reqwest::Client>,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
}

impl std::fmt::Debug for Aggregator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aggregator").finish_non_exhaustive()
    }
}

struct Session {
    principal: Principal,
    links: Vec<Arc<Link>>,
    /// Calls in flight: the client's request id key → the upstream and the id airlock gave
    /// the request there, so that the client's `notifications/cancelled` reaches it.
    in_flight: Mutex<HashMap<String, (Arc<Link>, Value)>>,
    /// The client's standing stream (`GET /mcp`), for upstream messages outside a call.
    standing: Outlet,
    /// Which upstream listed each resource URI (the first, when two list the same).
    resource_owners: Mutex<HashMap<String, Arc<Link>>>,
    /// Whether the guards know each other's tool names yet.
    peers_introduced: std::sync::atomic::AtomicBool,
}

/// One running upstream of one client session.
struct Link {
    name: String,
    guard: Arc<McpGuard>,
    to_upstream: mpsc::Sender<Value>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Value>>>,
    next_id: AtomicU64,
    child: Mutex<Option<Child>>,
    /// The event streams of the streamed calls running on this upstream, oldest first: what
    /// the upstream sends during them goes there.
    call_outlets: Mutex<Vec<CallOutlet>>,
    /// Numbers the streamed calls of this upstream.
    next_call: AtomicU64,
    /// Where they go otherwise: the session's standing stream, when the client opened one.
    standing: Outlet,
    /// The upstream's requests relayed to the client: client-visible id key → the id the
    /// upstream gave (ids are rewritten so that two upstreams' requests never collide).
    relayed: Mutex<HashMap<String, Value>>,
}

/// The event stream of one streamed call on a link.
struct CallOutlet {
    /// The call's number on its link.
    call: u64,
    /// The progress token the client gave the call, as an id key.
    progress_token: Option<String>,
    sender: mpsc::Sender<Value>,
}

/// Why an upstream could not be used.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// It could not be started.
    #[error("cannot start upstream `{name}`: {problem}")]
    Start {
        /// The upstream.
        name: String,
        /// What went wrong.
        problem: String,
    },
    /// It did not answer.
    #[error("upstream `{name}` did not answer {method} ({problem})")]
    NoAnswer {
        /// The upstream.
        name: String,
        /// The request.
        method: String,
        /// Why.
        problem: &'static str,
    },
}

impl Aggregator {
    /// An endpoint over the gateway's `[mcp.upstreams]`.
    /// `http` reaches remote upstreams; without it, configuring one fails its sessions.
    pub fn new(
        gateway: Arc<Gateway>,
        pins: Arc<PinStore>,
        http: Option<reqwest::Client>,
    ) -> Aggregator {
        Aggregator {
            gateway,
            pins,
            http,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Handles one client message of `session` (none before `initialize`) from `principal`.
    /// `streaming`: the client accepts an event stream as the answer (Streamable HTTP
    /// `Accept: text/event-stream`), which lets upstream requests reach it during a call.
    pub async fn handle(
        &self,
        session: Option<&str>,
        principal: &Principal,
        message: Value,
        streaming: bool,
    ) -> Reply {
        let (id, method) = match jsonrpc::classify(&message) {
            Kind::Request { id, method } => (id.clone(), method.to_owned()),
            Kind::Notification { method } => {
                if method == "notifications/initialized" {
                    return Reply::Accepted;
                }
                let Some(session) = session.and_then(|id| self.session(id)) else {
                    return Reply::UnknownSession;
                };
                if !same_caller(&session.principal, principal) {
                    return Reply::NotYourSession;
                }
                session.relay_notification(message).await;
                return Reply::Accepted;
            }
            Kind::Response { .. } => {
                // The client's answer to an upstream's request (elicitation, sampling, roots).
                let Some(session) = session.and_then(|id| self.session(id)) else {
                    return Reply::UnknownSession;
                };
                if !same_caller(&session.principal, principal) {
                    return Reply::NotYourSession;
                }
                session.relay_answer(message).await;
                return Reply::Accepted;
            }
            Kind::Invalid(why) => {
                let id = message.get("id").cloned().unwrap_or(Value::Null);
                return answer(jsonrpc::error_response(
                    &id,
                    code::INVALID_REQUEST,
                    why,
                    None,
                ));
            }
        };
        if method == "initialize" {
            return self.initialize(&id, principal, &message).await;
        }
        let Some(session) = session.and_then(|id| self.session(id)) else {
            return Reply::UnknownSession;
        };
        if !same_caller(&session.principal, principal) {
            return Reply::NotYourSession;
        }
        match method.as_str() {
            "ping" => answer(jsonrpc::result_response(&id, json!({}))),
            "tools/list" => answer(session.list_merged(&id, "tools/list", "tools").await),
            "tools/call" if streaming => Reply::Stream(session.call_tool_streaming(id, message)),
            "tools/call" => answer(session.call_named(&id, message, "tools/call").await),
            "prompts/list" => answer(session.list_merged(&id, "prompts/list", "prompts").await),
            "prompts/get" => answer(session.call_named(&id, message, "prompts/get").await),
            "resources/list" => answer(
                session
                    .list_merged(&id, "resources/list", "resources")
                    .await,
            ),
            "resources/templates/list" => answer(
                session
                    .list_merged(&id, "resources/templates/list", "resourceTemplates")
                    .await,
            ),
            "resources/read" => answer(session.read_resource(&id, message).await),
            other => answer(jsonrpc::error_response(
                &id,
                -32601,
                &format!("airlock's aggregated endpoint does not offer `{other}` yet"),
                None,
            )),
        }
    }

    /// Opens the session's standing stream (`GET /mcp`): upstream requests and notifications
    /// that arrive outside a streamed call go there (`listChanged`, logging, progress of
    /// work the client is not waiting on). A new stream replaces the old one.
    pub fn open_stream(
        &self,
        session: &str,
        principal: &Principal,
    ) -> Result<mpsc::Receiver<Value>, Reply> {
        let Some(session) = self.session(session) else {
            return Err(Reply::UnknownSession);
        };
        if !same_caller(&session.principal, principal) {
            return Err(Reply::NotYourSession);
        }
        let (sender, receiver) = mpsc::channel(64);
        *session
            .standing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(sender);
        Ok(receiver)
    }

    /// Ends a session and stops its upstreams. Returns whether it existed (and was the
    /// principal's).
    pub async fn close(&self, session: &str, principal: &Principal) -> bool {
        let removed = {
            let mut sessions = self.lock();
            match sessions.get(session) {
                Some(found) if same_caller(&found.principal, principal) => sessions.remove(session),
                _ => None,
            }
        };
        match removed {
            Some(session) => {
                session.stop().await;
                true
            }
            None => false,
        }
    }

    async fn initialize(&self, id: &Value, principal: &Principal, message: &Value) -> Reply {
        let asked = message
            .pointer("/params/protocolVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let version = if SUPPORTED_VERSIONS.contains(&asked) {
            asked
        } else {
            SUPPORTED_VERSIONS[0]
        };
        let client_capabilities = message
            .pointer("/params/capabilities")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let Some(session_id) = new_session_id() else {
            return answer(jsonrpc::error_response(
                id,
                code::INTERNAL_ERROR,
                "no OS randomness for a session id; session refused",
                None,
            ));
        };
        let settings = self.gateway.mcp_settings();
        let standing: Outlet = Arc::new(Mutex::new(None));
        let mut links = Vec::new();
        for upstream in &settings.upstreams {
            let guard = McpGuard::new(
                Arc::clone(&self.gateway),
                Arc::clone(&self.pins),
                GuardSettings {
                    upstream: upstream.name.clone(),
                    principal: principal.clone(),
                    session: session_id.clone(),
                    pinning: settings.pinning,
                    path_base: upstream
                        .cwd
                        .clone()
                        .or_else(|| std::env::current_dir().ok())
                        .unwrap_or_default(),
                    home: std::env::var_os("HOME").map(Into::into),
                },
            );
            let started = match Link::start(
                upstream,
                guard,
                self.http.as_ref(),
                settings.max_message_bytes,
                version,
                &client_capabilities,
                Arc::clone(&standing),
            )
            .await
            {
                Ok(link) => link,
                Err(err) => {
                    for link in &links {
                        Link::stop(link).await;
                    }
                    return answer(jsonrpc::error_response(
                        id,
                        code::INTERNAL_ERROR,
                        &err.to_string(),
                        None,
                    ));
                }
            };
            links.push(started);
        }
        let names: Vec<&str> = links.iter().map(|link| link.name.as_str()).collect();
        let result = json!({
            "protocolVersion": version,
            "capabilities": {
                "tools": { "listChanged": true },
                "prompts": { "listChanged": true },
                "resources": { "listChanged": true },
            },
            "serverInfo": { "name": "airlock", "version": env!("CARGO_PKG_VERSION") },
            "instructions": format!(
                "Tools of {} are offered as `SERVER.tool`. airlock checks every call against \
                 policy; a refused call returns an error result that says why.",
                names.join(", ")
            ),
        });
        self.lock().insert(
            session_id.clone(),
            Arc::new(Session {
                principal: principal.clone(),
                links,
                in_flight: Mutex::new(HashMap::new()),
                standing,
                resource_owners: Mutex::new(HashMap::new()),
                peers_introduced: std::sync::atomic::AtomicBool::new(false),
            }),
        );
        Reply::Message {
            message: jsonrpc::result_response(id, result),
            new_session: Some(session_id),
        }
    }

    fn session(&self, id: &str) -> Option<Arc<Session>> {
        self.lock().get(id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Session>>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Session {
    /// Every upstream's `method` listing (all pages) as one: items of `key`, with `name`
    /// prefixed `NAME.` for tools and prompts; resources keep their URIs, and the session
    /// remembers which upstream listed each one for `resources/read`. An upstream that does
    /// not offer the method (`-32601`) contributes nothing.
    async fn list_merged(&self, id: &Value, method: &str, key: &str) -> Value {
        if method == "tools/list" {
            self.introduce_peers().await;
        }
        let mut items = Vec::new();
        for link in &self.links {
            let mut cursor: Option<Value> = None;
            loop {
                let params = match &cursor {
                    Some(cursor) => json!({ "cursor": cursor }),
                    None => json!({}),
                };
                let answer = match link.request(method, params).await {
                    Ok(answer) => answer,
                    Err(err) => {
                        return jsonrpc::error_response(
                            id,
                            code::INTERNAL_ERROR,
                            &err.to_string(),
                            None,
                        );
                    }
                };
                if answer.pointer("/error/code") == Some(&json!(-32601)) {
                    break;
                }
                if let Some(error) = answer.get("error") {
                    let problem = format!("upstream `{}` refused {method}: {error}", link.name);
                    return jsonrpc::error_response(id, code::INTERNAL_ERROR, &problem, None);
                }
                let page = answer
                    .pointer(&format!("/result/{key}"))
                    .and_then(Value::as_array);
                for item in page.into_iter().flatten() {
                    let mut item = item.clone();
                    if let Some(uri) = item.get("uri").and_then(Value::as_str) {
                        self.lock_resource_owners()
                            .entry(uri.to_owned())
                            .or_insert_with(|| Arc::clone(link));
                    } else if let Some(name) = item.get("name").and_then(Value::as_str) {
                        item["name"] = json!(format!("{}.{name}", link.name));
                    }
                    items.push(item);
                }
                match answer.pointer("/result/nextCursor") {
                    Some(next @ Value::String(_)) => cursor = Some(next.clone()),
                    _ => break,
                }
            }
        }
        let mut result = serde_json::Map::new();
        result.insert(key.to_owned(), Value::Array(items));
        jsonrpc::result_response(id, Value::Object(result))
    }

    /// Once per session, before the first reviewed listing: every guard learns the other
    /// upstreams' tool names (from an unreviewed listing that never reaches the client), so
    /// that one server's description naming another's tool is caught in either order.
    async fn introduce_peers(&self) {
        if self.links.len() < 2
            || self
                .peers_introduced
                .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return;
        }
        let mut names = std::collections::BTreeMap::new();
        for link in &self.links {
            if let Ok(answer) = link.unreviewed_request("tools/list", json!({})).await {
                let tools = answer.pointer("/result/tools").and_then(Value::as_array);
                let listed: Vec<String> = tools
                    .into_iter()
                    .flatten()
                    .filter_map(|tool| tool.get("name").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect();
                names.insert(link.name.clone(), listed);
            }
        }
        for link in &self.links {
            let mut peers = names.clone();
            peers.remove(&link.name);
            link.guard.set_peer_tools(peers);
        }
    }

    /// `resources/read`, sent to the upstream that listed the URI (or the only upstream).
    async fn read_resource(&self, id: &Value, message: Value) -> Value {
        let uri = message
            .pointer("/params/uri")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let owner = self.lock_resource_owners().get(&uri).cloned();
        let link = match (owner, self.links.as_slice()) {
            (Some(link), _) => link,
            (None, [only]) => Arc::clone(only),
            (None, _) => {
                return jsonrpc::error_response(
                    id,
                    code::INVALID_PARAMS,
                    &format!(
                        "unknown resource `{uri}`: list resources (resources/list) first, so that \
                         airlock knows which server it belongs to"
                    ),
                    None,
                );
            }
        };
        let params = message.get("params").cloned().unwrap_or_else(|| json!({}));
        self.forward(id, &link, "resources/read", params).await
    }

    fn lock_resource_owners(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Link>>> {
        self.resource_owners
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `tools/call` or `prompts/get` of `NAME.item`, sent to upstream `NAME` as `item`.
    async fn call_named(&self, id: &Value, message: Value, method: &str) -> Value {
        let name = message
            .pointer("/params/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some((upstream, item)) = name.split_once('.') else {
            return jsonrpc::error_response(
                id,
                code::INVALID_PARAMS,
                &format!("unknown name `{name}`: names here are `SERVER.name`"),
                None,
            );
        };
        let Some(link) = self.links.iter().find(|link| link.name == upstream) else {
            return jsonrpc::error_response(
                id,
                code::INVALID_PARAMS,
                &format!("unknown name `{name}`: no upstream is named `{upstream}`"),
                None,
            );
        };
        let mut params = message.get("params").cloned().unwrap_or_else(|| json!({}));
        params["name"] = json!(item);
        self.forward(id, &Arc::clone(link), method, params).await
    }

    /// Sends `method` to `link` as the client's request `id` (cancellable by that id) and
    /// answers under that id.
    async fn forward(&self, id: &Value, link: &Arc<Link>, method: &str, params: Value) -> Value {
        let upstream_id = link.next_request_id();
        let client_key = jsonrpc::id_key(id);
        self.lock_in_flight()
            .insert(client_key.clone(), (Arc::clone(link), upstream_id.clone()));
        let answer = link.request_as(upstream_id, method, params).await;
        self.lock_in_flight().remove(&client_key);
        match answer {
            Ok(mut answer) => {
                answer["id"] = id.clone();
                answer
            }
            Err(err) => jsonrpc::error_response(id, code::INTERNAL_ERROR, &err.to_string(), None),
        }
    }

    /// A client notification: a cancellation goes to the upstream running that call, under
    /// the id airlock gave it there; any other notification goes to every upstream.
    async fn relay_notification(&self, message: Value) {
        if message.get("method").and_then(Value::as_str) == Some("notifications/cancelled") {
            let key = message
                .pointer("/params/requestId")
                .map(jsonrpc::id_key)
                .unwrap_or_default();
            let target = self.lock_in_flight().get(&key).cloned();
            if let Some((link, upstream_id)) = target {
                let mut cancelled = message;
                cancelled["params"]["requestId"] = upstream_id.clone();
                link.send_notification(cancelled).await;
                // The upstream will not answer a cancelled request: end the wait now.
                let waiting = link.lock_waiting().remove(&jsonrpc::id_key(&upstream_id));
                if let Some(waiting) = waiting {
                    let _ = waiting.send(jsonrpc::error_response(
                        &upstream_id,
                        -32800,
                        "the client cancelled the request",
                        None,
                    ));
                }
            }
            return;
        }
        for link in &self.links {
            link.send_notification(message.clone()).await;
        }
    }

    fn lock_in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Arc<Link>, Value)>> {
        self.in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs a call whose answer is an event stream: the upstream's requests and
    /// notifications during the call go to `outlet` first, then the answer.
    fn call_tool_streaming(self: &Arc<Self>, id: Value, message: Value) -> mpsc::Receiver<Value> {
        let (outlet, events) = mpsc::channel(64);
        let session = Arc::clone(self);
        tokio::spawn(async move {
            let link = message
                .pointer("/params/name")
                .and_then(Value::as_str)
                .and_then(|name| name.split_once('.'))
                .and_then(|(upstream, _)| session.links.iter().find(|l| l.name == upstream))
                .cloned();
            let progress_token = message
                .pointer("/params/_meta/progressToken")
                .map(jsonrpc::id_key);
            let call = link
                .as_ref()
                .map(|link| link.open_outlet(progress_token, outlet.clone()));
            let answer = session.call_named(&id, message, "tools/call").await;
            if let (Some(link), Some(call)) = (&link, call) {
                link.close_outlet(call);
            }
            let _ = outlet.send(answer).await;
        });
        events
    }

    /// Passes the client's answer to an upstream's request back to that upstream, under the
    /// id the upstream gave it.
    async fn relay_answer(&self, mut message: Value) {
        let key = message.get("id").map(jsonrpc::id_key).unwrap_or_default();
        for link in &self.links {
            let original = link.lock_relayed().remove(&key);
            if let Some(original) = original {
                message["id"] = original;
                for route in link.guard.from_client(message).await {
                    if let Route::ToUpstream(message) = route {
                        let _ = link.to_upstream.send(message).await;
                    }
                }
                return;
            }
        }
        tracing::warn!("a client answer matched no upstream request; dropped");
    }

    async fn stop(&self) {
        for link in &self.links {
            Link::stop(link).await;
        }
    }
}

impl Link {
    async fn start(
        upstream: &McpUpstream,
        guard: McpGuard,
        http: Option<&reqwest::Client>,
        max_message_bytes: usize,
        version: &str,
        client_capabilities: &Value,
        standing: Outlet,
    ) -> Result<Arc<Link>, UpstreamError> {
        let fail = |problem: String| UpstreamError::Start {
            name: upstream.name.clone(),
            problem,
        };
        let (to_upstream, outgoing) = mpsc::channel::<Value>(64);
        let (incoming_tx, mut incoming) = mpsc::channel::<Value>(64);
        let child = match &upstream.url {
            Some(url) => {
                let client = http.ok_or_else(|| fail("no HTTP client".to_owned()))?;
                let headers = remote::resolve_headers(&upstream.headers).map_err(&fail)?;
                let remote = RemoteUpstream {
                    url: url.clone(),
                    headers,
                };
                remote::connect(
                    client.clone(),
                    remote,
                    outgoing,
                    incoming_tx,
                    max_message_bytes,
                );
                None
            }
            None => Some(
                spawn_process(upstream, outgoing, incoming_tx, max_message_bytes).map_err(fail)?,
            ),
        };
        guard.attach_upstream(to_upstream.clone());
        let link = Arc::new(Link {
            name: upstream.name.clone(),
            guard: Arc::new(guard),
            to_upstream,
            waiting: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            child: Mutex::new(child),
            call_outlets: Mutex::new(Vec::new()),
            next_call: AtomicU64::new(1),
            standing,
            relayed: Mutex::new(HashMap::new()),
        });
        let reader = Arc::clone(&link);
        tokio::spawn(async move {
            while let Some(message) = incoming.recv().await {
                reader.deliver(message).await;
            }
            // The upstream is gone: fail whatever still waits for it.
            reader.lock_waiting().clear();
        });
        let initialized = link
            .request(
                "initialize",
                json!({
                    "protocolVersion": version,
                    // What the client can do (elicitation, sampling, roots) is relayed to it.
                    "capabilities": client_capabilities,
                    "clientInfo": { "name": "airlock", "version": env!("CARGO_PKG_VERSION") },
                }),
            )
            .await?;
        if let Some(error) = initialized.get("error") {
            return Err(fail(format!("it refused initialize: {error}")));
        }
        let _ = link
            .to_upstream
            .send(json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))
            .await;
        Ok(link)
    }

    /// Sends a request through the guard and waits for the (guarded) answer.
    async fn request(&self, method: &str, params: Value) -> Result<Value, UpstreamError> {
        self.request_as(self.next_request_id(), method, params)
            .await
    }

    /// Sends a request straight to the upstream, past the guard: for airlock's own look at
    /// the upstream (its answer never reaches the client).
    async fn unreviewed_request(
        &self,
        method: &str,
        params: Value,
    ) -> Result<Value, UpstreamError> {
        let id = self.next_request_id();
        let (answer_tx, answer_rx) = oneshot::channel();
        self.lock_waiting().insert(jsonrpc::id_key(&id), answer_tx);
        let request = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        if self.to_upstream.send(request).await.is_err() {
            return Err(self.no_answer(method, "it has exited"));
        }
        self.await_answer(&id, method, answer_rx).await
    }

    /// A fresh id for a request airlock sends this upstream.
    fn next_request_id(&self) -> Value {
        json!(format!("c{}", self.next_id.fetch_add(1, Ordering::Relaxed)))
    }

    /// Sends a notification through the guard (which relays notifications unchanged).
    async fn send_notification(&self, message: Value) {
        for route in self.guard.from_client(message).await {
            if let Route::ToUpstream(message) = route {
                let _ = self.to_upstream.send(message).await;
            }
        }
    }

    /// Sends the request `id` through the guard and waits for the (guarded) answer.
    async fn request_as(
        &self,
        id: Value,
        method: &str,
        params: Value,
    ) -> Result<Value, UpstreamError> {
        let (answer_tx, answer_rx) = oneshot::channel();
        self.lock_waiting().insert(jsonrpc::id_key(&id), answer_tx);
        let request = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        for route in self.guard.from_client(request).await {
            match route {
                Route::ToUpstream(message) => {
                    if self.to_upstream.send(message).await.is_err() {
                        return Err(self.no_answer(method, "it has exited"));
                    }
                }
                // The guard answered itself (a refusal).
                Route::ToClient(message) => {
                    self.lock_waiting().remove(&jsonrpc::id_key(&id));
                    return Ok(message);
                }
            }
        }
        self.await_answer(&id, method, answer_rx).await
    }

    /// Waits for the answer to request `id`, at most [`UPSTREAM_TIMEOUT`].
    async fn await_answer(
        &self,
        id: &Value,
        method: &str,
        answer: oneshot::Receiver<Value>,
    ) -> Result<Value, UpstreamError> {
        match tokio::time::timeout(UPSTREAM_TIMEOUT, answer).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) => Err(self.no_answer(method, "it has exited")),
            Err(_) => {
                self.lock_waiting().remove(&jsonrpc::id_key(id));
                Err(self.no_answer(method, "timed out"))
            }
        }
    }

    async fn deliver(&self, message: Value) {
        for route in self.guard.from_upstream(message).await {
            let Route::ToClient(message) = route else {
                continue;
            };
            match jsonrpc::classify(&message) {
                Kind::Response { id } => {
                    if let Some(waiting) = self.lock_waiting().remove(&jsonrpc::id_key(id)) {
                        let _ = waiting.send(message);
                    }
                }
                Kind::Request { id, method } => {
                    let outlet = self.outlet_for(&message);
                    let Some(outlet) = outlet else {
                        let refusal = jsonrpc::error_response(
                            id,
                            -32601,
                            &format!(
                                "`{method}` cannot reach the client: it has no event stream open \
                                 (a streamed tool call, or GET /mcp)"
                            ),
                            None,
                        );
                        let _ = self.to_upstream.send(refusal).await;
                        continue;
                    };
                    let visible = json!(format!("{}:{}", self.name, jsonrpc::id_key(id)));
                    self.lock_relayed()
                        .insert(jsonrpc::id_key(&visible), id.clone());
                    let mut request = message.clone();
                    request["id"] = visible;
                    let _ = outlet.send(request).await;
                }
                Kind::Notification { .. } => {
                    if let Some(outlet) = self.outlet_for(&message) {
                        let _ = outlet.send(message).await;
                    }
                }
                Kind::Invalid(_) => {}
            }
        }
    }

    async fn stop(link: &Arc<Link>) {
        link.guard.detach_upstream();
        let child = link
            .child
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(mut child) = child {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
        }
    }

    fn lock_call_outlets(&self) -> std::sync::MutexGuard<'_, Vec<CallOutlet>> {
        self.call_outlets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Opens `sender`, a streamed call's event stream, to what the upstream sends while the
    /// call runs ([`Link::outlet_for`] chooses among the open ones), until
    /// [`Link::close_outlet`] with the number returned. `progress_token`: the token the client
    /// gave the call, as an id key.
    fn open_outlet(&self, progress_token: Option<String>, sender: mpsc::Sender<Value>) -> u64 {
        let call = self.next_call.fetch_add(1, Ordering::Relaxed);
        self.lock_call_outlets().push(CallOutlet {
            call,
            progress_token,
            sender,
        });
        call
    }

    fn close_outlet(&self, call: u64) {
        self.lock_call_outlets()
            .retain(|outlet| outlet.call != call);
    }

    /// Where `message` from the upstream goes: a progress notification to the call whose
    /// progress token it carries; anything else to the newest streamed call still running
    /// (the upstream does not say which call a request belongs to); outside calls, to the
    /// session's standing stream when the client opened one.
    fn outlet_for(&self, message: &Value) -> Option<mpsc::Sender<Value>> {
        let progress_token = message
            .pointer("/params/progressToken")
            .filter(|_| {
                message.get("method").and_then(Value::as_str) == Some("notifications/progress")
            })
            .map(jsonrpc::id_key);
        let during_call = {
            let outlets = self.lock_call_outlets();
            let open = || {
                outlets
                    .iter()
                    .rev()
                    .filter(|outlet| !outlet.sender.is_closed())
            };
            let owner = progress_token.and_then(|token| {
                open().find(|outlet| outlet.progress_token.as_deref() == Some(token.as_str()))
            });
            owner
                .or_else(|| open().next())
                .map(|outlet| outlet.sender.clone())
        };
        during_call.or_else(|| {
            self.standing
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
                .filter(|standing| !standing.is_closed())
        })
    }

    fn lock_relayed(&self) -> std::sync::MutexGuard<'_, HashMap<String, Value>> {
        self.relayed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn no_answer(&self, method: &str, problem: &'static str) -> UpstreamError {
        UpstreamError::NoAnswer {
            name: self.name.clone(),
            method: method.to_owned(),
            problem,
        }
    }

    fn lock_waiting(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<Value>>> {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Starts a local upstream over stdio: `outgoing` is written to its stdin, its stdout lines
/// go to `incoming`.
fn spawn_process(
    upstream: &McpUpstream,
    outgoing: mpsc::Receiver<Value>,
    incoming: mpsc::Sender<Value>,
    max_message_bytes: usize,
) -> Result<Child, String> {
    let mut env = Vec::new();
    for (key, value) in &upstream.env {
        let value = match value.strip_prefix("env:") {
            Some(variable) => std::env::var_os(variable).ok_or_else(|| {
                format!("env.{key} names airlock's variable `{variable}`, which is not set")
            })?,
            None => OsString::from(value),
        };
        env.push((OsString::from(key), value));
    }
    let Some((program, args)) = upstream.command.split_first() else {
        return Err("no command".to_owned());
    };
    let command = UpstreamCommand {
        program: program.into(),
        args: args.iter().map(OsString::from).collect(),
        env: Some(env),
        cwd: upstream.cwd.clone(),
    };
    let mut child = command.spawn().map_err(|err| err.to_string())?;
    let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
        return Err("no stdin/stdout".to_owned());
    };
    tokio::spawn(write_lines(outgoing, input));
    tokio::spawn(async move {
        let mut output = BufReader::new(output);
        while let Ok(Some(read)) = read_message(&mut output, max_message_bytes).await {
            let Ok(message) = read else { continue };
            if incoming.send(message).await.is_err() {
                break;
            }
        }
    });
    Ok(child)
}

fn answer(message: Value) -> Reply {
    Reply::Message {
        message,
        new_session: None,
    }
}

/// A session id nobody can guess: 128 random bits from the OS, hex; `None` without OS
/// randomness (the session is then refused rather than given a guessable id).
fn new_session_id() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(data_encoding::HEXLOWER.encode(&bytes))
}

/// Whether two principals are the same caller (tokens refreshed mid-session change their
/// authentication time, not who they are).
fn same_caller(a: &Principal, b: &Principal) -> bool {
    a.agent == b.agent && a.user == b.user && a.tenant == b.tenant
}
