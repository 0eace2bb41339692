//! `/containers/{id}/stats`, `/top`, `/pause`, `/unpause`, `/update`: the verbs that work
//! on a container's cgroup (see `engine::containers::{stats,top,pause,update}`).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::extract::{JsonBody, QueryPairs};
use super::Error;
use crate::engine::containers::UpdateBody;
use crate::engine::Engine;

/// `GET /containers/{id}/stats?stream=&one-shot=`: one JSON document per line; `stream`
/// defaults to true, as in dockerd.
pub async fn stats(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Response, Error> {
    let stream = q.get("stream").is_none() || q.bool("stream");
    let rx = engine.container_stats(&id, stream, q.bool("one-shot"))?;
    let lines = futures_util::StreamExt::map(
        tokio_stream::wrappers::ReceiverStream::new(rx),
        |doc: Value| {
            let mut line = serde_json::to_vec(&doc).unwrap_or_default();
            line.push(b'\n');
            Ok::<_, std::convert::Infallible>(Bytes::from(line))
        },
    );
    let mut resp = Body::from_stream(lines).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

/// `GET /containers/{id}/top?ps_args=`.
pub async fn top(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    Ok(Json(
        engine
            .top_container(&id, q.get("ps_args").unwrap_or(""))
            .await?,
    ))
}

pub async fn pause(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    engine.pause_container(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn unpause(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    engine.unpause_container(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /containers/{id}/update` with Docker's `UpdateConfig`.
pub async fn update(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateBody>,
) -> Result<Json<Value>, Error> {
    Ok(Json(engine.update_container(&id, body).await?))
}
