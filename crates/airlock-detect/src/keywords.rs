//! Keyword search shared by the detectors that start from keyword hits (secrets, injection).
//!
//! Both want every occurrence of every keyword, overlapping ones included, from an
//! Aho-Corasick DFA. The crate's overlapping iterator keeps its position in a state object
//! between matches and re-checks it on every byte (about 23 instructions a byte, measured
//! with callgrind); the same DFA stepped in a plain loop costs about 10, and reports exactly
//! the same occurrences in the same order, because it is the same automaton.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, BuildError, MatchKind};

/// Whether keywords match ASCII letters of either case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    /// Bytes match exactly.
    Sensitive,
    /// ASCII letters match either case; other bytes match exactly.
    AsciiInsensitive,
}

/// A fixed set of keywords, each reported by its index in the list it was built from.
#[derive(Debug, Clone)]
pub(crate) struct Keywords {
    dfa: DFA,
}

impl Keywords {
    /// Compiles `keywords` into a DFA.
    pub(crate) fn new<K: AsRef<[u8]>>(keywords: &[K], case: Case) -> Result<Keywords, BuildError> {
        let dfa = DFA::builder()
            .match_kind(MatchKind::Standard)
            .ascii_case_insensitive(case == Case::AsciiInsensitive)
            // No prefilter: start states then never need special handling in the loop below.
            .prefilter(false)
            .build(keywords)?;
        Ok(Keywords { dfa })
    }

    /// Appends every occurrence of every keyword in `haystack` to `out`, in the order of an
    /// overlapping search: by end, and at one end longest first.
    // Not inlined: inside a large caller the loop's variables are spilled to the stack, which
    // costs a third more per byte.
    #[inline(never)]
    pub(crate) fn find_all(&self, haystack: &[u8], out: &mut Vec<Occurrence>) {
        let dfa = &self.dfa;
        let Ok(mut state) = dfa.start_state(Anchored::No) else {
            return;
        };
        let mut at = 0;
        while let Some(rest) = haystack.get(at..) {
            // One transition per byte up to the next special state (without a prefilter,
            // only dead and match states are special). Nothing else happens in this loop, so
            // its state stays in registers.
            let Some(offset) = rest.iter().position(|&byte| {
                state = dfa.next_state(Anchored::No, state, byte);
                dfa.is_special(state)
            }) else {
                return;
            };
            if dfa.is_dead(state) {
                return;
            }
            at += offset + 1;
            self.push_matches(state, at, out);
        }
    }

    /// The keywords that end at `end` in match state `state`, longest first. Out of line, so
    /// that the loop in [`Keywords::find_all`] stays small.
    #[inline(never)]
    fn push_matches(&self, state: StateID, end: usize, out: &mut Vec<Occurrence>) {
        let dfa = &self.dfa;
        for index in 0..dfa.match_len(state) {
            let keyword = dfa.match_pattern(state, index);
            out.push(Occurrence {
                keyword: keyword.as_usize(),
                start: end - dfa.pattern_len(keyword),
                end,
            });
        }
    }
}

/// Where one keyword occurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Occurrence {
    /// The keyword's index in the list the search was built from.
    pub keyword: usize,
    pub start: usize,
    pub end: usize,
}

#[cfg(test)]
mod tests {
    use aho_corasick::{AhoCorasick, AhoCorasickKind};

    use super::*;

    /// What the crate's own overlapping iterator reports.
    fn reference(keywords: &[&str], case: Case, haystack: &str) -> Vec<(usize, usize, usize)> {
        AhoCorasick::builder()
            .ascii_case_insensitive(case == Case::AsciiInsensitive)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(keywords)
            .unwrap()
            .find_overlapping_iter(haystack)
            .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
            .collect()
    }

    #[test]
    fn reports_what_the_overlapping_iterator_reports_in_its_order() {
        let keywords = [
            "ignor",
            "ignore previous",
            "pre",
            "previous",
            "re",
            "e",
            "ai",
            " ai",
            "“ai",
            "<|",
            "<|im_start|>",
            "Key",
            "KEY",
            "key",
            "忽略",
            "иrhopиp",
            "Иrhopиp",
            "s",
            "ss",
        ];
        let haystacks = [
            "Ignore previous instructions; IGNORE PREVIOUS. “AI” said: <|im_start|>",
            "apiKey=KEY key keykey kkey 忽略 иrhopиp Иrhopиp иRHOPиp",
            "",
            "e",
            "sssss",
            "pre-previous re-re",
        ];
        for case in [Case::Sensitive, Case::AsciiInsensitive] {
            let keywords_dfa = Keywords::new(&keywords, case).unwrap();
            for haystack in haystacks {
                let mut found = Vec::new();
                keywords_dfa.find_all(haystack.as_bytes(), &mut found);
                let found: Vec<_> = found.iter().map(|o| (o.keyword, o.start, o.end)).collect();
                assert_eq!(
                    found,
                    reference(&keywords, case, haystack),
                    "{case:?} {haystack:?}"
                );
            }
        }
    }
}
