//! [`Registries`]: which endpoints serve a registry domain, and [`Repository`]: the
//! distribution API calls on one repository of one endpoint (manifests, blobs, uploads,
//! tags), each authorised for its scope.

use std::collections::HashMap;
use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt;
use http::{header, HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::auth::{Authorizer, Challenge, Credentials};
use crate::config::{RegistryConfig, DOCKER_HUB_DOMAIN, DOCKER_HUB_HOST, DOCKER_HUB_INDEX};
use crate::error::ErrorEntry;
use crate::manifest::{declared_media_type, FetchedManifest, ACCEPT, MAX_MANIFEST_SIZE};
use crate::transport::{self, http_method_name, ReqBody, Transport};
use crate::RegistryError;

/// Blobs up to this size are uploaded in one PUT; bigger ones in PATCH chunks of it.
pub const DEFAULT_CHUNK_SIZE: u64 = 16 << 20;
/// How many redirects a download follows.
const MAX_REDIRECTS: usize = 10;
const USER_AGENT: &str = concat!("berth/", env!("CARGO_PKG_VERSION"));

/// What a repository is opened for (the token scope asked for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Pull,
    Push,
}

/// One way to reach a registry: a base URL and how its TLS is checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// `https://host[:port]` or `http://host[:port]`.
    pub base: String,
    /// `host[:port]`, for TLS settings and messages.
    pub host: String,
    pub verify_tls: bool,
    /// A Docker Hub mirror: any failure there moves on to the next endpoint.
    pub mirror: bool,
}

impl Endpoint {
    fn new(scheme: &str, host: &str, verify_tls: bool, mirror: bool) -> Self {
        Self {
            base: format!("{scheme}://{host}"),
            host: host.to_string(),
            verify_tls,
            mirror,
        }
    }
}

/// A called-back progress counter: total bytes so far.
pub type ProgressFn = Arc<dyn Fn(u64) + Send + Sync>;

/// The daemon's registry client: configuration plus one pooled transport per TLS setting.
pub struct Registries {
    config: RegistryConfig,
    transports: Mutex<HashMap<(String, bool), Transport>>,
}

impl Registries {
    pub fn new(config: RegistryConfig) -> Self {
        Self {
            config,
            transports: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    fn transport(&self, host: &str, verify: bool) -> Result<Transport, RegistryError> {
        let key = (host.to_string(), verify);
        let mut map = self.transports.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = map.get(&key) {
            return Ok(t.clone());
        }
        let t = Transport::new(self.config.tls_config(host, verify)?);
        map.insert(key, t.clone());
        Ok(t)
    }

    /// Endpoints to try for a registry domain, in order: Docker Hub's mirrors (pulls
    /// only) then `registry-1.docker.io`; any other registry over HTTPS, and for insecure
    /// ones HTTPS without verification, then plain HTTP — dockerd's order.
    pub async fn endpoints(&self, domain: &str, access: Access) -> Vec<Endpoint> {
        if domain == DOCKER_HUB_DOMAIN {
            let mut eps = Vec::new();
            if access == Access::Pull {
                for m in self.config.mirrors() {
                    let (scheme, rest) = m.split_once("://").unwrap_or(("https", m));
                    let host = rest.trim_end_matches('/');
                    let verify = !self.config.is_insecure(host).await;
                    eps.push(Endpoint::new(scheme, host, verify, true));
                }
            }
            eps.push(Endpoint::new("https", DOCKER_HUB_HOST, true, false));
            return eps;
        }
        if self.config.is_insecure(domain).await {
            vec![
                Endpoint::new("https", domain, false, false),
                Endpoint::new("http", domain, false, false),
            ]
        } else {
            vec![Endpoint::new("https", domain, true, false)]
        }
    }

    /// Opens `name` (a repository path like `library/busybox`) on `domain`: the first
    /// endpoint that answers `/v2/` is used.
    pub async fn repository(
        &self,
        domain: &str,
        name: &str,
        creds: &Credentials,
        access: Access,
    ) -> Result<Repository, RegistryError> {
        self.first_endpoint(domain, access, |ep| async move {
            self.connect(&ep, name, creds, access).await
        })
        .await
    }

    /// Opens a repository and fetches a manifest, falling back from a failing mirror or
    /// unreachable endpoint to the next one.
    pub async fn resolve_manifest(
        &self,
        domain: &str,
        name: &str,
        reference: &str,
        creds: &Credentials,
    ) -> Result<(Repository, FetchedManifest), RegistryError> {
        self.first_endpoint(domain, Access::Pull, |ep| async move {
            let repo = self.connect(&ep, name, creds, Access::Pull).await?;
            let m = repo.manifest(reference).await?;
            Ok((repo, m))
        })
        .await
    }

    /// Runs `attempt` on each endpoint of `domain` in turn until one succeeds; a mirror's
    /// failure or an unreachable endpoint moves on to the next, any other error stops.
    async fn first_endpoint<T, F, Fut>(
        &self,
        domain: &str,
        access: Access,
        attempt: F,
    ) -> Result<T, RegistryError>
    where
        F: Fn(Endpoint) -> Fut,
        Fut: std::future::Future<Output = Result<T, RegistryError>>,
    {
        let mut last = None;
        for ep in self.endpoints(domain, access).await {
            let (base, mirror) = (ep.base.clone(), ep.mirror);
            match attempt(ep).await {
                Ok(found) => return Ok(found),
                Err(e) if e.is_unreachable() || mirror => {
                    tracing::info!(endpoint = %base, error = %e, "registry endpoint failed; trying the next one");
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| RegistryError::Config(format!("no endpoint for {domain}"))))
    }

    /// Pings `/v2/` on one endpoint and prepares its authorisation.
    pub async fn connect(
        &self,
        ep: &Endpoint,
        name: &str,
        creds: &Credentials,
        access: Access,
    ) -> Result<Repository, RegistryError> {
        let transport = self.transport(&ep.host, ep.verify_tls)?;
        let challenge = ping(&transport, ep).await?;
        let token_transport = self.token_transport(&challenge, ep, &transport).await?;
        let scope = match access {
            Access::Pull => format!("repository:{name}:pull"),
            Access::Push => format!("repository:{name}:pull,push"),
        };
        Ok(Repository {
            transport,
            endpoint: ep.clone(),
            name: name.to_string(),
            scope,
            auth: Arc::new(Authorizer::new(creds.clone(), challenge, token_transport)),
            chunk_size: DEFAULT_CHUNK_SIZE,
        })
    }

    /// The transport for the token realm: the registry's own when it is the same host.
    async fn token_transport(
        &self,
        challenge: &Challenge,
        ep: &Endpoint,
        registry: &Transport,
    ) -> Result<Transport, RegistryError> {
        let Challenge::Bearer { realm, .. } = challenge else {
            return Ok(registry.clone());
        };
        let host = realm
            .split_once("://")
            .map(|(_, r)| r.split(['/', '?']).next().unwrap_or(r))
            .unwrap_or_default();
        if host.is_empty() || host == ep.host {
            return Ok(registry.clone());
        }
        let verify = !self.config.is_insecure(host).await;
        self.transport(host, verify)
    }

    /// `docker login`: checks `creds` against the registry `server` (a host, a URL, or
    /// Docker Hub's index address). Ok when the registry accepts them or needs none.
    pub async fn login(&self, server: &str, creds: &Credentials) -> Result<(), RegistryError> {
        let domain = server_domain(server);
        let mut last = None;
        for ep in self.endpoints(&domain, Access::Push).await {
            match self.login_endpoint(&ep, creds).await {
                Err(e) if e.is_unreachable() => last = Some(e),
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| RegistryError::Config(format!("no endpoint for {domain}"))))
    }

    /// `docker search`: repositories of the registry `domain` whose name contains `query`
    /// (case-insensitive), at most `limit`. Uses the registry's v1 search API where it has
    /// one (Docker Hub), else its `/v2/_catalog` (private registries), filtered here.
    pub async fn search(
        &self,
        domain: &str,
        query: &str,
        limit: usize,
        creds: &Credentials,
    ) -> Result<Vec<SearchResult>, RegistryError> {
        let mut last = None;
        for ep in self.endpoints(domain, Access::Pull).await {
            let repo = match self.connect(&ep, "", creds, Access::Pull).await {
                Ok(r) => r,
                Err(e) if e.is_unreachable() => {
                    last = Some(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            if let Some(hits) = repo.v1_search(query, limit).await? {
                return Ok(hits);
            }
            let q = query.to_lowercase();
            let hits = repo
                .catalog()
                .await?
                .into_iter()
                .filter(|name| name.to_lowercase().contains(&q))
                .take(limit)
                .map(|name| SearchResult {
                    name: if domain == DOCKER_HUB_DOMAIN {
                        name
                    } else {
                        format!("{domain}/{name}")
                    },
                    ..Default::default()
                })
                .collect();
            return Ok(hits);
        }
        Err(last.unwrap_or_else(|| RegistryError::Config(format!("no endpoint for {domain}"))))
    }

    async fn login_endpoint(
        &self,
        ep: &Endpoint,
        creds: &Credentials,
    ) -> Result<(), RegistryError> {
        let transport = self.transport(&ep.host, ep.verify_tls)?;
        let challenge = ping(&transport, ep).await?;
        let url = format!("{}/v2/", ep.base);
        match &challenge {
            Challenge::None => Ok(()),
            Challenge::Basic => {
                let auth = Authorizer::new(creds.clone(), challenge.clone(), transport.clone());
                let mut req = Request::get(&url).header(header::USER_AGENT, USER_AGENT);
                if let Some(h) = auth.authorization(&[]).await? {
                    req = req.header(header::AUTHORIZATION, h);
                }
                let req = req
                    .body(transport::empty())
                    .map_err(|e| RegistryError::Config(e.to_string()))?;
                let resp = transport.send(req).await?;
                match resp.status() {
                    StatusCode::OK => Ok(()),
                    s => Err(RegistryError::LoginFailed {
                        url,
                        status: format!("{} {}", s.as_u16(), s.canonical_reason().unwrap_or("")),
                    }),
                }
            }
            Challenge::Bearer { .. } => {
                let token_transport = self.token_transport(&challenge, ep, &transport).await?;
                Authorizer::new(creds.clone(), challenge, token_transport)
                    .check_token_login()
                    .await
            }
        }
    }
}

/// `https://index.docker.io/v1/`, `docker.io`, `https://reg:5000/x` → `docker.io`,
/// `docker.io`, `reg:5000`: the registry domain a login address names.
pub fn server_domain(server: &str) -> String {
    let s = server.trim();
    if s.is_empty() || s == DOCKER_HUB_INDEX {
        return DOCKER_HUB_DOMAIN.to_string();
    }
    let s = s.split_once("://").map_or(s, |(_, rest)| rest);
    let host = s.split('/').next().unwrap_or(s).to_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            DOCKER_HUB_DOMAIN.to_string()
        }
        _ => host,
    }
}

/// `GET /v2/`: 200 needs no auth; 401 says how to authenticate.
async fn ping(transport: &Transport, ep: &Endpoint) -> Result<Challenge, RegistryError> {
    let url = format!("{}/v2/", ep.base);
    let req = Request::get(&url)
        .header(header::USER_AGENT, USER_AGENT)
        .body(transport::empty())
        .map_err(|e| RegistryError::Config(e.to_string()))?;
    let resp = transport.send(req).await?;
    match resp.status() {
        StatusCode::OK => Ok(Challenge::None),
        StatusCode::UNAUTHORIZED => Ok(Challenge::from_headers(resp.headers())),
        s => Err(RegistryError::Status {
            method: "Get".into(),
            url,
            status: s.as_u16(),
            body: "not a registry (v2 API)".into(),
        }),
    }
}

/// One repository on one endpoint.
pub struct Repository {
    transport: Transport,
    endpoint: Endpoint,
    name: String,
    scope: String,
    auth: Arc<Authorizer>,
    chunk_size: u64,
}

/// One `docker search` hit, in the shape of Docker Hub's v1 search API (and of the
/// Engine API's `/images/search`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SearchResult {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub star_count: u64,
    #[serde(default)]
    pub is_official: bool,
    #[serde(default)]
    pub is_automated: bool,
}

/// Percent-encodes a query value.
fn url_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What a cross-repository mount did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    /// The registry linked the blob: nothing to upload.
    Mounted,
    /// The registry started an upload instead (202): upload to this location.
    Upload(String),
}

impl Repository {
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The repository path (`library/busybox`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Uploads bigger than `size` go in PATCH chunks of `size` bytes.
    pub fn with_chunk_size(mut self, size: u64) -> Self {
        self.chunk_size = size.max(1);
        self
    }

    fn url(&self, rest: &str) -> String {
        format!("{}/v2/{}/{rest}", self.endpoint.base, self.name)
    }

    /// A relative `Location` resolved against the endpoint.
    fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else {
            format!(
                "{}/{}",
                self.endpoint.base,
                location.trim_start_matches('/')
            )
        }
    }

    /// Sends a request with authorisation for `scopes`, once more with a fresh token
    /// after a 401. GET and HEAD follow redirects (without credentials to other hosts).
    async fn send(
        &self,
        method: Method,
        url: &str,
        scopes: &[String],
        headers: &[(header::HeaderName, String)],
        body: &(dyn Fn() -> Result<ReqBody, RegistryError> + Sync),
    ) -> Result<Response<Incoming>, RegistryError> {
        let mut retried = false;
        loop {
            let auth = self.auth.authorization(scopes).await?;
            let resp = self
                .send_following(method.clone(), url, auth.as_deref(), headers, body()?)
                .await?;
            if resp.status() != StatusCode::UNAUTHORIZED {
                return Ok(resp);
            }
            if !retried && self.auth.invalidate(scopes) {
                retried = true;
                continue;
            }
            let m = http_method_name(method.as_str());
            if matches!(self.auth.challenge(), Challenge::Basic)
                && self.auth.credentials().is_anonymous()
            {
                return Err(RegistryError::NoCredentials {
                    method: m,
                    url: url.to_string(),
                });
            }
            let err = error_from(resp, &method, url).await;
            return Err(match err {
                RegistryError::Registry { errors, .. } if !errors.is_empty() => {
                    RegistryError::Unauthorized {
                        method: m,
                        url: url.to_string(),
                        message: errors[0].message.clone(),
                    }
                }
                _ => RegistryError::Unauthorized {
                    method: m,
                    url: url.to_string(),
                    message: "authentication required".into(),
                },
            });
        }
    }

    async fn send_following(
        &self,
        method: Method,
        url: &str,
        auth: Option<&str>,
        headers: &[(header::HeaderName, String)],
        body: ReqBody,
    ) -> Result<Response<Incoming>, RegistryError> {
        let follow = method == Method::GET || method == Method::HEAD;
        let mut url = url.to_string();
        let mut auth = auth.map(str::to_string);
        let mut body = Some(body);
        for _ in 0..=MAX_REDIRECTS {
            let mut b = Request::builder()
                .method(method.clone())
                .uri(&url)
                .header(header::USER_AGENT, USER_AGENT);
            if let Some(a) = &auth {
                b = b.header(header::AUTHORIZATION, a);
            }
            for (k, v) in headers {
                b = b.header(k, v);
            }
            let req = b
                .body(body.take().unwrap_or_else(transport::empty))
                .map_err(|e| RegistryError::Config(format!("invalid request to {url}: {e}")))?;
            let resp = self.transport.send(req).await?;
            let redirect = follow
                && resp.status().is_redirection()
                && resp.headers().contains_key(header::LOCATION);
            if !redirect {
                return Ok(resp);
            }
            let loc = header_str(resp.headers(), header::LOCATION);
            let next = self.absolute(&loc);
            if authority(&next) != authority(&url) {
                auth = None;
            }
            url = next;
        }
        Err(RegistryError::Transport {
            method: http_method_name(method.as_str()),
            url,
            reason: format!("stopped after {MAX_REDIRECTS} redirects"),
        })
    }

    fn scopes(&self) -> Vec<String> {
        vec![self.scope.clone()]
    }

    /// Fetches a manifest by tag or digest. By digest, the bytes must match it.
    pub async fn manifest(&self, reference: &str) -> Result<FetchedManifest, RegistryError> {
        let url = self.url(&format!("manifests/{reference}"));
        let accept = (header::ACCEPT, ACCEPT.join(", "));
        let resp = self
            .send(Method::GET, &url, &self.scopes(), &[accept], &|| {
                Ok(transport::empty())
            })
            .await?;
        if resp.status() != StatusCode::OK {
            return Err(error_from(resp, &Method::GET, &url).await);
        }
        let content_type = header_str(resp.headers(), header::CONTENT_TYPE);
        let bytes = read_limited(resp, MAX_MANIFEST_SIZE, &url).await?;
        let digest = sha256(&bytes);
        if reference.starts_with("sha256:") && reference != digest {
            return Err(RegistryError::DigestMismatch {
                what: "manifest",
                expected: reference.to_string(),
                actual: digest,
            });
        }
        let declared = declared_media_type(&bytes);
        let from_header = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let media_type = match declared {
            Some(d) => d,
            None if !from_header.is_empty() && from_header != "application/json" => from_header,
            None => berth_image::mediatypes::DOCKER_MANIFEST.to_string(),
        };
        Ok(FetchedManifest {
            bytes: bytes.to_vec(),
            media_type,
            digest,
        })
    }

    /// Downloads a blob into `dest` (created or truncated), hashing as it streams; the
    /// digest and, when given, the size must match. `progress` sees the bytes so far.
    pub async fn fetch_blob(
        &self,
        digest: &str,
        size: Option<u64>,
        dest: &Path,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<u64, RegistryError> {
        let url = self.url(&format!("blobs/{digest}"));
        let resp = self
            .send(Method::GET, &url, &self.scopes(), &[], &|| {
                Ok(transport::empty())
            })
            .await?;
        if resp.status() != StatusCode::OK {
            return Err(error_from(resp, &Method::GET, &url).await);
        }
        let file = tokio::fs::File::create(dest)
            .await
            .map_err(|e| RegistryError::io(format!("cannot create {}", dest.display()), e))?;
        let mut out = tokio::io::BufWriter::with_capacity(1 << 20, file);
        let mut hasher = Sha256::new();
        let mut done = 0u64;
        let mut body = resp.into_body();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| RegistryError::Transport {
                method: "Get".into(),
                url: url.clone(),
                reason: format!("download of {digest} broke off: {e}"),
            })?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            hasher.update(&data);
            out.write_all(&data)
                .await
                .map_err(|e| RegistryError::io(format!("cannot write {}", dest.display()), e))?;
            done += data.len() as u64;
            if size.is_some_and(|s| done > s) {
                return Err(RegistryError::DigestMismatch {
                    what: "blob",
                    expected: digest.to_string(),
                    actual: format!("(more than the {} bytes announced)", size.unwrap_or(0)),
                });
            }
            progress(done);
        }
        out.flush()
            .await
            .map_err(|e| RegistryError::io(format!("cannot write {}", dest.display()), e))?;
        let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
        if actual != digest {
            return Err(RegistryError::DigestMismatch {
                what: "blob",
                expected: digest.to_string(),
                actual,
            });
        }
        Ok(done)
    }

    /// Whether the repository has a blob (`HEAD`).
    pub async fn blob_exists(&self, digest: &str) -> Result<bool, RegistryError> {
        let url = self.url(&format!("blobs/{digest}"));
        let resp = self
            .send(Method::HEAD, &url, &self.scopes(), &[], &|| {
                Ok(transport::empty())
            })
            .await?;
        match resp.status() {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(error_from(resp, &Method::HEAD, &url).await),
        }
    }

    /// Asks the registry to link a blob from another repository `from` (same registry).
    pub async fn mount_blob(&self, digest: &str, from: &str) -> Result<Mount, RegistryError> {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("mount", digest)
            .append_pair("from", from)
            .finish();
        let url = self.url(&format!("blobs/uploads/?{query}"));
        let scopes = vec![self.scope.clone(), format!("repository:{from}:pull")];
        let resp = self
            .send(Method::POST, &url, &scopes, &[], &|| Ok(transport::empty()))
            .await?;
        match resp.status() {
            StatusCode::CREATED => Ok(Mount::Mounted),
            StatusCode::ACCEPTED => Ok(Mount::Upload(self.location(&resp, &url)?)),
            _ => Err(error_from(resp, &Method::POST, &url).await),
        }
    }

    /// Starts an upload; returns its location.
    pub async fn start_upload(&self) -> Result<String, RegistryError> {
        let url = self.url("blobs/uploads/");
        let resp = self
            .send(Method::POST, &url, &self.scopes(), &[], &|| {
                Ok(transport::empty())
            })
            .await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(error_from(resp, &Method::POST, &url).await);
        }
        self.location(&resp, &url)
    }

    fn location(&self, resp: &Response<Incoming>, url: &str) -> Result<String, RegistryError> {
        let loc = header_str(resp.headers(), header::LOCATION);
        if loc.is_empty() {
            return Err(RegistryError::Status {
                method: "Post".into(),
                url: url.to_string(),
                status: resp.status().as_u16(),
                body: "the registry gave no upload location".into(),
            });
        }
        Ok(self.absolute(&loc))
    }

    /// Uploads the file at `path` (`size` bytes, digest `digest`) to an upload started
    /// at `location`: one PUT when it fits in a chunk, else PATCH chunks, then PUT.
    pub async fn upload_blob(
        &self,
        location: String,
        path: &Path,
        digest: &str,
        size: u64,
        progress: ProgressFn,
    ) -> Result<(), RegistryError> {
        let mut location = location;
        let mut offset = 0u64;
        let octets = (header::CONTENT_TYPE, "application/octet-stream".to_string());
        if size > self.chunk_size {
            while offset < size {
                let n = self.chunk_size.min(size - offset);
                let headers = [
                    octets.clone(),
                    (header::CONTENT_LENGTH, n.to_string()),
                    (
                        header::CONTENT_RANGE,
                        format!("{offset}-{}", offset + n - 1),
                    ),
                ];
                let base = offset;
                let p = progress.clone();
                let resp = self
                    .send(Method::PATCH, &location, &self.scopes(), &headers, &|| {
                        file_body(path, base, n, p.clone())
                    })
                    .await?;
                if resp.status() != StatusCode::ACCEPTED {
                    return Err(error_from(resp, &Method::PATCH, &location).await);
                }
                location = self.location(&resp, &location)?;
                offset += n;
            }
        }
        let sep = if location.contains('?') { '&' } else { '?' };
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("digest", digest)
            .finish();
        let url = format!("{location}{sep}{query}");
        let n = size - offset;
        let headers = [octets, (header::CONTENT_LENGTH, n.to_string())];
        let resp = self
            .send(Method::PUT, &url, &self.scopes(), &headers, &|| {
                if n == 0 {
                    Ok(transport::empty())
                } else {
                    file_body(path, offset, n, progress.clone())
                }
            })
            .await?;
        if resp.status() != StatusCode::CREATED {
            return Err(error_from(resp, &Method::PUT, &url).await);
        }
        Ok(())
    }

    /// Uploads a small blob held in memory (an image config), unless the registry has it.
    pub async fn push_small_blob(&self, digest: &str, data: Bytes) -> Result<(), RegistryError> {
        if self.blob_exists(digest).await? {
            return Ok(());
        }
        let location = self.start_upload().await?;
        let sep = if location.contains('?') { '&' } else { '?' };
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("digest", digest)
            .finish();
        let url = format!("{location}{sep}{query}");
        let headers = [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, data.len().to_string()),
        ];
        let resp = self
            .send(Method::PUT, &url, &self.scopes(), &headers, &|| {
                Ok(transport::full(data.clone()))
            })
            .await?;
        if resp.status() != StatusCode::CREATED {
            return Err(error_from(resp, &Method::PUT, &url).await);
        }
        Ok(())
    }

    /// Stores a manifest under `reference` (a tag); returns its digest.
    pub async fn put_manifest(
        &self,
        reference: &str,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<String, RegistryError> {
        let url = self.url(&format!("manifests/{reference}"));
        let headers = [
            (header::CONTENT_TYPE, media_type.to_string()),
            (header::CONTENT_LENGTH, bytes.len().to_string()),
        ];
        let digest = sha256(&bytes);
        let resp = self
            .send(Method::PUT, &url, &self.scopes(), &headers, &|| {
                Ok(transport::full(bytes.clone()))
            })
            .await?;
        if resp.status() != StatusCode::CREATED {
            return Err(error_from(resp, &Method::PUT, &url).await);
        }
        let said = header_str(resp.headers(), "docker-content-digest");
        if !said.is_empty() && said != digest {
            return Err(RegistryError::DigestMismatch {
                what: "pushed manifest",
                expected: digest,
                actual: said,
            });
        }
        Ok(digest)
    }

    /// The v1 search API (`/v1/search?q=`), `None` where the registry has none.
    async fn v1_search(
        &self,
        query: &str,
        limit: usize,
    ) -> Result<Option<Vec<SearchResult>>, RegistryError> {
        #[derive(serde::Deserialize)]
        struct Results {
            #[serde(default)]
            results: Vec<SearchResult>,
        }
        let url = format!(
            "{}/v1/search?q={}&n={limit}",
            self.endpoint.base,
            url_escape(query)
        );
        let resp = self
            .send(Method::GET, &url, &[], &[], &|| Ok(transport::empty()))
            .await?;
        if resp.status() != StatusCode::OK {
            return Ok(None);
        }
        let body = read_limited(resp, 16 << 20, &url).await?;
        Ok(serde_json::from_slice::<Results>(&body)
            .ok()
            .map(|r| r.results.into_iter().take(limit).collect()))
    }

    /// Every repository of the registry (`/v2/_catalog`, following `Link` pagination).
    pub async fn catalog(&self) -> Result<Vec<String>, RegistryError> {
        let url = format!("{}/v2/_catalog?n=1000", self.endpoint.base);
        let scopes = vec!["registry:catalog:*".to_string()];
        self.paged_list(url, &scopes, "repositories", "catalog")
            .await
    }

    /// Every tag of the repository (following `Link` pagination).
    pub async fn tags(&self) -> Result<Vec<String>, RegistryError> {
        self.paged_list(self.url("tags/list"), &self.scopes(), "tags", "tag list")
            .await
    }

    /// A paginated list endpoint (`Link: <next>; rel="next"`): the strings under `field`
    /// of every page.
    async fn paged_list(
        &self,
        mut url: String,
        scopes: &[String],
        field: &str,
        what: &str,
    ) -> Result<Vec<String>, RegistryError> {
        let mut all = Vec::new();
        loop {
            let resp = self
                .send(Method::GET, &url, scopes, &[], &|| Ok(transport::empty()))
                .await?;
            if resp.status() != StatusCode::OK {
                return Err(error_from(resp, &Method::GET, &url).await);
            }
            let next = next_link(resp.headers());
            let body = read_limited(resp, 16 << 20, &url).await?;
            let invalid = |e: serde_json::Error| RegistryError::Status {
                method: "Get".into(),
                url: url.clone(),
                status: 200,
                body: format!("invalid {what}: {e}"),
            };
            let page: serde_json::Value = serde_json::from_slice(&body).map_err(invalid)?;
            let items: Option<Vec<String>> =
                serde_json::from_value(page[field].clone()).map_err(invalid)?;
            all.extend(items.unwrap_or_default());
            match next {
                Some(n) => url = self.absolute(&n),
                None => return Ok(all),
            }
        }
    }
}

/// A request body reading `len` bytes of `path` from `offset`, reporting progress.
fn file_body(
    path: &Path,
    offset: u64,
    len: u64,
    progress: ProgressFn,
) -> Result<ReqBody, RegistryError> {
    let mut f = std::fs::File::open(path)
        .map_err(|e| RegistryError::io(format!("cannot open {}", path.display()), e))?;
    f.seek(SeekFrom::Start(offset))
        .map_err(|e| RegistryError::io(format!("cannot read {}", path.display()), e))?;
    let reader = tokio::fs::File::from_std(f).take(len);
    let mut sent = offset;
    let stream = tokio_util::io::ReaderStream::with_capacity(reader, 256 << 10).map(move |chunk| {
        let chunk = chunk?;
        sent += chunk.len() as u64;
        progress(sent);
        Ok(Frame::data(chunk))
    });
    Ok(StreamBody::new(stream).boxed_unsync())
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn header_str(h: &HeaderMap, name: impl header::AsHeaderName) -> String {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

/// `Link: </v2/x/tags/list?n=100&last=b>; rel="next"` → the URL.
fn next_link(h: &HeaderMap) -> Option<String> {
    let link = header_str(h, header::LINK);
    let (url, params) = link.split_once(';')?;
    params.contains("rel=\"next\"").then(|| {
        url.trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_string()
    })
}

async fn read_limited(
    resp: Response<Incoming>,
    limit: usize,
    url: &str,
) -> Result<Bytes, RegistryError> {
    let mut body = resp.into_body();
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| RegistryError::Transport {
            method: "Get".into(),
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        if let Ok(d) = frame.into_data() {
            out.extend_from_slice(&d);
            if out.len() > limit {
                return Err(RegistryError::Status {
                    method: "Get".into(),
                    url: url.to_string(),
                    status: 200,
                    body: format!("response larger than {limit} bytes"),
                });
            }
        }
    }
    Ok(out.into())
}

/// A failed answer as an error: the registry's error list when it sent one.
async fn error_from(resp: Response<Incoming>, method: &Method, url: &str) -> RegistryError {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        errors: Vec<ErrorEntry>,
    }
    let status = resp.status();
    let body = read_limited(resp, 1 << 20, url).await.unwrap_or_default();
    match serde_json::from_slice::<Body>(&body) {
        Ok(b) if !b.errors.is_empty() => RegistryError::Registry {
            status: status.as_u16(),
            errors: b.errors,
        },
        _ => RegistryError::Status {
            method: http_method_name(method.as_str()),
            url: url.to_string(),
            status: status.as_u16(),
            body: String::from_utf8_lossy(&body)
                .trim()
                .chars()
                .take(200)
                .collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_servers_name_domains() {
        assert_eq!(server_domain("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(server_domain(""), "docker.io");
        assert_eq!(server_domain("docker.io"), "docker.io");
        assert_eq!(server_domain("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(server_domain("https://Reg.Test:5000/v2/"), "reg.test:5000");
    }

    #[test]
    fn links_and_authorities() {
        let mut h = HeaderMap::new();
        h.insert(
            header::LINK,
            "</v2/x/tags/list?n=2&last=b>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(next_link(&h).unwrap(), "/v2/x/tags/list?n=2&last=b");
        assert_eq!(authority("http://a:1/v2/x?y"), "a:1");
    }

    #[tokio::test]
    async fn endpoint_order() {
        let cfg = RegistryConfig::new(&[], &["http://127.0.0.1:5001".into()]).unwrap();
        let r = Registries::new(cfg);
        let eps = r.endpoints("docker.io", Access::Pull).await;
        assert_eq!(eps.len(), 2);
        assert_eq!(eps[0].base, "http://127.0.0.1:5001");
        assert!(eps[0].mirror);
        assert_eq!(eps[1].base, "https://registry-1.docker.io");
        assert_eq!(r.endpoints("docker.io", Access::Push).await.len(), 1);
        let eps = r.endpoints("127.0.0.1:5000", Access::Pull).await;
        assert_eq!(
            eps.iter().map(|e| e.base.as_str()).collect::<Vec<_>>(),
            ["https://127.0.0.1:5000", "http://127.0.0.1:5000"]
        );
        assert!(!eps[0].verify_tls);
    }
}
