//! `airlock mcp`: put airlock in front of an MCP server (`wrap`), and approve its tool
//! definitions (`pin`, `pins`).

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use airlock_core::Principal;
use airlock_gateway::{ConfigSource, Gateway};
use airlock_mcp::{
    GuardSettings, McpGuard, PinCheck, PinStore, StdioClient, UpstreamCommand, definition_digest,
    poison,
};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use crate::Status;

/// `airlock mcp ...`.
#[derive(Debug, Args)]
pub struct McpArgs {
    #[command(subcommand)]
    command: McpCommand,
}

#[derive(Debug, Subcommand)]
enum McpCommand {
    /// Run an MCP server behind airlock over stdio: put `airlock mcp wrap -- <server command>`
    /// where a client config names the server.
    Wrap(WrapArgs),
    /// List an MCP server's tools, review their definitions, and pin (approve) them.
    Pin(PinArgs),
    /// Show the pinned tool definitions.
    Pins(PinsArgs),
}

/// Options shared by the commands that start a server.
#[derive(Debug, Args)]
struct UpstreamArgs {
    /// airlock.toml. Without it: embedded defaults.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The server's name in policies, pins and the audit log. Default: derived from the
    /// command (`python servers/notes.py` → `notes`).
    #[arg(long, value_name = "NAME")]
    upstream: Option<String>,
    /// The server command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

#[derive(Debug, Args)]
struct WrapArgs {
    #[command(flatten)]
    upstream: UpstreamArgs,
    /// The agent the client acts as (roles from `[policy.agents.NAME]`); default `[mcp] agent`.
    #[arg(long, value_name = "NAME")]
    agent: Option<String>,
}

#[derive(Debug, Args)]
struct PinArgs {
    #[command(flatten)]
    upstream: UpstreamArgs,
    /// Pin only these tools (repeatable). Default: every tool listed.
    #[arg(long = "tool", value_name = "NAME")]
    tools: Vec<String>,
    /// Pin a tool even though its definition was flagged as poisoned (repeatable). It stays
    /// blocked at listing time while the finding stands; pinning only records the approval.
    #[arg(long = "accept-flagged", value_name = "NAME")]
    accept_flagged: Vec<String>,
    /// Show what would be pinned and change nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Args)]
struct PinsArgs {
    /// airlock.toml. Without it: embedded defaults.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub fn run(args: McpArgs) -> Result<Status> {
    crate::serve::init_logging();
    match args.command {
        McpCommand::Wrap(args) => wrap(args),
        McpCommand::Pin(args) => pin(args),
        McpCommand::Pins(args) => pins(args),
    }
}

fn wrap(args: WrapArgs) -> Result<Status> {
    let gateway = start_gateway(args.upstream.config.as_deref())?;
    let settings = gateway.mcp_settings();
    let pins = Arc::new(PinStore::open(&settings.pins_file)?);
    let (upstream_name, upstream) = upstream_of(&args.upstream)?;
    let agent = args.agent.unwrap_or(settings.agent.clone());
    let session = format!(
        "mcp-stdio-{}-{}",
        std::process::id(),
        airlock_policy::now_unix()
    );
    let guard = McpGuard::new(
        Arc::clone(&gateway),
        pins,
        GuardSettings {
            upstream: upstream_name.clone(),
            principal: Principal {
                agent: Some(agent),
                origin: Some("mcp-stdio".to_owned()),
                ..Principal::default()
            },
            session,
            pinning: settings.pinning,
            path_base: std::env::current_dir().context("cannot read the working directory")?,
            // The server inherits airlock's environment, so `~` means the same to both.
            home: std::env::var_os("HOME").map(PathBuf::from),
        },
    );
    let runtime = runtime()?;
    let status = runtime.block_on(async move {
        tracing::info!(upstream = %upstream_name, "airlock relaying MCP over stdio");
        airlock_mcp::wrap(
            guard,
            &upstream,
            tokio::io::BufReader::new(tokio::io::stdin()),
            tokio::io::stdout(),
            settings.max_message_bytes,
        )
        .await
    })?;
    if !status.success() {
        tracing::warn!(%status, "the MCP server exited with an error");
    }
    Ok(Status::Clean)
}

fn pin(args: PinArgs) -> Result<Status> {
    let gateway = start_gateway(args.upstream.config.as_deref())?;
    let settings = gateway.mcp_settings();
    let store = PinStore::open(&settings.pins_file)?;
    let (upstream_name, upstream) = upstream_of(&args.upstream)?;
    let tools = runtime()?.block_on(async {
        let mut client = StdioClient::start(&upstream).await?;
        let tools = client.list_tools().await?;
        client.close().await?;
        Ok::<_, airlock_mcp::ClientError>(tools)
    })?;
    for wanted in &args.tools {
        if !tools.iter().any(|tool| tool_name(tool) == wanted) {
            bail!("`{upstream_name}` lists no tool named `{wanted}`");
        }
    }

    let others = store.tool_names_by_upstream();
    let mut out = std::io::stdout().lock();
    writeln!(out, "tools of `{upstream_name}`:")?;
    let mut approved = Vec::new();
    let mut refused = 0;
    for tool in &tools {
        let name = tool_name(tool);
        if !args.tools.is_empty() && !args.tools.iter().any(|wanted| wanted == name) {
            continue;
        }
        let status = match store.check(&upstream_name, name, &definition_digest(tool)) {
            PinCheck::Unchanged => "unchanged",
            PinCheck::Changed { .. } => "CHANGED",
            PinCheck::NewTool | PinCheck::UnknownUpstream => "new",
        };
        let findings = poison::review_definition(&gateway, &upstream_name, tool, &others);
        let flagged = poison::is_poisoned(&findings);
        let verdict = if flagged && !args.accept_flagged.iter().any(|t| t == name) {
            refused += 1;
            format!(
                "NOT PINNED: flagged as poisoned ({}); pass --accept-flagged {name} after review",
                poison::summary(&findings)
            )
        } else {
            approved.push((name.to_owned(), tool));
            let pinned = if args.dry_run { "would pin" } else { "pinned" };
            if flagged {
                format!("{pinned} despite findings ({})", poison::summary(&findings))
            } else {
                pinned.to_owned()
            }
        };
        writeln!(out, "  {name:<32} {status:<10} {verdict}")?;
        if status == "CHANGED"
            && let Some(pin) = store.pins_of(&upstream_name).get(name)
        {
            writeln!(out, "      was: {:?}", pin.description)?;
            writeln!(
                out,
                "      now: {:?}",
                tool.get("description")
                    .and_then(|d| d.as_str())
                    .unwrap_or_default()
            )?;
        }
    }
    if args.dry_run {
        writeln!(out, "dry run: nothing pinned")?;
    } else {
        store.pin(&upstream_name, &approved, "approved")?;
        writeln!(
            out,
            "{} tool(s) pinned in {}",
            approved.len(),
            store.path().display()
        )?;
    }
    Ok(if refused > 0 {
        Status::Findings
    } else {
        Status::Clean
    })
}

fn pins(args: PinsArgs) -> Result<Status> {
    let source = ConfigSource::from_flag(args.config.as_deref());
    let config = source.load()?;
    let store = PinStore::open(&config.mcp.pins_file)?;
    let mut out = std::io::stdout().lock();
    let upstreams = store.tool_names_by_upstream();
    if upstreams.is_empty() {
        writeln!(out, "no tool is pinned ({})", store.path().display())?;
    }
    for upstream in upstreams.keys() {
        writeln!(out, "{upstream}:")?;
        for (name, pin) in store.pins_of(upstream) {
            let digest: String = pin.digest.chars().take(12).collect();
            writeln!(
                out,
                "  {name:<32} {digest}  {:<8} {}",
                pin.by, pin.pinned_at
            )?;
        }
    }
    Ok(Status::Clean)
}

fn start_gateway(config: Option<&Path>) -> Result<Arc<Gateway>> {
    Ok(Arc::new(
        Gateway::start(ConfigSource::from_flag(config)).context("cannot start the gateway")?,
    ))
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn tool_name(tool: &serde_json::Value) -> &str {
    tool.get("name")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
}

fn upstream_of(args: &UpstreamArgs) -> Result<(String, UpstreamCommand)> {
    let Some((program, rest)) = args.command.split_first() else {
        bail!("name the MCP server command after `--`");
    };
    let name = match &args.upstream {
        Some(name) => name.clone(),
        None => derived_name(&args.command)
            .context("cannot derive a server name from the command; pass --upstream NAME")?,
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        bail!("--upstream `{name}`: a server name must be non-empty and without spaces");
    }
    Ok((name, UpstreamCommand::new(program.clone(), rest.to_vec())))
}

/// `python servers/notes.py` → `notes`; `npx -y @modelcontextprotocol/server-filesystem /x`
/// → `server-filesystem`: the first word that is not a launcher or a flag, without its folder
/// and extension.
fn derived_name(command: &[OsString]) -> Option<String> {
    const LAUNCHERS: &[&str] = &[
        "npx", "node", "nodejs", "uvx", "uv", "python", "python3", "deno", "bun", "bunx", "pipx",
        "run", "exec", "-m",
    ];
    command
        .iter()
        .map(|word| word.to_string_lossy())
        .find(|word| {
            let base = word.rsplit('/').next().unwrap_or(word);
            !word.starts_with('-') && !LAUNCHERS.contains(&base) && !base.starts_with("python3.")
        })
        .and_then(|word| {
            let base = word.rsplit('/').next()?.to_owned();
            let stem = base.split('.').next().unwrap_or(&base).to_owned();
            (!stem.is_empty()).then_some(stem)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_are_derived_from_the_command() {
        let name =
            |words: &[&str]| derived_name(&words.iter().map(OsString::from).collect::<Vec<_>>());
        assert_eq!(
            name(&["python3", "servers/notes.py"]).as_deref(),
            Some("notes")
        );
        assert_eq!(
            name(&["npx", "-y", "@modelcontextprotocol/server-filesystem", "/x"]).as_deref(),
            Some("server-filesystem")
        );
        assert_eq!(
            name(&["/opt/bin/mcp-server-git", "--repo", "."]).as_deref(),
            Some("mcp-server-git")
        );
        assert_eq!(name(&["npx"]), None);
    }
}
