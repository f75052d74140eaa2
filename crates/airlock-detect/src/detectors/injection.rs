//! `injection` detector. (Being written: this placeholder reports nothing.)

use airlock_core::Finding;

use crate::detector::{Detector, Input};
use crate::registry::{DetectorSpec, Options};

/// Registry entry.
pub const SPEC: DetectorSpec = DetectorSpec {
    id: "injection",
    summary: "injection",
    build: |_options: &Options| Ok(Box::new(InjectionDetector)),
};

/// The `injection` detector.
#[derive(Debug, Default)]
pub struct InjectionDetector;

impl Detector for InjectionDetector {
    fn id(&self) -> &'static str {
        "injection"
    }

    fn detect(&self, _input: &Input<'_>, _findings: &mut Vec<Finding>) {}
}
