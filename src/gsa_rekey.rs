//! GSA_REKEY datagrams (RFC 9838 §2.4.1): building, signing, fragmenting, reassembling,
//! opening and verifying. The group logic (what goes inside, Message ID replay checks)
//! lives in the key server and member roles.
//!
//! Signature input (§2.4.1.1): `A | P`, where `A` is the IKE header with Length set to
//! `32 + len(P)` followed by the SK generic header with Payload Length `len(P) + 4`, and
//! `P` is the plaintext inner payload chain with the signature value octets zeroed. With
//! fragmentation (RFC 7383) the signature always covers the whole message; the receiver
//! takes the SK header's Next Payload and flags octet from fragment 1 (§2.4.1.2).
//!
//! Decisions (docs/decisions.md K1-K3, K27): IKE header flags are sent as 0 and ignored on
//! receipt (Q4); a DER ECDSA signature, whose length varies, is produced by signing with
//! a placeholder of the expected length and signing again until the produced signature
//! has exactly that length (Q3), so the receiver needs no convention at all; fragments
//! are reassembled as several candidates per message, each authenticated apart, so a
//! member forging fragments cannot block the key server's message.

use crate::crypto::sign::{SigningKey, VerifyingKey};
use crate::crypto::sk::SkProtector;
use crate::crypto::CryptoError;
use crate::protect::{self, ProtectError};
use crate::wire::{
    self, AuthMethod, AuthPayload, DecodeError, EncodeError, ExchangeType, IkeHeader, Payload,
    PayloadBody, PayloadType, SignatureAuthData, IKE_HEADER_LEN, PAYLOAD_HEADER_LEN,
};
use std::fmt;
use zeroize::Zeroizing;

/// IKE header flags of GSA_REKEY: neither Initiator nor Response (docs/decisions.md K1).
pub const GSA_REKEY_FLAGS: u8 = 0;
/// Most fragments accepted for one message.
pub const MAX_FRAGMENTS: u16 = 64;
/// Most plaintext octets accepted for one reassembled message.
pub const MAX_REASSEMBLED_LEN: usize = 64 * 1024;
/// Length of the SKF header after the generic payload header.
const SKF_FIELDS_LEN: usize = 4;
/// Largest GSA_REKEY datagram built: the largest IPv4 UDP payload (65,535 - 20 - 8) less
/// the 4-octet non-ESP marker the sender adds on port 4500 (RFC 3948 §2.2). A message that
/// may not be fragmented and is larger cannot be sent at all (docs/decisions.md K20).
pub const MAX_DATAGRAM_LEN: usize = 65_503;

/// Why a GSA_REKEY datagram could not be built or accepted.
#[derive(Debug)]
#[non_exhaustive]
pub enum RekeyMessageError {
    /// A value does not fit its wire field.
    Encode(EncodeError),
    /// The datagram is malformed.
    Decode(DecodeError),
    /// The decrypted content is malformed.
    InnerDecode(DecodeError),
    /// ICV check, decryption or signing failed.
    Crypto(CryptoError),
    /// Not a GSA_REKEY (exchange type 41) message.
    NotGsaRekey(ExchangeType),
    /// The SPIs are not the Rekey SA's.
    WrongSpi,
    /// No SK or SKF payload, or unencrypted payloads beside it.
    NotProtected,
    /// A fragment that does not fit the message being reassembled or the limits.
    BadFragment(&'static str),
    /// The Message ID is below what the member accepts (replay).
    Replay {
        /// Message ID received.
        received: u32,
        /// Lowest acceptable.
        expected: u32,
    },
    /// Digital signature authentication is in use but the message has no AUTH payload.
    MissingAuth,
    /// Implicit authentication is in use but the message has an AUTH payload.
    UnexpectedAuth,
    /// More than one AUTH payload, a method other than 14, or malformed RFC 7427 data.
    BadAuth(String),
    /// The AlgorithmIdentifier in AUTH differs from the one announced at registration.
    AlgorithmMismatch,
    /// The signature does not verify.
    SignatureInvalid,
    /// The fragment size is too small to carry any content.
    FragmentSizeTooSmall(usize),
    /// The message does not fit one datagram ([`MAX_DATAGRAM_LEN`]) and may not be
    /// fragmented (RFC 9838 §2.4.1.2).
    TooLarge {
        /// Length of the whole message.
        len: usize,
        /// The largest datagram.
        max: usize,
    },
    /// The message would need more than [`MAX_FRAGMENTS`] fragments of the configured
    /// size (receivers accept no more, RFC 9838 §2.4.1.2).
    TooManyFragments {
        /// Fragments needed.
        needed: usize,
        /// The fragment size.
        fragment_size: usize,
    },
}

impl fmt::Display for RekeyMessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RekeyMessageError::Encode(e) => write!(f, "encoding: {e}"),
            RekeyMessageError::Decode(e) => write!(f, "malformed datagram: {e}"),
            RekeyMessageError::InnerDecode(e) => write!(f, "malformed content: {e}"),
            RekeyMessageError::Crypto(e) => write!(f, "protection: {e}"),
            RekeyMessageError::NotGsaRekey(x) => write!(f, "exchange {x} is not GSA_REKEY"),
            RekeyMessageError::WrongSpi => f.write_str("SPIs are not the Rekey SA's"),
            RekeyMessageError::NotProtected => f.write_str("no SK/SKF payload"),
            RekeyMessageError::BadFragment(w) => write!(f, "fragment rejected: {w}"),
            RekeyMessageError::Replay { received, expected } => {
                write!(f, "Message ID {received} below {expected} (replay)")
            }
            RekeyMessageError::MissingAuth => f.write_str("AUTH payload missing"),
            RekeyMessageError::UnexpectedAuth => {
                f.write_str("AUTH payload with implicit authentication")
            }
            RekeyMessageError::BadAuth(w) => write!(f, "AUTH payload: {w}"),
            RekeyMessageError::AlgorithmMismatch => {
                f.write_str("signature algorithm differs from attribute 18")
            }
            RekeyMessageError::SignatureInvalid => f.write_str("signature does not verify"),
            RekeyMessageError::FragmentSizeTooSmall(n) => {
                write!(f, "fragment size {n} leaves no room for content")
            }
            RekeyMessageError::TooLarge { len, max } => write!(
                f,
                "{len} octets do not fit one datagram ({max}) and may not be fragmented"
            ),
            RekeyMessageError::TooManyFragments {
                needed,
                fragment_size,
            } => write!(
                f,
                "{needed} fragments of {fragment_size} octets needed, at most {MAX_FRAGMENTS} \
                 allowed"
            ),
        }
    }
}

impl std::error::Error for RekeyMessageError {}

impl From<EncodeError> for RekeyMessageError {
    fn from(e: EncodeError) -> Self {
        RekeyMessageError::Encode(e)
    }
}

impl From<CryptoError> for RekeyMessageError {
    fn from(e: CryptoError) -> Self {
        RekeyMessageError::Crypto(e)
    }
}

impl From<ProtectError> for RekeyMessageError {
    fn from(e: ProtectError) -> Self {
        match e {
            ProtectError::Decode(d) => RekeyMessageError::Decode(d),
            ProtectError::InnerDecode(d) => RekeyMessageError::InnerDecode(d),
            ProtectError::Encode(e) => RekeyMessageError::Encode(e),
            ProtectError::Crypto(c) => RekeyMessageError::Crypto(c),
            _ => RekeyMessageError::NotProtected,
        }
    }
}

/// How a GSA_REKEY is authenticated by its sender (GCAUTH, RFC 9838 §4.4.2.1.1).
#[derive(Clone, Copy, Debug)]
pub enum Authenticator<'a> {
    /// Implicit: no AUTH payload.
    Implicit,
    /// Digital signature with this key (AUTH method 14).
    Signature(&'a SigningKey),
}

fn header(spi: &[u8; 16], message_id: u32) -> IkeHeader {
    let mut spi_i = [0u8; 8];
    let mut spi_r = [0u8; 8];
    spi_i.copy_from_slice(&spi[..8]);
    spi_r.copy_from_slice(&spi[8..]);
    IkeHeader {
        spi_i,
        spi_r,
        version: IkeHeader::VERSION_2_0,
        exchange: ExchangeType::GSA_REKEY,
        flags: GSA_REKEY_FLAGS,
        message_id,
    }
}

/// `A` of §2.4.1.1: the IKE header and SK generic header with adjusted lengths.
fn adjusted_a(
    h: &IkeHeader,
    inner_first: PayloadType,
    sk_flags: u8,
    p_len: usize,
) -> Result<Vec<u8>, EncodeError> {
    let total = IKE_HEADER_LEN + PAYLOAD_HEADER_LEN + p_len;
    let len32 = u32::try_from(total).map_err(|_| EncodeError::TooLong {
        structure: wire::Structure::IkeHeader,
        len: total,
        max: u32::MAX as usize,
    })?;
    let sk_len = u16::try_from(p_len + PAYLOAD_HEADER_LEN).map_err(|_| EncodeError::TooLong {
        structure: wire::Structure::SkPayload,
        len: p_len + PAYLOAD_HEADER_LEN,
        max: u16::MAX as usize,
    })?;
    let mut a = Vec::with_capacity(IKE_HEADER_LEN + PAYLOAD_HEADER_LEN);
    a.extend_from_slice(&h.spi_i);
    a.extend_from_slice(&h.spi_r);
    a.push(PayloadType::SK.0);
    a.push(h.version);
    a.push(h.exchange.0);
    a.push(h.flags);
    a.extend_from_slice(&h.message_id.to_be_bytes());
    a.extend_from_slice(&len32.to_be_bytes());
    a.push(inner_first.0);
    a.push(sk_flags);
    a.extend_from_slice(&sk_len.to_be_bytes());
    Ok(a)
}

fn auth_payload(alg_id: &[u8], signature: Vec<u8>) -> Result<Payload, EncodeError> {
    let data = SignatureAuthData {
        algorithm_identifier: alg_id.to_vec(),
        signature,
    }
    .encode()?;
    Ok(Payload::new(PayloadBody::Auth(AuthPayload {
        method: AuthMethod::DIGITAL_SIGNATURE,
        reserved: [0; 3],
        data,
    })))
}

/// Encodes `inner` followed by an AUTH payload signed over the whole message (RFC 9838
/// §2.4.1.1) and returns the encoded chain. The chain is encoded once: the signature is
/// computed with a zero-filled placeholder of its length in place and then written over
/// it (AUTH is the last payload and the signature its last field, RFC 7427 §3).
fn signed_plaintext(
    h: &IkeHeader,
    inner: &[Payload],
    key: &SigningKey,
) -> Result<(PayloadType, Vec<u8>), RekeyMessageError> {
    let alg_id = key.alg().algorithm_identifier();
    let mut sig_len = key.max_signature_len();
    // ECDSA DER signatures vary by a few octets: retry until one has the placeholder's
    // length. Each attempt succeeds with probability about 1/2 or better.
    for _ in 0..64 {
        let placeholder = auth_payload(alg_id, vec![0; sig_len])?;
        let chain: Vec<&Payload> = inner.iter().chain([&placeholder]).collect();
        let (first, mut p) = wire::encode_payload_refs(&chain)?;
        let mut data = adjusted_a(h, first, 0, p.len())?;
        data.extend_from_slice(&p);
        let sig = key.sign(&data)?;
        if sig.len() == sig_len {
            let at = p
                .len()
                .checked_sub(sig_len)
                .ok_or(RekeyMessageError::Crypto(CryptoError::Unsupported(
                    "signature longer than the AUTH payload",
                )))?;
            p[at..].copy_from_slice(&sig);
            return Ok((first, p));
        }
        sig_len = sig.len();
    }
    Err(RekeyMessageError::Crypto(CryptoError::Unsupported(
        "no signature of a stable length after 64 attempts",
    )))
}

/// Builds the datagram(s) of one GSA_REKEY message (RFC 9838 §2.4.1): the Rekey SA SPI
/// in the IKE header, `message_id`, the inner payloads (GSA, KD, D, N...) plus AUTH when
/// signing, SK-protected with the current Rekey SA's keys.
///
/// With `fragment_size` (a pre-configured datagram size limit, §2.4.1.2; pass `None` when
/// some receiver did not negotiate fragmentation), a message that does not fit is split
/// into RFC 7383 fragments of at most that size (and at most [`MAX_DATAGRAM_LEN`]); the
/// signature covers the whole message. Without it, a message above [`MAX_DATAGRAM_LEN`] is
/// [`RekeyMessageError::TooLarge`]. The output is final: retransmissions must resend these
/// exact octets (§2.4.1.3).
pub fn build(
    spi: &[u8; 16],
    message_id: u32,
    inner: &[Payload],
    protector: &SkProtector,
    auth: Authenticator<'_>,
    fragment_size: Option<usize>,
) -> Result<Vec<Vec<u8>>, RekeyMessageError> {
    let h = header(spi, message_id);
    let (first, plaintext) = match auth {
        Authenticator::Implicit => wire::encode_payloads(inner)?,
        Authenticator::Signature(key) => signed_plaintext(&h, inner, key)?,
    };
    let plaintext = Zeroizing::new(plaintext);
    let whole_len = IKE_HEADER_LEN + PAYLOAD_HEADER_LEN + protector.sealed_len(plaintext.len());
    match fragment_size.map(|f| f.min(MAX_DATAGRAM_LEN)) {
        Some(limit) if whole_len > limit => {
            let overhead = IKE_HEADER_LEN + PAYLOAD_HEADER_LEN + SKF_FIELDS_LEN;
            // The largest chunk whose sealed fragment fits the limit.
            let mut chunk = limit.saturating_sub(overhead);
            while chunk > 0 && overhead + protector.sealed_len(chunk) > limit {
                chunk -= 1;
            }
            if chunk == 0 {
                return Err(RekeyMessageError::FragmentSizeTooSmall(limit));
            }
            let pieces: Vec<&[u8]> = plaintext.chunks(chunk).collect();
            let total = u16::try_from(pieces.len())
                .ok()
                .filter(|t| *t <= MAX_FRAGMENTS)
                .ok_or(RekeyMessageError::TooManyFragments {
                    needed: pieces.len(),
                    fragment_size: limit,
                })?;
            let mut out = Vec::with_capacity(pieces.len());
            for (i, piece) in pieces.iter().enumerate() {
                let number = i as u16 + 1;
                let next = if number == 1 {
                    first
                } else {
                    PayloadType::NONE
                };
                out.push(protect::seal_fragment(
                    &h, next, number, total, piece, protector,
                )?);
            }
            Ok(out)
        }
        _ if whole_len > MAX_DATAGRAM_LEN => Err(RekeyMessageError::TooLarge {
            len: whole_len,
            max: MAX_DATAGRAM_LEN,
        }),
        _ => Ok(vec![protect::seal_encoded(
            &h, first, &plaintext, protector,
        )?]),
    }
}

/// A decrypted GSA_REKEY message, not yet authenticated by signature.
#[derive(Debug)]
pub struct OpenedRekey {
    /// The IKE header as received.
    pub header: IkeHeader,
    /// The inner payloads.
    pub inner: Vec<Payload>,
    /// Next Payload and flags octet of the (reconstructed) SK header.
    sk_first: PayloadType,
    sk_flags: u8,
}

impl OpenedRekey {
    /// The Message ID.
    pub fn message_id(&self) -> u32 {
        self.header.message_id
    }

    fn auth_payloads(&self) -> impl Iterator<Item = &AuthPayload> {
        self.inner.iter().filter_map(|p| match &p.body {
            PayloadBody::Auth(a) => Some(a),
            _ => None,
        })
    }

    /// Checks implicit authentication: the ICV already verified; no AUTH may be present.
    pub fn check_implicit(&self) -> Result<(), RekeyMessageError> {
        match self.auth_payloads().next() {
            None => Ok(()),
            Some(_) => Err(RekeyMessageError::UnexpectedAuth),
        }
    }

    /// Verifies the AUTH payload (RFC 9838 §2.4.1.1) with `key`; its AlgorithmIdentifier
    /// must be `key`'s, which registration tied to attribute 18.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), RekeyMessageError> {
        let mut auths = self.auth_payloads();
        let auth = auths.next().ok_or(RekeyMessageError::MissingAuth)?;
        if auths.next().is_some() {
            return Err(RekeyMessageError::BadAuth(
                "more than one AUTH payload".into(),
            ));
        }
        if auth.method != AuthMethod::DIGITAL_SIGNATURE {
            return Err(RekeyMessageError::BadAuth(format!(
                "method {}",
                auth.method
            )));
        }
        let data = SignatureAuthData::decode(&auth.data)
            .map_err(|e| RekeyMessageError::BadAuth(e.to_string()))?;
        if data.algorithm_identifier != key.alg().algorithm_identifier() {
            return Err(RekeyMessageError::AlgorithmMismatch);
        }
        if data.signature.is_empty() {
            return Err(RekeyMessageError::SignatureInvalid);
        }
        // P with the signature value zeroed: the codec is lossless, so re-encoding the
        // decoded chain with those octets cleared gives exactly the signed form.
        let zeroed: Vec<Payload> = self
            .inner
            .iter()
            .map(|p| match &p.body {
                PayloadBody::Auth(a) => {
                    let mut a = a.clone();
                    let sig_len = data.signature.len();
                    let n = a.data.len();
                    a.data[n - sig_len..].iter_mut().for_each(|b| *b = 0);
                    Payload {
                        body: PayloadBody::Auth(a),
                        ..p.clone()
                    }
                }
                _ => p.clone(),
            })
            .collect();
        let (_, p) = wire::encode_payloads(&zeroed)?;
        let mut signed = adjusted_a(&self.header, self.sk_first, self.sk_flags, p.len())?;
        signed.extend_from_slice(&p);
        key.verify(&signed, &data.signature)
            .map_err(|_| RekeyMessageError::SignatureInvalid)
    }
}

/// How a received GSA_REKEY is authenticated (GCAUTH from registration, RFC 9838
/// §4.4.2.1.1; step 2 of §2.4.1.4).
#[derive(Clone, Copy, Debug)]
pub enum Verifier<'a> {
    /// Implicit: the ICV is all; a message with an AUTH payload is refused.
    Implicit,
    /// Digital signature (AUTH method 14) verified with this AUTH_KEY.
    Signature(&'a VerifyingKey),
}

impl Verifier<'_> {
    /// Authenticates a decrypted message ([`OpenedRekey::check_implicit`] or
    /// [`OpenedRekey::verify`]).
    pub fn check(self, message: &OpenedRekey) -> Result<(), RekeyMessageError> {
        match self {
            Verifier::Implicit => message.check_implicit(),
            Verifier::Signature(key) => message.verify(key),
        }
    }
}

/// Most messages (Rekey SA SPI, Message ID) reassembled at once (RFC 9838 §2.4.1.2;
/// docs/decisions.md K3).
pub const MAX_PARTIAL_MESSAGES: usize = 8;
/// Most candidate reassemblies of one message (RFC 9838 §2.4.1.2; docs/decisions.md K27).
pub const MAX_CANDIDATES_PER_MESSAGE: usize = 4;
/// Most plaintext octets buffered by one receiver, all candidates together: room for the
/// candidates of two messages at their largest, so the fragments of one message can never
/// push out those of the lowest Message ID, the key server's next one (docs/decisions.md
/// K27).
pub const MAX_BUFFERED_LEN: usize = 2 * MAX_CANDIDATES_PER_MESSAGE * MAX_REASSEMBLED_LEN;

/// One way of putting a message's fragments together (RFC 7383 §2.6): fragments with the
/// same IKE header and Total Fragments, at most one per Fragment Number
/// (docs/decisions.md K27).
struct Candidate {
    header: IkeHeader,
    total: u16,
    /// Next Payload and flags octet of fragment 1's SKF header.
    first: Option<(PayloadType, u8)>,
    chunks: Vec<Option<Zeroizing<Vec<u8>>>>,
    bytes: usize,
    /// When a fragment last joined or repeated one of its fragments (the receiver's count).
    touched: u64,
    /// Complete and failed decoding or authentication: never checked again.
    spent: bool,
}

/// How a fragment fits a candidate.
enum Fit {
    /// Its slot is free (and the candidate stays within [`MAX_REASSEMBLED_LEN`]).
    Free,
    /// Its slot holds the same octets: a copy (RFC 9838 §2.4.1.3).
    Same,
    /// Its slot holds other octets, or it would make the message too large.
    Conflict,
}

/// A fragment that passed its ICV, replay and range checks.
struct Piece {
    /// Fragment Number - 1.
    index: usize,
    /// Next Payload and flags octet of the SKF header, in fragment 1 only.
    first: Option<(PayloadType, u8)>,
    chunk: Zeroizing<Vec<u8>>,
}

impl Candidate {
    fn new(header: IkeHeader, total: u16, touched: u64) -> Self {
        Candidate {
            header,
            total,
            first: None,
            chunks: (0..total).map(|_| None).collect(),
            bytes: 0,
            touched,
            spent: false,
        }
    }

    fn is_of(&self, spi: &[u8; 16], message_id: u32) -> bool {
        self.header.message_id == message_id && &self.header.spi_pair() == spi
    }

    fn is_complete(&self) -> bool {
        self.chunks.iter().all(Option::is_some)
    }

    fn filled(&self) -> usize {
        self.chunks.iter().filter(|c| c.is_some()).count()
    }

    fn fit(&self, p: &Piece) -> Fit {
        match self.chunks.get(p.index) {
            Some(Some(c)) => {
                let same_first = p.index != 0 || self.first == p.first;
                if same_first && crate::crypto::ct::eq(c, &p.chunk) {
                    Fit::Same
                } else {
                    Fit::Conflict
                }
            }
            Some(None) if self.bytes + p.chunk.len() <= MAX_REASSEMBLED_LEN => Fit::Free,
            _ => Fit::Conflict,
        }
    }

    /// Stores `p` in its (free) slot.
    fn put(&mut self, p: &Piece, touched: u64) {
        if let Some(slot) = self.chunks.get_mut(p.index) {
            if p.index == 0 {
                self.first = p.first;
            }
            self.bytes += p.chunk.len();
            *slot = Some(p.chunk.clone());
            self.touched = touched;
        }
    }

    /// A copy with `p` in place of the fragment it conflicts with, or `None` when that
    /// would be too large.
    fn fork(&self, p: &Piece, touched: u64) -> Option<Candidate> {
        let replaced = self
            .chunks
            .get(p.index)
            .and_then(|c| c.as_ref().map(|c| c.len()))
            .unwrap_or(0);
        let kept = self.bytes.saturating_sub(replaced);
        if kept + p.chunk.len() > MAX_REASSEMBLED_LEN {
            return None;
        }
        let mut c = Candidate {
            header: self.header.clone(),
            total: self.total,
            first: self.first,
            chunks: self.chunks.clone(),
            bytes: kept,
            touched,
            spent: false,
        };
        if let Some(slot) = c.chunks.get_mut(p.index) {
            *slot = None;
        }
        c.put(p, touched);
        Some(c)
    }

    /// The reassembled message, decoded (RFC 9838 §2.4.1.2): the SK header is taken from
    /// fragment 1.
    fn open(&self) -> Result<OpenedRekey, RekeyMessageError> {
        let Some((sk_first, sk_flags)) = self.first else {
            return Err(RekeyMessageError::BadFragment("fragment 1 missing"));
        };
        let mut plaintext = Zeroizing::new(Vec::with_capacity(self.bytes));
        for c in self.chunks.iter().flatten() {
            plaintext.extend_from_slice(c);
        }
        let inner =
            wire::decode_payloads(sk_first, &plaintext).map_err(RekeyMessageError::InnerDecode)?;
        Ok(OpenedRekey {
            header: self.header.clone(),
            inner,
            sk_first,
            sk_flags,
        })
    }
}

/// Receives GSA_REKEY datagrams: checks SPI, ICV and Message ID, reassembles fragments,
/// authenticates complete messages and returns them decrypted. A datagram that fails any
/// check changes nothing but the bounded reassembly buffers.
///
/// Fragments are authenticated one by one only by the ICV, which every member can
/// produce, while the signature covers the reassembled message (RFC 9838 §2.4.1.2). So a
/// member may forge fragments of the key server's next message: with another Total
/// Fragments, another IKE header, or other octets for a Fragment Number. Reassembly
/// therefore keeps up to [`MAX_CANDIDATES_PER_MESSAGE`] candidates per message
/// (docs/decisions.md K27):
/// - a fragment joins every candidate with the same IKE header and Total Fragments whose
///   slot for it is free (a bit-identical copy, §2.4.1.3, only refreshes them);
/// - where a candidate the previous fragment went to holds other octets in that slot, a
///   copy of it with this fragment in their place becomes a candidate too;
/// - a fragment that fits no candidate starts one.
///
/// A complete candidate is authenticated at once; one that fails decoding or
/// authentication is dropped without affecting the others, and the first that passes ends
/// the message. A message's least recently used candidate makes room for a new one. Up to
/// [`MAX_PARTIAL_MESSAGES`] messages are reassembled apart by (Rekey SA SPI, Message ID),
/// the one with the highest Message ID making room for a new one, and at most
/// [`MAX_BUFFERED_LEN`] octets are buffered, taken back from the messages with the
/// highest Message IDs first: forged fragments cannot push out the key server's next
/// message, whose ID is the lowest acceptable (K3).
#[derive(Default)]
pub struct RekeyReceiver {
    candidates: Vec<Candidate>,
    /// Counts fragments received, to order candidates by last use.
    clock: u64,
}

impl fmt::Debug for RekeyReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RekeyReceiver")
            .field(
                "reassembling",
                &self
                    .candidates
                    .iter()
                    .map(|c| (c.header.message_id, c.total, c.filled()))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl RekeyReceiver {
    /// A receiver with nothing buffered.
    pub fn new() -> Self {
        RekeyReceiver::default()
    }

    /// Plaintext octets buffered for reassembly (at most [`MAX_BUFFERED_LEN`]).
    pub fn buffered_len(&self) -> usize {
        self.candidates.iter().map(|c| c.bytes).sum()
    }

    /// Candidate reassemblies held, over all messages (at most [`MAX_PARTIAL_MESSAGES`]
    /// times [`MAX_CANDIDATES_PER_MESSAGE`]).
    pub fn candidates(&self) -> usize {
        self.candidates.len()
    }

    /// Messages being reassembled (at most [`MAX_PARTIAL_MESSAGES`]).
    pub fn messages(&self) -> usize {
        let mut ids: Vec<([u8; 16], u32)> = self
            .candidates
            .iter()
            .map(|c| (c.header.spi_pair(), c.header.message_id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }

    /// Drops everything buffered for the Rekey SA `spi` (it was replaced).
    pub fn forget(&mut self, spi: &[u8; 16]) {
        self.candidates.retain(|c| &c.header.spi_pair() != spi);
    }

    /// Processes one datagram (without the non-ESP marker) received for the Rekey SA
    /// `spi`, protected with `protector`, accepting Message IDs of at least
    /// `min_message_id`, and authenticated by `verifier` (RFC 9838 §2.4.1.4 steps 1-3).
    /// Returns the message once complete and authentic, `None` while fragments are
    /// missing.
    pub fn receive(
        &mut self,
        datagram: &[u8],
        spi: &[u8; 16],
        protector: &SkProtector,
        min_message_id: u32,
        verifier: Verifier<'_>,
    ) -> Result<Option<OpenedRekey>, RekeyMessageError> {
        let raw = wire::RawHeader::decode(datagram).map_err(RekeyMessageError::Decode)?;
        if raw.header.exchange != ExchangeType::GSA_REKEY {
            return Err(RekeyMessageError::NotGsaRekey(raw.header.exchange));
        }
        if &raw.header.spi_pair() != spi {
            return Err(RekeyMessageError::WrongSpi);
        }
        match raw.next_payload {
            PayloadType::SK => {
                let opened = protect::open(datagram, protector)?;
                if opened.message.payloads.len() != 1 {
                    return Err(RekeyMessageError::NotProtected);
                }
                check_replay(opened.message.header.message_id, min_message_id)?;
                let (sk_first, sk_flags) = match opened.message.payloads.first() {
                    Some(Payload {
                        body: PayloadBody::Sk(sk),
                        critical,
                        reserved,
                    }) => (sk.inner_first, if *critical { 0x80 } else { 0 } | *reserved),
                    _ => return Err(RekeyMessageError::NotProtected),
                };
                let message = OpenedRekey {
                    header: opened.message.header,
                    inner: opened.inner,
                    sk_first,
                    sk_flags,
                };
                verifier.check(&message)?;
                Ok(Some(message))
            }
            PayloadType::SKF => {
                self.receive_fragment(datagram, spi, protector, min_message_id, verifier)
            }
            _ => Err(RekeyMessageError::NotProtected),
        }
    }

    fn receive_fragment(
        &mut self,
        datagram: &[u8],
        spi: &[u8; 16],
        protector: &SkProtector,
        min_message_id: u32,
        verifier: Verifier<'_>,
    ) -> Result<Option<OpenedRekey>, RekeyMessageError> {
        let frag = protect::open_fragment(datagram, protector)?;
        if frag.message.payloads.len() != 1 {
            return Err(RekeyMessageError::NotProtected);
        }
        let id = frag.message.header.message_id;
        check_replay(id, min_message_id)?;
        if frag.total == 0
            || frag.total > MAX_FRAGMENTS
            || frag.number == 0
            || frag.number > frag.total
        {
            return Err(RekeyMessageError::BadFragment(
                "Fragment Number or Total Fragments out of range",
            ));
        }
        if (frag.number == 1) == (frag.inner_first == PayloadType::NONE) {
            return Err(RekeyMessageError::BadFragment(
                "Next Payload must be set in fragment 1 only",
            ));
        }
        if frag.chunk.len() > MAX_REASSEMBLED_LEN {
            return Err(RekeyMessageError::BadFragment(
                "reassembled message too large",
            ));
        }
        // Authentic as far as the ICV tells: from here on only the buffers change.
        let header = frag.message.header;
        let total = frag.total;
        let piece = Piece {
            index: usize::from(frag.number - 1),
            first: (frag.number == 1).then_some((frag.inner_first, frag.flags_octet)),
            chunk: frag.chunk,
        };
        // Messages of this Rekey SA below the floor can never complete.
        self.candidates
            .retain(|c| &c.header.spi_pair() != spi || c.header.message_id >= min_message_id);
        self.clock += 1;
        let now = self.clock;
        // The candidates the latest fragments of this header and Total went to.
        let lead = self
            .candidates
            .iter()
            .filter(|c| c.header == header && c.total == total)
            .map(|c| c.touched)
            .max();
        let (mut stored, mut repeated, mut forks) = (false, false, Vec::new());
        for c in self.candidates.iter_mut() {
            if c.header != header || c.total != total {
                continue;
            }
            match c.fit(&piece) {
                Fit::Free => {
                    c.put(&piece, now);
                    stored = true;
                }
                Fit::Same => {
                    c.touched = now;
                    repeated = true;
                }
                // Either version of this fragment may be the key server's: a copy with
                // this one goes on beside the candidate (which the next fragment may
                // still join).
                Fit::Conflict if Some(c.touched) == lead => forks.extend(c.fork(&piece, now)),
                Fit::Conflict => {}
            }
        }
        if !stored && !repeated && forks.is_empty() {
            let mut c = Candidate::new(header.clone(), total, now);
            c.put(&piece, now);
            forks.push(c);
        }
        let started = !forks.is_empty();
        for c in forks {
            self.make_room_for(spi, id);
            self.candidates.push(c);
        }
        self.trim(spi, id);
        // Complete candidates are authenticated, newest first; the first that passes ends
        // the message. One that fails is spent: never checked again, it stays only as the
        // base of copies that replace one of its fragments (it may hold forged octets in a
        // slot whose real fragment comes later), until it is the least recently used.
        let mut failure = None;
        for c in self.candidates.iter_mut().rev() {
            if !c.is_of(spi, id) || c.spent || !c.is_complete() {
                continue;
            }
            match c.open().and_then(|m| verifier.check(&m).map(|()| m)) {
                Ok(m) => {
                    self.candidates.retain(|c| !c.is_of(spi, id));
                    return Ok(Some(m));
                }
                Err(e) => {
                    c.spent = true;
                    failure = Some(e);
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None if stored || started => Ok(None),
            None => Err(RekeyMessageError::BadFragment("duplicate fragment")),
        }
    }

    /// Room for one more candidate of message (`spi`, `id`): a new message pushes out the
    /// one with the highest Message ID when [`MAX_PARTIAL_MESSAGES`] are held; a message
    /// with [`MAX_CANDIDATES_PER_MESSAGE`] candidates loses its least recently used one.
    fn make_room_for(&mut self, spi: &[u8; 16], id: u32) {
        let known = self.candidates.iter().any(|c| c.is_of(spi, id));
        if !known && self.messages() >= MAX_PARTIAL_MESSAGES {
            if let Some(worst) = self
                .candidates
                .iter()
                .max_by_key(|c| c.header.message_id)
                .map(|c| (c.header.spi_pair(), c.header.message_id))
            {
                self.candidates.retain(|c| !c.is_of(&worst.0, worst.1));
            }
        }
        while self.candidates.iter().filter(|c| c.is_of(spi, id)).count()
            >= MAX_CANDIDATES_PER_MESSAGE
        {
            let oldest = self
                .candidates
                .iter()
                .enumerate()
                .filter(|(_, c)| c.is_of(spi, id))
                .min_by_key(|(_, c)| (c.touched, !c.spent, c.filled()))
                .map(|(i, _)| i);
            match oldest {
                Some(i) => {
                    self.candidates.remove(i);
                }
                None => break,
            }
        }
    }

    /// Keeps at most [`MAX_BUFFERED_LEN`] octets: candidates of other messages than
    /// (`spi`, `id`) go, the highest Message ID first, then the least recently used. One
    /// message holds at most half the bound, so the lowest Message ID always stays.
    fn trim(&mut self, spi: &[u8; 16], id: u32) {
        while self.buffered_len() > MAX_BUFFERED_LEN {
            let victim = self
                .candidates
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.is_of(spi, id))
                .max_by_key(|(_, c)| (c.header.message_id, std::cmp::Reverse(c.touched)))
                .map(|(i, _)| i);
            match victim {
                Some(i) => {
                    self.candidates.remove(i);
                }
                None => break,
            }
        }
    }
}

/// The Message ID rule of RFC 9838 §2.4.1.4 and §8.2.4 (digest Q14, docs/decisions.md
/// K8): `expected` is GSA_INITIAL_MESSAGE_ID (or 0) before the first accepted message
/// and the last accepted ID + 1 after it, so equality is allowed only for the first;
/// IDs never wrap (the key server stops before 0xFFFFFFFF).
fn check_replay(received: u32, expected: u32) -> Result<(), RekeyMessageError> {
    if received < expected {
        Err(RekeyMessageError::Replay { received, expected })
    } else {
        Ok(())
    }
}
