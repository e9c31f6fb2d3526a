//! `GsaPayload::decode_body` (RFC 9838 §4.4) on arbitrary octets: never panics, and every
//! accepted body re-encodes to exactly the same octets.
#![no_main]

use gikev2::wire::GsaPayload;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(g) = GsaPayload::decode_body(data) {
        let out = g.encode_body().expect("a decoded GSA body re-encodes");
        assert_eq!(out, data, "encode(decode(b)) != b");
    }
});
