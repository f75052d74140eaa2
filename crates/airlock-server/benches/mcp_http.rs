//! Throughput and latency of `tools/call` through `airlock serve`'s Streamable HTTP endpoint
//! (`POST /mcp`), against the same calls made straight to the same upstream over stdio, side
//! by side in one run.
//!
//! Two workloads, each with a real npm server (`npm ci --prefix tests/node`) and 64 different
//! ~4 KB windows of typical text (benign records of the shared injection data set):
//!
//! - `echo`: `@modelcontextprotocol/server-everything`, tool `echo` with a ~4 KB message, so
//!   each call's 4 KB of arguments (authorize) and its ~4 KB result (inspect) are both
//!   scanned;
//! - `read`: `@modelcontextprotocol/server-filesystem`, tool `read_text_file` of a ~4 KB file
//!   (64 files in a temp dir, the server's allowed directory), so the arguments are a short
//!   path and the result is ~4 KB, as in the issue's target ("policy + result scanning of 4 KB
//!   results"). The server returns the text twice, as a text block and as
//!   `structuredContent`, and airlock scans both, as a model could read either.
//!
//! Every call makes two durable audit records, and every answer is checked to be the tool's
//! own (not refused by the built-in policy pack, not an error). Each client session is a
//! closed loop of sequential calls on its own thread:
//!
//! - direct: one upstream process per session, newline-delimited JSON-RPC on its stdio;
//! - airlock: one keep-alive HTTP/1.1 connection per session to an in-process server on
//!   127.0.0.1:0 (`airlock_server::serve` on a 2-worker tokio runtime), whose aggregator
//!   starts one upstream process per session, as `airlock serve` does; once per `[audit]
//!   durability` level, each with its own SQLite audit log.
//!
//! For each session count, the modes run in alternating phases of a fixed time, the order
//! rotating every round, so that load on the shared machine hits every mode alike. CPU time
//! is read from `/proc` per phase and split into the upstream processes, the client threads,
//! and the rest of this process (airlock: HTTP, aggregator, guard, gateway, audit writer), so
//! that where the time goes shows even when the upstream is the bottleneck.
//!
//! Prints markdown tables, one section per workload, and writes them to
//! `<target>/bench-reports/mcp_http.md`.
//!
//! Run: `cargo bench -p airlock-server --bench mcp_http [-- SECONDS [ROUNDS]] [echo|read]`
//! (default 3 s phases, 2 rounds per mode and session count, both workloads: `echo`, then
//! `read`; name one or both to choose).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use airlock_gateway::{ConfigSource, Gateway};
use serde_json::{Value, json};

/// The targets.
const TARGET_CALLS_PER_SECOND: f64 = 5_000.0;
const TARGET_ADDED_P99: Duration = Duration::from_millis(2);
/// Concurrent client sessions per measurement.
const SESSION_COUNTS: [usize; 3] = [1, 4, 16];
/// Untimed calls per session before each phase.
const WARMUP_CALLS: usize = 20;
/// Size of the `echo` message and of the files `read_text_file` reads.
const MESSAGE_BYTES: usize = 4096;
/// How many different messages (files) the calls cycle through.
const MESSAGES: usize = 64;
/// The workloads, in the order they run by default.
const WORKLOADS: [&str; 2] = ["echo", "read"];
/// The protocol revision the clients ask for.
const PROTOCOL_VERSION: &str = "2025-06-18";
/// The session header of the Streamable HTTP transport.
const SESSION_HEADER: &str = "mcp-session-id";
/// `/proc/*/stat` counts CPU time in clock ticks of 1/100 s on Linux (USER_HZ).
const TICKS_PER_SECOND: f64 = 100.0;

fn main() {
    let mut numbers: Vec<u64> = Vec::new();
    let mut workloads: Vec<&str> = Vec::new();
    // `cargo bench` passes `--bench` along with the arguments after `--`.
    for arg in std::env::args().skip(1).filter(|arg| !arg.starts_with('-')) {
        if let Ok(number) = arg.parse() {
            numbers.push(number);
        } else if let Some(workload) = WORKLOADS.iter().find(|known| **known == arg) {
            workloads.push(workload);
        } else {
            eprintln!(
                "unknown workload `{arg}`; known: {}; usage: mcp_http [SECONDS [ROUNDS]] \
                 [echo|read]...",
                WORKLOADS.join(", ")
            );
            std::process::exit(2);
        }
    }
    if workloads.is_empty() {
        workloads = WORKLOADS.to_vec();
    }
    let phase = Duration::from_secs(numbers.first().copied().unwrap_or(3));
    let rounds = numbers.get(1).copied().unwrap_or(2) as usize;

    // A failed client thread would leave the others waiting at the start barrier.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        std::process::exit(101);
    }));
    let messages = typical_messages();
    let mut report = String::new();
    for (index, name) in workloads.iter().enumerate() {
        if index > 0 {
            report.push('\n');
        }
        let workload = Arc::new(match *name {
            "echo" => Workload::echo(&messages),
            _ => Workload::read(&messages),
        });
        report.push_str(&measure(&workload, phase, rounds));
    }

    print!("{report}");
    let path = report_path();
    match std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))
        .and_then(|()| std::fs::write(&path, &report))
    {
        Ok(()) => println!("\nreport written to {}", path.display()),
        Err(err) => eprintln!("cannot write the report to {}: {err}", path.display()),
    }
}

/// Runs every mode at every session count on `workload`; returns its section of the report.
fn measure(workload: &Arc<Workload>, phase: Duration, rounds: usize) -> String {
    let servers = [
        AirlockServer::start("power_loss", workload),
        AirlockServer::start("process_crash", workload),
    ];
    let modes = [
        Mode::Direct,
        Mode::Airlock {
            server: &servers[0],
            streaming: true,
        },
        Mode::Airlock {
            server: &servers[1],
            streaming: true,
        },
        Mode::Airlock {
            server: &servers[1],
            streaming: false,
        },
    ];

    let load_before = load_average();
    let started = Instant::now();
    let mut results = Vec::new();
    for sessions in SESSION_COUNTS {
        let mut clients: Vec<Vec<Client>> = modes
            .iter()
            .map(|mode| (0..sessions).map(|_| mode.open(workload)).collect())
            .collect();
        let mut measured: Vec<Measured> = modes.iter().map(|_| Measured::default()).collect();
        for round in 0..rounds {
            for turn in 0..modes.len() {
                let which = (round + turn) % modes.len();
                let (returned, phase_result) =
                    run_phase(std::mem::take(&mut clients[which]), workload, phase);
                clients[which] = returned;
                measured[which].add(phase_result);
            }
        }
        for mode_clients in clients {
            for client in mode_clients {
                client.close();
            }
        }
        results.push((sessions, measured));
    }
    let load_after = load_average();

    let mut report = String::new();
    let _ = writeln!(
        report,
        "`cargo bench -p airlock-server --bench mcp_http` — `tools/call` of {}; {rounds} \
         phase(s) of {} s per mode and session count, alternating; {} CPU(s); load average \
         {load_before} before, {load_after} after; {:.0} s in all.\n",
        workload.description,
        phase.as_secs(),
        std::thread::available_parallelism().map_or(0, usize::from),
        started.elapsed().as_secs_f64(),
    );
    report.push_str(&throughput_table(&modes, &results));
    report.push('\n');
    report.push_str(&cpu_table(&modes, &results));
    report.push('\n');
    report.push_str(&verdict(&modes, &results));

    for server in servers {
        server.stop();
    }
    report
}

/// What the clients call: one tool of one upstream server, with `MESSAGES` different inputs
/// that the calls cycle through.
struct Workload {
    /// The name of `[mcp.upstreams.NAME]`: its tools are `NAME.tool` on `/mcp`.
    upstream: &'static str,
    /// How to start the upstream over stdio, as in `[mcp.upstreams.NAME] command`.
    command: Vec<String>,
    /// The tool's own name (direct) and its name on `/mcp`.
    tool: &'static str,
    namespaced_tool: String,
    /// The one argument, and its values.
    argument: &'static str,
    inputs: Vec<String>,
    /// How the tool's answer starts (it goes on with ~4 KB of text).
    answer_prefix: &'static str,
    /// For the report: "server `tool` ...".
    description: String,
    /// The files that `read` reads, removed when the workload is dropped.
    _files: Option<tempfile::TempDir>,
}

impl Workload {
    fn echo(messages: &[String]) -> Workload {
        Workload {
            upstream: "everything",
            command: vec![npm_server("mcp-server-everything"), "stdio".to_owned()],
            tool: "echo",
            namespaced_tool: "everything.echo".to_owned(),
            argument: "message",
            inputs: messages.to_vec(),
            answer_prefix: "Echo: ",
            description: format!(
                "server-everything `echo` with a {MESSAGE_BYTES}-byte message (a ~4 KB result)"
            ),
            _files: None,
        }
    }

    /// Each message becomes a file in a temp dir that is the server's one allowed
    /// directory; the calls read them in turn.
    fn read(messages: &[String]) -> Workload {
        let dir = tempfile::tempdir().expect("temp dir");
        // The server resolves symbolic links (e.g. a linked /tmp) before it checks a path
        // against its allowed directories.
        let root = dir.path().canonicalize().expect("canonical temp dir");
        let paths = messages
            .iter()
            .enumerate()
            .map(|(i, message)| {
                let path = root.join(format!("record-{i:02}.txt"));
                std::fs::write(&path, message).expect("write a file to read");
                path.display().to_string()
            })
            .collect();
        Workload {
            upstream: "filesystem",
            command: vec![
                npm_server("mcp-server-filesystem"),
                root.display().to_string(),
            ],
            tool: "read_text_file",
            namespaced_tool: "filesystem.read_text_file".to_owned(),
            argument: "path",
            inputs: paths,
            answer_prefix: "",
            description: format!(
                "server-filesystem `read_text_file` of a {MESSAGE_BYTES}-byte file (a short \
                 path in, a ~4 KB result out, which the server sends both as text and as \
                 `structuredContent`)"
            ),
            _files: Some(dir),
        }
    }

    /// The `tools/call` params of call `i`, under the tool's own name or its `/mcp` name.
    fn params(&self, namespaced: bool, i: usize) -> Value {
        let name = if namespaced {
            self.namespaced_tool.as_str()
        } else {
            self.tool
        };
        json!({
            "name": name,
            "arguments": { self.argument: self.inputs[i % self.inputs.len()] },
        })
    }

    /// The call came back as the tool's own answer, neither refused nor withheld.
    fn check(&self, result: &Value) {
        let text = result["content"][0]["text"].as_str();
        assert!(
            result["isError"] != true
                && text.is_some_and(|text| {
                    text.starts_with(self.answer_prefix) && text.len() > MESSAGE_BYTES / 2
                }),
            "the call did not come back as the tool's answer: {result}"
        );
    }
}

/// How the client reaches the upstream.
#[derive(Clone, Copy)]
enum Mode<'a> {
    Direct,
    /// `streaming`: the client accepts `text/event-stream` (as MCP clients must), and
    /// airlock answers `tools/call` with an SSE stream; otherwise with a JSON body.
    Airlock {
        server: &'a AirlockServer,
        streaming: bool,
    },
}

impl Mode<'_> {
    fn name(&self) -> String {
        match self {
            Mode::Direct => "direct (stdio)".to_owned(),
            Mode::Airlock { server, streaming } => format!(
                "airlock /mcp, {}, {} answers",
                server.durability,
                if *streaming { "SSE" } else { "JSON" }
            ),
        }
    }

    fn open(&self, workload: &Workload) -> Client {
        match self {
            Mode::Direct => Client::Direct(DirectClient::open(workload)),
            Mode::Airlock { server, streaming } => {
                Client::Http(HttpClient::open(server.address, *streaming, workload))
            }
        }
    }
}

/// An `airlock serve` in this process, with its own gateway and audit log.
struct AirlockServer {
    durability: &'static str,
    address: SocketAddr,
    runtime: tokio::runtime::Runtime,
    shutdown: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<Result<(), airlock_server::ServeError>>,
    _dir: tempfile::TempDir,
}

impl AirlockServer {
    fn start(durability: &'static str, workload: &Workload) -> AirlockServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("airlock.toml");
        std::fs::write(
            &config,
            format!(
                "[audit]\npath = \"{}\"\ndurability = \"{durability}\"\n\n\
                 [mcp]\npins_file = \"{}\"\n\n\
                 [mcp.upstreams.{}]\ncommand = {}\n",
                dir.path().join("audit.db").display(),
                dir.path().join("pins.json").display(),
                workload.upstream,
                // A JSON array of strings is a TOML array too.
                Value::from(workload.command.clone()),
            ),
        )
        .expect("write airlock.toml");
        let gateway = Arc::new(Gateway::start(ConfigSource::File(config)).expect("gateway"));
        // Two workers, as on the 2-core machine; named so that their CPU time is
        // counted as airlock's.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("airlock-server")
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("local address");
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = runtime.spawn(airlock_server::serve(gateway, listener, async move {
            let _ = stopped.await;
        }));
        AirlockServer {
            durability,
            address,
            runtime,
            shutdown,
            served,
            _dir: dir,
        }
    }

    fn stop(self) {
        let _ = self.shutdown.send(());
        let stopped = self
            .runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), self.served).await });
        match stopped {
            Ok(Ok(Ok(()))) => {}
            other => eprintln!(
                "the {} server did not stop cleanly: {other:?}",
                self.durability
            ),
        }
    }
}

/// One client session, reused across the phases of its mode.
enum Client {
    Direct(DirectClient),
    Http(HttpClient),
}

impl Client {
    /// Call `i` of the workload's tool; returns the answer's `result`.
    fn call(&mut self, workload: &Workload, i: usize) -> Value {
        match self {
            Client::Direct(client) => client.request("tools/call", workload.params(false, i)),
            Client::Http(client) => client.request("tools/call", workload.params(true, i)),
        }
    }

    fn close(self) {
        match self {
            Client::Direct(client) => client.close(),
            Client::Http(client) => client.close(),
        }
    }
}

/// Straight to an upstream process of its own, over its stdio.
struct DirectClient {
    child: Child,
    writer: ChildStdin,
    reader: BufReader<ChildStdout>,
    next_id: u64,
    line: String,
}

impl DirectClient {
    fn open(workload: &Workload) -> DirectClient {
        let mut child = Command::new(&workload.command[0])
            .args(&workload.command[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("start {:?}: {err}", workload.command));
        let writer = child.stdin.take().expect("piped stdin");
        let reader = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut client = DirectClient {
            child,
            writer,
            reader,
            next_id: 0,
            line: String::new(),
        };
        // The same handshake as the aggregator makes with its upstreams.
        client.request(
            "initialize",
            json!({
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": { "name": "airlock-bench", "version": "0" },
            }),
        );
        client.send(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }));
        expect_listed(&client.request("tools/list", json!({})), workload.tool);
        client
    }

    fn send(&mut self, message: &Value) {
        let mut line = message.to_string();
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .expect("write to the upstream");
        self.writer.flush().expect("flush to the upstream");
    }

    /// Sends a request and reads until its answer (skipping the upstream's notifications);
    /// returns its `result`.
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            self.line.clear();
            let read = self
                .reader
                .read_line(&mut self.line)
                .expect("read from the upstream");
            assert!(read > 0, "the upstream closed its output");
            let mut message: Value = serde_json::from_str(&self.line).expect("a JSON-RPC line");
            if message["id"] == id {
                return result_of(&mut message, method);
            }
        }
    }

    fn close(mut self) {
        drop(self.writer);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Streamable HTTP session on one keep-alive connection.
struct HttpClient {
    address: SocketAddr,
    stream: BufReader<TcpStream>,
    session: String,
    accept: &'static str,
    next_id: u64,
    line: String,
    request: Vec<u8>,
}

impl HttpClient {
    fn open(address: SocketAddr, streaming: bool, workload: &Workload) -> HttpClient {
        let stream = TcpStream::connect(address).expect("connect to airlock");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        let mut client = HttpClient {
            address,
            stream: BufReader::new(stream),
            session: String::new(),
            accept: if streaming {
                "application/json, text/event-stream"
            } else {
                "application/json"
            },
            next_id: 0,
            line: String::new(),
            request: Vec::with_capacity(8192),
        };
        let (status, session, body) = client.post(&json!({
            "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": { "name": "airlock-bench", "version": "0" },
            },
        }));
        assert_eq!(
            status,
            200,
            "initialize: {}",
            String::from_utf8_lossy(&body)
        );
        client.session = session.expect("initialize answered without Mcp-Session-Id");
        let (status, _, body) =
            client.post(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }));
        assert_eq!(
            status,
            202,
            "initialized: {}",
            String::from_utf8_lossy(&body)
        );
        expect_listed(
            &client.request("tools/list", json!({})),
            &workload.namespaced_tool,
        );
        client
    }

    /// A request; returns its `result`.
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let (status, _, body) =
            self.post(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        assert_eq!(status, 200, "{method}: {}", String::from_utf8_lossy(&body));
        let mut message: Value = serde_json::from_slice(&body).expect("a JSON-RPC answer");
        assert_eq!(message["id"], id, "{method}: an answer to another request");
        result_of(&mut message, method)
    }

    /// One `POST /mcp`: status, `Mcp-Session-Id` and body of the answer.
    fn post(&mut self, message: &Value) -> (u16, Option<String>, Vec<u8>) {
        let body = message.to_string();
        self.request.clear();
        let _ = write!(
            self.request,
            "POST /mcp HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
             accept: {}\r\nmcp-protocol-version: {PROTOCOL_VERSION}\r\n\
             content-length: {}\r\n",
            self.address,
            self.accept,
            body.len()
        );
        if !self.session.is_empty() {
            let _ = write!(self.request, "{SESSION_HEADER}: {}\r\n", self.session);
        }
        self.request.extend_from_slice(b"\r\n");
        self.request.extend_from_slice(body.as_bytes());
        self.stream
            .get_mut()
            .write_all(&self.request)
            .expect("send to airlock");
        self.read_answer()
    }

    fn read_answer(&mut self) -> (u16, Option<String>, Vec<u8>) {
        self.line.clear();
        self.stream
            .read_line(&mut self.line)
            .expect("read the status line");
        let status: u16 = self
            .line
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP status line: {:?}", self.line));
        let mut length = 0;
        let mut chunked = false;
        let mut event_stream = false;
        let mut session = None;
        loop {
            self.line.clear();
            self.stream
                .read_line(&mut self.line)
                .expect("read a header");
            if self.line == "\r\n" || self.line.is_empty() {
                break;
            }
            let Some((name, value)) = self.line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().expect("a content-length");
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            } else if name.eq_ignore_ascii_case("content-type") {
                event_stream = value.starts_with("text/event-stream");
            } else if name.eq_ignore_ascii_case(SESSION_HEADER) {
                session = Some(value.to_owned());
            }
        }
        let body = if chunked {
            self.read_chunks()
        } else {
            let mut body = vec![0; length];
            self.stream.read_exact(&mut body).expect("read the body");
            body
        };
        if event_stream {
            return (status, session, last_event(&body));
        }
        (status, session, body)
    }

    /// A `Transfer-Encoding: chunked` body, whole.
    fn read_chunks(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        loop {
            self.line.clear();
            self.stream
                .read_line(&mut self.line)
                .expect("read a chunk size");
            let size =
                usize::from_str_radix(self.line.trim().split(';').next().unwrap_or_default(), 16)
                    .unwrap_or_else(|_| panic!("not a chunk size: {:?}", self.line));
            let start = body.len();
            body.resize(start + size + 2, 0);
            self.stream
                .read_exact(&mut body[start..])
                .expect("read a chunk");
            body.truncate(start + size);
            if size == 0 {
                return body;
            }
        }
    }

    /// `DELETE /mcp`: airlock stops this session's upstream.
    fn close(mut self) {
        let request = format!(
            "DELETE /mcp HTTP/1.1\r\nhost: {}\r\n{SESSION_HEADER}: {}\r\ncontent-length: \
             0\r\n\r\n",
            self.address, self.session
        );
        if self.stream.get_mut().write_all(request.as_bytes()).is_ok() {
            let (status, _, _) = self.read_answer();
            if status != 204 {
                eprintln!("DELETE /mcp answered {status}");
            }
        }
    }
}

/// The data of the last event of an SSE body: the answer (those before it are the
/// upstream's notifications and requests).
fn last_event(body: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(body).expect("a UTF-8 event stream");
    text.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .next_back()
        .map(|data| data.trim_start().as_bytes().to_vec())
        .unwrap_or_else(|| panic!("an event stream without data: {text:?}"))
}

/// The `result` of an answer; panics with the answer when it is an error.
fn result_of(message: &mut Value, method: &str) -> Value {
    match message.get_mut("result") {
        Some(result) => result.take(),
        None => panic!("{method} failed: {message}"),
    }
}

fn expect_listed(result: &Value, name: &str) {
    assert!(
        result["tools"]
            .as_array()
            .is_some_and(|tools| tools.iter().any(|tool| tool["name"] == name)),
        "`{name}` is not listed: {result}"
    );
}

/// What one phase of one mode measured.
#[derive(Default)]
struct Measured {
    latencies: Vec<Duration>,
    elapsed: Duration,
    cpu: CpuTime,
}

impl Measured {
    fn add(&mut self, other: Measured) {
        self.latencies.extend(other.latencies);
        self.elapsed += other.elapsed;
        self.cpu.upstream += other.cpu.upstream;
        self.cpu.clients += other.cpu.clients;
        self.cpu.rest_of_process += other.cpu.rest_of_process;
    }

    fn calls_per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn sorted(&self) -> Vec<Duration> {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        sorted
    }
}

/// CPU seconds spent during a phase.
#[derive(Default, Clone, Copy)]
struct CpuTime {
    /// The upstream processes (children of this process).
    upstream: f64,
    /// The client threads.
    clients: f64,
    /// Everything else in this process: in the airlock modes, the server.
    rest_of_process: f64,
}

/// Every client calls in a closed loop for `phase`, after its warm-up calls.
fn run_phase(
    clients: Vec<Client>,
    workload: &Arc<Workload>,
    phase: Duration,
) -> (Vec<Client>, Measured) {
    let start = Arc::new(Barrier::new(clients.len() + 1));
    let threads: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(index, mut client)| {
            let start = Arc::clone(&start);
            let workload = Arc::clone(workload);
            std::thread::Builder::new()
                .name(format!("bench-client-{index}"))
                .spawn(move || {
                    for i in 0..WARMUP_CALLS {
                        workload.check(&client.call(&workload, index + i));
                    }
                    start.wait();
                    let cpu_before = thread_cpu_seconds();
                    let deadline = Instant::now() + phase;
                    let mut latencies = Vec::new();
                    let mut i = index * 7;
                    while Instant::now() < deadline {
                        let called = Instant::now();
                        let result = client.call(&workload, i);
                        latencies.push(called.elapsed());
                        workload.check(&result);
                        i += 1;
                    }
                    let finished = Instant::now();
                    (
                        client,
                        latencies,
                        finished,
                        thread_cpu_seconds() - cpu_before,
                    )
                })
                .expect("spawn a client thread")
        })
        .collect();
    start.wait();
    let started = Instant::now();
    let process_before = process_cpu_seconds();
    let children_before = children_cpu_seconds();
    let mut clients = Vec::new();
    let mut measured = Measured::default();
    let mut last_finish = started;
    for thread in threads {
        let (client, latencies, finished, cpu) = thread.join().expect("client thread");
        clients.push(client);
        measured.latencies.extend(latencies);
        measured.cpu.clients += cpu;
        last_finish = last_finish.max(finished);
    }
    measured.elapsed = last_finish - started;
    measured.cpu.upstream = children_cpu_seconds() - children_before;
    measured.cpu.rest_of_process =
        (process_cpu_seconds() - process_before - measured.cpu.clients).max(0.0);
    (clients, measured)
}

/// utime + stime of a `/proc/.../stat` line, in seconds.
fn stat_cpu_seconds(stat: &str) -> Option<(u32, f64)> {
    // The command name (field 2) may hold spaces; the fields after it are plain numbers.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name: state (3), ppid (4), ... utime (14), stime (15).
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((ppid, (utime + stime) / TICKS_PER_SECOND))
}

fn thread_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .and_then(|stat| stat_cpu_seconds(&stat))
        .map_or(0.0, |(_, seconds)| seconds)
}

fn process_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| stat_cpu_seconds(&stat))
        .map_or(0.0, |(_, seconds)| seconds)
}

/// CPU time of the live processes whose parent is this one (the upstreams).
fn children_cpu_seconds() -> f64 {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter_map(|stat| stat_cpu_seconds(&stat))
        .filter(|(ppid, _)| *ppid == me)
        .map(|(_, seconds)| seconds)
        .sum()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn millis(duration: Duration) -> String {
    format!("{:.3} ms", duration.as_secs_f64() * 1e3)
}

fn signed_millis(a: Duration, b: Duration) -> String {
    format!("{:+.3} ms", (a.as_secs_f64() - b.as_secs_f64()) * 1e3)
}

type Results = [(usize, Vec<Measured>)];

/// Calls/s and latency per session count and mode, and each airlock mode against direct.
fn throughput_table(modes: &[Mode<'_>], results: &Results) -> String {
    let mut table = String::from(
        "| sessions | mode | calls | calls/s | vs direct | p50 | p99 | p99.9 | added p50 | \
         added p99 |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (sessions, measured) in results {
        let direct = &measured[0];
        let direct_sorted = direct.sorted();
        for (mode, mode_measured) in modes.iter().zip(measured) {
            let sorted = mode_measured.sorted();
            let (ratio, added_p50, added_p99) = match mode {
                Mode::Direct => ("–".to_owned(), "–".to_owned(), "–".to_owned()),
                Mode::Airlock { .. } => (
                    format!(
                        "{:.2}×",
                        mode_measured.calls_per_second() / direct.calls_per_second()
                    ),
                    signed_millis(percentile(&sorted, 0.50), percentile(&direct_sorted, 0.50)),
                    signed_millis(percentile(&sorted, 0.99), percentile(&direct_sorted, 0.99)),
                ),
            };
            let _ = writeln!(
                table,
                "| {sessions} | {} | {} | {:.0} | {ratio} | {} | {} | {} | {added_p50} | \
                 {added_p99} |",
                mode.name(),
                sorted.len(),
                mode_measured.calls_per_second(),
                millis(percentile(&sorted, 0.50)),
                millis(percentile(&sorted, 0.99)),
                millis(percentile(&sorted, 0.999)),
            );
        }
    }
    table
}

/// CPU time per call, split by who spent it.
fn cpu_table(modes: &[Mode<'_>], results: &Results) -> String {
    let mut table = String::from(
        "CPU time per call (from `/proc`, 10 ms resolution per phase): the upstream \
         processes, the load generator's client threads, and the rest of this process — in \
         the airlock modes, the airlock server (HTTP, aggregator, guard, gateway, audit \
         writer).\n\n\
         | sessions | mode | upstream (node) | clients | airlock | total | CPU-bound ceiling on \
         2 cores |\n|---:|---|---:|---:|---:|---:|---:|\n",
    );
    for (sessions, measured) in results {
        for (mode, mode_measured) in modes.iter().zip(measured) {
            let calls = mode_measured.latencies.len().max(1) as f64;
            let per_call = |seconds: f64| seconds / calls * 1e6;
            let cpu = mode_measured.cpu;
            let total = cpu.upstream + cpu.clients + cpu.rest_of_process;
            let airlock = match mode {
                Mode::Direct => "–".to_owned(),
                Mode::Airlock { .. } => format!("{:.0} µs", per_call(cpu.rest_of_process)),
            };
            let _ = writeln!(
                table,
                "| {sessions} | {} | {:.0} µs | {:.0} µs | {airlock} | {:.0} µs | {:.0} calls/s |",
                mode.name(),
                per_call(cpu.upstream),
                per_call(cpu.clients),
                per_call(total),
                2.0 / (total / calls),
            );
        }
    }
    table
}

/// The targets against the best throughput and the added p99.
fn verdict(modes: &[Mode<'_>], results: &Results) -> String {
    let mut text = String::new();
    for (index, mode) in modes.iter().enumerate().skip(1) {
        let (best_sessions, best) = results
            .iter()
            .map(|(sessions, measured)| (*sessions, measured[index].calls_per_second()))
            .fold(
                (0, 0.0),
                |best, this| if this.1 > best.1 { this } else { best },
            );
        let worst_added_p99 = results
            .iter()
            .map(|(sessions, measured)| {
                let p99 = percentile(&measured[index].sorted(), 0.99);
                let direct = percentile(&measured[0].sorted(), 0.99);
                (*sessions, p99.saturating_sub(direct))
            })
            .fold((0, Duration::ZERO), |worst, this| {
                if this.1 > worst.1 { this } else { worst }
            });
        let single = results
            .iter()
            .find(|(sessions, _)| *sessions == 1)
            .map(|(_, measured)| {
                percentile(&measured[index].sorted(), 0.99)
                    .saturating_sub(percentile(&measured[0].sorted(), 0.99))
            });
        let _ = writeln!(
            text,
            "- {}: best {best:.0} calls/s ({best_sessions} sessions) — target ≥ {:.0}: {}; \
             added p99 {} at 1 session, at most {} ({} sessions) — target ≤ {}: {}",
            mode.name(),
            TARGET_CALLS_PER_SECOND,
            if best >= TARGET_CALLS_PER_SECOND {
                "met"
            } else {
                "**not met**"
            },
            single.map_or("–".to_owned(), millis),
            millis(worst_added_p99.1),
            worst_added_p99.0,
            millis(TARGET_ADDED_P99),
            match single {
                Some(added)
                    if added <= TARGET_ADDED_P99 && worst_added_p99.1 <= TARGET_ADDED_P99 =>
                    "met at every session count",
                Some(added) if added <= TARGET_ADDED_P99 => "met at 1 session, **not under load**",
                _ => "**not met**",
            },
        );
    }
    text
}

/// `tests/node/node_modules/.bin/PROGRAM` (or under `$AIRLOCK_TEST_NODE_MODULES`).
fn npm_server(program: &str) -> String {
    let modules = std::env::var_os("AIRLOCK_TEST_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/node/node_modules")
        });
    let program = modules.join(".bin").join(program);
    assert!(
        program.exists(),
        "this benchmark needs {}: run `npm ci --prefix tests/node` first",
        program.display()
    );
    program
        .canonicalize()
        .unwrap_or(program)
        .display()
        .to_string()
}

/// `MESSAGES` different ~4 KB windows of typical text: benign records of the shared
/// injection dataset, as the detection benchmarks use (a built-in paragraph when the data
/// set is absent).
fn typical_messages() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/injection.jsonl");
    let mut text = String::new();
    match std::fs::read_to_string(&path) {
        Ok(data) => {
            for line in data.lines() {
                let record: Value = serde_json::from_str(line).expect("valid jsonl");
                if record["label"] == 0 {
                    text.push_str(record["text"].as_str().unwrap_or_default());
                    text.push('\n');
                    if text.len() >= MESSAGE_BYTES * (MESSAGES + 1) {
                        break;
                    }
                }
            }
        }
        Err(err) => eprintln!(
            "{} not readable ({err}); using a built-in paragraph",
            path.display()
        ),
    }
    if text.len() < MESSAGE_BYTES * (MESSAGES + 1) {
        let paragraph = "The quarterly report covers revenue, hiring and the migration of the \
                         billing service to the new cluster. Each team lead summarises what \
                         shipped, what slipped and why, and what the next quarter needs.\n";
        while text.len() < MESSAGE_BYTES * (MESSAGES + 1) {
            text.push_str(paragraph);
        }
    }
    let step = (text.len() - MESSAGE_BYTES) / MESSAGES;
    (0..MESSAGES)
        .map(|i| {
            let mut start = i * step;
            while !text.is_char_boundary(start) {
                start += 1;
            }
            let mut end = (start + MESSAGE_BYTES).min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text[start..end].to_owned()
        })
        .collect()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|line| line.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// `<target>/bench-reports/mcp_http.md`: the bench binary is `<target>/release/deps/…`.
fn report_path() -> PathBuf {
    let target = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_owned()))
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("bench-reports/mcp_http.md")
}
