//! The one error type of the C ABI and its mapping to `gikev2_status_t`. The table in
//! docs/decisions.md (F section) is this file's [`Error::status`] in prose; the matches are
//! exhaustive, so a new library error variant does not compile until it is mapped.

use super::abi::gikev2_status_t as S;
use crate::crypto::CryptoError;
use crate::gcks::{ConfigError, GcksError};
use crate::gm::{GmError, GmRekeyError};
use crate::gsa_rekey::RekeyMessageError;
use crate::lkh::LkhError;
use crate::wire::{DecodeError, EncodeError};
use std::fmt;

/// Everything an export can fail with.
#[derive(Debug)]
pub(crate) enum Error {
    /// A required pointer argument (named) was NULL.
    Null(&'static str),
    /// An argument is out of range or malformed.
    Argument(String),
    /// A setting is wrong or missing.
    Config(ConfigError),
    /// Payloads from the network do not decode.
    Decode(DecodeError),
    /// Key server errors.
    Gcks(GcksError),
    /// Member errors (registration and inband rekey content).
    Gm(GmError),
    /// A GSA_REKEY datagram was dropped.
    GmRekey(GmRekeyError),
    /// Crypto failure outside the above (IKE SA context, key generation).
    Crypto(CryptoError),
    /// Encoding our own payloads failed (a bug).
    Encode(EncodeError),
    /// No such group, member, SA or deadline.
    NotFound(String),
    /// No deadline: an answer, not a failure worth a log line.
    NoDeadline,
    /// More fragments are needed.
    Incomplete,
    /// The operation does not fit the object's state.
    State(String),
    /// A panic was caught at the boundary.
    Panic(String),
}

impl Error {
    /// The status code (docs/decisions.md, table F).
    pub(crate) fn status(&self) -> S {
        match self {
            Error::Null(_) => S::GIKEV2_ERR_NULL,
            Error::Argument(_) => S::GIKEV2_ERR_ARGUMENT,
            Error::Config(_) => S::GIKEV2_ERR_CONFIG,
            Error::Decode(_) => S::GIKEV2_ERR_DECODE,
            Error::Gcks(e) => gcks(e),
            Error::Gm(e) => gm(e),
            Error::GmRekey(e) => match e {
                GmRekeyError::UnknownRekeySa(_) => S::GIKEV2_ERR_NOT_FOUND,
                // What still comes on a replaced Rekey SA is late copies of the message
                // that replaced it (docs/decisions.md K12): a replay, logged at debug.
                GmRekeyError::RetiredRekeySa { .. } => S::GIKEV2_ERR_REPLAY,
                GmRekeyError::Message(m) => rekey_message(m),
                GmRekeyError::Content(c) => gm(c),
            },
            Error::Crypto(e) => crypto(e),
            Error::Encode(_) => S::GIKEV2_ERR_INTERNAL,
            Error::NotFound(_) | Error::NoDeadline => S::GIKEV2_ERR_NOT_FOUND,
            Error::Incomplete => S::GIKEV2_ERR_INCOMPLETE,
            Error::State(_) => S::GIKEV2_ERR_STATE,
            Error::Panic(_) => S::GIKEV2_ERR_INTERNAL,
        }
    }

    /// Logs the failure of export `function` at a level that fits its cause: errors the
    /// host or operator must fix are warnings or errors; what the network sends (garbage,
    /// replays, forgeries) is info or debug, so a flood cannot fill the daemon's log.
    pub(crate) fn log(&self, function: &str) {
        let status = self.status();
        match status {
            S::GIKEV2_ERR_CONFIG => match self {
                // The line names the setting, e.g. "groups.video.policies.p1.encr: ...".
                Error::Config(c) => ::log::error!("{c}"),
                other => ::log::error!("{function}: {other}"),
            },
            S::GIKEV2_ERR_INTERNAL | S::GIKEV2_ERR_CRYPTO => {
                ::log::error!("{function}: {self}")
            }
            S::GIKEV2_ERR_NULL | S::GIKEV2_ERR_ARGUMENT | S::GIKEV2_ERR_STATE => {
                ::log::warn!("{function}: {self}")
            }
            S::GIKEV2_ERR_NOT_FOUND if matches!(self, Error::NoDeadline) => {}
            S::GIKEV2_ERR_NOT_FOUND | S::GIKEV2_ERR_PROTOCOL | S::GIKEV2_ERR_AUTHENTICATION => {
                ::log::info!("{function}: {self}")
            }
            _ => ::log::debug!("{function}: {self}"),
        }
    }
}

fn crypto(e: &CryptoError) -> S {
    match e {
        CryptoError::IcvMismatch
        | CryptoError::UnwrapFailed
        | CryptoError::BadPadding
        | CryptoError::SignatureInvalid => S::GIKEV2_ERR_AUTHENTICATION,
        CryptoError::Openssl(_)
        | CryptoError::InvalidLength { .. }
        | CryptoError::Unsupported(_)
        | CryptoError::InvalidKey(_) => S::GIKEV2_ERR_CRYPTO,
    }
}

fn rekey_message(e: &RekeyMessageError) -> S {
    match e {
        RekeyMessageError::Encode(_) => S::GIKEV2_ERR_INTERNAL,
        RekeyMessageError::Decode(_) | RekeyMessageError::InnerDecode(_) => S::GIKEV2_ERR_DECODE,
        // A received SK body too short for IV, block and ICV is a truncated datagram.
        RekeyMessageError::Crypto(CryptoError::InvalidLength { .. }) => S::GIKEV2_ERR_DECODE,
        RekeyMessageError::Crypto(c) => crypto(c),
        RekeyMessageError::NotGsaRekey(_)
        | RekeyMessageError::WrongSpi
        | RekeyMessageError::NotProtected
        | RekeyMessageError::BadFragment(_) => S::GIKEV2_ERR_PROTOCOL,
        RekeyMessageError::Replay { .. } => S::GIKEV2_ERR_REPLAY,
        RekeyMessageError::MissingAuth
        | RekeyMessageError::UnexpectedAuth
        | RekeyMessageError::BadAuth(_)
        | RekeyMessageError::AlgorithmMismatch
        | RekeyMessageError::SignatureInvalid => S::GIKEV2_ERR_AUTHENTICATION,
        RekeyMessageError::FragmentSizeTooSmall(_) | RekeyMessageError::TooManyFragments { .. } => {
            S::GIKEV2_ERR_CONFIG
        }
        RekeyMessageError::TooLarge { .. } => S::GIKEV2_ERR_STATE,
    }
}

fn gcks(e: &GcksError) -> S {
    match e {
        GcksError::Config(_) | GcksError::DuplicateGroup(_) => S::GIKEV2_ERR_CONFIG,
        GcksError::UnknownGroup(_) | GcksError::UnknownMember(_) => S::GIKEV2_ERR_NOT_FOUND,
        GcksError::DuplicateMember(_) => S::GIKEV2_ERR_ARGUMENT,
        GcksError::NoRekeySa(_) | GcksError::MessageIdsExhausted(_) => S::GIKEV2_ERR_STATE,
        GcksError::Crypto(c) => crypto(c),
        GcksError::Lkh(l) => match l {
            LkhError::TooManyMembers { .. } | LkhError::KeyIdsExhausted => S::GIKEV2_ERR_STATE,
            LkhError::Crypto(c) => crypto(c),
            LkhError::DegreeOutOfRange { .. }
            | LkhError::KeyLength { .. }
            | LkhError::KwaMismatch { .. }
            | LkhError::UnknownLeaf(_)
            | LkhError::LeafNotOccupied(_)
            | LkhError::StalePlan { .. }
            | LkhError::Executor(_)
            | LkhError::StaleUndo => S::GIKEV2_ERR_INTERNAL,
        },
        GcksError::RekeyMessage(r) => rekey_message(r),
    }
}

fn gm(e: &GmError) -> S {
    match e {
        GmError::Rejected(_)
        | GmError::PolicyUnacceptable(_)
        | GmError::Malformed(_)
        | GmError::UnknownSpi { .. }
        | GmError::UnknownKwk(_) => S::GIKEV2_ERR_PROTOCOL,
        GmError::Unwrap(_) => S::GIKEV2_ERR_AUTHENTICATION,
        GmError::NoPendingRequest(_) => S::GIKEV2_ERR_NOT_FOUND,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Null(what) => write!(f, "{what} is NULL"),
            Error::Argument(s) | Error::NotFound(s) | Error::State(s) => f.write_str(s),
            Error::Config(e) => write!(f, "{e}"),
            Error::Decode(e) => write!(f, "payloads do not decode: {e}"),
            Error::Gcks(e) => write!(f, "{e}"),
            Error::Gm(e) => write!(f, "{e}"),
            Error::GmRekey(e) => write!(f, "GSA_REKEY dropped: {e}"),
            Error::Crypto(e) => write!(f, "{e}"),
            Error::Encode(e) => write!(f, "encoding: {e}"),
            Error::NoDeadline => f.write_str("no deadline"),
            Error::Incomplete => f.write_str("more fragments needed"),
            Error::Panic(s) => write!(f, "internal error (panic: {s})"),
        }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(e)
    }
}

impl From<GcksError> for Error {
    fn from(e: GcksError) -> Self {
        Error::Gcks(e)
    }
}

impl From<GmError> for Error {
    fn from(e: GmError) -> Self {
        Error::Gm(e)
    }
}

impl From<GmRekeyError> for Error {
    fn from(e: GmRekeyError) -> Self {
        Error::GmRekey(e)
    }
}

impl From<CryptoError> for Error {
    fn from(e: CryptoError) -> Self {
        Error::Crypto(e)
    }
}

impl From<EncodeError> for Error {
    fn from(e: EncodeError) -> Self {
        Error::Encode(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;
    use crate::wire::{ExchangeType, NotifyType};

    #[test]
    fn mapping_samples() {
        let s = |e: Error| e.status();
        assert_eq!(s(Error::Null("x")), S::GIKEV2_ERR_NULL);
        assert_eq!(
            s(Error::GmRekey(GmRekeyError::Message(
                RekeyMessageError::Replay {
                    received: 1,
                    expected: 2
                }
            ))),
            S::GIKEV2_ERR_REPLAY
        );
        assert_eq!(
            s(Error::GmRekey(GmRekeyError::Message(
                RekeyMessageError::Crypto(CryptoError::IcvMismatch)
            ))),
            S::GIKEV2_ERR_AUTHENTICATION
        );
        assert_eq!(
            s(Error::GmRekey(GmRekeyError::Message(
                RekeyMessageError::Crypto(CryptoError::InvalidLength {
                    what: "SK payload body",
                    expected: 32,
                    got: 3
                })
            ))),
            S::GIKEV2_ERR_DECODE
        );
        assert_eq!(
            s(Error::GmRekey(GmRekeyError::Message(
                RekeyMessageError::NotGsaRekey(ExchangeType::GSA_AUTH)
            ))),
            S::GIKEV2_ERR_PROTOCOL
        );
        assert_eq!(
            s(Error::GmRekey(GmRekeyError::UnknownRekeySa([0; 16]))),
            S::GIKEV2_ERR_NOT_FOUND
        );
        assert_eq!(
            s(Error::GmRekey(GmRekeyError::RetiredRekeySa {
                spi: [0; 16],
                message_id: 3
            })),
            S::GIKEV2_ERR_REPLAY
        );
        assert_eq!(
            s(Error::GmRekey(GmRekeyError::Content(GmError::Unwrap(
                CryptoError::UnwrapFailed
            )))),
            S::GIKEV2_ERR_AUTHENTICATION
        );
        assert_eq!(
            s(Error::Gm(GmError::Rejected(NotifyType::INVALID_GROUP_ID))),
            S::GIKEV2_ERR_PROTOCOL
        );
        assert_eq!(
            s(Error::Gcks(GcksError::UnknownMember(Identity::fqdn("x")))),
            S::GIKEV2_ERR_NOT_FOUND
        );
        assert_eq!(
            s(Error::Gcks(GcksError::NoRekeySa(Identity::fqdn("g")))),
            S::GIKEV2_ERR_STATE
        );
        assert_eq!(
            s(Error::Gcks(GcksError::Crypto(CryptoError::Openssl(
                "x".into()
            )))),
            S::GIKEV2_ERR_CRYPTO
        );
        assert_eq!(
            s(Error::Gcks(GcksError::Lkh(LkhError::KeyIdsExhausted))),
            S::GIKEV2_ERR_STATE
        );
        assert_eq!(s(Error::Panic("boom".into())), S::GIKEV2_ERR_INTERNAL);
        assert_eq!(s(Error::Incomplete), S::GIKEV2_ERR_INCOMPLETE);
        assert_eq!(s(Error::NoDeadline), S::GIKEV2_ERR_NOT_FOUND);
    }
}
