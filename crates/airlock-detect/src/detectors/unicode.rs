//! `unicode` detector. (Being written: this placeholder reports nothing.)

use airlock_core::Finding;

use crate::detector::{Detector, Input};
use crate::registry::{DetectorSpec, Options};

/// Registry entry.
pub const SPEC: DetectorSpec = DetectorSpec {
    id: "unicode",
    summary: "unicode",
    build: |_options: &Options| Ok(Box::new(UnicodeDetector)),
};

/// The `unicode` detector.
#[derive(Debug, Default)]
pub struct UnicodeDetector;

impl Detector for UnicodeDetector {
    fn id(&self) -> &'static str {
        "unicode"
    }

    fn detect(&self, _input: &Input<'_>, _findings: &mut Vec<Finding>) {}
}
