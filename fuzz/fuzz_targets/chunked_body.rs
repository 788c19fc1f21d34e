//! HTTP chunked and aws-chunked framing (one decoder serves both): arbitrary bytes fed in pieces
//! of a size the input chooses, into an output buffer of a size it chooses.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ringstore::http::chunked::ChunkedDecoder;

fuzz_target!(|data: &[u8]| {
    let Some((&shape, mut input)) = data.split_first() else {
        return;
    };
    let piece = usize::from(shape & 0x0f) + 1;
    let mut output = vec![0u8; usize::from(shape >> 4) * 64 + 1];
    let mut decoder = ChunkedDecoder::new();
    let mut stalls = 0;
    while !input.is_empty() && !decoder.is_done() {
        let take = piece.min(input.len());
        match decoder.step(&input[..take], &mut output) {
            Ok(step) => {
                assert!(step.consumed <= take && step.produced <= output.len());
                if step.consumed == 0 && step.produced == 0 && step.event.is_none() {
                    // The decoder wants more than one piece at once (a long line); give it all.
                    stalls += 1;
                    if stalls > 2 || decoder.step(input, &mut output).is_err() {
                        return;
                    }
                }
                input = &input[step.consumed..];
            }
            Err(_) => return,
        }
    }
});
