//! Key wrap cost: `gikev2::crypto::keywrap::wrap` (KW_5649_256, RFC 9838 §4.4.2.1.2) against
//! the raw OpenSSL calls it is built on.
//!
//! Measured, all for a 32-octet key under a 256-bit KWK:
//! - ours: `keywrap::wrap(Kwa::Kw5649_256, ..)` (one-shot, validates inputs, new context);
//! - ours, reused: `KeyWrapper::wrap` (context and key schedule prepared once);
//! - raw wrap: `CipherCtx` + `aes_256_wrap_pad` set up and run directly, per call;
//! - AES block: one AES-256-ECB encryption of one 16-octet block on a context whose key is
//!   already set (the baseline).
//!
//! After the criterion groups, `cargo bench --bench keywrap` prints one summary line with
//! ns/op for each and the ratios ours / raw wrap and ours / AES block, measured in the same
//! run with a plain `Instant` loop. Target: ours within 3x of the raw wrap.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, Criterion};
use gikev2::crypto::keywrap::{wrap, KeyWrapper, Kwa};
use openssl::cipher::Cipher;
use openssl::cipher_ctx::{CipherCtx, CipherCtxFlags};

const KWK: [u8; 32] = [0x5a; 32];
const KEY: [u8; 32] = [0xc3; 32];

fn raw_wrap(kwk: &[u8], key: &[u8]) -> Vec<u8> {
    let mut ctx = CipherCtx::new().unwrap();
    ctx.set_flags(CipherCtxFlags::FLAG_WRAP_ALLOW);
    ctx.encrypt_init(Some(Cipher::aes_256_wrap_pad()), Some(kwk), None)
        .unwrap();
    let mut out = vec![0u8; 40];
    let n = ctx.cipher_update(key, Some(&mut out)).unwrap();
    out.truncate(n);
    out
}

fn aes_block_ctx() -> CipherCtx {
    let mut ctx = CipherCtx::new().unwrap();
    ctx.encrypt_init(Some(Cipher::aes_256_ecb()), Some(&KWK), None)
        .unwrap();
    ctx.set_padding(false);
    ctx
}

fn aes_block(ctx: &mut CipherCtx, block: &[u8; 16], out: &mut [u8; 32]) -> usize {
    ctx.cipher_update(block, Some(out)).unwrap()
}

fn bench_keywrap(c: &mut Criterion) {
    assert_eq!(
        wrap(Kwa::Kw5649_256, &KWK, &KEY).unwrap(),
        raw_wrap(&KWK, &KEY)
    );
    let mut g = c.benchmark_group("keywrap_32_octets");
    g.bench_function("gikev2_wrap_kw5649_256", |b| {
        b.iter(|| wrap(Kwa::Kw5649_256, black_box(&KWK), black_box(&KEY)).unwrap())
    });
    let mut wrapper = KeyWrapper::new(Kwa::Kw5649_256, &KWK).unwrap();
    g.bench_function("gikev2_keywrapper_reused", |b| {
        b.iter(|| wrapper.wrap(black_box(&KEY)).unwrap())
    });
    g.bench_function("openssl_raw_aes_256_wrap_pad", |b| {
        b.iter(|| raw_wrap(black_box(&KWK), black_box(&KEY)))
    });
    let mut ctx = aes_block_ctx();
    let block = [0x11u8; 16];
    let mut out = [0u8; 32];
    g.bench_function("openssl_aes_256_one_block", |b| {
        b.iter(|| aes_block(&mut ctx, black_box(&block), &mut out))
    });
    g.finish();
}

/// ns/op of `f` over `iters` calls, best of three rounds.
fn time_ns<F: FnMut()>(iters: u32, mut f: F) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        best = best.min(t.elapsed().as_nanos() as f64 / f64::from(iters));
    }
    best
}

fn summary() {
    let n = 100_000;
    let ours = time_ns(n, || {
        black_box(wrap(Kwa::Kw5649_256, black_box(&KWK), black_box(&KEY)).unwrap());
    });
    let mut wrapper = KeyWrapper::new(Kwa::Kw5649_256, &KWK).unwrap();
    let reused = time_ns(n, || {
        black_box(wrapper.wrap(black_box(&KEY)).unwrap());
    });
    let raw = time_ns(n, || {
        black_box(raw_wrap(black_box(&KWK), black_box(&KEY)));
    });
    let mut ctx = aes_block_ctx();
    let block = [0x11u8; 16];
    let mut out = [0u8; 32];
    let aes = time_ns(n * 10, || {
        black_box(aes_block(&mut ctx, black_box(&block), &mut out));
    });
    println!(
        "keywrap summary: ours {ours:.0} ns/op, ours (KeyWrapper reused) {reused:.0} ns/op, \
         raw OpenSSL wrap {raw:.0} ns/op, AES-256 block {aes:.1} ns/op; \
         ours/raw wrap = {:.2}x (target <= 3x), ours/AES block = {:.1}x, \
         reused/raw wrap = {:.2}x",
        ours / raw,
        ours / aes,
        reused / raw
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = bench_keywrap
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // Only under `cargo bench` (which passes --bench); `cargo test --benches` runs a quick
    // smoke test of the criterion groups and skips the timing loop.
    if std::env::args().any(|a| a == "--bench") {
        summary();
    }
}
