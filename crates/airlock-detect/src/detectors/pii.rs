//! `pii` detector: personal data in text — e-mail addresses, phone numbers, payment cards,
//! IBANs, US Social Security numbers, Indian Aadhaar numbers and IP addresses.
//!
//! Every rule is a cheap shape match followed by the check the issuer defines: Luhn and IIN
//! ranges for cards, ISO 13616 mod-97 and the per-country length for IBANs, the SSA's
//! never-issued ranges for SSNs, Verhoeff for Aadhaar, ITU-T E.164 calling codes and
//! national-number lengths for phones. Look-alikes that share only the shape (order numbers,
//! versions, dates, ISBNs, UUIDs, tracking and part numbers) therefore do not fire.
//!
//! One pass per trigger byte, no regex: `memchr` finds `@` (e-mail) and `:` (IPv6); a byte
//! loop (eight bytes at a time) finds digit runs and joins them into separated numbers
//! (`Number`) that are classified once, so overlapping shapes (a phone or a card?) are
//! decided by the checks, not by which regex alternative came first. A short keyword window
//! before a number (`phone`, `SSN`, `order`, `version`, `ISBN`, …) enables the weak forms (a
//! bare nine-digit SSN) and withdraws matches that sit after an identifier label.
//!
//! Decisions: a dashed SSN is reported without the keyword (score 0.7), undashed forms only
//! with it; IP addresses are `low` when public and `info` when private, link-local,
//! documentation, multicast or reserved (`report_private_ips = false` drops those); loopback,
//! unspecified and netmasks are never reported, nor `a.b.c.d` with single digits (section
//! numbers; the public resolvers `8.8.8.8`, `1.1.1.1` are no one's personal data). The extra
//! national id is Indian Aadhaar (`in_aadhaar`, Verhoeff check).
//!
//! Phones are validated here rather than with the `phonenumber` crate: that crate added about
//! 40 s to a clean two-core build (nom, quick-xml, postcard, strum, a second regex-syntax),
//! has no find-in-text API, and a calling-code table with national-number lengths is enough
//! to tell a phone number from other digit groups.

use std::net::Ipv6Addr;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use airlock_core::{Category, Finding, Severity, Span, mask_secret};
use serde::Deserialize;

use crate::detector::{Detector, Input};
use crate::registry::{DetectorSpec, Options};

/// Registry entry.
pub const SPEC: DetectorSpec = DetectorSpec {
    id: "pii",
    summary: "personal data: e-mail, phone, payment card, IBAN, US SSN, Aadhaar, IP address",
    build: |options: &Options| {
        let options: PiiOptions = crate::parse_options("pii", options)?;
        Ok(Box::new(PiiDetector::new(options)))
    },
};

/// The detector's own options (`[detect.detectors.pii]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PiiOptions {
    /// Report private, link-local, carrier-grade NAT, documentation, multicast and reserved
    /// addresses (at `info`; public addresses are `low`). Loopback and unspecified addresses
    /// and netmasks are never reported: they name no host or person.
    pub report_private_ips: bool,
    /// Report a dashed `AAA-GG-SSSS` US SSN only when a keyword such as `SSN` precedes it.
    /// Undashed and space-separated forms always need the keyword.
    pub ssn_requires_context: bool,
    /// Recognise phone numbers written without a country code: North American
    /// `(415) 555-0132` and trunk-prefixed `020 7946 0958`. Numbers with `+` are always checked.
    pub national_phone_formats: bool,
}

impl Default for PiiOptions {
    fn default() -> Self {
        PiiOptions {
            report_private_ips: true,
            ssn_requires_context: false,
            national_phone_formats: true,
        }
    }
}

/// The `pii` detector.
#[derive(Debug)]
pub struct PiiDetector {
    options: PiiOptions,
    /// Keywords looked for just before a candidate number.
    cues: AhoCorasick,
}

impl Default for PiiDetector {
    fn default() -> Self {
        PiiDetector::new(PiiOptions::default())
    }
}

/// What a keyword before a number says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cue {
    /// No keyword nearby.
    Neutral,
    Phone,
    Ssn,
    Card,
    Aadhaar,
    /// An identifier label (`order`, `serial`, `ISBN`, `version`, `section`, `#`): the number
    /// that follows names a thing, not a person.
    Identifier,
}

/// Keywords, matched ASCII case-insensitively as whole words within [`CUE_WINDOW`] bytes
/// before a number. The nearest one wins.
const CUE_WORDS: &[(&str, Cue)] = &[
    ("phone", Cue::Phone),
    ("phones", Cue::Phone),
    ("telephone", Cue::Phone),
    ("tel", Cue::Phone),
    ("mobile", Cue::Phone),
    ("cell", Cue::Phone),
    ("cellphone", Cue::Phone),
    ("fax", Cue::Phone),
    ("call", Cue::Phone),
    ("dial", Cue::Phone),
    ("sms", Cue::Phone),
    ("whatsapp", Cue::Phone),
    ("contact", Cue::Phone),
    ("ph", Cue::Phone),
    ("mob", Cue::Phone),
    ("landline", Cue::Phone),
    ("hotline", Cue::Phone),
    ("ssn", Cue::Ssn),
    ("ss#", Cue::Ssn),
    ("ssn#", Cue::Ssn),
    ("social security", Cue::Ssn),
    ("social sec", Cue::Ssn),
    ("card", Cue::Card),
    ("credit", Cue::Card),
    ("debit", Cue::Card),
    ("visa", Cue::Card),
    ("mastercard", Cue::Card),
    ("amex", Cue::Card),
    ("american express", Cue::Card),
    ("discover", Cue::Card),
    ("jcb", Cue::Card),
    ("diners", Cue::Card),
    ("unionpay", Cue::Card),
    ("maestro", Cue::Card),
    ("pan", Cue::Card),
    ("cc", Cue::Card),
    ("ccn", Cue::Card),
    ("cardholder", Cue::Card),
    ("payment", Cue::Card),
    ("aadhaar", Cue::Aadhaar),
    ("aadhar", Cue::Aadhaar),
    ("uidai", Cue::Aadhaar),
    ("uid", Cue::Aadhaar),
    ("order", Cue::Identifier),
    ("orders", Cue::Identifier),
    ("invoice", Cue::Identifier),
    ("serial", Cue::Identifier),
    ("s/n", Cue::Identifier),
    ("sn", Cue::Identifier),
    ("part", Cue::Identifier),
    ("p/n", Cue::Identifier),
    ("sku", Cue::Identifier),
    ("model", Cue::Identifier),
    ("tracking", Cue::Identifier),
    ("shipment", Cue::Identifier),
    ("parcel", Cue::Identifier),
    ("isbn", Cue::Identifier),
    ("isbn-10", Cue::Identifier),
    ("isbn-13", Cue::Identifier),
    ("issn", Cue::Identifier),
    ("doi", Cue::Identifier),
    ("ref", Cue::Identifier),
    ("reference", Cue::Identifier),
    ("ticket", Cue::Identifier),
    ("build", Cue::Identifier),
    ("version", Cue::Identifier),
    ("ver", Cue::Identifier),
    ("release", Cue::Identifier),
    ("rev", Cue::Identifier),
    ("revision", Cue::Identifier),
    ("firmware", Cue::Identifier),
    ("kernel", Cue::Identifier),
    ("upgrade", Cue::Identifier),
    ("upgraded", Cue::Identifier),
    ("downgraded", Cue::Identifier),
    ("update", Cue::Identifier),
    ("updated", Cue::Identifier),
    ("bumped", Cue::Identifier),
    ("section", Cue::Identifier),
    ("sec", Cue::Identifier),
    ("§", Cue::Identifier),
    ("chapter", Cue::Identifier),
    ("figure", Cue::Identifier),
    ("fig", Cue::Identifier),
    ("table", Cue::Identifier),
    ("clause", Cue::Identifier),
    ("article", Cue::Identifier),
    ("paragraph", Cue::Identifier),
    ("oid", Cue::Identifier),
    ("item", Cue::Identifier),
    ("batch", Cue::Identifier),
];

/// How far before a number keywords count, in bytes (about four words).
const CUE_WINDOW: usize = 40;

/// At most this many digit groups are joined into one [`Number`]; longer runs are tables or
/// dumps, not one value.
const MAX_GROUPS: usize = 12;

/// The longest digit string any rule accepts (a 19-digit card).
const MAX_DIGITS: usize = 19;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Email,
    Phone,
    Card,
    Iban,
    Ssn,
    Aadhaar,
    Ip,
}

impl Rule {
    fn id(self) -> &'static str {
        match self {
            Rule::Email => "email",
            Rule::Phone => "phone_number",
            Rule::Card => "credit_card",
            Rule::Iban => "iban",
            Rule::Ssn => "us_ssn",
            Rule::Aadhaar => "in_aadhaar",
            Rule::Ip => "ip_address",
        }
    }
}

/// A validated match before it becomes a [`Finding`].
#[derive(Debug)]
struct Hit {
    rule: Rule,
    start: usize,
    end: usize,
    severity: Severity,
    score: f32,
    /// What was found, for the message; never the value.
    what: String,
}

impl Hit {
    fn new(rule: Rule, start: usize, end: usize, severity: Severity, score: f32) -> Hit {
        let what = match rule {
            Rule::Email => "e-mail address",
            Rule::Phone => "phone number",
            Rule::Card => "payment card number",
            Rule::Iban => "IBAN",
            Rule::Ssn => "US Social Security number",
            Rule::Aadhaar => "Indian Aadhaar number",
            Rule::Ip => "IP address",
        };
        Hit {
            rule,
            start,
            end,
            severity,
            score,
            what: what.to_owned(),
        }
    }

    fn described(mut self, what: String) -> Hit {
        self.what = what;
        self
    }
}

impl Detector for PiiDetector {
    fn id(&self) -> &'static str {
        "pii"
    }

    fn detect(&self, input: &Input<'_>, findings: &mut Vec<Finding>) {
        let text = input.text();
        let bytes = text.as_bytes();
        let mut hits = Vec::new();
        // Ranges already explained by an e-mail, IPv6 address or IBAN: digits inside them are
        // not numbers of their own.
        let mut covered: Vec<(usize, usize)> = Vec::new();
        if memchr::memchr(b'@', bytes).is_some() {
            self.emails(text, &mut hits, &mut covered);
        }
        if memchr::memchr(b':', bytes).is_some() {
            self.ipv6_addresses(text, &mut hits, &mut covered);
        }
        covered.sort_unstable();
        self.numbers(text, &covered, &mut hits);
        for hit in hits {
            let Some(value) = text.get(hit.start..hit.end) else {
                continue;
            };
            findings.push(Finding {
                detector: "pii".to_owned(),
                rule: hit.rule.id().to_owned(),
                category: Category::Pii,
                severity: hit.severity,
                score: hit.score,
                span: Span::new(hit.start, hit.end),
                excerpt: mask_secret(value),
                message: format!("{} found", hit.what),
                via: Vec::new(),
            });
        }
    }
}

impl PiiDetector {
    /// The detector with these options.
    pub fn new(options: PiiOptions) -> PiiDetector {
        let cues = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(CUE_WORDS.iter().map(|(word, _)| word))
            .unwrap_or_else(|err| panic!("pii cue words are a valid automaton: {err}"));
        PiiDetector { options, cues }
    }

    // ----- e-mail ------------------------------------------------------------------------

    fn emails(&self, text: &str, hits: &mut Vec<Hit>, covered: &mut Vec<(usize, usize)>) {
        let bytes = text.as_bytes();
        for at in memchr::memchr_iter(b'@', bytes) {
            if let Some((start, end)) = email_at(bytes, at) {
                hits.push(Hit::new(Rule::Email, start, end, Severity::Medium, 0.9));
                covered.push((start, end));
            }
        }
    }

    // ----- IPv6 ----------------------------------------------------------------------------

    fn ipv6_addresses(&self, text: &str, hits: &mut Vec<Hit>, covered: &mut Vec<(usize, usize)>) {
        let bytes = text.as_bytes();
        let mut done = 0;
        let is_addr = |b: &u8| b.is_ascii_hexdigit() || *b == b':';
        for colon in memchr::memchr_iter(b':', bytes) {
            // `Note: …`, `"key": 1`: most colons in text are followed by neither.
            if colon < done || !bytes.get(colon + 1).is_some_and(is_addr) {
                continue;
            }
            let Some((start, end)) = ipv6_candidate(bytes, colon) else {
                // Too long or inside a word: skip the whole run of address bytes, so each byte
                // is walked a bounded number of times.
                done = colon
                    + 1
                    + bytes[colon + 1..]
                        .iter()
                        .take_while(|b| is_addr(b) || **b == b'.')
                        .count();
                continue;
            };
            done = end.max(colon + 1);
            let Some(candidate) = text.get(start..end) else {
                continue;
            };
            let Some(addr) = plausible_ipv6(candidate) else {
                continue;
            };
            let class = match addr.to_ipv4_mapped() {
                Some(v4) => classify_ipv4(v4.octets()),
                None => classify_ipv6(&addr),
            };
            covered.push((start, end));
            if let Some(hit) = self.ip_hit(class, start, end, "IPv6") {
                hits.push(hit);
            }
        }
    }

    fn ip_hit(&self, class: IpClass, start: usize, end: usize, family: &str) -> Option<Hit> {
        let (severity, score, range) = match class {
            IpClass::Public => (Severity::Low, 0.8, "public"),
            IpClass::Special(range) if self.options.report_private_ips => {
                (Severity::Info, 0.6, range)
            }
            IpClass::Special(_) | IpClass::NotAHost => return None,
        };
        Some(
            Hit::new(Rule::Ip, start, end, severity, score)
                .described(format!("{family} address ({range})")),
        )
    }

    // ----- numbers (and IBANs, which start with letters) -----------------------------------

    fn numbers(&self, text: &str, covered: &[(usize, usize)], hits: &mut Vec<Hit>) {
        let bytes = text.as_bytes();
        let mut covered = covered.iter().peekable();
        let mut i = 0;
        while let Some(digit) = next_digit(bytes, i) {
            while covered.next_if(|&&(_, end)| end <= digit).is_some() {}
            if let Some(&&(start, end)) = covered.peek()
                && start <= digit
            {
                i = end;
                continue;
            }
            // An IBAN starts with two capital letters right before its check digits.
            if let Some(country_start) = digit.checked_sub(2)
                && bytes[country_start].is_ascii_uppercase()
                && bytes[country_start + 1].is_ascii_uppercase()
                && !embedded_before(bytes, country_start)
            {
                match iban_at(bytes, country_start) {
                    IbanShape::Valid(end, country) => {
                        hits.push(
                            Hit::new(Rule::Iban, country_start, end, Severity::High, 0.95)
                                .described(format!("IBAN ({country})")),
                        );
                        i = end;
                        continue;
                    }
                    // Shaped like an IBAN but the check fails: nothing inside it is a
                    // card or phone either.
                    IbanShape::BadCheck(end) => {
                        i = end;
                        continue;
                    }
                    IbanShape::NotIban => {}
                }
            }
            let mut start = digit;
            let mut plus = false;
            let mut open_paren = false;
            if digit > 0 && bytes[digit - 1] == b'+' {
                start = digit - 1;
                plus = true;
            } else if digit > 0 && bytes[digit - 1] == b'(' && !embedded_before(bytes, digit - 1) {
                // `(415) 555-0132`; but in `charge(4111…)` the bracket is a call's.
                start = digit - 1;
                open_paren = true;
            }
            if embedded_before(bytes, start) {
                // Digits inside a word, hex string, UUID or path: skip the whole token.
                i = skip_token(bytes, digit);
                continue;
            }
            // Every rule needs seven digits, except IPv4 (`1.2.3.4`): most numbers in prose
            // are dismissed here without building a `Number`.
            let (end, digits, groups) = Number::measure(bytes, digit);
            if digits < 7 && groups < 4 {
                i = end;
                continue;
            }
            let number = Number::scan(bytes, start, digit, plus, open_paren);
            i = number.end();
            self.classify(text, &number, hits);
        }
    }

    /// Reports what one separated number is, trying the whole of it first and then each
    /// space-separated word of it (`1.2.3.4 22`), but never a space-joined part of a longer
    /// run (`1234 5678 9012` inside `1234 5678 9012 3456`).
    fn classify(&self, text: &str, number: &Number, hits: &mut Vec<Hit>) {
        let count = number.count;
        let mut from = 0;
        if number.plus {
            if let Some((last, hit)) = self.international_phone(text, number, 0) {
                hits.push(hit);
                from = last + 1;
            }
        } else if let Some(hit) = self.whole(text, number, 0, count - 1) {
            hits.push(hit);
            return;
        }
        let mut word_start = from;
        for k in from..count {
            let word_ends = k + 1 == count || number.seps()[k].is_space();
            if !word_ends {
                continue;
            }
            let is_whole = word_start == 0 && k + 1 == count;
            if !(is_whole || number.overflow && k + 1 == count)
                && let Some(hit) = self.whole(text, number, word_start, k)
            {
                hits.push(hit);
            }
            word_start = k + 1;
        }
    }

    /// Classifies groups `a..=b` of `number` as one value.
    fn whole(&self, text: &str, number: &Number, a: usize, b: usize) -> Option<Hit> {
        let groups = number.groups().get(a..=b)?;
        let seps = number.seps().get(a..b)?;
        let bytes = text.as_bytes();
        if b + 1 == number.count && number.tail_embedded && !number.has_extension() {
            return None;
        }
        let ndigits: usize = groups.iter().map(Range::len).sum();
        if ndigits > MAX_DIGITS || (ndigits < 7 && groups.len() != 4) {
            return None;
        }
        let mut digits = [0u8; MAX_DIGITS];
        let mut n = 0;
        for group in groups {
            for &byte in &bytes[group.start..group.end] {
                digits[n] = byte - b'0';
                n += 1;
            }
        }
        let digits = &digits[..n];
        let lens: Vec<usize> = groups.iter().map(Range::len).collect();
        let first = groups[0].start;
        let last = groups[groups.len() - 1].end;
        let plain = plain_separator(bytes, seps);
        let has_parens = (a == 0 && number.open_paren) || seps.iter().any(|s| s.has_paren(bytes));

        if !has_parens {
            if let Some(hit) = self.ipv4(text, digits, &lens, plain, first, last) {
                return Some(hit);
            }
            if plain == Some(b'.') {
                return self.phone_national(text, number, a, b, digits);
            }
            if let Some(result) = self.ssn(text, digits, &lens, plain, first, last) {
                return result;
            }
            if let Some(hit) = self.card(text, digits, &lens, plain, first, last) {
                return Some(hit);
            }
            if let Some(hit) = self.aadhaar(text, digits, &lens, plain, first, last) {
                return Some(hit);
            }
        }
        self.phone_national(text, number, a, b, digits)
    }

    fn ipv4(
        &self,
        text: &str,
        digits: &[u8],
        lens: &[usize],
        plain: Option<u8>,
        start: usize,
        end: usize,
    ) -> Option<Hit> {
        if plain != Some(b'.') || lens.len() != 4 || lens.iter().any(|&len| len > 3) {
            return None;
        }
        // `1.2.3.4`, `2.0.0.1`: section and version numbers. The few real addresses of this
        // form (`8.8.8.8`, `1.1.1.1`) are public resolvers, not anyone's personal data.
        if lens.iter().all(|&len| len == 1) {
            return None;
        }
        let mut octets = [0u8; 4];
        let mut pos = 0;
        for (octet, &len) in octets.iter_mut().zip(lens) {
            let part = &digits[pos..pos + len];
            pos += len;
            if len > 1 && part[0] == 0 {
                return None; // `1.02.3.4` is a version, not an address
            }
            let value = part.iter().fold(0u32, |acc, &d| acc * 10 + u32::from(d));
            *octet = u8::try_from(value).ok()?;
        }
        if self.cue(text, start) == Cue::Identifier {
            return None; // `version 10.2.0.1`, `section 1.2.3.4`
        }
        self.ip_hit(classify_ipv4(octets), start, end, "IPv4")
    }

    /// `Some(None)` when the number has the shape of an SSN but fails its checks, so no other
    /// rule claims it.
    fn ssn(
        &self,
        text: &str,
        digits: &[u8],
        lens: &[usize],
        plain: Option<u8>,
        start: usize,
        end: usize,
    ) -> Option<Option<Hit>> {
        let dashed = match (lens, plain) {
            ([3, 2, 4], Some(b'-')) => true,
            ([3, 2, 4], Some(b' ')) | ([9], None) => false,
            _ => return None,
        };
        if !ssn_is_issuable(digits) {
            return Some(None);
        }
        let cue = self.cue(text, start);
        let score = match cue {
            Cue::Ssn => 0.95,
            Cue::Identifier => return Some(None),
            _ if dashed && !self.options.ssn_requires_context => 0.7,
            // A bare nine-digit number is too common to call an SSN without the word.
            _ => return None,
        };
        Some(Some(Hit::new(Rule::Ssn, start, end, Severity::High, score)))
    }

    fn card(
        &self,
        text: &str,
        digits: &[u8],
        lens: &[usize],
        plain: Option<u8>,
        start: usize,
        end: usize,
    ) -> Option<Hit> {
        if !(12..=19).contains(&digits.len()) {
            return None;
        }
        let usual_grouping = match plain {
            None => true,
            Some(b' ' | b'-') => {
                let (last, body) = lens.split_last()?;
                (body.len() >= 2 && body.iter().all(|&len| len == 4) && (1..=4).contains(last))
                    || lens == [4, 6, 5]
                    || lens == [4, 6, 4]
            }
            Some(_) => false,
        };
        if !usual_grouping {
            return None;
        }
        let brand = card_brand(digits)?;
        if !luhn_valid(digits) {
            return None;
        }
        let score = match self.cue(text, start) {
            Cue::Identifier => return None,
            Cue::Card => 0.95,
            _ if plain.is_none() => 0.8,
            _ => 0.85,
        };
        Some(
            Hit::new(Rule::Card, start, end, Severity::High, score)
                .described(format!("payment card number ({brand})")),
        )
    }

    fn aadhaar(
        &self,
        text: &str,
        digits: &[u8],
        lens: &[usize],
        plain: Option<u8>,
        start: usize,
        end: usize,
    ) -> Option<Hit> {
        let grouped = match (lens, plain) {
            ([4, 4, 4], Some(b' ' | b'-')) => true,
            ([12], None) => false,
            _ => return None,
        };
        // UIDAI never issues numbers starting with 0 or 1.
        if digits[0] < 2 || !verhoeff_valid(digits) || digits.iter().all(|&d| d == digits[0]) {
            return None;
        }
        // One in ten random twelve-digit groups passes Verhoeff: without the word, the grouping
        // alone is a weaker signal.
        let (severity, score) = match self.cue(text, start) {
            Cue::Aadhaar => (Severity::High, 0.95),
            Cue::Identifier => return None,
            _ if grouped => (Severity::Medium, 0.6),
            _ => return None,
        };
        Some(Hit::new(Rule::Aadhaar, start, end, severity, score))
    }

    /// Phone numbers written without `+`: `00`-prefixed international, North American, and
    /// trunk-prefixed national forms; a bare 10–11 digit run only after a phone keyword.
    fn phone_national(
        &self,
        text: &str,
        number: &Number,
        a: usize,
        b: usize,
        digits: &[u8],
    ) -> Option<Hit> {
        let bytes = text.as_bytes();
        let groups = &number.groups()[a..=b];
        let seps = &number.seps()[a..b];
        let lens: Vec<usize> = groups.iter().map(Range::len).collect();
        let open_first = a == 0 && number.open_paren;
        let start = if open_first {
            number.start
        } else {
            groups[0].start
        };
        let mut end = groups[groups.len() - 1].end;
        if b + 1 == number.count {
            end = number.extension_end.unwrap_or(end);
        }
        let parens = paren_layout(bytes, seps, open_first)?;

        // `0044 20 7946 0958`, `001-415-555-0132`: the international prefix spelled out.
        if digits.len() >= 10 && digits[0] == 0 && digits[1] == 0 && groups.len() >= 2 {
            let (last, hit) = self.international_phone(text, number, a)?;
            return (last == b).then_some(hit);
        }
        if !self.options.national_phone_formats {
            return None;
        }
        let cue = self.cue(text, start);
        if cue == Cue::Identifier {
            return None;
        }
        let boost = if cue == Cue::Phone { 0.15 } else { 0.0 };

        // North American: optional leading 1, then 3-3-4.
        let skip = usize::from(lens.len() == 4 && lens[0] == 1 && digits[0] == 1);
        if lens.get(skip..) == Some(&[3, 3, 4][..]) {
            let nanp = &digits[skip..];
            let seps_after = &seps[skip..];
            let paren_area = parens == Some(skip);
            let styled = if paren_area {
                // `(415) 555-0132`, `(415)555-0132`
                let inner = plain_separator(bytes, &seps_after[1..]);
                matches!(inner, Some(b'-' | b' ' | b'.'))
            } else if parens.is_none() {
                matches!(plain_separator(bytes, seps_after), Some(b'-' | b'.' | b' '))
            } else {
                false
            };
            if styled {
                let valid = nanp_valid(nanp);
                let spaced = !paren_area && plain_separator(bytes, seps_after) == Some(b' ');
                if valid || (!spaced && cue != Cue::Identifier) {
                    let score: f32 = if valid { 0.75 } else { 0.55 };
                    return Some(Hit::new(
                        Rule::Phone,
                        start,
                        end,
                        Severity::Medium,
                        (score + boost).min(0.95),
                    ));
                }
            }
            return None;
        }

        // Trunk-prefixed national: `020 7946 0958`, `(030) 41328514`, `01 23 45 67 89`.
        if digits[0] == 0
            && digits[1] != 0
            && (10..=11).contains(&digits.len())
            && groups.len() >= 2
            && lens.iter().all(|&len| (2..=8).contains(&len))
            && lens[0] <= 5
        {
            let uniform = match parens {
                None => matches!(plain_separator(bytes, seps), Some(b' ' | b'-' | b'.')),
                Some(0) => {
                    seps.len() == 1
                        || matches!(plain_separator(bytes, &seps[1..]), Some(b' ' | b'-' | b'.'))
                }
                Some(_) => false,
            };
            if uniform {
                return Some(Hit::new(
                    Rule::Phone,
                    start,
                    end,
                    Severity::Medium,
                    0.6 + boost,
                ));
            }
            return None;
        }

        // Two-digit area code, then a dashed subscriber number: `11 91234-5678`,
        // `(21) 2601-8159` (Brazil and others that dial without a trunk prefix).
        if matches!(lens[..], [2, 4, 4] | [2, 5, 4])
            && digits[0] != 0
            && digits[1] != 0
            && bytes.get(seps[1].start..seps[1].end) == Some(&b"-"[..])
            && match parens {
                Some(0) => matches!(bytes.get(seps[0].start..seps[0].end), Some(b")" | b") ")),
                None => bytes.get(seps[0].start..seps[0].end) == Some(&b" "[..]),
                Some(_) => false,
            }
        {
            return Some(Hit::new(
                Rule::Phone,
                start,
                end,
                Severity::Medium,
                0.5 + boost,
            ));
        }

        // A trunk-prefixed number written without separators (`02079460958`) is still the
        // usual national form in much of the world; ISBN-10s and digit runs are not.
        if groups.len() == 1
            && digits[0] == 0
            && digits[1] != 0
            && (10..=11).contains(&digits.len())
            && !(digits.len() == 10 && isbn10_valid(digits))
            && digits.windows(2).any(|pair| pair[1] != (pair[0] + 1) % 10)
        {
            return Some(Hit::new(
                Rule::Phone,
                start,
                end,
                Severity::Medium,
                0.45 + boost,
            ));
        }

        // Anything else needs the word: `phone: 4155550132`, `tel 98765 43210`.
        if cue == Cue::Phone && (10..=11).contains(&digits.len()) && parens.is_none() {
            let ok = groups.len() == 1
                || matches!(plain_separator(bytes, seps), Some(b' ' | b'-' | b'.'));
            if ok {
                return Some(Hit::new(Rule::Phone, start, end, Severity::Medium, 0.7));
            }
        }
        None
    }

    /// `+CC …` (or `00CC …` when `from` points at a group starting `00`): the calling code must
    /// be assigned and the national number must have a length that country uses. Takes the
    /// longest valid run of groups, so `+44 20 7946 0958 24` still finds the phone. Returns
    /// the index of the last group used.
    fn international_phone(
        &self,
        text: &str,
        number: &Number,
        from: usize,
    ) -> Option<(usize, Hit)> {
        let bytes = text.as_bytes();
        let groups = &number.groups()[from..];
        let first = bytes.get(groups[0].start..groups[0].end)?;
        let prefix = if number.plus && from == 0 {
            0
        } else if first.starts_with(b"00") {
            2
        } else {
            return None;
        };
        let (code, code_len, min, max) = calling_code(first.get(prefix..)?)?;
        // In `00` form the first group is exactly `00` + code, so `0012 …` is not `+1 2…`.
        if prefix == 2 && first.len() != prefix + code_len {
            return None;
        }
        let start = if prefix == 0 {
            number.start
        } else {
            groups[0].start
        };
        let mut national = first.len() - prefix - code_len;
        let mut national_first: Option<u8> = first.get(prefix + code_len).copied();
        let mut best = None;
        let mut open = false;
        for (k, group) in groups.iter().enumerate() {
            if k > 0 {
                let sep = &number.seps()[from + k - 1];
                let sep_bytes = &bytes[sep.start..sep.end];
                for &byte in sep_bytes {
                    match byte {
                        b'(' if !open => open = true,
                        b')' if open => open = false,
                        b'(' | b')' => return best,
                        _ => {}
                    }
                }
                let value = &bytes[group.start..group.end];
                // `+44 (0)20 …`: the trunk prefix in brackets is not dialled.
                let trunk = value == b"0" && sep_bytes.last() == Some(&b'(');
                if !trunk {
                    national += value.len();
                    national_first = national_first.or(value.first().copied());
                }
            }
            if national > 14 {
                break;
            }
            let at_end = from + k + 1 == number.count;
            let can_end = !open
                && if at_end {
                    !number.tail_embedded || number.has_extension()
                } else {
                    number.seps()[from + k].is_space()
                };
            let effective = if national_first == Some(b'0') && code != 39 {
                national.saturating_sub(1)
            } else {
                national
            };
            if can_end && (min..=max).contains(&effective) && national >= 4 {
                let mut end = group.end;
                if at_end {
                    end = number.extension_end.unwrap_or(end);
                }
                let score = if self.cue(text, start) == Cue::Phone {
                    0.95
                } else {
                    0.85
                };
                best = Some((
                    from + k,
                    Hit::new(Rule::Phone, start, end, Severity::Medium, score),
                ));
            }
        }
        best
    }

    /// The nearest keyword in the few words before `start`, or [`Cue::Identifier`] when the
    /// number follows a `#` with no keyword of its own.
    fn cue(&self, text: &str, start: usize) -> Cue {
        let mut from = start.saturating_sub(CUE_WINDOW);
        while !text.is_char_boundary(from) {
            from += 1;
        }
        let Some(window) = text.get(from..start) else {
            return Cue::Neutral;
        };
        let window = match memchr::memrchr(b'\n', window.as_bytes()) {
            Some(newline) => window.get(newline + 1..).unwrap_or(""),
            None => window,
        };
        let wb = window.as_bytes();
        let mut nearest = Cue::Neutral;
        for found in self.cues.find_iter(wb) {
            let before_ok = found.start() == 0 || !wb[found.start() - 1].is_ascii_alphanumeric();
            let after_ok = wb
                .get(found.end())
                .is_none_or(|byte| !byte.is_ascii_alphanumeric());
            if before_ok && after_ok {
                nearest = CUE_WORDS[found.pattern().as_usize()].1;
            }
        }
        if nearest == Cue::Neutral && window.trim_end().ends_with('#') {
            return Cue::Identifier;
        }
        nearest
    }
}

// ----- digit groups --------------------------------------------------------------------------

/// A half-open byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    start: usize,
    end: usize,
}

impl Range {
    fn len(&self) -> usize {
        self.end - self.start
    }
}

/// Digit groups joined by short separators (`-`, `.`, space, brackets), e.g. `+1 (415)
/// 555-0132`, `4111 1111 1111 1111`, `10.0.0.1`.
#[derive(Debug)]
struct Number {
    /// First byte, including a leading `+` or `(`.
    start: usize,
    plus: bool,
    open_paren: bool,
    /// The digit runs; `count` of them are used.
    group_buf: [Range; MAX_GROUPS],
    /// `sep_buf[k]` lies between groups `k` and `k + 1`.
    sep_buf: [Sep; MAX_GROUPS],
    count: usize,
    /// More groups followed than [`MAX_GROUPS`].
    overflow: bool,
    /// The last group runs straight into a word or into another token (`12-34abc`, `1.2.3.4.example`).
    tail_embedded: bool,
    /// End of a phone extension after the last group (`x123`, ` ext. 45`).
    extension_end: Option<usize>,
}

/// A separator between two digit groups.
#[derive(Debug, Clone, Copy)]
struct Sep {
    start: usize,
    end: usize,
    /// Its first byte, to test for a single space cheaply.
    first: u8,
}

impl Sep {
    fn is_space(&self) -> bool {
        self.end - self.start == 1 && self.first == b' '
    }

    fn has_paren(&self, bytes: &[u8]) -> bool {
        bytes[self.start..self.end]
            .iter()
            .any(|&byte| byte == b'(' || byte == b')')
    }
}

impl Number {
    fn scan(
        bytes: &[u8],
        start: usize,
        first_digit: usize,
        plus: bool,
        open_paren: bool,
    ) -> Number {
        let mut number = Number {
            start,
            plus,
            open_paren,
            group_buf: [Range { start: 0, end: 0 }; MAX_GROUPS],
            sep_buf: [Sep {
                start: 0,
                end: 0,
                first: 0,
            }; MAX_GROUPS],
            count: 0,
            overflow: false,
            tail_embedded: false,
            extension_end: None,
        };
        let mut pos = first_digit;
        loop {
            let group_start = pos;
            while pos < bytes.len() && bytes[pos].is_ascii_digit() {
                pos += 1;
            }
            number.group_buf[number.count] = Range {
                start: group_start,
                end: pos,
            };
            number.count += 1;
            let sep_start = pos;
            let Some(q) = separator_at(bytes, pos) else {
                break;
            };
            if number.count == MAX_GROUPS {
                number.overflow = true;
                break;
            }
            number.sep_buf[number.count - 1] = Sep {
                start: sep_start,
                end: q,
                first: bytes[sep_start],
            };
            pos = q;
        }
        let end = number.end();
        number.tail_embedded = number.overflow || embedded_after(bytes, end);
        number.extension_end = extension_after(bytes, end);
        number
    }

    /// Where the number starting at `first_digit` ends, how many digits and how many groups it
    /// has (up to [`MAX_GROUPS`]), without recording anything: the cheap test before
    /// [`Number::scan`]. Must join groups exactly as `scan` does.
    fn measure(bytes: &[u8], first_digit: usize) -> (usize, usize, usize) {
        let (mut pos, mut digits, mut groups) = (first_digit, 0, 0);
        loop {
            let group_start = pos;
            while pos < bytes.len() && bytes[pos].is_ascii_digit() {
                pos += 1;
            }
            digits += pos - group_start;
            groups += 1;
            match separator_at(bytes, pos) {
                Some(next) if groups < MAX_GROUPS => pos = next,
                _ => return (pos, digits, groups),
            }
        }
    }

    fn groups(&self) -> &[Range] {
        &self.group_buf[..self.count]
    }

    fn seps(&self) -> &[Sep] {
        &self.sep_buf[..self.count.saturating_sub(1)]
    }

    /// One past the last digit.
    fn end(&self) -> usize {
        self.groups().last().map_or(self.start, |group| group.end)
    }

    fn has_extension(&self) -> bool {
        self.extension_end.is_some()
    }
}

/// If a separator that joins two digit groups starts at `pos` (`-`, `.`, space, brackets, at
/// most three bytes, a digit right after), the position of that digit.
fn separator_at(bytes: &[u8], pos: usize) -> Option<usize> {
    let (mut q, mut opens, mut closes, mut dots) = (pos, 0, 0, 0);
    while q < bytes.len() && q - pos < 3 {
        match bytes[q] {
            b' ' | b'-' => {}
            b'.' => dots += 1,
            b'(' => opens += 1,
            b')' => closes += 1,
            _ => break,
        }
        q += 1;
    }
    // A dot joins alone or beside brackets (`1.2`, `(03).6018`), never with spaces (`3. 4`).
    let joins = q > pos
        && bytes.get(q).is_some_and(u8::is_ascii_digit)
        && (dots == 0 || q - pos - dots == opens + closes)
        && dots <= 1
        && opens <= 1
        && closes <= 1;
    joins.then_some(q)
}

/// The position of the first ASCII digit at or after `from`. Looks at eight bytes at a time:
/// most text has few digits, and this loop runs over every byte scanned.
fn next_digit(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let rest = bytes.get(from..)?;
    let mut chunks = rest.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        // Bytes `0`..=`9` become 0..=9 after xor with `0`; a byte below 10 makes
        // `x - 10` borrow into its high bit while `!x` keeps it (bytes >= 0x80 never do).
        let x = u64::from_le_bytes(word) ^ (ONES * u64::from(b'0'));
        if x.wrapping_sub(ONES * 10) & !x & HIGHS != 0 {
            break;
        }
        offset += 8;
    }
    rest[offset..]
        .iter()
        .position(u8::is_ascii_digit)
        .map(|p| from + offset + p)
}

/// The one separator byte used between all these groups (ignoring brackets), or `None` for a
/// single group or mixed separators.
fn plain_separator(bytes: &[u8], seps: &[Sep]) -> Option<u8> {
    let mut found = None;
    for sep in seps {
        let mut plain = bytes[sep.start..sep.end]
            .iter()
            .copied()
            .filter(|&byte| byte != b'(' && byte != b')');
        let byte = match (plain.next(), plain.next()) {
            (Some(byte), None) => byte,
            // `)` alone (`(415)555-0132`) counts as a space.
            (None, None) => b' ',
            _ => return None,
        };
        match found {
            None => found = Some(byte),
            Some(prev) if prev == byte => {}
            Some(_) => return None,
        }
    }
    found
}

/// Which group is in brackets, counting from the first group these separators join:
/// `Some(None)` when none is, `Some(Some(k))` for one well-formed pair, and `None` when the
/// brackets are unbalanced or repeated (no rule accepts those).
fn paren_layout(bytes: &[u8], seps: &[Sep], open_first: bool) -> Option<Option<usize>> {
    let mut open_at = open_first.then_some(0);
    let mut closed = None;
    for (k, sep) in seps.iter().enumerate() {
        for &byte in &bytes[sep.start..sep.end] {
            match byte {
                b')' => match open_at.take() {
                    Some(group) if group == k && closed.is_none() => closed = Some(group),
                    _ => return None,
                },
                b'(' => {
                    if open_at.is_some() || closed.is_some() {
                        return None;
                    }
                    open_at = Some(k + 1);
                }
                _ => {}
            }
        }
    }
    if open_at.is_some() {
        return None;
    }
    Some(closed)
}

/// Whether the byte before `pos` makes a token start there part of a longer token: a word
/// character, or `-`, `.`, `/`, `_` right after one (`abc-123`, `v1.2`, `x/123`).
fn embedded_before(bytes: &[u8], pos: usize) -> bool {
    let Some(&prev) = pos.checked_sub(1).and_then(|p| bytes.get(p)) else {
        return false;
    };
    if prev.is_ascii_alphanumeric() || prev == b'_' {
        return true;
    }
    matches!(prev, b'-' | b'.' | b'/' | b'\\' | b'+')
        && pos
            .checked_sub(2)
            .and_then(|p| bytes.get(p))
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// Whether the token ending at `end` runs on into a word or another token.
fn embedded_after(bytes: &[u8], end: usize) -> bool {
    let Some(&next) = bytes.get(end) else {
        return false;
    };
    if next.is_ascii_alphanumeric() || next == b'_' {
        return true;
    }
    matches!(next, b'-' | b'.' | b'/' | b'\\' | b'@')
        && bytes
            .get(end + 1)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// A phone extension straight after a number: `x123`, ` ext. 45`, ` extension 7`.
fn extension_after(bytes: &[u8], end: usize) -> Option<usize> {
    let rest = bytes.get(end..)?;
    let mut pos = usize::from(rest.first() == Some(&b' '));
    let word_len = [&b"extension"[..], b"ext.", b"ext", b"x"]
        .iter()
        .find(|word| {
            rest.get(pos..pos + word.len())
                .is_some_and(|got| got.eq_ignore_ascii_case(word))
        })?
        .len();
    pos += word_len;
    if rest.get(pos) == Some(&b' ') {
        pos += 1;
    }
    let digits = rest
        .get(pos..)?
        .iter()
        .take_while(|byte| byte.is_ascii_digit())
        .count();
    if !(1..=6).contains(&digits) || embedded_after(bytes, end + pos + digits) {
        return None;
    }
    Some(end + pos + digits)
}

/// End of the word-ish token containing `pos`, to skip digits inside identifiers.
fn skip_token(bytes: &[u8], pos: usize) -> usize {
    let mut end = pos;
    while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
        end += 1;
    }
    end.max(pos + 1)
}

// ----- e-mail --------------------------------------------------------------------------------

/// The e-mail address around the `@` at `at`, if there is one: a 1–64 byte local part, a
/// domain of at least two labels ending in an alphabetic top-level domain.
fn email_at(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let is_local =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-');
    let mut start = at;
    while start > 0 && is_local(bytes[start - 1]) && at - start <= 64 {
        start -= 1;
    }
    if at - start > 64 {
        return None;
    }
    while start < at && matches!(bytes[start], b'.' | b'-' | b'+') {
        start += 1;
    }
    let local = &bytes[start..at];
    if local.is_empty() || local.ends_with(b".") || local.windows(2).any(|w| w == b"..") {
        return None;
    }
    // `https://user:pass@host`: credentials in a URL, the secrets detector's business.
    if start > 0 && bytes[start - 1] == b':' {
        let token_start = bytes[..start]
            .iter()
            .rposition(|b| b.is_ascii_whitespace())
            .map_or(0, |p| p + 1);
        if bytes[token_start..start].windows(3).any(|w| w == b"://") {
            return None;
        }
    }
    let is_domain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-');
    let mut end = at + 1;
    while end < bytes.len() && is_domain(bytes[end]) && end - at <= 254 {
        end += 1;
    }
    while end > at + 1 && matches!(bytes[end - 1], b'.' | b'-') {
        end -= 1;
    }
    let domain = &bytes[at + 1..end];
    if domain.is_empty() || domain.len() > 253 {
        return None;
    }
    let mut labels = 0;
    let mut tld: &[u8] = &[];
    for label in domain.split(|&b| b == b'.') {
        if label.is_empty() || label.len() > 63 || label.starts_with(b"-") || label.ends_with(b"-")
        {
            return None;
        }
        labels += 1;
        tld = label;
    }
    let tld_ok = (tld.len() >= 2 && tld.len() <= 24 && tld.iter().all(u8::is_ascii_alphabetic))
        || (tld.len() > 4 && tld[..4].eq_ignore_ascii_case(b"xn--"));
    if labels < 2 || !tld_ok {
        return None;
    }
    // `icon@2x.png`: an image name, not an address.
    const IMAGE_EXTENSIONS: [&[u8]; 8] = [
        b"png", b"jpg", b"jpeg", b"gif", b"svg", b"webp", b"avif", b"ico",
    ];
    if IMAGE_EXTENSIONS
        .iter()
        .any(|ext| tld.eq_ignore_ascii_case(ext))
    {
        return None;
    }
    // `git@github.com:org/repo`: an scp-style remote, not a mailbox.
    if bytes.get(end) == Some(&b':') && bytes.get(end + 1).is_some_and(|b| !b.is_ascii_whitespace())
    {
        return None;
    }
    if bytes.get(end).is_some_and(|&b| b == b'@' || b == b'_') {
        return None;
    }
    Some((start, end))
}

// ----- IP addresses --------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IpClass {
    Public,
    /// Private, link-local, shared, documentation, multicast or reserved space; the name of
    /// the range. Worth knowing (internal topology), rarely personal.
    Special(&'static str),
    /// Loopback, unspecified, a netmask: names no host anyone owns.
    NotAHost,
}

fn classify_ipv4(octets: [u8; 4]) -> IpClass {
    let value = u32::from_be_bytes(octets);
    // `255.255.255.0`: a netmask (contiguous ones), not an address.
    let netmask = octets[0] == 255 && value.leading_ones() + value.trailing_zeros() == 32;
    match (octets[0], octets[1], octets[2]) {
        (0 | 127, _, _) => IpClass::NotAHost,
        _ if netmask => IpClass::NotAHost,
        (10, _, _) | (192, 168, _) => IpClass::Special("private range"),
        (172, 16..=31, _) => IpClass::Special("private range"),
        (100, 64..=127, _) => IpClass::Special("shared address space"),
        (169, 254, _) => IpClass::Special("link-local"),
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => IpClass::Special("documentation range"),
        (198, 18..=19, _) => IpClass::Special("benchmarking range"),
        (224..=239, _, _) => IpClass::Special("multicast"),
        (240..=255, _, _) => IpClass::Special("reserved range"),
        _ => IpClass::Public,
    }
}

fn classify_ipv6(addr: &Ipv6Addr) -> IpClass {
    let segments = addr.segments();
    if addr.is_loopback() || addr.is_unspecified() {
        IpClass::NotAHost
    } else if addr.is_multicast() {
        IpClass::Special("multicast")
    } else if segments[0] & 0xfe00 == 0xfc00 {
        IpClass::Special("unique local")
    } else if segments[0] & 0xffc0 == 0xfe80 {
        IpClass::Special("link-local")
    } else if segments[0] == 0x2001 && segments[1] == 0x0db8 {
        IpClass::Special("documentation range")
    } else {
        IpClass::Public
    }
}

/// The run of address bytes around the `:` at `colon`, trimmed and not part of a longer word.
fn ipv6_candidate(bytes: &[u8], colon: usize) -> Option<(usize, usize)> {
    const MAX: usize = 45; // the longest textual IPv6 address
    let is_addr = |b: u8| b.is_ascii_hexdigit() || b == b':' || b == b'.';
    let mut start = colon;
    while start > 0 && is_addr(bytes[start - 1]) {
        start -= 1;
        if colon - start > MAX {
            return None;
        }
    }
    let mut end = colon + 1;
    while end < bytes.len() && is_addr(bytes[end]) {
        end += 1;
        if end - start > MAX {
            return None;
        }
    }
    while end > start && bytes[end - 1] == b'.' {
        end -= 1;
    }
    if end - start >= 2 && bytes[end - 1] == b':' && bytes[end - 2] != b':' {
        end -= 1;
    }
    if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
        return None;
    }
    if bytes
        .get(end)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    {
        return None;
    }
    Some((start, end))
}

/// Parses `candidate` as IPv6 and rejects what is more likely code or a time: `a::b` scope
/// paths, `x[1::2]` slices, `12:30:45`.
fn plausible_ipv6(candidate: &str) -> Option<Ipv6Addr> {
    if candidate.bytes().filter(|&b| b == b':').count() < 2 {
        return None;
    }
    let addr: Ipv6Addr = candidate.parse().ok()?;
    let hextets: Vec<&str> = candidate
        .split(':')
        .filter(|part| !part.is_empty() && !part.contains('.'))
        .collect();
    let has_upper = candidate.bytes().any(|b| b.is_ascii_uppercase());
    let has_lower = candidate.bytes().any(|b| b.is_ascii_lowercase());
    let substantial =
        hextets.len() >= 3 || candidate.contains('.') || hextets.iter().any(|part| part.len() == 4);
    (substantial && !(has_upper && has_lower)).then_some(addr)
}

// ----- checks ---------------------------------------------------------------------------------

/// ISO/IEC 7812 Luhn check over decimal digits.
fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The card network whose issuer identification number range and length this is.
fn card_brand(digits: &[u8]) -> Option<&'static str> {
    let prefix = |n: usize| {
        digits
            .iter()
            .take(n)
            .fold(0u32, |acc, &d| acc * 10 + u32::from(d))
    };
    let len = digits.len();
    let (p2, p3, p4, p6) = (prefix(2), prefix(3), prefix(4), prefix(6));
    let brand = if (p2 == 34 || p2 == 37) && len == 15 {
        "American Express"
    } else if digits[0] == 4 && matches!(len, 13 | 16 | 19) {
        "Visa"
    } else if ((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && len == 16 {
        "Mastercard"
    } else if (2200..=2204).contains(&p4) && (16..=19).contains(&len) {
        "Mir"
    } else if (p4 == 6011
        || p2 == 65
        || (644..=649).contains(&p3)
        || (622_126..=622_925).contains(&p6))
        && (16..=19).contains(&len)
    {
        "Discover"
    } else if p2 == 62 && (16..=19).contains(&len) {
        "UnionPay"
    } else if ((3528..=3589).contains(&p4) || p2 == 35) && (16..=19).contains(&len)
        || matches!(p4, 1800 | 2131) && len == 15
    {
        // JCB: 3528–3589 today; issuers used all of 35, and 1800/2131 for 15 digits.
        "JCB"
    } else if ((300..=305).contains(&p3) || p4 == 3095 || matches!(p2, 36 | 38 | 39))
        && (14..=19).contains(&len)
    {
        "Diners Club"
    } else if (matches!(
        p4,
        5018 | 5020 | 5038 | 5893 | 6304 | 6759 | 6761 | 6762 | 6763
    ) || (56..=58).contains(&p2))
        && (12..=19).contains(&len)
    {
        "Maestro"
    } else {
        return None;
    };
    Some(brand)
}

/// Area 000, 666 and 900–999, group 00 and serial 0000 are never issued (SSA, including
/// after the 2011 randomisation); two numbers printed in advertising were voided.
fn ssn_is_issuable(digits: &[u8]) -> bool {
    let area = u32::from(digits[0]) * 100 + u32::from(digits[1]) * 10 + u32::from(digits[2]);
    let group = u32::from(digits[3]) * 10 + u32::from(digits[4]);
    let serial = digits[5..]
        .iter()
        .fold(0u32, |acc, &d| acc * 10 + u32::from(d));
    let voided = matches!((area, group, serial), (78, 5, 1120) | (219, 9, 9999));
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0 && !voided
}

/// Verhoeff check (dihedral group D5), the check digit of Aadhaar numbers.
fn verhoeff_valid(digits: &[u8]) -> bool {
    const D: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let check = digits.iter().rev().enumerate().fold(0u8, |c, (i, &d)| {
        D[usize::from(c)][usize::from(P[i % 8][usize::from(d)])]
    });
    check == 0
}

/// ISBN-10 check: the digits weighted 10 down to 1 sum to a multiple of 11.
fn isbn10_valid(digits: &[u8]) -> bool {
    let sum: usize = digits
        .iter()
        .zip((1..=10).rev())
        .map(|(&d, weight)| usize::from(d) * weight)
        .sum();
    digits.len() == 10 && sum.is_multiple_of(11)
}

/// North American Numbering Plan: area code and exchange start 2–9 and are not N11 service
/// codes; area codes N9X are reserved.
fn nanp_valid(digits: &[u8]) -> bool {
    let code_ok = |d: &[u8]| d[0] >= 2 && !(d[1] == 1 && d[2] == 1);
    digits.len() == 10 && code_ok(&digits[..3]) && digits[1] != 9 && code_ok(&digits[3..6])
}

/// What [`iban_at`] saw.
#[derive(Debug, PartialEq, Eq)]
enum IbanShape<'a> {
    /// A valid IBAN ending at this byte, with its country code.
    Valid(usize, &'a str),
    /// The right shape and length for its country, but the mod-97 check fails.
    BadCheck(usize),
    NotIban,
}

/// An IBAN starting at `start`: country code, two check digits, then the country's BBAN
/// length of letters and digits, with single spaces allowed between characters (the print
/// form groups by four).
fn iban_at(bytes: &[u8], start: usize) -> IbanShape<'_> {
    let Some(country) = bytes.get(start..start + 2) else {
        return IbanShape::NotIban;
    };
    let Some(length) = iban_length(country) else {
        return IbanShape::NotIban;
    };
    let mut compact = [0u8; 34];
    let mut n = 0;
    let mut pos = start;
    while n < length {
        match bytes.get(pos) {
            Some(&b) if b.is_ascii_uppercase() || b.is_ascii_digit() => {
                compact[n] = b;
                n += 1;
                pos += 1;
            }
            Some(b' ')
                if n >= 4
                    && bytes
                        .get(pos + 1)
                        .is_some_and(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) =>
            {
                pos += 1;
            }
            _ => return IbanShape::NotIban,
        }
    }
    if !compact[2].is_ascii_digit() || !compact[3].is_ascii_digit() || embedded_after(bytes, pos) {
        return IbanShape::NotIban;
    }
    // ISO 13616: move the first four characters to the end, letters become 10–35, mod 97 is 1.
    let remainder = compact[4..length]
        .iter()
        .chain(&compact[..4])
        .fold(0u32, |acc, &b| {
            if b.is_ascii_digit() {
                (acc * 10 + u32::from(b - b'0')) % 97
            } else {
                (acc * 100 + u32::from(b - b'A') + 10) % 97
            }
        });
    if remainder == 1 {
        let country = std::str::from_utf8(country).unwrap_or("??");
        IbanShape::Valid(pos, country)
    } else {
        IbanShape::BadCheck(pos)
    }
}

/// IBAN length per country (SWIFT IBAN registry).
fn iban_length(country: &[u8]) -> Option<usize> {
    let length = match country {
        b"NO" => 15,
        b"BE" => 16,
        b"DK" | b"FI" | b"FK" | b"FO" | b"GL" | b"NL" | b"SD" => 18,
        b"MK" | b"SI" => 19,
        b"AT" | b"BA" | b"EE" | b"KZ" | b"LT" | b"LU" | b"MN" | b"XK" => 20,
        b"CH" | b"HR" | b"LI" | b"LV" => 21,
        b"BG" | b"BH" | b"CR" | b"DE" | b"GB" | b"GE" | b"IE" | b"ME" | b"RS" | b"VA" => 22,
        b"AE" | b"GI" | b"IL" | b"IQ" | b"OM" | b"SO" | b"TL" => 23,
        b"AD" | b"CZ" | b"ES" | b"MD" | b"PK" | b"RO" | b"SA" | b"SE" | b"SK" | b"TN" | b"VG" => 24,
        b"LY" | b"PT" | b"ST" => 25,
        b"IS" | b"TR" => 26,
        b"BI" | b"DJ" | b"FR" | b"GR" | b"IT" | b"MC" | b"MR" | b"SM" => 27,
        b"AL" | b"AZ" | b"BY" | b"CY" | b"DO" | b"GT" | b"HU" | b"LB" | b"NI" | b"PL" | b"SV" => 28,
        b"BR" | b"EG" | b"PS" | b"QA" | b"UA" => 29,
        b"JO" | b"KW" | b"MU" | b"YE" => 30,
        b"MT" | b"SC" => 31,
        b"LC" => 32,
        b"RU" => 33,
        _ => return None,
    };
    Some(length)
}

/// The assigned ITU-T E.164 country calling code at the start of `digits`, with its length
/// and the range of national significant number lengths in use there. Codes are prefix-free,
/// so the first hit is the only one.
fn calling_code(digits: &[u8]) -> Option<(u16, usize, usize, usize)> {
    let value = |n: usize| -> Option<u16> {
        let part = digits.get(..n)?;
        part.iter().try_fold(0u16, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + u16::from(b - b'0'))
        })
    };
    let one = value(1)?;
    if let Some((min, max)) = match one {
        1 | 7 => Some((10, 10)),
        _ => None,
    } {
        return Some((one, 1, min, max));
    }
    let two = value(2)?;
    if let Some((min, max)) = two_digit_code(two) {
        return Some((two, 2, min, max));
    }
    let three = value(3)?;
    three_digit_code(three).map(|(min, max)| (three, 3, min, max))
}

fn two_digit_code(code: u16) -> Option<(usize, usize)> {
    let lengths = match code {
        20 => (8, 10),
        27 | 56 | 61 | 93 | 94 => (9, 9),
        30 | 52 | 58 | 90 | 91 | 98 => (10, 10),
        31 | 33 | 34 | 40 | 41 | 48 => (9, 9),
        32 | 36 | 51 | 66 => (8, 9),
        39 => (6, 11),
        43 => (7, 13),
        44 => (9, 10),
        45 | 47 | 65 => (8, 8),
        46 => (7, 10),
        49 => (6, 13),
        53 => (6, 8),
        54 | 55 => (10, 11),
        57 => (8, 10),
        60 | 63 | 64 => (8, 10),
        62 => (8, 12),
        81 | 84 | 92 => (9, 10),
        82 => (7, 10),
        86 => (10, 11),
        95 => (7, 10),
        _ => return None,
    };
    Some(lengths)
}

fn three_digit_code(code: u16) -> Option<(usize, usize)> {
    let lengths = match code {
        // Lengths known for common destinations.
        212 | 218 | 233 | 251 | 254 | 255 | 256 | 351 | 380 | 420 | 421 | 963 | 966 | 992 | 994
        | 995 | 998 => (9, 9),
        213 | 359 | 353 => (7, 9),
        216 | 370 | 371 | 386 | 852 | 853 | 965 | 973 | 974 => (8, 8),
        234 | 977 => (8, 10),
        352 => (6, 11),
        354 | 960 => (7, 7),
        358 => (5, 12),
        372 | 961 => (7, 8),
        381 | 385 | 855 | 886 | 962 | 971 | 972 => (8, 9),
        880 | 964 => (10, 10),
        // Other assigned codes: any length E.164 allows.
        211
        | 220..=232
        | 235..=239
        | 240..=250
        | 252
        | 253
        | 257
        | 258
        | 260..=269
        | 290
        | 291
        | 297..=299
        | 350
        | 355..=357
        | 373..=378
        | 382
        | 383
        | 387
        | 389
        | 423
        | 500..=509
        | 590..=599
        | 670
        | 672..=683
        | 685..=692
        | 850
        | 856
        | 967
        | 968
        | 970
        | 975
        | 976
        | 993
        | 996 => (6, 12),
        _ => return None,
    };
    Some(lengths)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use airlock_core::EventKind;

    use super::*;
    use crate::{RawDetectConfig, ScanContext, Scanner};

    /// A scanner running only this detector, with `options` as its config table.
    fn scanner(options: serde_json::Value) -> Scanner {
        let mut config = RawDetectConfig::only(&["pii"]);
        if let (serde_json::Value::Object(extra), Some(table)) =
            (&options, config.detectors.get_mut("pii"))
        {
            table.extend(extra.clone());
        }
        Scanner::from_config(&config).unwrap()
    }

    fn scan_with(options: serde_json::Value, text: &str) -> Vec<Finding> {
        scanner(options).scan(text, ScanContext::of_kind(EventKind::ToolResult))
    }

    fn scan(text: &str) -> Vec<Finding> {
        scan_with(serde_json::json!({}), text)
    }

    /// `(rule, matched text)` of every finding.
    fn found(text: &str) -> Vec<(String, String)> {
        scan(text)
            .into_iter()
            .map(|f| (f.rule, text[f.span.start..f.span.end].to_owned()))
            .collect()
    }

    #[track_caller]
    fn assert_finds(rule: &str, text: &str, value: &str) {
        let hits = found(text);
        assert!(
            hits.iter().any(|(r, v)| r == rule && v == value),
            "expected {rule} `{value}` in {text:?}, got {hits:?}"
        );
    }

    #[track_caller]
    fn assert_clean(text: &str) {
        let hits = found(text);
        assert!(
            hits.is_empty(),
            "expected nothing in {text:?}, got {hits:?}"
        );
    }

    // ----- e-mail -----

    #[test]
    fn flags_email_addresses() {
        assert_finds("email", "contact: ana.ng@example.com", "ana.ng@example.com");
        assert_finds(
            "email",
            "{\"email\": \"b.kim+tag@mail.example.org\"}",
            "b.kim+tag@mail.example.org",
        );
        assert_finds(
            "email",
            "mailto:Ops@Corp.Example.NET.",
            "Ops@Corp.Example.NET",
        );
    }

    #[test]
    fn ignores_at_signs_that_are_not_addresses() {
        assert_clean("see icon@2x.png and logo@3x.jpeg");
        assert_clean("npm i lodash@4.17.21 react@18");
        assert_clean("@decorator on a line, user@localhost, a@b");
        assert_clean("git clone git@github.com:org/repo.git");
        assert_clean("https://user:hunter2@db.example.com/x");
    }

    // ----- phone numbers -----

    #[test]
    fn flags_international_phone_numbers() {
        for phone in [
            "+44 20 7946 0958",
            "+1 (415) 555-0132",
            "+49 30 41328514",
            "+33 1 23 45 67 89",
            "+91 98765 43210",
            "+81-3-1234-5678",
            "+442079460958",
            "+44 (0)20 7946 0958",
            "+61 2 9876 5432",
        ] {
            assert_finds(
                "phone_number",
                &format!("Reach me at {phone} after 5pm."),
                phone,
            );
        }
    }

    #[test]
    fn ignores_plus_numbers_with_unassigned_codes_or_wrong_lengths() {
        assert_clean("+999 1234 5678");
        assert_clean("+44 12 34");
        assert_clean("+1 415 555 01");
        assert_clean("+33 1 23 45 67");
        assert_clean("score went +12 then +3456");
    }

    #[test]
    fn flags_national_phone_formats() {
        for phone in [
            "(415) 555-0132",
            "(415)555-0132",
            "415-555-0132",
            "415.555.0132",
            "1-800-555-0199",
            "020 7946 0958",
            "(030) 41328514",
            "01 23 45 67 89",
            "001-415-555-0132",
            "0044 20 7946 0958",
            "11 91234-5678",
            "(21) 2601-8159",
            "(03).6018.1590",
            "02079460958",
        ] {
            assert_finds("phone_number", &format!("Call {phone} or write."), phone);
        }
        assert_finds(
            "phone_number",
            "call 415-555-0132 x204 today",
            "415-555-0132 x204",
        );
        assert_finds("phone_number", "phone: 4155550132", "4155550132");
    }

    #[test]
    fn ignores_dates_times_and_order_numbers_as_phones() {
        assert_clean("released 2023-04-12 at 10:20:30");
        assert_clean("Your order 112-4567890-1234567 has shipped.");
        assert_clean("id 4155550132");
        assert_clean("ratio 115 555 0132 of 2");
        assert_clean("on 01.02.2023 at 11");
        assert_clean("ISBN 0-306-40615-2");
        assert_clean("old ISBN 0306406152 and 0123456789");
        assert_clean("See ISBN 978-3-16-148410-0 for details.");
    }

    #[test]
    fn national_phone_formats_can_be_turned_off() {
        let options = serde_json::json!({"national_phone_formats": false});
        assert!(scan_with(options.clone(), "Call (415) 555-0132.").is_empty());
        assert_eq!(scan_with(options, "Call +1 (415) 555-0132.").len(), 1);
    }

    // ----- payment cards -----

    #[test]
    fn flags_luhn_valid_cards_of_each_network() {
        for card in [
            "4123456789012349",
            "4123 4567 8901 2349",
            "4123-4567-8901-2349",
            "4123456789011",
            "5112 3456 7890 1235",
            "2221 1234 5678 9014",
            "3412 345678 90127",
            "371234567890120",
            "6011 1234 5678 9019",
            "6512345678901239",
            "3530 1234 5678 9018",
            "3612 345678 9013",
            "30012345678907",
            "6212 3456 7890 1232",
            "6759 1234 5678 9015",
            "5018 1234 5678 9012 344",
        ] {
            assert_finds(
                "credit_card",
                &format!("Customer paid with {card}; thanks"),
                card,
            );
        }
    }

    #[test]
    fn ignores_luhn_invalid_and_unknown_range_card_numbers() {
        assert_clean("card=4123456789012340 (test fixture)");
        assert_clean("card 4123 4567 8901 2345");
        assert_clean("9123456789012343"); // Luhn-valid, no network uses 9
        assert_clean("ms 1700000000000 since epoch");
        assert_clean("Part number: 4123 4567 8901 2349"); // valid, but labelled a part
        assert_clean("Tracking number: 4123456789012349");
        assert_clean("pi is 3.4123456789012349");
        assert_clean("4123 4567 89012 349"); // not a grouping cards use
    }

    // ----- IBAN -----

    #[test]
    fn flags_ibans_with_valid_check_digits() {
        for iban in [
            "DE89370400440532013000",
            "DE89 3704 0044 0532 0130 00",
            "GB82 WEST 1234 5698 7654 32",
            "GB82WEST12345698765432",
            "NO9386011117947",
            "CH93 0076 2011 6238 5295 7",
        ] {
            assert_finds("iban", &format!("Please wire the refund to {iban}."), iban);
        }
    }

    #[test]
    fn ignores_ibans_with_a_wrong_check_or_length() {
        assert_clean("Please wire the refund to DE88 3704 0044 0532 0130 00.");
        assert_clean("GB83WEST12345698765432");
        assert_clean("DE89 3704 0044 0532 0130"); // too short for DE
        assert_clean("XX89370400440532013000"); // no such country
        // The tail of a bad IBAN is not a card either.
        assert_clean("GB12 ABCD 4123 4567 8901 2349 00");
    }

    // ----- US SSN -----

    #[test]
    fn flags_issuable_ssns_dashed_or_after_the_keyword() {
        assert_finds("us_ssn", "SSN on file: 775-45-7722", "775-45-7722");
        assert_finds("us_ssn", "employee_ssn: \"540-66-5591\"", "540-66-5591");
        assert_finds("us_ssn", "ssn 540665591", "540665591");
        assert_finds(
            "us_ssn",
            "Social Security number 540 66 5591",
            "540 66 5591",
        );
        assert_finds("us_ssn", "applicant 540-66-5591 approved", "540-66-5591");
    }

    #[test]
    fn ignores_never_issued_ssns_and_bare_nine_digit_numbers() {
        assert_clean("SSN 000-12-3456");
        assert_clean("SSN 666-12-3456");
        assert_clean("SSN 912-34-5678");
        assert_clean("SSN 123-00-4567");
        assert_clean("SSN 123-45-0000");
        assert_clean("SSN 078-05-1120");
        assert_clean("invoice total 540665591 cents");
        assert_clean("ticket #540-66-5591 closed");
    }

    #[test]
    fn dashed_ssn_can_require_the_keyword() {
        let options = serde_json::json!({"ssn_requires_context": true});
        assert!(scan_with(options.clone(), "applicant 540-66-5591 approved").is_empty());
        assert_eq!(scan_with(options, "SSN: 540-66-5591").len(), 1);
    }

    // ----- Aadhaar -----

    #[test]
    fn flags_aadhaar_numbers_with_valid_verhoeff_check() {
        assert_finds("in_aadhaar", "Aadhaar: 2345 6789 0124", "2345 6789 0124");
        assert_finds("in_aadhaar", "aadhaar no 498765432102", "498765432102");
        assert_finds(
            "in_aadhaar",
            "id card 3141-5926-5351 attached",
            "3141-5926-5351",
        );
    }

    #[test]
    fn ignores_aadhaar_shaped_numbers_that_fail_verhoeff_or_lack_the_keyword() {
        assert_clean("Aadhaar: 2345 6789 0125");
        assert_clean("Aadhaar: 1345 6789 0124"); // never starts with 1
        assert_clean("count 498765432102 rows");
        assert_clean("Tracking number: 2345 6789 0124");
    }

    // ----- IP addresses -----

    #[test]
    fn flags_ip_addresses_with_severity_by_range() {
        let public = scan("login from 27.62.138.78 at 03:12 UTC");
        assert_eq!(public.len(), 1);
        assert_eq!(public[0].rule, "ip_address");
        assert_eq!(public[0].severity, Severity::Low);
        let private = scan("X-Forwarded-For: 192.168.1.20");
        assert_eq!(private[0].severity, Severity::Info);
        assert_finds("ip_address", "from 10.0.0.1:8080 port", "10.0.0.1");
        assert_finds("ip_address", "peer [2001:db8::1]:443", "2001:db8::1");
        assert_finds(
            "ip_address",
            "addr 2a00:1450:4009:81c::200e up",
            "2a00:1450:4009:81c::200e",
        );
        assert_finds(
            "ip_address",
            "link fe80::1ff:fe23:4567:890a%eth0",
            "fe80::1ff:fe23:4567:890a",
        );
        assert_finds("ip_address", "mapped ::ffff:8.8.4.4 ok", "::ffff:8.8.4.4");
    }

    #[test]
    fn ignores_versions_oids_sections_and_non_host_addresses() {
        assert_clean("upgraded to v1.2.3.4 today");
        assert_clean("Windows version 10.0.19041.1");
        assert_clean("build 3.12.44.12 released on schedule");
        assert_clean("OID 1.3.6.1.4.1.311.21.8");
        assert_clean("see section 4.2.1.3 of the spec");
        assert_clean("as in 1.2.3.4 above; resolver 8.8.8.8");
        assert_clean("libfoo 1.02.03.04 and 0.1.2.3");
        assert_clean("listen on 127.0.0.1 and 0.0.0.0 mask 255.255.255.0 or 255.255.255.255");
        assert_clean("ipv6 loopback ::1 and ::");
        assert_clean("std::vec::Vec and a::b and Foo::Bar");
        assert_clean("slice x[1::2] and y[::100]");
        assert_clean("at 12:30:45 and mac 00:1a:2b:3c:4d:5e");
        assert_clean("host 10.0.0.1.example.com");
    }

    #[test]
    fn private_ips_can_be_left_out() {
        let options = serde_json::json!({"report_private_ips": false});
        assert!(scan_with(options.clone(), "from 192.168.1.20 and 2001:db8::1").is_empty());
        assert_eq!(scan_with(options, "from 27.62.138.78").len(), 1);
    }

    // ----- look-alikes and output -----

    #[test]
    fn ignores_common_numeric_look_alikes() {
        assert_clean("id: 123e4567-e89b-12d3-a456-426614174000");
        assert_clean("id: 12345678-1234-5678-1234-567812345678");
        assert_clean("Tracking number: 1Z999AA10123456784");
        assert_clean("timestamp 2024-03-01T12:34:56.789Z epoch 1709296496");
        assert_clean("Total: $1,234,567.89 over 3.14159265358979 units");
        assert_clean("digits 4444444444444444444444444444444444");
    }

    #[test]
    fn findings_mask_the_value_and_name_only_the_type() {
        let text = "card 4123 4567 8901 2349, mail ana.ng@example.com, ssn 540-66-5591";
        let findings = scan(text);
        assert_eq!(findings.len(), 3, "{findings:?}");
        for finding in &findings {
            let value = &text[finding.span.start..finding.span.end];
            assert_eq!(finding.category, Category::Pii);
            assert_eq!(finding.excerpt, mask_secret(value));
            assert!(!finding.message.contains(value), "{}", finding.message);
            assert!(!finding.excerpt.contains("8901"), "{}", finding.excerpt);
        }
    }

    #[test]
    fn rejects_unknown_options() {
        let result = (SPEC.build)(
            serde_json::json!({"report_private_ip": true})
                .as_object()
                .unwrap(),
        );
        let problems = result.unwrap_err();
        assert!(
            problems[0].message.contains("unknown field"),
            "{problems:?}"
        );
    }

    #[test]
    fn survives_pathological_runs_of_digits_and_separators() {
        let mut cases: Vec<String> = [
            "1 ", "1-", "1.", "1:", "a:", "::", "@a", "a@", "+1", "(1", "1)", "12-34 ", "DE89 ",
            "x@1.",
        ]
        .iter()
        .map(|unit| unit.repeat(20_000))
        .collect();
        // Pseudo-random mixes of the bytes the number parser cares about.
        let alphabet = b"0123456789 -.()+:@abcDEFx\n";
        let mut state = 0x2545_f491_u32;
        let mixed: String = (0..200_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                alphabet[state as usize % alphabet.len()] as char
            })
            .collect();
        cases.push(mixed);
        cases.push("é1-2-3-4-5 ١٢٣ ４１１１ 👍+44 20 7946 0958👍".repeat(500));
        for text in &cases {
            // The scanner checks every finding's span in debug builds.
            let findings = scan(text);
            for finding in &findings {
                assert!(text.get(finding.span.start..finding.span.end).is_some());
            }
        }
    }

    #[test]
    fn checks_match_their_published_definitions() {
        assert!(luhn_valid(&[
            4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
        ]));
        assert!(!luhn_valid(&[
            4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2
        ]));
        assert!(verhoeff_valid(&[2, 3, 6, 3]));
        assert!(!verhoeff_valid(&[2, 3, 6, 4]));
        assert_eq!(card_brand(&[4; 16]), Some("Visa"));
        assert_eq!(card_brand(&[1; 16]), None);
        assert_eq!(calling_code(b"4420"), Some((44, 2, 9, 10)));
        assert_eq!(calling_code(b"1415"), Some((1, 1, 10, 10)));
        assert_eq!(calling_code(b"2891"), None);
    }

    // ----- quality on the developer data -----

    fn data_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
    }

    fn records(file: &str, split: &str) -> Vec<serde_json::Value> {
        let path = data_dir().join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
        text.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|record| record["split"] == split)
            .collect()
    }

    fn label_type(rule: &str) -> &'static str {
        match rule {
            "email" => "EMAIL_ADDRESS",
            "phone_number" => "PHONE_NUMBER",
            "credit_card" => "CREDIT_CARD",
            "iban" => "IBAN_CODE",
            "us_ssn" => "US_SSN",
            "ip_address" => "IP_ADDRESS",
            _ => "OTHER",
        }
    }

    #[derive(Debug, Default)]
    struct Quality {
        tp: usize,
        fp: usize,
        fn_: usize,
        tn: usize,
        spans: usize,
        spans_exact: usize,
        benign: usize,
        benign_flagged: usize,
    }

    impl Quality {
        fn f1(&self) -> f64 {
            let p = self.tp as f64 / (self.tp + self.fp).max(1) as f64;
            let r = self.tp as f64 / (self.tp + self.fn_).max(1) as f64;
            if p + r == 0.0 {
                0.0
            } else {
                2.0 * p * r / (p + r)
            }
        }

        fn span_agreement(&self) -> f64 {
            self.spans_exact as f64 / self.spans.max(1) as f64
        }

        fn benign_fpr(&self) -> f64 {
            self.benign_flagged as f64 / self.benign.max(1) as f64
        }
    }

    fn measure(split: &str) -> Quality {
        let scanner = scanner(serde_json::json!({}));
        let context = ScanContext::of_kind(EventKind::ToolResult);
        let mut q = Quality::default();
        for record in records("pii_synthetic.jsonl", split) {
            let text = record["text"].as_str().unwrap_or_default();
            let findings = scanner.scan(text, context);
            let positive = record["label"] == 1;
            match (positive, !findings.is_empty()) {
                (true, true) => q.tp += 1,
                (true, false) => q.fn_ += 1,
                (false, true) => q.fp += 1,
                (false, false) => q.tn += 1,
            }
            if std::env::var_os("PII_VERBOSE").is_some() && positive == findings.is_empty() {
                eprintln!("miss label={} {text:?} {findings:?}", record["label"]);
            }
            for span in record["spans"].as_array().into_iter().flatten() {
                q.spans += 1;
                let exact = findings.iter().any(|f| {
                    Some(f.span.start as u64) == span["start"].as_u64()
                        && Some(f.span.end as u64) == span["end"].as_u64()
                        && span["type"] == label_type(&f.rule)
                });
                if exact {
                    q.spans_exact += 1;
                } else if std::env::var_os("PII_VERBOSE").is_some() {
                    eprintln!("span {span} {text:?} {findings:?}");
                }
            }
        }
        for record in records("injection.jsonl", split) {
            if record["label"] != 0 {
                continue;
            }
            let text = record["text"].as_str().unwrap_or_default();
            q.benign += 1;
            let findings = scanner.scan(text, context);
            if !findings.is_empty() {
                q.benign_flagged += 1;
                if std::env::var_os("PII_VERBOSE").is_some() {
                    for f in &findings {
                        let at = &text[f.span.start..f.span.end];
                        eprintln!("benign {} {at:?} in {:?}", f.rule, record["source"]);
                    }
                }
            }
        }
        eprintln!(
            "pii {split}: tp {} fp {} fn {} tn {} f1 {:.4}; span agreement {}/{} = {:.4}; \
             injection.jsonl benign flagged {}/{} = {:.4}",
            q.tp,
            q.fp,
            q.fn_,
            q.tn,
            q.f1(),
            q.spans_exact,
            q.spans,
            q.span_agreement(),
            q.benign_flagged,
            q.benign,
            q.benign_fpr()
        );
        q
    }

    #[test]
    fn meets_pii_targets_on_dev_split() {
        let q = measure("dev");
        assert!(q.f1() >= 0.95, "record-level F1 {:.4} below 0.95", q.f1());
        assert!(
            q.span_agreement() >= 0.95,
            "span agreement {:.4}",
            q.span_agreement()
        );
        assert!(q.benign_fpr() <= 0.01, "benign FPR {:.4}", q.benign_fpr());
    }

    #[test]
    #[ignore = "tuning aid: train-split quality; PII_VERBOSE=1 prints every miss"]
    fn meets_pii_targets_on_train_split() {
        let q = measure("train");
        assert!(q.f1() >= 0.95, "record-level F1 {:.4} below 0.95", q.f1());
        assert!(
            q.span_agreement() >= 0.95,
            "span agreement {:.4}",
            q.span_agreement()
        );
        assert!(q.benign_fpr() <= 0.01, "benign FPR {:.4}", q.benign_fpr());
    }
}
