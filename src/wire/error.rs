//! Typed codec errors: every failure names the structure and the absolute octet offset.

use std::fmt;

/// The wire structure a codec error refers to.
///
/// Names follow RFC 7296 §3 and RFC 9838 §4 so that an operator can find the field in the RFC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Structure {
    /// IKE header (RFC 7296 §3.1).
    IkeHeader,
    /// Generic payload header (RFC 7296 §3.2).
    PayloadHeader,
    /// SA payload, also SAg (RFC 7296 §3.3, RFC 9838 §4.3).
    SaPayload,
    /// Proposal substructure (RFC 7296 §3.3.1).
    Proposal,
    /// Transform substructure (RFC 7296 §3.3.2).
    Transform,
    /// Data attribute (RFC 7296 §3.3.5).
    Attribute,
    /// Key Exchange payload (RFC 7296 §3.4).
    KePayload,
    /// Identification payload IDi/IDr (RFC 7296 §3.5).
    IdPayload,
    /// Group Identification payload IDg (RFC 9838 §4.2).
    IdgPayload,
    /// Certificate payload (RFC 7296 §3.6).
    CertPayload,
    /// Certificate Request payload (RFC 7296 §3.7).
    CertReqPayload,
    /// Authentication payload (RFC 7296 §3.8).
    AuthPayload,
    /// RFC 7427 §3 signature authentication data inside AUTH (method 14).
    SignatureAuthData,
    /// Nonce payload (RFC 7296 §3.9).
    NoncePayload,
    /// Notify payload (RFC 7296 §3.10).
    NotifyPayload,
    /// Delete payload (RFC 7296 §3.11).
    DeletePayload,
    /// Traffic Selector payload (RFC 7296 §3.13).
    TsPayload,
    /// One traffic selector (RFC 7296 §3.13.1).
    TrafficSelector,
    /// Encrypted and Authenticated payload SK (RFC 7296 §3.14).
    SkPayload,
    /// Encrypted and Authenticated Fragment payload SKF (RFC 7383 §2.5).
    SkfPayload,
    /// Group Security Association payload (RFC 9838 §4.4).
    GsaPayload,
    /// GSA policy substructure (RFC 9838 §4.4.2).
    GsaPolicy,
    /// Group-wide policy substructure (RFC 9838 §4.4.3).
    GwPolicy,
    /// Key Download payload (RFC 9838 §4.5).
    KdPayload,
    /// Group Key Bag substructure (RFC 9838 §4.5.2).
    GroupKeyBag,
    /// Member Key Bag substructure (RFC 9838 §4.5.3).
    MemberKeyBag,
    /// Wrapped key format (RFC 9838 §4.5.4).
    WrappedKey,
    /// Any other payload kept opaque.
    Payload,
    /// Message framing (datagram, non-ESP marker, UDP).
    Message,
}

impl fmt::Display for Structure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Structure::IkeHeader => "IKE header",
            Structure::PayloadHeader => "generic payload header",
            Structure::SaPayload => "SA payload",
            Structure::Proposal => "Proposal substructure",
            Structure::Transform => "Transform substructure",
            Structure::Attribute => "attribute",
            Structure::KePayload => "KE payload",
            Structure::IdPayload => "ID payload",
            Structure::IdgPayload => "IDg payload",
            Structure::CertPayload => "CERT payload",
            Structure::CertReqPayload => "CERTREQ payload",
            Structure::AuthPayload => "AUTH payload",
            Structure::SignatureAuthData => "RFC 7427 signature data",
            Structure::NoncePayload => "Nonce payload",
            Structure::NotifyPayload => "Notify payload",
            Structure::DeletePayload => "Delete payload",
            Structure::TsPayload => "TS payload",
            Structure::TrafficSelector => "traffic selector",
            Structure::SkPayload => "SK payload",
            Structure::SkfPayload => "SKF payload",
            Structure::GsaPayload => "GSA payload",
            Structure::GsaPolicy => "GSA policy",
            Structure::GwPolicy => "GW policy",
            Structure::KdPayload => "KD payload",
            Structure::GroupKeyBag => "Group Key Bag",
            Structure::MemberKeyBag => "Member Key Bag",
            Structure::WrappedKey => "wrapped key",
            Structure::Payload => "payload",
            Structure::Message => "message",
        };
        f.write_str(name)
    }
}

/// What went wrong while decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// Fewer octets remain than the field needs.
    Truncated {
        /// Octets the field needs.
        needed: usize,
        /// Octets that remain.
        available: usize,
    },
    /// A length field claims more octets than its container holds.
    LengthOverrun {
        /// The declared length.
        declared: usize,
        /// Octets actually available.
        available: usize,
    },
    /// A length field is smaller than the structure's fixed part.
    LengthUnderrun {
        /// The declared length.
        declared: usize,
        /// The minimum the structure needs.
        minimum: usize,
    },
    /// Octets remain after the last element of a structure.
    TrailingOctets {
        /// How many.
        count: usize,
    },
    /// A field holds a value that the format forbids.
    InvalidValue {
        /// The field's name as the RFC spells it.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// A count field disagrees with the elements present.
    CountMismatch {
        /// The field's name.
        field: &'static str,
        /// The declared count.
        declared: usize,
        /// The number found.
        found: usize,
    },
    /// A list of substructures ended without the "last substructure" marker.
    MissingLastSubstructure,
    /// An attribute used TV format where the registry requires TLV, or the reverse.
    WrongAttributeFormat {
        /// The attribute type.
        attr_type: u16,
    },
    /// A payload that must be last (SK, SKF) is followed by more octets or payloads.
    EncryptedNotLast,
}

/// A decoding failure: the structure, the absolute offset in the decoded buffer, and the cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// The structure being decoded.
    pub structure: Structure,
    /// Absolute octet offset of the offending field in the input.
    pub offset: usize,
    /// The cause.
    pub kind: DecodeErrorKind,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}: ", self.structure, self.offset)?;
        match &self.kind {
            DecodeErrorKind::Truncated { needed, available } => {
                write!(f, "truncated: needs {needed} octets, {available} remain")
            }
            DecodeErrorKind::LengthOverrun {
                declared,
                available,
            } => write!(
                f,
                "declared length {declared} overruns the {available} octets available"
            ),
            DecodeErrorKind::LengthUnderrun { declared, minimum } => write!(
                f,
                "declared length {declared} is below the minimum of {minimum}"
            ),
            DecodeErrorKind::TrailingOctets { count } => {
                write!(f, "{count} unexpected trailing octets")
            }
            DecodeErrorKind::InvalidValue { field, value } => {
                write!(f, "invalid {field} value {value}")
            }
            DecodeErrorKind::CountMismatch {
                field,
                declared,
                found,
            } => write!(f, "{field} says {declared} but {found} present"),
            DecodeErrorKind::MissingLastSubstructure => {
                write!(f, "no substructure carries the last-substructure marker")
            }
            DecodeErrorKind::WrongAttributeFormat { attr_type } => {
                write!(f, "attribute type {attr_type} in the wrong TV/TLV format")
            }
            DecodeErrorKind::EncryptedNotLast => {
                write!(f, "an encrypted payload must be the last payload")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// An encoding failure: a value does not fit its wire field.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// A variable-length part is too long for its length field.
    TooLong {
        /// The structure.
        structure: Structure,
        /// The length that was needed.
        len: usize,
        /// The field's maximum.
        max: usize,
    },
    /// A field value is out of its range (e.g. an attribute type above 0x7fff).
    OutOfRange {
        /// The structure.
        structure: Structure,
        /// The field.
        field: &'static str,
        /// The value.
        value: u64,
    },
    /// An encrypted payload (SK/SKF) is not the last payload of its chain.
    EncryptedNotLast,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::TooLong {
                structure,
                len,
                max,
            } => write!(f, "{structure}: length {len} exceeds the maximum {max}"),
            EncodeError::OutOfRange {
                structure,
                field,
                value,
            } => write!(f, "{structure}: {field} value {value} out of range"),
            EncodeError::EncryptedNotLast => {
                write!(f, "an encrypted payload must be the last payload")
            }
        }
    }
}

impl std::error::Error for EncodeError {}
