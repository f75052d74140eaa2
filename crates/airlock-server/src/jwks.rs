//! Fetches `[identity.jwt] jwks_url`: at start-up, every `jwks_refresh_seconds`, and at once
//! when a token names a key id not in service — the usual sign that the identity provider
//! rotated its keys — but at most once per [`min_refetch`]. Until the first fetch succeeds no
//! token verifies: authentication fails closed.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use airlock_gateway::Gateway;

/// The shortest time between two fetches triggered by unknown key ids, so that a flood of
/// tokens with made-up `kid`s cannot turn airlock into a load generator against the IdP: a
/// quarter of the refresh interval, at most 30 s (30 s with the default 300 s refresh).
pub fn min_refetch(refresh_seconds: u64) -> Duration {
    Duration::from_millis(refresh_seconds.min(120) * 1000 / 4)
}
/// Largest JWKS document accepted.
const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// Fetches and installs the JWKS of one gateway.
#[derive(Debug)]
pub struct JwksFetcher {
    gateway: Arc<Gateway>,
    client: reqwest::Client,
    last_fetch: Mutex<Option<Instant>>,
}

impl JwksFetcher {
    /// A fetcher for `gateway`; `None` when it has no `jwks_url`.
    pub fn new(gateway: Arc<Gateway>) -> Option<Arc<JwksFetcher>> {
        gateway.jwks_url()?;
        let client = crate::http_client(Some(Duration::from_secs(10)))
            .map_err(|err| tracing::error!("cannot build the JWKS HTTP client: {err}"))
            .ok()?;
        Some(Arc::new(JwksFetcher {
            gateway,
            client,
            last_fetch: Mutex::new(None),
        }))
    }

    /// Fetches the configured URL now and installs what it returns. Returns whether new keys
    /// are in service.
    pub async fn fetch(&self) -> bool {
        let Some((url, _)) = self.gateway.jwks_url() else {
            return false;
        };
        *self
            .last_fetch
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        match self.download(&url).await {
            Ok(document) => match self.gateway.install_jwks(&url, &document) {
                Ok(summary) => {
                    tracing::info!(url, "JWKS fetched: {summary}");
                    true
                }
                Err(err) => {
                    tracing::error!(url, "JWKS rejected, previous keys stay in service: {err}");
                    false
                }
            },
            Err(err) => {
                tracing::error!(
                    url,
                    "cannot fetch JWKS, previous keys stay in service: {err}"
                );
                false
            }
        }
    }

    /// Fetches now unless a fetch happened within [`min_refetch`]. Returns whether new keys
    /// were installed.
    pub async fn fetch_if_due(&self) -> bool {
        let Some((_, refresh_seconds)) = self.gateway.jwks_url() else {
            return false;
        };
        let recent = self
            .last_fetch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|at| at.elapsed() < min_refetch(refresh_seconds));
        !recent && self.fetch().await
    }

    async fn download(&self, url: &str) -> Result<String, String> {
        let response = self
            .client
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|err| err.to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        if response
            .content_length()
            .is_some_and(|length| length > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(format!("document larger than {MAX_DOCUMENT_BYTES} bytes"));
        }
        let bytes = response.bytes().await.map_err(|err| err.to_string())?;
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(format!("document larger than {MAX_DOCUMENT_BYTES} bytes"));
        }
        String::from_utf8(bytes.to_vec()).map_err(|_| "document is not UTF-8".to_owned())
    }

    /// Fetches at once, then every refresh interval (every 10 s while fetches fail).
    pub fn spawn_refresher(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let fetcher = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let ok = fetcher.fetch().await;
                let every = fetcher.gateway.jwks_url().map_or(300, |(_, every)| every);
                let wait = if ok { every } else { 10.min(every) };
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
        })
    }
}
