//! `KdPayload::decode_body` (RFC 9838 §4.5) on arbitrary octets: never panics, and every
//! accepted body re-encodes to exactly the same octets.
#![no_main]

use gikev2::wire::KdPayload;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(k) = KdPayload::decode_body(data) {
        let out = k.encode_body().expect("a decoded KD body re-encodes");
        assert_eq!(out, data, "encode(decode(b)) != b");
    }
});
