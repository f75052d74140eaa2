//! `exfil_link` detector. (Being written: this placeholder reports nothing.)

use airlock_core::Finding;

use crate::detector::{Detector, Input};
use crate::registry::{DetectorSpec, Options};

/// Registry entry.
pub const SPEC: DetectorSpec = DetectorSpec {
    id: "exfil_link",
    summary: "exfil_link",
    build: |_options: &Options| Ok(Box::new(ExfilLinkDetector)),
};

/// The `exfil_link` detector.
#[derive(Debug, Default)]
pub struct ExfilLinkDetector;

impl Detector for ExfilLinkDetector {
    fn id(&self) -> &'static str {
        "exfil_link"
    }

    fn detect(&self, _input: &Input<'_>, _findings: &mut Vec<Finding>) {}
}
