//! Replays the fuzz corpus (`fuzz/corpus/frames`) through the fuzz entry
//! point, so every input the fuzzer kept keeps passing.

#[test]
fn the_fuzz_corpus_replays_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/frames");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz corpus") {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        weft_core::fuzzing::exercise(&data);
        n += 1;
    }
    assert!(n >= 20, "the corpus has only {n} inputs");
}
