//! The IKE header (RFC 7296 §3.1).

use super::enums::{ExchangeType, PayloadType};
use super::error::{DecodeError, Structure};
use super::reader::Reader;

/// Length of the IKE header in octets.
pub const IKE_HEADER_LEN: usize = 28;

/// Flags octet bits (RFC 7296 §3.1).
pub mod flags {
    /// Initiator bit.
    pub const INITIATOR: u8 = 0x08;
    /// Version bit.
    pub const VERSION: u8 = 0x10;
    /// Response bit.
    pub const RESPONSE: u8 = 0x20;
}

/// The IKE header, minus the fields the encoder derives (Next Payload and Length).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IkeHeader {
    /// IKE SA Initiator's SPI; for GSA_REKEY the first 8 octets of the Rekey SA SPI
    /// (RFC 9838 §4.4.2).
    pub spi_i: [u8; 8],
    /// IKE SA Responder's SPI; for GSA_REKEY the last 8 octets of the Rekey SA SPI.
    pub spi_r: [u8; 8],
    /// Major version (high nibble, always 2 after decoding) and minor version.
    pub version: u8,
    /// Exchange Type.
    pub exchange: ExchangeType,
    /// Flags octet, all eight bits kept.
    pub flags: u8,
    /// Message ID.
    pub message_id: u32,
}

impl IkeHeader {
    /// Version octet for IKEv2.0.
    pub const VERSION_2_0: u8 = 0x20;

    /// The 16-octet SPI pair as one array (the Rekey SA SPI for GSA_REKEY).
    pub fn spi_pair(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.spi_i);
        out[8..].copy_from_slice(&self.spi_r);
        out
    }

    /// True if the Response flag is set.
    pub fn is_response(&self) -> bool {
        self.flags & flags::RESPONSE != 0
    }

    /// True if the Initiator flag is set.
    pub fn is_initiator(&self) -> bool {
        self.flags & flags::INITIATOR != 0
    }
}

/// An IKE header with its derived fields, as read from the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawHeader {
    /// The header fields.
    pub header: IkeHeader,
    /// Type of the first payload.
    pub next_payload: PayloadType,
    /// Length field: the whole message including the header.
    pub length: u32,
}

impl RawHeader {
    /// Decodes the 28-octet IKE header at the start of `bytes` without checking the
    /// Length field against the buffer or the version (use it to peek at SPIs, exchange
    /// type and version, e.g. to answer INVALID_MAJOR_VERSION, RFC 7296 §2.5).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        Self::read(&mut r)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let s = Structure::IkeHeader;
        let spi_i = r.array(s)?;
        let spi_r = r.array(s)?;
        let next_payload = PayloadType(r.u8(s)?);
        let version = r.u8(s)?;
        let exchange = ExchangeType(r.u8(s)?);
        let flags = r.u8(s)?;
        let message_id = r.u32(s)?;
        let length = r.u32(s)?;
        Ok(RawHeader {
            header: IkeHeader {
                spi_i,
                spi_r,
                version,
                exchange,
                flags,
                message_id,
            },
            next_payload,
            length,
        })
    }
}
