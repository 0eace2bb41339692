//! # berth-client
//!
//! A small Docker Engine API client for the berth CLI: one HTTP/1.1 connection per request
//! to a daemon on a unix socket, plain TCP, or TCP with TLS; API version negotiation via
//! `/_ping` (like the docker CLI); daemon errors decoded from Docker's `{"message": ...}`.
//!
//! It knows the transport and the error shapes, not the commands: the CLI decides which
//! endpoints to call. Streaming endpoints hand back the raw response body ([`body_stream`]
//! reads it chunk by chunk); uploads ([`Client::request_body`], [`Client::request_reader`])
//! stream their body, so a multi-gigabyte image archive never sits in memory.

mod endpoint;
mod error;
mod hijack;
mod query;

use std::io;
use std::sync::OnceLock;

use berth_api::{ApiVersion, ErrorBody, MAX_API_VERSION};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt, TryStreamExt};
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt};

pub use endpoint::{Endpoint, TlsOptions};
pub use error::ClientError;
pub use hijack::{is_disconnect, Hijacked};
pub use query::{encode_path, encode_query_component, Query};

/// A request body: empty, in memory, or streamed.
pub type RequestBody = UnsyncBoxBody<Bytes, io::Error>;

/// How much an upload reads from its source at a time.
const UPLOAD_CHUNK: usize = 64 * 1024;

/// A client for one daemon. Clones share nothing but the endpoint and the negotiated
/// version (each request opens its own connection anyway).
#[derive(Clone)]
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
        let resp = self.send(method.clone(), &path, body, &[]).await?;
        if resp.status().is_success() || resp.status() == StatusCode::SWITCHING_PROTOCOLS {
            return Ok(resp);
        }
        Err(unknown_route_hint(
            api_error(resp).await,
            &method,
            path_and_query,
        ))
    }

    /// Sends a versioned API request whose body is streamed from `body` (chunks of bytes),
    /// with `content_type`; a non-2xx answer becomes [`ClientError::Api`]. The body is
    /// sent with chunked transfer encoding as it is produced, never collected first.
    pub async fn request_body<S>(
        &self,
        method: Method,
        path_and_query: &str,
        body: S,
        content_type: &str,
    ) -> Result<Response<Incoming>, ClientError>
    where
        S: Stream<Item = io::Result<Bytes>> + Send + 'static,
    {
        let body = StreamBody::new(body.map_ok(Frame::data)).boxed_unsync();
        let v = self.api_version().await?;
        let path = format!("/v{v}{path_and_query}");
        let resp = self
            .send_body(method, &path, body, Some(content_type), &[])
            .await?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        Err(api_error(resp).await)
    }

    /// [`Client::request_body`] with the body read from `reader` (a file, stdin, ...).
    pub async fn request_reader<R>(
        &self,
        method: Method,
        path_and_query: &str,
        reader: R,
        content_type: &str,
    ) -> Result<Response<Incoming>, ClientError>
    where
        R: AsyncRead + Send + 'static,
    {
        self.request_body(method, path_and_query, reader_stream(reader), content_type)
            .await
    }

    /// GET a JSON document.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path_and_query: &str,
    ) -> Result<T, ClientError> {
        let resp = self.request(Method::GET, path_and_query, None).await?;
        decode_json(&read_body(resp).await?)
    }

    /// POST, with `body` as JSON if given, and decode the JSON answer (an empty answer
    /// decodes as `null`, so `T` may be `()` or an `Option`).
    pub async fn post_json<T: DeserializeOwned>(
        &self,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T, ClientError> {
        let body = body
            .map(|b| serde_json::to_vec(b).map(|v| (Bytes::from(v), "application/json")))
            .transpose()
            .map_err(|e| ClientError::Request(e.to_string()))?;
        let resp = self.request(Method::POST, path_and_query, body).await?;
        decode_json(&read_body(resp).await?)
    }

    /// POST without a body; returns the answer's body.
    pub async fn post(&self, path_and_query: &str) -> Result<Bytes, ClientError> {
        let resp = self.request(Method::POST, path_and_query, None).await?;
        read_body(resp).await
    }

    /// DELETE; returns the answer's body.
    /// GET a whole body as bytes (for callers that keep the daemon's JSON as it is).
    pub async fn get_bytes(&self, path_and_query: &str) -> Result<Bytes, ClientError> {
        let resp = self.request(Method::GET, path_and_query, None).await?;
        read_body(resp).await
    }

    pub async fn delete(&self, path_and_query: &str) -> Result<Bytes, ClientError> {
        let resp = self.request(Method::DELETE, path_and_query, None).await?;
        read_body(resp).await
    }

    /// DELETE and decode the JSON answer (an empty answer decodes as `null`).
    pub async fn delete_json<T: DeserializeOwned>(
        &self,
        path_and_query: &str,
    ) -> Result<T, ClientError> {
        decode_json(&self.delete(path_and_query).await?)
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
        match body {
            Some((bytes, content_type)) => {
                let body = Full::new(bytes)
                    .map_err(|never| match never {})
                    .boxed_unsync();
                self.send_body(method, path, body, Some(content_type), headers)
                    .await
            }
            None => {
                let body = Empty::new().map_err(|never| match never {}).boxed_unsync();
                self.send_body(method, path, body, None, headers).await
            }
        }
    }

    /// [`Client::send`] with any body (in memory or streamed).
    pub async fn send_body(
        &self,
        method: Method,
        path: &str,
        body: RequestBody,
        content_type: Option<&str>,
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
        if let Some(content_type) = content_type {
            req = req.header("Content-Type", content_type);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(body)
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

/// A response body as a stream of its data chunks, read as they arrive (for archives and
/// JSON message streams that must not be collected whole).
pub fn body_stream(
    resp: Response<Incoming>,
) -> impl Stream<Item = Result<Bytes, ClientError>> + Send + Unpin + 'static {
    resp.into_body()
        .into_data_stream()
        .map_err(|e| ClientError::Transport(e.to_string()))
}

/// Reads `reader` as a stream of chunks, for [`Client::request_body`].
pub fn reader_stream<R>(reader: R) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static
where
    R: AsyncRead + Send + 'static,
{
    futures_util::stream::try_unfold(Box::pin(reader), |mut reader| async move {
        let mut buf = BytesMut::with_capacity(UPLOAD_CHUNK);
        let n = reader.read_buf(&mut buf).await?;
        Ok((n > 0).then(|| (buf.freeze(), reader)))
    })
    .boxed()
}

/// Decodes a JSON answer; an empty one is `null`.
fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ClientError> {
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"null".as_slice()
    } else {
        bytes
    };
    serde_json::from_slice(bytes).map_err(|e| ClientError::Decode(e.to_string()))
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
    } else if msg.contains("UnknownCA")
        || msg.contains("BadCertificate")
        || msg.contains("DecryptError")
    {
        msg.push_str(
            " (the daemon rejected the client certificate: use one signed by the daemon's CA)",
        );
    }
    ClientError::Transport(msg)
}

/// dockerd's answer to a route it does not have is a bare "page not found"; say which
/// request that was, so a user can tell an old daemon from a missing object.
pub(crate) fn unknown_route_hint(e: ClientError, method: &Method, path: &str) -> ClientError {
    match e {
        ClientError::Api {
            status: 404,
            message,
        } if message == "page not found" => {
            let path = path.split('?').next().unwrap_or(path);
            ClientError::Api {
                status: 404,
                message: format!("page not found (the daemon does not implement {method} {path})"),
            }
        }
        e => e,
    }
}

pub(crate) async fn api_error(resp: Response<Incoming>) -> ClientError {
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
