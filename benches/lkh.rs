//! LKH key tree cost at the key server and at a member (RFC 9838 §2.4.1, §4.2, Appendix A).
//!
//! For trees of 1,000,000 members with degree 2, 4 and 8, prints:
//! - build time (pre-built tree + 10^6 joins) and heap bytes per member, counted by a
//!   counting global allocator (target < 200 B/member);
//! - one exclusion: plan time, wrap time, the wrap count next to the d*h - 1 optimum
//!   (target < 200 us built and wrapped);
//! - a batch exclusion of 1,000 random members: time and wrap count (target < 20 ms), on
//!   the calling thread and again with the same plan's wraps handed to a host executor
//!   with one thread per core (`gikev2::executor`; the output must be identical);
//! - member side: `WorkingKeyPath::apply_rekey` on an exclusion rekey, for a member next to
//!   the excluded one (longest chain), a member elsewhere (one unwrap) and the mean over
//!   random members (target < 30 us);
//! - `registration_keys` per registration, cache cold and warm, and the cache's size;
//! - and, measured in the same run as the unit, one raw `keywrap::wrap(Kw5649_256, ..)` of
//!   32 octets. Every LKH figure is essentially "wrap count x this unit".
//!
//! Run: `cargo bench --bench lkh` (about a minute). Without `--bench` (as under
//! `cargo test --benches`) it runs the same code on 10,000 members as a smoke test.

#[path = "support/threads.rs"]
mod threads;
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use threads::ScopedThreads;

use gikev2::crypto::keywrap::{unwrap, wrap, KeyWrapper, Kwa};
use gikev2::crypto::{Key, KeyMaterial};
use gikev2::lkh::{LeafId, LkhTree, WorkingKeyPath, WrappedKeyIn, WrappedKeyOut};

/// Counts live heap bytes and allocation calls.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static CALLS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method delegates to the system allocator with the caller's arguments
// unchanged; the wrapper only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        CALLS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }

    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        CALLS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(l) }
    }

    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }

    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        CALLS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

const KWA: Kwa = Kwa::Kw5649_256;
const KEYMAT_LEN: usize = 64;

/// xorshift64*, to pick members reproducibly.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64) as usize
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn inputs(v: &[WrappedKeyOut]) -> Vec<WrappedKeyIn<'_>> {
    v.iter().map(WrappedKeyOut::as_input).collect()
}

/// ns per call of `f`, best of three rounds of `iters`.
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

/// Registers `leaf` and returns its Working Key Path.
fn register(tree: &mut LkhTree, leaf: LeafId, keymat: &KeyMaterial) -> WorkingKeyPath {
    let (sa, mut wk, _) = tree
        .registration_keys(leaf, KWA, keymat.as_bytes())
        .unwrap();
    let gsk_w = Key::random(32).unwrap();
    let mut w = KeyWrapper::new(KWA, gsk_w.as_bytes()).unwrap();
    wk.push(tree.wrap_leaf_key(leaf, &mut w).unwrap());
    WorkingKeyPath::from_registration(sa.as_input(), &inputs(&wk), KWA, |d| {
        unwrap(KWA, gsk_w.as_bytes(), d)
    })
    .unwrap()
    .0
}

/// Another member under the same parent as `leaf` (the tree was filled in order, so leaf
/// positions are join order).
fn sibling(leaves: &[LeafId], i: usize, degree: usize) -> usize {
    let base = i - i % degree;
    let j = base + (i + 1) % degree;
    if j < leaves.len() {
        j
    } else {
        base
    }
}

/// Build: a pre-built tree of `members` leaves and every member joined. Returns the tree,
/// the leaves in join order, the time, and the heap bytes and allocation calls counted.
fn build(degree: usize, members: u32) -> (LkhTree, Vec<LeafId>, Duration, isize, usize) {
    let mut leaves: Vec<LeafId> = Vec::with_capacity(members as usize);
    let (live0, calls0) = (live(), CALLS.load(Ordering::Relaxed));
    let t = Instant::now();
    let mut tree = LkhTree::with_capacity(degree, 32, members).unwrap();
    for _ in 0..members {
        leaves.push(tree.join(false).unwrap().0);
    }
    let elapsed = t.elapsed();
    let bytes = live() - live0;
    (
        tree,
        leaves,
        elapsed,
        bytes,
        CALLS.load(Ordering::Relaxed) - calls0,
    )
}

/// Per-registration time over `sample`, cache cleared first then warm; cache entries and
/// the heap bytes the cache holds.
fn registrations(
    tree: &mut LkhTree,
    leaves: &[LeafId],
    sample: &[usize],
    keymat: &KeyMaterial,
) -> (f64, f64, usize, isize) {
    tree.clear_registration_cache();
    let live0 = live();
    let mut per = [0.0; 2];
    for slot in &mut per {
        let t = Instant::now();
        for &i in sample {
            black_box(
                tree.registration_keys(leaves[i], KWA, keymat.as_bytes())
                    .unwrap(),
            );
        }
        *slot = us(t.elapsed()) / sample.len() as f64;
    }
    (per[0], per[1], tree.cached_wraps(), live() - live0)
}

/// Member side of one exclusion: the member next to the excluded one (longest chain), one
/// far away (the SA_KEY under its unchanged top node) and the mean over random members.
/// Returns (next-to us, its unwraps, far us, mean us).
fn member_side(
    tree: &mut LkhTree,
    leaves: &[LeafId],
    rng: &mut Rng,
    keymat: &KeyMaterial,
) -> (f64, usize, f64, f64) {
    let degree = tree.degree();
    let victim = rng.below(leaves.len());
    let near = sibling(leaves, victim, degree);
    let far = (victim + leaves.len() / 2) % leaves.len();
    let near_path = register(tree, leaves[near], keymat);
    let far_path = register(tree, leaves[far], keymat);
    let randoms: Vec<WorkingKeyPath> = (0..50)
        .map(|_| rng.below(leaves.len()))
        .filter(|&i| i != victim)
        .map(|i| register(tree, leaves[i], keymat))
        .collect();
    let plan = tree.exclude(&[leaves[victim]]).unwrap();
    let new_keymat = KeyMaterial::random(KEYMAT_LEN).unwrap();
    let (sa, wk) = tree.wrap_plan(&plan, KWA, new_keymat.as_bytes()).unwrap();
    let (sa, wk) = (inputs(&sa), inputs(&wk));
    let mut probe = near_path.duplicate();
    probe.apply_rekey(&sa, &wk, KWA, None).unwrap();
    // The new chain replaces everything above the leaf: chain length + the SA_KEY.
    let near_unwraps = probe.len();
    let near_ns = time_ns(300, || {
        let mut p = near_path.duplicate();
        black_box(p.apply_rekey(&sa, &wk, KWA, None).unwrap());
    });
    let far_ns = time_ns(300, || {
        let mut p = far_path.duplicate();
        black_box(p.apply_rekey(&sa, &wk, KWA, None).unwrap());
    });
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        for p in &randoms {
            let mut p = p.duplicate();
            black_box(p.apply_rekey(&sa, &wk, KWA, None).unwrap());
        }
        best = best.min(us(t.elapsed()) / randoms.len() as f64);
    }
    (near_ns / 1e3, near_unwraps, far_ns / 1e3, best)
}

/// `reps` single exclusions of random members: mean plan us, mean wrap us, mean wraps.
fn single_exclusions(
    tree: &mut LkhTree,
    leaves: &[LeafId],
    rng: &mut Rng,
    reps: usize,
) -> (f64, f64, f64) {
    let (mut plan_us, mut wrap_us, mut wraps, mut done) = (0.0, 0.0, 0, 0);
    while done < reps {
        let leaf = leaves[rng.below(leaves.len())];
        if !tree.is_member(leaf) {
            continue;
        }
        let keymat = KeyMaterial::random(KEYMAT_LEN).unwrap();
        let t0 = Instant::now();
        let plan = tree.exclude(&[leaf]).unwrap();
        let t1 = Instant::now();
        black_box(tree.wrap_plan(&plan, KWA, keymat.as_bytes()).unwrap());
        let t2 = Instant::now();
        plan_us += us(t1 - t0);
        wrap_us += us(t2 - t1);
        wraps += plan.wrap_count();
        done += 1;
    }
    let n = reps as f64;
    (plan_us / n, wrap_us / n, wraps as f64 / n)
}

/// One exclusion of `batch` distinct random members: total ms on the calling thread, plan
/// ms, wraps, and the wrap ms of the same plan again through `threads`.
fn batch_exclusion(
    tree: &mut LkhTree,
    leaves: &[LeafId],
    rng: &mut Rng,
    batch: usize,
    threads: &ScopedThreads,
) -> (f64, f64, usize, f64) {
    let mut picked = std::collections::HashSet::new();
    while picked.len() < batch {
        let leaf = leaves[rng.below(leaves.len())];
        if tree.is_member(leaf) {
            picked.insert(leaf);
        }
    }
    let batch: Vec<LeafId> = picked.into_iter().collect();
    let keymat = KeyMaterial::random(KEYMAT_LEN).unwrap();
    let t0 = Instant::now();
    let plan = tree.exclude(&batch).unwrap();
    let t1 = Instant::now();
    let sequential = tree.wrap_plan(&plan, KWA, keymat.as_bytes()).unwrap();
    let t2 = Instant::now();
    let parallel = tree
        .wrap_plan_on(&plan, KWA, keymat.as_bytes(), threads)
        .unwrap();
    let t3 = Instant::now();
    assert_eq!(sequential, parallel, "the executor changed the wraps");
    (
        (t2 - t0).as_secs_f64() * 1e3,
        (t1 - t0).as_secs_f64() * 1e3,
        plan.wrap_count(),
        (t3 - t2).as_secs_f64() * 1e3,
    )
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (members, batch, regs, reps) = if full {
        (1_000_000u32, 1_000usize, 20_000usize, 50usize)
    } else {
        (10_000, 100, 500, 5)
    };
    let unit_ns = time_ns(if full { 100_000 } else { 2_000 }, || {
        black_box(wrap(KWA, black_box(&[0x5a; 32]), black_box(&[0xc3; 32])).unwrap());
    });
    let unit_us = unit_ns / 1e3;
    println!("lkh: unit = one keywrap::wrap(Kw5649_256, 32 octets) = {unit_us:.2} us (this run)");
    println!(
        "lkh: {members} members, node keys of 32 octets (KW_5649_256), Rekey SA KEYMAT of \
         {KEYMAT_LEN} octets"
    );
    // The executor a host would hand the library: one thread per core.
    let threads = ScopedThreads::per_core();
    for degree in [2usize, 4, 8] {
        let mut rng = Rng(0x5_DEEC_E66D ^ degree as u64);
        let keymat = KeyMaterial::random(KEYMAT_LEN).unwrap();
        let (mut tree, leaves, build_t, bytes, allocs) = build(degree, members);
        let n = f64::from(members);
        let (depth, tops) = (tree.depth(), tree.top_ids().len());
        let optimum = degree * depth - 1;
        // The machine is shared: measure the unit again next to each degree's figures.
        let unit_us = time_ns(if full { 50_000 } else { 1_000 }, || {
            black_box(wrap(KWA, black_box(&[0x5a; 32]), black_box(&[0xc3; 32])).unwrap());
        }) / 1e3;
        println!("lkh d={degree}: depth {depth}, {tops} top nodes; unit now {unit_us:.2} us");
        println!(
            "  build: {:.0} ms; {:.1} B/member counted by the allocator ({:.1} by heap_bytes, \
             leaf handles excluded), {allocs} allocations (target < 200 B/member)",
            build_t.as_secs_f64() * 1e3,
            (bytes as f64 - leaves.capacity() as f64 * 4.0) / n,
            tree.heap_bytes() as f64 / n,
        );

        let sample: Vec<usize> = (0..regs).map(|_| rng.below(leaves.len())).collect();
        let (cold, warm, entries, cache_bytes) =
            registrations(&mut tree, &leaves, &sample, &keymat);
        println!(
            "  registration_keys: {cold:.2} us cold cache, {warm:.2} us warm per registration \
             ({} wraps uncached); cache {entries} entries, {:.1} B/member after {regs} \
             registrations",
            depth,
            cache_bytes as f64 / n
        );

        let (near, near_unwraps, far, mean) = member_side(&mut tree, &leaves, &mut rng, &keymat);
        println!(
            "  member apply_rekey (one exclusion): next to the excluded member {near:.1} us \
             ({near_unwraps} unwraps), elsewhere {far:.1} us (1 unwrap), mean of 50 random \
             members {mean:.1} us (target < 30 us)"
        );

        let (plan_us, wrap_us, wraps) = single_exclusions(&mut tree, &leaves, &mut rng, reps);
        println!(
            "  one exclusion (mean of {reps}): plan {plan_us:.1} us + wrap {wrap_us:.1} us = \
             {:.1} us; {wraps:.1} wraps (d*h-1 = {optimum}); wraps x unit = {:.1} us \
             (target < 200 us)",
            plan_us + wrap_us,
            wraps * unit_us
        );

        let (total, plan_ms, wraps, par_wrap) =
            batch_exclusion(&mut tree, &leaves, &mut rng, batch, &threads);
        println!(
            "  batch of {batch}: {total:.2} ms (plan {plan_ms:.2} ms), {wraps} wraps; wraps x \
             unit = {:.2} ms (target < 20 ms); with the wraps on {} threads: {:.2} ms",
            wraps as f64 * unit_us / 1e3,
            threads.0,
            plan_ms + par_wrap
        );
    }
}
