//! The userland proxy: a listener on the host for each published port that forwards to the
//! container. The DNAT rules serve traffic arriving from outside; traffic the host sends to
//! its own loopback never passes those hooks, so this is what makes `curl
//! 127.0.0.1:HOSTPORT` work. Holding the listening socket is also what reserves the port.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

use crate::error::{NetError, Result};
use crate::ports::{HostPorts, Proto};

/// How long a UDP flow without traffic keeps its upstream socket.
const UDP_IDLE: Duration = Duration::from_secs(60);

/// A running proxy; dropping it closes the port.
#[derive(Debug)]
pub struct ProxyHandle {
    task: JoinHandle<()>,
}

impl Drop for ProxyHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

enum Bound {
    Tcp(TcpListener),
    Udp(UdpSocket),
}

fn in_use(ip: Ipv4Addr, port: u16) -> NetError {
    NetError::InUse(format!(
        "Bind for {ip}:{port} failed: port is already allocated"
    ))
}

async fn bind(proto: Proto, ip: Ipv4Addr, port: u16) -> std::io::Result<(Bound, u16)> {
    let addr = SocketAddr::V4(SocketAddrV4::new(ip, port));
    match proto {
        Proto::Udp => {
            let s = UdpSocket::bind(addr).await?;
            let p = s.local_addr()?.port();
            Ok((Bound::Udp(s), p))
        }
        _ => {
            let s = tokio::net::TcpSocket::new_v4()?;
            s.set_reuseaddr(true)?;
            s.bind(addr)?;
            let l = s.listen(1024)?;
            let p = l.local_addr()?.port();
            Ok((Bound::Tcp(l), p))
        }
    }
}

/// Binds a host port from `ports` (the first free one of a range; any when unspecified)
/// and forwards what arrives to `target`. Returns the port taken.
pub async fn publish(
    proto: Proto,
    host_ip: Ipv4Addr,
    ports: HostPorts,
    target: SocketAddrV4,
) -> Result<(u16, ProxyHandle)> {
    if proto == Proto::Sctp {
        return Err(NetError::Invalid(
            "publishing sctp ports is not supported by berth".into(),
        ));
    }
    let candidates: Vec<u16> = if ports.is_any() {
        vec![0]
    } else {
        (ports.first..=ports.last).collect()
    };
    let mut last_err = None;
    for p in candidates {
        match bind(proto, host_ip, p).await {
            Ok((b, port)) => {
                let task = match b {
                    Bound::Tcp(l) => tokio::spawn(serve_tcp(l, target)),
                    Bound::Udp(s) => tokio::spawn(serve_udp(Arc::new(s), target)),
                };
                return Ok((port, ProxyHandle { task }));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                last_err = Some(in_use(host_ip, p));
            }
            Err(e) => {
                return Err(NetError::InUse(format!(
                    "Bind for {host_ip}:{p} failed: {e}"
                )))
            }
        }
    }
    Err(last_err.unwrap_or_else(|| in_use(host_ip, ports.first)))
}

async fn serve_tcp(l: TcpListener, target: SocketAddrV4) {
    loop {
        let Ok((mut client, _)) = l.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        tokio::spawn(async move {
            let Ok(Ok(mut upstream)) =
                tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(target)).await
            else {
                return;
            };
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        });
    }
}

async fn serve_udp(s: Arc<UdpSocket>, target: SocketAddrV4) {
    let flows: Arc<tokio::sync::Mutex<HashMap<SocketAddr, Arc<UdpSocket>>>> = Arc::default();
    let mut buf = vec![0u8; 65536];
    loop {
        let Ok((n, from)) = s.recv_from(&mut buf).await else {
            continue;
        };
        let mut map = flows.lock().await;
        let up = match map.get(&from) {
            Some(u) => u.clone(),
            None => {
                let Ok(u) = UdpSocket::bind("0.0.0.0:0").await else {
                    continue;
                };
                if u.connect(target).await.is_err() {
                    continue;
                }
                let u = Arc::new(u);
                map.insert(from, u.clone());
                let (u2, s2, flows2) = (u.clone(), s.clone(), flows.clone());
                tokio::spawn(async move {
                    let mut b = vec![0u8; 65536];
                    while let Ok(Ok(n)) = tokio::time::timeout(UDP_IDLE, u2.recv(&mut b)).await {
                        let _ = s2.send_to(&b[..n], from).await;
                    }
                    flows2.lock().await.remove(&from);
                });
                u
            }
        };
        drop(map);
        let _ = up.send(&buf[..n]).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn forwards_tcp_and_udp_and_reports_conflicts() {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let SocketAddr::V4(echo_addr) = echo.local_addr().unwrap() else {
            panic!()
        };
        tokio::spawn(async move {
            let (mut c, _) = echo.accept().await.unwrap();
            let mut b = [0u8; 5];
            c.read_exact(&mut b).await.unwrap();
            c.write_all(&b).await.unwrap();
        });
        let (port, h) = publish(Proto::Tcp, Ipv4Addr::LOCALHOST, HostPorts::ANY, echo_addr)
            .await
            .unwrap();
        let mut c = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        c.write_all(b"hello").await.unwrap();
        let mut b = [0u8; 5];
        c.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"hello");
        let again = publish(
            Proto::Tcp,
            Ipv4Addr::LOCALHOST,
            HostPorts {
                first: port,
                last: port,
            },
            echo_addr,
        )
        .await;
        assert!(
            matches!(again, Err(NetError::InUse(m)) if m.contains("port is already allocated"))
        );
        drop(h);

        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let SocketAddr::V4(server_addr) = server.local_addr().unwrap() else {
            panic!()
        };
        tokio::spawn(async move {
            let mut b = [0u8; 64];
            let (n, from) = server.recv_from(&mut b).await.unwrap();
            server.send_to(&b[..n], from).await.unwrap();
        });
        let (uport, _h) = publish(Proto::Udp, Ipv4Addr::LOCALHOST, HostPorts::ANY, server_addr)
            .await
            .unwrap();
        let c = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        c.send_to(b"ping", ("127.0.0.1", uport)).await.unwrap();
        let mut b = [0u8; 16];
        let (n, _) = tokio::time::timeout(Duration::from_secs(5), c.recv_from(&mut b))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&b[..n], b"ping");
    }
}
