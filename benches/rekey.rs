//! One exclusion GSA_REKEY at the key server, complete (issue 4 bar): the LKH plan for
//! excluding one of 1,000,000 members, the wrapped keys, the GSA and KD payloads, the
//! Ed25519 signature and the SK encryption, and the message size against a 1500-octet MTU;
//! then a batch of 1,000 excluded in messages of at most 32. Printed next to one raw
//! KW_5649_256 wrap measured in the same run.
//!
//! Run: `cargo bench --bench rekey` (under `cargo test` a small smoke run).

#[path = "support/threads.rs"]
mod threads;
use gikev2::crypto::keywrap::{wrap, Kwa};
use gikev2::crypto::sign::{SignatureAlg, SigningKey};
use gikev2::crypto::sk::{EncrAlg, SkProtector};
use gikev2::crypto::KeyMaterial;
use gikev2::executor::{Executor, Sequential};
use gikev2::gsa_rekey::{build, Authenticator};
use gikev2::lkh::{LeafId, LkhTree, WrappedKeyOut};
use gikev2::wire::{
    EncrId, GroupKeyBag, GroupKeyBagAttr, GroupPolicy, GsaPayload, GsaPolicy, KdPayload, KeyBag,
    KwaId, MemberKeyBag, MemberKeyBagAttr, Payload, PayloadBody, ProtocolId, TrafficSelector,
    Transform, TransformType, WrappedKey,
};
use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::Instant;
use threads::ScopedThreads;

const SPI: [u8; 16] = [0x11; 16];

fn wire(k: WrappedKeyOut) -> WrappedKey {
    WrappedKey {
        key_id: k.key_id,
        kwk_id: k.kwk_id,
        encrypted: k.encrypted,
    }
}

/// The inner payloads of an exclusion rekey: the new KEK policy, its SA_KEYs and the
/// WRAP_KEYs (RFC 9838 §3.2.1: nothing else).
fn inner(new_spi: [u8; 16], sa: Vec<WrappedKeyOut>, wraps: Vec<WrappedKeyOut>) -> Vec<Payload> {
    let policy = GsaPolicy {
        protocol: ProtocolId::GIKE_UPDATE,
        spi: new_spi.to_vec(),
        src_ts: TrafficSelector::ipv4_host(Ipv4Addr::new(10, 0, 0, 1), 17, Some(848)),
        dst_ts: TrafficSelector::ipv4_host(Ipv4Addr::new(239, 192, 0, 100), 17, Some(848)),
        transforms: vec![
            Transform::new(TransformType::ENCR, EncrId::ENCR_AES_GCM_16.0).with_key_length(256),
            Transform::new(TransformType::KWA, KwaId::KW_5649_256.0),
        ],
        attributes: vec![],
    };
    let mut bags = vec![KeyBag::Group(GroupKeyBag {
        protocol: ProtocolId::GIKE_UPDATE,
        spi: new_spi.to_vec(),
        attributes: sa
            .into_iter()
            .map(|k| GroupKeyBagAttr::SaKey(wire(k)))
            .collect(),
    })];
    bags.push(KeyBag::Member(MemberKeyBag {
        reserved: 0,
        attributes: wraps
            .into_iter()
            .map(|k| MemberKeyBagAttr::WrapKey(wire(k)))
            .collect(),
    }));
    vec![
        Payload::new(PayloadBody::Gsa(GsaPayload {
            policies: vec![GroupPolicy::Sa(policy)],
        })),
        Payload::new(PayloadBody::Kd(KdPayload { bags })),
    ]
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let members: u32 = if full { 1_000_000 } else { 2_000 };
    let batch: usize = if full { 1_000 } else { 40 };
    let kwk = [5u8; 32];
    let raw_wrap_ns = {
        let start = Instant::now();
        let n = if full { 20_000 } else { 50 };
        for _ in 0..n {
            black_box(wrap(Kwa::Kw5649_256, &kwk, &[1u8; 32]).unwrap());
        }
        start.elapsed().as_nanos() as f64 / f64::from(n)
    };

    let start = Instant::now();
    let mut tree = LkhTree::with_capacity(4, 32, members).unwrap();
    let leaves: Vec<LeafId> = (0..members).map(|_| tree.join(false).unwrap().0).collect();
    println!(
        "tree of {members} members, degree 4, depth {}: built in {:.0} ms",
        tree.depth(),
        start.elapsed().as_secs_f64() * 1000.0
    );
    let signer = SigningKey::generate(SignatureAlg::Ed25519).unwrap();
    let protector =
        SkProtector::new(EncrAlg::AesGcm16 { key_bits: 256 }, None, &[7; 36], &[]).unwrap();

    // One exclusion, complete.
    let mut times = Vec::new();
    let mut size = 0;
    let mut wraps = 0;
    for k in 0..5usize {
        let keymat = KeyMaterial::random(68).unwrap();
        let start = Instant::now();
        let plan = tree.exclude(&[leaves[k * 7919 % leaves.len()]]).unwrap();
        wraps = plan.wrap_count();
        let (sa, wk) = tree
            .wrap_plan(&plan, Kwa::Kw5649_256, keymat.as_bytes())
            .unwrap();
        let datagrams = build(
            &SPI,
            k as u32,
            &inner([k as u8; 16], sa, wk),
            &protector,
            Authenticator::Signature(&signer),
            None,
        )
        .unwrap();
        times.push(start.elapsed().as_nanos() as f64);
        size = datagrams[0].len();
    }
    times.sort_by(f64::total_cmp);
    let one_ns = times[times.len() / 2];
    println!(
        "one exclusion GSA_REKEY (plan, {wraps} wraps, GSA+KD, Ed25519, AES-GCM): {:.1} us median \
         (target < 200 us); {wraps} wraps x one raw wrap ({raw_wrap_ns:.0} ns) = {:.1} us",
        one_ns / 1000.0,
        wraps as f64 * raw_wrap_ns / 1000.0
    );
    println!(
        "message size: {size} octets against a 1500-octet MTU ({})",
        if size <= 1500 { "fits" } else { "fragment it" }
    );

    // A batch, in messages of at most 32 excluded members (docs/decisions.md K9): once on
    // the calling thread, once with the wraps on one thread per core (other members).
    let threads = ScopedThreads::per_core();
    for (round, exec) in [&Sequential as &dyn Executor, &threads]
        .into_iter()
        .enumerate()
    {
        let start = Instant::now();
        let mut total_wraps = 0;
        let mut total_octets = 0;
        let mut messages = 0;
        let mut chosen: Vec<LeafId> = (0..batch)
            .map(|i| leaves[(i * 997 + 13 + round * 499) % leaves.len()])
            .collect();
        // As `Gcks::exclude` does: chunks of neighbours in the tree (docs/decisions.md K26).
        chosen.sort_by_key(|l| tree.leaf_position(*l));
        for (i, chunk) in chosen.chunks(32).enumerate() {
            let keymat = KeyMaterial::random(68).unwrap();
            let plan = tree.exclude(chunk).unwrap();
            total_wraps += plan.wrap_count();
            let (sa, wk) = tree
                .wrap_plan_on(&plan, Kwa::Kw5649_256, keymat.as_bytes(), exec)
                .unwrap();
            let d = build(
                &SPI,
                100 + i as u32,
                &inner([0x80 | i as u8; 16], sa, wk),
                &protector,
                Authenticator::Signature(&signer),
                None,
            )
            .unwrap();
            total_octets += d.iter().map(Vec::len).sum::<usize>();
            messages += 1;
        }
        println!(
            "batch exclusion of {batch} ({}): {:.1} ms in {messages} messages, {total_wraps} \
             wraps, {total_octets} octets (target < 20 ms); wraps x one raw wrap = {:.1} ms",
            if round == 0 {
                "one thread".to_string()
            } else {
                format!("wraps on {} threads", exec.parallelism())
            },
            start.elapsed().as_secs_f64() * 1000.0,
            total_wraps as f64 * raw_wrap_ns / 1e6
        );
    }
    if !full {
        println!("[smoke run, unoptimised: use cargo bench --bench rekey]");
    }
}
