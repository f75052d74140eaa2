//! Export for SIEMs: JSON Lines of [`AuditRecord`]s, or OCSF events.
//!
//! # OCSF mapping (OCSF 1.3, class "API Activity", `class_uid` 6003, category 6 "Application
//! Activity")
//!
//! | OCSF field | from |
//! |---|---|
//! | `time` | record time as Unix milliseconds; `time_dt` keeps the RFC 3339 text |
//! | `activity_id` / `activity_name` | 99 "Other" with the event kind (`tool_call`, `prompt`, …): an agent action is none of Create/Read/Update/Delete |
//! | `type_uid` | `600399` (class × 100 + activity) |
//! | `actor.user` | `principal.user` as `name`/`uid`, `principal.groups` as `groups[].name` |
//! | `actor.app_name` | `principal.agent` |
//! | `actor.session.uid` | the session id |
//! | `api.operation` | the tool name, else the event kind; `api.service.name` is `airlock` |
//! | `dst_endpoint.name` | `context.upstream`, the configured name of the upstream (MCP server or model API) the action was sent to; absent when the record has none |
//! | `duration` | `context.upstream_latency_us` in whole milliseconds, rounded to nearest (OCSF `duration` is an integer of ms); absent when the record has none |
//! | `status_id` / `status` | 1 "Success" when the outcome proceeds (allow, redact), else 2 "Failure" |
//! | `disposition_id` / `disposition` | allow → 1 Allowed, deny → 2 Blocked, redact → 11 Corrected, require_approval → 14 Delayed, step_up → 23 Challenge |
//! | `message` | the decision's reasons joined with `; ` |
//! | `severity_id` / `severity` | the highest finding severity (info 1 … critical 5), 1 Informational when none |
//! | `metadata` | `product.name`/`vendor_name` `airlock`, `product.version`, `version` `1.3.0`, `uid` the record hash, `sequence` the sequence number, `log_name` `airlock-audit` |
//! | `unmapped` | everything else: `sequence`, `prev_hash`, `hash`, `arguments` (redacted), `arguments_fingerprint`, `findings`, `policy_ids`, `outcome`, `roles`, `tenant`, `origin`, `auth`, and `upstream_latency_us` (the exact latency) when there is one |
//!
//! Why `dst_endpoint` for the upstream: `api.service` is the service that handled the API call,
//! and that is airlock, which made the decision; the upstream is where the call was forwarded,
//! which OCSF's API Activity class describes as its destination endpoint. `name` rather than
//! `hostname` because airlock logs the upstream's configured name, not an address. Records
//! without a context get neither field, so their events are the same as before.

use std::io::Write;

use airlock_core::{Outcome, Severity};
use serde_json::{Value, json};

use crate::AuditError;
use crate::log::AuditReader;
use crate::record::AuditRecord;
use crate::time::parse_rfc3339_millis;

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One [`AuditRecord`] as JSON per line.
    Jsonl,
    /// One OCSF API Activity event as JSON per line.
    Ocsf,
}

/// Writes every record of `reader` to `out` in `format`, one JSON document per line, and
/// returns how many were written.
pub fn export(
    reader: &mut AuditReader,
    format: ExportFormat,
    out: &mut dyn Write,
) -> Result<u64, AuditError> {
    let mut written = 0;
    reader.for_each(|record| {
        let line = match format {
            ExportFormat::Jsonl => serde_json::to_string(&record),
            ExportFormat::Ocsf => serde_json::to_string(&to_ocsf(&record)),
        }
        .map_err(|err| AuditError::Export(err.into()))?;
        writeln!(out, "{line}").map_err(AuditError::Export)?;
        written += 1;
        Ok(())
    })?;
    out.flush().map_err(AuditError::Export)?;
    Ok(written)
}

/// The OCSF API Activity event for one record (see the module docs for the mapping).
pub fn to_ocsf(record: &AuditRecord) -> Value {
    let outcome = record.decision.outcome;
    let (disposition_id, disposition) = match outcome {
        Outcome::Allow => (1, "Allowed"),
        Outcome::Deny => (2, "Blocked"),
        Outcome::Redact => (11, "Corrected"),
        Outcome::RequireApproval => (14, "Delayed"),
        Outcome::StepUp => (23, "Challenge"),
    };
    let (status_id, status) = if outcome.proceeds() {
        (1, "Success")
    } else {
        (2, "Failure")
    };
    let top = record.findings.iter().map(|finding| finding.severity).max();
    let (severity_id, severity) = match top {
        None | Some(Severity::Info) => (1, "Informational"),
        Some(Severity::Low) => (2, "Low"),
        Some(Severity::Medium) => (3, "Medium"),
        Some(Severity::High) => (4, "High"),
        Some(Severity::Critical) => (5, "Critical"),
    };
    let principal = &record.principal;
    let mut actor = serde_json::Map::new();
    if principal.user.is_some() || !principal.groups.is_empty() {
        let mut user = serde_json::Map::new();
        if let Some(name) = &principal.user {
            user.insert("name".into(), json!(name));
            user.insert("uid".into(), json!(name));
        }
        if !principal.groups.is_empty() {
            let groups: Vec<Value> = principal
                .groups
                .iter()
                .map(|group| json!({ "name": group }))
                .collect();
            user.insert("groups".into(), Value::Array(groups));
        }
        actor.insert("user".into(), Value::Object(user));
    }
    if let Some(agent) = &principal.agent {
        actor.insert("app_name".into(), json!(agent));
    }
    if let Some(session) = &record.session {
        actor.insert("session".into(), json!({ "uid": session }));
    }
    let operation = record
        .tool
        .clone()
        .unwrap_or_else(|| record.event_kind.as_str().to_owned());
    let mut event = json!({
        "class_uid": 6003,
        "class_name": "API Activity",
        "category_uid": 6,
        "category_name": "Application Activity",
        "activity_id": 99,
        "activity_name": record.event_kind.as_str(),
        "type_uid": 600_399,
        "type_name": "API Activity: Other",
        "time": parse_rfc3339_millis(&record.time),
        "time_dt": record.time,
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status,
        "disposition_id": disposition_id,
        "disposition": disposition,
        "message": record.decision.reasons.join("; "),
        "actor": Value::Object(actor),
        "api": {
            "operation": operation,
            "service": { "name": "airlock" },
        },
        "metadata": {
            "version": "1.3.0",
            "uid": record.hash,
            "sequence": record.sequence,
            "log_name": "airlock-audit",
            "product": {
                "name": "airlock",
                "vendor_name": "airlock",
                "version": env!("CARGO_PKG_VERSION"),
            },
        },
        "unmapped": {
            "sequence": record.sequence,
            "prev_hash": record.prev_hash,
            "hash": record.hash,
            "outcome": outcome.as_str(),
            "policy_ids": record.decision.policy_ids,
            "arguments": record.arguments,
            "arguments_fingerprint": record.arguments_fingerprint,
            "findings": record.findings,
            "roles": principal.roles,
            "tenant": principal.tenant,
            "origin": principal.origin,
            "auth": principal.auth,
        },
    });
    add_context(&mut event, record);
    event
}

/// The record's upstream context, where [`to_ocsf`]'s module docs say.
fn add_context(event: &mut Value, record: &AuditRecord) {
    let Value::Object(fields) = event else {
        return;
    };
    if let Some(upstream) = &record.context.upstream {
        fields.insert("dst_endpoint".into(), json!({ "name": upstream }));
    }
    if let Some(latency_us) = record.context.upstream_latency_us {
        fields.insert(
            "duration".into(),
            json!(latency_us.saturating_add(500) / 1000),
        );
        if let Some(Value::Object(unmapped)) = fields.get_mut("unmapped") {
            unmapped.insert("upstream_latency_us".into(), json!(latency_us));
        }
    }
}
