use std::fmt;

use airlock_core::{Event, EventKind, Finding, Trust};

/// What the scanned text is, so that a detector can choose rules and thresholds: a shell
/// command in a tool call's arguments is judged differently from the same words in a README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanContext {
    /// What kind of event the text belongs to.
    pub kind: EventKind,
    /// Whether its source is trusted.
    pub trust: Trust,
}

impl ScanContext {
    /// The context of an event, with its effective trust.
    pub fn for_event(event: &Event) -> Self {
        ScanContext {
            kind: event.kind,
            trust: event.trust(),
        }
    }

    /// A context of the given kind with that kind's default trust.
    pub fn of_kind(kind: EventKind) -> Self {
        ScanContext {
            kind,
            trust: kind.default_trust(),
        }
    }
}

/// Runs all detectors over decoded content. Implemented by the [`crate::Scanner`]; detectors
/// reach it only through [`Input::rescan`].
pub(crate) trait Rescan {
    fn rescan(&self, text: &str, context: ScanContext, depth: usize) -> Vec<Finding>;
    fn max_depth(&self) -> usize;
}

/// The text a detector examines, with its context and a way to rescan decoded content.
pub struct Input<'a> {
    text: &'a str,
    context: ScanContext,
    depth: usize,
    rescanner: &'a dyn Rescan,
}

impl fmt::Debug for Input<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Input")
            .field("len", &self.text.len())
            .field("context", &self.context)
            .field("depth", &self.depth)
            .finish()
    }
}

impl<'a> Input<'a> {
    pub(crate) fn new(
        text: &'a str,
        context: ScanContext,
        depth: usize,
        rescanner: &'a dyn Rescan,
    ) -> Self {
        Input {
            text,
            context,
            depth,
            rescanner,
        }
    }

    /// The text to examine. Finding spans are byte offsets into it.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// What the text is.
    pub fn context(&self) -> ScanContext {
        self.context
    }

    /// How many decodings deep this text is: 0 for the text as given.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Whether content decoded from this text would still be rescanned. Decoders check this
    /// before doing the work of decoding.
    pub fn can_rescan(&self) -> bool {
        self.depth < self.rescanner.max_depth()
    }

    /// Runs every enabled detector over `decoded` (content this detector decoded from the
    /// text: base64, hidden tag characters, …) one level deeper, and returns their findings
    /// with spans into `decoded`. Empty once the depth bound is reached, so that nested
    /// encodings cannot make a scan unbounded.
    pub fn rescan(&self, decoded: &str) -> Vec<Finding> {
        if !self.can_rescan() {
            return Vec::new();
        }
        self.rescanner.rescan(decoded, self.context, self.depth + 1)
    }
}

/// A content detector. Implementations are pure and synchronous: the same input always gives
/// the same findings, with no I/O and no shared mutable state, and they never panic on any
/// input (the conformance suite in `tests/conformance.rs` holds every detector to this).
///
/// Spans must lie on UTF-8 character boundaries of [`Input::text`]. Excerpts must be safe to
/// store: mask secrets and personal data with [`airlock_core::mask_secret`].
pub trait Detector: Send + Sync + fmt::Debug {
    /// The stable id, e.g. `secrets`. Also the `detector` field of every finding it makes.
    fn id(&self) -> &'static str;

    /// Appends what it finds in `input` to `findings`.
    fn detect(&self, input: &Input<'_>, findings: &mut Vec<Finding>);
}
