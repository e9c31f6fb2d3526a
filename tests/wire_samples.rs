//! The shared samples (`tests/common/samples.rs`) round-trip and have the sizes the
//! bench and the layout notes rely on; plus the fuzz corpus seeder.
//!
//! Seed the fuzz corpus (git-ignored) with:
//!
//! ```text
//! cargo test --test wire_samples -- --ignored write_fuzz_corpus
//! ```

mod common;

use common::samples::{self, all_messages};
use gikev2::wire::{
    decode_payloads, encode_payloads, GsaPayload, KdPayload, MemberKeyBagAttr, Message,
    PayloadBody, SignatureAuthData, WrappedKey,
};

#[test]
fn every_sample_round_trips() {
    for (name, m) in all_messages() {
        let bytes = m.encode().unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = Message::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back, m, "{name}");
        assert_eq!(back.encode().unwrap(), bytes, "{name}");
    }
}

#[test]
fn gsa_auth_response_has_the_documented_shape() {
    let bytes = samples::gsa_auth_response_bytes();
    // 28 header + IDr 24 + AUTH 80 + GSA 271 + KD 460 + N 8.
    assert_eq!(bytes.len(), 871);
    let inner = samples::gsa_auth_response_inner();
    let (first, chain) = encode_payloads(&inner).unwrap();
    assert_eq!(chain.len(), 871 - 28);
    assert_eq!(decode_payloads(first, &chain).unwrap(), inner);

    let PayloadBody::Auth(auth) = &inner[1].body else {
        panic!("AUTH second")
    };
    let sig = SignatureAuthData::decode(&auth.data).unwrap();
    assert_eq!(sig.algorithm_identifier, samples::ED25519_ALG_ID);
    assert_eq!(sig.signature.len(), 64);

    let gsa = samples::gsa_auth_response_gsa();
    let kek = gsa.sa_policies().next().unwrap();
    assert_eq!(kek.key_lifetime(), Ok(Some(86_400)));
    assert_eq!(kek.initial_message_id(), Ok(Some(1)));
    assert_eq!(gsa.sa_policies().count(), 3);
    assert!(gsa.gw_policy().is_some());

    let kd = samples::gsa_auth_response_kd();
    let sizes: Vec<usize> = kd
        .group_bags()
        .flat_map(|b| b.sa_keys())
        .map(|k| k.encrypted.len())
        .collect();
    assert_eq!(sizes, [72, 48, 48]);
    let member = kd.member_bags().next().unwrap();
    assert!(member
        .wrap_keys()
        .all(|k: &WrappedKey| k.encrypted.len() == 40));
    assert_eq!(member.auth_keys().next().unwrap().len(), 44);
    assert!(member
        .attributes
        .iter()
        .any(|a| matches!(a, MemberKeyBagAttr::GmSenderId(v) if v.len() == 4)));
}

#[test]
fn rfc5649_lengths() {
    assert_eq!(samples::kw5649_len(1), 16);
    assert_eq!(samples::kw5649_len(8), 16);
    assert_eq!(samples::kw5649_len(16), 24);
    assert_eq!(samples::kw5649_len(32), 40);
    assert_eq!(samples::kw5649_len(36), 48);
    assert_eq!(samples::kw5649_len(64), 72);
}

/// Writes every sample into `fuzz/corpus/<target>/` (the directory is git-ignored).
#[test]
#[ignore = "writes fuzz/corpus; run explicitly to seed the fuzzers"]
fn write_fuzz_corpus() {
    use std::fs;
    use std::path::PathBuf;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let write = |target: &str, name: &str, data: &[u8]| {
        let dir = root.join(target);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(name), data).unwrap();
    };
    for (name, m) in all_messages() {
        write("decode_message", name, &m.encode().unwrap());
        let (first, chain) = encode_payloads(&m.payloads).unwrap();
        let mut input = vec![first.0];
        input.extend(chain);
        write("decode_chain", name, &input);
        for (i, p) in m.payloads.iter().enumerate() {
            match &p.body {
                PayloadBody::Gsa(g) => write(
                    "decode_gsa",
                    &format!("{name}_{i}"),
                    &g.encode_body().unwrap(),
                ),
                PayloadBody::Kd(k) => write(
                    "decode_kd",
                    &format!("{name}_{i}"),
                    &k.encode_body().unwrap(),
                ),
                _ => {}
            }
        }
    }
    let gsa = samples::gsa_auth_response_gsa();
    for (i, p) in gsa.policies.iter().enumerate() {
        let one = GsaPayload {
            policies: vec![p.clone()],
        };
        write(
            "decode_gsa",
            &format!("policy_{i}"),
            &one.encode_body().unwrap(),
        );
    }
    let kd = samples::gsa_auth_response_kd();
    for (i, b) in kd.bags.iter().enumerate() {
        let one = KdPayload {
            bags: vec![b.clone()],
        };
        write(
            "decode_kd",
            &format!("bag_{i}"),
            &one.encode_body().unwrap(),
        );
    }
}
