//! The prefilter for text that is read rather than run: which lines are worth lexing.
//!
//! Two stages, so that ordinary prose costs a few SIMD passes:
//! 1. **Anchors**, found with `memchr`/`memmem`: bytes that command lines carry and prose
//!    rarely does — a path separator `/`, `~`, a backtick, `$`, `{`, or a flag after a space
//!    (` -x`). In typical text about 4% of lines have one; markdown tables (`|`) and
//!    punctuation do not count.
//! 2. **Triggers**, on anchored lines only: an Aho-Corasick automaton over command names and
//!    paths of interest (`rm`, `curl`, `/dev/tcp/`, `authorized_keys`, …), case-insensitive,
//!    with word boundaries checked for short names.
//!
//! A command with no anchor at all (`unset HISTFILE`, `wevtutil cl Security`) is therefore not
//! seen in prose. Command arguments of tool calls do not go through this filter: they are
//! lexed whole.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Input, MatchKind};
use memchr::memmem;

/// How a trigger must sit in the text to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Boundary {
    /// Not inside a longer word on either side (`rm`, not `form`).
    Word,
    /// Not preceded by a word character (`history -c`, not `prehistory -`).
    Start,
    /// Anywhere (`/dev/tcp/`, `authorized_keys`).
    Any,
}

/// Command names and paths that make an anchored line worth lexing.
pub(crate) const TRIGGERS: &[(&str, Boundary)] = &[
    ("rm", Boundary::Word),
    ("srm", Boundary::Word),
    ("unlink", Boundary::Word),
    ("rmdir", Boundary::Word),
    ("rd", Boundary::Word),
    ("del", Boundary::Word),
    ("remove-item", Boundary::Word),
    ("find", Boundary::Word),
    ("shred", Boundary::Word),
    ("rsync", Boundary::Word),
    ("mv", Boundary::Word),
    ("dd", Boundary::Word),
    ("mkfs", Boundary::Word),
    ("mke2fs", Boundary::Word),
    ("mkswap", Boundary::Word),
    ("wipefs", Boundary::Word),
    ("blkdiscard", Boundary::Word),
    ("sgdisk", Boundary::Word),
    ("hdparm", Boundary::Word),
    ("cryptsetup", Boundary::Word),
    ("parted", Boundary::Word),
    ("format", Boundary::Word),
    ("chmod", Boundary::Word),
    ("chown", Boundary::Word),
    ("chgrp", Boundary::Word),
    ("curl", Boundary::Word),
    ("wget", Boundary::Word),
    ("iwr", Boundary::Word),
    ("irm", Boundary::Word),
    ("iex", Boundary::Word),
    ("invoke-", Boundary::Any),
    ("downloadstring", Boundary::Any),
    ("downloadfile", Boundary::Any),
    ("certutil", Boundary::Word),
    ("bitsadmin", Boundary::Word),
    ("nc", Boundary::Word),
    ("ncat", Boundary::Word),
    ("netcat", Boundary::Word),
    ("socat", Boundary::Word),
    ("telnet", Boundary::Word),
    ("mkfifo", Boundary::Word),
    ("/dev/", Boundary::Any),
    ("physicaldrive", Boundary::Any),
    ("socket", Boundary::Any),
    ("fsockopen", Boundary::Any),
    ("child_process", Boundary::Any),
    ("tcpclient", Boundary::Any),
    ("/inet/", Boundary::Any),
    ("history -", Boundary::Start),
    ("+o history", Boundary::Any),
    ("_history", Boundary::Any),
    ("histfile", Boundary::Any),
    ("histsize", Boundary::Any),
    ("/var/log", Boundary::Any),
    ("/var/adm", Boundary::Any),
    ("journalctl", Boundary::Word),
    ("auditctl", Boundary::Word),
    ("auditd", Boundary::Word),
    ("rsyslog", Boundary::Word),
    ("wevtutil", Boundary::Word),
    ("eventlog", Boundary::Any),
    ("crontab", Boundary::Any),
    ("/cron", Boundary::Any),
    ("systemd", Boundary::Any),
    ("bashrc", Boundary::Any),
    ("profile", Boundary::Any),
    ("zshrc", Boundary::Any),
    ("zshenv", Boundary::Any),
    ("zlogin", Boundary::Any),
    ("config.fish", Boundary::Any),
    ("/etc/environment", Boundary::Any),
    ("authorized_keys", Boundary::Any),
    ("launchagents", Boundary::Any),
    ("launchdaemons", Boundary::Any),
    ("launchctl", Boundary::Word),
    ("rc.local", Boundary::Any),
    ("init.d", Boundary::Any),
    ("autostart", Boundary::Any),
    ("sudoers", Boundary::Any),
    ("/etc/passwd", Boundary::Any),
    ("/etc/shadow", Boundary::Any),
    ("/etc/group", Boundary::Any),
    ("gshadow", Boundary::Any),
    ("ld.so.preload", Boundary::Any),
    ("schtasks", Boundary::Word),
    ("currentversion", Boundary::Any),
    ("useradd", Boundary::Word),
    ("usermod", Boundary::Word),
    ("miner", Boundary::Any),
    ("xmrig", Boundary::Any),
    ("xmr-stak", Boundary::Any),
    ("stratum", Boundary::Any),
    ("donate-level", Boundary::Any),
    (".ssh", Boundary::Any),
    ("/etc/ssh", Boundary::Any),
    (".aws", Boundary::Any),
    (".kube", Boundary::Any),
    (".docker", Boundary::Any),
    ("netrc", Boundary::Any),
    ("credentials", Boundary::Any),
    ("gcloud", Boundary::Any),
    (".azure", Boundary::Any),
    ("login data", Boundary::Any),
    ("cookies", Boundary::Any),
    ("key4.db", Boundary::Any),
    ("key3.db", Boundary::Any),
    ("logins.json", Boundary::Any),
    ("signons.sqlite", Boundary::Any),
    ("local state", Boundary::Any),
    ("web data", Boundary::Any),
    ("keychain", Boundary::Any),
    ("-password", Boundary::Any),
    (".npmrc", Boundary::Any),
    (".pypirc", Boundary::Any),
    (".pgpass", Boundary::Any),
    (".my.cnf", Boundary::Any),
    (".vault-token", Boundary::Any),
    ("private-keys", Boundary::Any),
    ("secring", Boundary::Any),
    ("mimikatz", Boundary::Any),
    ("lsass", Boundary::Any),
    ("hklm", Boundary::Any),
    ("(){", Boundary::Any),
    ("() {", Boundary::Any),
    ("%0|%0", Boundary::Any),
    ("fork while", Boundary::Any),
    ("os.fork", Boundary::Any),
    ("base64", Boundary::Any),
    ("base32", Boundary::Any),
    ("xxd", Boundary::Word),
    ("eval", Boundary::Word),
    ("exec", Boundary::Word),
    ("alias", Boundary::Word),
    ("-rf", Boundary::Any),
    ("-fr", Boundary::Any),
    ("--no-preserve-root", Boundary::Any),
    ("--recursive", Boundary::Any),
    ("ifs", Boundary::Word),
    ("\\x", Boundary::Any),
    ("$'", Boundary::Any),
    ("/???/", Boundary::Any),
];

/// Finds lines worth lexing.
#[derive(Debug)]
pub(crate) struct Prefilter {
    triggers: AhoCorasick,
    flag: memmem::Finder<'static>,
    fork_bomb: memmem::Finder<'static>,
}

impl Prefilter {
    pub(crate) fn new() -> Prefilter {
        let patterns = TRIGGERS.iter().map(|(pattern, _)| pattern);
        let triggers = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .kind(Some(AhoCorasickKind::DFA))
            .build(patterns.clone())
            .or_else(|_| AhoCorasick::new(patterns));
        Prefilter {
            // The trigger list is a constant covered by tests: failure is a bug here.
            triggers: match triggers {
                Ok(triggers) => triggers,
                Err(err) => panic!("shell trigger automaton failed to build: {err}"),
            },
            flag: memmem::Finder::new(" -"),
            fork_bomb: memmem::Finder::new("%0|%0"),
        }
    }

    /// Anchor positions of `text`, in increasing order.
    pub(crate) fn anchors<'p, 't>(&'p self, text: &'t str) -> Anchors<'p, 't> {
        Anchors {
            prefilter: self,
            bytes: text.as_bytes(),
            cached: [Cached::Unknown; 4],
        }
    }

    /// The first trigger in `text[start..end]` that sits as its pattern requires.
    pub(crate) fn trigger_in(&self, text: &str, start: usize, end: usize) -> Option<usize> {
        let bytes = text.as_bytes();
        let end = end.min(bytes.len());
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let mut from = start;
        while from < end {
            let found = self.triggers.find(Input::new(bytes).span(from..end))?;
            let (_, boundary) = TRIGGERS.get(found.pattern().as_usize())?;
            let before = found
                .start()
                .checked_sub(1)
                .and_then(|p| bytes.get(p))
                .is_some_and(|&b| word(b));
            let after = bytes.get(found.end()).is_some_and(|&b| word(b));
            let ok = match boundary {
                Boundary::Any => true,
                Boundary::Start => !before,
                Boundary::Word => !before && !after,
            };
            if ok {
                return Some(found.start());
            }
            from = found.start() + 1;
        }
        None
    }
}

#[derive(Debug, Clone, Copy)]
enum Cached {
    Unknown,
    At(usize),
    Done,
}

/// A lazy, in-order merge of the anchor searches.
#[derive(Debug)]
pub(crate) struct Anchors<'p, 't> {
    prefilter: &'p Prefilter,
    bytes: &'t [u8],
    cached: [Cached; 4],
}

impl Anchors<'_, '_> {
    /// The first anchor at or after `from`.
    pub(crate) fn next_from(&mut self, from: usize) -> Option<usize> {
        let mut best: Option<usize> = None;
        for source in 0..self.cached.len() {
            let hit = match self.cached[source] {
                Cached::Done => continue,
                Cached::At(at) if at >= from => Some(at),
                _ => self.search(source, from),
            };
            self.cached[source] = hit.map_or(Cached::Done, Cached::At);
            if let Some(at) = hit {
                best = Some(best.map_or(at, |b| b.min(at)));
            }
        }
        best
    }

    fn search(&self, source: usize, from: usize) -> Option<usize> {
        let rest = self.bytes.get(from..)?;
        let found = match source {
            0 => memchr::memchr3(b'/', b'~', b'`', rest),
            1 => memchr::memchr2(b'$', b'{', rest),
            2 => self.prefilter.flag.find_iter(rest).find(|&p| {
                rest.get(p + 2)
                    .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'-')
            }),
            _ => self.prefilter.fork_bomb.find(rest),
        };
        found.map(|p| from + p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_skip_prose_and_tables() {
        let prefilter = Prefilter::new();
        let text = "| a | b |\nplain words, well-known - dashes\nrun `rm -rf ~` now\n";
        let mut anchors = prefilter.anchors(text);
        let first = anchors.next_from(0).unwrap();
        assert_eq!(&text[first..first + 1], "`");
        assert!(prefilter.trigger_in(text, 0, text.len()).is_some());
        assert_eq!(prefilter.trigger_in("a form of art", 0, 13), None);
    }
}
