#![no_main]
// Arbitrary bytes as one update from a comment connection: the update
// check must never let a change outside `comments`, or to another
// author's message, through, nor an update that makes yrs panic.
//
// yrs panics on some malformed input while decoding (debug and overflow
// assertions); the server catches those (`protocol::guarded`), so they are
// not crashes here: the fuzzer's abort-on-panic hook is replaced by one
// that only reports the target's own assertions, which fail a run.
static QUIET: std::sync::Once = std::sync::Once::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    QUIET.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            if info.location().is_some_and(|l| l.file().ends_with("fuzzing.rs")) {
                eprintln!("{info}");
            }
        }))
    });
    weft_core::fuzzing::exercise_comment(data)
});
