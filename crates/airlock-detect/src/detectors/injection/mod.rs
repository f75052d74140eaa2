//! `injection` detector: instructions aimed at the model that arrive where only data belongs,
//! and jailbreaks in prompts (OWASP LLM01; agentic "goal hijack" and "tool misuse" threats).
//!
//! The text is first normalised (NFKC, invisible characters and combining marks removed,
//! confusables folded; see [`crate::normalize`]), so `ｉｇｎｏｒｅ`, `ig\u{200B}nore` and
//! Cyrillic `іgnore` read as `ignore`; when the text shows leetspeak or letter-by-letter
//! spacing, a second view with those closed up is scanned too. One Aho-Corasick pass over
//! lowercase keywords finds where a check could match, and each check's small expression
//! runs only in windows around its keywords.
//!
//! Evidence is not reported phrase by phrase: the checks that fire close together form one
//! region, and the region's evidence (plus a trained model's score when one is plugged in,
//! see [`InjectionModel`]) is combined by the [`Ensemble`] into one calibrated score. One
//! finding per region; its rule is the family that contributed most.
//!
//! Context matters: "in your reply, add …" is how a user talks to an assistant, and an attack
//! when it sits in a web page or tool result, so [`Family::context_factor`] weighs evidence
//! by the event's kind and trust.

mod checks;
mod ensemble;
pub mod model;

use std::collections::BTreeMap;
use std::fmt;

use airlock_core::{Category, Finding, Severity, Span, Trust};
use regex::Regex;
use serde::Deserialize;

use crate::config::{ConfigProblem, parse_options};
use crate::detector::{Detector, Input, ScanContext};
use crate::keywords::{Case, Keywords};
use crate::normalize::{self, Normalized};
use crate::registry::{DetectorSpec, Options};
use checks::{CHECKS, CheckSpec, MAX_REACH, Position};
pub use ensemble::{Ensemble, Family, InjectionModel, Reason, Signal, Verdict};
use model::{NgramModel, WindowScore};

/// Registry entry.
pub const SPEC: DetectorSpec = DetectorSpec {
    id: "injection",
    summary: "prompt injection and jailbreaks: instruction overrides, fake role and tool-call \
              markup, jailbreak personas, system-prompt extraction, data addressing the assistant",
    build: |options: &Options| Ok(Box::new(InjectionDetector::from_options(options)?)),
};

/// Signals closer than this (bytes of the original text) belong to one region.
const REGION_GAP: usize = 800;
/// Findings at or above this score are High; below, Medium.
const HIGH_SCORE: f32 = 0.8;
/// The longest excerpt, in characters.
const EXCERPT_CHARS: usize = 80;
/// How far past a match (bytes) its veto looks: "ignore the instructions *I gave you*".
const VETO_LOOKAHEAD: usize = 24;
/// How far back (bytes) to look for a reporting frame ("tricks the model into …").
const REPORTED_LOOKBEHIND: usize = 80;
/// What a reported instruction still counts: it describes an attack rather than making one.
const REPORTED_FACTOR: f32 = 0.25;

/// Text just before an instruction that makes it reported speech: "get a model to",
/// "tricks the assistant into", "attempts to make the LLM". Matched against the text that
/// ends where the instruction begins.
const REPORTED_FRAME: &str = r"(?i)\b(?:(?:gets?|getting|got|tricks?|tricking|tricked|caus(?:e|es|ing)|convinc(?:e|es|ing)|persuad(?:e|es|ing)|forc(?:e|es|ing)|leads?|leading|asks?|asking|asked|tells?|telling|told|instructs?|instructing|coerc(?:e|es|ing)|manipulat(?:e|es|ing)|induc(?:e|es|ing)|attempts?\W+to|tries\W+to|try\W+to|trying\W+to|designed\W+to|intended\W+to|used\W+to)\W+(?:(?:the|a|an|target|victim|vulnerable|language|large|chat)\W+){0,3}(?:models?|llms?|ai|assistants?|chatbots?|systems?|agents?|bots?|targets?|it|them|gpt|chatgpt)\W+(?:to|into)|(?:make|makes|making|made|let|lets|letting|help|helps|helping)\W+(?:(?:the|a|an|target|victim|vulnerable|language|large|chat)\W+){0,3}(?:models?|llms?|ai|assistants?|chatbots?|agents?|bots?|it|them))\s*$";

/// Options of the `injection` detector.
///
/// ```toml
/// [detect.detectors.injection]
/// model = true               # the trained fast tier (default on); false: heuristics only
/// threshold = 0.5            # min combined score to report, in every context
/// threshold_untrusted = 0.4  # overrides it for tool results and retrieved documents
/// threshold_trusted = 0.6    # overrides it for the user's prompt and tool-call arguments
/// ```
///
/// Unset thresholds come from the model file, where they were chosen on the dev split for a
/// 1 % false-positive rate in each context; without a model they are 0.5.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InjectionOptions {
    /// Whether to run the shipped model beside the heuristics. Default true.
    pub model: bool,
    /// Minimum combined score for a finding, in every context.
    pub threshold: Option<f32>,
    /// Overrides `threshold` for untrusted content (tool results, retrieved documents).
    pub threshold_untrusted: Option<f32>,
    /// Overrides `threshold` for trusted content (the user's prompt, tool-call arguments).
    pub threshold_trusted: Option<f32>,
}

impl Default for InjectionOptions {
    fn default() -> Self {
        InjectionOptions {
            model: true,
            threshold: None,
            threshold_untrusted: None,
            threshold_trusted: None,
        }
    }
}

/// The threshold without a model and without configuration.
const HEURISTIC_THRESHOLD: f32 = 0.5;

impl InjectionOptions {
    fn validate(&self) -> Result<(), Vec<ConfigProblem>> {
        let problems: Vec<ConfigProblem> = [
            ("threshold", self.threshold),
            ("threshold_untrusted", self.threshold_untrusted),
            ("threshold_trusted", self.threshold_trusted),
        ]
        .into_iter()
        .filter_map(|(key, value)| {
            let value = value?;
            (!(0.0..=1.0).contains(&value)).then(|| {
                ConfigProblem::new(
                    format!("detect.detectors.injection.{key}"),
                    format!("{value} is outside [0, 1]"),
                )
            })
        })
        .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// The scores at or above which a region is reported, per trust level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InjectionThresholds {
    /// For the user's prompt and tool-call arguments.
    pub trusted: f32,
    /// For tool results and retrieved documents.
    pub untrusted: f32,
}

impl InjectionThresholds {
    /// The threshold for content of `context`.
    pub fn for_context(&self, context: ScanContext) -> f32 {
        match context.trust {
            Trust::Untrusted => self.untrusted,
            Trust::Trusted => self.trusted,
        }
    }
}

/// For evaluation: a copy of `config` whose injection detector reports every region it
/// scores, whatever the score, and the thresholds `config` itself would apply. Scores then
/// rank every text (ROC, recall at a false-positive rate) while the verdict at the
/// operating point stays the configured one.
pub fn scoring_config(
    config: &crate::RawDetectConfig,
) -> Result<(crate::RawDetectConfig, InjectionThresholds), Vec<ConfigProblem>> {
    let mut table = config
        .detectors
        .get("injection")
        .cloned()
        .unwrap_or_default();
    table.retain(|key, _| !crate::config::COMMON_KEYS.contains(&key.as_str()));
    let detector = InjectionDetector::from_options(&table)?;
    let thresholds = detector.thresholds;
    let mut scoring = config.clone();
    let table = scoring.detectors.entry("injection".to_owned()).or_default();
    for key in ["threshold", "threshold_untrusted", "threshold_trusted"] {
        table.insert(key.to_owned(), 0.0.into());
    }
    Ok((scoring, thresholds))
}

/// A check with its expressions compiled.
#[derive(Debug)]
struct Check {
    spec: CheckSpec,
    regex: Regex,
    opener: Option<Regex>,
    veto: Option<Regex>,
}

/// Which checks an anchor keyword opens windows for.
#[derive(Debug)]
struct Anchor {
    checks: Vec<usize>,
    /// Short keywords (`ai`, `dan`) must be whole words, or they fire inside `aid`, `abundant`.
    whole_word: bool,
    /// Checks for which this keyword is a required companion (see `CheckSpec::requires`).
    required_by: Vec<usize>,
    /// Bytes of the keyword before the anchor proper: short keywords are searched with the
    /// character before them (" ai", "(ai"), so that the search skips `said` and `email`.
    skip: usize,
}

/// What may precede a short keyword; the start of the text is checked separately.
const WORD_PREFIXES: &[&str] = &[
    " ", "\n", "\t", "(", "[", "{", "\"", "'", "*", "-", "/", "#", ">", "_", ":", ",", ".", "|",
    "“", "‘", "<",
];

/// Adds `keyword` (searched form) as an anchor of check `index`.
fn register(
    keywords: &mut Vec<String>,
    anchor_info: &mut Vec<Anchor>,
    keyword: String,
    skip: usize,
    whole_word: bool,
    index: usize,
) -> usize {
    match keywords.iter().position(|k| *k == keyword) {
        Some(at) => {
            if !anchor_info[at].checks.contains(&index) {
                anchor_info[at].checks.push(index);
            }
            at
        }
        None => {
            anchor_info.push(Anchor {
                checks: vec![index],
                required_by: Vec::new(),
                whole_word,
                skip,
            });
            keywords.push(keyword);
            keywords.len() - 1
        }
    }
}

/// The `injection` detector.
pub struct InjectionDetector {
    options: InjectionOptions,
    thresholds: InjectionThresholds,
    anchors: Keywords,
    anchor_info: Vec<Anchor>,
    /// Short keywords and one of their anchors, for a keyword that opens the text.
    leading: Vec<(String, usize)>,
    checks: Vec<Check>,
    reported: Regex,
    ensemble: Ensemble,
    model: Option<Box<dyn InjectionModel>>,
}

impl fmt::Debug for InjectionDetector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InjectionDetector")
            .field("options", &self.options)
            .field("thresholds", &self.thresholds)
            .field("checks", &self.checks.len())
            .field("anchors", &self.anchor_info.len())
            .field("model", &self.model.as_ref().map(|m| m.name()))
            .finish()
    }
}

/// A check that fired in one view of the text.
#[derive(Debug, Clone, Copy)]
struct Hit {
    signal: Signal,
    /// Which view (0: normalised, 1: evasions folded) and where in it.
    view: usize,
    at: Span,
}

impl InjectionDetector {
    /// Builds the detector from its options table: heuristics, plus the shipped model unless
    /// `model = false`.
    pub fn from_options(options: &Options) -> Result<InjectionDetector, Vec<ConfigProblem>> {
        let options: InjectionOptions = parse_options("injection", options)?;
        let use_model = options.model;
        let detector = InjectionDetector::new(options)?;
        if !use_model {
            return Ok(detector);
        }
        let model = NgramModel::builtin().map_err(|err| {
            vec![ConfigProblem::new(
                "detect.detectors.injection.model",
                format!(
                    "the shipped model does not load ({err}); set `model = false` to run the \
                     heuristics alone"
                ),
            )]
        })?;
        let ensemble = model.header().ensemble;
        let defaults = model.header().thresholds;
        Ok(detector.with_model(Box::new(model), ensemble, defaults))
    }

    /// Builds the detector with its heuristics only.
    pub fn new(options: InjectionOptions) -> Result<InjectionDetector, Vec<ConfigProblem>> {
        options.validate()?;
        let mut problems = Vec::new();
        let mut checks = Vec::with_capacity(CHECKS.len());
        let mut keywords: Vec<String> = Vec::new();
        let mut leading: Vec<(String, usize)> = Vec::new();
        let mut anchor_info: Vec<Anchor> = Vec::new();
        for spec in CHECKS {
            let compile = |pattern: &str| {
                Regex::new(pattern).map_err(|err| {
                    ConfigProblem::new(
                        "detect.detectors.injection",
                        format!("built-in check `{}` does not compile: {err}", spec.name),
                    )
                })
            };
            // Patterns are written in natural script; the text they run on is normalised.
            let pattern = normalize::normalize(spec.pattern);
            let pattern = if spec.unicode {
                pattern.text().to_owned()
            } else {
                ascii_classes(pattern.text())
            };
            let regex = compile(&pattern);
            let veto = spec
                .veto
                .map(|veto| compile(&ascii_classes(veto)))
                .transpose();
            let opener = spec
                .opener
                .map(|opener| compile(&ascii_classes(opener)))
                .transpose();
            let (regex, veto, opener) = match (regex, veto, opener) {
                (Ok(regex), Ok(veto), Ok(opener)) => (regex, veto, opener),
                (Err(err), _, _) | (_, Err(err), _) | (_, _, Err(err)) => {
                    problems.push(err);
                    continue;
                }
            };
            let index = checks.len();
            for anchor in spec.anchors.iter().flat_map(|anchor| anchor_forms(anchor)) {
                let short = anchor.len() <= 3 && anchor.chars().all(char::is_alphanumeric);
                if !short {
                    register(&mut keywords, &mut anchor_info, anchor, 0, false, index);
                    continue;
                }
                let mut first = None;
                for prefix in WORD_PREFIXES {
                    let keyword = format!("{prefix}{anchor}");
                    let at = register(
                        &mut keywords,
                        &mut anchor_info,
                        keyword,
                        prefix.len(),
                        true,
                        index,
                    );
                    first.get_or_insert(at);
                }
                if let Some(first) = first
                    && !leading.iter().any(|(form, _)| *form == anchor)
                {
                    leading.push((anchor, first));
                }
            }
            for required in spec.requires.iter().flat_map(|word| anchor_forms(word)) {
                let at = match keywords.iter().position(|k| *k == required) {
                    Some(at) => at,
                    None => {
                        anchor_info.push(Anchor {
                            checks: Vec::new(),
                            required_by: Vec::new(),
                            whole_word: false,
                            skip: 0,
                        });
                        keywords.push(required);
                        keywords.len() - 1
                    }
                };
                if !anchor_info[at].required_by.contains(&index) {
                    anchor_info[at].required_by.push(index);
                }
            }
            checks.push(Check {
                spec: *spec,
                regex,
                opener,
                veto,
            });
        }
        let anchors = Keywords::new(&keywords, Case::AsciiInsensitive).map_err(|err| {
            vec![ConfigProblem::new(
                "detect.detectors.injection",
                format!("built-in keywords do not compile: {err}"),
            )]
        })?;
        let reported = Regex::new(&ascii_classes(REPORTED_FRAME)).map_err(|err| {
            vec![ConfigProblem::new(
                "detect.detectors.injection",
                format!("built-in reporting frame does not compile: {err}"),
            )]
        })?;
        if !problems.is_empty() {
            return Err(problems);
        }
        let fallback = options.threshold.unwrap_or(HEURISTIC_THRESHOLD);
        let thresholds = InjectionThresholds {
            trusted: options.threshold_trusted.unwrap_or(fallback),
            untrusted: options.threshold_untrusted.unwrap_or(fallback),
        };
        Ok(InjectionDetector {
            options,
            thresholds,
            anchors,
            anchor_info,
            leading,
            checks,
            reported,
            ensemble: Ensemble::default(),
            model: None,
        })
    }

    /// Adds a trained model to the ensemble: it scores every window of the text,
    /// strengthens or weakens the heuristics' regions, and reports windows the heuristics
    /// missed. `defaults` are the thresholds for contexts the options leave unset.
    pub fn with_model(
        mut self,
        model: Box<dyn InjectionModel>,
        ensemble: Ensemble,
        defaults: model::Thresholds,
    ) -> Self {
        let fallback = self.options.threshold;
        self.thresholds = InjectionThresholds {
            trusted: self
                .options
                .threshold_trusted
                .or(fallback)
                .unwrap_or(defaults.trusted),
            untrusted: self
                .options
                .threshold_untrusted
                .or(fallback)
                .unwrap_or(defaults.untrusted),
        };
        self.model = Some(model);
        self.ensemble = ensemble;
        self
    }

    /// The thresholds this detector applies.
    pub fn thresholds(&self) -> InjectionThresholds {
        self.thresholds
    }

    /// Every check that fires in `view`, with spans mapped back to the original text.
    fn collect(&self, view: &Normalized<'_>, view_index: usize, hits: &mut Vec<Hit>) {
        let text = view.text();
        // A folded view differs from the plain one only near its folds: look only there.
        let folded = view.folded_spans();
        let near_fold = |start: usize, end: usize| {
            let next = folded.partition_point(|span| span.end <= start);
            folded.get(next).is_some_and(|span| span.start < end)
        };
        // One window per check, grown while anchors keep overlapping it.
        let mut open: Vec<Option<(usize, usize)>> = vec![None; self.checks.len()];
        let mut windows: Vec<(usize, usize, usize)> = Vec::new();
        // Where the companions some checks require were seen: (check, offset).
        let mut companions: Vec<(usize, usize)> = Vec::new();
        let opening = self.leading.iter().filter_map(|(form, anchor)| {
            let head = text.get(..form.len())?;
            head.eq_ignore_ascii_case(form)
                .then_some((*anchor, 0, form.len()))
        });
        // The plain view is searched whole; a folded view only around its folds.
        let ranges: Vec<(usize, usize)> = if view_index == 0 {
            vec![(0, text.len())]
        } else {
            let mut ranges: Vec<(usize, usize)> = Vec::new();
            for span in folded {
                let start = floor_char_boundary(text, span.start.saturating_sub(MAX_REACH + 64));
                let end = ceil_char_boundary(text, span.end.saturating_add(MAX_REACH + 64));
                match ranges.last_mut() {
                    Some(last) if start <= last.1 => last.1 = last.1.max(end),
                    _ => ranges.push((start, end)),
                }
            }
            ranges
        };
        let mut occurrences = Vec::new();
        let mut found: Vec<(usize, usize, usize)> = Vec::new();
        for (from, to) in ranges {
            let slice = text.get(from..to).unwrap_or_default();
            occurrences.clear();
            self.anchors.find_all(slice.as_bytes(), &mut occurrences);
            found.extend(occurrences.iter().map(|found| {
                let skip = self.anchor_info[found.keyword].skip;
                (found.keyword, from + found.start + skip, from + found.end)
            }));
        }
        for (anchor, begin, finish) in opening.chain(found) {
            let anchor = &self.anchor_info[anchor];
            companions.extend(anchor.required_by.iter().map(|&check| (check, begin)));
            if anchor.checks.is_empty() || !anchor_bounded(text, begin, finish, anchor.whole_word) {
                continue;
            }
            for &check in &anchor.checks {
                let reach = self.checks[check].spec.reach;
                let start = floor_char_boundary(text, begin.saturating_sub(reach));
                let end = ceil_char_boundary(text, finish.saturating_add(reach));
                if view_index > 0 && !near_fold(start, end) {
                    continue;
                }
                match &mut open[check] {
                    Some((open_start, open_end)) if start <= *open_end => {
                        *open_start = (*open_start).min(start);
                        *open_end = (*open_end).max(end);
                    }
                    slot => {
                        if let Some((s, e)) = slot.replace((start, end)) {
                            windows.push((check, s, e));
                        }
                    }
                }
            }
        }
        windows.extend(
            open.iter()
                .enumerate()
                .filter_map(|(check, window)| window.map(|(s, e)| (check, s, e))),
        );
        companions.sort_unstable();
        for (check_index, start, end) in windows {
            let check = &self.checks[check_index];
            if !check.spec.requires.is_empty() {
                // Run the expression only where one of its companions occurs too.
                let first = companions.partition_point(|&(c, at)| (c, at) < (check_index, start));
                let present = companions
                    .get(first)
                    .is_some_and(|&(c, at)| c == check_index && at < end);
                if !present {
                    continue;
                }
            }
            let Some(window) = text.get(start..end) else {
                continue;
            };
            for found in check.regex.find_iter(window) {
                let mut at = Span::new(start + found.start(), start + found.end());
                if let Some(opener) = &check.opener {
                    let Some(sentence) = sentence_start(text, at.start) else {
                        continue;
                    };
                    let opens = text
                        .get(sentence..at.start)
                        .is_some_and(|head| opener.is_match(head));
                    if !opens {
                        continue;
                    }
                    at = Span::new(sentence, at.end);
                }
                let vetoed = check.veto.as_ref().is_some_and(|veto| {
                    let end = floor_char_boundary(text, at.end.saturating_add(VETO_LOOKAHEAD));
                    text.get(at.start..end)
                        .is_some_and(|seen| veto.is_match(seen))
                });
                if vetoed || !at_position(text, at.start, check.spec.position) {
                    continue;
                }
                let weight = if self.is_reported(text, at.start, check.spec.family) {
                    check.spec.weight * REPORTED_FACTOR
                } else {
                    check.spec.weight
                };
                hits.push(Hit {
                    signal: Signal {
                        check: check.spec.name,
                        family: check.spec.family,
                        weight,
                        max_count: check.spec.max_count,
                        span: view.original_span(at),
                    },
                    view: view_index,
                    at,
                });
            }
        }
    }

    /// Whether the instruction at `at` is the object of a reporting frame ("in an attempt to
    /// get a model to disregard its system prompt"): a description of an attack.
    fn is_reported(&self, text: &str, at: usize, family: Option<Family>) -> bool {
        if !matches!(
            family,
            Some(Family::InstructionOverride | Family::PromptExtraction | Family::JailbreakPersona)
        ) {
            return false;
        }
        let from = floor_char_boundary(text, at.saturating_sub(REPORTED_LOOKBEHIND));
        text.get(from..at)
            .is_some_and(|before| self.reported.is_match(before))
    }

    /// Every check that fires in any view (one hit per check and place) and the model's
    /// windows.
    fn gather(&self, views: &[&Normalized<'_>]) -> (Vec<Hit>, Vec<WindowScore>) {
        let mut hits = Vec::new();
        for (index, view) in views.iter().enumerate() {
            self.collect(view, index, &mut hits);
        }
        // The same check at the same place in both views is one hit.
        hits.sort_by(|a, b| {
            (a.signal.span, a.signal.check, a.view).cmp(&(b.signal.span, b.signal.check, b.view))
        });
        hits.dedup_by(|later, earlier| {
            later.signal.span == earlier.signal.span && later.signal.check == earlier.signal.check
        });
        (hits, self.model_windows(views))
    }

    /// The model's name and its logit over `region`, when a model runs.
    fn model_of(&self, region: &Region) -> Option<(&'static str, f32)> {
        Some((self.model.as_ref()?.name(), region.logit?))
    }

    /// The evidence in each region of `text` before the ensemble weighs it: the heuristics'
    /// log-odds (after repetition and context factors) and the model's logit. The trainer
    /// fits the [`Ensemble`] on these.
    pub fn evidence(&self, text: &str, context: ScanContext) -> Vec<Evidence> {
        let views = Views::of(text);
        let views = views.list();
        let (hits, windows) = self.gather(&views);
        let unweighted = Ensemble {
            bias: 0.0,
            heuristic_weight: 1.0,
            model_weight: 0.0,
        };
        regions(&hits, &windows)
            .into_iter()
            .map(|region| {
                let signals: Vec<Signal> = region.hits.iter().map(|hit| hit.signal).collect();
                let heuristic = unweighted
                    .judge(&signals, None, context)
                    .map_or(0.0, |verdict| {
                        verdict.reasons.iter().map(|r| r.contribution).sum()
                    });
                Evidence {
                    heuristic,
                    model: region.logit,
                }
            })
            .collect()
    }

    /// The highest score of any region of `text`, whatever the threshold; 0 when nothing
    /// scores. Used to rank texts when choosing thresholds.
    pub fn score(&self, text: &str, context: ScanContext) -> f32 {
        let views = Views::of(text);
        let views = views.list();
        let (hits, windows) = self.gather(&views);
        regions(&hits, &windows)
            .iter()
            .filter_map(|region| {
                let signals: Vec<Signal> = region.hits.iter().map(|hit| hit.signal).collect();
                self.ensemble
                    .judge(&signals, self.model_of(region), context)
            })
            .map(|verdict| verdict.score)
            .fold(0.0, f32::max)
    }

    /// The model's windows over every view, spans in the original text. A folded view
    /// (leetspeak, spaced letters) is scored too, so `1gn0r3 411 pr3v10u5` scores like the
    /// plain words.
    fn model_windows(&self, views: &[&Normalized<'_>]) -> Vec<WindowScore> {
        let Some(model) = &self.model else {
            return Vec::new();
        };
        let mut windows = Vec::new();
        let mut scored = Vec::new();
        for view in views {
            scored.clear();
            model.score_windows(view.text(), &mut scored);
            windows.extend(scored.iter().map(|window| WindowScore {
                span: view.original_span(window.span),
                logit: window.logit,
            }));
        }
        windows
    }
}

impl Detector for InjectionDetector {
    fn id(&self) -> &'static str {
        "injection"
    }

    fn detect(&self, input: &Input<'_>, findings: &mut Vec<Finding>) {
        let text = input.text();
        if text.is_empty() {
            return;
        }
        let context = input.context();
        let views = Views::of(text);
        let views = views.list();
        let (hits, windows) = self.gather(&views);
        let threshold = self.thresholds.for_context(context);
        for region in regions(&hits, &windows) {
            let signals: Vec<Signal> = region.hits.iter().map(|hit| hit.signal).collect();
            let Some(verdict) = self
                .ensemble
                .judge(&signals, self.model_of(&region), context)
            else {
                continue;
            };
            if verdict.score < threshold {
                continue;
            }
            let lead = region
                .hits
                .iter()
                .filter(|hit| hit.signal.family.is_some())
                .max_by(|a, b| a.signal.weight.total_cmp(&b.signal.weight));
            let excerpt = match lead {
                Some(hit) => excerpt(views[hit.view].text(), hit.at),
                None => text
                    .get(region.span.start..region.span.end)
                    .map_or_else(String::new, |s| excerpt(s, Span::new(0, s.len()))),
            };
            let obfuscated = region.hits.iter().any(|hit| {
                hit.view > 0
                    || text
                        .get(hit.signal.span.start..hit.signal.span.end)
                        .is_some_and(looks_obfuscated)
            });
            findings.push(Finding {
                detector: "injection".into(),
                rule: verdict.family.rule().into(),
                category: Category::Injection,
                severity: if verdict.score >= HIGH_SCORE {
                    Severity::High
                } else {
                    Severity::Medium
                },
                score: verdict.score,
                span: region.span,
                excerpt,
                message: message(&verdict, obfuscated),
                via: Vec::new(),
            });
        }
    }
}

/// The views of a text the checks and the model read: the normalised text, and a second
/// one with leetspeak and spaced-out letters folded when the text has any.
struct Views<'t> {
    base: Normalized<'t>,
    folded: Option<Normalized<'static>>,
}

impl<'t> Views<'t> {
    fn of(text: &'t str) -> Views<'t> {
        let base = normalize::normalize(text);
        let folded = normalize::fold_evasions(&base);
        Views { base, folded }
    }

    fn list(&self) -> Vec<&Normalized<'_>> {
        let mut views: Vec<&Normalized<'_>> = vec![&self.base];
        views.extend(self.folded.as_ref());
        views
    }
}

/// What one region holds before the ensemble weighs it (see [`InjectionDetector::evidence`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    /// The heuristics' summed log-odds.
    pub heuristic: f32,
    /// The model's highest logit over the region, when a model runs.
    pub model: Option<f32>,
}

/// Signals close together, and the counter-evidence near them.
#[derive(Debug)]
struct Region {
    span: Span,
    hits: Vec<Hit>,
    /// The model's highest logit over the region, when a model runs.
    logit: Option<f32>,
}

/// Groups hits into regions. Model windows away from every hit become regions of their own,
/// so the model can report what the heuristics missed: the highest-scoring window first, then
/// the next that overlaps none already taken, and so on, so a finding points at the window
/// that fired rather than at everything around it.
fn regions(hits: &[Hit], windows: &[WindowScore]) -> Vec<Region> {
    let mut regions: Vec<Region> = Vec::new();
    for hit in hits.iter().filter(|hit| hit.signal.family.is_some()) {
        let span = hit.signal.span;
        match regions.last_mut() {
            Some(region) if span.start <= region.span.end.saturating_add(REGION_GAP) => {
                region.span = Span::new(region.span.start, region.span.end.max(span.end));
                region.hits.push(*hit);
            }
            _ => regions.push(Region {
                span,
                hits: vec![*hit],
                logit: None,
            }),
        }
    }
    for hit in hits.iter().filter(|hit| hit.signal.family.is_none()) {
        let near = |region: &&mut Region| {
            hit.signal.span.end.saturating_add(REGION_GAP) >= region.span.start
                && hit.signal.span.start <= region.span.end.saturating_add(REGION_GAP)
        };
        if let Some(region) = regions.iter_mut().find(|r| near(r)) {
            region.hits.push(*hit);
        }
    }
    // The hit regions are disjoint; so is every window taken below. `taken` maps each taken
    // span's start to its end, so an overlap test is one lookup, whatever the text's length.
    let mut taken: BTreeMap<usize, usize> = BTreeMap::new();
    let mut by_start: Vec<&WindowScore> = windows.iter().collect();
    by_start.sort_by_key(|window| window.span.start);
    let longest = windows.iter().map(|w| w.span.len()).max().unwrap_or(0);
    for region in &mut regions {
        taken.insert(region.span.start, region.span.end);
        // Windows that can overlap start less than `longest` bytes before the region.
        let from = by_start.partition_point(|w| w.span.start + longest < region.span.start);
        let to = by_start.partition_point(|w| w.span.start < region.span.end);
        region.logit = by_start[from..to]
            .iter()
            .filter(|w| w.span.overlaps(&region.span))
            .map(|w| w.logit)
            .max_by(f32::total_cmp);
    }
    let overlaps_taken = |taken: &BTreeMap<usize, usize>, span: Span| {
        taken
            .range(..span.end)
            .next_back()
            .is_some_and(|(_, &end)| end > span.start)
    };
    // Highest first: a window overlapping a better one is covered by it.
    let mut by_score = by_start;
    by_score.sort_by(|a, b| b.logit.total_cmp(&a.logit).then(a.span.cmp(&b.span)));
    let mut picked = Vec::new();
    for window in by_score {
        if window.span.is_empty() || overlaps_taken(&taken, window.span) {
            continue;
        }
        taken.insert(window.span.start, window.span.end);
        picked.push(Region {
            span: window.span,
            hits: Vec::new(),
            logit: Some(window.logit),
        });
    }
    regions.extend(picked);
    regions.sort_by_key(|region| region.span);
    regions
}

/// "prompt injection: ignore_previous_instructions, from_now_on_you (…)".
fn message(verdict: &Verdict, obfuscated: bool) -> String {
    let positive: Vec<&str> = verdict
        .reasons
        .iter()
        .filter(|reason| reason.contribution > 0.0)
        .map(|reason| reason.check)
        .take(6)
        .collect();
    let discounted: Vec<&str> = verdict
        .reasons
        .iter()
        .filter(|reason| reason.contribution < 0.0)
        .map(|reason| reason.check)
        .collect();
    let mut message = format!(
        "instructions aimed at the model ({}): {}",
        verdict.family.rule().replace('_', " "),
        positive.join(", ")
    );
    if !discounted.is_empty() {
        message.push_str(&format!("; discounted: {}", discounted.join(", ")));
    }
    if obfuscated {
        message.push_str("; found after undoing obfuscation");
    }
    message
}

/// Up to [`EXCERPT_CHARS`] characters of `span` of `text`, whitespace collapsed.
fn excerpt(text: &str, span: Span) -> String {
    let raw = text.get(span.start..span.end).unwrap_or_default();
    let mut out = String::new();
    let mut count = 0;
    let mut space = false;
    for c in raw.chars() {
        if c.is_whitespace() || c.is_control() {
            space = !out.is_empty();
            continue;
        }
        if count + usize::from(space) + 1 > EXCERPT_CHARS {
            out.push('…');
            break;
        }
        if space {
            out.push(' ');
            count += 1;
            space = false;
        }
        out.push(c);
        count += 1;
    }
    out
}

/// Rewrites `\b`, `\w`, `\W` and `\d` to their ASCII forms. Unicode word boundaries make
/// the regex engine leave its lazy DFA on any non-ASCII text (emoji, curly quotes), which
/// costs two orders of magnitude; normalised Latin text is ASCII where it matters.
fn ascii_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 64);
    let mut chars = pattern.chars();
    let mut class_depth = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(next) = chars.next() else {
                    out.push(c);
                    break;
                };
                let replacement = match (next, class_depth > 0) {
                    ('b', false) => "(?-u:\\b)",
                    ('w', false) => "[0-9A-Za-z_]",
                    ('W', false) => "[^0-9A-Za-z_]",
                    ('d', false) => "[0-9]",
                    ('w', true) => "0-9A-Za-z_",
                    ('W', true) => "[^0-9A-Za-z_]",
                    ('d', true) => "0-9",
                    _ => {
                        out.push(c);
                        out.push(next);
                        continue;
                    }
                };
                out.push_str(replacement);
            }
            '[' => {
                class_depth += 1;
                out.push(c);
            }
            ']' if class_depth > 0 => {
                class_depth -= 1;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The forms of an anchor keyword to search for, normalised like the text. Matching folds
/// ASCII case only, so a non-ASCII keyword also gets its capitalised form.
fn anchor_forms(anchor: &str) -> Vec<String> {
    let lower = normalize::normalize(&anchor.to_lowercase())
        .text()
        .to_owned();
    let mut forms = vec![lower.clone()];
    if !lower.is_ascii() {
        let mut chars = lower.chars();
        if let Some(first) = chars.next() {
            let capital: String = first.to_uppercase().chain(chars).collect();
            let capital = normalize::normalize(&capital).text().to_owned();
            if capital != lower {
                forms.push(capital);
            }
        }
    }
    forms
}

/// Whether `text` hides its words: invisible characters, combining overlays, look-alike
/// letters from other scripts, or full-width and mathematical letters. Curly quotes and
/// accented words in ordinary prose are not obfuscation.
fn looks_obfuscated(text: &str) -> bool {
    use unicode_normalization::UnicodeNormalization;
    text.chars().any(|c| {
        !c.is_ascii()
            && (normalize::is_invisible(c)
                || normalize::is_combining_mark(c)
                || normalize::fold_confusable(c).is_some()
                || (c.is_alphanumeric()
                    && std::iter::once(c).nfkc().all(|n| n.is_ascii_alphanumeric())))
    })
}

/// Whether an anchor match stands on word boundaries where it needs to.
fn anchor_bounded(text: &str, start: usize, end: usize, whole_word: bool) -> bool {
    let bytes = text.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric();
    let first_is_word = bytes.get(start).copied().is_some_and(word);
    if first_is_word && start > 0 && bytes.get(start - 1).copied().is_some_and(word) {
        return false;
    }
    if whole_word {
        // Allow a plural: `llms`, `ais`.
        let after = bytes.get(end).copied();
        let after_plural = if after == Some(b's') || after == Some(b'S') {
            bytes.get(end + 1).copied()
        } else {
            after
        };
        if after_plural.is_some_and(word) {
            return false;
        }
    }
    true
}

/// Whether a match at `at` begins where `position` requires.
fn at_position(text: &str, at: usize, position: Position) -> bool {
    if position == Position::Anywhere {
        return true;
    }
    let before = text.get(..at).unwrap_or_default();
    let trimmed = before.trim_end_matches([' ', '\t', '>', '*']);
    if trimmed.is_empty() || trimmed.ends_with(['\n', '\r']) || trimmed.ends_with("\\n") {
        return true;
    }
    // After a separator rule ("-----", "=====", "#####") a fake header starts a new "line".
    let rule = trimmed
        .chars()
        .rev()
        .take_while(|c| matches!(c, '-' | '=' | '#' | '_' | '~' | '*'))
        .count();
    if rule >= 3 {
        return true;
    }
    if position == Position::LineStart {
        return false;
    }
    // Text pasted without a space ("…wasn't eModify your reply"): a capital after a small
    // letter starts a new sentence.
    let glued = before.ends_with(|c: char| c.is_lowercase())
        && text
            .get(at..)
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_uppercase()));
    if glued {
        return true;
    }
    let trimmed = trim_courtesy(trimmed);
    trimmed.is_empty()
        || trimmed.ends_with([
            '.', '!', '?', ':', ';', '\n', '\r', '|', '(', '"', '\'', '“', '‘', '-', '•', ')',
        ])
        || trimmed.ends_with("\\n")
}

/// How far back (bytes) a sentence may start for checks that look at its opening.
const SENTENCE_LOOKBEHIND: usize = 160;

/// Where the sentence containing `at` starts (after a full stop, question or exclamation
/// mark followed by a space, a line break, a colon or semicolon, a pipe), skipping
/// leading spaces, quotes and bullets. `None` when it starts too far back.
fn sentence_start(text: &str, at: usize) -> Option<usize> {
    let from = floor_char_boundary(text, at.saturating_sub(SENTENCE_LOOKBEHIND));
    let bytes = text.as_bytes();
    let mut start = None;
    let mut i = at;
    while i > from {
        i -= 1;
        let boundary = match bytes[i] {
            b'\n' | b'\r' | b'|' | b';' => true,
            b'.' | b'!' | b'?' | b':' => bytes.get(i + 1).is_none_or(|b| b.is_ascii_whitespace()),
            _ => false,
        };
        if boundary {
            start = Some(i + 1);
            break;
        }
    }
    let start = match start {
        Some(start) => start,
        None if from == 0 => 0,
        None => return None,
    };
    let skipped = text
        .get(start..at)?
        .find(|c: char| !(c.is_whitespace() || "\"'“‘(*•-#>".contains(c)))
        .map_or(at, |offset| start + offset);
    Some(skipped)
}

/// Drops a trailing "please" / "kindly" so that "Please add …" starts a sentence at "add".
fn trim_courtesy(text: &str) -> &str {
    for word in ["please", "kindly", "also", "and", "then", "now"] {
        let len = text.len();
        if len >= word.len()
            && text
                .get(len - word.len()..)
                .is_some_and(|tail| tail.eq_ignore_ascii_case(word))
        {
            let head = text.get(..len - word.len()).unwrap_or_default();
            if !head.ends_with(|c: char| c.is_alphanumeric()) {
                return head.trim_end_matches([' ', '\t', ',']);
            }
        }
    }
    text
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_char_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests;
