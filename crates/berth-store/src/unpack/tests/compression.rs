//! `decompress` sniffing, and unpacking through it.

use std::io::{Read, Write};

use super::{sha256, Sandbox, TarBuf};
use crate::unpack::{decompress, unpack_layer, Compression};

fn layer() -> Vec<u8> {
    TarBuf::new()
        .dir("etc/")
        .file("etc/hostname", "berth\n")
        .file("big", &"0123456789".repeat(100_000))
        .finish()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Decompresses `blob`, checks the sniffed compression and the bytes, then unpacks it and
/// checks the diff ID is the uncompressed tar's.
fn check(blob: Vec<u8>, want: Compression, tar: &[u8]) {
    let (found, mut reader) = decompress(std::io::Cursor::new(blob.clone())).unwrap();
    assert_eq!(found, want);
    let mut out = Vec::new();
    reader.read_to_end(&mut out).unwrap();
    assert!(out == tar, "decompressed bytes differ");

    let sb = Sandbox::new();
    let (_, reader) = decompress(std::io::Cursor::new(blob)).unwrap();
    let stats = unpack_layer(reader, &sb.dest).unwrap();
    assert_eq!(stats.diff_id, sha256(tar));
    assert_eq!(
        std::fs::read_to_string(sb.dest.join("etc/hostname")).unwrap(),
        "berth\n"
    );
}

#[test]
fn gzip_layers() {
    let tar = layer();
    check(gzip(&tar), Compression::Gzip, &tar);
}

#[test]
fn multi_member_gzip_layers() {
    let tar = layer();
    let (head, tail) = tar.split_at(tar.len() / 3);
    check([gzip(head), gzip(tail)].concat(), Compression::Gzip, &tar);
}

#[test]
fn zstd_layers() {
    let tar = layer();
    check(
        zstd::encode_all(&tar[..], 3).unwrap(),
        Compression::Zstd,
        &tar,
    );
}

#[test]
fn plain_layers() {
    let tar = layer();
    check(tar.clone(), Compression::None, &tar);
}

#[test]
fn short_inputs_pass_through() {
    for input in [&b""[..], b"a", b"\x1f", b"\x28\xb5\x2f"] {
        let (found, mut reader) = decompress(std::io::Cursor::new(input.to_vec())).unwrap();
        assert_eq!(found, Compression::None);
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, input);
    }
}
