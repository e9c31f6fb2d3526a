//! A group member's local configuration for one group: its role and what policy it
//! accepts (RFC 9838 §2.3.3, §2.3.4).

use crate::crypto::keywrap::Kwa;
use crate::crypto::sign::SignatureAlg;
use crate::identity::GroupId;
use crate::suite::EncrSpec;
use crate::wire::{EncrId, IntegId, SnId};

/// Whether and how this member sends on the group's Data-Security SAs (RFC 9838 §2.3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SenderRole {
    /// Receives only: SAs are installed inbound.
    Receiver,
    /// Sends (GROUP_SENDER is sent with `sender_ids` requested, at least 1: one per
    /// encryption engine that will hold the outbound SAs, RFC 9838 §2.5.1).
    Sender {
        /// Sender-IDs to request.
        sender_ids: u32,
        /// Whether it also receives the group's traffic (SAs installed both ways) or only
        /// sends (outbound only).
        receives: bool,
    },
}

/// What the member accepts from the key server; also what it lists in SAg.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acceptance {
    /// Ciphers (with key lengths) for Data-Security SAs and the Rekey SA.
    pub encr: Vec<EncrSpec>,
    /// Integrity algorithms.
    pub integ: Vec<IntegId>,
    /// Sequence Numbers transforms.
    pub sn: Vec<SnId>,
    /// Key wrap algorithms (for the Rekey SA; the IKE SA's is negotiated in IKE_SA_INIT).
    pub kwa: Vec<Kwa>,
    /// Accept implicit GSA_REKEY authentication (NOT RECOMMENDED except small trusted
    /// groups, RFC 9838 §8.2.1).
    pub implicit_auth: bool,
    /// Signature algorithms accepted for GSA_REKEY authentication.
    pub signature_algs: Vec<SignatureAlg>,
}

impl Default for Acceptance {
    /// AES-GCM-16 and AES-CBC (128/256), ChaCha20-Poly1305, HMAC-SHA2, both 32-bit SN
    /// transforms, RFC 5649 key wrap, signatures Ed25519 / ECDSA P-256 / RSA-PSS, no
    /// implicit authentication.
    fn default() -> Self {
        Acceptance {
            encr: vec![
                EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 256),
                EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 128),
                EncrSpec::with_bits(EncrId::ENCR_AES_CBC, 256),
                EncrSpec::with_bits(EncrId::ENCR_AES_CBC, 128),
                EncrSpec::fixed(EncrId::ENCR_CHACHA20_POLY1305),
            ],
            integ: vec![
                IntegId::AUTH_HMAC_SHA2_256_128,
                IntegId::AUTH_HMAC_SHA2_384_192,
                IntegId::AUTH_HMAC_SHA2_512_256,
            ],
            sn: vec![SnId::SEQ32, SnId::UNSPECIFIED32],
            kwa: vec![Kwa::Kw5649_256, Kwa::Kw5649_192, Kwa::Kw5649_128],
            implicit_auth: false,
            signature_algs: vec![
                SignatureAlg::Ed25519,
                SignatureAlg::EcdsaP256Sha256,
                SignatureAlg::RsaPssSha256,
            ],
        }
    }
}

/// One group this member belongs to (or wants to).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembershipConfig {
    /// The group ID sent in IDg.
    pub group: GroupId,
    /// Sender or receiver.
    pub role: SenderRole,
    /// Accepted policy.
    pub accept: Acceptance,
}

impl MembershipConfig {
    /// A receive-only membership with the default acceptance.
    pub fn receiver(group: GroupId) -> Self {
        MembershipConfig {
            group,
            role: SenderRole::Receiver,
            accept: Acceptance::default(),
        }
    }

    /// A membership that sends and receives, requesting `sender_ids` Sender-IDs.
    pub fn sender(group: GroupId, sender_ids: u32) -> Self {
        MembershipConfig {
            group,
            role: SenderRole::Sender {
                sender_ids: sender_ids.max(1),
                receives: true,
            },
            accept: Acceptance::default(),
        }
    }
}
