//! berth-bench: a bounded HTTP/1.1 load generator for a Docker API unix socket.
//!
//! `berth-bench rps SOCKET PATH REQUESTS CONNECTIONS` sends exactly REQUESTS GETs for PATH
//! over CONNECTIONS keep-alive connections (single-threaded runtime, so it uses one core)
//! and prints the requests per second. Every response must be 200, or it fails.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 6 || args[1] != "rps" {
        bail!("usage: berth-bench rps SOCKET PATH REQUESTS CONNECTIONS");
    }
    let (socket, path) = (args[2].clone(), args[3].clone());
    let requests: usize = args[4].parse().context("REQUESTS")?;
    let connections: usize = args[5].parse().context("CONNECTIONS")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let rps = rt.block_on(run(socket, path, requests, connections))?;
    println!("{rps:.0}");
    Ok(())
}

async fn run(socket: String, path: String, requests: usize, connections: usize) -> Result<f64> {
    let per_conn = requests / connections;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (socket, path) = (socket.clone(), path.clone());
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::UnixStream::connect(&socket).await?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            for _ in 0..per_conn {
                let req = hyper::Request::get(path.as_str())
                    .header("Host", "bench")
                    .body(Empty::<Bytes>::new())?;
                let resp = sender.send_request(req).await?;
                if resp.status() != 200 {
                    bail!("{path}: HTTP {}", resp.status());
                }
                resp.into_body().collect().await?;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok((per_conn * connections) as f64 / start.elapsed().as_secs_f64())
}
