//! Registration cost at the key server (issue 3 bar).
//!
//! Prints the cost of one GSA_AUTH registration through `Gcks::handle_request` (GSA + KD
//! building, key wrapping, Sender-IDs, member bookkeeping, and encoding the response
//! payloads) next to one X25519 shared-secret derivation measured in the same run, and
//! the memory the key server holds per member at 100,000 members.
//!
//! Run: `cargo bench --bench registration`.

use gikev2::crypto::dh::DhGroup;
use gikev2::crypto::keywrap::Kwa;
use gikev2::crypto::prf::PrfAlg;
use gikev2::crypto::sign::{SignatureAlg, SigningKey};
use gikev2::gcks::{
    DataPolicyConfig, DataProtocol, GcAuth, Gcks, GroupConfig, Outcome, RekeyPolicyConfig,
};
use gikev2::gm::{GroupMember, MembershipConfig};
use gikev2::identity::{Identity, IdentityPattern};
use gikev2::ike_sa::IkeSaContext;
use gikev2::suite::EncrSpec;
use gikev2::time::Time;
use gikev2::wire::{self, EncrId, ExchangeType, IntegId, SnId, TrafficSelector};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

/// Counts live heap bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY-free wrapper: delegates to the system allocator and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const T0: Time = Time::from_secs(1);

fn group() -> GroupConfig {
    let mut c = GroupConfig::new(Identity::key_id("bench"));
    c.data_policies.push(DataPolicyConfig {
        name: "video".into(),
        protocol: DataProtocol::Esp,
        encr: Some(EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 256)),
        integ: None,
        sn: SnId::UNSPECIFIED32,
        src: TrafficSelector::ipv4_host(Ipv4Addr::new(10, 0, 0, 1), 0, None),
        dst: TrafficSelector::ipv4_host(Ipv4Addr::new(239, 192, 0, 1), 17, Some(5000)),
        lifetime_secs: 3600,
    });
    c.data_policies.push(DataPolicyConfig {
        name: "telemetry".into(),
        protocol: DataProtocol::Esp,
        encr: Some(EncrSpec::with_bits(EncrId::ENCR_AES_CBC, 256)),
        integ: Some(IntegId::AUTH_HMAC_SHA2_256_128),
        sn: SnId::SEQ32,
        src: TrafficSelector::ipv4_host(Ipv4Addr::new(10, 0, 0, 1), 0, None),
        dst: TrafficSelector::ipv4_host(Ipv4Addr::new(239, 192, 0, 2), 17, Some(6000)),
        lifetime_secs: 3600,
    });
    c.rekey = Some(RekeyPolicyConfig {
        encr: EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 256),
        integ: None,
        kwa: Kwa::Kw5649_256,
        auth: GcAuth::Signature(SigningKey::generate(SignatureAlg::Ed25519).unwrap()),
        src: TrafficSelector::ipv4_host(Ipv4Addr::new(10, 0, 0, 1), 17, Some(848)),
        dst: TrafficSelector::ipv4_host(Ipv4Addr::new(239, 192, 0, 100), 17, Some(848)),
        lifetime_secs: 7200,
    });
    c.authorized = vec![IdentityPattern::Any];
    c.capacity = 10_000_000;
    c.sender_id_bits = 24;
    c
}

fn context(i: u32) -> IkeSaContext {
    let spi: [u8; 8] = [i.to_be_bytes(), [0xab; 4]].concat().try_into().unwrap();
    IkeSaContext::new(
        spi,
        [0x5a; 8],
        PrfAlg::HmacSha256,
        &[(i % 251) as u8; 32],
        Kwa::Kw5649_256,
        Identity::key_id(format!("member-{i:07}")),
    )
    .unwrap()
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this binary without it,
    // unoptimised: then only a smoke run that checks the code paths.
    let full = std::env::args().any(|a| a == "--bench");
    let (n, m): (u32, u32) = if full { (20_000, 100_000) } else { (50, 200) };
    // The request every member sends: IDg, SAg, GROUP_SENDER(1), as decoded from the wire.
    let cfg = MembershipConfig::sender(Identity::key_id("bench"), 1);
    let gm_ctx = context(u32::MAX);
    let request = {
        let (first, bytes) =
            wire::encode_payloads(&GroupMember::new(gm_ctx).join_request(&cfg)).unwrap();
        wire::decode_payloads(first, &bytes).unwrap()
    };

    // Baseline: one X25519 shared-secret derivation (what charon does per IKE_SA_INIT).
    let ours = DhGroup::Curve25519.generate().unwrap();
    let peer = DhGroup::Curve25519
        .generate()
        .unwrap()
        .public_value()
        .unwrap();
    let x25519_ns = time_per_op(if full { 2_000 } else { 10 }, || {
        black_box(ours.shared_secret(black_box(&peer)).unwrap());
    });

    // Registrations: N distinct members, contexts prepared outside the timed loop (the
    // IKE SA, GSK_w included, belongs to charon's IKE_AUTH work).
    let contexts: Vec<IkeSaContext> = (0..n).map(context).collect();
    let mut gcks = Gcks::new();
    gcks.add_group(group(), T0).unwrap();
    let start = Instant::now();
    let mut response_len = 0;
    for ctx in &contexts {
        let resp = gcks.handle_request(ctx, ExchangeType::GSA_AUTH, &request, T0);
        assert!(matches!(resp.outcome, Outcome::Registered { .. }));
        let (_, bytes) = wire::encode_payloads(&resp.payloads).unwrap();
        response_len = bytes.len();
        black_box(bytes);
    }
    let reg_ns = start.elapsed().as_nanos() as f64 / f64::from(n);
    let ctx_ns = time_per_op(if full { 2_000 } else { 10 }, || {
        black_box(context(black_box(7)));
    });

    println!("registration (GSA + KD, 3 keys wrapped, Sender-ID, {response_len}-octet payloads encoded): {:>8.2} us", reg_ns / 1000.0);
    println!(
        "X25519 shared secret (baseline, same run):                                 {:>8.2} us",
        x25519_ns / 1000.0
    );
    println!(
        "ratio registration / X25519: {:.3} (target < 0.25){}",
        reg_ns / x25519_ns,
        if full {
            ""
        } else {
            " [smoke run, unoptimised: use cargo bench]"
        }
    );
    println!(
        "IKE SA context incl. GSK_w derivation (charon side, for reference): {:.2} us",
        ctx_ns / 1000.0
    );

    // Memory per member at 100,000 members.
    drop(gcks);
    drop(contexts);
    let members_total = m;
    let mut gcks = Gcks::new();
    gcks.add_group(group(), T0).unwrap();
    let before = LIVE.load(Ordering::Relaxed);
    for i in 0..members_total {
        let ctx = context(i);
        let resp = gcks.handle_request(&ctx, ExchangeType::GSA_AUTH, &request, T0);
        debug_assert!(matches!(resp.outcome, Outcome::Registered { .. }));
    }
    let after = LIVE.load(Ordering::Relaxed);
    let members = gcks.groups().next().map_or(0, |g| g.member_count());
    println!(
        "key server memory at {members} members: {:.0} B per member (target < 1024; includes the member's identity, {} octets here)",
        (after - before) as f64 / f64::from(members_total),
        "member-0000000".len()
    );
}

fn time_per_op(iters: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..iters / 10 {
        f();
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        best = best.min(start.elapsed().as_nanos() as f64 / f64::from(iters));
    }
    best
}
