//! `Message::decode` on arbitrary octets: never panics, and every accepted input
//! re-encodes to exactly the same octets (the codec's lossless guarantee).
#![no_main]

use gikev2::wire::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        let out = m.encode().expect("a decoded message re-encodes");
        assert_eq!(out, data, "encode(decode(b)) != b");
        assert_eq!(Message::decode(&out).as_ref(), Ok(&m));
    }
});
