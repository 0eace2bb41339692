//! The image store's consistency check, run at every start-up: after a crash (or a kill
//! during a load or a removal) the directories and the database can disagree. The
//! database is the source of truth; what it does not reference is garbage.
//!
//! - a layer record no image uses → its directory, blob and record go;
//! - a layer directory without a record → removed;
//! - a blob neither a layer record nor an image names → removed;
//! - an image whose config blob or layer directory is missing → reported (never guessed at).

use std::collections::HashSet;

use crate::{ContentStore, Db, LayerStore, StoreError};

/// What the check found and (unless it was a dry run) did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// One line per removal ("removed orphaned layer directory sha256:...").
    pub removed: Vec<String>,
    /// Damage the check cannot repair by itself.
    pub problems: Vec<String>,
}

/// Checks (and with `apply`, repairs) the image store.
pub fn check_images(
    db: &Db,
    content: &ContentStore,
    layers: &LayerStore,
    apply: bool,
) -> Result<CheckReport, StoreError> {
    let mut report = CheckReport::default();
    let verb = if apply { "removed" } else { "would remove" };
    let images = db.images()?;
    let used: HashSet<&String> = images.iter().flat_map(|i| &i.layers).collect();

    for layer in db.layers()? {
        if used.contains(&layer.chain_id) {
            continue;
        }
        report
            .removed
            .push(format!("{verb} unused layer {}", layer.chain_id));
        if apply {
            layers.delete(&layer.chain_id)?;
            db.delete_layer(&layer.chain_id)?;
        }
    }
    let records: Vec<_> = db.layers()?;
    let known: HashSet<&String> = records.iter().map(|l| &l.chain_id).collect();
    for chain in layers.list()? {
        if !known.contains(&chain) {
            report
                .removed
                .push(format!("{verb} orphaned layer directory {chain}"));
            if apply {
                layers.delete(&chain)?;
            }
        }
    }
    let mut blobs: HashSet<String> = records.iter().map(|l| l.blob_digest.clone()).collect();
    blobs.extend(images.iter().map(|i| i.id.clone()));
    for digest in content.list()? {
        if !blobs.contains(&digest) {
            report
                .removed
                .push(format!("{verb} orphaned blob {digest}"));
            if apply {
                content.delete(&digest)?;
            }
        }
    }
    for img in &images {
        if !content.exists(&img.id) {
            report
                .problems
                .push(format!("image {}: its config blob is missing", img.id));
        }
        for chain in &img.layers {
            if !layers.exists(chain) {
                report.problems.push(format!(
                    "image {}: layer {chain} is missing on disk",
                    img.id
                ));
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ImageRecord, LayerRecord};

    fn digest(n: u32) -> String {
        format!("sha256:{n:064x}")
    }

    #[test]
    fn garbage_goes_and_damage_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let db = Db::open(&root.join("berth.db")).unwrap();
        let content = ContentStore::open(root).unwrap();
        let layers = LayerStore::open(root).unwrap();

        // A healthy image: config blob, layer dir + blob, records.
        let (config_id, _) = content.write(&mut &b"{}"[..], None).unwrap();
        let (blob, _) = content.write(&mut &b"layer"[..], None).unwrap();
        let used = digest(1);
        std::fs::create_dir(layers.path(&used).unwrap()).unwrap();
        let rec = |chain: &str| LayerRecord {
            chain_id: chain.to_string(),
            diff_id: chain.to_string(),
            parent: None,
            blob_digest: blob.clone(),
            media_type: "t".into(),
            blob_size: 5,
            size: 5,
        };
        db.insert_layer(&rec(&used)).unwrap();
        db.insert_image(&ImageRecord {
            id: config_id.clone(),
            created: 0,
            size: 5,
            added: 0,
            last_tag_time: None,
            layers: vec![used.clone()],
        })
        .unwrap();
        // Garbage a crash could leave: an unused layer record, a stray directory, a stray blob.
        let unused = digest(2);
        std::fs::create_dir(layers.path(&unused).unwrap()).unwrap();
        db.insert_layer(&rec(&unused)).unwrap();
        let stray_dir = digest(3);
        std::fs::create_dir(layers.path(&stray_dir).unwrap()).unwrap();
        let (stray_blob, _) = content.write(&mut &b"stray"[..], None).unwrap();

        let dry = check_images(&db, &content, &layers, false).unwrap();
        assert_eq!(dry.removed.len(), 3, "{dry:?}");
        assert!(dry.removed.iter().all(|l| l.starts_with("would remove")));
        assert!(
            layers.exists(&unused) && content.exists(&stray_blob),
            "a dry run changes nothing"
        );

        let done = check_images(&db, &content, &layers, true).unwrap();
        assert_eq!(done.removed.len(), 3, "{done:?}");
        assert!(done.problems.is_empty());
        assert!(!layers.exists(&unused) && !layers.exists(&stray_dir));
        assert!(!content.exists(&stray_blob));
        assert!(content.exists(&blob) && content.exists(&config_id) && layers.exists(&used));
        assert!(db.layer(&unused).unwrap().is_none());

        // Damage is reported, not repaired.
        std::fs::remove_dir(layers.path(&used).unwrap()).unwrap();
        let r = check_images(&db, &content, &layers, true).unwrap();
        assert_eq!(r.problems.len(), 1, "{r:?}");
        assert!(r.problems[0].contains("missing on disk"));
    }
}
