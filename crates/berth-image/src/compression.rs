//! Layer compression: which one a blob uses, and a decoder for it.

use std::io::{self, Read};

use crate::mediatypes;

/// How a layer tar is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// Recognizes gzip and zstd by their magic bytes (the first 4 bytes of
    /// the blob); anything else is taken as uncompressed.
    pub fn detect(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// The compression a layer media type declares, or `None` when the
    /// media type is not a known layer type.
    pub fn from_media_type(media_type: &str) -> Option<Compression> {
        use mediatypes::*;
        match media_type {
            OCI_LAYER | OCI_LAYER_NONDISTRIBUTABLE | DOCKER_LAYER => Some(Compression::None),
            OCI_LAYER_GZIP
            | OCI_LAYER_NONDISTRIBUTABLE_GZIP
            | DOCKER_LAYER_GZIP
            | DOCKER_LAYER_FOREIGN => Some(Compression::Gzip),
            OCI_LAYER_ZSTD | OCI_LAYER_NONDISTRIBUTABLE_ZSTD => Some(Compression::Zstd),
            _ => None,
        }
    }

    /// Wraps `reader` so that reading yields the uncompressed tar.
    /// Concatenated gzip members (pigz output) are read as one stream.
    pub fn decoder<'a, R: Read + 'a>(self, reader: R) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Compression::None => Box::new(reader),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(reader)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn decode(c: Compression, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        c.decoder(data).unwrap().read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn detects_and_decodes() {
        let plain = b"hello layer".repeat(100);
        let gz = gzip(&plain);
        let zst = zstd::stream::encode_all(&plain[..], 3).unwrap();
        assert_eq!(Compression::detect(&gz), Compression::Gzip);
        assert_eq!(Compression::detect(&zst), Compression::Zstd);
        assert_eq!(Compression::detect(&plain), Compression::None);
        assert_eq!(Compression::detect(&[]), Compression::None);
        assert_eq!(decode(Compression::Gzip, &gz), plain);
        assert_eq!(decode(Compression::Zstd, &zst), plain);
        assert_eq!(decode(Compression::None, &plain), plain);
        // Two gzip members back to back.
        let mut two = gzip(b"ab");
        two.extend(gzip(b"cd"));
        assert_eq!(decode(Compression::Gzip, &two), b"abcd");
    }

    #[test]
    fn media_types() {
        use mediatypes::*;
        assert_eq!(
            Compression::from_media_type(OCI_LAYER),
            Some(Compression::None)
        );
        assert_eq!(
            Compression::from_media_type(DOCKER_LAYER_GZIP),
            Some(Compression::Gzip)
        );
        assert_eq!(
            Compression::from_media_type(OCI_LAYER_ZSTD),
            Some(Compression::Zstd)
        );
        assert_eq!(Compression::from_media_type(OCI_CONFIG), None);
        assert!(is_manifest(DOCKER_MANIFEST) && is_index(OCI_INDEX) && !is_index(OCI_MANIFEST));
    }
}
