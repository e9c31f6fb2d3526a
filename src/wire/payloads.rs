//! The RFC 7296 payload bodies other than SA and TS: KE (§3.4), ID and IDg (§3.5,
//! RFC 9838 §4.2), CERT/CERTREQ (§3.6, §3.7), AUTH (§3.8, RFC 7427), Notify (§3.10),
//! Delete (§3.11).

use super::enums::{AuthMethod, CertEncoding, IdType, NotifyType, ProtocolId};
use super::error::{DecodeError, DecodeErrorKind, EncodeError, Structure};
use super::reader::Reader;
use super::writer::Writer;

/// Key Exchange payload body (RFC 7296 §3.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KePayload {
    /// Key Exchange Method (transform type 4 ID).
    pub group: u16,
    /// RESERVED.
    pub reserved: u16,
    /// Key Exchange Data.
    pub data: Vec<u8>,
}

impl KePayload {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let s = Structure::KePayload;
        Ok(KePayload {
            group: r.u16(s)?,
            reserved: r.u16(s)?,
            data: r.rest().to_vec(),
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u16(self.group);
        w.u16(self.reserved);
        w.bytes(&self.data);
    }
}

/// Identification payload body: IDi, IDr (RFC 7296 §3.5) and IDg (RFC 9838 §4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdPayload {
    /// ID Type.
    pub id_type: IdType,
    /// The three RESERVED octets.
    pub reserved: [u8; 3],
    /// Identification Data.
    pub data: Vec<u8>,
}

impl IdPayload {
    /// An identity with zero RESERVED octets.
    pub fn new(id_type: IdType, data: Vec<u8>) -> Self {
        IdPayload {
            id_type,
            reserved: [0; 3],
            data,
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>, s: Structure) -> Result<Self, DecodeError> {
        Ok(IdPayload {
            id_type: IdType(r.u8(s)?),
            reserved: r.array(s)?,
            data: r.rest().to_vec(),
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u8(self.id_type.0);
        w.bytes(&self.reserved);
        w.bytes(&self.data);
    }

    /// Human-readable form of the identity (addresses, names; opaque types in hex).
    pub fn display_value(&self) -> String {
        match self.id_type {
            IdType::ID_IPV4_ADDR if self.data.len() == 4 => {
                let mut a = [0u8; 4];
                a.copy_from_slice(&self.data);
                std::net::Ipv4Addr::from(a).to_string()
            }
            IdType::ID_IPV6_ADDR if self.data.len() == 16 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(&self.data);
                std::net::Ipv6Addr::from(a).to_string()
            }
            IdType::ID_FQDN | IdType::ID_RFC822_ADDR => {
                String::from_utf8_lossy(&self.data).into_owned()
            }
            IdType::ID_KEY_ID
                if !self.data.is_empty()
                    && self.data.iter().all(|b| b.is_ascii_graphic() || *b == b' ') =>
            {
                format!(
                    "{} ({})",
                    super::hex(&self.data),
                    String::from_utf8_lossy(&self.data)
                )
            }
            _ => super::hex(&self.data),
        }
    }
}

/// CERT and CERTREQ payload bodies (RFC 7296 §3.6, §3.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertPayload {
    /// Certificate Encoding.
    pub encoding: CertEncoding,
    /// Certificate Data (CERT) or Certification Authority hashes (CERTREQ).
    pub data: Vec<u8>,
}

impl CertPayload {
    pub(crate) fn decode(r: &mut Reader<'_>, s: Structure) -> Result<Self, DecodeError> {
        Ok(CertPayload {
            encoding: CertEncoding(r.u8(s)?),
            data: r.rest().to_vec(),
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u8(self.encoding.0);
        w.bytes(&self.data);
    }
}

/// Authentication payload body (RFC 7296 §3.8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthPayload {
    /// Auth Method.
    pub method: AuthMethod,
    /// The three RESERVED octets.
    pub reserved: [u8; 3],
    /// Authentication Data.
    pub data: Vec<u8>,
}

impl AuthPayload {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let s = Structure::AuthPayload;
        Ok(AuthPayload {
            method: AuthMethod(r.u8(s)?),
            reserved: r.array(s)?,
            data: r.rest().to_vec(),
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u8(self.method.0);
        w.bytes(&self.reserved);
        w.bytes(&self.data);
    }
}

/// The Authentication Data of method 14, Digital Signature (RFC 7427 §3):
/// a one-octet ASN.1 length, the DER AlgorithmIdentifier, then the signature value.
/// Used by GSA_REKEY authentication (RFC 9838 §2.4.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureAuthData {
    /// DER AlgorithmIdentifier.
    pub algorithm_identifier: Vec<u8>,
    /// Signature Value.
    pub signature: Vec<u8>,
}

impl SignatureAuthData {
    /// Parses the Authentication Data of an AUTH payload with method 14.
    pub fn decode(data: &[u8]) -> Result<Self, DecodeError> {
        let s = Structure::SignatureAuthData;
        let mut r = Reader::new(data);
        let len = r.u8(s)? as usize;
        if len == 0 {
            return Err(DecodeError {
                structure: s,
                offset: 0,
                kind: DecodeErrorKind::InvalidValue {
                    field: "ASN.1 Length",
                    value: 0,
                },
            });
        }
        let algorithm_identifier = r.take(len, s)?.to_vec();
        Ok(SignatureAuthData {
            algorithm_identifier,
            signature: r.rest().to_vec(),
        })
    }

    /// Encodes the Authentication Data.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        if self.algorithm_identifier.is_empty() {
            return Err(EncodeError::OutOfRange {
                structure: Structure::SignatureAuthData,
                field: "ASN.1 Length",
                value: 0,
            });
        }
        let mut w =
            Writer::with_capacity(1 + self.algorithm_identifier.len() + self.signature.len());
        w.u8_len(
            self.algorithm_identifier.len(),
            Structure::SignatureAuthData,
            "ASN.1 Length",
        )?;
        w.bytes(&self.algorithm_identifier);
        w.bytes(&self.signature);
        Ok(w.into_vec())
    }
}

/// Notify payload body (RFC 7296 §3.10; RFC 9838 §4.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyPayload {
    /// Protocol ID (0 for the G-IKEv2 notifies).
    pub protocol: ProtocolId,
    /// SPI (SPI Size octets).
    pub spi: Vec<u8>,
    /// Notify Message Type.
    pub notify_type: NotifyType,
    /// Notification Data.
    pub data: Vec<u8>,
}

impl NotifyPayload {
    /// A notify with Protocol ID 0 and no SPI, the form every RFC 9838 notify uses.
    pub fn new(notify_type: NotifyType, data: Vec<u8>) -> Self {
        NotifyPayload {
            protocol: ProtocolId::NONE,
            spi: Vec::new(),
            notify_type,
            data,
        }
    }

    /// GROUP_SENDER with a requested Sender-ID count (RFC 9838 §4.7.4).
    pub fn group_sender(count: u32) -> Self {
        NotifyPayload::new(NotifyType::GROUP_SENDER, count.to_be_bytes().to_vec())
    }

    /// The GROUP_SENDER count: the 4-octet big-endian value, or `None` if the data is
    /// not 4 octets (RFC 9838 §4.7.4).
    pub fn group_sender_count(&self) -> Option<u32> {
        <[u8; 4]>::try_from(self.data.as_slice())
            .ok()
            .map(u32::from_be_bytes)
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let s = Structure::NotifyPayload;
        let protocol = ProtocolId(r.u8(s)?);
        let spi_size = r.u8(s)? as usize;
        let notify_type = NotifyType(r.u16(s)?);
        let spi = r.take(spi_size, s)?.to_vec();
        Ok(NotifyPayload {
            protocol,
            spi,
            notify_type,
            data: r.rest().to_vec(),
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) -> Result<(), EncodeError> {
        w.u8(self.protocol.0);
        w.u8_len(self.spi.len(), Structure::NotifyPayload, "SPI Size")?;
        w.u16(self.notify_type.0);
        w.bytes(&self.spi);
        w.bytes(&self.data);
        Ok(())
    }
}

/// Delete payload body (RFC 7296 §3.11; RFC 9838 §2.4.3, §4.6).
///
/// The SPI Size is kept explicitly so that a Delete with no SPIs (or with the all-zero
/// "every SA" SPI of RFC 9838 §2.4.3) round-trips exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletePayload {
    /// Protocol ID.
    pub protocol: ProtocolId,
    /// SPI Size (every SPI has exactly this length).
    pub spi_size: u8,
    /// SPIs.
    pub spis: Vec<Vec<u8>>,
}

impl DeletePayload {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let s = Structure::DeletePayload;
        let protocol = ProtocolId(r.u8(s)?);
        let spi_size = r.u8(s)?;
        let count_at = r.offset();
        let count = r.u16(s)? as usize;
        // RFC 7296 §3.11: SPI Size 0 (IKE SA) comes with Num of SPIs 0. Any other count
        // would make the decoder build `count` empty SPIs out of no input octets.
        if spi_size == 0 && count != 0 {
            return Err(DecodeError {
                structure: s,
                offset: count_at,
                kind: DecodeErrorKind::InvalidValue {
                    field: "Num of SPIs (SPI Size 0)",
                    value: count as u64,
                },
            });
        }
        let needed = count.saturating_mul(spi_size as usize);
        if needed != r.remaining() {
            return Err(DecodeError {
                structure: s,
                offset: count_at,
                kind: DecodeErrorKind::CountMismatch {
                    field: "Num of SPIs x SPI Size",
                    declared: needed,
                    found: r.remaining(),
                },
            });
        }
        let mut spis = Vec::with_capacity(count.min(r.remaining()));
        for _ in 0..count {
            spis.push(r.take(spi_size as usize, s)?.to_vec());
        }
        Ok(DeletePayload {
            protocol,
            spi_size,
            spis,
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) -> Result<(), EncodeError> {
        let s = Structure::DeletePayload;
        if self.spi_size == 0 && !self.spis.is_empty() {
            return Err(EncodeError::OutOfRange {
                structure: s,
                field: "Num of SPIs (SPI Size 0)",
                value: self.spis.len() as u64,
            });
        }
        if let Some(bad) = self.spis.iter().find(|x| x.len() != self.spi_size as usize) {
            return Err(EncodeError::OutOfRange {
                structure: s,
                field: "SPI length differs from SPI Size",
                value: bad.len() as u64,
            });
        }
        w.u8(self.protocol.0);
        w.u8(self.spi_size);
        w.u16_len(self.spis.len(), s, "Num of SPIs")?;
        for spi in &self.spis {
            w.bytes(spi);
        }
        Ok(())
    }
}
