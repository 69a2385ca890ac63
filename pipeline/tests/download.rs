//! Model downloads from a mirror (an in-process HTTP server on loopback).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use axum::routing::get;
use parley_pipeline::translate::download::{DownloadError, FileEntry, Manifest, ModelEntry, download};
use sha2::{Digest, Sha256};

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A mirror serving one pair, `xxyy`, with two files; `corrupt` lies about one checksum.
async fn mirror(corrupt: bool) -> String {
    let model = b"weights".repeat(1000);
    let vocab = b"vocabulary".to_vec();
    let manifest = Manifest {
        models: vec![ModelEntry {
            pair: "xxyy".into(),
            files: vec![
                FileEntry {
                    name: "model.xxyy.intgemm.alphas.bin".into(),
                    sha256: sha(&model),
                    size: model.len() as u64,
                },
                FileEntry {
                    name: "vocab.xxyy.spm".into(),
                    sha256: if corrupt { sha(b"something else") } else { sha(&vocab) },
                    size: vocab.len() as u64,
                },
            ],
        }],
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/manifest.json", get(move || async move { axum::Json(manifest) }))
        .route("/xxyy/model.xxyy.intgemm.alphas.bin", get(move || async move { model }))
        .route("/xxyy/vocab.xxyy.spm", get(move || async move { vocab }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn temp_dir() -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("parley-models-{}-{:?}", std::process::id(), std::thread::current().id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn downloads_verify_checksums_and_report_progress() {
    let url = mirror(false).await;
    let dir = temp_dir();
    let mut reports = Vec::new();
    let done = download(&reqwest::Client::new(), &url, &[], &dir, |file, got, total| {
        reports.push((file.to_owned(), got, total));
    })
    .await
    .unwrap();
    assert_eq!(done, ["xxyy"]);
    assert_eq!(std::fs::read(dir.join("xxyy/vocab.xxyy.spm")).unwrap(), b"vocabulary");
    let last = reports.iter().rfind(|(f, ..)| f.starts_with("model")).unwrap();
    assert_eq!((last.1, last.2), (7000, 7000), "progress reaches the full size");
    assert_eq!(parley_pipeline::translate::firefox::installed_pairs(&dir).into_iter().collect::<Vec<_>>(), ["xxyy"]);
    // The manifest of what was installed is what the mirror served.
    let manifest = parley_pipeline::translate::download::manifest_of(&dir).unwrap();
    assert_eq!(manifest.models[0].files.len(), 2);
}

#[tokio::test]
async fn a_checksum_mismatch_installs_nothing_and_an_unknown_pair_is_named() {
    let url = mirror(true).await;
    let dir = temp_dir();
    let err = download(&reqwest::Client::new(), &url, &[], &dir, |_, _, _| {}).await.unwrap_err();
    assert!(matches!(err, DownloadError::Checksum { ref file, .. } if file == "vocab.xxyy.spm"), "{err}");
    assert!(!dir.join("xxyy/vocab.xxyy.spm").exists());
    assert!(!dir.join("xxyy/vocab.xxyy.spm.partial").exists());
    let err = download(&reqwest::Client::new(), &url, &["zzww".into()], &dir, |_, _, _| {}).await.unwrap_err();
    assert!(matches!(err, DownloadError::UnknownPair(ref p) if p == "zzww"));
}
