//! `COPY`, `ADD` and `WORKDIR`'s directory: files written into an overlay of the stage's
//! image, whose upper directory becomes the step's layer.
//!
//! Sources are read as tars through [`ContainerRoot::archive`] — the context's, another
//! stage's or an image's filesystem — so every source path resolves inside its own root.
//! Their entries are renamed to the destination, given the `--chown` owner (root by
//! default) and `--chmod` mode, and written to one tar, which is hashed on the way (names,
//! types, modes, owners, link targets, contents; not times) for the cache key, then
//! extracted into the stage's overlay by the same in-root extractor as `docker cp`.
//! `ADD` also unpacks local tar archives (plain, gzip, zstd) into the destination.

use std::ffi::OsStr;
use std::io::{Read, Seek, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use berth_api::ApiError;
use berth_dockerfile::shell::{env_lookup, Expander};
use berth_dockerfile::{CopyArgs, Node};
use berth_store::archive::{ArchiveError, ContainerRoot};
use berth_store::overlay::OverlayDirs;
use berth_store::unpack::ExtractOptions;
use sha2::{Digest, Sha256};

use super::cache;
use super::commit::{pack_upper, StageState, StepCommit};
use super::context::walk;
use super::dispatch::{at, expand_word, Builder};
use super::stages::stage_index;

/// Go's `os.ModeDir` / `os.ModeSymlink` bits in a [`berth_store::archive::PathStat`] mode.
const GO_MODE_DIR: u32 = 1 << 31;

/// A stage's filesystem mounted for one step: the overlay and its scratch directories.
struct StepRoot {
    root: Option<ContainerRoot>,
    dir: tempfile::TempDir,
}

impl StepRoot {
    fn mount(b: &Builder<'_>, layers: Vec<std::path::PathBuf>) -> Result<StepRoot, ApiError> {
        let dir = b.ctx.temp_dir("step-")?;
        let mut lowers = layers;
        if lowers.is_empty() {
            let empty = dir.path().join("empty");
            std::fs::create_dir(&empty).map_err(|e| ApiError::internal(e.to_string()))?;
            lowers.push(empty);
        }
        let (upper, work) = (dir.path().join("upper"), dir.path().join("work"));
        for d in [&upper, &work] {
            std::fs::create_dir(d).map_err(|e| ApiError::internal(e.to_string()))?;
        }
        let root = ContainerRoot::mount(&OverlayDirs {
            lowers,
            upper,
            work,
        })
        .map_err(|e| {
            ApiError::internal(format!("cannot mount the build step's filesystem: {e}"))
        })?;
        Ok(StepRoot {
            root: Some(root),
            dir,
        })
    }

    fn root(&self) -> &ContainerRoot {
        self.root.as_ref().expect("mounted")
    }

    /// Unmounts and packs the upper directory as a layer.
    fn finish(mut self, b: &Builder<'_>) -> Result<Option<super::commit::PackedLayer>, ApiError> {
        drop(self.root.take());
        pack_upper(&b.engine, &self.dir.path().join("upper"), &[])
    }

    fn is_dir(&self, path: &str) -> bool {
        self.root()
            .stat(&format!("{}/", path.trim_end_matches('/')))
            .is_ok_and(|s| s.mode & GO_MODE_DIR != 0)
    }
}

/// The tar being written for a step, hashed as it is written.
struct StepTar {
    builder: tar::Builder<std::fs::File>,
    hash: Sha256,
    uid: u32,
    gid: u32,
    chmod: Option<u32>,
}

impl StepTar {
    fn new(file: std::fs::File, uid: u32, gid: u32, chmod: Option<u32>) -> Self {
        let mut builder = tar::Builder::new(file);
        builder.mode(tar::HeaderMode::Complete);
        builder.follow_symlinks(false);
        Self {
            builder,
            hash: Sha256::new(),
            uid,
            gid,
            chmod,
        }
    }

    fn hash_header(&mut self, path: &[u8], h: &tar::Header, link: &[u8]) {
        let kind = [h.entry_type().as_byte()];
        for part in [
            path,
            &kind[..],
            &h.mode().unwrap_or(0).to_le_bytes()[..],
            &h.uid().unwrap_or(0).to_le_bytes()[..],
            &h.gid().unwrap_or(0).to_le_bytes()[..],
            link,
            &h.size().unwrap_or(0).to_le_bytes()[..],
        ] {
            self.hash.update((part.len() as u64).to_le_bytes());
            self.hash.update(part);
        }
    }

    /// Adds an entry at `path` (relative to `/`) with `header`'s type, size and mode.
    fn add(
        &mut self,
        path: &[u8],
        mut header: tar::Header,
        link: Option<&[u8]>,
        data: &mut dyn Read,
        keep_owner: bool,
    ) -> Result<(), ApiError> {
        if !keep_owner {
            header.set_uid(self.uid as u64);
            header.set_gid(self.gid as u64);
            let _ = header.set_username("");
            let _ = header.set_groupname("");
        }
        let kind = header.entry_type();
        if let Some(m) = self.chmod {
            if !kind.is_symlink() && !kind.is_hard_link() {
                header.set_mode(m);
            }
        }
        let ioerr =
            |e: std::io::Error| ApiError::internal(format!("cannot write the step's files: {e}"));
        let p = Path::new(OsStr::from_bytes(path));
        match link {
            Some(target) => {
                self.hash_header(path, &header, target);
                header.set_size(0);
                self.builder
                    .append_link(&mut header, p, Path::new(OsStr::from_bytes(target)))
                    .map_err(ioerr)?;
            }
            None => {
                self.hash_header(path, &header, b"");
                let mut hashing = HashRead {
                    inner: data,
                    hash: &mut self.hash,
                };
                self.builder
                    .append_data(&mut header, p, &mut hashing)
                    .map_err(ioerr)?;
            }
        }
        Ok(())
    }

    fn dir(&mut self, path: &str) -> Result<(), ApiError> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        let chmod = self.chmod.take();
        let r = self.add(path.as_bytes(), h, None, &mut std::io::empty(), false);
        self.chmod = chmod;
        r
    }

    fn file(&mut self, path: &str, content: &[u8]) -> Result<(), ApiError> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(content.len() as u64);
        self.add(path.as_bytes(), h, None, &mut &content[..], false)
    }

    fn finish(self) -> Result<(std::fs::File, String), ApiError> {
        let mut file = self
            .builder
            .into_inner()
            .map_err(|e| ApiError::internal(format!("cannot write the step's files: {e}")))?;
        file.flush().ok();
        file.rewind()
            .map_err(|e| ApiError::internal(e.to_string()))?;
        Ok((file, hex::encode(self.hash.finalize())))
    }
}

struct HashRead<'a> {
    inner: &'a mut dyn Read,
    hash: &'a mut Sha256,
}

impl Read for HashRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// `/a/b/` → the missing directories of `/a/b` in the root, parents first.
fn missing_dirs(root: &StepRoot, dir: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for part in dir.split('/').filter(|p| !p.is_empty()) {
        cur.push('/');
        cur.push_str(part);
        if !root.is_dir(&cur) {
            out.push(cur.trim_start_matches('/').to_string());
        }
    }
    out
}

fn join(dir: &str, name: &str) -> String {
    let dir = dir.trim_matches('/');
    let name = name.trim_start_matches('/');
    match (dir.is_empty(), name.is_empty()) {
        (true, _) => name.to_string(),
        (false, true) => dir.to_string(),
        (false, false) => format!("{dir}/{name}"),
    }
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// A source's files as a tar (entries named after its last element).
fn source_tar(
    root: &ContainerRoot,
    path: &str,
    scratch: &Path,
) -> Result<std::fs::File, ArchiveError> {
    let mut f = tempfile::tempfile_in(scratch)?;
    root.archive(path, &mut f)?;
    f.rewind()?;
    Ok(f)
}

/// Whether a stream starts with a tar header (checksum valid).
fn looks_like_tar(block: &[u8]) -> bool {
    if block.len() < 512 || block.iter().all(|b| *b == 0) {
        return false;
    }
    let stored = std::str::from_utf8(&block[148..156])
        .ok()
        .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '))
        .and_then(|s| u32::from_str_radix(s, 8).ok());
    let sum: u32 = block[..512]
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                *b as u32
            }
        })
        .sum();
    stored == Some(sum)
}

pub(crate) async fn copy(
    b: &mut Builder<'_>,
    st: &mut StageState,
    args: &CopyArgs,
    node: &Node,
    is_add: bool,
) -> Result<(), ApiError> {
    let verb = if is_add { "ADD" } else { "COPY" };
    let env = st.expansion_env();
    let esc = node.escape;
    let word = |w: &str| expand_word(&env, esc, w, node);
    let mut sources = Vec::new();
    for s in &args.sources {
        sources.push(word(s)?);
    }
    let dest_raw = word(&args.dest)?;
    let chown = args.chown.as_deref().map(word).transpose()?;
    let chmod = match args.chmod.as_deref().map(word).transpose()? {
        None => None,
        Some(m) => Some(u32::from_str_radix(&m, 8).map_err(|_| {
            at(
                node,
                format!("invalid chmod parameter: {m:?}: use an octal mode like 0755"),
            )
        })?),
    };
    if sources
        .iter()
        .any(|s| s.starts_with("http://") || s.starts_with("https://") || s.starts_with("git@"))
    {
        return Err(at(
            node,
            format!("{verb} from a URL is not supported by berth's builder yet"),
        ));
    }
    let dest = if dest_raw.starts_with('/') {
        dest_raw.clone()
    } else {
        format!("{}/{}", st.workdir().trim_end_matches('/'), dest_raw)
    };
    let dest_is_dir_hint = dest_raw.ends_with('/') || dest_raw.ends_with("/.") || dest_raw == ".";
    let dest_clean = berth_dockerfile::dockerignore::clean(&dest);

    // Where the sources come from.
    let mut from_root: Option<StepRoot> = None;
    let mut from_id = String::new();
    if let Some(f) = &args.from {
        let f = word(f)?;
        let id = match stage_index(&b.names, b.names.len(), &f).and_then(|i| b.results[i].clone()) {
            Some(id) => id,
            None => {
                b.engine
                    .resolve_image(&f)
                    .map_err(|_| {
                        at(
                            node,
                            format!("invalid from flag value {f}: No such image or build stage"),
                        )
                    })?
                    .id
            }
        };
        let from_st = StageState::load(&b.engine, &id)?;
        from_root = Some(StepRoot::mount(b, from_st.lowers(&b.engine)?)?);
        from_id = id;
    }

    let step = StepRoot::mount(b, st.lowers(&b.engine)?)?;
    let (uid, gid) = match &chown {
        None => (0, 0),
        Some(spec) => {
            let spec = if spec.contains(':') {
                spec.clone()
            } else {
                format!("{spec}:{spec}")
            };
            let u =
                berth_runtime::resolve_user(&step.root().proc_path(), &spec, &[]).map_err(|e| {
                    at(
                        node,
                        format!("unable to convert uid/gid chown string to host mapping: {e}"),
                    )
                })?;
            (u.uid, u.gid)
        }
    };
    let scratch = step.dir.path().to_path_buf();
    let ctx_dir = b.ctx.dir();
    let heredoc_vals: Vec<(String, Vec<u8>)> = args
        .heredocs
        .iter()
        .map(|h| {
            let content = if h.expand && !is_add {
                let lookup = env_lookup(&env);
                // Only variables: quotes in a heredoc body are text.
                expand_heredoc(&Expander::new(esc, &lookup), &h.content)
            } else {
                h.content.clone()
            };
            (h.name.clone(), content.into_bytes())
        })
        .collect();

    let built = tokio::task::block_in_place(|| -> Result<_, ApiError> {
        let src_root: &ContainerRoot = match &from_root {
            Some(r) => r.root(),
            None => &b.ctx.root,
        };
        // Wildcards (context and stage sources alike are matched against a listing of
        // the context only when copying from the context).
        let mut resolved: Vec<String> = Vec::new();
        for s in &sources {
            let clean = berth_dockerfile::dockerignore::clean(&format!("/{s}"));
            if has_glob(s) && from_root.is_none() {
                let pattern = clean.trim_start_matches('/');
                let mut hits = Vec::new();
                for p in walk(&ctx_dir) {
                    if berth_dockerfile::dockerignore::glob_match(pattern, &p).unwrap_or(false) {
                        hits.push(format!("/{p}"));
                    }
                }
                if hits.is_empty() {
                    return Err(ApiError::invalid(format!(
                        "{verb} failed: no source files were specified"
                    )));
                }
                resolved.extend(hits);
            } else {
                resolved.push(clean);
            }
        }
        let count = resolved.len() + heredoc_vals.len();
        if count == 0 {
            return Err(ApiError::invalid(format!(
                "{verb} failed: no source files were specified"
            )));
        }
        let mut stats = Vec::new();
        for s in &resolved {
            let stat = src_root.stat(s).map_err(|e| match e {
                ArchiveError::NotFound => ApiError::invalid(format!(
                    "{verb} failed: file not found in build context or excluded by .dockerignore: stat {}: file does not exist",
                    s.trim_start_matches('/')
                )),
                e => ApiError::invalid(format!("{verb} failed: {s}: {e}")),
            })?;
            stats.push(stat);
        }
        let single_dir = count == 1 && stats.first().is_some_and(|s| s.mode & GO_MODE_DIR != 0);
        let dest_is_dir = dest_is_dir_hint || count > 1 || single_dir || step.is_dir(&dest_clean);
        if count > 1 && !dest_is_dir_hint && !step.is_dir(&dest_clean) {
            return Err(ApiError::invalid(format!(
                "When using {verb} with more than one source file, the destination must be a directory and end with a /"
            )));
        }
        let dest_dir = if dest_is_dir {
            dest_clean.clone()
        } else {
            match dest_clean.rfind('/') {
                Some(0) | None => "/".to_string(),
                Some(n) => dest_clean[..n].to_string(),
            }
        };
        let file =
            tempfile::tempfile_in(&scratch).map_err(|e| ApiError::internal(e.to_string()))?;
        let mut out = StepTar::new(file, uid, gid, chmod);
        for d in missing_dirs(&step, &dest_dir) {
            out.dir(&d)?;
        }
        let mut kinds = Vec::new();
        for (s, stat) in resolved.iter().zip(&stats) {
            let is_dir = stat.mode & GO_MODE_DIR != 0;
            kinds.push(if is_dir { "dir" } else { "file" });
            let tar_file = source_tar(src_root, s, &scratch)
                .map_err(|e| ApiError::invalid(format!("{verb} failed: {s}: {e}")))?;
            if is_add
                && !is_dir
                && from_root.is_none()
                && add_archive(
                    &mut out,
                    tar_file
                        .try_clone()
                        .map_err(|e| ApiError::internal(e.to_string()))?,
                    &dest_dir,
                    &scratch,
                )?
            {
                continue;
            }
            let mut archive = tar::Archive::new(tar_file);
            let mut prefix: Option<Vec<u8>> = None;
            for entry in archive
                .entries()
                .map_err(|e| ApiError::internal(e.to_string()))?
            {
                let mut entry = entry.map_err(|e| ApiError::internal(e.to_string()))?;
                let name = entry.path_bytes().into_owned();
                let trimmed: Vec<u8> = {
                    let mut n = name.clone();
                    while n.len() > 1 && n.ends_with(b"/") {
                        n.pop();
                    }
                    n
                };
                let target = if !is_dir {
                    if dest_is_dir {
                        let base = s.rsplit('/').next().unwrap_or(s);
                        join(&dest_dir, base)
                    } else {
                        dest_clean.trim_start_matches('/').to_string()
                    }
                } else {
                    let p = prefix.get_or_insert_with(|| {
                        if trimmed == b"/" {
                            Vec::new()
                        } else {
                            trimmed.clone()
                        }
                    });
                    let rel = trimmed.strip_prefix(p.as_slice()).unwrap_or(&trimmed);
                    let rel = String::from_utf8_lossy(rel)
                        .trim_start_matches('/')
                        .to_string();
                    if rel.is_empty() {
                        continue; // the source directory itself: its contents are copied
                    }
                    join(&dest_dir, &rel)
                };
                let header = entry.header().clone();
                let kind = header.entry_type();
                let link = if kind.is_symlink() {
                    entry.link_name_bytes().map(|l| l.into_owned())
                } else if kind.is_hard_link() {
                    // Hard links name another entry of the same source: rename alike.
                    entry.link_name_bytes().map(|l| {
                        let l = l.into_owned();
                        let p = prefix.clone().unwrap_or_default();
                        let rel = l.strip_prefix(p.as_slice()).unwrap_or(&l);
                        join(&dest_dir, &String::from_utf8_lossy(rel)).into_bytes()
                    })
                } else {
                    None
                };
                out.add(
                    target.as_bytes(),
                    header,
                    link.as_deref(),
                    &mut entry,
                    false,
                )?;
            }
        }
        for (name, content) in &heredoc_vals {
            kinds.push("file");
            let target = if dest_is_dir {
                join(&dest_dir, name)
            } else {
                dest_clean.trim_start_matches('/').to_string()
            };
            out.file(&target, content)?;
        }
        let (file, hash) = out.finish()?;
        let kind = if kinds.len() > 1 { "multi" } else { kinds[0] };
        Ok((file, hash, kind))
    })?;
    let (tar_file, hash, kind) = built;
    let dest_shown = if dest_is_dir_hint && !dest_clean.ends_with('/') {
        format!("{dest_clean}/")
    } else {
        dest_clean.clone()
    };
    let created_by = format!(
        "{} #(nop) {verb} {kind}:{hash} in {dest_shown} ",
        st.shell().join(" ")
    );
    let key = cache::key(
        &st.image_id,
        verb,
        &format!("{chown:?} {chmod:?} {dest_clean} {dest_is_dir_hint}"),
        &[&hash, &from_id],
    );
    drop(from_root);
    if b.cached(st, &key).await? {
        return Ok(());
    }
    let layer = tokio::task::block_in_place(|| -> Result<_, ApiError> {
        step.root()
            .extract("/", tar_file, ExtractOptions::default())
            .map_err(|e| ApiError::invalid(format!("{verb} failed: {e}")))?;
        step.finish(b)
    })?;
    b.engine
        .commit_step(
            st,
            StepCommit {
                created_by,
                layer,
                container_config: None,
                container: None,
                cache_key: key,
            },
        )
        .await
}

/// `ADD` of a local archive: its entries under `dest_dir`. False when the source is not a
/// (possibly compressed) tar.
fn add_archive(
    out: &mut StepTar,
    source: std::fs::File,
    dest_dir: &str,
    scratch: &Path,
) -> Result<bool, ApiError> {
    // The source arrives as a one-file tar: take the file out first.
    let mut outer = tar::Archive::new(source);
    let mut data = tempfile::tempfile_in(scratch).map_err(|e| ApiError::internal(e.to_string()))?;
    let mut found = false;
    let mut entries = outer
        .entries()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    if let Some(entry) = entries.next() {
        let mut entry = entry.map_err(|e| ApiError::internal(e.to_string()))?;
        if entry.header().entry_type().is_file() {
            std::io::copy(&mut entry, &mut data).map_err(|e| ApiError::internal(e.to_string()))?;
            found = true;
        }
    }
    if !found {
        return Ok(false);
    }
    data.rewind()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let Ok((_, mut reader)) = berth_store::unpack::decompress(Box::new(
        data.try_clone()
            .map_err(|e| ApiError::internal(e.to_string()))?,
    )) else {
        return Ok(false);
    };
    let mut block = vec![0u8; 512];
    if reader.read_exact(&mut block).is_err() || !looks_like_tar(&block) {
        return Ok(false);
    }
    data.rewind()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let (_, reader) = berth_store::unpack::decompress(Box::new(data))
        .map_err(|e| ApiError::invalid(format!("ADD failed: {e}")))?;
    let mut archive = tar::Archive::new(reader);
    for entry in archive
        .entries()
        .map_err(|e| ApiError::invalid(format!("ADD failed: {e}")))?
    {
        let mut entry = entry.map_err(|e| ApiError::invalid(format!("ADD failed: {e}")))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let clean = berth_dockerfile::dockerignore::clean(&format!("/{name}"));
        if clean == "/" {
            continue;
        }
        let header = entry.header().clone();
        let kind = header.entry_type();
        let link = if kind.is_symlink() {
            entry.link_name_bytes().map(|l| l.into_owned())
        } else if kind.is_hard_link() {
            entry.link_name_bytes().map(|l| {
                let l = berth_dockerfile::dockerignore::clean(&format!(
                    "/{}",
                    String::from_utf8_lossy(&l)
                ));
                join(dest_dir, &l).into_bytes()
            })
        } else {
            None
        };
        if !(kind.is_file() || kind.is_dir() || kind.is_symlink() || kind.is_hard_link()) {
            continue;
        }
        let target = join(dest_dir, &clean);
        out.add(target.as_bytes(), header, link.as_deref(), &mut entry, true)?;
    }
    Ok(true)
}

/// Expands `$VAR`/`${VAR...}` in a heredoc body, leaving quotes alone.
fn expand_heredoc(e: &Expander<'_>, body: &str) -> String {
    // Protect quotes so the word expander keeps them as text.
    let mut out = String::new();
    for line in body.split_inclusive('\n') {
        let escaped: String = line
            .chars()
            .flat_map(|c| match c {
                '\'' | '"' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        out.push_str(&e.word(&escaped).unwrap_or_else(|_| line.to_string()));
    }
    out
}

/// `WORKDIR`: the directory is created when the image lacks it (that is the step's layer).
pub(crate) async fn workdir(
    b: &mut Builder<'_>,
    st: &mut StageState,
    dir: &str,
) -> Result<(), ApiError> {
    let created_by = format!("{} #(nop) WORKDIR {dir}", st.shell().join(" "));
    let key = cache::key(&st.image_id, "WORKDIR", dir, &[]);
    if b.cached(st, &key).await? {
        return Ok(());
    }
    let step = StepRoot::mount(b, st.lowers(&b.engine)?)?;
    let layer = tokio::task::block_in_place(|| -> Result<_, ApiError> {
        let missing = missing_dirs(&step, dir);
        if missing.is_empty() {
            return Ok(None);
        }
        let file = tempfile::tempfile_in(step.dir.path())
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let mut out = StepTar::new(file, 0, 0, None);
        for d in missing {
            out.dir(&d)?;
        }
        let (file, _) = out.finish()?;
        step.root()
            .extract("/", file, ExtractOptions::default())
            .map_err(|e| ApiError::invalid(format!("WORKDIR failed: {e}")))?;
        step.finish(b)
    })?;
    b.engine
        .commit_step(
            st,
            StepCommit {
                created_by,
                layer,
                container_config: None,
                container: None,
                cache_key: key,
            },
        )
        .await
}
