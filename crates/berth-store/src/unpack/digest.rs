//! SHA-256 over a stream as it passes by: the layer's diff ID.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

fn diff_id(hasher: Sha256) -> String {
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// Hashes every byte read through it.
pub(super) struct HashReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> HashReader<R> {
    pub(super) fn new(inner: R) -> Self {
        HashReader {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// `sha256:<hex>` of the bytes read so far.
    pub(super) fn finish(self) -> String {
        diff_id(self.hasher)
    }
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Hashes and counts every byte written through it.
pub(super) struct HashWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> HashWriter<W> {
    pub(super) fn new(inner: W) -> Self {
        HashWriter {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    /// Flushes the inner writer; returns `sha256:<hex>` and the count of the bytes written.
    pub(super) fn finish(mut self) -> io::Result<(String, u64)> {
        self.inner.flush()?;
        Ok((diff_id(self.hasher), self.written))
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
