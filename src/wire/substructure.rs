//! The header every GSA policy, GW policy and key bag starts with (RFC 9838 §4.4.1,
//! §4.5.1): a first octet (Protocol, or 0 for the GW policy and the Member Key Bag), a second
//! octet (SPI Size or RESERVED), and a Length covering the whole substructure.

use super::enums::ProtocolId;
use super::error::{DecodeError, EncodeError, Structure};
use super::reader::Reader;
use super::writer::Writer;

/// The protocols whose substructures carry an SPI: GIKE_UPDATE, AH and ESP.
pub(crate) fn is_sa_protocol(p: ProtocolId) -> bool {
    matches!(
        p,
        ProtocolId::GIKE_UPDATE | ProtocolId::AH | ProtocolId::ESP
    )
}

/// Reads the 4-octet header (the first octet was peeked by the caller) and returns the
/// second octet and a reader over the body.
pub(crate) fn read<'a>(r: &mut Reader<'a>, s: Structure) -> Result<(u8, Reader<'a>), DecodeError> {
    r.u8(s)?;
    let second = r.u8(s)?;
    let len_at = r.offset();
    let len = r.u16(s)? as usize;
    Ok((second, r.sub_structure(len, 4, len_at, s)?))
}

/// Writes a substructure: the header, what `body` writes, then the Length.
pub(crate) fn write(
    w: &mut Writer,
    first: u8,
    second: u8,
    s: Structure,
    body: impl FnOnce(&mut Writer) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let start = w.len();
    w.u8(first);
    w.u8(second);
    let mark = w.length16_placeholder(start);
    body(w)?;
    w.patch_length16(mark, s)
}

/// The SPI Size octet for `spi`.
pub(crate) fn spi_size(spi: &[u8], s: Structure) -> Result<u8, EncodeError> {
    u8::try_from(spi.len()).map_err(|_| EncodeError::OutOfRange {
        structure: s,
        field: "SPI Size",
        value: spi.len() as u64,
    })
}

/// Refuses the opaque form of a kind the decoder models (so `decode(encode(v)) == v`).
pub(crate) fn check_opaque(p: ProtocolId, s: Structure) -> Result<(), EncodeError> {
    if p == ProtocolId::NONE || is_sa_protocol(p) {
        return Err(EncodeError::OutOfRange {
            structure: s,
            field: "Protocol (opaque form of a known substructure)",
            value: u64::from(p.0),
        });
    }
    Ok(())
}

/// Refuses a protocol without an SPI where one is required.
pub(crate) fn check_sa_protocol(p: ProtocolId, s: Structure) -> Result<(), EncodeError> {
    if !is_sa_protocol(p) {
        return Err(EncodeError::OutOfRange {
            structure: s,
            field: "Protocol",
            value: u64::from(p.0),
        });
    }
    Ok(())
}
