//! # berth-client
//!
//! A small Docker Engine API client for the berth CLI: one HTTP/1.1 connection per request
//! to a daemon on a unix socket, plain TCP, or TCP with TLS; API version negotiation via
//! `/_ping` (like the docker CLI); daemon errors decoded from Docker's `{"message": ...}`.
//!
//! It knows the transport and the error shapes, not the commands: the CLI decides which
//! endpoints to call. Streaming endpoints hand back the raw response body.

mod endpoint;
mod error;

use std::sync::OnceLock;

use berth_api::{ApiVersion, ErrorBody, MAX_API_VERSION};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;

pub use endpoint::{Endpoint, TlsOptions};
pub use error::ClientError;

/// A client for one daemon.
pub struct Client {
    endpoint: Endpoint,
    version: OnceLock<ApiVersion>,
}

impl Client {
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            version: OnceLock::new(),
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The API version requests use: the lower of the daemon's and ours, learnt from the
    /// first `/_ping` (a daemon that does not say gets our newest).
    pub async fn api_version(&self) -> Result<ApiVersion, ClientError> {
        if let Some(v) = self.version.get() {
            return Ok(*v);
        }
        let resp = self.send(Method::GET, "/_ping", None, &[]).await?;
        let server = resp
            .headers()
            .get("api-version")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<ApiVersion>().ok())
            .unwrap_or(MAX_API_VERSION);
        let v = server.min(MAX_API_VERSION);
        Ok(*self.version.get_or_init(|| v))
    }

    /// Sends a versioned API request; a non-2xx answer becomes [`ClientError::Api`].
    pub async fn request(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<(Bytes, &str)>,
    ) -> Result<Response<Incoming>, ClientError> {
        let v = self.api_version().await?;
        let path = format!("/v{v}{path_and_query}");
        let resp = self.send(method, &path, body, &[]).await?;
        if resp.status().is_success() || resp.status() == StatusCode::SWITCHING_PROTOCOLS {
            return Ok(resp);
        }
        Err(api_error(resp).await)
    }

    /// GET a JSON document.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path_and_query: &str,
    ) -> Result<T, ClientError> {
        let resp = self.request(Method::GET, path_and_query, None).await?;
        let bytes = read_body(resp).await?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Sends a request without the version prefix (for `/_ping`, and for the version
    /// negotiation itself).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(Bytes, &str)>,
        headers: &[(&str, &str)],
    ) -> Result<Response<Incoming>, ClientError> {
        let io = self.endpoint.connect().await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| self.endpoint.connect_error(std::io::Error::other(e)))?;
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("Host", self.endpoint.host_header())
            .header(
                "User-Agent",
                concat!("berth-cli/", env!("CARGO_PKG_VERSION")),
            );
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = match body {
            Some((bytes, content_type)) => req
                .header("Content-Type", content_type)
                .body(Full::new(bytes)),
            None => req.body(Full::new(Bytes::new())),
        }
        .map_err(|e| ClientError::Request(e.to_string()))?;
        sender
            .send_request(req)
            .await
            .map_err(|e| transport_error(&e))
    }
}

/// Reads a whole response body.
pub async fn read_body(resp: Response<Incoming>) -> Result<Bytes, ClientError> {
    resp.into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .map_err(|e| ClientError::Transport(e.to_string()))
}

/// A failed exchange, with the causes hyper wraps spelled out and a hint for the TLS
/// rejections a user can fix.
fn transport_error(e: &(dyn std::error::Error + 'static)) -> ClientError {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    if msg.contains("CertificateRequired") {
        msg.push_str(" (the daemon requires a client certificate: pass --tlscert and --tlskey, or set DOCKER_CERT_PATH)");
    } else if msg.contains("UnknownCA") || msg.contains("BadCertificate") || msg.contains("DecryptError") {
        msg.push_str(" (the daemon rejected the client certificate: use one signed by the daemon's CA)");
    }
    ClientError::Transport(msg)
}

async fn api_error(resp: Response<Incoming>) -> ClientError {
    let status = resp.status();
    let body = read_body(resp).await.unwrap_or_default();
    let message = serde_json::from_slice::<ErrorBody>(&body)
        .map(|e| e.message)
        .unwrap_or_else(|_| {
            let text = String::from_utf8_lossy(&body).trim().to_string();
            if text.is_empty() {
                status.canonical_reason().unwrap_or("error").to_string()
            } else {
                text
            }
        });
    ClientError::Api {
        status: status.as_u16(),
        message,
    }
}
