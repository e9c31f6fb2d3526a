//! Errors of the LKH layer: [`LkhError`] at the key server, [`PathError`] at a member.
//!
//! No variant carries key bytes; at most Key IDs and lengths.

use std::fmt;

use super::{KeyId, LeafId};
use crate::crypto::CryptoError;
use crate::executor::ExecutorError;

/// Failures of the key server's tree ([`super::LkhTree`], RFC 9838 §3.3, Appendix A). A
/// call that fails changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LkhError {
    /// The degree (children per node) is outside `MIN_DEGREE..=MAX_DEGREE` (2 to 8).
    DegreeOutOfRange {
        /// The degree asked for.
        degree: usize,
    },
    /// The node key length is not a KWK length (16, 24 or 32 octets, RFC 9838 §3.1).
    KeyLength {
        /// The length asked for.
        len: usize,
    },
    /// The key wrap algorithm's KWK length differs from the tree's node key length
    /// (RFC 9838 §4.5.3.1: a WRAP_KEY is a KWK of the KWA in use; see Q2).
    KwaMismatch {
        /// KWK length of the algorithm passed in.
        kwa_key_len: usize,
        /// Node key length of the tree.
        tree_key_len: usize,
    },
    /// More members asked for than [`super::MAX_MEMBERS`].
    TooManyMembers {
        /// The limit.
        max: u32,
    },
    /// No leaf with this ID is in the tree (it was never one, or its member left).
    UnknownLeaf(LeafId),
    /// The leaf exists but no member occupies it.
    LeafNotOccupied(LeafId),
    /// Every 32-bit Key ID has been allocated once (Key IDs are never reused, Q18). Build a
    /// new tree starting from a fresh Key ID and have the members register again.
    KeyIdsExhausted,
    /// The plan names a key that has been replaced or removed since it was made.
    StalePlan {
        /// The first Key ID that is no longer where the plan expects it.
        key_id: KeyId,
    },
    /// An [`super::ExclusionUndo`] was applied after another membership change (it
    /// undoes only the tree's last change).
    StaleUndo,
    /// Random key generation or key wrapping failed.
    Crypto(CryptoError),
    /// The host's executor did not run all the wrap jobs it was given.
    Executor(ExecutorError),
}

impl fmt::Display for LkhError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LkhError::DegreeOutOfRange { degree } => {
                write!(f, "LKH degree {degree} out of range (2 to 8)")
            }
            LkhError::KeyLength { len } => {
                write!(f, "LKH key length {len} is not 16, 24 or 32 octets")
            }
            LkhError::KwaMismatch {
                kwa_key_len,
                tree_key_len,
            } => write!(
                f,
                "key wrap algorithm uses {kwa_key_len}-octet keys, tree holds {tree_key_len}"
            ),
            LkhError::TooManyMembers { max } => write!(f, "more than {max} members"),
            LkhError::UnknownLeaf(l) => write!(f, "no leaf with Key ID {}", l.key_id()),
            LkhError::LeafNotOccupied(l) => write!(f, "leaf {} has no member", l.key_id()),
            LkhError::KeyIdsExhausted => f.write_str("32-bit Key ID space exhausted"),
            LkhError::StalePlan { key_id } => {
                write!(f, "rekey plan is stale: key {key_id} changed")
            }
            LkhError::StaleUndo => {
                f.write_str("exclusion undo refused: the tree changed since that exclusion")
            }
            LkhError::Crypto(e) => write!(f, "crypto: {e}"),
            LkhError::Executor(e) => write!(f, "key wraps: {e}"),
        }
    }
}

impl std::error::Error for LkhError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LkhError::Crypto(e) => Some(e),
            LkhError::Executor(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ExecutorError> for LkhError {
    fn from(e: ExecutorError) -> Self {
        LkhError::Executor(e)
    }
}

impl From<CryptoError> for LkhError {
    fn from(e: CryptoError) -> Self {
        LkhError::Crypto(e)
    }
}

/// Failures of a member's Key Path processing ([`super::WorkingKeyPath`], RFC 9838 §4.2).
/// On any error the Working Key Path is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathError {
    /// No SA_KEY leads to a key this member holds: it has been excluded from the group
    /// (RFC 9838 §4.2 step 5, Appendix A.4).
    Excluded,
    /// At registration, the chain from the SA_KEY needs a key that is neither GSK_w nor
    /// delivered in the same message (RFC 9838 §4.2 step 3).
    UnknownKwk {
        /// The missing key.
        kwk_id: KeyId,
    },
    /// A chain exists but unwrapping one of its elements failed (RFC 5649 integrity check:
    /// wrong key or modified data, RFC 9838 §4.5.4).
    Unwrap {
        /// Key ID of the element.
        key_id: KeyId,
        /// KWK ID of the element.
        kwk_id: KeyId,
        /// The crypto layer's error.
        error: CryptoError,
    },
    /// An unwrapped WRAP_KEY is not a KWK of the key wrap algorithm (RFC 9838 §4.5.3.1).
    WrongKeyLength {
        /// Key ID of the element.
        key_id: KeyId,
        /// The KWK length of the algorithm.
        expected: usize,
        /// The length unwrapped.
        got: usize,
    },
    /// The WRAP_KEYs form a cycle and no chain reaches a held key.
    Cycle {
        /// A Key ID on the cycle.
        key_id: KeyId,
    },
    /// An SA_KEY with a non-zero Key ID, a WRAP_KEY with Key ID 0, or an element wrapped
    /// under itself (RFC 9838 §4.5.2, §4.5.3.1).
    InvalidKeyId {
        /// Key ID of the element.
        key_id: KeyId,
        /// KWK ID of the element.
        kwk_id: KeyId,
    },
    /// No SA_KEY in the input.
    NoSaKey,
    /// An input or the resulting Working Key Path exceeds a limit.
    Limit {
        /// What was counted.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::Excluded => f.write_str("no key path to the new Rekey SA key: excluded"),
            PathError::UnknownKwk { kwk_id } => write!(f, "key path needs unknown KWK {kwk_id}"),
            PathError::Unwrap {
                key_id,
                kwk_id,
                error,
            } => write!(f, "unwrapping key {key_id} under {kwk_id} failed: {error}"),
            PathError::WrongKeyLength {
                key_id,
                expected,
                got,
            } => write!(f, "key {key_id} is {got} octets, expected {expected}"),
            PathError::Cycle { key_id } => write!(f, "WRAP_KEY cycle through key {key_id}"),
            PathError::InvalidKeyId { key_id, kwk_id } => {
                write!(f, "invalid Key ID {key_id} / KWK ID {kwk_id}")
            }
            PathError::NoSaKey => f.write_str("no SA_KEY"),
            PathError::Limit { what, limit } => write!(f, "too many {what} (limit {limit})"),
        }
    }
}

impl std::error::Error for PathError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PathError::Unwrap { error, .. } => Some(error),
            _ => None,
        }
    }
}
