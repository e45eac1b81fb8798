#![no_main]
// Arbitrary bytes as one update from a comment connection: the update
// check must never let a change outside `comments`, or to another
// author's message, through.
libfuzzer_sys::fuzz_target!(|data: &[u8]| weft_core::fuzzing::exercise_comment(data));
