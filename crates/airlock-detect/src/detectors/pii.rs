//! `pii` detector. (Being written: this placeholder reports nothing.)

use airlock_core::Finding;

use crate::detector::{Detector, Input};
use crate::registry::{DetectorSpec, Options};

/// Registry entry.
pub const SPEC: DetectorSpec = DetectorSpec {
    id: "pii",
    summary: "pii",
    build: |_options: &Options| Ok(Box::new(PiiDetector)),
};

/// The `pii` detector.
#[derive(Debug, Default)]
pub struct PiiDetector;

impl Detector for PiiDetector {
    fn id(&self) -> &'static str {
        "pii"
    }

    fn detect(&self, _input: &Input<'_>, _findings: &mut Vec<Finding>) {}
}
