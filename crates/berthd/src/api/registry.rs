//! Registry routes: `POST /images/create?fromImage=…` (pull), `POST /images/{name}/push`,
//! `POST /auth`; and the `X-Registry-Auth` header they read credentials from.
//!
//! Pull and push run in a task of their own that streams Docker's JSON progress. The
//! response waits for the task's first message: an error before it (bad reference,
//! unknown manifest, refused credentials) is a plain HTTP error with its status, as from
//! dockerd; after it, errors are `{"errorDetail": …}` lines in the 200 stream.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use berth_api::images::JsonMessage;
use berth_api::models::AuthResponse;
use berth_api::ApiError;
use berth_registry::Credentials;
use futures_util::StreamExt;
use serde::Deserialize;
use tokio_stream::wrappers::ReceiverStream;

use super::extract::QueryPairs;
use super::Error;
use crate::engine::images::{PullOptions, PushOptions};
use crate::engine::registry::{Progress, ProgressItem};
use crate::engine::{stopped, Engine};

/// docker's `AuthConfig` as clients send it (`X-Registry-Auth`, `/auth` body).
#[derive(Debug, Default, Deserialize)]
struct AuthBody {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    /// `base64(username:password)`, which some clients send instead.
    #[serde(default)]
    auth: String,
    #[serde(default)]
    serveraddress: String,
    #[serde(default)]
    identitytoken: String,
    #[serde(default)]
    registrytoken: String,
}

impl AuthBody {
    fn credentials(self) -> Credentials {
        let (mut username, mut password) = (self.username, self.password);
        if username.is_empty() && !self.auth.is_empty() {
            if let Some((u, p)) = decode_b64(&self.auth)
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| {
                    s.split_once(':')
                        .map(|(u, p)| (u.to_string(), p.to_string()))
                })
            {
                (username, password) = (u, p);
            }
        }
        Credentials {
            username,
            password,
            identity_token: self.identitytoken,
            registry_token: self.registrytoken,
        }
    }
}

/// Standard or URL-safe base64, padded or not (clients differ).
fn decode_b64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let s = s.trim();
    [URL_SAFE, URL_SAFE_NO_PAD, STANDARD, STANDARD_NO_PAD]
        .iter()
        .find_map(|e| e.decode(s).ok())
}

/// Credentials from `X-Registry-Auth`; a missing or unreadable header means anonymous, as
/// in dockerd.
pub fn credentials(headers: &HeaderMap) -> Credentials {
    headers
        .get("x-registry-auth")
        .and_then(|v| v.to_str().ok())
        .and_then(decode_b64)
        .and_then(|json| serde_json::from_slice::<AuthBody>(&json).ok())
        .map(AuthBody::credentials)
        .unwrap_or_default()
}

/// `POST /auth`.
pub async fn auth(
    State(engine): State<Arc<Engine>>,
    body: axum::body::Bytes,
) -> Result<Json<AuthResponse>, Error> {
    let body: AuthBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(format!("invalid auth configuration: {e}")))?;
    let server = body.serveraddress.clone();
    engine.login(&server, &body.credentials()).await?;
    Ok(Json(AuthResponse {
        status: "Login Succeeded".to_string(),
        identity_token: Some(String::new()),
    }))
}

/// The pull half of `POST /images/create`.
pub async fn pull(
    engine: Arc<Engine>,
    q: &QueryPairs,
    headers: &HeaderMap,
) -> Result<Response, Error> {
    let opts = PullOptions {
        image: q.get("fromImage").unwrap_or("").to_string(),
        tag: q.get("tag").map(str::to_string),
        platform: q.get("platform").map(str::to_string),
        creds: credentials(headers),
    };
    Ok(stream(engine, move |engine, progress| async move {
        engine.pull_image(opts, &progress).await
    })
    .await?)
}

/// `POST /images/{name}/push`.
pub async fn push(
    engine: Arc<Engine>,
    name: String,
    q: &QueryPairs,
    headers: &HeaderMap,
) -> Result<Response, Error> {
    let opts = PushOptions {
        name,
        tag: q.get("tag").map(str::to_string),
        creds: credentials(headers),
    };
    Ok(stream(engine, move |engine, progress| async move {
        engine.push_image(opts, &progress).await
    })
    .await?)
}

/// Runs `work` in its own task (stopped when berthd shuts down) and answers with its
/// progress stream — or with its error, if that comes before any message.
async fn stream<F, Fut>(engine: Arc<Engine>, work: F) -> Result<Response, ApiError>
where
    F: FnOnce(Arc<Engine>, Progress) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), ApiError>> + Send + 'static,
{
    let (progress, mut rx) = Progress::channel();
    let mut shutdown = engine.shutdown_signal();
    tokio::spawn(async move {
        let sink = progress.clone();
        let result = tokio::select! {
            r = work(engine, progress) => r,
            _ = stopped(&mut shutdown) => Err(ApiError::new(
                berth_api::ErrorKind::Unavailable,
                "berthd is shutting down",
            )),
        };
        if let Err(e) = result {
            sink.fail(e).await;
        }
    });
    let first = match rx.recv().await {
        None => return Ok(json_response(Body::empty())),
        Some(Err(e)) => return Err(e),
        Some(Ok(m)) => m,
    };
    let lines = futures_util::stream::once(async move { Ok::<ProgressItem, ApiError>(Ok(first)) })
        .chain(ReceiverStream::new(rx).map(Ok))
        .map(|item| {
            let line = match item {
                Ok(Ok(m)) => m.to_line(),
                Ok(Err(e)) | Err(e) => JsonMessage::error(e.message).to_line(),
            };
            Ok::<_, std::convert::Infallible>(axum::body::Bytes::from(line))
        });
    Ok(json_response(Body::from_stream(lines)))
}

fn json_response(body: Body) -> Response {
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// `GET /images/search?term=&limit=&filters=`.
pub async fn search(
    State(engine): State<Arc<Engine>>,
    q: super::extract::QueryPairs,
    headers: HeaderMap,
) -> Result<Json<Vec<berth_registry::SearchResult>>, Error> {
    let term = q.get("term").unwrap_or("");
    if term.is_empty() {
        return Err(
            ApiError::invalid("term is required: give a repository name to search for").into(),
        );
    }
    let limit = match q.get("limit").filter(|l| !l.is_empty()) {
        Some(l) => Some(
            l.parse::<usize>()
                .map_err(|_| ApiError::invalid(format!("invalid limit {l:?}")))?,
        ),
        None => None,
    };
    let filters = berth_api::parse_filter_json(q.get("filters").unwrap_or(""))?;
    let creds = credentials(&headers);
    Ok(Json(
        engine.search_images(term, limit, &filters, &creds).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_x_registry_auth_like_dockerd() {
        let mut h = HeaderMap::new();
        assert_eq!(credentials(&h), Credentials::default());
        let json = r#"{"username":"u","password":"p?>","serveraddress":"127.0.0.1:5000"}"#;
        let enc = base64::engine::general_purpose::URL_SAFE.encode(json);
        h.insert("X-Registry-Auth", enc.parse().unwrap());
        assert_eq!(credentials(&h), Credentials::basic("u", "p?>"));
        let json = r#"{"auth":"dTpwdw=="}"#;
        let enc = base64::engine::general_purpose::STANDARD_NO_PAD.encode(json);
        h.insert("X-Registry-Auth", enc.parse().unwrap());
        assert_eq!(credentials(&h), Credentials::basic("u", "pw"));
        h.insert("X-Registry-Auth", "e30=".parse().unwrap());
        assert!(credentials(&h).is_anonymous());
        h.insert("X-Registry-Auth", "!!!".parse().unwrap());
        assert!(credentials(&h).is_anonymous());
    }
}
