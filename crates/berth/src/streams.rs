//! The container's standard streams on the client side: docker's multiplexed stream format
//! (`stdcopy`), detach keys (`term.ToBytes` and the escape proxy) and a stdin reader that
//! never blocks the async runtime.
//!
//! Without a TTY the daemon frames output: an 8-byte header — stream (0 stdin, 1 stdout,
//! 2 stderr, 3 a daemon error), three zero bytes, a big-endian u32 length — then the
//! payload. With a TTY the bytes come raw.

use std::io::Read;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// Which stream a frame belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdin,
    Stdout,
    Stderr,
    /// A daemon-side error (`stdcopy.Systemerr`): its payload is the message.
    SystemErr,
}

/// Splits a multiplexed byte stream into frames as bytes arrive; frames may span reads.
#[derive(Debug, Default)]
pub struct Demuxer {
    buf: Vec<u8>,
}

impl Demuxer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes; returns the frames they completed.
    pub fn feed(&mut self, data: &[u8]) -> Result<Vec<(Stream, Vec<u8>)>, String> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        let mut at = 0;
        while self.buf.len() - at >= 8 {
            let h = &self.buf[at..at + 8];
            let stream = match h[0] {
                0 => Stream::Stdin,
                1 => Stream::Stdout,
                2 => Stream::Stderr,
                3 => Stream::SystemErr,
                b => return Err(format!("Unrecognized input header: {b}")),
            };
            let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
            if self.buf.len() - at - 8 < len {
                break;
            }
            out.push((stream, self.buf[at + 8..at + 8 + len].to_vec()));
            at += 8 + len;
        }
        self.buf.drain(..at);
        Ok(out)
    }

    /// Bytes of an unfinished frame left over.
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

/// Encodes one frame (for tests and fakes).
#[cfg(test)]
pub fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![stream, 0, 0, 0];
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Copies the daemon's output to `out`/`err` until it ends: raw with a TTY, demultiplexed
/// without. A daemon error frame ends the copy with its message.
pub async fn copy_output<R, O, E>(
    mut src: R,
    tty: bool,
    out: &mut O,
    err: &mut E,
) -> anyhow::Result<()>
where
    R: AsyncRead + Unpin,
    O: AsyncWrite + Unpin,
    E: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 32 * 1024];
    let mut demux = Demuxer::new();
    // Buffered, flushed once per read (and when the stream switches, to keep stdout and
    // stderr in order): a flush per frame made `logs` of 1M lines take 45 s.
    let mut out = tokio::io::BufWriter::with_capacity(64 * 1024, out);
    let mut err = tokio::io::BufWriter::with_capacity(64 * 1024, err);
    loop {
        let n = match src.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if berth_client::is_disconnect(&e) => break,
            Err(e) => return Err(e.into()),
        };
        if tty {
            out.write_all(&buf[..n]).await?;
            out.flush().await?;
            continue;
        }
        let mut last: Option<bool> = None; // Some(true): stdout was written last
        for (stream, payload) in demux.feed(&buf[..n]).map_err(anyhow::Error::msg)? {
            match stream {
                Stream::Stdout | Stream::Stdin => {
                    if last == Some(false) {
                        err.flush().await?;
                    }
                    out.write_all(&payload).await?;
                    last = Some(true);
                }
                Stream::Stderr => {
                    if last == Some(true) {
                        out.flush().await?;
                    }
                    err.write_all(&payload).await?;
                    last = Some(false);
                }
                Stream::SystemErr => {
                    out.flush().await?;
                    err.flush().await?;
                    anyhow::bail!(
                        "error from daemon in stream: {}",
                        String::from_utf8_lossy(&payload)
                    )
                }
            }
        }
        out.flush().await?;
        err.flush().await?;
    }
    out.flush().await?;
    err.flush().await?;
    Ok(())
}

pub use berth_api::detach::{parse_detach_keys, DetachMatcher, DEFAULT_DETACH_KEYS};

/// Reads our stdin on a plain thread (a blocking read must not hold up the runtime, nor
/// its shutdown) and hands the chunks over a channel; the channel closes at EOF.
pub fn stdin_chunks() -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demuxes_frames_across_reads() {
        let mut all = frame(1, b"hello ");
        all.extend(frame(2, b"oops\n"));
        all.extend(frame(1, b""));
        all.extend(frame(1, b"world\n"));
        // Feed one byte at a time: frames come out whole, in order.
        let mut d = Demuxer::new();
        let mut got = Vec::new();
        for b in &all {
            got.extend(d.feed(std::slice::from_ref(b)).unwrap());
        }
        assert_eq!(
            got,
            vec![
                (Stream::Stdout, b"hello ".to_vec()),
                (Stream::Stderr, b"oops\n".to_vec()),
                (Stream::Stdout, vec![]),
                (Stream::Stdout, b"world\n".to_vec()),
            ]
        );
        assert_eq!(d.pending(), 0);
        assert!(Demuxer::new().feed(&[9, 0, 0, 0, 0, 0, 0, 0]).is_err());
        let mut d = Demuxer::new();
        assert!(d.feed(&frame(1, b"abc")[..9]).unwrap().is_empty());
        assert_eq!(d.pending(), 9);
    }

    #[tokio::test]
    async fn copies_demuxed_or_raw() {
        let mut src = frame(1, b"out1\n");
        src.extend(frame(2, b"err1\n"));
        src.extend(frame(1, b"out2\n"));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        copy_output(&src[..], false, &mut out, &mut err)
            .await
            .unwrap();
        assert_eq!(out, b"out1\nout2\n");
        assert_eq!(err, b"err1\n");

        let (mut out, mut err) = (Vec::new(), Vec::new());
        copy_output(&src[..], true, &mut out, &mut err)
            .await
            .unwrap();
        assert_eq!(out, src, "a TTY stream is copied untouched");
        assert!(err.is_empty());

        let bad = frame(3, b"boom");
        let e = copy_output(&bad[..], false, &mut Vec::new(), &mut Vec::new())
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "error from daemon in stream: boom");
    }
}
