#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| otelcat_fuzz::topk(data));
