//! Fetching Firefox Translations models from a mirror, checked by SHA-256.
//!
//! A mirror is any HTTP server holding a `manifest.json` beside the files:
//! `{"models": [{"pair": "enpt", "files": [{"name": "…", "sha256": "…", "size": 123}]}]}`
//! with each file at `{mirror}/{pair}/{name}`. `parley models manifest <dir>`
//! writes the manifest of an installed models directory, so any directory
//! served over HTTP can be a mirror. Files are written beside their final
//! name and renamed only once their checksum matches, so an interrupted or
//! corrupted download never leaves a model that looks installed.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The files of every model on a mirror.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub models: Vec<ModelEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ModelEntry {
    /// `enpt`: from English to Portuguese.
    pub pair: String,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    pub name: String,
    pub sha256: String,
    pub size: u64,
}

/// Why a download failed.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("cannot reach the mirror: {0}")]
    Http(String),
    #[error("the mirror has no model {0}")]
    UnknownPair(String),
    #[error("{file}: checksum mismatch (expected {expected}, got {actual})")]
    Checksum { file: String, expected: String, actual: String },
    #[error("unsafe file name in the manifest: {0}")]
    BadName(String),
    #[error("{0}")]
    Incompatible(String),
    #[error("{0}")]
    Corrupt(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn safe_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['/', '\\']) && name != "." && name != ".."
}

/// Builds the manifest of a models directory (what a mirror serves).
///
/// # Errors
/// I/O errors.
pub fn manifest_of(dir: &Path) -> std::io::Result<Manifest> {
    let mut models = Vec::new();
    for pair in super::firefox::installed_pairs(dir) {
        let mut files = Vec::new();
        let mut entries: Vec<PathBuf> =
            std::fs::read_dir(dir.join(&pair))?.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
        entries.sort();
        for path in entries {
            let bytes = std::fs::read(&path)?;
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            files.push(FileEntry { name, sha256: hex(&Sha256::digest(&bytes)), size: bytes.len() as u64 });
        }
        models.push(ModelEntry { pair, files });
    }
    Ok(Manifest { models })
}

/// Downloads `pairs` (all of the mirror's when empty) into `dir/{pair}/`,
/// reporting progress through `progress(file, done, total)`.
///
/// # Errors
/// Network failures, unknown pairs, checksum mismatches, I/O errors.
pub async fn download(
    http: &reqwest::Client,
    mirror: &str,
    pairs: &[String],
    dir: &Path,
    mut progress: impl FnMut(&str, u64, u64),
) -> Result<Vec<String>, DownloadError> {
    let mirror = mirror.trim_end_matches('/');
    let manifest: Manifest = http
        .get(format!("{mirror}/manifest.json"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| DownloadError::Http(e.to_string()))?
        .json()
        .await
        .map_err(|e| DownloadError::Http(e.to_string()))?;
    let wanted: Vec<&ModelEntry> = if pairs.is_empty() {
        manifest.models.iter().collect()
    } else {
        pairs
            .iter()
            .map(|p| manifest.models.iter().find(|m| &m.pair == p).ok_or_else(|| DownloadError::UnknownPair(p.clone())))
            .collect::<Result<_, _>>()?
    };
    let mut done = Vec::new();
    for model in wanted {
        if !safe_name(&model.pair) {
            return Err(DownloadError::BadName(model.pair.clone()));
        }
        let target = dir.join(&model.pair);
        std::fs::create_dir_all(&target)?;
        for file in &model.files {
            if !safe_name(&file.name) {
                return Err(DownloadError::BadName(file.name.clone()));
            }
            fetch_file(http, &format!("{mirror}/{}/{}", model.pair, file.name), &target, file, &mut progress).await?;
        }
        done.push(model.pair.clone());
    }
    Ok(done)
}

async fn fetch_file(
    http: &reqwest::Client,
    url: &str,
    target: &Path,
    file: &FileEntry,
    progress: &mut impl FnMut(&str, u64, u64),
) -> Result<(), DownloadError> {
    let final_path = target.join(&file.name);
    if let Ok(existing) = std::fs::read(&final_path)
        && hex(&Sha256::digest(&existing)) == file.sha256
    {
        progress(&file.name, file.size, file.size);
        return Ok(());
    }
    let partial = target.join(format!("{}.partial", file.name));
    fetch_resumable(http, url, &partial, file.size, &file.sha256, &file.name, progress).await?;
    std::fs::rename(&partial, &final_path)?;
    Ok(())
}

/// Downloads `url` into `partial`, continuing what an earlier, interrupted
/// run left there with a `Range` request, and checks the whole file's size
/// and SHA-256. What arrived before a network failure is kept for the next
/// run; a file of the wrong size or checksum is deleted.
///
/// # Errors
/// Network failures, a size or checksum mismatch, I/O errors.
pub(crate) async fn fetch_resumable(
    http: &reqwest::Client,
    url: &str,
    partial: &Path,
    size: u64,
    sha256: &str,
    name: &str,
    progress: &mut impl FnMut(&str, u64, u64),
) -> Result<(), DownloadError> {
    let mut have = std::fs::metadata(partial).map(|m| m.len()).unwrap_or(0);
    if have > size {
        std::fs::remove_file(partial)?;
        have = 0;
    }
    // The checksum runs over the bytes as they arrive; only a resumed
    // download reads back what an earlier run left, once.
    let mut hasher = Sha256::new();
    if have < size {
        let mut request = http.get(url);
        if have > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={have}-"));
        }
        let mut response = request
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| DownloadError::Http(format!("{name}: {e}")))?;
        // A server that ignores the range sends the whole file again.
        let append = have > 0 && response.status() == reqwest::StatusCode::PARTIAL_CONTENT;
        if append {
            hash_file(partial, &mut hasher)?;
        } else {
            have = 0;
        }
        let mut out =
            std::fs::OpenOptions::new().create(true).write(true).append(append).truncate(!append).open(partial)?;
        progress(name, have, size);
        while let Some(chunk) = response.chunk().await.map_err(|e| DownloadError::Http(format!("{name}: {e}")))? {
            out.write_all(&chunk)?;
            hasher.update(&chunk);
            have += chunk.len() as u64;
            progress(name, have.min(size), size);
            if have > size {
                break;
            }
        }
        out.sync_all()?;
    } else {
        hash_file(partial, &mut hasher)?;
        progress(name, have, size);
    }
    if have != size {
        std::fs::remove_file(partial)?;
        return Err(DownloadError::Corrupt(format!("{name}: {have} bytes arrived, {size} expected")));
    }
    let actual = hex(&hasher.finalize());
    if !actual.eq_ignore_ascii_case(sha256) {
        std::fs::remove_file(partial)?;
        return Err(DownloadError::Checksum { file: name.to_owned(), expected: sha256.to_owned(), actual });
    }
    Ok(())
}

/// Feeds a file to `hasher` in pieces (models are tens of MB).
fn hash_file(path: &Path, hasher: &mut Sha256) -> std::io::Result<()> {
    let mut file = std::fs::File::open(path)?;
    std::io::copy(&mut file, hasher)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_escape_the_directory_are_refused() {
        for bad in ["../x", "a/b", "..", "", "c\\d"] {
            assert!(!safe_name(bad), "{bad}");
        }
        assert!(safe_name("model.enpt.intgemm.alphas.bin"));
    }
}
