//! Member-side processing of a complete exclusion GSA_REKEY (issue 4 bar: < 30 µs): the
//! datagram as `Gcks::exclude` sends it, through `GroupMember::process_gsa_rekey`:
//! header and replay checks, SK decryption and ICV, decoding, AUTH verification (with
//! signatures), GSA and KD processing and the Key Path algorithm (RFC 9838 §2.4.1.4,
//! §4.2). Measured for the member next to the excluded one (it unwraps the longest
//! chain) and for a member elsewhere (one unwrap), with implicit authentication and with
//! Ed25519 signatures, each next to one raw KW_5649_256 unwrap and one Ed25519
//! verification of the same message measured in the same run.
//!
//! The key server's side of the same exclusion, `Gcks::exclude` with both messages (the
//! KEK change and the new TEKs under it), is printed too.
//!
//! The group has 4,096 members (degree 4, depth 6); at 10^6 members the next-to member
//! unwraps 4 keys more (about 1 µs each: `cargo bench --bench lkh` prints the key-path
//! step alone at 10^6).
//!
//! Run: `cargo bench --bench member_rekey -- --bench` (under `cargo test --benches` a
//! smoke run with fewer members and repetitions).

#[path = "../tests/common/group.rs"]
#[allow(dead_code)]
mod group;

use gikev2::crypto::keywrap::{unwrap, wrap, Kwa};
use gikev2::crypto::sign::{SignatureAlg, SigningKey};
use gikev2::gcks::Gcks;
use gikev2::identity::Identity;
use gikev2::time::Time;
use group::{group_config, join, messages, Member};
use std::hint::black_box;
use std::time::Instant;

const T0: Time = Time::from_millis(1_000_000);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// What one run measured (medians, µs; octets).
struct Figures {
    near: f64,
    far: f64,
    kek_change_octets: usize,
    key_server: f64,
    all_octets: usize,
}

/// Processing of the KEK-change datagram of an exclusion by the member next to the
/// excluded one and by a member far away, and the key server's `Gcks::exclude` (both
/// messages: the KEK change and the new TEKs under it, §3.2.1).
fn member_side(signing: Option<SigningKey>, members: usize, reps: usize) -> Figures {
    let mut gcks = Gcks::new();
    let mut c = group_config("bench", signing);
    c.rekey_behaviour.lkh_degree = 4;
    gcks.add_group(c, T0).unwrap();
    let mut ms: Vec<Member> = (0..members)
        .map(|i| join(&mut gcks, "bench", &format!("m{i}"), true, T0))
        .collect();
    let (mut near, mut far, mut size) = (Vec::new(), Vec::new(), 0);
    let (mut server, mut all) = (Vec::new(), 0);
    for r in 0..reps {
        // Leaves are taken in join order: members 4k..4k+3 share a parent.
        let victim = 8 * r;
        let now = T0.plus_secs(1 + r as u64);
        let start = Instant::now();
        let out = gcks
            .exclude(&Identity::key_id("bench"), &[ms[victim].id.clone()], now)
            .unwrap();
        server.push(start.elapsed().as_nanos() as f64 / 1e3);
        let msgs = messages(&out.outputs);
        all = msgs
            .iter()
            .flat_map(|m| m.datagrams.iter())
            .map(Vec::len)
            .sum();
        let kek_change = &msgs[0].datagrams;
        size = kek_change.iter().map(Vec::len).sum();
        for (who, times) in [(victim + 1, &mut near), (victim + members / 2, &mut far)] {
            let m = &mut ms[who];
            let start = Instant::now();
            for d in kek_change {
                black_box(m.gm.process_gsa_rekey(d, now).unwrap());
            }
            times.push(start.elapsed().as_nanos() as f64 / 1e3);
        }
        // Everyone else follows too (not timed), so the next exclusion finds them in
        // step.
        for (i, m) in ms.iter_mut().enumerate() {
            if i != victim && i != victim + 1 && i != victim + members / 2 {
                for d in kek_change {
                    let _ = m.gm.process_gsa_rekey(d, now);
                }
            }
            for msg in &msgs[1..] {
                for d in &msg.datagrams {
                    let _ = m.gm.process_gsa_rekey(d, now);
                }
            }
        }
    }
    Figures {
        near: median(near),
        far: median(far),
        kek_change_octets: size,
        key_server: median(server),
        all_octets: all,
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (members, reps) = if full { (4096, 41) } else { (64, 3) };
    let kwk = [5u8; 32];
    let wrapped = wrap(Kwa::Kw5649_256, &kwk, &[1u8; 32]).unwrap();
    let n = if full { 20_000 } else { 50 };
    let start = Instant::now();
    for _ in 0..n {
        black_box(unwrap(Kwa::Kw5649_256, &kwk, black_box(&wrapped)).unwrap());
    }
    let unwrap_us = start.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    let msg = vec![0x5au8; 2500];
    let mut verify_us = Vec::new();
    for alg in [SignatureAlg::Ed25519, SignatureAlg::EcdsaP256Sha256] {
        let key = SigningKey::generate(alg).unwrap();
        let verifier = key.verifying_key().unwrap();
        let sig = key.sign(&msg).unwrap();
        let n = if full { 5_000 } else { 20 };
        let start = Instant::now();
        for _ in 0..n {
            verifier.verify(black_box(&msg), black_box(&sig)).unwrap();
        }
        verify_us.push(start.elapsed().as_secs_f64() * 1e6 / f64::from(n));
    }
    println!(
        "member_rekey: baselines in this run: one KW_5649_256 unwrap {unwrap_us:.2} us; one \
         verification of 2,500 octets: Ed25519 {:.1} us, ECDSA P-256 {:.1} us",
        verify_us[0], verify_us[1]
    );
    for (name, signing) in [
        ("implicit", None),
        (
            "Ed25519",
            Some(SigningKey::generate(SignatureAlg::Ed25519).unwrap()),
        ),
        (
            "ECDSA P-256",
            Some(SigningKey::generate(SignatureAlg::EcdsaP256Sha256).unwrap()),
        ),
    ] {
        let f = member_side(signing, members, reps);
        println!(
            "member processing of an exclusion GSA_REKEY ({name}, {members} members, {} \
             octets): next to the excluded member {:.1} us, elsewhere {:.1} us (target < 30 \
             us)",
            f.kek_change_octets, f.near, f.far
        );
        println!(
            "  key server: Gcks::exclude of one member ({name}): {:.1} us for the KEK change \
             and the new TEKs, {} octets in all",
            f.key_server, f.all_octets
        );
    }
    if !full {
        println!("[smoke run: use cargo bench --bench member_rekey -- --bench]");
    }
}
