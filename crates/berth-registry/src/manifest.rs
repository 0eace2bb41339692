//! Manifests as registries serve them: Docker schema 2 and OCI image manifests, Docker
//! manifest lists and OCI indexes (with platform selection), and the schema 2 manifest
//! berth writes when pushing.

use berth_image::mediatypes;
use serde::{Deserialize, Serialize};

use crate::RegistryError;

/// The media types a pull accepts, most preferred first.
pub const ACCEPT: [&str; 4] = [
    mediatypes::DOCKER_MANIFEST,
    mediatypes::DOCKER_MANIFEST_LIST,
    mediatypes::OCI_MANIFEST,
    mediatypes::OCI_INDEX,
];

/// Largest manifest accepted (dockerd's limit).
pub const MAX_MANIFEST_SIZE: usize = 4 << 20;

/// A manifest as fetched: its exact bytes, media type and digest (sha256 of the bytes).
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    pub bytes: Vec<u8>,
    pub media_type: String,
    pub digest: String,
}

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformSpec>,
}

/// A platform as index entries and `--platform` give it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformSpec {
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl PlatformSpec {
    /// `os[/arch[/variant]]`; the architecture defaults to this machine's.
    pub fn parse(s: &str) -> Result<PlatformSpec, RegistryError> {
        let lower = s.trim().to_lowercase();
        let parts: Vec<&str> = lower.split('/').collect();
        if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
            return Err(RegistryError::InvalidPlatform(s.to_string()));
        }
        let host = PlatformSpec::host();
        let (architecture, mut variant) = match parts.get(1) {
            Some(a) => normalize_arch(a),
            None => (host.architecture.clone(), host.variant.clone()),
        };
        if let Some(v) = parts.get(2) {
            variant = Some((*v).to_string());
        }
        Ok(PlatformSpec {
            os: parts[0].to_string(),
            architecture,
            variant,
        })
    }

    /// This machine's platform in Go's names (`linux/amd64`, `linux/arm64`).
    pub fn host() -> PlatformSpec {
        let (architecture, variant) = normalize_arch(std::env::consts::ARCH);
        PlatformSpec {
            os: "linux".to_string(),
            architecture,
            variant,
        }
    }

    fn matches(&self, other: &PlatformSpec) -> bool {
        let (arch, variant) = normalize_arch(&other.architecture);
        let variant = other.variant.clone().or(variant);
        self.os == other.os
            && self.architecture == arch
            && match (&self.variant, &variant) {
                (Some(want), Some(got)) => want == got,
                _ => true,
            }
    }
}

impl std::fmt::Display for PlatformSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// Rust's/uname's architecture names → Go's, with the default variant.
fn normalize_arch(a: &str) -> (String, Option<String>) {
    match a {
        "x86_64" | "x86-64" | "amd64" => ("amd64".into(), None),
        "aarch64" | "arm64" => ("arm64".into(), None),
        "i386" | "i686" | "x86" | "386" => ("386".into(), None),
        "armhf" | "armv7l" | "arm" => ("arm".into(), Some("v7".into())),
        "armel" | "armv6l" => ("arm".into(), Some("v6".into())),
        "powerpc64le" | "ppc64le" => ("ppc64le".into(), None),
        "riscv64" => ("riscv64".into(), None),
        "s390x" => ("s390x".into(), None),
        other => (other.to_string(), None),
    }
}

/// A single-image manifest (Docker schema 2 or OCI).
#[derive(Debug, Clone, Deserialize)]
pub struct ImageManifest {
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
}

/// A multi-platform index (Docker manifest list or OCI index).
#[derive(Debug, Clone, Deserialize)]
pub struct Index {
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

/// A manifest, parsed by kind.
#[derive(Debug, Clone)]
pub enum Manifest {
    Image(ImageManifest),
    Index(Index),
}

impl FetchedManifest {
    /// Parses the manifest by its media type (from the response, else its `mediaType`).
    pub fn parse(&self) -> Result<Manifest, RegistryError> {
        let invalid = |e: serde_json::Error| {
            RegistryError::InvalidManifest(format!("manifest {} is invalid: {e}", self.digest))
        };
        match self.media_type.as_str() {
            t if mediatypes::is_manifest(t) => {
                let m: ImageManifest = serde_json::from_slice(&self.bytes).map_err(invalid)?;
                Ok(Manifest::Image(m))
            }
            t if mediatypes::is_index(t) => Ok(Manifest::Index(
                serde_json::from_slice(&self.bytes).map_err(invalid)?,
            )),
            t if t.contains("manifest.v1") => Err(RegistryError::InvalidManifest(format!(
                "the registry serves {} as a schema 1 manifest ({t}), which berth does not pull: push the image again with a current client",
                self.digest
            ))),
            t => Err(RegistryError::InvalidManifest(format!(
                "unsupported manifest media type {t:?} for {}",
                self.digest
            ))),
        }
    }
}

/// The media type a manifest declares inside (for registries that send no Content-Type).
pub fn declared_media_type(bytes: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "mediaType", default)]
        media_type: String,
        #[serde(default)]
        manifests: Option<serde_json::Value>,
        #[serde(default)]
        config: Option<serde_json::Value>,
    }
    let p: Probe = serde_json::from_slice(bytes).ok()?;
    if !p.media_type.is_empty() {
        return Some(p.media_type);
    }
    // OCI allows leaving mediaType out; the shape tells.
    match (p.manifests, p.config) {
        (Some(_), _) => Some(mediatypes::OCI_INDEX.to_string()),
        (_, Some(_)) => Some(mediatypes::OCI_MANIFEST.to_string()),
        _ => None,
    }
}

impl Index {
    /// The entry for `want`; an exact variant match beats an entry without variant.
    pub fn select(&self, want: &PlatformSpec) -> Result<&Descriptor, RegistryError> {
        let candidates: Vec<&Descriptor> = self
            .manifests
            .iter()
            .filter(|d| mediatypes::is_manifest(&d.media_type) || d.media_type.is_empty())
            .filter(|d| d.platform.as_ref().is_some_and(|p| want.matches(p)))
            .collect();
        candidates
            .iter()
            .find(|d| d.platform.as_ref().and_then(|p| p.variant.as_ref()) == want.variant.as_ref())
            .or(candidates.first())
            .copied()
            .ok_or_else(|| RegistryError::NoMatchingPlatform(want.to_string()))
    }
}

/// The Docker schema 2 manifest for a config and its layers: what berth pushes.
pub fn docker_manifest(config: &Descriptor, layers: &[Descriptor]) -> Vec<u8> {
    #[derive(Serialize)]
    struct Schema2<'a> {
        #[serde(rename = "schemaVersion")]
        schema_version: u32,
        #[serde(rename = "mediaType")]
        media_type: &'a str,
        config: &'a Descriptor,
        layers: &'a [Descriptor],
    }
    serde_json::to_vec_pretty(&Schema2 {
        schema_version: 2,
        media_type: mediatypes::DOCKER_MANIFEST,
        config,
        layers,
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(arch: &str, variant: Option<&str>, digest: &str) -> Descriptor {
        Descriptor {
            media_type: mediatypes::OCI_MANIFEST.into(),
            digest: digest.into(),
            size: 1,
            urls: vec![],
            platform: Some(PlatformSpec {
                os: "linux".into(),
                architecture: arch.into(),
                variant: variant.map(Into::into),
            }),
        }
    }

    #[test]
    fn selects_platforms() {
        let index = Index {
            manifests: vec![
                entry("arm", Some("v6"), "a6"),
                entry("arm", Some("v7"), "a7"),
                entry("arm64", Some("v8"), "a64"),
                entry("amd64", None, "x64"),
            ],
        };
        let pick = |p: &str| {
            index
                .select(&PlatformSpec::parse(p).unwrap())
                .map(|d| d.digest.clone())
        };
        assert_eq!(pick("linux/amd64").unwrap(), "x64");
        assert_eq!(pick("linux/arm").unwrap(), "a7");
        assert_eq!(pick("linux/arm/v6").unwrap(), "a6");
        assert_eq!(pick("linux/arm64").unwrap(), "a64");
        assert_eq!(
            pick("linux/s390x").unwrap_err().to_string(),
            "no matching manifest for linux/s390x in the manifest list entries"
        );
        assert!(PlatformSpec::parse("linux//x").is_err());
        assert_eq!(
            PlatformSpec::parse("Linux/AMD64").unwrap().to_string(),
            "linux/amd64"
        );
    }

    #[test]
    fn parses_by_media_type() {
        let m = br#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:1","size":2},"layers":[]}"#;
        assert_eq!(declared_media_type(m).unwrap(), mediatypes::OCI_MANIFEST);
        let f = FetchedManifest {
            bytes: m.to_vec(),
            media_type: mediatypes::DOCKER_MANIFEST.into(),
            digest: "sha256:x".into(),
        };
        assert!(matches!(f.parse().unwrap(), Manifest::Image(_)));
        let f = FetchedManifest {
            media_type: "application/vnd.docker.distribution.manifest.v1+prettyjws".into(),
            ..f
        };
        assert!(f.parse().unwrap_err().to_string().contains("schema 1"));
        let out = docker_manifest(
            &Descriptor {
                media_type: mediatypes::DOCKER_CONFIG.into(),
                digest: "sha256:c".into(),
                size: 3,
                urls: vec![],
                platform: None,
            },
            &[],
        );
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["schemaVersion"], 2);
        assert_eq!(v["config"]["size"], 3);
    }
}
