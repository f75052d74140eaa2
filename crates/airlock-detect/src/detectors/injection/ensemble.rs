//! How evidence becomes one score: every check that fires contributes a weight in log-odds, a
//! trained model (when one is plugged in) contributes its own log-odds, and the sum goes
//! through a logistic function. This is a stacked linear model, so a later training step can
//! fit the weights, the bias and the model's weight on labelled data without changing shape.

use std::fmt;

use airlock_core::{EventKind, Span, Trust};
use serde::{Deserialize, Serialize};

use super::model::WindowScore;

use crate::detector::ScanContext;

/// A family of injection technique. The family that contributes most to a region names its
/// finding's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// "Ignore previous instructions", "new instructions:", "from now on you will…".
    InstructionOverride,
    /// Chat-template tokens and fake turns: `<|im_start|>system`, `[INST]`, `Human:`.
    RoleMarker,
    /// Tool-call markup or function-call JSON where only data belongs.
    ToolCallSyntax,
    /// DAN, developer mode, "no restrictions", "stay in character".
    JailbreakPersona,
    /// "Print your system prompt", "repeat the words above".
    PromptExtraction,
    /// Data that speaks to the assistant: "AI reading this: …", "in your reply, add …".
    AddressedToAssistant,
    /// A trained model's score with no heuristic evidence beside it.
    Model,
}

impl Family {
    /// The rule id of findings led by this family.
    pub fn rule(self) -> &'static str {
        match self {
            Family::InstructionOverride => "instruction_override",
            Family::RoleMarker => "role_marker",
            Family::ToolCallSyntax => "tool_call_syntax",
            Family::JailbreakPersona => "jailbreak_persona",
            Family::PromptExtraction => "prompt_extraction",
            Family::AddressedToAssistant => "addressed_to_assistant",
            Family::Model => "model_score",
        }
    }

    /// How much a family's evidence counts in a context. Speaking to the assistant is normal
    /// in a user's own prompt and suspicious in a web page; tool-call syntax is what tool calls
    /// and completions are made of, and forged in a tool result.
    pub fn context_factor(self, context: ScanContext) -> f32 {
        let untrusted = context.trust == Trust::Untrusted;
        match self {
            Family::AddressedToAssistant if untrusted => 1.0,
            Family::AddressedToAssistant => 0.35,
            Family::ToolCallSyntax => match context.kind {
                EventKind::ToolCall | EventKind::Completion => 0.25,
                _ if untrusted => 1.0,
                _ => 0.6,
            },
            Family::RoleMarker if context.kind == EventKind::Completion => 0.7,
            _ => 1.0,
        }
    }
}

/// A check that fired: what, where (in the normalised view it was found in), how strongly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Signal {
    /// The check's name, e.g. `ignore_previous_instructions`; listed in the finding message.
    pub check: &'static str,
    /// Its family; `None` for counter-evidence (a text *about* injection).
    pub family: Option<Family>,
    /// Log-odds contribution before the context factor; negative for counter-evidence.
    pub weight: f32,
    /// How many hits of the same check in one region still add weight.
    pub max_count: u8,
    /// Byte span in the original text.
    pub span: Span,
}

/// A trained scorer that joins the heuristics. Implementations must be pure, deterministic
/// and cheap enough for the live path.
pub trait InjectionModel: Send + Sync + fmt::Debug {
    /// A stable name for messages and audit, e.g. `ngram_linear_v1`.
    fn name(&self) -> &'static str;

    /// Scores `text` (normalised) in windows of the model's choosing, appending each
    /// window's span (in `text`) and its log-odds of carrying instructions aimed at the model.
    fn score_windows(&self, text: &str, out: &mut Vec<WindowScore>);
}

impl<T: InjectionModel + ?Sized> InjectionModel for &T {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn score_windows(&self, text: &str, out: &mut Vec<WindowScore>) {
        (**self).score_windows(text, out);
    }
}

/// The parameters of the stacked model: a logistic regression over the heuristics' summed
/// log-odds and the model's logit. Without a model the defaults are hand-set (a lone medium
/// signal stays below 0.5, two together or one strong signal pass); with one, the trainer
/// fits them on held-out training data and stores them in the model file.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ensemble {
    /// Log-odds with no evidence at all.
    pub bias: f32,
    /// Multiplier on the heuristics' log-odds.
    pub heuristic_weight: f32,
    /// Multiplier on a model's logit.
    pub model_weight: f32,
}

impl Default for Ensemble {
    fn default() -> Self {
        Ensemble {
            bias: -3.0,
            heuristic_weight: 1.0,
            model_weight: 1.0,
        }
    }
}

/// One reason in a verdict: a check and what it added.
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    /// The check's name (or the model's).
    pub check: &'static str,
    /// Its family, `None` for counter-evidence.
    pub family: Option<Family>,
    /// Log-odds it added after repetition and context.
    pub contribution: f32,
}

/// The judgement on one region.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Probability that the region is an injection.
    pub score: f32,
    /// The family whose evidence adds up to the most; names the rule.
    pub family: Family,
    /// Every contribution, largest first.
    pub reasons: Vec<Reason>,
}

impl Ensemble {
    /// Combines a region's signals (and the model's logit over it, if any) into a verdict.
    /// `None` when nothing positive was found.
    pub fn judge(
        &self,
        signals: &[Signal],
        model: Option<(&'static str, f32)>,
        context: ScanContext,
    ) -> Option<Verdict> {
        let mut reasons: Vec<Reason> = Vec::new();
        // Repeats of one check add weight up to its `max_count`.
        let mut counted: Vec<(&'static str, u8)> = Vec::new();
        for signal in signals {
            let seen = match counted.iter_mut().find(|(check, _)| *check == signal.check) {
                Some((_, count)) => count,
                None => {
                    counted.push((signal.check, 0));
                    &mut counted.last_mut()?.1
                }
            };
            if *seen >= signal.max_count {
                continue;
            }
            *seen += 1;
            let factor = signal.family.map_or(1.0, |f| f.context_factor(context));
            let contribution = signal.weight * factor * self.heuristic_weight;
            match reasons.iter_mut().find(|r| r.check == signal.check) {
                Some(reason) => reason.contribution += contribution,
                None => reasons.push(Reason {
                    check: signal.check,
                    family: signal.family,
                    contribution,
                }),
            }
        }
        if let Some((name, logit)) = model {
            reasons.push(Reason {
                check: name,
                family: Some(Family::Model),
                contribution: logit * self.model_weight,
            });
        }
        reasons.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
        // The family whose evidence adds up to the most names the verdict.
        let mut totals: Vec<(Family, f32)> = Vec::new();
        for reason in reasons.iter().filter(|r| r.contribution > 0.0) {
            let Some(family) = reason.family else {
                continue;
            };
            match totals.iter_mut().find(|(f, _)| *f == family) {
                Some((_, total)) => *total += reason.contribution,
                None => totals.push((family, reason.contribution)),
            }
        }
        // With a model every region gets a score, however low, so that scores rank every
        // text; without one, no positive evidence means no verdict.
        let (family, _) = totals
            .into_iter()
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
            .or(model.map(|_| (Family::Model, 0.0)))?;
        let logit = self.bias + reasons.iter().map(|r| r.contribution).sum::<f32>();
        Some(Verdict {
            score: sigmoid(logit),
            family,
            reasons,
        })
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(check: &'static str, family: Family, weight: f32) -> Signal {
        Signal {
            check,
            family: Some(family),
            weight,
            max_count: 1,
            span: Span::new(0, 1),
        }
    }

    const UNTRUSTED: ScanContext = ScanContext {
        kind: EventKind::ToolResult,
        trust: Trust::Untrusted,
    };
    const PROMPT: ScanContext = ScanContext {
        kind: EventKind::Prompt,
        trust: Trust::Trusted,
    };

    #[test]
    fn two_medium_signals_outweigh_one() {
        let ensemble = Ensemble::default();
        let one = [signal("a", Family::JailbreakPersona, 2.0)];
        let two = [one[0], signal("b", Family::JailbreakPersona, 2.0)];
        let one = ensemble.judge(&one, None, UNTRUSTED).unwrap();
        let two = ensemble.judge(&two, None, UNTRUSTED).unwrap();
        assert!(one.score < 0.5 && two.score > 0.5, "{one:?} {two:?}");
    }

    #[test]
    fn repeats_of_one_check_count_once_by_default() {
        let ensemble = Ensemble::default();
        let once = [signal("a", Family::RoleMarker, 2.0)];
        let thrice = [once[0], once[0], once[0]];
        assert_eq!(
            ensemble.judge(&once, None, UNTRUSTED),
            ensemble.judge(&thrice, None, UNTRUSTED)
        );
    }

    #[test]
    fn addressing_the_assistant_counts_less_in_the_users_own_prompt() {
        let ensemble = Ensemble::default();
        let signals = [signal("a", Family::AddressedToAssistant, 4.0)];
        let data = ensemble.judge(&signals, None, UNTRUSTED).unwrap();
        let prompt = ensemble.judge(&signals, None, PROMPT).unwrap();
        assert!(data.score > 0.5 && prompt.score < 0.5);
    }

    #[test]
    fn the_strongest_family_names_the_verdict_and_a_model_can_lead() {
        let ensemble = Ensemble::default();
        let signals = [
            signal("a", Family::RoleMarker, 1.0),
            signal("b", Family::InstructionOverride, 5.0),
        ];
        let verdict = ensemble.judge(&signals, None, UNTRUSTED).unwrap();
        assert_eq!(verdict.family, Family::InstructionOverride);
        let verdict = ensemble
            .judge(&signals, Some(("stub", 8.0)), UNTRUSTED)
            .unwrap();
        assert_eq!(verdict.family, Family::Model);
    }

    #[test]
    fn counter_evidence_alone_is_no_verdict() {
        let counter = Signal {
            family: None,
            weight: -2.0,
            ..signal("meta", Family::RoleMarker, 0.0)
        };
        assert!(
            Ensemble::default()
                .judge(&[counter], None, UNTRUSTED)
                .is_none()
        );
    }
}
