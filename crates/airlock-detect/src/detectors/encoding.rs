//! `encoding` detector. (Being written: this placeholder reports nothing.)

use airlock_core::Finding;

use crate::detector::{Detector, Input};
use crate::registry::{DetectorSpec, Options};

/// Registry entry.
pub const SPEC: DetectorSpec = DetectorSpec {
    id: "encoding",
    summary: "encoding",
    build: |_options: &Options| Ok(Box::new(EncodingDetector)),
};

/// The `encoding` detector.
#[derive(Debug, Default)]
pub struct EncodingDetector;

impl Detector for EncodingDetector {
    fn id(&self) -> &'static str {
        "encoding"
    }

    fn detect(&self, _input: &Input<'_>, _findings: &mut Vec<Finding>) {}
}
