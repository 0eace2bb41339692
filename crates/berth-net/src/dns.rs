//! The embedded DNS server for user-defined networks (Docker's `127.0.0.11`): a UDP socket
//! bound inside the container's namespace (made on a thread that entered it, then handed to
//! tokio), answering A queries for the names the daemon's resolver knows (container names,
//! aliases, short IDs on the same networks) and relaying every other query, unchanged, to
//! the host's resolvers from the daemon's own namespace.
//!
//! The wire handling is the small part of RFC 1035 this needs: the header, the first
//! question, and A answers with a name pointer; everything else is forwarded as bytes.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use crate::error::{NetError, Result};
use crate::netns;

/// Docker's address for the embedded server.
pub const EMBEDDED_DNS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 11);
/// Answers' time to live: Docker uses 600 s.
const TTL: u32 = 600;
const QTYPE_A: u16 = 1;
#[cfg(test)]
const QTYPE_AAAA: u16 = 28;

/// Looks a name up (lowercase, without the trailing dot): `None` when the name is not the
/// network's (forward it), `Some(addresses)` when it is.
pub type Lookup = Arc<dyn Fn(&str) -> Option<Vec<Ipv4Addr>> + Send + Sync>;

/// A running server; dropping it stops it and closes its socket.
#[derive(Debug)]
pub struct DnsHandle {
    task: JoinHandle<()>,
}

impl Drop for DnsHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a server on `127.0.0.11:53` inside the namespace `ns`.
pub async fn serve(ns: &Path, lookup: Lookup, upstreams: Vec<SocketAddr>) -> Result<DnsHandle> {
    let std_sock = netns::run_in(Some(ns.to_path_buf()), || {
        let s = std::net::UdpSocket::bind((EMBEDDED_DNS, 53))
            .map_err(|e| NetError::Internal(format!("cannot bind the embedded DNS server: {e}")))?;
        s.set_nonblocking(true)
            .map_err(|e| NetError::Internal(e.to_string()))?;
        Ok(s)
    })
    .await?;
    let sock =
        Arc::new(UdpSocket::from_std(std_sock).map_err(|e| NetError::Internal(e.to_string()))?);
    let upstreams = Arc::new(upstreams);
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, from)) = sock.recv_from(&mut buf).await else {
                continue;
            };
            let query = buf[..n].to_vec();
            let (sock, lookup, upstreams) = (sock.clone(), lookup.clone(), upstreams.clone());
            tokio::spawn(async move {
                if let Some(reply) = answer(&query, &lookup, &upstreams).await {
                    let _ = sock.send_to(&reply, from).await;
                }
            });
        }
    });
    Ok(DnsHandle { task })
}

async fn answer(query: &[u8], lookup: &Lookup, upstreams: &[SocketAddr]) -> Option<Vec<u8>> {
    let q = parse_question(query)?;
    if let Some(ips) = lookup(&q.name) {
        return Some(match q.qtype {
            QTYPE_A => reply(query, &q, &ips, 0),
            // Known name, no IPv6 address: an empty NOERROR answer.
            _ => reply(query, &q, &[], 0),
        });
    }
    for up in upstreams {
        if let Some(r) = forward(query, *up).await {
            return Some(r);
        }
    }
    // SERVFAIL
    Some(reply(query, &q, &[], 2))
}

async fn forward(query: &[u8], up: SocketAddr) -> Option<Vec<u8>> {
    let bind: SocketAddr = if up.is_ipv4() {
        "0.0.0.0:0".parse().ok()?
    } else {
        "[::]:0".parse().ok()?
    };
    let s = UdpSocket::bind(bind).await.ok()?;
    s.send_to(query, up).await.ok()?;
    let mut buf = vec![0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let (n, from) = tokio::time::timeout_at(deadline, s.recv_from(&mut buf))
            .await
            .ok()?
            .ok()?;
        if from == up && n >= 2 && buf[..2] == query[..2] {
            return Some(buf[..n].to_vec());
        }
    }
}

/// The first question of a query.
#[derive(Debug, PartialEq, Eq)]
pub struct Question {
    /// Lowercase, without the trailing dot.
    pub name: String,
    pub qtype: u16,
    /// Offset just past the question (where answers go).
    end: usize,
}

/// Parses the header and first question; None for anything that is not a plain query.
pub fn parse_question(msg: &[u8]) -> Option<Question> {
    if msg.len() < 12 || msg[2] & 0x80 != 0 {
        return None;
    }
    let qdcount = u16::from_be_bytes([msg[4], msg[5]]);
    if qdcount == 0 {
        return None;
    }
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let len = *msg.get(i)? as usize;
        i += 1;
        if len == 0 {
            break;
        }
        if len & 0xC0 != 0 {
            return None;
        }
        let label = msg.get(i..i + len)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        i += len;
    }
    let qtype = u16::from_be_bytes([*msg.get(i)?, *msg.get(i + 1)?]);
    Some(Question {
        name: labels.join("."),
        qtype,
        end: i + 4,
    })
}

/// A response to `query` (first question only) with `ips` as A answers and `rcode`.
fn reply(query: &[u8], q: &Question, ips: &[Ipv4Addr], rcode: u8) -> Vec<u8> {
    let mut r = query[..q.end.min(query.len())].to_vec();
    // QR=1, keep opcode and RD; RA=1; rcode.
    r[2] = 0x80 | (query[2] & 0x79);
    r[3] = 0x80 | (rcode & 0x0F);
    r[4..6].copy_from_slice(&1u16.to_be_bytes());
    r[6..8].copy_from_slice(&(ips.len() as u16).to_be_bytes());
    r[8..12].fill(0);
    for ip in ips {
        r.extend_from_slice(&[0xC0, 0x0C]); // name: pointer to the question
        r.extend_from_slice(&QTYPE_A.to_be_bytes());
        r.extend_from_slice(&1u16.to_be_bytes()); // IN
        r.extend_from_slice(&TTL.to_be_bytes());
        r.extend_from_slice(&4u16.to_be_bytes());
        r.extend_from_slice(&ip.octets());
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in name.split('.') {
            q.push(l.len() as u8);
            q.extend_from_slice(l.as_bytes());
        }
        q.push(0);
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&1u16.to_be_bytes());
        q
    }

    #[test]
    fn parses_and_answers() {
        let q = query("Web.Example", QTYPE_A);
        let parsed = parse_question(&q).unwrap();
        assert_eq!(parsed.name, "web.example");
        assert_eq!(parsed.qtype, QTYPE_A);
        let r = reply(&q, &parsed, &[Ipv4Addr::new(172, 30, 0, 2)], 0);
        assert_eq!(&r[..2], &[0x12, 0x34]);
        assert_eq!(r[2] & 0x80, 0x80, "a response");
        assert_eq!(r[3] & 0x0F, 0, "NOERROR");
        assert_eq!(u16::from_be_bytes([r[6], r[7]]), 1, "one answer");
        assert_eq!(&r[r.len() - 4..], &[172, 30, 0, 2]);
        assert!(parse_question(&r).is_none(), "responses are not queries");
        assert!(parse_question(&q[..5]).is_none());
    }

    #[tokio::test]
    async fn known_names_unknown_names_and_aaaa() {
        let lookup: Lookup =
            Arc::new(|n: &str| (n == "db").then(|| vec![Ipv4Addr::new(10, 0, 0, 9)]));
        let r = answer(&query("db", QTYPE_A), &lookup, &[]).await.unwrap();
        assert_eq!(&r[r.len() - 4..], &[10, 0, 0, 9]);
        let r = answer(&query("db", QTYPE_AAAA), &lookup, &[])
            .await
            .unwrap();
        assert_eq!((r[3] & 0x0F, r[7]), (0, 0), "NOERROR, no answers");
        // Unknown, no upstream: SERVFAIL.
        let r = answer(&query("other.test", QTYPE_A), &lookup, &[])
            .await
            .unwrap();
        assert_eq!(r[3] & 0x0F, 2);
        // Unknown, forwarded to an upstream on loopback that answers.
        let up = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let up_addr = up.local_addr().unwrap();
        tokio::spawn(async move {
            let mut b = [0u8; 512];
            let (n, from) = up.recv_from(&mut b).await.unwrap();
            let q = parse_question(&b[..n]).unwrap();
            let r = reply(&b[..n], &q, &[Ipv4Addr::new(127, 0, 0, 7)], 0);
            up.send_to(&r, from).await.unwrap();
        });
        let r = answer(&query("other.test", QTYPE_A), &lookup, &[up_addr])
            .await
            .unwrap();
        assert_eq!(&r[r.len() - 4..], &[127, 0, 0, 7]);
    }
}
