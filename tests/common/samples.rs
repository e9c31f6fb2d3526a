//! Realistic G-IKEv2 messages built with the `gikev2::wire` API, shared by the wire tests,
//! the codec bench (`benches/codec.rs`, included with `#[path]`) and the fuzz corpus seeder
//! (`tests/wire_samples.rs`).
//!
//! No cryptography is involved: signatures, public keys and wrapped keys are fixed
//! pseudo-random octets of the length the real algorithms produce (RFC 5649 output is
//! `8 + 8 * ceil(n / 8)` octets, and every wrapped key carries the 8-octet Key ID / KWK ID
//! header of RFC 9838 §4.5.4).
#![allow(dead_code)]

use gikev2::wire::{
    flags, AuthPayload, DeletePayload, EncrId, EncryptedFragment, EncryptedPayload, ExchangeType,
    GcAuthId, GroupKeyBag, GroupKeyBagAttr, GroupPolicy, GsaAttrType, GsaPayload, GsaPolicy,
    GwPolicy, GwpAttrType, IdPayload, IdType, IkeHeader, IntegId, KdPayload, KeId, KePayload,
    KeyBag, KwaId, MemberKeyBag, MemberKeyBagAttr, Message, NotifyPayload, NotifyType, Payload,
    PayloadBody, PayloadType, PrfId, Proposal, ProtocolId, SaPayload, SignatureAuthData, SnId,
    TrafficSelector, Transform, TransformAttrType, TransformType, WrappedKey,
};
use gikev2::wire::{Attribute, AuthMethod};
use std::net::Ipv4Addr;

/// DER AlgorithmIdentifier of Ed25519 (RFC 8410 §3): `SEQUENCE { OID 1.3.101.112 }`.
pub const ED25519_ALG_ID: [u8; 7] = [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 §4); 32 key octets follow.
pub const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The IKE / G-IKEv2 port (RFC 9838 §2.1: GSA_REKEY goes to UDP 848).
pub const GDOI_PORT: u16 = 848;
/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;

/// SPI of the Rekey SA (GIKE_UPDATE, 16 octets: the GSA_REKEY IKE header SPI pair).
pub const KEK_SPI: [u8; 16] = [
    0x9e, 0x51, 0x3c, 0x07, 0xd2, 0x44, 0x8a, 0x61, 0x1f, 0xb0, 0x6d, 0x23, 0xe8, 0x75, 0x0c, 0x9a,
];
/// SPI of the first Data-Security SA (ESP, AES-GCM-16-256).
pub const TEK1_SPI: [u8; 4] = [0x3a, 0x1c, 0x00, 0x01];
/// SPI of the second Data-Security SA (ESP, AES-CBC-256 + HMAC-SHA2-256-128).
pub const TEK2_SPI: [u8; 4] = [0x3a, 0x1c, 0x00, 0x02];
/// The group identifier carried in IDg (ID_KEY_ID).
pub const GROUP_ID: &[u8] = b"group-1234";

/// IKE SA SPIs of the unicast IKE SA used by the samples.
pub const IKE_SPI_I: [u8; 8] = [0x6f, 0x1d, 0x4e, 0x90, 0x2b, 0xc3, 0x58, 0x07];
/// Responder SPI of the unicast IKE SA.
pub const IKE_SPI_R: [u8; 8] = [0xb4, 0x27, 0x81, 0x6a, 0xf0, 0x39, 0xd5, 0x12];

/// Deterministic pseudo-random octets (xorshift32), standing in for signatures, public
/// keys, nonces and key wrap output.
pub fn filler(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// Length of RFC 5649 (AES key wrap with padding) output for `n` key octets.
pub fn kw5649_len(n: usize) -> usize {
    8 + 8 * n.div_ceil(8).max(1)
}

/// A wrapped key whose Encrypted Key has the RFC 5649 length for `key_len` octets.
pub fn wrapped(key_id: u32, kwk_id: u32, key_len: usize, seed: u32) -> WrappedKey {
    WrappedKey {
        key_id,
        kwk_id,
        encrypted: filler(seed, kw5649_len(key_len)),
    }
}

/// A single-address, single-port UDP selector.
fn udp_host(addr: Ipv4Addr, port: u16) -> TrafficSelector {
    TrafficSelector::ipv4_host(addr, IPPROTO_UDP, Some(port))
}

fn payload(body: PayloadBody) -> Payload {
    Payload::new(body)
}

fn u32_attr(t: GsaAttrType, v: u32) -> Attribute<GsaAttrType> {
    Attribute::tlv(t, v.to_be_bytes().to_vec())
}

/// The KEK (Rekey SA) policy of the GSA_AUTH response: GIKE_UPDATE, 10.0.0.1:848 ->
/// 239.192.0.1:848 UDP, AES-GCM-16-256, KW_5649_256, GCAUTH Digital Signature (Ed25519),
/// GSA_KEY_LIFETIME and GSA_INITIAL_MESSAGE_ID.
pub fn kek_policy() -> GsaPolicy {
    GsaPolicy {
        protocol: ProtocolId::GIKE_UPDATE,
        spi: KEK_SPI.to_vec(),
        src_ts: udp_host(Ipv4Addr::new(10, 0, 0, 1), GDOI_PORT),
        dst_ts: udp_host(Ipv4Addr::new(239, 192, 0, 1), GDOI_PORT),
        transforms: vec![
            Transform::new(TransformType::ENCR, EncrId::ENCR_AES_GCM_16.0).with_key_length(256),
            Transform::new(TransformType::KWA, KwaId::KW_5649_256.0),
            Transform::new(TransformType::GCAUTH, GcAuthId::DIGITAL_SIGNATURE.0).with_attribute(
                Attribute::tlv(
                    TransformAttrType::SIGNATURE_ALGORITHM_IDENTIFIER,
                    ED25519_ALG_ID.to_vec(),
                ),
            ),
        ],
        attributes: vec![
            u32_attr(GsaAttrType::GSA_KEY_LIFETIME, 86_400),
            u32_attr(GsaAttrType::GSA_INITIAL_MESSAGE_ID, 1),
        ],
    }
}

/// First TEK policy: ESP, any protocol from any source to 239.192.1.1, AES-GCM-16-256,
/// SN 32-bit Unspecified (multi-sender, RFC 9838 §4.4.2.1.3).
pub fn tek1_policy() -> GsaPolicy {
    GsaPolicy {
        protocol: ProtocolId::ESP,
        spi: TEK1_SPI.to_vec(),
        src_ts: TrafficSelector::Ipv4 {
            ip_protocol: 0,
            start_port: 0,
            end_port: 0xffff,
            start: Ipv4Addr::new(0, 0, 0, 0),
            end: Ipv4Addr::new(255, 255, 255, 255),
        },
        dst_ts: TrafficSelector::ipv4_host(Ipv4Addr::new(239, 192, 1, 1), 0, None),
        transforms: vec![
            Transform::new(TransformType::ENCR, EncrId::ENCR_AES_GCM_16.0).with_key_length(256),
            Transform::new(TransformType::SN, SnId::UNSPECIFIED32.0),
        ],
        attributes: vec![u32_attr(GsaAttrType::GSA_KEY_LIFETIME, 28_800)],
    }
}

/// Second TEK policy: ESP, 10.0.0.1 -> 239.192.1.2 UDP 5004, AES-CBC-256 +
/// HMAC-SHA2-256-128, SN 32-bit Sequential (single sender).
pub fn tek2_policy() -> GsaPolicy {
    GsaPolicy {
        protocol: ProtocolId::ESP,
        spi: TEK2_SPI.to_vec(),
        src_ts: TrafficSelector::ipv4_host(Ipv4Addr::new(10, 0, 0, 1), IPPROTO_UDP, None),
        dst_ts: udp_host(Ipv4Addr::new(239, 192, 1, 2), 5004),
        transforms: vec![
            Transform::new(TransformType::ENCR, EncrId::ENCR_AES_CBC.0).with_key_length(256),
            Transform::new(TransformType::INTEG, IntegId::AUTH_HMAC_SHA2_256_128.0),
            Transform::new(TransformType::SN, SnId::SEQ32.0),
        ],
        attributes: vec![u32_attr(GsaAttrType::GSA_KEY_LIFETIME, 28_800)],
    }
}

/// The GW policy: ATD 5 s, DTD 30 s, 8 Sender-ID bits.
pub fn gw_policy() -> GwPolicy {
    GwPolicy {
        reserved: 0,
        attributes: vec![
            Attribute::tv(GwpAttrType::GWP_ATD, 5),
            Attribute::tv(GwpAttrType::GWP_DTD, 30),
            Attribute::tv(GwpAttrType::GWP_SENDER_ID_BITS, 8),
        ],
    }
}

/// The GSA payload of the GSA_AUTH response: KEK policy, two TEK policies, GW policy.
pub fn gsa_auth_response_gsa() -> GsaPayload {
    GsaPayload {
        policies: vec![
            GroupPolicy::Sa(kek_policy()),
            GroupPolicy::Sa(tek1_policy()),
            GroupPolicy::Sa(tek2_policy()),
            GroupPolicy::Gw(gw_policy()),
        ],
    }
}

/// The KD payload of the GSA_AUTH response: one Group Key Bag per SA, each with one SA_KEY
/// (KEK keying material 64 octets, wrapped 72; TEK 36 octets, wrapped 48), and the Member
/// Key Bag with three WRAP_KEYs (LKH path, 32-octet keys wrapped to 40), AUTH_KEY
/// (Ed25519 SubjectPublicKeyInfo) and one GM_SENDER_ID.
pub fn gsa_auth_response_kd() -> KdPayload {
    let group = |protocol: ProtocolId, spi: &[u8], key_len: usize, seed: u32| {
        KeyBag::Group(GroupKeyBag {
            protocol,
            spi: spi.to_vec(),
            attributes: vec![GroupKeyBagAttr::SaKey(wrapped(0, 0, key_len, seed))],
        })
    };
    let mut auth_key = ED25519_SPKI_PREFIX.to_vec();
    auth_key.extend(filler(7, 32));
    KdPayload {
        bags: vec![
            group(ProtocolId::GIKE_UPDATE, &KEK_SPI, 64, 1),
            group(ProtocolId::ESP, &TEK1_SPI, 36, 2),
            group(ProtocolId::ESP, &TEK2_SPI, 36, 3),
            KeyBag::Member(MemberKeyBag {
                reserved: 0,
                attributes: vec![
                    // LKH path from the leaf upwards: leaf key wrapped under GSK_w, each
                    // parent wrapped under its child.
                    MemberKeyBagAttr::WrapKey(wrapped(0x0000_0107, 0, 32, 4)),
                    MemberKeyBagAttr::WrapKey(wrapped(0x0000_0103, 0x0000_0107, 32, 5)),
                    MemberKeyBagAttr::WrapKey(wrapped(0x0000_0101, 0x0000_0103, 32, 6)),
                    MemberKeyBagAttr::AuthKey(auth_key),
                    MemberKeyBagAttr::GmSenderId(vec![0x00, 0x00, 0x00, 0x2a]),
                ],
            }),
        ],
    }
}

/// The decrypted payload chain of a typical GSA_AUTH response (RFC 9838 §2.3.1):
/// IDr (FQDN), AUTH (RFC 7427 Digital Signature with Ed25519), GSA, KD and
/// N(USE_TRANSPORT_MODE).
pub fn gsa_auth_response_inner() -> Vec<Payload> {
    let auth_data = SignatureAuthData {
        algorithm_identifier: ED25519_ALG_ID.to_vec(),
        signature: filler(11, 64),
    }
    .encode()
    .expect("RFC 7427 data fits");
    vec![
        payload(PayloadBody::IdR(IdPayload::new(
            IdType::ID_FQDN,
            b"gcks.example.com".to_vec(),
        ))),
        payload(PayloadBody::Auth(AuthPayload {
            method: AuthMethod::DIGITAL_SIGNATURE,
            reserved: [0; 3],
            data: auth_data,
        })),
        payload(PayloadBody::Gsa(gsa_auth_response_gsa())),
        payload(PayloadBody::Kd(gsa_auth_response_kd())),
        payload(PayloadBody::Notify(NotifyPayload::new(
            NotifyType::USE_TRANSPORT_MODE,
            Vec::new(),
        ))),
    ]
}

fn ike_header(exchange: ExchangeType, flags: u8, message_id: u32) -> IkeHeader {
    IkeHeader {
        spi_i: IKE_SPI_I,
        spi_r: IKE_SPI_R,
        version: IkeHeader::VERSION_2_0,
        exchange,
        flags,
        message_id,
    }
}

/// A GSA_AUTH response (exchange 39, R flag, Message ID 1) carrying
/// [`gsa_auth_response_inner`] as *plaintext* payloads.
///
/// On the wire these payloads travel inside SK; they are in the clear here so that the
/// codec bench and the fuzz corpus exercise the G-IKEv2 structures (GSA, KD) directly.
pub fn gsa_auth_response_message() -> Message {
    Message {
        header: ike_header(ExchangeType::GSA_AUTH, flags::RESPONSE, 1),
        payloads: gsa_auth_response_inner(),
    }
}

/// The encoding of [`gsa_auth_response_message`].
pub fn gsa_auth_response_bytes() -> Vec<u8> {
    gsa_auth_response_message()
        .encode()
        .expect("sample message encodes")
}

/// A GSA_REGISTRATION request (exchange 40, I flag, RFC 9838 §2.3.2) in plaintext form:
/// IDg (ID_KEY_ID), SAg with an ESP proposal set and a GIKE_UPDATE proposal set (each with
/// its KWA transforms), N(GROUP_SENDER) asking for 2 Sender-IDs.
pub fn gsa_registration_request() -> Message {
    let esp = |n: u8, transforms: Vec<Transform>| Proposal::new(n, ProtocolId::ESP, transforms);
    let sag = SaPayload {
        proposals: vec![
            esp(
                1,
                vec![
                    Transform::new(TransformType::ENCR, EncrId::ENCR_AES_GCM_16.0)
                        .with_key_length(256),
                    Transform::new(TransformType::ENCR, EncrId::ENCR_AES_GCM_16.0)
                        .with_key_length(128),
                    Transform::new(TransformType::SN, SnId::SEQ32.0),
                    Transform::new(TransformType::SN, SnId::UNSPECIFIED32.0),
                ],
            ),
            Proposal::new(
                2,
                ProtocolId::GIKE_UPDATE,
                vec![
                    Transform::new(TransformType::ENCR, EncrId::ENCR_AES_GCM_16.0)
                        .with_key_length(256),
                    Transform::new(TransformType::KWA, KwaId::KW_5649_256.0),
                    Transform::new(TransformType::KWA, KwaId::KW_5649_128.0),
                    Transform::new(TransformType::GCAUTH, GcAuthId::DIGITAL_SIGNATURE.0)
                        .with_attribute(Attribute::tlv(
                            TransformAttrType::SIGNATURE_ALGORITHM_IDENTIFIER,
                            ED25519_ALG_ID.to_vec(),
                        )),
                ],
            ),
        ],
    };
    Message {
        header: ike_header(ExchangeType::GSA_REGISTRATION, flags::INITIATOR, 2),
        payloads: vec![
            payload(PayloadBody::IdG(IdPayload::new(
                IdType::ID_KEY_ID,
                GROUP_ID.to_vec(),
            ))),
            payload(PayloadBody::Sa(sag)),
            payload(PayloadBody::Notify(NotifyPayload::group_sender(2))),
        ],
    }
}

/// An IKE_SA_INIT request (RFC 7296 §1.2, RFC 9838 §2.1) with an SA proposing ENCR, PRF,
/// INTEG, KE and KWA transforms, KE (X25519), Nonce and four Notifies.
pub fn ike_sa_init_request() -> Message {
    let sa = SaPayload {
        proposals: vec![Proposal::new(
            1,
            ProtocolId::IKE,
            vec![
                Transform::new(TransformType::ENCR, EncrId::ENCR_AES_CBC.0).with_key_length(256),
                Transform::new(TransformType::PRF, PrfId::PRF_HMAC_SHA2_256.0),
                Transform::new(TransformType::INTEG, IntegId::AUTH_HMAC_SHA2_256_128.0),
                Transform::new(TransformType::KE, KeId::CURVE25519.0),
                Transform::new(TransformType::KE, KeId::ECP_256.0),
                Transform::new(TransformType::KWA, KwaId::KW_5649_256.0),
            ],
        )],
    };
    let mut header = ike_header(ExchangeType::IKE_SA_INIT, flags::INITIATOR, 0);
    header.spi_r = [0; 8];
    Message {
        header,
        payloads: vec![
            payload(PayloadBody::Sa(sa)),
            payload(PayloadBody::Ke(KePayload {
                group: KeId::CURVE25519.0,
                reserved: 0,
                data: filler(21, 32),
            })),
            payload(PayloadBody::Nonce(filler(22, 32))),
            payload(PayloadBody::Notify(NotifyPayload::new(
                NotifyType::NAT_DETECTION_SOURCE_IP,
                filler(23, 20),
            ))),
            payload(PayloadBody::Notify(NotifyPayload::new(
                NotifyType::NAT_DETECTION_DESTINATION_IP,
                filler(24, 20),
            ))),
            payload(PayloadBody::Notify(NotifyPayload::new(
                NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
                Vec::new(),
            ))),
            payload(PayloadBody::Notify(NotifyPayload::new(
                NotifyType::SIGNATURE_HASH_ALGORITHMS,
                vec![0x00, 0x02, 0x00, 0x03, 0x00, 0x04, 0x00, 0x05],
            ))),
        ],
    }
}

/// A GSA_REKEY message (exchange 41, RFC 9838 §2.4.1): the IKE header SPIs are the Rekey
/// SA SPI halves, the Message ID is the GSA_INITIAL_MESSAGE_ID, and the single SK payload
/// (inner first payload GSA) holds an opaque 16-octet IV, ciphertext and 16-octet ICV.
pub fn gsa_rekey_message() -> Message {
    let mut spi_i = [0u8; 8];
    let mut spi_r = [0u8; 8];
    spi_i.copy_from_slice(&KEK_SPI[..8]);
    spi_r.copy_from_slice(&KEK_SPI[8..]);
    Message {
        header: IkeHeader {
            spi_i,
            spi_r,
            version: IkeHeader::VERSION_2_0,
            exchange: ExchangeType::GSA_REKEY,
            flags: 0,
            message_id: 1,
        },
        payloads: vec![payload(PayloadBody::Sk(EncryptedPayload {
            inner_first: PayloadType::GSA,
            body: filler(31, 16 + 240 + 16),
        }))],
    }
}

/// First fragment of a GSA_AUTH response split with RFC 7383: one SKF payload
/// (fragment 1 of 3, inner first payload IDr).
pub fn skf_message() -> Message {
    Message {
        header: ike_header(ExchangeType::GSA_AUTH, flags::RESPONSE, 1),
        payloads: vec![payload(PayloadBody::Skf(EncryptedFragment {
            inner_first: PayloadType::IDr,
            fragment_number: 1,
            total_fragments: 3,
            body: filler(41, 16 + 480 + 16),
        }))],
    }
}

/// An INFORMATIONAL request carrying an unknown payload type (200) with the critical bit
/// set, followed by a Delete of the Rekey SA (GIKE_UPDATE, 16-octet SPI).
pub fn unknown_critical_message() -> Message {
    Message {
        header: ike_header(ExchangeType::INFORMATIONAL, flags::INITIATOR, 3),
        payloads: vec![
            Payload {
                critical: true,
                reserved: 0,
                body: PayloadBody::Raw {
                    payload_type: PayloadType(200),
                    data: filler(51, 12),
                },
            },
            payload(PayloadBody::Delete(DeletePayload {
                protocol: ProtocolId::GIKE_UPDATE,
                spi_size: 16,
                spis: vec![KEK_SPI.to_vec()],
            })),
        ],
    }
}

/// Every sample message with a short name (used for the fuzz corpus file names).
pub fn all_messages() -> Vec<(&'static str, Message)> {
    vec![
        ("gsa_auth_response", gsa_auth_response_message()),
        ("gsa_registration_request", gsa_registration_request()),
        ("ike_sa_init_request", ike_sa_init_request()),
        ("gsa_rekey", gsa_rekey_message()),
        ("skf_fragment", skf_message()),
        ("unknown_critical", unknown_critical_message()),
    ]
}
