//! The built-in pack against its YAML cases, and the behaviours around it that the cases
//! cannot express (step-up challenge contents, the trifecta variant switch, reload).

#![allow(clippy::unwrap_used)]

use std::path::Path;

use airlock_core::{AuthStrength, Outcome, Principal};
use airlock_policy::testing::run_case_file;
use airlock_policy::{
    PolicyConfig, PolicyEngine, PolicySnapshot, PolicyStore, RawPolicyConfig, Request,
    SessionSnapshot, ToolRef, TrifectaMode,
};
use serde_json::json;

const NOW: i64 = 1_800_000_000;

fn repo_file(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn config(toml_text: &str) -> PolicyConfig {
    toml::from_str::<RawPolicyConfig>(toml_text)
        .unwrap()
        .validate()
        .unwrap()
}

fn engine(toml_text: &str) -> PolicyEngine {
    PolicyEngine::new(PolicySnapshot::load(config(toml_text)).unwrap())
}

const CRM: &str = r#"
[agents.support-bot]
roles = ["support_agent"]
[tools.crm_get_customer]
labels = ["private", "customer_data"]
tenant_argument = "tenant"
region_argument = "region"
[tools.http_post]
labels = ["egress"]
"#;

fn support(amr: &[&str], auth_time: Option<i64>) -> Principal {
    Principal {
        agent: Some("support-bot".into()),
        user: Some("ana".into()),
        tenant: Some("acme/eu".into()),
        auth: AuthStrength {
            acr: None,
            amr: amr.iter().map(|s| (*s).to_owned()).collect(),
            auth_time,
        },
        ..Principal::default()
    }
}

fn at(mut request: Request) -> Request {
    request.now = NOW;
    request
}

#[test]
fn builtin_yaml_cases_all_pass() {
    let results = run_case_file(&repo_file("policies/tests/builtin.yaml"), None).unwrap();
    assert!(results.len() >= 25, "only {} cases", results.len());
    let failures: Vec<String> = results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| format!("{}: {:?} {:?}", r.name, r.failure, r.decision))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn step_up_names_acr_values_and_max_age() {
    let engine = engine(CRM);
    let request = at(Request::call_tool(
        support(&["pwd"], Some(NOW - 60)),
        "crm_get_customer",
        json!({"tenant": "acme", "region": "eu"}),
    ));
    let decision = engine.authorize(&request);
    assert_eq!(decision.outcome, Outcome::StepUp, "{decision:?}");
    let challenge = decision.step_up.unwrap();
    assert_eq!(challenge.acr_values, ["urn:airlock:mfa"]);
    assert_eq!(challenge.max_age, Some(900));
    assert!(
        decision.reasons[0].contains("15 minutes"),
        "{:?}",
        decision.reasons
    );
}

#[test]
fn unknown_auth_time_fails_the_freshness_test() {
    let engine = engine(CRM);
    let request = at(Request::call_tool(
        support(&["pwd", "otp"], None),
        "crm_get_customer",
        json!({"tenant": "acme", "region": "eu"}),
    ));
    assert_eq!(engine.authorize(&request).outcome, Outcome::StepUp);
    let fresh = at(Request::call_tool(
        support(&["pwd", "otp"], Some(NOW - 60)),
        "crm_get_customer",
        json!({"tenant": "acme", "region": "eu"}),
    ));
    assert_eq!(engine.authorize(&fresh).outcome, Outcome::Allow);
}

#[test]
fn out_of_scope_denies_even_when_step_up_also_applies() {
    let engine = engine(CRM);
    let request = at(Request::call_tool(
        support(&["pwd"], None),
        "crm_get_customer",
        json!({"tenant": "globex", "region": "eu"}),
    ));
    let decision = engine.authorize(&request);
    assert_eq!(decision.outcome, Outcome::Deny);
    assert_eq!(decision.policy_ids, ["support.customer_data_in_scope"]);
    assert!(decision.step_up.is_none());
}

fn tainted_egress(engine: &PolicyEngine) -> Outcome {
    let mut request = at(Request::call_tool(
        Principal::default(),
        "http_post",
        json!({"body": "hello"}),
    ));
    request.session = SessionSnapshot {
        taint: ["untrusted_content", "private_data"]
            .into_iter()
            .map(String::from)
            .collect(),
        ..SessionSnapshot::default()
    };
    engine.authorize(&request).outcome
}

#[test]
fn trifecta_option_selects_approval_or_deny() {
    assert_eq!(tainted_egress(&engine(CRM)), Outcome::RequireApproval);
    let deny = engine(&format!("trifecta = \"deny\"\n{CRM}"));
    assert_eq!(deny.snapshot().config().trifecta, TrifectaMode::Deny);
    assert_eq!(tainted_egress(&deny), Outcome::Deny);
}

#[test]
fn unknown_tool_reason_says_how_to_allow_it() {
    let decision = engine("").authorize(&at(Request::call_tool(
        Principal::default(),
        "launch_rockets",
        json!({}),
    )));
    assert_eq!(decision.outcome, Outcome::Deny);
    assert_eq!(
        decision.reasons[0],
        "no policy permits call_tool on `launch_rockets`; label the tool in airlock.toml \
         [tools.launch_rockets] (e.g. labels = [\"read_only\"]) or add a permit policy"
    );
}

#[test]
fn labels_from_the_request_merge_with_configured_ones() {
    let engine = engine("");
    let mut request = at(Request::call_tool(
        Principal::default(),
        "lookup",
        json!({}),
    ));
    assert_eq!(engine.authorize(&request).outcome, Outcome::Deny);
    request.tool = Some(ToolRef {
        name: "lookup".into(),
        server: Some("kb".into()),
        labels: ["read_only".to_owned()].into(),
    });
    assert_eq!(engine.authorize(&request).outcome, Outcome::Allow);
}

#[test]
fn builtin_pack_can_be_switched_off() {
    let engine = engine("builtin_pack = false");
    let request = at(Request::call_tool(
        Principal::default(),
        "read_file",
        json!({}),
    ));
    assert_eq!(engine.authorize(&request).outcome, Outcome::Deny);
}

#[test]
fn reload_keeps_the_old_snapshot_when_the_new_policies_are_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let store = PolicyStore::new(PolicySnapshot::load(config(CRM)).unwrap());
    let request = at(Request::call_tool(
        Principal::default(),
        "deploy",
        json!({}),
    ));
    assert_eq!(store.authorize(&request).outcome, Outcome::Deny);

    std::fs::write(
        dir.path().join("deploy.cedar"),
        "@id(\"deploy\") permit(principal, action == Action::\"call_tool\", resource == Tool::\"deploy\");\n",
    )
    .unwrap();
    store.reload_from(dir.path()).unwrap();
    assert_eq!(store.authorize(&request).outcome, Outcome::Allow);

    std::fs::write(
        dir.path().join("broken.cedar"),
        "permit(principal, action == Action::\"call_tool\", resource)\n  when { context.nope };\n",
    )
    .unwrap();
    let problems = store.reload_from(dir.path()).unwrap_err();
    assert!(
        problems[0].file.ends_with("broken.cedar") && problems[0].line == Some(2),
        "{problems:?}"
    );
    // Still the previous snapshot: deploy allowed, nothing from broken.cedar.
    assert_eq!(store.authorize(&request).outcome, Outcome::Allow);
}
