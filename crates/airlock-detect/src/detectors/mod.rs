//! One file per detector. Each exposes a `SPEC` listed in [`crate::registry::DETECTORS`].

pub mod encoding;
pub mod exfil_link;
pub mod injection;
pub mod pii;
pub mod secrets;
pub mod shell;
pub mod unicode;
