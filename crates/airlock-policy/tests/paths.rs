//! `Path` arguments: a policy that allows one project folder cannot be walked out of by
//! another spelling of a path (`..`, `~`, relative, percent-escapes, `file://`), and, where
//! the surface shares the server's filesystem, not by a symbolic link either.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use airlock_core::{Outcome, Principal};
use airlock_policy::{
    PathError, PolicyConfig, PolicyEngine, PolicySnapshot, RawPolicyConfig, Request,
    canonical_path, canonicalize_path_arguments, check_canonical_path,
};
use serde_json::{Value, json};

const NOW: i64 = 1_800_000_000;

const FILESYSTEM_TOOLS: &str = r#"
[tools.read_text_file]
labels = ["read_only", "filesystem"]
arguments = { path = "Path" }
[tools.read_multiple_files]
labels = ["read_only", "filesystem"]
arguments = { paths = "Set<Path>" }
"#;

const PROJECT_ONLY: &str = r#"
@id("project.read")
permit(principal, action == Action::"call_tool", resource == Tool::"read_text_file")
when { context.arguments has path && context.arguments.path like "/proj/*" };

// Cedar has no "every element matches": a set of paths is checked against a list.
@id("project.read_many")
permit(principal, action == Action::"call_tool", resource == Tool::"read_multiple_files")
when { context.arguments has paths &&
       ["/proj/a", "/proj/b"].containsAll(context.arguments.paths) };
"#;

fn config(toml_text: &str) -> PolicyConfig {
    toml::from_str::<RawPolicyConfig>(toml_text)
        .unwrap()
        .validate()
        .unwrap()
}

fn engine() -> PolicyEngine {
    let mut config = config(FILESYSTEM_TOOLS);
    config.builtin_pack = false;
    let sources = vec![("project.cedar".to_owned(), PROJECT_ONLY.to_owned())];
    PolicyEngine::new(PolicySnapshot::from_sources(config, &sources).unwrap())
}

fn read(path: Value) -> Request {
    let mut request = Request::call_tool(
        Principal::default(),
        "read_text_file",
        json!({ "path": path }),
    );
    request.now = NOW;
    request
}

/// Asserts a deny for invalid input whose reason names the argument and contains `why`.
fn assert_invalid(engine: &PolicyEngine, path: &str, why: &str) {
    let decision = engine.authorize(&read(json!(path)));
    assert_eq!(decision.outcome, Outcome::Deny, "{path:?}: {decision:?}");
    let reason = decision.reasons.join(" | ");
    assert!(
        reason.contains("`path`") && reason.contains(why),
        "{path:?}: reason {reason:?} should name `path` and say {why:?}"
    );
    assert!(decision.policy_ids.is_empty(), "{decision:?}");
}

#[test]
fn allows_a_canonical_path_inside_the_project() {
    let decision = engine().authorize(&read(json!("/proj/a.txt")));
    assert_eq!(decision.outcome, Outcome::Allow, "{decision:?}");
    assert_eq!(decision.policy_ids, ["project.read"]);
}

#[test]
fn denies_a_canonical_path_outside_the_project_by_default() {
    let decision = engine().authorize(&read(json!("/home/me/.ssh/id_ed25519")));
    assert_eq!(decision.outcome, Outcome::Deny);
    assert!(decision.policy_ids.is_empty());
}

#[test]
fn denies_dot_dot_out_of_the_project_as_not_canonical() {
    assert_invalid(&engine(), "/proj/../etc/passwd", "`..` segment");
}

#[test]
fn denies_a_dot_segment_as_not_canonical() {
    assert_invalid(&engine(), "/proj/./a", "`.` segment");
    assert_invalid(&engine(), "/proj/a/.", "`.` segment");
}

#[test]
fn denies_a_relative_path_as_not_canonical() {
    assert_invalid(&engine(), "proj/a", "relative");
    assert_invalid(&engine(), "../proj/a", "relative");
}

#[test]
fn denies_a_percent_encoded_dot_dot_as_ambiguous() {
    assert_invalid(&engine(), "/proj/%2e%2e/x", "percent-escape of `.`");
    assert_invalid(&engine(), "/proj/..%2F..%2Fetc", "percent-escape of `/`");
    assert_invalid(&engine(), "/proj/%252e%252e/x", "2 rounds of decoding");
    assert_invalid(&engine(), "/proj/%c0%ae%c0%ae/x", "overlong UTF-8");
    assert_invalid(&engine(), "/proj/%u002e%u002e/x", "`%u002e`");
}

#[test]
fn denies_a_home_relative_path_as_not_canonical() {
    assert_invalid(&engine(), "~/x", "starts with `~`");
    assert_invalid(&engine(), "~root/.ssh/id_rsa", "starts with `~`");
}

#[test]
fn denies_duplicate_slashes_trailing_slash_nul_and_backslash() {
    let engine = engine();
    assert_invalid(&engine, "/proj//a", "empty segment");
    assert_invalid(&engine, "/proj/a/", "ends with `/`");
    assert_invalid(&engine, "/proj/a\0/../../etc/passwd", "NUL");
    assert_invalid(&engine, "/proj/a%00.txt", "percent-escape of NUL");
    assert_invalid(&engine, "/proj/..\\..\\etc\\passwd", "backslash");
}

#[test]
fn every_refusal_says_the_path_must_be_canonical_or_why_it_is_ambiguous() {
    let decision = engine().authorize(&read(json!("/proj/../etc/passwd")));
    let reason = &decision.reasons[0];
    assert!(
        reason.contains("invalid arguments for `read_text_file`"),
        "{reason}"
    );
    assert!(reason.contains("not a canonical path"), "{reason}");
    assert!(reason.contains("step out of the folder"), "{reason}");
}

#[test]
fn allows_a_file_uri_inside_the_project_as_its_decoded_path() {
    let engine = engine();
    for uri in [
        "file:///proj/a.txt",
        "file://localhost/proj/a.txt",
        "file:///proj/a%20b.txt",
    ] {
        let decision = engine.authorize(&read(json!(uri)));
        assert_eq!(decision.outcome, Outcome::Allow, "{uri}: {decision:?}");
    }
}

#[test]
fn denies_file_uris_that_leave_the_project_or_name_another_host() {
    let engine = engine();
    let decision = engine.authorize(&read(json!("file:///etc/passwd")));
    assert_eq!(decision.outcome, Outcome::Deny);
    assert!(decision.policy_ids.is_empty());
    assert_invalid(&engine, "file:///proj/%2e%2e/etc/passwd", "`..` segment");
    assert_invalid(&engine, "file:///proj/..%2fetc", "percent-escape of `/`");
    assert_invalid(&engine, "file://attacker.example/proj/a", "host");
}

#[test]
fn denies_a_set_of_paths_with_one_non_canonical_member_naming_it() {
    let engine = engine();
    let mut request = Request::call_tool(
        Principal::default(),
        "read_multiple_files",
        json!({"paths": ["/proj/a", "/proj/../../home/me/.ssh/id_rsa"]}),
    );
    request.now = NOW;
    let decision = engine.authorize(&request);
    assert_eq!(decision.outcome, Outcome::Deny);
    assert!(
        decision.reasons[0].contains("`paths`: [1]"),
        "{:?}",
        decision.reasons
    );
    request.arguments = json!({"paths": ["/proj/a", "/proj/b"]});
    assert_eq!(engine.authorize(&request).outcome, Outcome::Allow);
}

#[test]
fn the_schema_types_a_path_as_a_cedar_string() {
    let mut config = config(FILESYSTEM_TOOLS);
    config.builtin_pack = false;
    let snapshot = PolicySnapshot::from_sources(config, &[]).unwrap();
    let schema = snapshot.schema_text();
    assert!(
        schema.contains(r#""path"?: String"#) && schema.contains(r#""paths"?: Set<String>"#),
        "{schema}"
    );
}

#[test]
fn one_argument_name_cannot_be_a_path_for_one_tool_and_a_string_for_another() {
    let raw: RawPolicyConfig = toml::from_str(
        r#"
        [tools.read_text_file]
        arguments = { path = "Path" }
        [tools.other]
        arguments = { path = "String" }
        "#,
    )
    .unwrap();
    let problems = raw.validate().unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].message.contains("Path") && problems[0].message.contains("String"),
        "{problems:?}"
    );
}

// canonical_path, against a real filesystem:
//
//   ROOT/home/.ssh/id_ed25519        the secret
//   ROOT/proj/a.txt                  a project file
//   ROOT/proj/sub/                   a project folder
//   ROOT/proj/keys -> ROOT/home/.ssh (absolute link out of the project)
//   ROOT/proj/rel -> ../home/.ssh    (relative link out of the project)
//   ROOT/proj/new -> ROOT/home/.ssh/authorized_keys (dangling: the target does not exist)
//   ROOT/proj/loop -> loop
//   ROOT/proj/inner -> sub           (a link that stays inside)

struct Tree {
    _dir: tempfile::TempDir,
    /// The temporary directory with its own symbolic links resolved (macOS's /tmp is one).
    root: String,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path())
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let at = |p: &str| format!("{root}/{p}");
        std::fs::create_dir_all(at("home/.ssh")).unwrap();
        std::fs::write(at("home/.ssh/id_ed25519"), "secret").unwrap();
        std::fs::create_dir_all(at("proj/sub")).unwrap();
        std::fs::write(at("proj/a.txt"), "a").unwrap();
        symlink(&at("home/.ssh"), &at("proj/keys"));
        symlink("../home/.ssh", &at("proj/rel"));
        symlink(&at("home/.ssh/authorized_keys"), &at("proj/new"));
        symlink("loop", &at("proj/loop"));
        symlink("sub", &at("proj/inner"));
        Tree { _dir: dir, root }
    }

    fn at(&self, relative: &str) -> String {
        format!("{}/{relative}", self.root)
    }

    fn project(&self) -> std::path::PathBuf {
        self.at("proj").into()
    }

    fn home(&self) -> std::path::PathBuf {
        self.at("home").into()
    }

    fn resolve(&self, raw: &str) -> Result<String, PathError> {
        canonical_path(raw, &self.project(), Some(&self.home()))
    }
}

fn symlink(target: &str, link: &str) {
    #[cfg(unix)]
    std::os::unix::fs::symlink(target, link).unwrap();
    #[cfg(not(unix))]
    panic!("symbolic link tests need unix: {target} {link}");
}

#[test]
fn canonical_path_keeps_a_plain_project_path() {
    let tree = Tree::new();
    assert_eq!(
        tree.resolve(&tree.at("proj/a.txt")).unwrap(),
        tree.at("proj/a.txt")
    );
    // A file that does not exist yet (write_file) keeps its name.
    assert_eq!(
        tree.resolve(&tree.at("proj/sub/new/file.txt")).unwrap(),
        tree.at("proj/sub/new/file.txt")
    );
}

#[test]
fn canonical_path_resolves_a_symlink_out_of_the_project_to_its_target() {
    let tree = Tree::new();
    let secret = tree.at("home/.ssh/id_ed25519");
    assert_eq!(
        tree.resolve(&tree.at("proj/keys/id_ed25519")).unwrap(),
        secret
    );
    assert_eq!(
        tree.resolve(&tree.at("proj/rel/id_ed25519")).unwrap(),
        secret
    );
    assert_eq!(tree.resolve("keys/id_ed25519").unwrap(), secret);
}

#[test]
fn canonical_path_follows_a_dangling_symlink_a_write_would_follow() {
    let tree = Tree::new();
    assert_eq!(
        tree.resolve(&tree.at("proj/new")).unwrap(),
        tree.at("home/.ssh/authorized_keys")
    );
}

#[test]
fn canonical_path_keeps_a_symlink_that_stays_inside() {
    let tree = Tree::new();
    assert_eq!(
        tree.resolve(&tree.at("proj/inner/x")).unwrap(),
        tree.at("proj/sub/x")
    );
}

#[test]
fn canonical_path_removes_dot_dot_and_joins_relative_paths_to_the_base() {
    let tree = Tree::new();
    assert_eq!(tree.resolve("a.txt").unwrap(), tree.at("proj/a.txt"));
    assert_eq!(
        tree.resolve("./sub/../a.txt").unwrap(),
        tree.at("proj/a.txt")
    );
    assert_eq!(
        tree.resolve("../home/.ssh/id_ed25519").unwrap(),
        tree.at("home/.ssh/id_ed25519")
    );
    assert_eq!(
        tree.resolve(&format!("{}/proj/../home/.ssh", tree.root))
            .unwrap(),
        tree.at("home/.ssh")
    );
    assert_eq!(
        tree.resolve(&format!("{}//proj/./a.txt/", tree.root))
            .unwrap(),
        tree.at("proj/a.txt")
    );
    assert_eq!(tree.resolve("/../../..").unwrap(), "/");
}

#[test]
fn canonical_path_expands_home() {
    let tree = Tree::new();
    assert_eq!(
        tree.resolve("~/.ssh/id_ed25519").unwrap(),
        tree.at("home/.ssh/id_ed25519")
    );
    assert_eq!(tree.resolve("~").unwrap(), tree.at("home"));
    let err = canonical_path("~/x", &tree.project(), None).unwrap_err();
    assert!(matches!(err, PathError::HomeUnknown { .. }), "{err}");
    assert!(matches!(
        tree.resolve("~root/.ssh").unwrap_err(),
        PathError::TildeUser { .. }
    ));
}

#[test]
fn canonical_path_decodes_file_uris_to_plain_paths() {
    let tree = Tree::new();
    let uri = format!("file://{}/proj/keys/id%5Fed25519", tree.root);
    assert_eq!(tree.resolve(&uri).unwrap(), tree.at("home/.ssh/id_ed25519"));
    let uri = format!("file://{}/proj/%2e%2e/home", tree.root);
    assert_eq!(tree.resolve(&uri).unwrap(), tree.at("home"));
    assert!(matches!(
        tree.resolve("file://attacker.example/etc/passwd")
            .unwrap_err(),
        PathError::RemoteFileUri { .. }
    ));
}

#[test]
fn canonical_path_refuses_ambiguous_encodings_and_nul() {
    let tree = Tree::new();
    for raw in ["sub/%2e%2e/%2e%2e/home", "sub/..%2f..%2fhome", "a%252e"] {
        assert!(
            matches!(
                tree.resolve(raw).unwrap_err(),
                PathError::AmbiguousEscape { .. }
            ),
            "{raw}"
        );
    }
    assert!(matches!(
        tree.resolve("a.txt\0.png").unwrap_err(),
        PathError::Nul { .. }
    ));
    assert!(matches!(
        tree.resolve("..\\home").unwrap_err(),
        PathError::Backslash { .. }
    ));
    assert!(matches!(tree.resolve("").unwrap_err(), PathError::Empty));
}

#[test]
fn canonical_path_keeps_an_absolute_path_outside_the_project_as_it_is() {
    let tree = Tree::new();
    assert_eq!(
        tree.resolve(&tree.at("home/.ssh/id_ed25519")).unwrap(),
        tree.at("home/.ssh/id_ed25519")
    );
}

#[test]
fn canonical_path_stops_at_a_symlink_loop() {
    let tree = Tree::new();
    let err = tree.resolve("loop/x").unwrap_err();
    assert!(matches!(err, PathError::SymlinkLoop { .. }), "{err}");
    assert!(err.to_string().contains("symbolic links"), "{err}");
}

#[test]
fn canonical_path_needs_absolute_base_and_home() {
    let err = canonical_path("a", Path::new("rel"), None).unwrap_err();
    assert!(err.to_string().contains("base directory"), "{err}");
    let err = canonical_path("~/a", Path::new("/"), Some(Path::new("rel"))).unwrap_err();
    assert!(err.to_string().contains("home directory"), "{err}");
}

#[test]
fn canonical_path_results_pass_the_path_type() {
    let tree = Tree::new();
    for raw in [
        "a.txt",
        "keys/id_ed25519",
        "new",
        "~/.ssh",
        "sub/../inner/x",
        "/",
    ] {
        let resolved = tree.resolve(raw).unwrap();
        assert_eq!(check_canonical_path(&resolved).unwrap(), resolved, "{raw}");
    }
}

/// The surface's whole path: rewrite the Path arguments with the filesystem's view, then
/// authorize what was rewritten (and forward it upstream).
#[test]
fn rewritten_arguments_deny_a_symlink_escape_and_allow_the_project_file() {
    let tree = Tree::new();
    let mut config = config(FILESYSTEM_TOOLS);
    config.builtin_pack = false;
    let policy = format!(
        r#"permit(principal, action == Action::"call_tool", resource)
           when {{ context.arguments has path && context.arguments.path like "{}/*" }};
           permit(principal, action == Action::"call_tool", resource)
           when {{ context.arguments has paths && ["{}"].containsAll(context.arguments.paths) }};"#,
        tree.at("proj"),
        tree.at("proj/a.txt"),
    );
    let sources = vec![("project.cedar".to_owned(), policy)];
    let engine = PolicyEngine::new(PolicySnapshot::from_sources(config.clone(), &sources).unwrap());
    let authorize = |tool: &str, mut arguments: Value| {
        canonicalize_path_arguments(
            &config,
            tool,
            &mut arguments,
            &tree.project(),
            Some(&tree.home()),
        )
        .map_err(|e| e.to_string())?;
        let mut request = Request::call_tool(Principal::default(), tool, arguments.clone());
        request.now = NOW;
        Ok::<_, String>((engine.authorize(&request).outcome, arguments))
    };

    // Without the rewrite, the raw link path matches the project pattern.
    let raw = tree.at("proj/keys/id_ed25519");
    let mut unrewritten = Request::call_tool(
        Principal::default(),
        "read_text_file",
        json!({ "path": raw }),
    );
    unrewritten.now = NOW;
    assert_eq!(engine.authorize(&unrewritten).outcome, Outcome::Allow);

    let (outcome, forwarded) = authorize("read_text_file", json!({ "path": raw })).unwrap();
    assert_eq!(outcome, Outcome::Deny);
    assert_eq!(forwarded["path"], tree.at("home/.ssh/id_ed25519"));

    let (outcome, forwarded) = authorize("read_text_file", json!({"path": "a.txt"})).unwrap();
    assert_eq!(outcome, Outcome::Allow);
    assert_eq!(forwarded["path"], tree.at("proj/a.txt"));

    let (outcome, _) = authorize("read_text_file", json!({"path": "~/.ssh/id_ed25519"})).unwrap();
    assert_eq!(outcome, Outcome::Deny);

    let (outcome, forwarded) = authorize(
        "read_multiple_files",
        json!({"paths": ["a.txt", "sub/../a.txt", format!("file://{}", tree.at("proj/a.txt"))]}),
    )
    .unwrap();
    assert_eq!(outcome, Outcome::Allow);
    assert_eq!(forwarded["paths"], json!(vec![tree.at("proj/a.txt"); 3]));

    let err = authorize(
        "read_multiple_files",
        json!({"paths": ["a.txt", "x%2e%2e"]}),
    )
    .unwrap_err();
    assert!(err.contains("`paths[1]`"), "{err}");
}

#[test]
fn filesystem_yaml_cases_all_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/tests");
    let yaml = std::fs::read_to_string(root.join("filesystem.yaml")).unwrap();
    let results =
        airlock_policy::testing::run_case_file(&yaml, Some(&root.join("filesystem"))).unwrap();
    assert!(results.len() >= 15, "only {} cases", results.len());
    let failures: Vec<String> = results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| format!("{}: {:?} {:?}", r.name, r.failure, r.decision))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
