//! `decode_payloads` on arbitrary octets: the first octet is the first payload's type (as
//! the SK header's Next Payload would give it), the rest is the chain. Never panics, and
//! every accepted chain re-encodes to the same first type and octets.
#![no_main]

use gikev2::wire::{decode_payloads, encode_payloads, PayloadType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, chain)) = data.split_first() else {
        return;
    };
    if let Ok(payloads) = decode_payloads(PayloadType(first), chain) {
        let (out_first, out) = encode_payloads(&payloads).expect("a decoded chain re-encodes");
        assert_eq!(out, chain, "encode(decode(b)) != b");
        assert_eq!(out_first, PayloadType(first), "first payload type changed");
    }
});
