//! The one list of detectors. Adding a detector means adding its file under `detectors/` and
//! one line here; nothing else changes.

use crate::config::ConfigProblem;
use crate::detector::Detector;
use crate::detectors;

/// A detector's options table, without the common keys.
pub type Options = serde_json::Map<String, serde_json::Value>;

/// Builds a detector from its options, or says everything wrong with them.
pub type BuildDetector = fn(&Options) -> Result<Box<dyn Detector>, Vec<ConfigProblem>>;

/// How to build one detector from its options.
#[derive(Debug, Clone, Copy)]
pub struct DetectorSpec {
    /// The stable id, also the key of its config table.
    pub id: &'static str,
    /// One line for `--help` and docs.
    pub summary: &'static str,
    /// Builds the detector, or says everything wrong with its options.
    pub build: BuildDetector,
}

/// Every detector airlock has, in the order they run.
pub const DETECTORS: &[DetectorSpec] = &[
    detectors::secrets::SPEC,
    detectors::pii::SPEC,
    detectors::injection::SPEC,
    detectors::unicode::SPEC,
    detectors::encoding::SPEC,
    detectors::exfil_link::SPEC,
    detectors::shell::SPEC,
];

/// The spec with this id, if any.
pub fn find(id: &str) -> Option<&'static DetectorSpec> {
    DETECTORS.iter().find(|spec| spec.id == id)
}

/// The known ids, comma-separated, for error messages.
pub fn known_ids() -> String {
    DETECTORS
        .iter()
        .map(|spec| spec.id)
        .collect::<Vec<_>>()
        .join(", ")
}
