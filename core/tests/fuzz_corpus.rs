//! Replays the fuzz corpora (`fuzz/corpus/*`) through the fuzz entry
//! points, so every input the fuzzers kept keeps passing.

use std::path::Path;

fn replay(corpus: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(corpus);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz corpus") {
        run(&std::fs::read(entry.unwrap().path()).unwrap());
        n += 1;
    }
    n
}

#[test]
fn the_fuzz_corpus_replays_cleanly() {
    let n = replay("frames", weft_core::fuzzing::exercise);
    assert!(n >= 20, "the corpus has only {n} inputs");
}

#[test]
fn the_comment_fuzz_corpus_replays_cleanly() {
    for seed in weft_core::fuzzing::comment_seeds() {
        weft_core::fuzzing::exercise_comment(&seed);
    }
    let n = replay("comments", weft_core::fuzzing::exercise_comment);
    assert!(n >= 6, "the corpus has only {n} inputs");
}

/// Writes the seeds into `fuzz/corpus/comments` (run by hand with
/// `--ignored` before fuzzing from scratch).
#[test]
#[ignore]
fn write_comment_seeds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/comments");
    std::fs::create_dir_all(&dir).unwrap();
    for (i, seed) in weft_core::fuzzing::comment_seeds().iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i}")), seed).unwrap();
    }
}
