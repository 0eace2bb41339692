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
use super::hijack::{self, Conn};
use super::Error;
use crate::engine::containers::attach::{parse_detach_keys, AttachOptions};
use crate::engine::containers::exec::ExecConfig;
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
) -> Result<Response, Error> {
    let done = engine.wait_container(&id, q.get("condition").unwrap_or("not-running"))?;
    // Headers now, the body at the exit (see `Engine::wait_container`).
    let body = futures_util::stream::once(async move {
        let v = match done.await {
            Ok(code) => json!({"StatusCode": code, "Error": null}),
            Err(e) => json!({"StatusCode": -1, "Error": {"Message": e.message}}),
        };
        let mut line = serde_json::to_vec(&v).unwrap_or_default();
        line.push(b'\n');
        Ok::<_, std::convert::Infallible>(axum::body::Bytes::from(line))
    });
    let mut resp = Body::from_stream(body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
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

/// `POST /containers/{id}/attach` (hijacked; see `hijack`).
pub async fn attach(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    q: QueryPairs,
    mut req: axum::extract::Request,
) -> Result<Response, Error> {
    let mut opts = AttachOptions {
        stdin: q.bool("stdin"),
        stdout: q.bool("stdout"),
        stderr: q.bool("stderr"),
        logs: q.bool("logs"),
        stream: q.bool("stream"),
        detach_keys: parse_detach_keys(q.get("detachKeys").unwrap_or(""))?,
    };
    if !hijack::wants_upgrade(&req) {
        opts.stdin = false;
    }
    let ticket = engine.attach_prepare(&id, &opts)?;
    let tty = ticket.tty;
    let (cancel_engine, cancel_id) = (engine.clone(), ticket.id.clone());
    Ok(hijack::hijack(
        &mut req,
        tty,
        move |conn| async move {
            match conn {
                Conn::Upgraded(io) => engine.attach_run(ticket, opts, io).await,
                Conn::Body(io) => engine.attach_run(ticket, opts, io).await,
            }
        },
        move || cancel_engine.attach_cancel(&cancel_id),
    ))
}

/// `POST /containers/{id}/resize?h=&w=`.
pub async fn resize(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<StatusCode, Error> {
    let (h, w) = resize_dims(&q)?;
    engine.resize_container(&id, h, w).await?;
    Ok(StatusCode::OK)
}

/// `h` and `w` of a resize request; dockerd answers 400 for missing or bad numbers.
pub(super) fn resize_dims(q: &QueryPairs) -> Result<(u16, u16), Error> {
    let dim = |k: &str| -> Result<u16, Error> {
        q.get(k).unwrap_or("").parse::<u16>().map_err(|e| {
            berth_api::ApiError::invalid(format!(
                "strconv.Atoi: parsing {:?}: {e}",
                q.get(k).unwrap_or("")
            ))
            .into()
        })
    };
    Ok((dim("h")?, dim("w")?))
}

/// `POST /containers/{id}/exec`.
pub async fn exec_create(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ExecConfig>,
) -> Result<(StatusCode, Json<Value>), Error> {
    let id = engine.exec_create(&id, body)?;
    Ok((StatusCode::CREATED, Json(json!({"Id": id}))))
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct ExecStartBody {
    detach: bool,
    tty: Option<bool>,
}

/// `POST /exec/{id}/start`: hijacked unless `Detach`.
pub async fn exec_start(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    mut req: axum::extract::Request,
) -> Result<Response, Error> {
    let upgrade = hijack::wants_upgrade(&req);
    let on_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
    let bytes = axum::body::to_bytes(
        std::mem::take(req.body_mut()),
        super::extract::MAX_JSON_BODY,
    )
    .await
    .map_err(|e| berth_api::ApiError::invalid(format!("cannot read the request body: {e}")))?;
    let body: ExecStartBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        ExecStartBody::default()
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| berth_api::ApiError::invalid(format!("invalid JSON: {e}")))?
    };
    let ticket = engine.exec_start_prepare(&id, body.detach, body.tty)?;
    if ticket.detach {
        let e = engine.clone();
        tokio::spawn(async move { e.exec_run::<tokio::io::DuplexStream>(ticket, None).await });
        let mut resp = StatusCode::OK.into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return Ok(resp);
    }
    let tty = ticket.tty;
    if let Some(on_upgrade) = on_upgrade {
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(up) => {
                    engine
                        .exec_run(ticket, Some(hyper_util::rt::TokioIo::new(up)))
                        .await
                }
                Err(e) => tracing::debug!(error = %e, "exec start: upgrade failed"),
            }
        });
        let mut resp = StatusCode::SWITCHING_PROTOCOLS.into_response();
        let h = resp.headers_mut();
        h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(hijack::stream_content_type(tty)),
        );
        return Ok(resp);
    }
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move { engine.exec_run(ticket, Some(ours)).await });
    let mut resp = Body::from_stream(tokio_util::io::ReaderStream::new(theirs)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(hijack::stream_content_type(tty)),
    );
    Ok(resp)
}

/// `GET /exec/{id}/json`.
pub async fn exec_inspect(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    Ok(Json(engine.exec_inspect(&id)?))
}

/// `POST /exec/{id}/resize`.
pub async fn exec_resize(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<StatusCode, Error> {
    let (h, w) = resize_dims(&q)?;
    engine.exec_resize(&id, h, w).await?;
    Ok(StatusCode::OK)
}

/// `POST /containers/{id}/restart?t=&signal=`.
pub async fn restart(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<StatusCode, Error> {
    let t = q.get("t").and_then(|t| t.parse::<i64>().ok());
    engine.restart_container(&id, t, q.get("signal")).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /containers/{id}/rename?name=`.
pub async fn rename(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<StatusCode, Error> {
    engine.rename_container(&id, q.get("name").unwrap_or(""))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /containers/prune?filters=`.
pub async fn prune(State(engine): State<Arc<Engine>>, q: QueryPairs) -> Result<Json<Value>, Error> {
    let filters = parse_filter_json(q.get("filters").unwrap_or(""))?;
    let (deleted, reclaimed) = engine.prune_containers(&filters).await?;
    Ok(Json(json!({
        "ContainersDeleted": if deleted.is_empty() { Value::Null } else { json!(deleted) },
        "SpaceReclaimed": reclaimed,
    })))
}
