//! What the host tells the core about the registration IKE SA (RFC 9838 §2.3).
//!
//! The daemon runs IKE_SA_INIT and authenticates the peer; the core needs the SPIs, the
//! negotiated PRF and Key Wrap Algorithm, the authenticated peer identity, whether IKEv2
//! fragmentation was negotiated, and SK_d, from which it derives GSK_w at once. SK_d itself
//! is not kept.

use crate::crypto::ike_keys::gsk_w;
use crate::crypto::keywrap::Kwa;
use crate::crypto::prf::PrfAlg;
use crate::crypto::{CryptoError, Key};
use crate::identity::Identity;

/// The registration IKE SA as seen by the group protocol.
#[derive(Debug)]
pub struct IkeSaContext {
    /// IKE SA Initiator's SPI.
    pub spi_i: [u8; 8],
    /// IKE SA Responder's SPI.
    pub spi_r: [u8; 8],
    /// The negotiated PRF.
    pub prf: PrfAlg,
    /// The Key Wrap Algorithm negotiated in IKE_SA_INIT (RFC 9838 §2.3.3).
    pub kwa: Kwa,
    /// The peer's authenticated identity (IDi at the GCKS, IDr at the GM).
    pub peer: Identity,
    /// Both peers sent IKEV2_FRAGMENTATION_SUPPORTED in IKE_SA_INIT (RFC 7383 §2.3). The
    /// key server fragments GSA_REKEY only when every member's IKE SA has it (RFC 9838
    /// §2.4.1.2). `false` from [`IkeSaContext::new`]; set it when the daemon says so.
    pub fragmentation: bool,
    gsk_w: Key,
}

impl IkeSaContext {
    /// Builds the context and derives GSK_w = prf+(SK_d, "Key Wrap for G-IKEv2")
    /// with the KWA's key length (RFC 9838 §3.1). Call again with the new SK_d after the
    /// IKE SA is rekeyed.
    pub fn new(
        spi_i: [u8; 8],
        spi_r: [u8; 8],
        prf: PrfAlg,
        sk_d: &[u8],
        kwa: Kwa,
        peer: Identity,
    ) -> Result<Self, CryptoError> {
        let gsk_w = gsk_w(prf, sk_d, kwa)?;
        Ok(IkeSaContext {
            spi_i,
            spi_r,
            prf,
            kwa,
            peer,
            fragmentation: false,
            gsk_w,
        })
    }

    /// GSK_w: the default key-wrap key of this IKE SA (KWK ID 0).
    pub fn gsk_w(&self) -> &Key {
        &self.gsk_w
    }
}
