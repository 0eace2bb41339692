//! `/containers/...` routes.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_api::parse_filter_json;
use serde_json::{json, Value};

use super::extract::{parse_timestamp, JsonBody, QueryPairs};
use super::Error;
use crate::engine::containers::{CreateBody, ListOptions, LogOptions};
use crate::engine::Engine;

pub async fn create(
    State(engine): State<Arc<Engine>>,
    q: QueryPairs,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<(StatusCode, Json<Value>), Error> {
    let id = engine.create_container(q.get("name"), body)?;
    Ok((StatusCode::CREATED, Json(json!({"Id": id, "Warnings": []}))))
}

pub async fn list(
    State(engine): State<Arc<Engine>>,
    q: QueryPairs,
) -> Result<Json<Vec<Value>>, Error> {
    let opts = ListOptions {
        all: q.bool("all"),
        limit: q
            .get("limit")
            .and_then(|l| l.parse::<i64>().ok())
            .filter(|l| *l > 0)
            .map(|l| l as usize),
        size: q.bool("size"),
        filters: parse_filter_json(q.get("filters").unwrap_or(""))?,
    };
    Ok(Json(engine.list_containers(&opts)?))
}

pub async fn inspect(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    Ok(Json(engine.inspect_container(&id)?))
}

pub async fn start(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    Ok(if engine.start_container(&id).await? {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_MODIFIED
    })
}

pub async fn stop(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<StatusCode, Error> {
    let t = q.get("t").and_then(|t| t.parse::<i64>().ok());
    Ok(if engine.stop_container(&id, t, q.get("signal")).await? {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_MODIFIED
    })
}

pub async fn kill(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<StatusCode, Error> {
    engine.kill_container(&id, q.get("signal")).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn wait(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Value>, Error> {
    let code = engine
        .wait_container(&id, q.get("condition").unwrap_or("not-running"))
        .await?;
    Ok(Json(json!({"StatusCode": code, "Error": null})))
}

pub async fn remove(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<StatusCode, Error> {
    // volumes hook: `v` also removes the container's anonymous volumes.
    engine
        .remove_container_and_volumes(&id, q.bool("force"), q.bool("v"))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn logs(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Response, Error> {
    let ts = |k: &str| -> Result<Option<i64>, Error> {
        match q.get(k).filter(|v| !v.is_empty() && *v != "0") {
            Some(v) => parse_timestamp(k, v).map(Some),
            None => Ok(None),
        }
    };
    let opts = LogOptions {
        stdout: q.bool("stdout"),
        stderr: q.bool("stderr"),
        follow: q.bool("follow"),
        timestamps: q.bool("timestamps"),
        tail: q.get("tail").and_then(|t| t.parse::<usize>().ok()),
        since: ts("since")?,
        until: ts("until")?,
    };
    if !opts.stdout && !opts.stderr {
        return Err(berth_api::ApiError::invalid("you must choose at least one stream").into());
    }
    let (tty, rx) = engine.container_logs(&id, opts)?;
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    let body = Body::from_stream(futures_util::StreamExt::map(
        stream,
        Ok::<_, std::convert::Infallible>,
    ));
    let mut resp = body.into_response();
    let ct = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    Ok(resp)
}
