//! Registration downloads (RFC 9838 §2.3, Appendix A.2): the keys a joining member receives
//! in GSA_AUTH or GSA_REGISTRATION, with a cache of wrapped path elements.
//!
//! Member A of Appendix A.2 gets SA_KEY(0,1), WRAP_KEY(1,3), WRAP_KEY(3,7) from
//! [`LkhTree::registration_keys`], and WRAP_KEY(7,0) (its leaf key under the IKE SA's
//! GSK_w) from [`LkhTree::wrap_leaf_key`].
//!
//! # Cache
//!
//! The wrap of a node key under one of its children is the same for every member below
//! that child, so it is kept per (Key ID, KWK ID). A Key ID names one key value for its
//! whole life (Key IDs are never reused, and a key is never changed without a new ID), so
//! an entry can never be wrong; it only becomes useless once either ID leaves the tree.
//! Such entries are swept lazily, when the number of IDs retired since the last sweep
//! exceeds half the cache. Wraps under a leaf are not cached (each serves one member).
//! The SA_KEY wraps are cached per top-level node for one Rekey SA keying material and key
//! wrap algorithm; a different one clears the cache.

use std::collections::HashMap;

use super::storage::{IdIndex, Pos};
use super::tree::{LeafId, LkhTree};
use super::{KeyId, LkhError, WrappedKeyOut};
use crate::crypto::keywrap::{wrap, KeyWrapper, Kwa};
use crate::crypto::KeyMaterial;

/// Wrapped path elements, ciphertext only (no key material except a copy of the Rekey SA
/// keying material, held to recognise it, wiped on drop).
#[derive(Default)]
pub(super) struct RegistrationCache {
    kwa: Option<Kwa>,
    keymat: Option<KeyMaterial>,
    sa: HashMap<KeyId, Box<[u8]>>,
    edges: HashMap<u64, Box<[u8]>>,
    retired_since_sweep: usize,
}

fn edge_key(key_id: KeyId, kwk_id: KeyId) -> u64 {
    (u64::from(key_id) << 32) | u64::from(kwk_id)
}

impl RegistrationCache {
    /// Makes `kwa` and `keymat` current: a change of algorithm clears everything, a change
    /// of keying material clears the SA_KEY wraps.
    pub(super) fn set_context(&mut self, kwa: Kwa, keymat: &[u8]) -> Result<(), LkhError> {
        if self.kwa != Some(kwa) {
            self.sa.clear();
            self.edges.clear();
            self.kwa = Some(kwa);
        }
        let same = self.keymat.as_ref().is_some_and(|k| k.ct_eq_bytes(keymat));
        if !same {
            self.sa.clear();
            self.keymat = Some(KeyMaterial::from_slice(keymat)?);
        }
        Ok(())
    }

    pub(super) fn put_sa(&mut self, kwk_id: KeyId, encrypted: &[u8]) {
        self.sa.insert(kwk_id, encrypted.into());
    }

    pub(super) fn put_edge(&mut self, key_id: KeyId, kwk_id: KeyId, encrypted: &[u8]) {
        self.edges
            .insert(edge_key(key_id, kwk_id), encrypted.into());
    }

    /// Counts Key IDs that left the tree.
    pub(super) fn note_retired(&mut self, n: usize) {
        self.retired_since_sweep = self.retired_since_sweep.saturating_add(n);
    }

    /// Drops entries naming IDs no longer in the tree, once enough IDs have been retired to
    /// pay for the sweep.
    pub(super) fn maybe_sweep(&mut self, index: &IdIndex) {
        let size = self.sa.len() + self.edges.len();
        if size == 0 {
            self.retired_since_sweep = 0;
            return;
        }
        if self.retired_since_sweep <= size / 2 {
            return;
        }
        self.sa.retain(|&id, _| index.get(id).is_some());
        self.edges.retain(|&k, _| {
            index.get((k >> 32) as KeyId).is_some() && index.get(k as KeyId).is_some()
        });
        self.retired_since_sweep = 0;
    }

    /// Number of cached wraps.
    pub(super) fn len(&self) -> usize {
        self.sa.len() + self.edges.len()
    }

    /// Approximate heap octets: entries, table overhead and the ciphertexts.
    pub(super) fn heap_bytes(&self) -> usize {
        let per_entry = |n: usize, key: usize| n * (key + 16 + 1 + 8 + 16) + n * 8 / 7;
        let cipher: usize = self
            .sa
            .values()
            .chain(self.edges.values())
            .map(|v| v.len())
            .sum();
        per_entry(self.sa.capacity(), 4) + per_entry(self.edges.capacity(), 8) + cipher
    }
}

impl LkhTree {
    /// The registration download for the member at `leaf` (RFC 9838 §2.3.3, Appendix A.2):
    /// the SA_KEY (the Rekey SA keying material `rekey_keymat` under the member's top-level
    /// node), the WRAP_KEYs from the top-level node down to the leaf's parent (each node key
    /// under its child on the path: for A, WRAP_KEY(1,3) and WRAP_KEY(3,7)), and the leaf's
    /// Key ID, whose key the caller wraps under the IKE SA's GSK_w as WRAP_KEY(leaf, 0).
    ///
    /// `kwa` is the Rekey SA's key wrap algorithm: every wrap under an LKH key uses it, also
    /// at registration, because the same keys later unwrap GSA_REKEY content (Q2). Shared
    /// path elements come from the cache, so a burst of registrations costs about one wrap
    /// per member plus one per new subtree.
    pub fn registration_keys(
        &mut self,
        leaf: LeafId,
        kwa: Kwa,
        rekey_keymat: &[u8],
    ) -> Result<(WrappedKeyOut, Vec<WrappedKeyOut>, KeyId), LkhError> {
        self.check_kwa(kwa)?;
        let idx = self.occupied_leaf(leaf)?;
        self.cache.set_context(kwa, rekey_keymat)?;
        let path: Vec<Pos> = self.path_positions(idx).collect();
        let Some(&top) = path.first() else {
            return Err(LkhError::UnknownLeaf(leaf));
        };
        let top_id = self.id_at(top);
        let sa_enc = match self.cache.sa.get(&top_id) {
            Some(enc) => enc.to_vec(),
            None => {
                let enc = wrap(kwa, self.key_at(top), rekey_keymat)?;
                self.cache.put_sa(top_id, &enc);
                enc
            }
        };
        let sa_key = WrappedKeyOut {
            key_id: 0,
            kwk_id: top_id,
            encrypted: sa_enc,
        };
        let mut wrap_keys = Vec::with_capacity(path.len().saturating_sub(1));
        for pair in path.windows(2) {
            let &[parent, child] = pair else {
                continue;
            };
            let (key_id, kwk_id) = (self.id_at(parent), self.id_at(child));
            let cached = self.cache.edges.get(&edge_key(key_id, kwk_id));
            let encrypted = match cached {
                Some(enc) => enc.to_vec(),
                None => {
                    let enc = wrap(kwa, self.key_at(child), self.key_at(parent))?;
                    if child.level > 0 {
                        self.cache.put_edge(key_id, kwk_id, &enc);
                    }
                    enc
                }
            };
            wrap_keys.push(WrappedKeyOut {
                key_id,
                kwk_id,
                encrypted,
            });
        }
        self.cache.maybe_sweep(&self.index);
        Ok((sa_key, wrap_keys, leaf.0))
    }

    /// WRAP_KEY(leaf, 0): the member's leaf key wrapped with `gsk_w`, a wrapper holding the
    /// IKE SA's GSK_w (RFC 9838 §3.1, Appendix A.2), so the key never leaves the tree.
    pub fn wrap_leaf_key(
        &self,
        leaf: LeafId,
        gsk_w: &mut KeyWrapper,
    ) -> Result<WrappedKeyOut, LkhError> {
        let idx = self.occupied_leaf(leaf)?;
        let encrypted = gsk_w.wrap(self.key_at(Pos { level: 0, idx }))?;
        Ok(WrappedKeyOut {
            key_id: leaf.0,
            kwk_id: 0,
            encrypted,
        })
    }

    /// Number of wrapped path elements (RFC 9838 Appendix A.2) in the registration cache.
    pub fn cached_wraps(&self) -> usize {
        self.cache.len()
    }

    /// Approximate heap octets held by the registration cache (RFC 9838 Appendix A.2
    /// downloads).
    pub fn cache_heap_bytes(&self) -> usize {
        self.cache.heap_bytes()
    }

    /// Empties the registration cache (for example after a burst of registrations, RFC 9838
    /// §2.3); later downloads wrap again.
    pub fn clear_registration_cache(&mut self) {
        self.cache.sa.clear();
        self.cache.edges.clear();
        self.cache.retired_since_sweep = 0;
    }
}
