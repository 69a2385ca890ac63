//! An OpenAPI-driven fuzz of the whole HTTP API: schemathesis (PyPI;
//! `scripts/test.sh` installs it) generates requests from
//! `/api/openapi.json` (valid ones, invalid ones, and sequences that follow
//! the links between operations) against a running server, as an admin; no
//! answer may be a 5xx.

use parley_e2e::{TempDir, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_anywhere_in_the_api() {
    let server = TestServer::start().await;
    let admin = server.admin_token().await;
    // Hypothesis keeps its example database in the working directory.
    let work = TempDir::new("parley-apifuzz");
    let output = tokio::process::Command::new("schemathesis")
        .current_dir(&work.0)
        .args(["run", &server.url("/api/openapi.json"), "--checks", "not_a_server_error", "--max-examples", "25"])
        .args(["--seed", "1", "--workers", "2", "--header", &format!("Authorization: Bearer {admin}")])
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("schemathesis runs (scripts/test.sh installs it from PyPI)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "schemathesis found failures:\n{stdout}\n{stderr}");
    let generated = stdout
        .lines()
        .find_map(|l| l.trim().split_once(" generated, ").map(|(n, _)| n.trim().parse::<u64>().unwrap_or(0)))
        .unwrap_or(0);
    assert!(generated > 500, "schemathesis generated only {generated} requests:\n{stdout}");
}
