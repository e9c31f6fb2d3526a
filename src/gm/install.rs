//! What the member hands the host after a registration: SAs to install (RFC 9838
//! §2.3.3) and the Rekey SA it must listen on; and the Rekey SA state it keeps.

use crate::crypto::keywrap::Kwa;
use crate::crypto::sign::VerifyingKey;
use crate::crypto::Key;
use crate::identity::GroupId;
use crate::suite::EncrSpec;
use crate::time::Time;
use crate::wire::{IntegId, ProtocolId, SnId, TrafficSelector};

/// Which way a Data-Security SA is installed (RFC 9838 §2.3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The member only receives on it.
    Inbound,
    /// The member only sends on it.
    Outbound,
    /// The member sends and receives.
    Both,
}

/// A Data-Security SA for the host to install.
#[derive(Debug)]
pub struct SaInstall {
    /// ESP or AH.
    pub protocol: ProtocolId,
    /// SPI.
    pub spi: [u8; 4],
    /// Direction.
    pub direction: Direction,
    /// Transport mode (USE_TRANSPORT_MODE) or tunnel mode with address preservation.
    pub transport_mode: bool,
    /// Source traffic selector.
    pub src: TrafficSelector,
    /// Destination traffic selector.
    pub dst: TrafficSelector,
    /// Cipher, for ESP.
    pub encr: Option<EncrSpec>,
    /// Integrity algorithm.
    pub integ: Option<IntegId>,
    /// Sequence Numbers transform.
    pub sn: SnId,
    /// Encryption key without salt.
    pub encr_key: Key,
    /// Salt of the encryption algorithm (ESP AES-GCM, AES-CTR, AES-GMAC (ENCR 21),
    /// ChaCha20-Poly1305: 4 octets; AES-CCM: 3), else empty.
    pub salt: Key,
    /// Integrity key (empty for AEAD). For AH with AES-GMAC (INTEG 9-11) the 4-octet
    /// salt is the last part of this key, as RFC 4543 §3.2 keys it.
    pub integ_key: Key,
    /// GSA_KEY_LIFETIME in seconds, if given.
    pub lifetime_secs: Option<u32>,
    /// When the SA expires (now + lifetime), if a lifetime was given.
    pub expires_at: Option<Time>,
    /// When the member may start sending on it (now + GWP_ATD); `None` if it does not send.
    pub send_from: Option<Time>,
}

/// How GSA_REKEY messages of a Rekey SA are authenticated.
#[derive(Debug)]
pub enum RekeyAuth {
    /// Implicit: decryption and ICV only.
    Implicit,
    /// Signature verified with the AUTH_KEY received at registration.
    Signature(VerifyingKey),
}

/// The member's state of a Rekey SA (RFC 9838 §2.4.1): what it needs to accept the next
/// GSA_REKEY.
#[derive(Debug)]
pub struct RekeySaState {
    /// The 16-octet SPI (SPIi | SPIr of GSA_REKEY headers).
    pub spi: [u8; 16],
    /// Encryption of GSA_REKEY.
    pub encr: EncrSpec,
    /// Integrity of GSA_REKEY (None with AEAD).
    pub integ: Option<IntegId>,
    /// Key wrap algorithm for keys in GSA_REKEY.
    pub kwa: Kwa,
    /// GSK_e (incl. salt for AES-GCM).
    pub gsk_e: Key,
    /// GSK_a (empty with AEAD).
    pub gsk_a: Key,
    /// GSK_w: the Rekey SA's default KWK.
    pub gsk_w: Key,
    /// Authentication method and key.
    pub auth: RekeyAuth,
    /// Lowest Message ID the next GSA_REKEY may carry (RFC 9838 §2.4.1.4).
    pub next_message_id: u32,
    /// Message ID 0xFFFFFFFF was accepted: nothing more is on this Rekey SA.
    pub message_ids_exhausted: bool,
    /// Where the key server sends from.
    pub src: TrafficSelector,
    /// The multicast address and port GSA_REKEY arrives on.
    pub dst: TrafficSelector,
    /// When it expires.
    pub expires_at: Time,
}

/// Where the host must listen for GSA_REKEY (no keys).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RekeySaInfo {
    /// The SPI.
    pub spi: [u8; 16],
    /// Destination (multicast address, UDP, port) to join and listen on.
    pub dst: TrafficSelector,
    /// Source selector of the key server.
    pub src: TrafficSelector,
    /// When it expires.
    pub expires_at: Time,
}

/// The result of a successful registration.
#[derive(Debug)]
pub struct Registration {
    /// The group.
    pub group: GroupId,
    /// Data-Security SAs to install.
    pub data_sas: Vec<SaInstall>,
    /// The Rekey SA to listen on, if the group is rekeyed by multicast.
    pub rekey_sa: Option<RekeySaInfo>,
    /// Sender-IDs allocated to this member, in order of use.
    pub sender_ids: Vec<u32>,
    /// GWP_SENDER_ID_BITS, when Sender-IDs were given.
    pub sender_id_bits: Option<u16>,
    /// GWP_ATD in seconds (0 when absent).
    pub atd_secs: u16,
    /// GWP_DTD in seconds (0 when absent).
    pub dtd_secs: u16,
}
