//! Replays every input kept in `fuzz/corpus.tar.gz` (what cargo-fuzz found
//! and minimised) through the fuzz targets' checks, in the ordinary test
//! build: fuzzing proper needs an instrumented build of its own
//! (`scripts/fuzz.sh`), which the test command leaves out for time.

use std::path::Path;
use std::process::Command;

#[test]
fn every_kept_fuzz_input_passes_its_targets_checks() {
    let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus.tar.gz");
    let out = std::env::temp_dir().join(format!("parley-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let status = Command::new("tar").arg("xzf").arg(&archive).arg("-C").arg(&out).status().unwrap();
    assert!(status.success(), "tar could not unpack {}", archive.display());
    for (target, check) in parley_fuzz_checks::TARGETS {
        let dir = out.join("corpus").join(target);
        let inputs: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().path()).collect();
        // The archive holds 68 to 2,110 per target; fewer means it was lost or truncated.
        assert!(inputs.len() >= 50, "{target}: only {} kept inputs in {}", inputs.len(), dir.display());
        for input in inputs {
            let data = std::fs::read(&input).unwrap();
            let replay = std::panic::catch_unwind(|| check(&data));
            assert!(replay.is_ok(), "{target}: {} breaks the target's checks", input.display());
        }
    }
    std::fs::remove_dir_all(&out).unwrap();
}
