//! The `parley models download|available` commands: offline translation
//! models from Firefox's public Remote Settings, or from an operator's mirror.

use std::path::Path;

use anyhow::Context as _;
use parley_pipeline::translate::download::{self, DownloadError};
use parley_pipeline::translate::remote_settings::{self, Catalogue, ModelPlan};

/// The languages a room may use; `--all` fetches every one of them the source has.
use parley_pipeline::moderate::lists::LANGUAGES as ROOM_LANGUAGES;

fn source() -> String {
    std::env::var("PARLEY_MODELS_SOURCE").unwrap_or_else(|_| remote_settings::SERVER.to_owned())
}

/// What a `download` argument asks for: `es` means en→es and es→en, `enes` one pair.
fn wanted_pairs(args: &[&str]) -> anyhow::Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for arg in args {
        let arg = arg.to_ascii_lowercase();
        match arg.len() {
            2 if arg != "en" => {
                pairs.push(("en".to_owned(), arg.clone()));
                pairs.push((arg, "en".to_owned()));
            }
            4 => pairs.push((arg[..2].to_owned(), arg[2..].to_owned())),
            _ => {
                anyhow::bail!("`{arg}` is neither a language (es) nor a pair (enes); English pairs with every language")
            }
        }
    }
    pairs.dedup();
    Ok(pairs)
}

/// `parley models download [--all | LANG… | PAIR…]`.
///
/// # Errors
/// The source cannot be reached, or a requested pair could not be installed
/// (every other pair is still installed, and each failure is named).
pub async fn download(args: &[&str], models_dir: &Path) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().user_agent(concat!("parley/", env!("CARGO_PKG_VERSION"))).build()?;
    if let Ok(mirror) = std::env::var("PARLEY_MODELS_MIRROR") {
        let pairs: Vec<String> =
            wanted_pairs(args.iter().filter(|a| **a != "--all").copied().collect::<Vec<_>>().as_slice())?
                .into_iter()
                .map(|(f, t)| format!("{f}{t}"))
                .collect();
        let mut printer = Progress::default();
        let done =
            download::download(&http, &mirror, &pairs, models_dir, |f, got, total| printer.show(f, got, total)).await?;
        println!("installed {} from {mirror} into {}", done.join(", "), models_dir.display());
        return Ok(());
    }
    let server = source();
    println!("reading the model list from {server} (Firefox's Remote Settings)");
    let catalogue = Catalogue::fetch(&http, &server).await.with_context(|| format!("reading {server}"))?;
    let pairs = if args.contains(&"--all") {
        let offered = catalogue.pairs();
        ROOM_LANGUAGES
            .iter()
            .filter(|l| **l != "en")
            .flat_map(|l| [("en".to_owned(), (*l).to_owned()), ((*l).to_owned(), "en".to_owned())])
            .filter(|p| offered.contains(p))
            .collect()
    } else {
        anyhow::ensure!(!args.is_empty(), "name languages (e.g. `es fr de ja zh`) or pass --all");
        wanted_pairs(args)?
    };
    let mut failed = Vec::new();
    for (from, to) in &pairs {
        match install_one(&http, &catalogue, from, to, models_dir).await {
            Ok(plan) => println!(
                "installed {from}→{to}: version {} ({}, {})",
                plan.version,
                plan.architecture.as_deref().unwrap_or("architecture not stated"),
                plan.collection
            ),
            Err(e) => {
                println!("not installed {from}→{to}: {e}");
                failed.push(format!("{from}→{to}"));
            }
        }
    }
    anyhow::ensure!(
        failed.is_empty(),
        "{} of {} pairs not installed: {}",
        failed.len(),
        pairs.len(),
        failed.join(", ")
    );
    println!(
        "models are in {}; a restarted Parley translates with them (pairs without English pivot through it)",
        models_dir.display()
    );
    Ok(())
}

async fn install_one(
    http: &reqwest::Client,
    catalogue: &Catalogue,
    from: &str,
    to: &str,
    models_dir: &Path,
) -> Result<ModelPlan, DownloadError> {
    let plan = catalogue.plan(from, to)?;
    println!(
        "{from}→{to}: version {}, {} files, {:.1} MB",
        plan.version,
        plan.files.len(),
        plan.download_size() as f64 / 1e6
    );
    let mut printer = Progress::default();
    remote_settings::install(http, catalogue, &plan, models_dir, &mut |f, got, total| printer.show(f, got, total))
        .await?;
    Ok(plan)
}

/// `parley models available`: what the source offers, and what this build loads.
///
/// # Errors
/// The source cannot be reached.
pub async fn available() -> anyhow::Result<()> {
    let server = source();
    let http = reqwest::Client::builder().user_agent(concat!("parley/", env!("CARGO_PKG_VERSION"))).build()?;
    let catalogue = Catalogue::fetch(&http, &server).await.with_context(|| format!("reading {server}"))?;
    println!("{server}: {} records ({} of other shapes skipped)", catalogue.records.len(), catalogue.skipped);
    for (from, to) in catalogue.pairs() {
        match catalogue.plan(&from, &to) {
            Ok(plan) => println!(
                "{from}→{to}  version {} {} ({:.1} MB)",
                plan.version,
                plan.architecture.as_deref().unwrap_or(""),
                plan.download_size() as f64 / 1e6
            ),
            Err(e) => println!("{from}→{to}  not loadable: {e}"),
        }
    }
    Ok(())
}

/// One line per file each tenth of the way.
#[derive(Default)]
struct Progress {
    last: Option<(String, u64)>,
}

impl Progress {
    fn show(&mut self, file: &str, got: u64, total: u64) {
        let tenth = (got * 10).checked_div(total).unwrap_or(10);
        if self.last.as_ref().is_some_and(|(f, t)| f == file && *t == tenth) {
            return;
        }
        self.last = Some((file.to_owned(), tenth));
        println!("  {file}: {}% ({got} of {total} bytes)", tenth * 10);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_mean_both_directions_with_english_and_nonsense_is_named() {
        let pairs = wanted_pairs(&["es", "enfr"]).unwrap();
        let pairs: Vec<String> = pairs.into_iter().map(|(f, t)| format!("{f}{t}")).collect();
        assert_eq!(pairs, ["enes", "esen", "enfr"]);
        assert!(wanted_pairs(&["spanish"]).is_err());
        assert!(wanted_pairs(&["en"]).is_err());
    }
}
