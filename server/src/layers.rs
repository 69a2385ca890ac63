//! The server's layers, lowest first, and a test that no module names one above it.
//!
//! A module may use those listed before it; the crate root (`lib.rs`) only
//! wires them together. Keeping the order strict is what keeps the layers
//! free of cycles: topics know nothing of rooms, auth nothing of topics, and
//! the cluster transport reaches the layers below it through the traits they
//! define ([`crate::topics::ItemRelay`], [`crate::auth::revocation::RevocationRelay`]).

/// Top-level modules from the bottom up: the foundations (nothing of
/// Parley's below them); `auth` (who is calling); `topics` (publish,
/// subscribe, history, the webhook outbox); `cluster` (beside the bus);
/// `webhooks` (delivery and its admin API); `rooms` (the product); then
/// configuration, the operations endpoints and the web UI.
pub const LAYERS: &[&str] = &[
    "error", "clock", "shutdown", "net", "openapi", "csrf", "models", "metrics", "db", "limits", "auth", "topics",
    "cluster", "webhooks", "rooms", "config", "ops", "web",
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use super::LAYERS;

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// What `crate::…` paths in `source` name first, outside comments.
    fn crate_paths(source: &str) -> BTreeSet<String> {
        let mut named = BTreeSet::new();
        for line in source.lines() {
            let code = line.split("//").next().unwrap_or_default();
            let mut rest = code;
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + "crate::".len()..];
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if name.is_empty() {
                    // `crate::{a, b}`: every name in the group.
                    let group = rest.strip_prefix('{').and_then(|g| g.split('}').next()).unwrap_or_default();
                    named.extend(group.split(',').filter_map(|n| n.trim().split("::").next()).map(str::to_owned));
                } else {
                    named.insert(name);
                }
            }
        }
        named
    }

    #[test]
    fn no_module_names_a_layer_above_its_own_or_the_crate_root() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
        let mut wrong = Vec::new();
        for file in files {
            let relative = file.strip_prefix(&src).unwrap();
            let module = relative.iter().next().unwrap().to_string_lossy().trim_end_matches(".rs").to_owned();
            if ["lib", "main", "layers"].contains(&module.as_str()) {
                continue;
            }
            let own = rank(&module).unwrap_or_else(|| panic!("{module} is missing from LAYERS"));
            for name in crate_paths(&std::fs::read_to_string(&file).unwrap()) {
                match rank(&name) {
                    Some(r) if r > own => {
                        wrong.push(format!("{}: {module} uses {name}, a layer above", relative.display()))
                    }
                    Some(_) => {}
                    None => wrong.push(format!("{}: {module} uses the crate root's {name}", relative.display())),
                }
            }
        }
        assert!(wrong.is_empty(), "imports against the layers:\n{}", wrong.join("\n"));
    }

    #[test]
    fn the_check_sees_grouped_and_plain_paths_but_not_comments() {
        let named = crate_paths("use crate::{auth::X, db};\nlet x = crate::rooms::f(); // crate::web\n");
        assert_eq!(named, ["auth", "db", "rooms"].map(str::to_owned).into_iter().collect());
    }
}
