//! Latency that `airlock mcp wrap` adds to a `tools/call` over stdio, against a direct
//! connection to the same kind of server, side by side in one run.
//!
//! The server is the real `@modelcontextprotocol/server-everything` (`npm ci --prefix
//! tests/node`). Three client sessions are open at once, each to its own server process:
//! one direct, and two through [`airlock_mcp::wrap`] in-process (the client side on
//! `tokio::io::duplex` pipes), one per `[audit] durability` level, each with its own SQLite
//! audit log in a temp dir. Calls are interleaved one by one across the three sessions, in a
//! rotating order, so that load on the shared machine hits every mode alike. Every proxied
//! `tools/call` makes two durable audit records: the call's decision and the result's.
//!
//! Workloads: `echo` with a ~4 KB message of typical text (the arguments and the result are
//! both scanned), and `get-sum` (two numbers: the fixed cost of a call). A last phase times
//! the gateway calls the guard makes, in-process, to show where the added time goes.
//!
//! Prints markdown tables and writes them to `<target>/bench-reports/mcp_stdio.md`.
//!
//! Run: `cargo bench -p airlock-mcp --bench stdio_relay [-- CALLS [WARMUP] [WORKLOAD]]`
//! (default 2000 measured calls per mode and workload after 200 warm-up calls; `WORKLOAD`,
//! `echo` or `get-sum`, runs only that one and skips the in-process phase, e.g. under a
//! profiler).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use airlock_core::{Event, EventKind, Principal};
use airlock_gateway::{AuthorizeRequest, ConfigSource, Gateway, InspectRequest};
use airlock_mcp::{GuardSettings, McpGuard, PinStore, UpstreamCommand};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

/// The target: added latency per `tools/call`, p50.
const TARGET_ADDED_P50: Duration = Duration::from_micros(300);
/// The upstream's name in policies and the audit log.
const UPSTREAM: &str = "everything";
/// Size of the `echo` message.
const MESSAGE_BYTES: usize = 4096;
/// How many different messages the `echo` calls cycle through.
const MESSAGES: usize = 64;

fn main() {
    let numbers: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|arg| arg.parse().ok())
        .collect();
    let calls = numbers.first().copied().unwrap_or(2_000);
    let warmup = numbers.get(1).copied().unwrap_or(200);
    let only_workload = std::env::args()
        .skip(1)
        .find(|arg| arg.parse::<usize>().is_err() && !arg.starts_with('-'));

    let server = server_everything();
    let messages = typical_messages();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        // As `airlock mcp wrap` runs.
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    let mut report = String::new();
    let load_before = load_average();
    let started = Instant::now();
    let (relay_tables, breakdown) = runtime.block_on(async {
        let mut sessions = vec![
            Session::direct("direct", &server).await,
            Session::proxied("airlock, power_loss", "power_loss", &server).await,
            Session::proxied("airlock, process_crash", "process_crash", &server).await,
        ];
        let echo = |i: usize| {
            json!({ "name": "echo", "arguments": { "message": messages[i % messages.len()] } })
        };
        let sum = |i: usize| json!({ "name": "get-sum", "arguments": { "a": i, "b": 2 } });
        let mut tables = Vec::new();
        for (workload, params) in [
            (
                format!("echo, {MESSAGE_BYTES}-byte message"),
                &echo as &dyn Fn(usize) -> Value,
            ),
            ("get-sum".to_owned(), &sum as &dyn Fn(usize) -> Value),
        ] {
            if only_workload
                .as_deref()
                .is_some_and(|only| !workload.starts_with(only))
            {
                continue;
            }
            let times = interleaved_calls(&mut sessions, params, calls, warmup).await;
            tables.push((workload, times));
        }
        let gateways: Vec<(&str, Arc<Gateway>)> = sessions
            .iter()
            .filter_map(|session| Some((session.durability?, Arc::clone(session.gateway.as_ref()?))))
            .collect();
        // With one workload picked (profiling the relay), the in-process phase would mix
        // both workloads into the profile.
        let breakdown = match only_workload {
            Some(_) => "skipped: one workload was picked\n".to_owned(),
            None => gateway_breakdown(&gateways, &messages, calls, warmup).await,
        };
        for session in sessions {
            session.close().await;
        }
        (tables, breakdown)
    });
    let load_after = load_average();

    let _ = writeln!(
        report,
        "# MCP stdio relay: added latency per `tools/call`\n\n\
         `cargo bench -p airlock-mcp --bench stdio_relay` — {calls} calls per mode and workload \
         after {warmup} warm-up calls, interleaved one by one across the modes; {} CPU(s); load \
         average {load_before} before, {load_after} after; {:.0} s.\n",
        std::thread::available_parallelism().map_or(0, usize::from),
        started.elapsed().as_secs_f64(),
    );
    for (workload, times) in &relay_tables {
        let _ = writeln!(report, "## `tools/call` {workload}\n");
        report.push_str(&relay_table(times));
        report.push('\n');
    }
    let _ = writeln!(
        report,
        "## Gateway calls the guard makes per `tools/call`, in-process\n\n\
         The same gateways, called directly (sequential, {calls} each after {warmup} warm-up, \
         interleaved across the two durability levels).\n"
    );
    report.push_str(&breakdown);

    print!("{report}");
    let path = report_path();
    match std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))
        .and_then(|()| std::fs::write(&path, &report))
    {
        Ok(()) => println!("\nreport written to {}", path.display()),
        Err(err) => eprintln!("cannot write the report to {}: {err}", path.display()),
    }
}

/// One client session: the client's ends of a newline-delimited JSON-RPC connection.
struct Session {
    name: &'static str,
    durability: Option<&'static str>,
    gateway: Option<Arc<Gateway>>,
    writer: Box<dyn AsyncWrite + Unpin + Send>,
    reader: BufReader<Box<dyn AsyncRead + Unpin + Send>>,
    next_id: u64,
    line: String,
    /// The direct server, or the relay task (which owns its server).
    peer: Peer,
    /// Holds the audit log and pin file of a proxied session.
    _dir: Option<tempfile::TempDir>,
}

enum Peer {
    Direct(tokio::process::Child),
    Relay(tokio::task::JoinHandle<Result<std::process::ExitStatus, airlock_mcp::StdioError>>),
}

impl Session {
    /// Straight to a server of its own.
    async fn direct(name: &'static str, server: &UpstreamCommand) -> Session {
        let mut child = tokio::process::Command::new(&server.program)
            .args(&server.args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start server-everything");
        let writer = child.stdin.take().expect("piped stdin");
        let reader = child.stdout.take().expect("piped stdout");
        let mut session = Session {
            name,
            durability: None,
            gateway: None,
            writer: Box::new(writer),
            reader: BufReader::new(Box::new(reader)),
            next_id: 0,
            line: String::new(),
            peer: Peer::Direct(child),
            _dir: None,
        };
        session.handshake().await;
        session
    }

    /// Through `airlock_mcp::wrap`, with a gateway whose audit log is at `durability`.
    async fn proxied(
        name: &'static str,
        durability: &'static str,
        server: &UpstreamCommand,
    ) -> Session {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("airlock.toml");
        std::fs::write(
            &config,
            format!(
                "[audit]\npath = \"{}\"\ndurability = \"{durability}\"\n\n\
                 [mcp]\npins_file = \"{}\"\n",
                dir.path().join("audit.db").display(),
                dir.path().join("pins.json").display(),
            ),
        )
        .expect("write airlock.toml");
        let gateway = Arc::new(Gateway::start(ConfigSource::File(config)).expect("gateway"));
        let settings = gateway.mcp_settings();
        let pins = Arc::new(PinStore::open(&settings.pins_file).expect("pin store"));
        let guard = McpGuard::new(
            Arc::clone(&gateway),
            pins,
            GuardSettings {
                upstream: UPSTREAM.to_owned(),
                principal: Principal {
                    agent: Some(settings.agent.clone()),
                    origin: Some("mcp-stdio".to_owned()),
                    ..Principal::default()
                },
                session: format!("bench-{durability}"),
                pinning: settings.pinning,
                path_base: dir.path().to_owned(),
                home: None,
            },
        );
        let (client_writer, relay_in) = tokio::io::duplex(1 << 16);
        let (relay_out, client_reader) = tokio::io::duplex(1 << 16);
        let upstream = server.clone();
        let relay = tokio::spawn(async move {
            airlock_mcp::wrap(
                guard,
                &upstream,
                BufReader::new(relay_in),
                relay_out,
                settings.max_message_bytes,
            )
            .await
        });
        let mut session = Session {
            name,
            durability: Some(durability),
            gateway: Some(gateway),
            writer: Box::new(client_writer),
            reader: BufReader::new(Box::new(client_reader)),
            next_id: 0,
            line: String::new(),
            peer: Peer::Relay(relay),
            _dir: Some(dir),
        };
        session.handshake().await;
        session
    }

    async fn handshake(&mut self) {
        self.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": { "name": "airlock-bench", "version": "0" },
            }),
        )
        .await;
        self.send(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))
            .await;
        let tools = self.request("tools/list", json!({})).await;
        for wanted in ["echo", "get-sum"] {
            assert!(
                tools["result"]["tools"]
                    .as_array()
                    .is_some_and(|tools| tools.iter().any(|tool| tool["name"] == wanted)),
                "{}: `{wanted}` is not listed: {tools}",
                self.name
            );
        }
    }

    async fn send(&mut self, message: &Value) {
        let mut line = message.to_string();
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .await
            .expect("write to the server");
        self.writer.flush().await.expect("flush to the server");
    }

    /// Sends a request and reads until its answer (skipping notifications and the like).
    async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))
            .await;
        loop {
            self.line.clear();
            let read = self
                .reader
                .read_line(&mut self.line)
                .await
                .expect("read from the server");
            assert!(read > 0, "{}: the server closed its output", self.name);
            let message: Value = serde_json::from_str(&self.line).expect("a JSON-RPC line");
            if message["id"] == id {
                return message;
            }
        }
    }

    /// One timed `tools/call`; checks the answer is the tool's own, unrefused.
    async fn call(&mut self, params: Value) -> Duration {
        let started = Instant::now();
        let answer = self.request("tools/call", params).await;
        let elapsed = started.elapsed();
        let text = answer["result"]["content"][0]["text"].as_str();
        assert!(
            answer["result"]["isError"] != true
                && text
                    .is_some_and(|text| text.starts_with("Echo: ") || text.starts_with("The sum")),
            "{}: the call did not come back as the tool's answer: {answer}",
            self.name
        );
        elapsed
    }

    async fn close(self) {
        drop(self.writer);
        match self.peer {
            Peer::Direct(mut child) => {
                let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
            }
            Peer::Relay(relay) => {
                let _ = tokio::time::timeout(Duration::from_secs(5), relay).await;
            }
        }
    }
}

/// `calls` timed calls per session after `warmup` untimed ones; one call per session in
/// turn, the order rotating every round.
async fn interleaved_calls(
    sessions: &mut [Session],
    params: &dyn Fn(usize) -> Value,
    calls: usize,
    warmup: usize,
) -> Vec<(&'static str, Vec<Duration>)> {
    let mut times: Vec<Vec<Duration>> =
        sessions.iter().map(|_| Vec::with_capacity(calls)).collect();
    for round in 0..warmup + calls {
        for turn in 0..sessions.len() {
            let which = (round + turn) % sessions.len();
            let elapsed = sessions[which].call(params(round)).await;
            if round >= warmup {
                times[which].push(elapsed);
            }
        }
    }
    sessions
        .iter()
        .map(|session| session.name)
        .zip(times)
        .collect()
}

/// The gateway calls behind one proxied `tools/call`, timed alone: the call's authorization
/// and its result's inspection, for both workloads.
async fn gateway_breakdown(
    gateways: &[(&str, Arc<Gateway>)],
    messages: &[String],
    calls: usize,
    warmup: usize,
) -> String {
    let principal = Principal {
        agent: gateways
            .first()
            .map(|(_, gateway)| gateway.mcp_settings().agent),
        origin: Some("mcp-stdio".to_owned()),
        ..Principal::default()
    };
    let authorize = |tool: &str, arguments: Value| AuthorizeRequest {
        session: Some("bench-breakdown".to_owned()),
        tool: tool.to_owned(),
        server: Some(UPSTREAM.to_owned()),
        arguments,
        invalid_because: None,
    };
    let inspect = |tool: &str, content: String| InspectRequest {
        session: Some("bench-breakdown".to_owned()),
        event: Event {
            kind: EventKind::ToolResult,
            content,
            source: Some(tool.to_owned()),
            trust: None,
        },
        tool: Some(tool.to_owned()),
        call_id: Some(format!("{UPSTREAM}:1")),
        server: Some(UPSTREAM.to_owned()),
        upstream_latency_us: Some(1_000),
    };
    let steps = [
        "`Gateway::authorize` echo, 4 KB arguments",
        "`Gateway::authorize` get-sum",
        "`Gateway::inspect` echo, 4 KB result",
        "`Gateway::inspect` get-sum result",
    ];
    let mut times = vec![vec![Vec::with_capacity(calls); steps.len()]; gateways.len()];
    for round in 0..warmup + calls {
        let message = &messages[round % messages.len()];
        for turn in 0..gateways.len() {
            let which = (round + turn) % gateways.len();
            let gateway = &gateways[which].1;
            for (step, step_times) in times[which].iter_mut().enumerate() {
                // Requests are built before the clock starts, as the guard has its own.
                let (authorize_request, inspect_request) = match step {
                    0 => (Some(authorize("echo", json!({ "message": message }))), None),
                    1 => (
                        Some(authorize("get-sum", json!({ "a": round, "b": 2 }))),
                        None,
                    ),
                    2 => (None, Some(inspect("echo", format!("Echo: {message}\n")))),
                    _ => (
                        None,
                        Some(inspect(
                            "get-sum",
                            format!("The sum of {round} and 2 is {}.\n", round + 2),
                        )),
                    ),
                };
                let started = Instant::now();
                if let Some(request) = &authorize_request {
                    gateway
                        .authorize(&principal, request)
                        .await
                        .expect("authorize");
                }
                if let Some(request) = &inspect_request {
                    gateway.inspect(&principal, request).await.expect("inspect");
                }
                let elapsed = started.elapsed();
                if round >= warmup {
                    step_times.push(elapsed);
                }
            }
        }
    }
    let mut table = String::from(
        "| audit durability | gateway call | p50 | p90 | p99 |\n|---|---|---:|---:|---:|\n",
    );
    for ((durability, _), per_step) in gateways.iter().zip(times) {
        for (step, mut step_times) in steps.iter().zip(per_step) {
            step_times.sort();
            let _ = writeln!(
                table,
                "| {durability} | {step} | {} | {} | {} |",
                micros(percentile(&step_times, 0.50)),
                micros(percentile(&step_times, 0.90)),
                micros(percentile(&step_times, 0.99)),
            );
        }
    }
    table
}

/// p50/p90/p99 per mode, and what each proxied mode adds over the direct one.
fn relay_table(times: &[(&str, Vec<Duration>)]) -> String {
    let sorted: Vec<(&str, Vec<Duration>)> = times
        .iter()
        .map(|(name, times)| {
            let mut times = times.clone();
            times.sort();
            (*name, times)
        })
        .collect();
    let direct = &sorted[0].1;
    let mut table = String::from(
        "| mode | calls | p50 | p90 | p99 | added p50 | added p99 | median of paired differences | target: added p50 ≤ 0.3 ms |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for (index, (name, mode_times)) in sorted.iter().enumerate() {
        let (p50, p90, p99) = (
            percentile(mode_times, 0.50),
            percentile(mode_times, 0.90),
            percentile(mode_times, 0.99),
        );
        let (added_p50, added_p99, paired, verdict) = if index == 0 {
            (
                "–".to_owned(),
                "–".to_owned(),
                "–".to_owned(),
                "–".to_owned(),
            )
        } else {
            let added_p50 = signed_micros(p50, percentile(direct, 0.50));
            let met = p50.saturating_sub(percentile(direct, 0.50)) <= TARGET_ADDED_P50;
            // Call i of this mode and call i of the direct mode ran in the same round.
            let mut differences: Vec<f64> = times[index]
                .1
                .iter()
                .zip(&times[0].1)
                .map(|(proxied, direct)| proxied.as_secs_f64() - direct.as_secs_f64())
                .collect();
            differences.sort_by(f64::total_cmp);
            let paired = differences[(differences.len() - 1) / 2] * 1e3;
            (
                added_p50,
                signed_micros(p99, percentile(direct, 0.99)),
                format!("{paired:+.3} ms"),
                if met { "met" } else { "**not met**" }.to_owned(),
            )
        };
        let _ = writeln!(
            table,
            "| {name} | {} | {} | {} | {} | {added_p50} | {added_p99} | {paired} | {verdict} |",
            mode_times.len(),
            micros(p50),
            micros(p90),
            micros(p99),
        );
    }
    table
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn micros(duration: Duration) -> String {
    format!("{:.3} ms", duration.as_secs_f64() * 1e3)
}

fn signed_micros(a: Duration, b: Duration) -> String {
    format!("{:+.3} ms", (a.as_secs_f64() - b.as_secs_f64()) * 1e3)
}

/// `tests/node/node_modules/.bin/mcp-server-everything stdio` (or under
/// `$AIRLOCK_TEST_NODE_MODULES`).
fn server_everything() -> UpstreamCommand {
    let modules = std::env::var_os("AIRLOCK_TEST_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/node/node_modules")
        });
    let program = modules.join(".bin/mcp-server-everything");
    assert!(
        program.exists(),
        "this benchmark needs {}: run `npm ci --prefix tests/node` first",
        program.display()
    );
    UpstreamCommand::new(program, vec!["stdio".into()])
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

/// `<target>/bench-reports/mcp_stdio.md`: the bench binary is `<target>/release/deps/…`.
fn report_path() -> PathBuf {
    let target = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_owned()))
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("bench-reports/mcp_stdio.md")
}
