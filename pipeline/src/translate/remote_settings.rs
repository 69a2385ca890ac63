//! Firefox Translations models from Mozilla's public Remote Settings, chosen
//! the way Firefox chooses them.
//!
//! Firefox lists its models in two collections of the `main` bucket:
//! `translations-models-v2` (current releases: zstd attachments,
//! `sourceLanguage`/`targetLanguage`, model versions 3.x) and
//! `translations-models` (older releases: plain files, `fromLang`/`toLang`,
//! versions 1.x–2.x). Both are read. For a pair, the newest model version the
//! engine can load wins, and only the files of exactly that version are taken,
//! because a shared vocabulary left at 3.0 must not be mixed with a 3.1 model
//! that has split ones. Attachments live under the server's advertised
//! `capabilities.attachments.base_url`, never a hard-coded CDN, so a mirror of
//! the whole service works by changing one URL.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::download::{DownloadError, fetch_resumable, hex, safe_name};

/// Mozilla's production Remote Settings server.
pub const SERVER: &str = "https://firefox.settings.services.mozilla.com/v1";

/// The model collections, newest first.
pub const COLLECTIONS: [&str; 2] = ["translations-models-v2", "translations-models"];

/// The model versions `fxtranslate` 0.5 loads: the 1.x "tiny" models (the
/// en↔pt ones Parley ships with), 2.x and the zstd-compressed 3.x, all
/// int8 "alphas" Marian models. 4.x would be a new format.
pub const LOADABLE: (&str, &str) = ("1.0a", "4.0a");

/// What `fxtranslate` reads: Marian models quantised with alphas
/// (`int8shiftAlphaAll`). `*.intgemm8.bin` models lack the alphas.
const MODEL_SUFFIX: &str = ".intgemm.alphas.bin";

/// One record of a model collection, in either schema.
#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    pub name: String,
    #[serde(rename = "sourceLanguage", alias = "fromLang")]
    pub source: String,
    #[serde(rename = "targetLanguage", alias = "toLang")]
    pub target: String,
    pub version: String,
    /// `model`, `vocab`, `srcvocab`, `trgvocab`, `lex` or `qualityModel`.
    #[serde(rename = "fileType")]
    pub file_type: String,
    #[serde(default)]
    pub architecture: Option<String>,
    /// Developer-only model variants, never chosen by Firefox unless asked.
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default)]
    pub filter_expression: Option<String>,
    /// SHA-256 of the file after zstd decompression (v2 only).
    #[serde(rename = "decompressedHash", default)]
    pub decompressed_hash: Option<String>,
    #[serde(rename = "decompressedSize", default, deserialize_with = "opt_size")]
    pub decompressed_size: Option<u64>,
    pub attachment: Attachment,
}

/// Where a record's file is, and the size and SHA-256 of the bytes served.
#[derive(Debug, Clone, Deserialize)]
pub struct Attachment {
    pub hash: String,
    #[serde(deserialize_with = "size")]
    pub size: u64,
    /// Path under the server's attachments base URL.
    pub location: String,
    #[serde(default)]
    pub filename: Option<String>,
    #[serde(default)]
    pub mimetype: Option<String>,
}

impl Attachment {
    fn is_zstd(&self) -> bool {
        self.mimetype.as_deref() == Some("application/zstd")
            || self.location.ends_with(".zst")
            || self.filename.as_deref().is_some_and(|f| f.ends_with(".zst"))
    }
}

/// Sizes are numbers in the real collections and strings in Firefox's own test fixtures.
#[derive(Deserialize)]
#[serde(untagged)]
enum Size {
    Number(u64),
    Text(String),
}

fn size<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Size::deserialize(d)? {
        Size::Number(n) => Ok(n),
        Size::Text(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

fn opt_size<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Option::<Size>::deserialize(d)?
        .map(|s| match s {
            Size::Number(n) => Ok(n),
            Size::Text(t) => t.trim().parse().map_err(serde::de::Error::custom),
        })
        .transpose()
}

/// Mozilla's version order (`nsIVersionComparator`): dot-separated parts of
/// `<number><letters><number><rest>`, a missing part counts as `0` and a
/// missing string sorts after any string, so `3.0a1 < 3.0 == 3.0.0 < 3.1`.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (pa, pb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for i in 0..pa.len().max(pb.len()) {
        let order =
            version_part(pa.get(i).copied().unwrap_or("0")).cmp(&version_part(pb.get(i).copied().unwrap_or("0")));
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

/// `(number, (no letters?, letters), number, (no rest?, rest))`: the booleans
/// make an absent string greater than any present one.
fn version_part(part: &str) -> (u64, (bool, &str), u64, (bool, &str)) {
    fn number(s: &str) -> (u64, &str) {
        let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        (s[..end].parse().unwrap_or(0), &s[end..])
    }
    fn letters(s: &str) -> (Option<&str>, &str) {
        let end = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
        ((end > 0).then(|| &s[..end]), &s[end..])
    }
    let (a, rest) = number(part);
    let (b, rest) = letters(rest);
    let (c, rest) = number(rest);
    let d = (!rest.is_empty()).then_some(rest);
    (a, (b.is_none(), b.unwrap_or("")), c, (d.is_none(), d.unwrap_or("")))
}

/// Whether `fxtranslate` can load a model of this version.
pub fn loadable_version(version: &str) -> bool {
    compare_versions(version, LOADABLE.0) != Ordering::Less && compare_versions(version, LOADABLE.1) == Ordering::Less
}

/// Whether a record's language tag is Parley's two-letter `lang`. Parley's
/// `zh` is Simplified Chinese, so `zh-Hant` models are not taken for it.
fn tag_is(tag: &str, lang: &str) -> bool {
    tag == lang || (tag.strip_prefix(lang).is_some_and(|rest| rest.starts_with('-')) && !tag.ends_with("-Hant"))
}

/// Records a release desktop Firefox would see: no filter, or only the
/// desktop-platform one. Alpha (Nightly) and beta records carry channel filters.
fn for_release(record: &Record) -> bool {
    match record.filter_expression.as_deref().map(str::trim) {
        None | Some("") => true,
        Some(expr) => expr == "env.appinfo.OS != 'Android'",
    }
}

/// The files of one pair's chosen model.
#[derive(Debug, Clone)]
pub struct ModelPlan {
    pub from: String,
    pub to: String,
    pub collection: &'static str,
    pub version: String,
    pub architecture: Option<String>,
    pub files: Vec<Record>,
}

impl ModelPlan {
    /// The models directory's sub-directory: `enes`.
    pub fn pair(&self) -> String {
        format!("{}{}", self.from, self.to)
    }

    /// Bytes to download.
    pub fn download_size(&self) -> u64 {
        self.files.iter().map(|r| r.attachment.size).sum()
    }
}

/// Everything the server lists, with the attachments' base URL.
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub base_url: String,
    pub records: Vec<(&'static str, Record)>,
    /// Records that do not have a model record's shape (other shapes live in
    /// the collections over time), in both collections together.
    pub skipped: usize,
}

#[derive(Deserialize)]
struct ServerInfo {
    capabilities: Capabilities,
}

#[derive(Deserialize)]
struct Capabilities {
    attachments: AttachmentsCapability,
}

#[derive(Deserialize)]
struct AttachmentsCapability {
    base_url: String,
}

#[derive(Deserialize)]
struct RecordList {
    data: Vec<serde_json::Value>,
}

async fn get_json<T: serde::de::DeserializeOwned>(http: &reqwest::Client, url: &str) -> Result<T, DownloadError> {
    http.get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| DownloadError::Http(format!("{url}: {e}")))?
        .json()
        .await
        .map_err(|e| DownloadError::Http(format!("{url}: {e}")))
}

impl Catalogue {
    /// Reads the server's capabilities and both model collections.
    ///
    /// # Errors
    /// The server cannot be reached or does not answer as Remote Settings does.
    pub async fn fetch(http: &reqwest::Client, server: &str) -> Result<Self, DownloadError> {
        let server = server.trim_end_matches('/');
        let info: ServerInfo = get_json(http, &format!("{server}/")).await?;
        let mut base_url = info.capabilities.attachments.base_url;
        if !base_url.ends_with('/') {
            base_url.push('/');
        }
        let mut records = Vec::new();
        let mut skipped = 0;
        for collection in COLLECTIONS {
            let list: RecordList =
                get_json(http, &format!("{server}/buckets/main/collections/{collection}/records")).await?;
            for value in list.data {
                match serde_json::from_value::<Record>(value) {
                    Ok(record) => records.push((collection, record)),
                    Err(_) => skipped += 1,
                }
            }
        }
        Ok(Self { base_url, records, skipped })
    }

    fn models<'a>(&'a self, from: &'a str, to: &'a str) -> impl Iterator<Item = &'a (&'static str, Record)> + 'a {
        self.records.iter().filter(move |(_, r)| {
            tag_is(&r.source, from) && tag_is(&r.target, to) && r.variant.is_none() && for_release(r)
        })
    }

    /// The newest model for `from`→`to` that the engine can load.
    ///
    /// # Errors
    /// [`DownloadError::UnknownPair`] when the server has no model for the
    /// pair; [`DownloadError::Incompatible`] when it has only models the engine
    /// cannot load, or an incomplete set of files.
    pub fn plan(&self, from: &str, to: &str) -> Result<ModelPlan, DownloadError> {
        let pair = format!("{from}→{to}");
        if !(safe_name(&format!("{from}{to}")) && from.len() == 2 && to.len() == 2) {
            return Err(DownloadError::BadName(pair));
        }
        let models: Vec<&(&str, Record)> = self.models(from, to).filter(|(_, r)| r.file_type == "model").collect();
        if models.is_empty() {
            return Err(DownloadError::UnknownPair(pair));
        }
        let Some((collection, model)) = models
            .iter()
            .filter(|(_, r)| loadable_version(&r.version) && r.name.ends_with(MODEL_SUFFIX))
            .max_by(|(_, a), (_, b)| compare_versions(&a.version, &b.version))
        else {
            let offered: BTreeSet<String> = models.iter().map(|(_, r)| format!("{} ({})", r.version, r.name)).collect();
            return Err(DownloadError::Incompatible(format!(
                "{pair}: only models this build cannot load are offered: {}; it loads versions {} to below {} of *{MODEL_SUFFIX}",
                offered.into_iter().collect::<Vec<_>>().join(", "),
                LOADABLE.0,
                LOADABLE.1
            )));
        };
        // One file per type, all of exactly the model's version and collection.
        let mut by_type: BTreeMap<&str, &Record> = BTreeMap::new();
        for (c, r) in self.models(from, to) {
            if c != collection || r.version != model.version {
                continue;
            }
            let kind = r.file_type.as_str();
            if !matches!(kind, "model" | "vocab" | "srcvocab" | "trgvocab" | "lex") {
                continue;
            }
            // Of two shortlists, the 50/50 one is what the engine expects.
            let better = by_type.get(kind).is_none_or(|old| kind == "lex" && !old.name.starts_with("lex.50.50"));
            if better {
                by_type.insert(kind, r);
            }
        }
        let shared = by_type.contains_key("vocab");
        let split = by_type.contains_key("srcvocab") && by_type.contains_key("trgvocab");
        if shared == split {
            return Err(DownloadError::Incompatible(format!(
                "{pair} {}: needs one vocabulary or a source and a target one, the server lists {}",
                model.version,
                by_type.keys().copied().collect::<Vec<_>>().join(", ")
            )));
        }
        if split {
            by_type.remove("vocab");
        }
        Ok(ModelPlan {
            from: from.to_owned(),
            to: to.to_owned(),
            collection,
            version: model.version.clone(),
            architecture: model.architecture.clone(),
            files: by_type.into_values().cloned().collect(),
        })
    }

    /// The pairs with English the server offers, as `(from, to)` two-letter codes.
    pub fn pairs(&self) -> BTreeSet<(String, String)> {
        let two = |tag: &str| tag.split('-').next().filter(|t| t.len() == 2).map(str::to_owned);
        self.records
            .iter()
            .filter(|(_, r)| r.file_type == "model")
            .filter_map(|(_, r)| Some((two(&r.source)?, two(&r.target)?)))
            .collect()
    }
}

/// The name the engine looks for in a pair's directory.
pub fn installed_name(file_type: &str, pair: &str) -> Option<String> {
    Some(match file_type {
        "model" => format!("model.{pair}{MODEL_SUFFIX}"),
        "vocab" => format!("vocab.{pair}.spm"),
        "srcvocab" => format!("srcvocab.{pair}.spm"),
        "trgvocab" => format!("trgvocab.{pair}.spm"),
        "lex" => format!("lex.50.50.{pair}.s2t.bin"),
        _ => return None,
    })
}

/// Downloads, checks and installs one plan into `dir/{pair}/`, replacing what
/// was there only once every file is verified and the engine loads them.
/// Raw downloads stay under `dir/.incoming/` when interrupted, so the next run
/// resumes them with a `Range` request.
///
/// # Errors
/// Network failures (what was received is kept for the next run), size or
/// checksum mismatches (the file is discarded), files the engine refuses.
pub async fn install(
    http: &reqwest::Client,
    catalogue: &Catalogue,
    plan: &ModelPlan,
    dir: &Path,
    progress: &mut impl FnMut(&str, u64, u64),
) -> Result<(), DownloadError> {
    let pair = plan.pair();
    let version: String = plan.version.chars().filter(char::is_ascii_alphanumeric).collect();
    let staging = dir.join(".incoming").join(format!("{pair}-{version}"));
    std::fs::create_dir_all(&staging)?;
    for record in &plan.files {
        let name =
            installed_name(&record.file_type, &pair).ok_or_else(|| DownloadError::BadName(record.name.clone()))?;
        let target = staging.join(&name);
        if target.is_file() {
            progress(&name, record.attachment.size, record.attachment.size);
            continue;
        }
        let raw = staging.join(format!("{name}.download"));
        let url = format!("{}{}", catalogue.base_url, record.attachment.location.trim_start_matches('/'));
        fetch_resumable(http, &url, &raw, record.attachment.size, &record.attachment.hash, &name, progress).await?;
        if record.attachment.is_zstd() {
            let raw_path = raw.clone();
            let bytes = tokio::task::spawn_blocking(move || unzstd(&raw_path))
                .await
                .map_err(|e| DownloadError::Io(std::io::Error::other(e)))??;
            check_decompressed(record, &name, &bytes)?;
            let partial = staging.join(format!("{name}.partial"));
            std::fs::write(&partial, &bytes)?;
            std::fs::rename(&partial, &target)?;
            std::fs::remove_file(&raw)?;
        } else {
            std::fs::rename(&raw, &target)?;
        }
    }
    let stage = staging.clone();
    let probe_pair = pair.clone();
    tokio::task::spawn_blocking(move || super::firefox::probe(&stage, &probe_pair))
        .await
        .map_err(|e| DownloadError::Io(std::io::Error::other(e)))?
        .map_err(|why| {
            let _ = std::fs::remove_dir_all(&staging);
            DownloadError::Incompatible(format!(
                "{}→{} {} ({}): the engine cannot load it: {why}",
                plan.from,
                plan.to,
                plan.version,
                plan.architecture.as_deref().unwrap_or("architecture not stated")
            ))
        })?;
    write_source(&staging, catalogue, plan)?;
    swap_in(&staging, &dir.join(&pair))
}

fn unzstd(path: &Path) -> Result<Vec<u8>, DownloadError> {
    use std::io::Read as _;
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut decoder = ruzstd::decoding::StreamingDecoder::new(file)
        .map_err(|e| DownloadError::Corrupt(format!("{}: not a zstd file: {e}", path.display())))?;
    let mut out = Vec::new();
    decoder
        .read_to_end(&mut out)
        .map_err(|e| DownloadError::Corrupt(format!("{}: zstd stream broken: {e}", path.display())))?;
    Ok(out)
}

fn check_decompressed(record: &Record, name: &str, bytes: &[u8]) -> Result<(), DownloadError> {
    use sha2::Digest as _;
    if let Some(size) = record.decompressed_size
        && size != bytes.len() as u64
    {
        return Err(DownloadError::Corrupt(format!(
            "{name}: {} bytes once decompressed, the record says {size}",
            bytes.len()
        )));
    }
    if let Some(expected) = &record.decompressed_hash {
        let actual = hex(&sha2::Sha256::digest(bytes));
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(DownloadError::Checksum { file: name.to_owned(), expected: expected.clone(), actual });
        }
    }
    Ok(())
}

/// Where an installed model came from, for `parley models list` and admins.
fn write_source(staging: &Path, catalogue: &Catalogue, plan: &ModelPlan) -> Result<(), DownloadError> {
    let source = serde_json::json!({
        "source": catalogue.base_url,
        "collection": plan.collection,
        "version": plan.version,
        "architecture": plan.architecture,
        "files": plan.files.iter().map(|r| &r.name).collect::<Vec<_>>(),
    });
    std::fs::write(staging.join("source.json"), serde_json::to_vec_pretty(&source).unwrap_or_default())?;
    Ok(())
}

/// Replaces `live` with `staging`: the old directory is moved aside first and
/// removed last, so a crash leaves either model, never a mix.
fn swap_in(staging: &Path, live: &Path) -> Result<(), DownloadError> {
    let aside: PathBuf = live.with_extension("old");
    let _ = std::fs::remove_dir_all(&aside);
    if live.exists() {
        std::fs::rename(live, &aside)?;
    }
    std::fs::rename(staging, live)?;
    let _ = std::fs::remove_dir_all(&aside);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_follow_mozillas_order() {
        let ordered = ["1.0a", "1.0a1", "1.0b1", "1.0", "1.1", "2.0", "3.0a1", "3.0", "3.1", "4.0a1"];
        for pair in ordered.windows(2) {
            assert_eq!(compare_versions(pair[0], pair[1]), Ordering::Less, "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(compare_versions("3.0", "3.0.0"), Ordering::Equal);
        assert!(loadable_version("1.0") && loadable_version("3.1") && loadable_version("3.0a1"));
        assert!(!loadable_version("4.0a1") && !loadable_version("0.9") && !loadable_version("100.0"));
    }

    #[test]
    fn language_tags_match_by_primary_subtag_and_simplified_chinese_only() {
        assert!(tag_is("es", "es") && tag_is("zh-Hans", "zh") && tag_is("zh", "zh"));
        assert!(!tag_is("zh-Hant", "zh") && !tag_is("est", "es") && !tag_is("en", "es"));
    }

    #[test]
    fn both_schemas_and_string_sizes_parse() {
        let legacy: Record = serde_json::from_value(serde_json::json!({
            "name": "vocab.enpt.spm", "fromLang": "en", "toLang": "pt", "version": "1.0", "fileType": "vocab",
            "attachment": {"hash": "ab", "size": "12", "location": "main-workspace/x.bin", "filename": "vocab.enpt.spm"}
        }))
        .unwrap();
        assert_eq!((legacy.source.as_str(), legacy.target.as_str(), legacy.attachment.size), ("en", "pt", 12));
        assert!(!legacy.attachment.is_zstd());
        let current: Record = serde_json::from_value(serde_json::json!({
            "name": "model.enes.intgemm.alphas.bin", "sourceLanguage": "en", "targetLanguage": "es",
            "version": "3.0", "fileType": "model", "architecture": "base-memory",
            "decompressedHash": "cd", "decompressedSize": 31561787,
            "attachment": {"hash": "ef", "size": 22085725, "location": "main-workspace/y.zst", "mimetype": "application/zstd"}
        }))
        .unwrap();
        assert_eq!(current.decompressed_size, Some(31_561_787));
        assert!(current.attachment.is_zstd());
    }

    #[test]
    fn only_release_records_are_taken() {
        let mut r: Record = serde_json::from_value(serde_json::json!({
            "name": "m", "fromLang": "en", "toLang": "pt", "version": "1.0", "fileType": "model",
            "attachment": {"hash": "", "size": 1, "location": "l"}
        }))
        .unwrap();
        assert!(for_release(&r));
        r.filter_expression = Some("env.channel == 'default' || env.channel == 'nightly'".into());
        assert!(!for_release(&r));
        r.filter_expression = Some("env.appinfo.OS != 'Android'".into());
        assert!(for_release(&r));
    }
}
