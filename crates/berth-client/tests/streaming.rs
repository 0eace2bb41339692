//! The client against a tiny HTTP server on a unix socket: streamed uploads arrive whole and
//! chunked, streamed downloads arrive chunk by chunk, and the JSON helpers decode answers.

use std::convert::Infallible;
use std::path::Path;

use berth_client::{body_stream, reader_stream, Client, ClientError, Endpoint, Query};
use bytes::Bytes;
use futures_util::StreamExt;
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::UnixListener;

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let method = req.method().clone();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let (content_type, transfer_encoding) = (header("content-type"), header("transfer-encoding"));
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let json = |v: serde_json::Value| {
        Response::builder()
            .header("Content-Type", "application/json")
            .body(Full::new(Bytes::from(v.to_string())))
            .unwrap()
    };
    Ok(match path.as_str() {
        "/_ping" => Response::builder()
            .header("Api-Version", "1.41")
            .body(Full::new(Bytes::from_static(b"OK")))
            .unwrap(),
        "/v1.41/upload" => json(serde_json::json!({
            "method": method.as_str(),
            "len": body.len(),
            "sum": body.iter().map(|b| *b as u64).sum::<u64>(),
            "content_type": content_type,
            "transfer_encoding": transfer_encoding,
            "query": query,
        })),
        "/v1.41/echo" => json(serde_json::json!({
            "method": method.as_str(),
            "body": String::from_utf8_lossy(&body),
            "content_type": content_type,
        })),
        "/v1.41/empty" => Response::builder()
            .status(204)
            .body(Full::new(Bytes::new()))
            .unwrap(),
        "/v1.41/download" => Response::new(Full::new(Bytes::from(vec![7u8; 300_000]))),
        _ => Response::builder()
            .status(404)
            .header("Content-Type", "application/json")
            .body(Full::new(Bytes::from_static(
                br#"{"message":"No such image: nosuch:latest"}"#,
            )))
            .unwrap(),
    })
}

fn serve(sock: &Path) {
    let listener = UnixListener::bind(sock).unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), hyper::service::service_fn(handle))
                    .await;
            });
        }
    });
}

#[tokio::test]
async fn streams_bodies_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("d.sock");
    serve(&sock);
    let client = Client::new(Endpoint::parse(&format!("unix://{}", sock.display()), None).unwrap());

    // A 5 MB upload read from an AsyncRead: chunked, complete.
    let data: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
    let sum: u64 = data.iter().map(|b| *b as u64).sum();
    let path = Query::new().add("quiet", "1").with_path("/upload");
    let resp = client
        .request_reader(
            Method::POST,
            &path,
            std::io::Cursor::new(data),
            "application/x-tar",
        )
        .await
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&berth_client::read_body(resp).await.unwrap()).unwrap();
    assert_eq!(v["len"], 5_000_000);
    assert_eq!(v["sum"], sum);
    assert_eq!(v["content_type"], "application/x-tar");
    assert_eq!(v["transfer_encoding"], "chunked");
    assert_eq!(v["query"], "quiet=1");

    // A stream of chunks.
    let chunks = futures_util::stream::iter((0..10).map(|_| Ok(Bytes::from_static(b"abc"))));
    let resp = client
        .request_body(Method::POST, "/upload", chunks, "application/octet-stream")
        .await
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&berth_client::read_body(resp).await.unwrap()).unwrap();
    assert_eq!(v["len"], 30);

    // A failing source aborts the request with its error.
    let broken = futures_util::stream::iter(vec![
        Ok(Bytes::from_static(b"abc")),
        Err(std::io::Error::other("disk on fire")),
    ]);
    let err = client
        .request_body(Method::POST, "/upload", broken, "application/x-tar")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("disk on fire"), "{err}");

    // Downloads arrive as a stream of chunks.
    let resp = client
        .request(Method::GET, "/download", None)
        .await
        .unwrap();
    let mut body = body_stream(resp);
    let mut total = 0;
    while let Some(chunk) = body.next().await {
        total += chunk.unwrap().len();
    }
    assert_eq!(total, 300_000);

    // JSON helpers.
    let v: serde_json::Value = client
        .post_json("/echo", Some(&serde_json::json!({"a": 1})))
        .await
        .unwrap();
    assert_eq!(v["method"], "POST");
    assert_eq!(v["body"], r#"{"a":1}"#);
    assert_eq!(v["content_type"], "application/json");
    let v: serde_json::Value = client.delete_json("/echo").await.unwrap();
    assert_eq!(v["method"], "DELETE");
    let none: Option<Vec<String>> = client.delete_json("/empty").await.unwrap();
    assert_eq!(none, None);
    assert!(client.post("/empty").await.unwrap().is_empty());
    let err = client.delete("/nosuch").await.unwrap_err();
    assert!(matches!(err, ClientError::Api { status: 404, .. }));
    assert_eq!(
        err.to_string(),
        "Error response from daemon: No such image: nosuch:latest"
    );

    // reader_stream yields the reader's bytes.
    let got: Vec<u8> = reader_stream(std::io::Cursor::new(b"hello".to_vec()))
        .map(|c| c.unwrap().to_vec())
        .concat()
        .await;
    assert_eq!(got, b"hello");
}
