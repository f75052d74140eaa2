//! `shell` detector. (Being written: this placeholder reports nothing.)

use airlock_core::Finding;

use crate::detector::{Detector, Input};
use crate::registry::{DetectorSpec, Options};

/// Registry entry.
pub const SPEC: DetectorSpec = DetectorSpec {
    id: "shell",
    summary: "shell",
    build: |_options: &Options| Ok(Box::new(ShellDetector)),
};

/// The `shell` detector.
#[derive(Debug, Default)]
pub struct ShellDetector;

impl Detector for ShellDetector {
    fn id(&self) -> &'static str {
        "shell"
    }

    fn detect(&self, _input: &Input<'_>, _findings: &mut Vec<Finding>) {}
}
