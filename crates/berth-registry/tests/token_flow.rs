//! The Bearer-token flow against a mock registry on 127.0.0.1 (plain HTTP, so the client
//! also goes through its HTTPS → HTTP fallback for insecure registries): tokens per scope,
//! a refused token fetched again, `/auth`-style logins, redirects, digest checks.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use berth_registry::{Credentials, Registries, RegistryConfig, RegistryError};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};

const BLOB: &[u8] = b"layer bytes";

#[derive(Default)]
struct Mock {
    port: u16,
    /// token → scope it was issued for.
    tokens: HashMap<String, String>,
    issued: usize,
    refused_one: bool,
    scopes_asked: Vec<String>,
}

fn sha(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

fn manifest() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": sha(b"{}"), "size": 2},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar", "digest": sha(BLOB), "size": BLOB.len()}],
    }))
    .unwrap()
}

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r
}

fn handle(req: Request<Incoming>, state: &Mutex<Mock>) -> Response<Full<Bytes>> {
    let mut s = state.lock().unwrap();
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bearer_scope = auth
        .strip_prefix("Bearer ")
        .and_then(|t| s.tokens.get(t).cloned());
    let challenge = |s: &Mock| {
        let mut r = reply(
            StatusCode::UNAUTHORIZED,
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
        );
        r.headers_mut().insert(
            "www-authenticate",
            format!(
                r#"Bearer realm="http://127.0.0.1:{}/token",service="mock""#,
                s.port
            )
            .parse()
            .unwrap(),
        );
        r
    };
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    match path.as_str() {
        "/v2/" => challenge(&s),
        "/token" => {
            let good = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("u:p")
            );
            if auth != good {
                return reply(
                    StatusCode::UNAUTHORIZED,
                    r#"{"details":"incorrect username or password"}"#,
                );
            }
            let scope: Vec<String> = form_urlencoded::parse(query.as_bytes())
                .filter(|(k, _)| k == "scope")
                .map(|(_, v)| v.into_owned())
                .collect();
            let scope = scope.join(" ");
            s.scopes_asked.push(scope.clone());
            s.issued += 1;
            let token = format!("T{}", s.issued);
            s.tokens.insert(token.clone(), scope);
            reply(
                StatusCode::OK,
                format!(r#"{{"token":"{token}","expires_in":300}}"#),
            )
        }
        "/v2/x/y/manifests/1" => match bearer_scope {
            Some(scope) if scope.contains("repository:x/y:pull") => {
                if !s.refused_one {
                    // As if the token had expired early: the client must fetch a new one.
                    s.refused_one = true;
                    return challenge(&s);
                }
                let mut r = reply(StatusCode::OK, manifest());
                r.headers_mut().insert(
                    "content-type",
                    "application/vnd.docker.distribution.manifest.v2+json"
                        .parse()
                        .unwrap(),
                );
                r
            }
            _ => challenge(&s),
        },
        p if p.starts_with("/v2/x/y/blobs/") && bearer_scope.is_some() => {
            let mut r = reply(StatusCode::TEMPORARY_REDIRECT, "");
            r.headers_mut()
                .insert("location", "/storage/blob".parse().unwrap());
            r
        }
        "/storage/blob" => reply(StatusCode::OK, BLOB),
        _ => challenge(&s),
    }
}

async fn start_mock() -> (u16, Arc<Mutex<Mock>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = Arc::new(Mutex::new(Mock {
        port,
        ..Mock::default()
    }));
    let st = state.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let st = st.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let resp = handle(req, &st);
                    async move { Ok::<_, Infallible>(resp) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    (port, state)
}

#[tokio::test]
async fn bearer_tokens_per_scope_refresh_redirects_and_logins() {
    let (port, state) = start_mock().await;
    let host = format!("127.0.0.1:{port}");
    let regs = Registries::new(RegistryConfig::default());
    let creds = Credentials::basic("u", "p");

    regs.login(&host, &creds).await.unwrap();
    let err = regs
        .login(&host, &Credentials::basic("u", "wrong"))
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    assert!(
        err.to_string().contains("incorrect username or password"),
        "{err}"
    );

    let (repo, m) = regs
        .resolve_manifest(&host, "x/y", "1", &creds)
        .await
        .unwrap();
    assert_eq!(m.digest, sha(&manifest()));
    assert_eq!(repo.endpoint().base, format!("http://{host}"));

    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("blob");
    let n = repo
        .fetch_blob(&sha(BLOB), Some(BLOB.len() as u64), &dest, &|_| {})
        .await
        .unwrap();
    assert_eq!(n, BLOB.len() as u64);
    assert_eq!(std::fs::read(&dest).unwrap(), BLOB);
    let err = repo
        .fetch_blob(&sha(b"other"), None, &dest, &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::DigestMismatch { .. }), "{err}");

    let s = state.lock().unwrap();
    // login (no scope), the refused pull token, its replacement; the blob reused it.
    assert_eq!(s.issued, 3, "{:?}", s.scopes_asked);
    assert_eq!(s.scopes_asked[0], "");
    assert_eq!(s.scopes_asked[1], "repository:x/y:pull");
    assert_eq!(s.scopes_asked[2], "repository:x/y:pull");
}

#[tokio::test]
async fn anonymous_pull_of_a_protected_repository_is_refused() {
    let (port, _state) = start_mock().await;
    let host = format!("127.0.0.1:{port}");
    let regs = Registries::new(RegistryConfig::default());
    let err = regs
        .resolve_manifest(&host, "x/y", "1", &Credentials::default())
        .await
        .err()
        .expect("anonymous token request must fail");
    assert!(err.is_unauthorized(), "{err}");
}
