#![no_main]
// Arbitrary bytes as WebSocket frames into a room: decoding, validation,
// applying, awareness, leaving.
libfuzzer_sys::fuzz_target!(|data: &[u8]| weft_core::fuzzing::exercise(data));
