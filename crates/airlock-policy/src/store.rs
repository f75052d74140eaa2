//! Hot reload: one [`PolicyStore`] per process holds the snapshot in force; a reload builds a
//! new one and swaps it in atomically, or keeps the old one and returns every problem.
//! Requests in flight finish on the snapshot they started with.

use std::path::Path;
use std::sync::Arc;

use airlock_core::Decision;
use arc_swap::ArcSwap;

use crate::config::PolicyConfig;
use crate::engine::{PolicyEngine, Request};
use crate::snapshot::{PolicyProblem, PolicySnapshot};

/// The policy snapshot in force, swappable while requests are being served.
#[derive(Debug)]
pub struct PolicyStore {
    current: ArcSwap<PolicySnapshot>,
}

impl PolicyStore {
    /// A store serving `snapshot`.
    pub fn new(snapshot: PolicySnapshot) -> PolicyStore {
        PolicyStore {
            current: ArcSwap::from_pointee(snapshot),
        }
    }

    /// The snapshot in force now.
    pub fn snapshot(&self) -> Arc<PolicySnapshot> {
        self.current.load_full()
    }

    /// An engine over the snapshot in force now (cheap: two `Arc` clones).
    pub fn engine(&self) -> PolicyEngine {
        PolicyEngine::new(self.snapshot())
    }

    /// Decides `request` with the snapshot in force now.
    pub fn authorize(&self, request: &Request) -> Decision {
        self.engine().authorize(request)
    }

    /// Reloads the policy folder `dir` with the configuration in force. On any problem the
    /// old snapshot keeps serving and every problem is returned.
    pub fn reload_from(&self, dir: &Path) -> Result<(), Vec<PolicyProblem>> {
        let config = self.snapshot().config().clone();
        self.reload_with(config, Some(dir))
    }

    /// Reloads with a new configuration (e.g. after `airlock.toml` changed) and policy folder.
    pub fn reload_with(
        &self,
        config: PolicyConfig,
        dir: Option<&Path>,
    ) -> Result<(), Vec<PolicyProblem>> {
        let snapshot = PolicySnapshot::load_with_dir(config, dir)?;
        self.current.store(Arc::new(snapshot));
        Ok(())
    }
}
