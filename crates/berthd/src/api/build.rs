//! `POST /build` (the classic builder, as `DOCKER_BUILDKIT=0 docker build` calls it) and
//! `POST /build/prune`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_api::images::JsonMessage;
use berth_api::ApiError;
use futures_util::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::extract::{body_reader, QueryPairs};
use super::Error;
use crate::engine::build::BuildOptions;
use crate::engine::Engine;

/// The query parameters → build options (a bad JSON parameter is a 400 before anything
/// streams).
fn options(q: &QueryPairs) -> Result<BuildOptions, ApiError> {
    fn json<T: serde::de::DeserializeOwned + Default>(
        q: &QueryPairs,
        key: &str,
    ) -> Result<T, ApiError> {
        match q.get(key).filter(|v| !v.is_empty()) {
            None => Ok(T::default()),
            Some(v) => serde_json::from_str(v)
                .map_err(|e| ApiError::invalid(format!("invalid {key} parameter: {e}"))),
        }
    }
    let build_args: BTreeMap<String, Option<String>> = json(q, "buildargs")?;
    let labels: BTreeMap<String, String> = json(q, "labels")?;
    let cache_from: Vec<String> = json(q, "cachefrom")?;
    Ok(BuildOptions {
        tags: q
            .get_all("t")
            .into_iter()
            .filter(|t| !t.is_empty())
            .collect(),
        dockerfile: q.get("dockerfile").unwrap_or("Dockerfile").to_string(),
        build_args,
        labels,
        target: q.get("target").map(str::to_string),
        no_cache: q.bool("nocache"),
        pull: q.bool("pull"),
        // dockerd: `rm` defaults to true when not given.
        rm: q.get("rm").is_none_or(|v| v.is_empty()) || q.bool("rm"),
        force_rm: q.bool("forcerm"),
        quiet: q.bool("q"),
        network_mode: q.get("networkmode").unwrap_or("").to_string(),
        platform: q
            .get("platform")
            .map(str::to_string)
            .filter(|p| !p.is_empty()),
        cache_from,
    })
}

pub async fn build(
    State(engine): State<Arc<Engine>>,
    q: QueryPairs,
    body: Body,
) -> Result<Response, Error> {
    let opts = options(&q)?;
    let (tx, rx) = tokio::sync::mpsc::channel::<JsonMessage>(256);
    let reader = body_reader(body);
    tokio::spawn(async move {
        let sink = tx.clone();
        if let Err(e) = engine.build(reader, opts, tx).await {
            let _ = sink.send(JsonMessage::error(e.message)).await;
        }
    });
    let lines = ReceiverStream::new(rx)
        .map(|m| Ok::<_, std::convert::Infallible>(axum::body::Bytes::from(m.to_line())));
    let mut resp = Body::from_stream(lines).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

pub async fn prune(
    State(engine): State<Arc<Engine>>,
    _q: QueryPairs,
) -> Result<Json<serde_json::Value>, Error> {
    let (deleted, space) = engine.prune_build_cache().await?;
    Ok(Json(serde_json::json!({
        "CachesDeleted": deleted,
        "SpaceReclaimed": space,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_like_the_docker_cli_sends_them() {
        let q = QueryPairs::from_pairs(&[
            ("t", "a:1"),
            ("t", "b"),
            ("buildargs", r#"{"A":"1","B":null}"#),
            ("labels", r#"{"l":"v"}"#),
            ("nocache", "1"),
            ("q", "false"),
        ]);
        let o = options(&q).unwrap();
        assert_eq!(o.tags, ["a:1", "b"]);
        assert_eq!(o.build_args["A"].as_deref(), Some("1"));
        assert_eq!(o.build_args["B"], None);
        assert_eq!(o.labels["l"], "v");
        assert!(o.no_cache && o.rm && !o.quiet && !o.force_rm);
        assert_eq!(o.dockerfile, "Dockerfile");
        let q = QueryPairs::from_pairs(&[("rm", "0"), ("buildargs", "nope")]);
        assert!(options(&q).is_err());
        let q = QueryPairs::from_pairs(&[("rm", "0")]);
        assert!(!options(&q).unwrap().rm);
    }
}
