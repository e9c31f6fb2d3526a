//! Logical Key Hierarchy (LKH) for the Rekey SA: the key server's key tree and the members'
//! Working Key Paths (RFC 9838 §2.4.1, §3.3, §4.2, §4.5.4, Appendix A).
//!
//! RFC 9838 has no LKH-specific wire format: a tree is expressed entirely through the Key
//! IDs and KWK IDs of SA_KEY and WRAP_KEY attributes (§4.5.4). This module produces and
//! consumes those (Key ID, KWK ID, Encrypted Key) triples as [`WrappedKeyOut`] and
//! [`WrappedKeyIn`]; it depends on [`crate::crypto`] only, and the key server and member
//! roles convert to and from the codec's types.
//!
//! - Key server: [`LkhTree`] (`tree.rs` shape and queries, `membership.rs` join/exclude,
//!   `plan.rs` rekey plans and wrapping, `registration.rs` registration downloads,
//!   `undo.rs` undoing an exclusion).
//! - Member: [`WorkingKeyPath`] (`path.rs`, the Key Path algorithm of §4.2).
//!
//! # Example: Appendix A.4
//!
//! ```
//! use gikev2::crypto::keywrap::Kwa;
//! use gikev2::lkh::LkhTree;
//!
//! let mut tree = LkhTree::with_capacity(2, 32, 8)?; // the tree of A.2
//! let mut leaves = Vec::new();
//! for _ in 0..8 {
//!     leaves.push(tree.join(false)?.0); // A = leaf 7, ..., H = leaf 14
//! }
//! let plan = tree.exclude(&[leaves[5]])?; // F
//! assert_eq!(plan.sa_key_kwk_ids(), [1, 15]);
//! assert_eq!(plan.wrap_key_ids(), [(15, 6), (15, 16), (16, 11)]);
//! let new_keymat = [0x42u8; 64]; // GSK_e | GSK_a | GSK_w of the next Rekey SA
//! let (sa_keys, wrap_keys) = tree.wrap_plan(&plan, Kwa::Kw5649_256, &new_keymat)?;
//! assert_eq!((sa_keys.len(), wrap_keys.len()), (2, 3));
//! # Ok::<(), gikev2::lkh::LkhError>(())
//! ```
//!
//! # Design choices
//!
//! - **Key IDs (Q18).** IDs are allocated from a counter, 1 upwards (or from a chosen
//!   start), in breadth-first order when a tree is built and top-down for the nodes of one
//!   rekey. An ID is never reused, and a key never changes without getting a new ID, so a
//!   Key ID names one key value for ever: a member holding an old key can never mistake it
//!   for a new one (it simply finds no chain, §4.2 step 5), and wraps can be cached by
//!   (Key ID, KWK ID). With d = 4 and 10^6 members one exclusion uses 9 IDs, so the 2^32 - 1
//!   IDs last about 4.7·10^8 exclusions; when they run out, operations fail with
//!   [`LkhError::KeyIdsExhausted`] (the key server logs it and the rekey or exclusion does
//!   not happen). A restart of the group (every member excluded, `Group::restart`) builds a
//!   new tree with [`LkhTree::with_capacity_from`], above the old IDs while there is room,
//!   from 1 again otherwise: every member then registers anew, and a key left over from
//!   the old tree under a reused ID fails the RFC 5649 integrity check.
//! - **Shape and growth.** The tree is left-complete: all leaves at the same depth, level
//!   `l` holding `ceil(leaves / d^l)` nodes. A join takes the leftmost free leaf; when none
//!   is free a leaf is appended, and when the top level already has `d` nodes a new node is
//!   put above the old top nodes. Existing members receive that node's key in the next
//!   rekey plan, so a join without backward access control never needs a rekey of its own.
//! - **Compaction.** An exclusion that leaves the tree more than one level deeper than
//!   `ceil(log_d(members))` compacts it in the same rekey: the rightmost members move into
//!   the leftmost free leaves (keeping their leaf key and [`LeafId`]), every node above their
//!   old and new positions gets a new key, and emptied levels and subtrees are dropped. A
//!   member's stale prefix is replaced by the next chain it follows (§4.2 step 4). A
//!   limited plan ([`LkhTree::exclude_undoable_within`]) leaves a compaction that does not
//!   fit to a later exclusion.
//! - **Forward access control.** An exclusion replaces every node above an excluded leaf,
//!   also nodes left without members, and wraps only under keys no excluded member holds
//!   (never GSK_w, KWK ID 0). A member that leaves without a rekey
//!   ([`LkhTree::free_leaf`]) is cut off by the plans that refresh its old path: every
//!   exclusion, join with backward access control or refresh takes departed paths.
//!   Invariant: every key a current or former member may know is retired, on the path of
//!   that member's current leaf, or above a departed leaf still to be refreshed
//!   ([`LkhTree::departed_count`]); relocation keeps this by replacing the nodes above the
//!   old position too.
//! - **Plan size.** A plan's WRAP_KEYs travel in one KD payload (at most 65,535 octets), so
//!   the key server limits each plan ([`LkhTree::exclude_undoable_within`],
//!   [`LkhTree::join_undoable`]): the excluded members' or newcomer's path always goes in,
//!   departed paths (leftmost first) as far as the limit allows, and the rest go in later
//!   plans, each sent before any new Data-Security SA (docs/decisions.md L10).
//! - **Undo.** An exclusion (or a join with backward access control) whose GSA_REKEY
//!   cannot be built is undone ([`LkhTree::exclude_undoable`], [`LkhTree::undo_exclusion`]):
//!   the members never saw its plan, so the tree must go back to the keys they hold. It
//!   keeps before-images of the few nodes it changes (about one key copy each), not a copy
//!   of the tree.
//! - **Order of wraps.** Sorted by (Key ID, KWK ID); see `plan.rs`. Reproduces Appendix A.4.
//! - **Memory.** Flat per-level arrays with `u32` indices: Key ID (4 octets), member count
//!   (4) and the key (`key_len` octets, packed in a zeroizing arena) per node, plus a sorted
//!   Key ID index of 12 octets per node. No pointers, no per-node allocation, no
//!   `Secret<64>` (72 octets) per node.
//! - **KWA at registration (Q2).** Every wrap under an LKH key uses the Rekey SA's key wrap
//!   algorithm, also in GSA_AUTH and GSA_REGISTRATION; only wraps under the IKE SA's GSK_w
//!   (KWK ID 0) use the IKE SA's algorithm. The tree's key length is that algorithm's KWK
//!   length.

mod budget;
mod error;
mod membership;
mod path;
mod plan;
mod registration;
mod storage;
#[cfg(test)]
mod tests;
mod tree;
mod undo;
mod wrapped;

pub use error::{LkhError, PathError};
pub use path::{WorkingKeyPath, MAX_PATH_LEN, MAX_SA_KEYS, MAX_WRAP_KEYS};
pub use plan::RekeyPlan;
pub use tree::{LeafId, LkhTree, MAX_DEGREE, MAX_MEMBERS, MIN_DEGREE};
pub use undo::ExclusionUndo;
pub use wrapped::{WrappedKeyIn, WrappedKeyOut};

/// A Key ID or KWK ID of the wrapped key format (RFC 9838 §4.5.4). As a Key ID, 0 means SA
/// keying material; as a KWK ID, 0 means the default KWK GSK_w of the SA carrying the
/// message. LKH node keys have non-zero IDs.
pub type KeyId = u32;
