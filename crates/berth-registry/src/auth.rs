//! Registry authentication: the challenge a registry answers `/v2/` with
//! (`WWW-Authenticate: Basic …` or `Bearer realm=…,service=…`), and the credentials and
//! tokens that satisfy it. Bearer tokens are fetched per scope set (`repository:x:pull`,
//! `repository:x:pull,push`) and cached until shortly before they expire; a 401 on a
//! request with a cached token drops it so the next try fetches a fresh one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use http::{header, HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde::Deserialize;

use crate::error::ErrorEntry;
use crate::transport::{self, Transport};
use crate::RegistryError;

/// What a client hands over to authenticate: docker's `AuthConfig` (`X-Registry-Auth`,
/// `/auth`). Empty fields are absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    /// An OAuth refresh token from an earlier login (docker's `identitytoken`).
    pub identity_token: String,
    /// A bearer token to use as is (docker's `registrytoken`).
    pub registry_token: String,
}

impl Credentials {
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
            ..Self::default()
        }
    }

    pub fn is_anonymous(&self) -> bool {
        self.username.is_empty() && self.identity_token.is_empty() && self.registry_token.is_empty()
    }

    fn basic_header(&self) -> Option<String> {
        (!self.username.is_empty()).then(|| {
            let raw = format!("{}:{}", self.username, self.password);
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            )
        })
    }
}

/// How a registry wants to be authenticated, from its `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    None,
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

impl Challenge {
    /// Reads the challenges of a 401 answer; Bearer wins over Basic when both are offered.
    pub fn from_headers(headers: &HeaderMap) -> Challenge {
        let mut found = Challenge::None;
        for value in headers.get_all(header::WWW_AUTHENTICATE) {
            let Ok(text) = value.to_str() else { continue };
            let (scheme, params) = parse_challenge(text);
            match scheme.to_ascii_lowercase().as_str() {
                "bearer" => {
                    if let Some(realm) = params.get("realm") {
                        return Challenge::Bearer {
                            realm: realm.clone(),
                            service: params.get("service").cloned(),
                        };
                    }
                }
                "basic" => found = Challenge::Basic,
                _ => {}
            }
        }
        found
    }
}

/// `Bearer realm="x",service="y"` → ("Bearer", {realm: x, service: y}).
fn parse_challenge(text: &str) -> (String, HashMap<String, String>) {
    let text = text.trim();
    let (scheme, mut rest) = match text.split_once(' ') {
        Some((s, r)) => (s.to_string(), r.trim()),
        None => (text.to_string(), ""),
    };
    let mut params = HashMap::new();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &quoted[end..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        params.insert(key, value);
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    (scheme, params)
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: String,
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    expires_in: u64,
}

/// Tokens last at least this long (the distribution spec's default).
const MIN_TOKEN_LIFETIME: u64 = 60;

/// Credentials plus the challenge of one registry endpoint, and the tokens obtained.
pub struct Authorizer {
    creds: Credentials,
    challenge: Challenge,
    /// Talks to the token realm (which may be another host than the registry).
    token_transport: Transport,
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

impl Authorizer {
    pub fn new(creds: Credentials, challenge: Challenge, token_transport: Transport) -> Self {
        Self {
            creds,
            challenge,
            token_transport,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    pub fn challenge(&self) -> &Challenge {
        &self.challenge
    }

    pub fn credentials(&self) -> &Credentials {
        &self.creds
    }

    /// The `Authorization` value for a request needing `scopes`, if any is needed.
    pub async fn authorization(&self, scopes: &[String]) -> Result<Option<String>, RegistryError> {
        match &self.challenge {
            Challenge::None => Ok(None),
            Challenge::Basic => Ok(self.creds.basic_header()),
            Challenge::Bearer { realm, service } => {
                if !self.creds.registry_token.is_empty() {
                    return Ok(Some(format!("Bearer {}", self.creds.registry_token)));
                }
                let key = scopes.join(" ");
                if let Some((token, until)) = self.lock().get(&key) {
                    if Instant::now() < *until {
                        return Ok(Some(format!("Bearer {token}")));
                    }
                }
                let (token, lifetime) = self
                    .fetch_token(realm, service.as_deref(), scopes, false)
                    .await?;
                // Refresh a little early so a token never expires mid-request.
                let until = Instant::now() + Duration::from_secs(lifetime.saturating_sub(10));
                self.lock().insert(key, (token.clone(), until));
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    /// Forgets the token for `scopes` (after the registry refused it).
    pub fn invalidate(&self, scopes: &[String]) -> bool {
        self.lock().remove(&scopes.join(" ")).is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Instant)>> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Checks the credentials against the token server (a token without scope, as
    /// `docker login` asks for).
    pub async fn check_token_login(&self) -> Result<(), RegistryError> {
        if let Challenge::Bearer { realm, service } = &self.challenge {
            self.fetch_token(realm, service.as_deref(), &[], true)
                .await?;
        }
        Ok(())
    }

    /// Gets a token: with an identity token by OAuth POST (refresh_token grant), else by
    /// GET with Basic credentials when we have them (anonymous otherwise).
    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
        login: bool,
    ) -> Result<(String, u64), RegistryError> {
        let token_err = |message: String| RegistryError::Token {
            realm: realm.to_string(),
            message,
        };
        // The serializer is not Send: finish it before anything awaits.
        let pairs = |extra: &[(&str, &str)]| {
            let mut q = form_urlencoded::Serializer::new(String::new());
            if let Some(s) = service {
                q.append_pair("service", s);
            }
            for (k, v) in extra {
                q.append_pair(k, v);
            }
            q.finish()
        };
        let req = if !self.creds.identity_token.is_empty() {
            let scope = scopes.join(" ");
            let mut extra = vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", self.creds.identity_token.as_str()),
                ("client_id", "berth"),
            ];
            if !scopes.is_empty() {
                extra.push(("scope", &scope));
            }
            Request::builder()
                .method(Method::POST)
                .uri(realm)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(transport::full(pairs(&extra)))
        } else {
            let mut extra: Vec<(&str, &str)> =
                scopes.iter().map(|s| ("scope", s.as_str())).collect();
            if !self.creds.username.is_empty() {
                extra.push(("account", &self.creds.username));
            }
            if login {
                extra.push(("client_id", "berth"));
                extra.push(("offline_token", "true"));
            }
            let sep = if realm.contains('?') { '&' } else { '?' };
            let mut b = Request::builder()
                .method(Method::GET)
                .uri(format!("{realm}{sep}{}", pairs(&extra)));
            if let Some(h) = self.creds.basic_header() {
                b = b.header(header::AUTHORIZATION, h);
            }
            b.body(transport::empty())
        }
        .map_err(|e| token_err(format!("invalid token request: {e}")))?;
        let resp = self.token_transport.send(req).await?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| token_err(e.to_string()))?
            .to_bytes();
        if status != StatusCode::OK {
            return Err(token_err(describe_token_error(status, &body)));
        }
        let t: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| token_err(format!("invalid token response: {e}")))?;
        let token = if t.token.is_empty() {
            t.access_token
        } else {
            t.token
        };
        if token.is_empty() {
            return Err(token_err("the token server sent no token".to_string()));
        }
        Ok((token, t.expires_in.max(MIN_TOKEN_LIFETIME)))
    }
}

/// A token server's refusal in words: its error list, its `details`, or the status.
fn describe_token_error(status: StatusCode, body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        errors: Vec<ErrorEntry>,
        #[serde(default)]
        details: String,
    }
    let reason = status.canonical_reason().unwrap_or("error");
    match serde_json::from_slice::<Body>(body) {
        Ok(b) if !b.errors.is_empty() => b.errors[0].to_string(),
        Ok(b) if !b.details.is_empty() => b.details,
        _ => format!("{} {reason}", status.as_u16()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::WWW_AUTHENTICATE, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn parses_challenges() {
        assert_eq!(Challenge::from_headers(&headers(&[])), Challenge::None);
        assert_eq!(
            Challenge::from_headers(&headers(&[r#"Basic realm="Registry Realm""#])),
            Challenge::Basic
        );
        assert_eq!(
            Challenge::from_headers(&headers(&[
                r#"Basic realm="x""#,
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#
            ])),
            Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into())
            }
        );
        let (s, p) = parse_challenge(r#"Bearer realm="a\"b", service=svc ,scope="x:y:pull,push""#);
        assert_eq!(s, "Bearer");
        assert_eq!(p["realm"], "a\"b");
        assert_eq!(p["service"], "svc");
        assert_eq!(p["scope"], "x:y:pull,push");
    }

    #[test]
    fn token_errors_read_well() {
        assert_eq!(
            describe_token_error(
                StatusCode::UNAUTHORIZED,
                br#"{"details":"incorrect username or password"}"#
            ),
            "incorrect username or password"
        );
        assert_eq!(
            describe_token_error(StatusCode::FORBIDDEN, b"nope"),
            "403 Forbidden"
        );
        assert_eq!(
            Credentials::basic("u", "p").basic_header().unwrap(),
            "Basic dTpw"
        );
        assert!(Credentials::default().is_anonymous());
    }
}
