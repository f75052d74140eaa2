//! `POST /v1/authorize` latency: in-process `Gateway::authorize` and the HTTP round trip on
//! loopback at a fixed offered load (default 1,000 requests/s), side by side in one run, with
//! the built-in policy pack and a real SQLite audit log (every answer waits for its durable
//! audit record), once per `[audit] durability` level. Prints a markdown table for
//! docs/BENCHMARKS.md.
//!
//! Run: `cargo bench -p airlock-server --bench http_authorize [-- RPS SECONDS]`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use airlock_core::Principal;
use airlock_gateway::{AuthorizeRequest, ConfigSource, Gateway};
use serde_json::json;

const CONNECTIONS: usize = 8;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn row(durability: &str, name: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "| {durability} | {name} | {} | {:.0} µs | {:.0} µs | {:.0} µs |",
        times.len(),
        percentile(&times, 0.50).as_secs_f64() * 1e6,
        percentile(&times, 0.99).as_secs_f64() * 1e6,
        percentile(&times, 0.999).as_secs_f64() * 1e6,
    );
}

/// One keep-alive HTTP/1.1 request; returns when the whole answer is read.
fn post(stream: &mut BufReader<TcpStream>, address: SocketAddr, body: &str) {
    let request = format!(
        "POST /v1/authorize HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .get_mut()
        .write_all(request.as_bytes())
        .expect("send");
    let mut length = 0;
    let mut line = String::new();
    loop {
        line.clear();
        stream.read_line(&mut line).expect("read header");
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().expect("length");
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut answer = vec![0; length];
    stream.read_exact(&mut answer).expect("read body");
    assert!(
        answer.starts_with(b"{\"decision\""),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

fn main() {
    let numbers: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|arg| arg.parse().ok())
        .collect();
    let rps = numbers.first().copied().unwrap_or(1_000);
    let seconds = numbers.get(1).copied().unwrap_or(5);

    println!("| audit durability | path | requests | p50 | p99 | p99.9 |");
    println!("|---|---|---:|---:|---:|---:|");
    for durability in ["power_loss", "process_crash"] {
        let (in_process, over_http) = measure(durability, rps, seconds);
        row(
            durability,
            "in-process `Gateway::authorize` (sequential)",
            in_process,
        );
        row(
            durability,
            &format!("HTTP round trip at {rps} req/s offered"),
            over_http,
        );
    }
}

/// Both measurements with the audit log at `durability`.
fn measure(durability: &str, rps: u64, seconds: u64) -> (Vec<Duration>, Vec<Duration>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("airlock.toml");
    std::fs::write(
        &config,
        format!(
            "[audit]\npath = \"{}\"\ndurability = \"{durability}\"\n\
             [tools.send_report]\nlabels = [\"egress\"]\n",
            dir.path().join("audit.db").display()
        ),
    )
    .expect("write config");
    let gateway = Arc::new(Gateway::start(ConfigSource::File(config)).expect("gateway"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let request = |i: u64| AuthorizeRequest {
        session: Some(format!("bench-{}", i % 64)),
        tool: if i.is_multiple_of(4) {
            "send_report"
        } else {
            "read_file"
        }
        .to_owned(),
        server: None,
        arguments: json!({"path": format!("/srv/data/{i}.csv"), "note": "quarterly numbers"}),
        invalid_because: None,
    };

    // In-process: the gateway call alone (scan, session, policy, durable audit append).
    let principal = Principal::default();
    let in_process: Vec<Duration> = runtime.block_on(async {
        let mut times = Vec::new();
        for i in 0..2_000 {
            let started = Instant::now();
            gateway
                .authorize(&principal, &request(i))
                .await
                .expect("authorize");
            times.push(started.elapsed());
        }
        times
    });

    // Over HTTP at a fixed offered load, CONNECTIONS keep-alive clients each on its own
    // schedule; latency is measured from the scheduled send time, so a stall is not hidden by
    // the client waiting (no coordinated omission).
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let served = Arc::clone(&gateway);
    runtime.spawn(
        async move { airlock_server::serve(served, listener, std::future::pending()).await },
    );
    let per_connection = Duration::from_secs_f64(CONNECTIONS as f64 / rps as f64);
    let count = rps * seconds / CONNECTIONS as u64;
    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|c| {
            std::thread::spawn(move || {
                let stream = TcpStream::connect(address).expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                let mut stream = BufReader::new(stream);
                let start = Instant::now() + Duration::from_millis(50);
                let mut times = Vec::new();
                for i in 0..count {
                    let due = start + per_connection.mul_f64(i as f64 + c as f64 / CONNECTIONS as f64);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let body = serde_json::to_string(&json!({
                        "session": format!("http-{c}"),
                        "tool": if i % 4 == 0 { "send_report" } else { "read_file" },
                        "arguments": {"path": format!("/srv/data/{i}.csv"), "note": "quarterly numbers"},
                    }))
                    .expect("json");
                    post(&mut stream, address, &body);
                    times.push(due.elapsed());
                }
                times
            })
        })
        .collect();
    let over_http: Vec<Duration> = clients
        .into_iter()
        .flat_map(|client| client.join().expect("client"))
        .collect();

    (in_process, over_http)
}
