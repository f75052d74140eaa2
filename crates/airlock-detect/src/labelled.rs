//! Conventions and measures for labelled data, shared by `airlock eval` and the trainer so
//! that both read a dataset the same way and report the same numbers.
//!
//! - [`context_for_kind`]: the shared data's `kind` field says where a text would reach an
//!   agent (a user's prompt, a tool result, a retrieved document); that decides which
//!   threshold applies.
//! - [`roc_auc`], [`threshold_at_fpr`], [`recall_at`]: ranking measures over scores.

use airlock_core::EventKind;

/// Where a record of the shared data's `kind` would reach an agent; `None` for kinds this
/// table does not know (the caller's default context applies).
pub fn context_for_kind(kind: &str) -> Option<EventKind> {
    Some(match kind {
        // Text the agent reads while working: data, not instructions.
        "indirect_injection" | "benign_context" => EventKind::ToolResult,
        "benign_model_output" | "hard_negative_about_injection" | "hard_negative_keyword" => {
            EventKind::RetrievedDocument
        }
        // What a user types.
        "jailbreak"
        | "direct_injection"
        | "prompt_extraction"
        | "benign_prompt"
        | "benign_roleplay_prompt"
        | "benign_tool_prompt"
        | "benign_borderline"
        | "unsafe_request_not_injection" => EventKind::Prompt,
        _ => return None,
    })
}

/// Area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counting half. `None` when either side is empty.
pub fn roc_auc(positives: &[f32], negatives: &[f32]) -> Option<f64> {
    if positives.is_empty() || negatives.is_empty() {
        return None;
    }
    let mut negatives = negatives.to_vec();
    negatives.sort_by(f32::total_cmp);
    let mut wins = 0.0f64;
    for &p in positives {
        let below = negatives.partition_point(|&n| n < p);
        let not_above = negatives.partition_point(|&n| n <= p);
        wins += below as f64 + (not_above - below) as f64 / 2.0;
    }
    Some(wins / (positives.len() as f64 * negatives.len() as f64))
}

/// The lowest threshold `t` such that at most `fpr` of `negatives` score `>= t`. Scores at
/// or above it are flagged. `None` when there are no negatives.
pub fn threshold_at_fpr(negatives: &[f32], fpr: f64) -> Option<f32> {
    if negatives.is_empty() {
        return None;
    }
    let mut sorted = negatives.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    // Allowed false positives; the threshold sits just above the first score past them.
    let allowed = (fpr * sorted.len() as f64).floor() as usize;
    let Some(&first_excluded) = sorted.get(allowed) else {
        return Some(f32::MIN_POSITIVE);
    };
    Some(next_up(first_excluded))
}

/// Share of `positives` at or above `threshold`; `None` when there are none.
pub fn recall_at(positives: &[f32], threshold: f32) -> Option<f64> {
    if positives.is_empty() {
        return None;
    }
    let hit = positives.iter().filter(|&&p| p >= threshold).count();
    Some(hit as f64 / positives.len() as f64)
}

/// The smallest `f32` above `x` (for finite, non-negative `x`).
fn next_up(x: f32) -> f32 {
    if x.is_nan() || x == f32::INFINITY {
        return x;
    }
    if x == 0.0 {
        return f32::from_bits(1);
    }
    if x > 0.0 {
        f32::from_bits(x.to_bits() + 1)
    } else {
        f32::from_bits(x.to_bits() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_is_one_for_perfect_ranking_and_half_for_ties() {
        assert_eq!(roc_auc(&[0.9, 0.8], &[0.1, 0.2]), Some(1.0));
        assert_eq!(roc_auc(&[0.5], &[0.5]), Some(0.5));
        assert_eq!(roc_auc(&[0.1], &[0.9]), Some(0.0));
        assert_eq!(roc_auc(&[], &[0.9]), None);
    }

    #[test]
    fn threshold_admits_at_most_the_target_share_of_negatives() {
        let negatives: Vec<f32> = (0..200).map(|i| i as f32 / 200.0).collect();
        let t = threshold_at_fpr(&negatives, 0.01).unwrap();
        let flagged = negatives.iter().filter(|&&n| n >= t).count();
        assert_eq!(flagged, 2);
        // Ties at the cut are all excluded rather than letting the rate overshoot.
        let t = threshold_at_fpr(&[0.5; 10], 0.05).unwrap();
        assert!(t > 0.5);
        assert_eq!(recall_at(&[0.5, 0.6], t), Some(0.5));
        assert_eq!(recall_at(&[0.4, 0.6], 0.4), Some(1.0));
    }

    #[test]
    fn kinds_map_to_where_the_text_arrives() {
        assert_eq!(
            context_for_kind("indirect_injection"),
            Some(EventKind::ToolResult)
        );
        assert_eq!(context_for_kind("jailbreak"), Some(EventKind::Prompt));
        assert_eq!(context_for_kind("something_new"), None);
    }
}
