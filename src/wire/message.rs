//! A complete IKEv2 message: header and payload chain (RFC 7296 §3.1, §3.2).

use super::chain::{decode_chain, encode_chain, Payload, PayloadBody};
use super::enums::PayloadType;
use super::error::{DecodeError, DecodeErrorKind, EncodeError, Structure};
use super::header::{IkeHeader, RawHeader, IKE_HEADER_LEN};
use super::reader::Reader;
use super::writer::Writer;

/// An IKEv2 message. `encode(decode(b)) == b` for every message the decoder accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The header (Next Payload and Length are derived when encoding).
    pub header: IkeHeader,
    /// The payloads in wire order; an SK or SKF payload, if present, is last.
    pub payloads: Vec<Payload>,
}

impl Message {
    /// Decodes one IKE message occupying exactly `bytes` (no non-ESP marker).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let raw = RawHeader::read(&mut r)?;
        if raw.header.version >> 4 != 2 {
            return Err(DecodeError {
                structure: Structure::IkeHeader,
                offset: 17,
                kind: DecodeErrorKind::InvalidValue {
                    field: "Major Version",
                    value: u64::from(raw.header.version >> 4),
                },
            });
        }
        let declared = raw.length as usize;
        if declared != bytes.len() {
            let kind = if declared < IKE_HEADER_LEN {
                DecodeErrorKind::LengthUnderrun {
                    declared,
                    minimum: IKE_HEADER_LEN,
                }
            } else if declared > bytes.len() {
                DecodeErrorKind::LengthOverrun {
                    declared,
                    available: bytes.len(),
                }
            } else {
                DecodeErrorKind::TrailingOctets {
                    count: bytes.len() - declared,
                }
            };
            return Err(DecodeError {
                structure: Structure::IkeHeader,
                offset: 24,
                kind,
            });
        }
        let payloads = decode_chain(raw.next_payload, &mut r)?;
        Ok(Message {
            header: raw.header,
            payloads,
        })
    }

    /// Encodes the message with derived Next Payload and Length fields.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut w = Writer::with_capacity(1024);
        self.encode_into(&mut w)?;
        Ok(w.into_vec())
    }

    pub(crate) fn encode_into(&self, w: &mut Writer) -> Result<(), EncodeError> {
        let start = w.len();
        let h = &self.header;
        if h.version >> 4 != 2 {
            return Err(EncodeError::OutOfRange {
                structure: Structure::IkeHeader,
                field: "Major Version",
                value: u64::from(h.version >> 4),
            });
        }
        w.bytes(&h.spi_i);
        w.bytes(&h.spi_r);
        let next_at = w.len();
        w.u8(0);
        w.u8(h.version);
        w.u8(h.exchange.0);
        w.u8(h.flags);
        w.u32(h.message_id);
        let len_at = w.len();
        w.u32(0);
        let first = encode_chain(&self.payloads, w)?;
        w.patch_u8(next_at, first.0);
        let len = w.len() - start;
        let len32 = u32::try_from(len).map_err(|_| EncodeError::TooLong {
            structure: Structure::IkeHeader,
            len,
            max: u32::MAX as usize,
        })?;
        w.patch_u32(len_at, len32);
        Ok(())
    }

    /// Type of the first payload (the header's Next Payload).
    pub fn first_payload_type(&self) -> PayloadType {
        self.payloads
            .first()
            .map(|p| p.body.payload_type())
            .unwrap_or(PayloadType::NONE)
    }

    /// The SK payload, if the message carries one.
    pub fn encrypted(&self) -> Option<&super::chain::EncryptedPayload> {
        self.payloads.iter().find_map(|p| match &p.body {
            PayloadBody::Sk(e) => Some(e),
            _ => None,
        })
    }
}
