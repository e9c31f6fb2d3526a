//! The member side of LKH: the Working Key Path and the Key Path algorithm (RFC 9838 §4.2,
//! draft §3.3; digest §4.2).
//!
//! A member holds an ordered list of (Key ID, key), top-level node first and its own leaf
//! last (Appendix A.2: A holds 1-3-7). For the Rekey SA's SA_KEYs it builds a Key Path
//! SA_KEY -> WRAP_KEY -> ... ending at GSK_w (KWK ID 0) or at a key it holds, unwraps along
//! it and updates the Working Key Path (§4.2 steps 3 and 4). When no SA_KEY leads to a held
//! key, the member has been excluded (§4.2 step 5).
//!
//! # Search
//!
//! Chains are found by a breadth-first search from the held keys over the WRAP_KEYs
//! (KWK ID -> Key ID), so each chain is a shortest one, every Key ID is visited once and a
//! cycle cannot loop. Inputs are bounded ([`MAX_SA_KEYS`], [`MAX_WRAP_KEYS`]) and so is the
//! resulting path ([`MAX_PATH_LEN`]); each WRAP_KEY is unwrapped at most once per call. The
//! work is done on the side and the path is replaced only on success, so a rejected
//! message changes nothing.

use std::collections::{HashMap, VecDeque};
use std::fmt;

use super::{KeyId, PathError, WrappedKeyIn};
use crate::crypto::keywrap::{unwrap, Kwa, MultiKeyUnwrapper};
use crate::crypto::{CryptoError, Key, KeyMaterial};

/// Most SA_KEY attributes accepted in one message (RFC 9838 §4.5.2 allows several for
/// the Rekey SA in GSA_REKEY; a tree of degree 8 needs at most 8).
pub const MAX_SA_KEYS: usize = 1024;
/// Most WRAP_KEY attributes accepted in one message (RFC 9838 §4.5.3.1). One KD payload
/// (at most 65,535 octets) holds about 1,250 WRAP_KEYs of 32-octet keys; the bound leaves
/// room for messages with several.
pub const MAX_WRAP_KEYS: usize = 65_536;
/// Longest Working Key Path (and Key Path) accepted (RFC 9838 §4.2): far above any tree
/// depth (a binary tree of 2^28 members is 28 deep).
pub const MAX_PATH_LEN: usize = 64;

struct PathEntry {
    id: KeyId,
    key: Key,
}

impl PathEntry {
    fn duplicate(&self) -> Self {
        PathEntry {
            id: self.id,
            key: self.key.duplicate(),
        }
    }
}

/// A member's Working Key Path (RFC 9838 §4.2): the LKH keys it holds, top-level node first,
/// its own leaf last. Keys are [`Key`]s, wiped on drop; `Debug` shows Key IDs only.
#[derive(Default)]
pub struct WorkingKeyPath {
    entries: Vec<PathEntry>,
}

impl fmt::Debug for WorkingKeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkingKeyPath")
            .field("ids", &self.ids())
            .finish()
    }
}

/// How a Key ID can be obtained.
#[derive(Clone, Copy)]
enum Hop {
    /// Held at this position of the Working Key Path.
    Held(usize),
    /// It is GSK_w (KWK ID 0).
    Default,
    /// By unwrapping this WRAP_KEY.
    Via(usize),
}

/// What the chain of an SA_KEY ends at.
#[derive(Clone, Copy)]
enum Anchor {
    Held(usize),
    Default,
}

type DefaultUnwrap<'f> = &'f mut dyn FnMut(&[u8]) -> Result<KeyMaterial, CryptoError>;

/// The outcome of processing one message.
struct Resolved {
    keymat: KeyMaterial,
    /// How the Working Key Path changes; `None` when it does not (§4.2 step 4).
    change: Option<PathChange>,
}

/// The new start of the Working Key Path (the chain, top first) and the position from which
/// the old path is kept (`None`: the chain ended at GSK_w and replaces the whole path).
struct PathChange {
    entries: Vec<PathEntry>,
    keep_from: Option<usize>,
}

impl PathChange {
    /// Applies the change to `path` without copying any key.
    fn apply(self, path: &mut Vec<PathEntry>) {
        let tail = match self.keep_from {
            Some(p) if p <= path.len() => path.split_off(p),
            _ => Vec::new(),
        };
        *path = self.entries;
        path.extend(tail);
    }
}

impl WorkingKeyPath {
    /// An empty path: a member of a group without a key tree, whose SA_KEYs are all under
    /// GSK_w (RFC 9838 §4.2, Appendix A.3).
    pub fn new() -> Self {
        Self::default()
    }

    /// Processes the Rekey SA's keys of a registration (GSA_AUTH or GSA_REGISTRATION,
    /// RFC 9838 §2.3, §4.2, Appendix A.2): builds the Key Path from `sa_key` through
    /// `wrap_keys` down to GSK_w (KWK ID 0), stores its WRAP_KEYs as the Working Key Path
    /// and returns it with the unwrapped Rekey SA keying material.
    ///
    /// `unwrap_gsk_w` unwraps the one element wrapped under KWK ID 0 with the IKE SA's GSK_w
    /// and KWA (the caller's, so the GSK_w never enters this layer). Every other element is
    /// unwrapped with `kwa`, the Rekey SA's key wrap algorithm, whose KWK length every
    /// WRAP_KEY must have (Q2). With no WRAP_KEYs (SA_KEY(0,0), no key tree) the path is
    /// empty. WRAP_KEYs not on the chain are ignored.
    pub fn from_registration<F>(
        sa_key: WrappedKeyIn<'_>,
        wrap_keys: &[WrappedKeyIn<'_>],
        kwa: Kwa,
        mut unwrap_gsk_w: F,
    ) -> Result<(Self, KeyMaterial), PathError>
    where
        F: FnMut(&[u8]) -> Result<KeyMaterial, CryptoError>,
    {
        let sa_keys = [sa_key];
        let resolved = resolve(&[], &sa_keys, wrap_keys, kwa, Some(&mut unwrap_gsk_w)).map_err(
            |e| match e {
                Failure::Error(e) => e,
                Failure::NoChain { dead_end } => PathError::UnknownKwk { kwk_id: dead_end },
            },
        )?;
        let mut path = WorkingKeyPath::new();
        if let Some(change) = resolved.change {
            change.apply(&mut path.entries);
        }
        log::debug!("LKH registration: Working Key Path {:?}", path.ids());
        Ok((path, resolved.keymat))
    }

    /// Processes the SA_KEYs and WRAP_KEYs of the Rekey SA in a GSA_REKEY (RFC 9838 §2.4.1,
    /// §4.2 steps 3-5, Appendix A.3, A.4) and returns the new Rekey SA keying material.
    ///
    /// SA_KEYs are tried one at a time. For each, a chain through `wrap_keys` to a key of
    /// the Working Key Path (or to GSK_w, KWK ID 0, when `gsk_w` — the current Rekey SA's
    /// GSK_w — is given) is searched and unwrapped with `kwa`. The path is then updated per
    /// §4.2 step 4: an empty chain changes nothing; a chain ending at GSK_w becomes the whole
    /// path; otherwise the chain replaces the start of the path up to, not including, the
    /// key that unwrapped its last element (A.4: E's 2-5-11 becomes 15-16-11; the appendix
    /// prints 16-15-11, a typo this algorithm cannot produce: digest Q9, docs/decisions.md
    /// L5).
    ///
    /// Errors: [`PathError::Excluded`] when no SA_KEY leads to a held key (§4.2 step 5);
    /// [`PathError::Unwrap`] or [`PathError::WrongKeyLength`] when every chain found failed
    /// (the first such error); [`PathError::Cycle`], [`PathError::InvalidKeyId`],
    /// [`PathError::NoSaKey`], [`PathError::Limit`] for malformed input. On error the path is
    /// unchanged.
    pub fn apply_rekey(
        &mut self,
        sa_keys: &[WrappedKeyIn<'_>],
        wrap_keys: &[WrappedKeyIn<'_>],
        kwa: Kwa,
        gsk_w: Option<&Key>,
    ) -> Result<KeyMaterial, PathError> {
        let mut default = |data: &[u8]| match gsk_w {
            Some(k) => unwrap(kwa, k.as_bytes(), data),
            None => Err(CryptoError::UnwrapFailed),
        };
        let default: Option<DefaultUnwrap<'_>> = match gsk_w {
            Some(_) => Some(&mut default),
            None => None,
        };
        let resolved =
            resolve(&self.entries, sa_keys, wrap_keys, kwa, default).map_err(|e| match e {
                Failure::Error(e) => e,
                Failure::NoChain { .. } => PathError::Excluded,
            })?;
        if let Some(change) = resolved.change {
            change.apply(&mut self.entries);
            log::debug!("LKH rekey: Working Key Path now {:?}", self.ids());
        }
        Ok(resolved.keymat)
    }

    /// The Key IDs, top-level node first (RFC 9838 Appendix A.2: A holds 1, 3, 7).
    pub fn ids(&self) -> Vec<KeyId> {
        self.entries.iter().map(|e| e.id).collect()
    }

    /// The key with Key ID `id`, if held (a KWK for KWK ID `id`, RFC 9838 §4.5.4).
    pub fn key(&self, id: KeyId) -> Option<&Key> {
        self.entries.iter().find(|e| e.id == id).map(|e| &e.key)
    }

    /// Whether the key with Key ID `id` is held (RFC 9838 §4.2 step 3).
    pub fn contains(&self, id: KeyId) -> bool {
        self.entries.iter().any(|e| e.id == id)
    }

    /// Number of keys held: the member's depth in the key tree (RFC 9838 Appendix A.2).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` if no key is held (no key tree, RFC 9838 §4.2).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// An explicit copy (the keys are duplicated; there is no `Clone`), for example to try
    /// a GSA_REKEY (RFC 9838 §2.4.1) without committing to it.
    pub fn duplicate(&self) -> Self {
        WorkingKeyPath {
            entries: self.entries.iter().map(PathEntry::duplicate).collect(),
        }
    }
}

/// Why no keying material was recovered.
enum Failure {
    /// A real error (malformed input, failed unwrap).
    Error(PathError),
    /// No chain reaches a held key; `dead_end` is a Key ID nothing provides.
    NoChain { dead_end: KeyId },
}

impl From<PathError> for Failure {
    fn from(e: PathError) -> Self {
        Failure::Error(e)
    }
}

fn validate(sa_keys: &[WrappedKeyIn<'_>], wraps: &[WrappedKeyIn<'_>]) -> Result<(), PathError> {
    if sa_keys.is_empty() {
        return Err(PathError::NoSaKey);
    }
    if sa_keys.len() > MAX_SA_KEYS {
        return Err(PathError::Limit {
            what: "SA_KEYs",
            limit: MAX_SA_KEYS,
        });
    }
    if wraps.len() > MAX_WRAP_KEYS {
        return Err(PathError::Limit {
            what: "WRAP_KEYs",
            limit: MAX_WRAP_KEYS,
        });
    }
    for s in sa_keys {
        if s.key_id != 0 {
            return Err(PathError::InvalidKeyId {
                key_id: s.key_id,
                kwk_id: s.kwk_id,
            });
        }
    }
    for w in wraps {
        if w.key_id == 0 || w.key_id == w.kwk_id {
            return Err(PathError::InvalidKeyId {
                key_id: w.key_id,
                kwk_id: w.kwk_id,
            });
        }
    }
    Ok(())
}

/// (id, index) pairs sorted by id, for range lookups without a map per id.
fn sorted_by(
    wraps: &[WrappedKeyIn<'_>],
    id: impl Fn(&WrappedKeyIn<'_>) -> KeyId,
) -> Vec<(KeyId, u32)> {
    let mut v: Vec<(KeyId, u32)> = wraps
        .iter()
        .enumerate()
        .map(|(i, w)| (id(w), i as u32))
        .collect();
    v.sort_unstable();
    v
}

fn range(sorted: &[(KeyId, u32)], id: KeyId) -> &[(KeyId, u32)] {
    let start = sorted.partition_point(|&(k, _)| k < id);
    let end = sorted.partition_point(|&(k, _)| k <= id);
    sorted.get(start..end).unwrap_or(&[])
}

/// Breadth-first search from the held keys (and GSK_w) over WRAP_KEYs: for each Key ID that
/// can be obtained, how (shortest chain).
fn reachability(
    held: &[PathEntry],
    has_default: bool,
    wraps: &[WrappedKeyIn<'_>],
) -> HashMap<KeyId, Hop> {
    let by_kwk = sorted_by(wraps, |w| w.kwk_id);
    let mut reach: HashMap<KeyId, Hop> = HashMap::with_capacity(held.len() + 8);
    let mut queue = VecDeque::new();
    for (i, e) in held.iter().enumerate() {
        if let std::collections::hash_map::Entry::Vacant(v) = reach.entry(e.id) {
            v.insert(Hop::Held(i));
            queue.push_back(e.id);
        }
    }
    if has_default {
        reach.insert(0, Hop::Default);
        queue.push_back(0);
    }
    while let Some(k) = queue.pop_front() {
        for &(_, i) in range(&by_kwk, k) {
            let Some(w) = wraps.get(i as usize) else {
                continue;
            };
            if let std::collections::hash_map::Entry::Vacant(v) = reach.entry(w.key_id) {
                v.insert(Hop::Via(i as usize));
                queue.push_back(w.key_id);
            }
        }
    }
    reach
}

/// Looks for a cycle among the WRAP_KEYs reachable (Key ID -> KWK ID) from the SA_KEYs, and
/// for a Key ID nothing provides. Iterative depth-first search, linear in the input.
fn diagnose(
    sa_keys: &[WrappedKeyIn<'_>],
    wraps: &[WrappedKeyIn<'_>],
    reach: &HashMap<KeyId, Hop>,
) -> (Option<KeyId>, Option<KeyId>) {
    let by_key = sorted_by(wraps, |w| w.key_id);
    let mut color: HashMap<KeyId, u8> = HashMap::new();
    let mut dead_end = None;
    for s in sa_keys {
        if color.contains_key(&s.kwk_id) {
            continue;
        }
        color.insert(s.kwk_id, 1);
        let mut stack: Vec<(KeyId, usize)> = vec![(s.kwk_id, 0)];
        while let Some(top) = stack.last_mut() {
            let (k, next) = *top;
            let edges = range(&by_key, k);
            if edges.is_empty() && dead_end.is_none() && !reach.contains_key(&k) {
                dead_end = Some(k);
            }
            match edges.get(next) {
                Some(&(_, i)) => {
                    top.1 += 1;
                    let nk = wraps.get(i as usize).map_or(0, |w| w.kwk_id);
                    match color.get(&nk) {
                        Some(1) => return (Some(nk), dead_end),
                        Some(_) => {}
                        None => {
                            color.insert(nk, 1);
                            stack.push((nk, 0));
                        }
                    }
                }
                None => {
                    color.insert(k, 2);
                    stack.pop();
                }
            }
        }
    }
    (None, dead_end)
}

/// Unwraps one element under `kwk` (or with the default unwrap when `kwk` is `None`).
/// `ctx` is one OpenSSL context for the whole key path, made on first use and re-keyed for
/// each element (each has its own KWK).
fn unwrap_element(
    w: &WrappedKeyIn<'_>,
    kwk: Option<&Key>,
    kwa: Kwa,
    default: &mut Option<DefaultUnwrap<'_>>,
    ctx: &mut Option<MultiKeyUnwrapper>,
) -> Result<KeyMaterial, PathError> {
    let result = match (kwk, default) {
        (Some(k), _) => match ctx {
            Some(u) => u.unwrap(k.as_bytes(), w.encrypted),
            None => MultiKeyUnwrapper::new(kwa).and_then(|u| {
                let u = ctx.insert(u);
                u.unwrap(k.as_bytes(), w.encrypted)
            }),
        },
        (None, Some(f)) => f(w.encrypted),
        (None, None) => Err(CryptoError::UnwrapFailed),
    };
    result.map_err(|error| PathError::Unwrap {
        key_id: w.key_id,
        kwk_id: w.kwk_id,
        error,
    })
}

/// Unwraps a WRAP_KEY and checks it is a KWK of `kwa`.
fn unwrap_node_key(
    w: &WrappedKeyIn<'_>,
    kwk: Option<&Key>,
    kwa: Kwa,
    default: &mut Option<DefaultUnwrap<'_>>,
    ctx: &mut Option<MultiKeyUnwrapper>,
) -> Result<Key, PathError> {
    let km = unwrap_element(w, kwk, kwa, default, ctx)?;
    if km.len() != kwa.kwk_len() {
        return Err(PathError::WrongKeyLength {
            key_id: w.key_id,
            expected: kwa.kwk_len(),
            got: km.len(),
        });
    }
    Key::from_slice(km.as_bytes()).map_err(|error| PathError::Unwrap {
        key_id: w.key_id,
        kwk_id: w.kwk_id,
        error,
    })
}

/// The Key Path algorithm of RFC 9838 §4.2 steps 3-5 on `held` (not modified).
fn resolve(
    held: &[PathEntry],
    sa_keys: &[WrappedKeyIn<'_>],
    wraps: &[WrappedKeyIn<'_>],
    kwa: Kwa,
    mut default: Option<DefaultUnwrap<'_>>,
) -> Result<Resolved, Failure> {
    validate(sa_keys, wraps)?;
    let reach = reachability(held, default.is_some(), wraps);
    // Each WRAP_KEY is unwrapped at most once, whatever the number of SA_KEYs.
    let mut memo: HashMap<usize, Result<Key, PathError>> = HashMap::new();
    let mut ctx: Option<MultiKeyUnwrapper> = None;
    let mut first_error: Option<PathError> = None;

    'sa: for sa in sa_keys {
        // The chain, top first, and where it ends.
        let mut chain: Vec<usize> = Vec::new();
        let mut k = sa.kwk_id;
        let anchor = loop {
            match reach.get(&k) {
                None => continue 'sa,
                Some(Hop::Held(p)) => break Anchor::Held(*p),
                Some(Hop::Default) => break Anchor::Default,
                Some(Hop::Via(i)) => {
                    if chain.len() >= MAX_PATH_LEN {
                        first_error.get_or_insert(PathError::Limit {
                            what: "Key Path elements",
                            limit: MAX_PATH_LEN,
                        });
                        continue 'sa;
                    }
                    chain.push(*i);
                    k = wraps.get(*i).map_or(0, |w| w.kwk_id);
                }
            }
        };
        let new_len = chain.len()
            + match anchor {
                Anchor::Held(p) => held.len().saturating_sub(p),
                Anchor::Default => 0,
            };
        if !chain.is_empty() && new_len > MAX_PATH_LEN {
            first_error.get_or_insert(PathError::Limit {
                what: "Working Key Path entries",
                limit: MAX_PATH_LEN,
            });
            continue 'sa;
        }
        let anchor_key: Option<&Key> = match anchor {
            Anchor::Held(p) => held.get(p).map(|e| &e.key),
            Anchor::Default => None,
        };
        // Unwrap bottom-up; the keys stay in `memo`.
        let mut below: Option<usize> = None;
        for &i in chain.iter().rev() {
            if !memo.contains_key(&i) {
                let Some(w) = wraps.get(i) else {
                    continue 'sa;
                };
                let kwk = match below {
                    Some(j) => memo.get(&j).and_then(|r| r.as_ref().ok()),
                    None => anchor_key,
                };
                let r = unwrap_node_key(w, kwk, kwa, &mut default, &mut ctx);
                memo.insert(i, r);
            }
            if let Some(Err(e)) = memo.get(&i) {
                first_error.get_or_insert_with(|| e.clone());
                continue 'sa;
            }
            below = Some(i);
        }
        let top_key = match below {
            Some(j) => memo.get(&j).and_then(|r| r.as_ref().ok()),
            None => anchor_key,
        };
        let keymat = match unwrap_element(sa, top_key, kwa, &mut default, &mut ctx) {
            Ok(km) => km,
            Err(e) => {
                first_error.get_or_insert(e);
                continue 'sa;
            }
        };
        // Success: move the chain's keys out of the memo, top first.
        let change = if chain.is_empty() {
            None
        } else {
            let mut entries = Vec::with_capacity(new_len);
            for &i in &chain {
                let id = wraps.get(i).map_or(0, |w| w.key_id);
                match memo.remove(&i) {
                    Some(Ok(key)) => entries.push(PathEntry { id, key }),
                    _ => continue 'sa,
                }
            }
            let keep_from = match anchor {
                Anchor::Held(p) => Some(p),
                Anchor::Default => None,
            };
            Some(PathChange { entries, keep_from })
        };
        return Ok(Resolved { keymat, change });
    }

    if let Some(e) = first_error {
        return Err(Failure::Error(e));
    }
    let (cycle, dead_end) = diagnose(sa_keys, wraps, &reach);
    if let Some(key_id) = cycle {
        return Err(Failure::Error(PathError::Cycle { key_id }));
    }
    let dead_end = dead_end
        .or_else(|| sa_keys.first().map(|s| s.kwk_id))
        .unwrap_or(0);
    Err(Failure::NoChain { dead_end })
}
