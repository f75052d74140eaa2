//! `secrets` detector. (Being written: this placeholder reports nothing.)

use airlock_core::Finding;

use crate::detector::{Detector, Input};
use crate::registry::{DetectorSpec, Options};

/// Registry entry.
pub const SPEC: DetectorSpec = DetectorSpec {
    id: "secrets",
    summary: "secrets",
    build: |_options: &Options| Ok(Box::new(SecretsDetector)),
};

/// The `secrets` detector.
#[derive(Debug, Default)]
pub struct SecretsDetector;

impl Detector for SecretsDetector {
    fn id(&self) -> &'static str {
        "secrets"
    }

    fn detect(&self, _input: &Input<'_>, _findings: &mut Vec<Finding>) {}
}
