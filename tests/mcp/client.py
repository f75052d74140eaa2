"""Scripted MCP client for airlock's end-to-end tests, built on the official SDK's ClientSession.

Usage:
    client.py stdio [--timeout SECONDS] [--discover] -- <command> [args...]
    client.py http <url> [--header 'Name: value']... [--timeout SECONDS] [--discover]

The session opens with the `initialize` handshake (protocol 2025-11-25, what MCP clients send
today). `--discover` opens it with `server/discover` instead (protocol 2026-07-28: no handshake,
every request carries the version, client info and capabilities in `params._meta`).

Reads a JSON array of steps from stdin, runs them in order in ONE session and prints one JSON
object to stdout:

    {"protocol_version": "...", "server_info": {...}, "server_capabilities": {...},
     "results": [...], "elicitations": [...], "sampling_requests": [...]}

Steps (`op` and its fields):
    {"op": "list_tools"} | {"op": "list_resources"} | {"op": "list_resource_templates"}
    {"op": "list_prompts"} | {"op": "ping"}
    {"op": "call_tool", "name": "x", "arguments": {...}, "progress": true, "timeout_s": 0.5}
    {"op": "read_resource", "uri": "..."}
    {"op": "get_prompt", "name": "...", "arguments": {"k": "v"}}

Each result is the SDK result as JSON (camelCase wire names, no nulls); a step that failed with
an MCP error is {"error": {"code": N, "message": "...", "data": ...}}; a step that failed in the
client itself (e.g. a result that does not match the tool's output schema) is
{"exception": {"type": "...", "message": "..."}}. `"progress": true` adds
"progress_notifications": N to that call's result. `"timeout_s"` bounds one call; when it runs
out the SDK sends notifications/cancelled and the step records the timeout error.

Callbacks the client answers (their capabilities are always advertised, roots only when set):
    elicitation: action from ELICIT_ACTION (accept|decline|cancel, default accept) with content
                 from ELICIT_REPLY (JSON object, default {"confirm": true}); each request's
                 message is appended to "elicitations".
    sampling:    a text message from SAMPLING_REPLY (default "a haiku"); each request's params
                 are appended to "sampling_requests".
    roots:       CLIENT_ROOTS, a JSON list of file:// URIs, if set.

The stdio server is started with this process's whole environment (the SDK alone would pass only
a few safe variables), so tests can configure the server or a wrapping gateway through env.

Exit status: 0 when the session ran, even if steps failed; 2 for bad usage or bad steps;
1 when the connection itself failed (message on stderr).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
import httpx2
import mcp.types as types
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp.client.session import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from pydantic import BaseModel

USAGE = """usage: client.py stdio [--timeout SECONDS] [--discover] -- <command> [args...]
       client.py http <url> [--header 'Name: value']... [--timeout SECONDS] [--discover]
steps: a JSON array on stdin, e.g. [{"op": "list_tools"}]"""

DEFAULT_TIMEOUT_SECONDS = 30.0
OPS_WITHOUT_FIELDS = ("list_tools", "list_resources", "list_resource_templates", "list_prompts", "ping")
ELICIT_ACTIONS = ("accept", "decline", "cancel")


class UsageError(Exception):
    """The command line, the steps or a callback variable is malformed: the caller's bug."""


class Transport:
    """Where to connect: a command to spawn over stdio, or a streamable HTTP URL."""

    def __init__(self) -> None:
        self.command: list[str] = []
        self.url: str | None = None
        self.headers: dict[str, str] = {}
        self.timeout_seconds = DEFAULT_TIMEOUT_SECONDS
        self.discover = False

    def describe(self) -> str:
        return self.url if self.url is not None else " ".join(self.command)


def parse_timeout(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise UsageError(f"--timeout expects seconds, got {value!r}") from None
    if seconds <= 0:
        raise UsageError(f"--timeout must be positive, got {value!r}")
    return seconds


def parse_args(argv: list[str]) -> Transport:
    if not argv or argv[0] not in ("stdio", "http"):
        raise UsageError("the first argument must be `stdio` or `http`")
    transport = Transport()
    mode, rest = argv[0], argv[1:]
    index = 0
    while index < len(rest):
        argument = rest[index]
        if mode == "stdio" and argument == "--":
            transport.command = rest[index + 1 :]
            break
        if argument == "--discover":
            transport.discover = True
            index += 1
        elif argument == "--timeout" and index + 1 < len(rest):
            transport.timeout_seconds = parse_timeout(rest[index + 1])
            index += 2
        elif mode == "http" and argument == "--header" and index + 1 < len(rest):
            name, separator, value = rest[index + 1].partition(":")
            if not separator or not name.strip():
                raise UsageError(f"--header expects 'Name: value', got {rest[index + 1]!r}")
            transport.headers[name.strip()] = value.strip()
            index += 2
        elif mode == "http" and transport.url is None and not argument.startswith("--"):
            transport.url = argument
            index += 1
        else:
            raise UsageError(f"unexpected argument {argument!r}")
    if mode == "stdio" and not transport.command:
        raise UsageError("stdio needs the server command after `--`")
    if mode == "http" and transport.url is None:
        raise UsageError("http needs the server URL")
    return transport


def require_string(step: dict[str, Any], index: int, field: str) -> None:
    if not isinstance(step.get(field), str):
        raise UsageError(f"steps[{index}] ({step['op']}) needs a string `{field}`")


def validate_steps(steps: Any) -> list[dict[str, Any]]:
    if not isinstance(steps, list):
        raise UsageError("stdin must hold a JSON array of steps")
    for index, step in enumerate(steps):
        if not isinstance(step, dict) or not isinstance(step.get("op"), str):
            raise UsageError(f"steps[{index}] must be an object with a string `op`")
        op = step["op"]
        if op == "call_tool":
            require_string(step, index, "name")
            if not isinstance(step.get("arguments", {}), dict):
                raise UsageError(f"steps[{index}] (call_tool) `arguments` must be an object")
            timeout = step.get("timeout_s")
            if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float)):
                raise UsageError(f"steps[{index}] (call_tool) `timeout_s` must be a number of seconds")
        elif op == "read_resource":
            require_string(step, index, "uri")
        elif op == "get_prompt":
            require_string(step, index, "name")
            arguments = step.get("arguments", {})
            if not isinstance(arguments, dict) or not all(isinstance(v, str) for v in arguments.values()):
                raise UsageError(f"steps[{index}] (get_prompt) `arguments` must map names to strings")
        elif op not in OPS_WITHOUT_FIELDS:
            known = ", ".join(("call_tool", "read_resource", "get_prompt", *OPS_WITHOUT_FIELDS))
            raise UsageError(f"steps[{index}] has unknown op {op!r}; known: {known}")
    return steps


def to_json(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


class Callbacks:
    """Answers the server's requests from environment variables and records what was asked."""

    def __init__(self, environ: dict[str, str]) -> None:
        self.elicit_action = environ.get("ELICIT_ACTION", "accept")
        if self.elicit_action not in ELICIT_ACTIONS:
            raise UsageError(f"ELICIT_ACTION must be one of {', '.join(ELICIT_ACTIONS)}, got {self.elicit_action!r}")
        self.elicit_reply = self._json_env(environ, "ELICIT_REPLY", '{"confirm": true}', dict, "a JSON object")
        self.sampling_reply = environ.get("SAMPLING_REPLY", "a haiku")
        roots = environ.get("CLIENT_ROOTS")
        self.roots: list[str] | None = None
        if roots is not None:
            self.roots = self._json_env(environ, "CLIENT_ROOTS", roots, list, "a JSON list of file:// URIs")
            if not all(isinstance(uri, str) and uri.startswith("file://") for uri in self.roots):
                raise UsageError("CLIENT_ROOTS must be a JSON list of file:// URIs")
        self.elicitations: list[str] = []
        self.sampling_requests: list[dict[str, Any]] = []

    @staticmethod
    def _json_env(environ: dict[str, str], name: str, default: str, kind: type, what: str) -> Any:
        try:
            value = json.loads(environ.get(name, default))
        except json.JSONDecodeError as error:
            raise UsageError(f"{name} must be {what}: {error}") from None
        if not isinstance(value, kind):
            raise UsageError(f"{name} must be {what}")
        return value

    async def elicit(self, context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.elicitations.append(params.message)
        if self.elicit_action != "accept":
            return types.ElicitResult(action=self.elicit_action)
        return types.ElicitResult(action="accept", content=self.elicit_reply)

    async def sample(
        self, context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        self.sampling_requests.append(to_json(params))
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=self.sampling_reply),
            model="airlock-test-model",
            stop_reason="endTurn",
        )

    async def list_roots(self, context: ClientRequestContext) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri=uri) for uri in self.roots or []])


async def run_step(session: ClientSession, step: dict[str, Any]) -> dict[str, Any]:
    op = step["op"]
    if op == "call_tool":
        progress_count = 0

        async def count_progress(progress: float, total: float | None, message: str | None) -> None:
            nonlocal progress_count
            progress_count += 1

        result = to_json(
            await session.call_tool(
                step["name"],
                step.get("arguments", {}),
                read_timeout_seconds=step.get("timeout_s"),
                progress_callback=count_progress if step.get("progress") else None,
            )
        )
        if step.get("progress"):
            result["progress_notifications"] = progress_count
        return result
    if op == "read_resource":
        return to_json(await session.read_resource(step["uri"]))
    if op == "get_prompt":
        return to_json(await session.get_prompt(step["name"], step.get("arguments", {})))
    listings: dict[str, Callable[[], Any]] = {
        "list_tools": session.list_tools,
        "list_resources": session.list_resources,
        "list_resource_templates": session.list_resource_templates,
        "list_prompts": session.list_prompts,
        "ping": session.send_ping,
    }
    return to_json(await listings[op]())


def connect(transport: Transport) -> AbstractAsyncContextManager[Any]:
    if transport.url is not None:
        http_client = httpx2.AsyncClient(
            headers=transport.headers, timeout=httpx2.Timeout(transport.timeout_seconds, read=300.0)
        )
        return streamable_http_client(transport.url, http_client=http_client)
    command, *args = transport.command
    return stdio_client(StdioServerParameters(command=command, args=args, env=dict(os.environ)))


async def run_session(transport: Transport, steps: list[dict[str, Any]], callbacks: Callbacks) -> dict[str, Any]:
    async with connect(transport) as (read_stream, write_stream):
        async with ClientSession(
            read_stream,
            write_stream,
            read_timeout_seconds=transport.timeout_seconds,
            sampling_callback=callbacks.sample,
            elicitation_callback=callbacks.elicit,
            list_roots_callback=callbacks.list_roots if callbacks.roots is not None else None,
            client_info=types.Implementation(name="airlock-test-client", version="1.0.0"),
        ) as session:
            if transport.discover:
                await session.discover()
            else:
                await session.initialize()
            results: list[dict[str, Any]] = []
            for step in steps:
                try:
                    results.append(await run_step(session, step))
                except MCPError as error:
                    results.append({"error": to_json(error.error)})
                except Exception as error:  # a client-side failure of one step must not end the session
                    results.append({"exception": {"type": type(error).__name__, "message": str(error)}})
            return {
                "protocol_version": session.protocol_version,
                "server_info": to_json(session.server_info) if session.server_info else None,
                "server_capabilities": to_json(session.server_capabilities) if session.server_capabilities else None,
                "instructions": session.instructions,
                "results": results,
                "elicitations": callbacks.elicitations,
                "sampling_requests": callbacks.sampling_requests,
            }


def innermost_errors(error: BaseException) -> list[BaseException]:
    """Flatten the exception groups anyio wraps around a failed connection."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in innermost_errors(inner)]
    return [error]


def main(argv: list[str]) -> int:
    try:
        transport = parse_args(argv)
        try:
            steps = validate_steps(json.loads(sys.stdin.read() or "[]"))
        except json.JSONDecodeError as error:
            raise UsageError(f"stdin is not JSON: {error}") from None
        callbacks = Callbacks(dict(os.environ))
    except UsageError as error:
        print(f"client.py: {error}\n{USAGE}", file=sys.stderr)
        return 2

    output: dict[str, Any] | None = None

    async def run() -> None:
        nonlocal output
        output = await run_session(transport, steps, callbacks)

    try:
        anyio.run(run)
    except BaseException as error:  # report every way the connection can fail, then exit non-zero
        if isinstance(error, KeyboardInterrupt):
            raise
        if output is None:
            causes = "; ".join(f"{type(leaf).__name__}: {leaf}" for leaf in innermost_errors(error))
            print(f"client.py: the MCP session with {transport.describe()} failed: {causes}", file=sys.stderr)
            if os.environ.get("CLIENT_TRACEBACK"):
                traceback.print_exception(error)
            return 1
        # The steps ran; only closing the connection failed. The output is still the answer.
        print(f"client.py: closing the session failed after all steps ran: {error!r}", file=sys.stderr)
    print(json.dumps(output))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
