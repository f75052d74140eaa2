//! File paths in tool arguments: what a policy may match with `like "/project/*"`.
//!
//! A policy that matches a raw path string is defeated by every spelling that names the same
//! file differently — `/project/../home/me/.ssh/id_ed25519`, `~/x`, a relative path the server
//! resolves against a directory the policy cannot see, `/project/%2e%2e/x` for a server that
//! decodes URLs, `file:///…` URIs, `//`, a trailing `/.`, a NUL that ends the path early in C —
//! and, on the server's own filesystem, by a symbolic link inside the project that points
//! outside it. Two defences, for two kinds of surface:
//!
//! - **Every surface**: an argument declared `Path` (`[tools.NAME] arguments = { path = "Path" }`)
//!   only maps into `context.arguments` when it is already canonical ([`check_canonical_path`]:
//!   absolute, no `.`/`..`/empty segments, no trailing `/`, no `~`, no NUL, no backslash, no
//!   percent-escape of `.`, `/`, `\` or NUL). Anything else makes the request invalid, which the
//!   engine turns into a deny naming the argument. A `file://` URI is decoded to its path and
//!   checked the same way, so the policy sees a plain path.
//! - **A surface that shares the upstream's filesystem** (a local server it starts over stdio)
//!   can do better than refuse: [`canonicalize_path_arguments`] rewrites every `Path` argument
//!   in place with [`canonical_path`] — `~` expanded, relative paths joined to the server's
//!   working directory, `.`/`..` removed, symbolic links resolved — *before* authorizing, and
//!   forwards the rewritten arguments, so the server acts on exactly the path the policy
//!   allowed. [`rewrite_path_arguments`] is the same walk with another rewrite (for example
//!   [`check_canonical_path`], which turns `file://` URIs into plain paths without touching
//!   the filesystem).
//!
//! What remains: resolution and the server's `open` are two moments, so a process that can
//! change the filesystem in between (swap a directory for a symbolic link) can still race the
//! check; the server's own root confinement is the second line. The engine itself never calls
//! [`canonical_path`]: it does no I/O on the request path.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use crate::args::ArgType;
use crate::config::PolicyConfig;

/// Symbolic links followed while resolving one path before giving up (Linux's `MAXSYMLINKS`).
pub const MAX_SYMLINKS: usize = 40;

/// Paths longer than this are shortened in error messages.
const SHOWN_LEN: usize = 160;

/// Why a path is refused.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// The empty string.
    #[error("the path is empty; give an absolute path such as `/project/file.txt`")]
    Empty,
    /// A NUL byte, which C-based servers read as the end of the path.
    #[error(
        "{} contains a NUL byte, which ends the path early for the server (it would open a \
         different file than the policy checked); remove it",
        shown(path)
    )]
    Nul {
        /// The path as given.
        path: String,
    },
    /// Not absolute.
    #[error(
        "{} is not a canonical path: it is relative, and the server would resolve it against a \
         directory the policy cannot see; give the absolute path (starting with `/`)",
        shown(path)
    )]
    NotAbsolute {
        /// The path as given.
        path: String,
    },
    /// Starts with `~`, which the server may expand to its home directory.
    #[error(
        "{} is not a canonical path: it starts with `~`, which the server may expand to a home \
         directory the policy cannot see; give the absolute path",
        shown(path)
    )]
    Tilde {
        /// The path as given.
        path: String,
    },
    /// Has a `.` or `..` segment.
    #[error(
        "{} is not a canonical path: it has a `{segment}` segment, which can step out of the \
         folder a policy allows; give the path with `.` and `..` resolved",
        shown(path)
    )]
    DotSegment {
        /// The path as given (decoded, for a `file://` URI).
        path: String,
        /// `.` or `..`.
        segment: &'static str,
    },
    /// Has an empty segment (`//`).
    #[error(
        "{} is not a canonical path: it has an empty segment (`//`), which a policy pattern \
         does not expect; write single slashes",
        shown(path)
    )]
    EmptySegment {
        /// The path as given (decoded, for a `file://` URI).
        path: String,
    },
    /// Ends with `/` (and is not `/`).
    #[error(
        "{} is not a canonical path: it ends with `/`; write it without the trailing slash",
        shown(path)
    )]
    TrailingSlash {
        /// The path as given (decoded, for a `file://` URI).
        path: String,
    },
    /// Contains `\`.
    #[error(
        "{} contains a backslash, which some servers read as a path separator (`..\\..`); \
         use `/` only",
        shown(path)
    )]
    Backslash {
        /// The path as given.
        path: String,
    },
    /// A percent-escape that decodes to `.`, `/`, `\` or NUL (also as `%uXXXX` or an overlong
    /// UTF-8 byte): a server that decodes it would see a different path than the policy.
    #[error(
        "{} contains `{escape}`, a percent-escape of {decoded}{}; a server that decodes it \
         would open a different path than the policy checked; give the path decoded",
        shown(path),
        if *rounds > 1 { format!(" after {rounds} rounds of decoding") } else { String::new() }
    )]
    AmbiguousEscape {
        /// The path as given.
        path: String,
        /// The escape, as it appears after `rounds - 1` rounds of decoding.
        escape: String,
        /// What it decodes to, in words: "`.`", "NUL", …
        decoded: &'static str,
        /// How many rounds of percent-decoding reveal it (1: it is in the text as given).
        rounds: usize,
    },
    /// A `file://` URI whose percent-escapes are malformed or do not decode to UTF-8.
    #[error(
        "{} has a malformed percent-escape (`%` must be followed by two hex digits) or does not \
         decode to UTF-8",
        shown(uri)
    )]
    MalformedUri {
        /// The URI as given.
        uri: String,
    },
    /// A `file://` URI that names another host.
    #[error(
        "{} names the host `{host}`; only `file:///PATH` and `file://localhost/PATH` name a \
         local file",
        shown(uri)
    )]
    RemoteFileUri {
        /// The URI as given.
        uri: String,
        /// The host it names.
        host: String,
    },
    /// A URI of another scheme (`https://`, `demo://`): not a file on this machine.
    #[error(
        "{} is a `{scheme}:` URI, not a file path; only plain paths and `file://` URIs name a \
         file",
        shown(uri)
    )]
    NotAFileUri {
        /// The URI as given.
        uri: String,
        /// Its scheme.
        scheme: String,
    },
    /// A `file://` URI with `?` or `#`, whose path would be cut short there.
    #[error(
        "{} has a query or fragment (`?` or `#`); if they are part of the file name, \
         percent-encode them (`%3F`, `%23`)",
        shown(uri)
    )]
    FileUriQuery {
        /// The URI as given.
        uri: String,
    },
    /// `~user/…`.
    #[error(
        "{} starts with `~user`, which is not supported; give the absolute path",
        shown(path)
    )]
    TildeUser {
        /// The path as given.
        path: String,
    },
    /// `~` with no home directory to expand it to.
    #[error(
        "{} starts with `~` but the server's home directory is unknown; give the absolute path",
        shown(path)
    )]
    HomeUnknown {
        /// The path as given.
        path: String,
    },
    /// The base directory or home directory given to [`canonical_path`] is not absolute.
    #[error("the {which} directory `{}` is not absolute; pass an absolute directory", dir.display())]
    DirectoryNotAbsolute {
        /// `base` or `home`.
        which: &'static str,
        /// The directory.
        dir: PathBuf,
    },
    /// Too many symbolic links.
    #[error(
        "{} goes through more than {MAX_SYMLINKS} symbolic links (a loop?); give the real path",
        shown(path)
    )]
    SymlinkLoop {
        /// The path as given.
        path: String,
    },
    /// The filesystem could not answer (other than "does not exist").
    #[error("cannot resolve {} at `{}`: {source}", shown(path), at.display())]
    Io {
        /// The path as given.
        path: String,
        /// The component being resolved.
        at: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The resolved path is not UTF-8 (a symbolic link target), so no policy can read it.
    #[error("{} resolves to `{}`, which is not UTF-8", shown(path), resolved.display())]
    NotUtf8 {
        /// The path as given.
        path: String,
        /// What it resolved to.
        resolved: PathBuf,
    },
}

/// A `Path` argument that [`rewrite_path_arguments`] could not rewrite.
#[derive(Debug, thiserror::Error)]
#[error("invalid path argument `{argument}`: {problem}")]
pub struct PathArgumentError {
    /// The argument, with its place inside sets and records: `path`, `paths[1]`, `opts.dir`.
    pub argument: String,
    /// What is wrong with its value.
    pub problem: PathError,
}

/// Quotes a path for a message, escaping control characters and shortening long ones.
fn shown(path: &str) -> String {
    match path.char_indices().nth(SHOWN_LEN) {
        Some((cut, _)) => format!("{:?}…", &path[..cut]),
        None => format!("{path:?}"),
    }
}

/// Checks that `raw` is a canonical absolute path — or a `file://` URI of one — and returns
/// the plain path a policy sees. Touches no filesystem.
///
/// Canonical: starts with `/`; no `.`, `..` or empty segments; no trailing `/` (except `/`
/// itself); no `~` at the start; no NUL; no backslash; no percent-escape that decodes (in any
/// number of rounds) to `.`, `/`, `\` or NUL, nor their `%uXXXX` or overlong UTF-8 forms. A `file://` URI (`file:///PATH`,
/// `file://localhost/PATH` or `file:/PATH`, no `?` or `#`) is percent-decoded and its path
/// must then be canonical by the same rules.
pub fn check_canonical_path(raw: &str) -> Result<String, PathError> {
    let path = plain_path(raw)?;
    check_lexically_canonical(&path)?;
    Ok(path)
}

/// Turns `raw` into the file it names on this machine, as an absolute path with no `.`, `..`,
/// `~` or symbolic links.
///
/// In order: refuses NUL, backslashes and percent-escapes of `.`, `/`, `\` or NUL; decodes a
/// `file://` URI to its path; expands a leading `~` or `~/` with `home`; joins a relative path
/// to `base_dir` (the server's working directory); removes `.` and `..` lexically (as the
/// server's `path.resolve` would); then walks the path from `/`, following every symbolic
/// link it meets, and appends the components that do not exist yet unchanged. Unlike
/// `std::fs::canonicalize` of the longest existing prefix, the walk also follows a *dangling*
/// link (`project/new → ~/.ssh/authorized_keys`, target absent), which a server's `write_file`
/// would follow to create its target.
///
/// The result always passes [`check_canonical_path`] unless a link target itself has a name
/// with a backslash or percent-escape, which the `Path` type then refuses.
pub fn canonical_path(
    raw: &str,
    base_dir: &Path,
    home: Option<&Path>,
) -> Result<String, PathError> {
    let path = plain_path(raw)?;
    let absolute = if path == "~" || path.starts_with("~/") {
        let home = home.ok_or_else(|| PathError::HomeUnknown { path: raw.into() })?;
        require_absolute("home", home)?;
        home.join(path.trim_start_matches('~').trim_start_matches('/'))
    } else if path.starts_with('~') {
        return Err(PathError::TildeUser { path: raw.into() });
    } else if path.starts_with('/') {
        PathBuf::from(&path)
    } else {
        require_absolute("base", base_dir)?;
        base_dir.join(&path)
    };

    let mut pending: VecDeque<Part> = VecDeque::new();
    push_parts(&mut pending, &absolute);
    let resolved = resolve(raw, pending)?;
    resolved
        .into_os_string()
        .into_string()
        .map_err(|resolved| PathError::NotUtf8 {
            path: raw.into(),
            resolved: resolved.into(),
        })
}

/// Rewrites, in place, every argument of `tool` declared `Path` (also inside `Set<…>` and
/// records) with [`canonical_path`], so that the surface can authorize the rewritten
/// arguments and forward exactly those to the server.
///
/// `base_dir` is the server's working directory and `home` its home directory. Arguments of
/// another type, undeclared arguments and values of the wrong JSON type are left alone (the
/// engine denies a wrongly typed value); a tool without configuration has nothing to rewrite.
pub fn canonicalize_path_arguments(
    config: &PolicyConfig,
    tool: &str,
    arguments: &mut Value,
    base_dir: &Path,
    home: Option<&Path>,
) -> Result<(), PathArgumentError> {
    rewrite_path_arguments(config, tool, arguments, |raw| {
        canonical_path(raw, base_dir, home)
    })
}

/// Rewrites, in place, every argument of `tool` declared `Path` (also inside `Set<…>` and
/// records) with `rewrite`; the first failure names the argument. With
/// [`check_canonical_path`] as `rewrite`, a surface that cannot see the server's filesystem
/// forwards `file://` URIs as the plain paths the policy checked.
pub fn rewrite_path_arguments(
    config: &PolicyConfig,
    tool: &str,
    arguments: &mut Value,
    mut rewrite: impl FnMut(&str) -> Result<String, PathError>,
) -> Result<(), PathArgumentError> {
    let (Some(tool), Value::Object(map)) = (config.tools.get(tool), arguments) else {
        return Ok(());
    };
    for (name, ty) in &tool.arguments {
        if let Some(value) = map.get_mut(name) {
            rewrite_value(ty, value, name.clone(), &mut rewrite)?;
        }
    }
    Ok(())
}

fn rewrite_value(
    ty: &ArgType,
    value: &mut Value,
    at: String,
    rewrite: &mut impl FnMut(&str) -> Result<String, PathError>,
) -> Result<(), PathArgumentError> {
    match (ty, value) {
        (ArgType::Path, Value::String(text)) => {
            *text = rewrite(text).map_err(|problem| PathArgumentError {
                argument: at,
                problem,
            })?;
        }
        (ArgType::Set(inner), Value::Array(items)) => {
            for (i, item) in items.iter_mut().enumerate() {
                rewrite_value(inner, item, format!("{at}[{i}]"), rewrite)?;
            }
        }
        (ArgType::Record(fields), Value::Object(map)) => {
            for (name, field_ty) in fields {
                if let Some(field) = map.get_mut(name) {
                    rewrite_value(field_ty, field, format!("{at}.{name}"), rewrite)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn require_absolute(which: &'static str, dir: &Path) -> Result<(), PathError> {
    if dir.is_absolute() {
        Ok(())
    } else {
        Err(PathError::DirectoryNotAbsolute {
            which,
            dir: dir.to_path_buf(),
        })
    }
}

/// The path `raw` names before any lexical check: `raw` itself, or a `file://` URI decoded.
/// Refuses NUL, backslashes and ambiguous percent-escapes in either.
fn plain_path(raw: &str) -> Result<String, PathError> {
    if raw.is_empty() {
        return Err(PathError::Empty);
    }
    if raw.contains('\0') {
        return Err(PathError::Nul { path: raw.into() });
    }
    let path = if is_file_uri(raw) {
        decode_file_uri(raw)?
    } else if let Some(scheme) = uri_scheme(raw) {
        return Err(PathError::NotAFileUri {
            uri: raw.into(),
            scheme: scheme.into(),
        });
    } else {
        raw.to_owned()
    };
    if path.contains('\\') {
        return Err(PathError::Backslash { path: raw.into() });
    }
    check_escapes(raw, &path)?;
    Ok(path)
}

/// The scheme of `raw` when it is written as a URI with an authority (`scheme://…`, RFC 3986
/// scheme syntax), else `None`.
fn uri_scheme(raw: &str) -> Option<&str> {
    let (scheme, _) = raw.split_once("://")?;
    let mut chars = scheme.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    (starts_with_letter && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)))
        .then_some(scheme)
}

fn is_file_uri(raw: &str) -> bool {
    raw.get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("file:"))
}

/// `file:///PATH`, `file://localhost/PATH` or `file:/PATH` (RFC 8089) → PATH, percent-decoded.
fn decode_file_uri(uri: &str) -> Result<String, PathError> {
    if uri.contains(['?', '#']) {
        return Err(PathError::FileUriQuery { uri: uri.into() });
    }
    let rest = &uri[5..];
    let encoded = match rest.strip_prefix("//") {
        Some(after) => {
            let (host, path) = after.split_at(after.find('/').unwrap_or(after.len()));
            if !(host.is_empty() || host.eq_ignore_ascii_case("localhost")) {
                return Err(PathError::RemoteFileUri {
                    uri: uri.into(),
                    host: host.into(),
                });
            }
            path
        }
        None => rest,
    };
    if !encoded.starts_with('/') {
        return Err(PathError::NotAbsolute { path: uri.into() });
    }
    let malformed = || PathError::MalformedUri { uri: uri.into() };
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut rest = encoded.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let decoded = tail
                .get(..2)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or_else(malformed)?;
            match decoded {
                0 => return Err(PathError::Nul { path: uri.into() }),
                b'/' | b'\\' => {
                    return Err(PathError::AmbiguousEscape {
                        path: uri.into(),
                        escape: format!("%{}", String::from_utf8_lossy(&tail[..2])),
                        decoded: if decoded == b'/' { "`/`" } else { "`\\`" },
                        rounds: 1,
                    });
                }
                _ => bytes.push(decoded),
            }
            rest = &tail[2..];
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    String::from_utf8(bytes).map_err(|_| malformed())
}

/// Refuses a percent-escape of `.`, `/`, `\` or NUL in `path`, also one that appears only
/// after decoding (`%252e` → `%2e` → `.`), for servers that decode more than once.
fn check_escapes(raw: &str, path: &str) -> Result<(), PathError> {
    const MAX_ROUNDS: usize = 4;
    let mut text = path.to_owned();
    for rounds in 1..=MAX_ROUNDS {
        if let Some((escape, decoded)) = find_ambiguous_escape(&text) {
            return Err(PathError::AmbiguousEscape {
                path: raw.into(),
                escape,
                decoded,
                rounds,
            });
        }
        let next = percent_decode_lossy(&text);
        if next == text {
            break;
        }
        text = next;
    }
    Ok(())
}

/// The first escape in `text` of `.`, `/`, `\` or NUL: `%XX`, IIS's `%uXXXX`, or `%C0`/`%C1`,
/// lead bytes of overlong UTF-8 forms (`%C0%AE` is `.` to a lax decoder).
fn find_ambiguous_escape(text: &str) -> Option<(String, &'static str)> {
    let name = |code: u32| match code {
        0x2e => Some("`.`"),
        0x2f => Some("`/`"),
        0x5c => Some("`\\`"),
        0 => Some("NUL"),
        _ => None,
    };
    let bytes = text.as_bytes();
    (0..bytes.len())
        .filter(|&i| bytes[i] == b'%')
        .find_map(|i| {
            let hex_at = |from: usize, len: usize| {
                let hex = std::str::from_utf8(bytes.get(from..from + len)?).ok()?;
                u32::from_str_radix(hex, 16).ok().map(|code| (hex, code))
            };
            if matches!(bytes.get(i + 1), Some(b'u' | b'U')) {
                let (hex, code) = hex_at(i + 2, 4)?;
                return name(code).map(|decoded| (format!("%u{hex}"), decoded));
            }
            let (hex, code) = hex_at(i + 1, 2)?;
            let decoded = match code {
                0xc0 | 0xc1 => "an overlong UTF-8 byte (`.` or `/` to a lax decoder)",
                code => name(code)?,
            };
            Some((format!("%{hex}"), decoded))
        })
}

/// Decodes every well-formed `%XX`; leaves a malformed `%` as it is.
fn percent_decode_lossy(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The lexical rules of [`check_canonical_path`] on an already decoded path.
fn check_lexically_canonical(path: &str) -> Result<(), PathError> {
    let owned = || path.to_owned();
    if path.starts_with('~') {
        return Err(PathError::Tilde { path: owned() });
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(PathError::NotAbsolute { path: owned() });
    };
    if rest.is_empty() {
        return Ok(());
    }
    if rest.ends_with('/') {
        // `/a/` and `/a//`: a trailing slash, however many.
        return Err(PathError::TrailingSlash { path: owned() });
    }
    for segment in rest.split('/') {
        match segment {
            "" => return Err(PathError::EmptySegment { path: owned() }),
            "." | ".." => {
                return Err(PathError::DotSegment {
                    path: owned(),
                    segment: if segment == "." { "." } else { ".." },
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// One step of a path being resolved.
#[derive(Debug)]
enum Part {
    /// Back to `/`: the start of an absolute link target.
    Root,
    /// `..`.
    Parent,
    /// A name.
    Name(OsString),
}

fn push_parts(pending: &mut VecDeque<Part>, path: &Path) {
    let parts: Vec<Part> = path
        .components()
        .filter_map(|c| match c {
            Component::RootDir | Component::Prefix(_) => Some(Part::Root),
            Component::CurDir => None,
            Component::ParentDir => Some(Part::Parent),
            Component::Normal(name) => Some(Part::Name(name.to_os_string())),
        })
        .collect();
    for part in parts.into_iter().rev() {
        pending.push_front(part);
    }
}

/// Walks `pending` from `/`. `..` of the path itself is applied before any link is followed
/// (the server's `path.resolve` does the same); `..` inside a link target applies to the real
/// directory the link is in, as the kernel would.
fn resolve(raw: &str, mut pending: VecDeque<Part>) -> Result<PathBuf, PathError> {
    let mut lexical = Vec::new();
    for part in pending.drain(..) {
        match part {
            Part::Root => lexical.clear(),
            Part::Parent => {
                lexical.pop();
            }
            Part::Name(name) => lexical.push(name),
        }
    }
    pending.extend(lexical.into_iter().map(Part::Name));

    let mut current = PathBuf::from("/");
    let mut links = 0;
    while let Some(part) = pending.pop_front() {
        let name = match part {
            Part::Root => {
                current = PathBuf::from("/");
                continue;
            }
            Part::Parent => {
                // `current` is a real directory here (a link was just found in it), or a
                // path that does not exist, where `..` can only be lexical.
                current.pop();
                continue;
            }
            Part::Name(name) => name,
        };
        let candidate = current.join(&name);
        match std::fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(PathError::SymlinkLoop { path: raw.into() });
                }
                let target = std::fs::read_link(&candidate).map_err(|source| PathError::Io {
                    path: raw.into(),
                    at: candidate.clone(),
                    source,
                })?;
                push_parts(&mut pending, &target);
            }
            Ok(_) => current = candidate,
            // What does not exist yet (a file `write_file` will create) is kept as named.
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                current = candidate;
            }
            Err(source) => {
                return Err(PathError::Io {
                    path: raw.into(),
                    at: candidate,
                    source,
                });
            }
        }
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    #[test]
    fn uris_of_other_schemes_are_not_paths() {
        let base = std::path::Path::new("/srv/project");
        for uri in [
            "demo://resource/dynamic/text/1",
            "https://example.com/a",
            "s3://bucket/k",
        ] {
            assert!(
                matches!(
                    canonical_path(uri, base, None),
                    Err(PathError::NotAFileUri { .. })
                ),
                "{uri}"
            );
            assert!(check_canonical_path(uri).is_err(), "{uri}");
        }
        // A relative path with a colon in a folder name is still a path.
        assert_eq!(
            canonical_path("notes:2026/a.txt", base, None).unwrap(),
            "/srv/project/notes:2026/a.txt"
        );
    }

    use super::*;

    fn refused(raw: &str) -> PathError {
        match check_canonical_path(raw) {
            Ok(path) => panic!("{raw:?} accepted as {path:?}"),
            Err(err) => err,
        }
    }

    #[test]
    fn accepts_canonical_absolute_paths() {
        for path in [
            "/",
            "/proj",
            "/proj/a.txt",
            "/proj/.hidden",
            "/proj/a..b",
            "/p/100%.txt",
        ] {
            assert_eq!(check_canonical_path(path).unwrap(), path);
        }
        assert_eq!(check_canonical_path("/proj/a%20b").unwrap(), "/proj/a%20b");
    }

    #[test]
    fn refuses_each_non_canonical_spelling_with_its_reason() {
        assert!(matches!(refused(""), PathError::Empty));
        assert!(matches!(refused("/proj/a\0.txt"), PathError::Nul { .. }));
        assert!(matches!(refused("proj/a"), PathError::NotAbsolute { .. }));
        assert!(matches!(refused("./a"), PathError::NotAbsolute { .. }));
        assert!(matches!(refused("~/x"), PathError::Tilde { .. }));
        assert!(matches!(refused("~"), PathError::Tilde { .. }));
        assert!(matches!(
            refused("/proj/../etc/passwd"),
            PathError::DotSegment { segment: "..", .. }
        ));
        assert!(matches!(
            refused("/proj/./a"),
            PathError::DotSegment { segment: ".", .. }
        ));
        assert!(matches!(refused("/proj/."), PathError::DotSegment { .. }));
        assert!(matches!(
            refused("/proj//a"),
            PathError::EmptySegment { .. }
        ));
        assert!(matches!(refused("//proj"), PathError::EmptySegment { .. }));
        assert!(matches!(refused("/proj/"), PathError::TrailingSlash { .. }));
        assert!(matches!(
            refused("/proj\\..\\x"),
            PathError::Backslash { .. }
        ));
        assert!(matches!(refused("C:\\x"), PathError::Backslash { .. }));
        assert!(matches!(
            refused("/proj/%2e%2e/x"),
            PathError::AmbiguousEscape {
                decoded: "`.`",
                rounds: 1,
                ..
            }
        ));
        assert!(matches!(
            refused("/proj/..%2Fetc"),
            PathError::AmbiguousEscape { decoded: "`/`", .. }
        ));
        assert!(matches!(
            refused("/proj/a%5c"),
            PathError::AmbiguousEscape {
                decoded: "`\\`",
                ..
            }
        ));
        assert!(matches!(
            refused("/proj/a%00.txt"),
            PathError::AmbiguousEscape { decoded: "NUL", .. }
        ));
        assert!(matches!(
            refused("/proj/%c0%ae%c0%ae/x"),
            PathError::AmbiguousEscape { .. }
        ));
        assert!(matches!(
            refused("/proj/%u002e%u002e/x"),
            PathError::AmbiguousEscape { decoded: "`.`", .. }
        ));
        assert!(matches!(
            refused("/proj/%252e%252e/x"),
            PathError::AmbiguousEscape { rounds: 2, .. }
        ));
    }

    #[test]
    fn messages_say_the_path_must_be_canonical_and_why() {
        let message = refused("/proj/../etc/passwd").to_string();
        assert!(message.contains("not a canonical path"), "{message}");
        assert!(message.contains("`..` segment"), "{message}");
        let message = refused("proj/a").to_string();
        assert!(message.contains("relative"), "{message}");
        let message = refused("/proj/%2e%2e/x").to_string();
        assert!(
            message.contains("`%2e`") && message.contains("decodes"),
            "{message}"
        );
        let long = format!("/{}", "a".repeat(10_000));
        let message = refused(&format!("{long}/")).to_string();
        assert!(message.len() < 400, "{} bytes", message.len());
    }

    #[test]
    fn decodes_local_file_uris_and_checks_their_path() {
        assert_eq!(
            check_canonical_path("file:///proj/a.txt").unwrap(),
            "/proj/a.txt"
        );
        assert_eq!(
            check_canonical_path("FILE://LocalHost/proj/a%20b.txt").unwrap(),
            "/proj/a b.txt"
        );
        assert_eq!(check_canonical_path("file:/proj/a").unwrap(), "/proj/a");
        assert_eq!(check_canonical_path("file:///").unwrap(), "/");
        assert!(matches!(
            refused("file://evil.example/proj/a"),
            PathError::RemoteFileUri { .. }
        ));
        assert!(matches!(
            refused("file:///proj/%2e%2e/etc/passwd"),
            PathError::DotSegment { segment: "..", .. }
        ));
        assert!(matches!(
            refused("file:///proj/..%2fetc"),
            PathError::AmbiguousEscape { decoded: "`/`", .. }
        ));
        assert!(matches!(
            refused("file:///proj/a%00"),
            PathError::Nul { .. }
        ));
        assert!(matches!(
            refused("file:///proj/a%zz"),
            PathError::MalformedUri { .. }
        ));
        assert!(matches!(
            refused("file:///proj/%ff"),
            PathError::MalformedUri { .. }
        ));
        assert!(matches!(
            refused("file:///proj/a?x"),
            PathError::FileUriQuery { .. }
        ));
        assert!(matches!(
            refused("file:proj/a"),
            PathError::NotAbsolute { .. }
        ));
        assert!(matches!(
            refused("file:///proj/%252e%252e"),
            PathError::AmbiguousEscape { .. }
        ));
    }

    #[test]
    fn lexical_rewrite_turns_file_uris_into_plain_paths_in_sets_and_records() {
        let config: PolicyConfig = toml::from_str::<crate::config::RawPolicyConfig>(
            r#"
            [tools.read_multiple_files]
            arguments = { paths = "Set<Path>", opts = "{ root: Path, depth: Long }", tag = "String" }
            "#,
        )
        .unwrap()
        .validate()
        .unwrap();
        let mut arguments = serde_json::json!({
            "paths": ["file:///proj/a", "/proj/b"],
            "opts": {"root": "file://localhost/proj", "depth": 2},
            "tag": "file:///kept",
            "undeclared": "file:///kept",
        });
        rewrite_path_arguments(
            &config,
            "read_multiple_files",
            &mut arguments,
            check_canonical_path,
        )
        .unwrap();
        assert_eq!(
            arguments,
            serde_json::json!({
                "paths": ["/proj/a", "/proj/b"],
                "opts": {"root": "/proj", "depth": 2},
                "tag": "file:///kept",
                "undeclared": "file:///kept",
            })
        );
        let mut bad = serde_json::json!({"paths": ["/proj/a", "/proj/../x"]});
        let err = rewrite_path_arguments(
            &config,
            "read_multiple_files",
            &mut bad,
            check_canonical_path,
        )
        .unwrap_err();
        assert_eq!(err.argument, "paths[1]");
        let mut bad = serde_json::json!({"opts": {"root": "rel"}});
        let err = rewrite_path_arguments(&config, "read_multiple_files", &mut bad, |p| {
            check_canonical_path(p)
        })
        .unwrap_err();
        assert_eq!(err.argument, "opts.root");
        // Unknown tools and wrongly typed values are left for the engine.
        let mut other = serde_json::json!({"paths": "/proj/../x"});
        rewrite_path_arguments(&config, "read_multiple_files", &mut other, |p| {
            check_canonical_path(p)
        })
        .unwrap();
        rewrite_path_arguments(&config, "unknown", &mut bad, check_canonical_path).unwrap();
    }
}
