//! Codec benchmarks on the GSA_AUTH response sample (`tests/common/samples.rs`): decode,
//! encode and both together for the whole message, and the GSA and KD bodies alone.
//!
//! Run with `cargo bench --bench codec`. After the criterion groups a one-line summary is
//! measured in the same run against the target of 5 us for decode+encode.
//!
//! For a profiler, `CODEC_PROFILE_ITERS=N` skips criterion and runs only N decode+encode
//! iterations, e.g.
//! `CODEC_PROFILE_ITERS=2000 valgrind --tool=callgrind target/release/deps/codec-<hash>`.

#[path = "../tests/common/samples.rs"]
mod samples;

use criterion::{BenchmarkId, Criterion, Throughput};
use gikev2::wire::{GsaPayload, KdPayload, Message};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Target for decode+encode of the GSA_AUTH response.
const TARGET_NS: f64 = 5000.0;

fn message_benches(c: &mut Criterion) {
    let bytes = samples::gsa_auth_response_bytes();
    let message = Message::decode(&bytes).expect("sample decodes");
    let mut g = c.benchmark_group("gsa_auth_response");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function(BenchmarkId::new("decode", bytes.len()), |b| {
        b.iter(|| Message::decode(black_box(&bytes)).unwrap())
    });
    g.bench_function(BenchmarkId::new("encode", bytes.len()), |b| {
        b.iter(|| black_box(&message).encode().unwrap())
    });
    g.bench_function(BenchmarkId::new("decode+encode", bytes.len()), |b| {
        b.iter(|| {
            Message::decode(black_box(&bytes))
                .unwrap()
                .encode()
                .unwrap()
        })
    });
    g.finish();
}

fn body_benches(c: &mut Criterion) {
    let gsa = samples::gsa_auth_response_gsa();
    let gsa_bytes = gsa.encode_body().expect("GSA encodes");
    let kd = samples::gsa_auth_response_kd();
    let kd_bytes = kd.encode_body().expect("KD encodes");

    let mut g = c.benchmark_group("gsa_body");
    g.throughput(Throughput::Bytes(gsa_bytes.len() as u64));
    g.bench_function(BenchmarkId::new("decode", gsa_bytes.len()), |b| {
        b.iter(|| GsaPayload::decode_body(black_box(&gsa_bytes)).unwrap())
    });
    g.bench_function(BenchmarkId::new("encode", gsa_bytes.len()), |b| {
        b.iter(|| black_box(&gsa).encode_body().unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("kd_body");
    g.throughput(Throughput::Bytes(kd_bytes.len() as u64));
    g.bench_function(BenchmarkId::new("decode", kd_bytes.len()), |b| {
        b.iter(|| KdPayload::decode_body(black_box(&kd_bytes)).unwrap())
    });
    g.bench_function(BenchmarkId::new("encode", kd_bytes.len()), |b| {
        b.iter(|| black_box(&kd).encode_body().unwrap())
    });
    g.finish();
}

/// Mean decode+encode time over a plain loop, in nanoseconds (best of a few rounds, to
/// ride out other load on a shared machine).
fn decode_encode_ns(bytes: &[u8]) -> f64 {
    const ITERS: u32 = 20_000;
    for _ in 0..2_000 {
        black_box(Message::decode(black_box(bytes)).unwrap().encode().unwrap());
    }
    (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..ITERS {
                black_box(Message::decode(black_box(bytes)).unwrap().encode().unwrap());
            }
            start.elapsed().as_nanos() as f64 / f64::from(ITERS)
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let bytes = samples::gsa_auth_response_bytes();
    if let Some(n) = std::env::var("CODEC_PROFILE_ITERS")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
    {
        for _ in 0..n {
            black_box(
                Message::decode(black_box(&bytes))
                    .unwrap()
                    .encode()
                    .unwrap(),
            );
        }
        return;
    }
    println!(
        "GSA_AUTH response sample: {} octets (GSA body {}, KD body {})",
        bytes.len(),
        samples::gsa_auth_response_gsa()
            .encode_body()
            .unwrap()
            .len(),
        samples::gsa_auth_response_kd().encode_body().unwrap().len(),
    );

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    message_benches(&mut c);
    body_benches(&mut c);
    c.final_summary();

    // `cargo test --all-targets` runs this binary without `--bench` (criterion's test
    // mode, unoptimised build): skip the timing loop there.
    if !std::env::args().any(|a| a == "--bench") {
        println!("decode+encode timing skipped (not run by `cargo bench`)");
        return;
    }
    let ns = decode_encode_ns(&bytes);
    println!(
        "decode+encode of a {}-octet GSA_AUTH response: {ns:.0} ns (target < {TARGET_NS:.0} ns){}",
        bytes.len(),
        if ns < TARGET_NS { "" } else { " OVER TARGET" },
    );
}
