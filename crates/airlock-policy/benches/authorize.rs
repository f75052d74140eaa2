//! `authorize` latency with the built-in pack plus 100 generated policies (target: p99 ≤
//! 200 µs). Criterion reports mean/median; the p50/p99 lines come from a separate timed loop
//! printed before the criterion runs, since criterion does not report percentiles.
//!
//! The engine remembers the last decision per principal, tool and action with its context, so
//! a request repeated as is measures the remembered path. Each "decided" measurement alternates
//! two requests whose declared arguments differ, so that every one is evaluated by Cedar; the
//! "remembered" one repeats a request.

#![allow(clippy::unwrap_used)]

use std::time::Instant;

use airlock_core::{AuthStrength, Category, Finding, Principal, Severity, Span};
use airlock_policy::snapshot::builtin_sources;
use airlock_policy::{PolicyEngine, PolicySnapshot, RawPolicyConfig, Request, SessionSnapshot};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

const NOW: i64 = 1_800_000_000;

fn engine(extra_policies: usize) -> PolicyEngine {
    let raw: RawPolicyConfig = toml::from_str(
        r#"
        [agents.support-bot]
        roles = ["support_agent"]
        [tools.crm_get_customer]
        labels = ["private", "customer_data"]
        tenant_argument = "tenant"
        region_argument = "region"
        arguments = { customer_id = "String", tenant = "String", region = "String" }
        [tools.http_post]
        labels = ["egress"]
        arguments = { url = "String", body = "String" }
        "#,
    )
    .unwrap();
    let config = raw.validate().unwrap();
    // 100 extra policies of the shapes deployments write: per-tool permits with argument
    // conditions, per-role forbids, time windows.
    let mut extra = String::new();
    for i in 0..extra_policies {
        match i % 4 {
            0 => extra.push_str(&format!(
                "@id(\"gen.{i}\") permit(principal in Role::\"team{i}\", action == Action::\"call_tool\", resource == Tool::\"tool{i}\");\n"
            )),
            1 => extra.push_str(&format!(
                "@id(\"gen.{i}\") forbid(principal, action == Action::\"call_tool\", resource) when {{ context.arguments has url && context.arguments.url like \"*blocked{i}.example*\" }};\n"
            )),
            2 => extra.push_str(&format!(
                "@id(\"gen.{i}\") @outcome(\"require_approval\") forbid(principal in Role::\"intern{i}\", action == Action::\"call_tool\", resource) when {{ context.time.hour < 8 || context.time.hour > 18 }};\n"
            )),
            _ => extra.push_str(&format!(
                "@id(\"gen.{i}\") permit(principal, action == Action::\"call_tool\", resource) when {{ resource.labels.contains(\"label{i}\") && context.session.call_count < 100 }};\n"
            )),
        }
    }
    let mut sources = builtin_sources(config.trifecta);
    sources.push(("generated.cedar".to_owned(), extra));
    let snapshot = PolicySnapshot::from_sources(config, &sources)
        .unwrap_or_else(|problems| panic!("generated policies do not validate: {problems:?}"));
    assert!(
        snapshot.policies().len() > extra_policies,
        "generated policies did not load"
    );
    PolicyEngine::new(snapshot)
}

fn support_request() -> Request {
    let principal = Principal {
        agent: Some("support-bot".into()),
        user: Some("ana".into()),
        roles: vec!["support_agent".into()],
        tenant: Some("acme/eu".into()),
        auth: AuthStrength {
            acr: Some("urn:airlock:mfa".into()),
            amr: vec!["pwd".into(), "otp".into()],
            auth_time: Some(NOW - 120),
        },
        ..Principal::default()
    };
    let mut request = Request::call_tool(
        principal,
        "crm_get_customer",
        json!({"customer_id": "c-17", "tenant": "acme", "region": "eu"}),
    );
    request.now = NOW;
    request
}

fn egress_request() -> Request {
    let mut request = Request::call_tool(
        Principal {
            agent: Some("copilot".into()),
            roles: vec!["coding_assistant".into()],
            ..Principal::default()
        },
        "http_post",
        json!({"url": "https://hooks.example/x", "body": "x".repeat(2000)}),
    );
    request.now = NOW;
    request.session = SessionSnapshot {
        taint: ["untrusted_content".to_owned(), "private_data".to_owned()].into(),
        call_count: 12,
        ..SessionSnapshot::default()
    };
    request.findings = vec![Finding {
        detector: "shell".into(),
        rule: "curl_pipe_shell".into(),
        category: Category::DangerousCommand,
        severity: Severity::High,
        score: 0.9,
        span: Span::new(0, 4),
        excerpt: String::new(),
        message: String::new(),
        via: vec![],
    }];
    request
}

/// `request` and a twin whose `customer_id` or `url` differs: a context the engine has not
/// just decided.
fn alternating(request: Request) -> [Request; 2] {
    let mut twin = request.clone();
    if let Some(arguments) = twin.arguments.as_object_mut() {
        for key in ["customer_id", "url"] {
            if let Some(serde_json::Value::String(value)) = arguments.get_mut(key) {
                value.push_str("-twin");
            }
        }
    }
    assert_ne!(twin.arguments, request.arguments, "the twin must differ");
    [request, twin]
}

/// p50/p99 of `authorize` over `requests` in turn.
fn percentiles(engine: &PolicyEngine, name: &str, requests: &[Request]) {
    let mut samples = Vec::with_capacity(5000);
    for i in 0..5000 {
        let request = &requests[i % requests.len()];
        let start = Instant::now();
        std::hint::black_box(engine.authorize(std::hint::black_box(request)));
        samples.push(start.elapsed().as_nanos());
    }
    samples.sort_unstable();
    let p = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize] as f64 / 1000.0;
    println!(
        "{name}: p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs ({} policies)",
        p(0.5),
        p(0.99),
        p(1.0),
        engine.snapshot().policies().len()
    );
}

fn bench(c: &mut Criterion) {
    let engine = engine(100);
    let support = alternating(support_request());
    let egress = alternating(egress_request());
    // The built-in pack alone shows the fixed cost (entities, context) against the cost per
    // policy evaluated.
    percentiles(
        &self::engine(0),
        "authorize/support_read builtin only, decided",
        &support,
    );
    percentiles(&engine, "authorize/support_read, decided", &support);
    percentiles(&engine, "authorize/support_read, remembered", &support[..1]);
    percentiles(&engine, "authorize/tainted_egress, decided", &egress);
    for (name, requests) in [
        ("authorize/support_read", &support),
        ("authorize/tainted_egress", &egress),
    ] {
        let mut turn = 0;
        c.bench_function(name, |b| {
            b.iter(|| {
                turn += 1;
                engine.authorize(&requests[turn % 2])
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
