//! What pull, push and login share: the registry client's errors in API terms, `/auth`,
//! and [`Progress`], the sink of Docker's JSON progress messages a pull or push streams.

use berth_api::images::JsonMessage;
use berth_api::{ApiError, ErrorKind};
use berth_registry::{Credentials, RegistryError};
use tokio::sync::mpsc;

use super::Engine;

/// One item of a progress stream: a message, or the error that ends it.
pub type ProgressItem = Result<JsonMessage, ApiError>;

/// How many messages may wait for a slow client before the work waits for it.
const PROGRESS_BUFFER: usize = 256;

/// The sending side of a progress stream. When the client has gone away, sends fail and
/// the work stops (its temp files are removed as it unwinds).
#[derive(Clone)]
pub struct Progress {
    tx: mpsc::Sender<ProgressItem>,
}

impl Progress {
    pub fn channel() -> (Progress, mpsc::Receiver<ProgressItem>) {
        let (tx, rx) = mpsc::channel(PROGRESS_BUFFER);
        (Progress { tx }, rx)
    }

    /// Sends a message; Err when nobody listens any more.
    pub async fn send(&self, m: JsonMessage) -> Result<(), ApiError> {
        self.tx
            .send(Ok(m))
            .await
            .map_err(|_| ApiError::internal("the client went away"))
    }

    /// `{"status": …, "id": …}`; with an id also `"progressDetail": {}` as dockerd sends it,
    /// so clients keep the message on that id's line instead of starting a new block.
    pub async fn status(&self, id: &str, status: impl Into<String>) -> Result<(), ApiError> {
        let mut m = JsonMessage::status(status);
        if !id.is_empty() {
            m.id = Some(id.to_string());
            m.progress_detail = Some(serde_json::json!({}));
        }
        self.send(m).await
    }

    /// A progress update (dropped rather than waited for when the client is slow).
    pub fn bar(&self, id: &str, status: &str, current: u64, total: u64) {
        let mut m = JsonMessage::status(status);
        m.id = Some(id.to_string());
        m.progress_detail = Some(serde_json::json!({"current": current, "total": total}));
        m.progress = Some(progress_bar(current, total));
        let _ = self.tx.try_send(Ok(m));
    }

    /// Ends the stream with an error.
    pub async fn fail(&self, e: ApiError) {
        let _ = self.tx.send(Err(e)).await;
    }
}

/// dockerd's rendering of a progress (`[=====>     ]  1.2MB/3.4MB`), sent for old clients.
fn progress_bar(current: u64, total: u64) -> String {
    if total == 0 {
        return format!("{:>8}", human_size(current));
    }
    let pct = ((current as f64 / total as f64 * 100.0) as usize / 2).min(50);
    format!(
        "[{}>{}] {:>8}/{}",
        "=".repeat(pct),
        " ".repeat(50 - pct),
        human_size(current),
        human_size(total)
    )
}

/// go-units' `HumanSize`: decimal units, four significant digits.
fn human_size(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut size = n as f64;
    let mut i = 0;
    while size >= 1000.0 && i < units.len() - 1 {
        size /= 1000.0;
        i += 1;
    }
    let digits = if size >= 100.0 {
        0
    } else if size >= 10.0 {
        2
    } else {
        3
    };
    let s = format!("{size:.digits$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{}", units[i])
}

/// docker's truncated ID of a digest: 12 hex digits.
pub fn short_id(digest: &str) -> String {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    hex.chars().take(12).collect()
}

/// A registry failure as an API error: missing things are 404, refused credentials 401.
pub fn registry_err(e: RegistryError) -> ApiError {
    let kind = if e.is_not_found() {
        ErrorKind::NotFound
    } else if e.is_unauthorized() {
        ErrorKind::Unauthorized
    } else if matches!(
        e,
        RegistryError::InvalidPlatform(_) | RegistryError::Config(_)
    ) {
        ErrorKind::InvalidArgument
    } else {
        ErrorKind::Internal
    };
    ApiError::new(kind, e.to_string())
}

impl Engine {
    /// The daemon's registry client.
    pub fn registries(&self) -> &berth_registry::Registries {
        &self.registries
    }

    /// `POST /auth`: checks credentials against a registry, as `docker login` does.
    pub async fn login(&self, server: &str, creds: &Credentials) -> Result<(), ApiError> {
        self.registries
            .login(server, creds)
            .await
            .map_err(|e| match e {
                RegistryError::Token { .. } | RegistryError::LoginFailed { .. } => {
                    ApiError::new(ErrorKind::Unauthorized, e.to_string())
                }
                other => registry_err(other),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_bars_like_dockerd() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1500), "1.5kB");
        assert_eq!(human_size(2_345_678), "2.346MB");
        assert_eq!(human_size(123_456_789), "123MB");
        assert_eq!(
            progress_bar(50, 100),
            format!("[{}>{}]      50B/100B", "=".repeat(25), " ".repeat(25))
        );
        assert_eq!(short_id("sha256:0123456789abcdef"), "0123456789ab");
    }
}

/// Splits a `docker search` term into the registry domain and the query: `host[:port]/q`
/// (the first part has a `.` or `:`, or is `localhost`) searches that registry, anything
/// else Docker Hub (moby `ParseSearchIndexInfo`).
pub fn split_search_term(term: &str) -> (String, String) {
    match term.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (first.to_string(), rest.to_string())
        }
        _ => (
            berth_registry::DOCKER_HUB_DOMAIN.to_string(),
            term.to_string(),
        ),
    }
}

impl Engine {
    /// `GET /images/search`: at most `limit` (default 25, at most 100) hits, filtered by
    /// `stars`, `is-official`, `is-automated`.
    pub async fn search_images(
        &self,
        term: &str,
        limit: Option<usize>,
        filters: &std::collections::BTreeMap<String, Vec<String>>,
        creds: &Credentials,
    ) -> Result<Vec<berth_registry::SearchResult>, ApiError> {
        const FILTERS: &[&str] = &["stars", "is-official", "is-automated"];
        if let Some(bad) = filters.keys().find(|k| !FILTERS.contains(&k.as_str())) {
            return Err(ApiError::invalid(format!("invalid filter '{bad}'")));
        }
        let limit = limit.unwrap_or(25);
        if !(1..=100).contains(&limit) {
            return Err(ApiError::invalid(format!(
                "limit {limit} is outside the range of [1, 100]"
            )));
        }
        let flag = |k: &str| -> Result<Option<bool>, ApiError> {
            match filters.get(k).and_then(|v| v.first()) {
                None => Ok(None),
                Some(v) => v
                    .parse::<bool>()
                    .map(Some)
                    .map_err(|_| ApiError::invalid(format!("invalid filter '{k}={v}'"))),
            }
        };
        let official = flag("is-official")?;
        let automated = flag("is-automated")?;
        let stars = match filters.get("stars").and_then(|v| v.first()) {
            None => 0,
            Some(v) => v
                .parse::<u64>()
                .map_err(|_| ApiError::invalid(format!("invalid filter 'stars={v}'")))?,
        };
        let (domain, query) = split_search_term(term);
        let hits = self
            .registries
            .search(&domain, &query, limit, creds)
            .await
            .map_err(registry_err)?;
        Ok(hits
            .into_iter()
            .filter(|h| h.star_count >= stars)
            .filter(|h| official.is_none_or(|o| h.is_official == o))
            .filter(|h| automated.is_none_or(|a| h.is_automated == a))
            .collect())
    }
}

#[cfg(test)]
mod search_tests {
    use super::*;

    #[test]
    fn search_terms_name_their_registry_like_docker() {
        let s = |t: &str| split_search_term(t);
        assert_eq!(s("busybox"), ("docker.io".into(), "busybox".into()));
        assert_eq!(
            s("library/busybox"),
            ("docker.io".into(), "library/busybox".into())
        );
        assert_eq!(
            s("127.0.0.1:5000/tools"),
            ("127.0.0.1:5000".into(), "tools".into())
        );
        assert_eq!(s("localhost/x"), ("localhost".into(), "x".into()));
        assert_eq!(s("reg.example/a/b"), ("reg.example".into(), "a/b".into()));
    }
}
