//! Property tests for the codec's two guarantees:
//!
//! - `decode(encode(v)) == v` (and `encode(decode(encode(v))) == encode(v)`) for arbitrary
//!   valid values of every wire type, from attributes up to whole messages;
//! - for arbitrary octets, and for mutations of valid encodings, the decoders never panic
//!   and every accepted input re-encodes to exactly the same octets.
//!
//! The generators produce only values the encoder accepts (see `src/wire/mod.rs`): opaque
//! forms of known kinds, SK/SKF anywhere but last, RESERVED bit 0x80, attribute types above
//! 0x7fff and Raw payloads of modelled types are never generated.

mod common;

use gikev2::wire::{
    decode_payloads, encode_payloads, AttrValue, Attribute, AuthPayload, CertEncoding, CertPayload,
    DeletePayload, EncryptedFragment, EncryptedPayload, ExchangeType, GroupKeyBag, GroupKeyBagAttr,
    GroupKeyBagAttrType, GroupPolicy, GsaAttrType, GsaPayload, GsaPolicy, GwPolicy, GwpAttrType,
    IdPayload, IdType, IkeHeader, KdPayload, KePayload, KeyBag, MemberKeyBag, MemberKeyBagAttr,
    MemberKeyBagAttrType, Message, NotifyPayload, NotifyType, Payload, PayloadBody, PayloadType,
    Proposal, ProtocolId, SaPayload, TrafficSelector, Transform, TransformAttrType, TransformType,
    TsPayload, TsType, WrappedKey,
};
use gikev2::wire::{AuthMethod, SignatureAuthData, IKE_HEADER_LEN};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::Config;
use std::fmt::Debug;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Moderate case counts: the CPU is shared, and each case of the message strategies
/// builds a few hundred octets.
fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=max)
}

/// A RESERVED octet: usually 0, sometimes anything (kept for lossless round trips).
fn reserved_u8() -> impl Strategy<Value = u8> {
    prop_oneof![3 => Just(0u8), 1 => any::<u8>()]
}

/// A 15-bit attribute type, biased towards the small registered values.
fn attr_type() -> impl Strategy<Value = u16> {
    prop_oneof![3 => 0u16..24, 1 => 0u16..0x8000]
}

fn attr_value() -> impl Strategy<Value = AttrValue> {
    prop_oneof![
        any::<u16>().prop_map(AttrValue::Tv),
        bytes(24).prop_map(AttrValue::Tlv),
    ]
}

/// An attribute of any registry, in TV or TLV form, with any type below 0x8000.
fn attribute<T: From<u16> + Debug + Clone>() -> impl Strategy<Value = Attribute<T>> {
    attribute_of(attr_type())
}

fn attribute_of<T: From<u16> + Debug + Clone>(
    types: impl Strategy<Value = u16>,
) -> impl Strategy<Value = Attribute<T>> {
    (types, attr_value()).prop_map(|(t, value)| Attribute {
        attr_type: T::from(t),
        value,
    })
}

fn transform() -> impl Strategy<Value = Transform> {
    (
        reserved_u8(),
        prop_oneof![3 => 1u8..=14, 1 => any::<u8>()],
        reserved_u8(),
        any::<u16>(),
        vec(attribute::<TransformAttrType>(), 0..3),
    )
        .prop_map(|(reserved1, t, reserved2, id, attributes)| Transform {
            reserved1,
            transform_type: TransformType(t),
            reserved2,
            id,
            attributes,
        })
}

fn protocol_id() -> impl Strategy<Value = ProtocolId> {
    prop_oneof![3 => 0u8..=6, 1 => any::<u8>()].prop_map(ProtocolId)
}

fn proposal() -> impl Strategy<Value = Proposal> {
    (
        reserved_u8(),
        any::<u8>(),
        protocol_id(),
        bytes(16),
        vec(transform(), 0..5),
    )
        .prop_map(|(reserved, number, protocol, spi, transforms)| Proposal {
            reserved,
            number,
            protocol,
            spi,
            transforms,
        })
}

fn sa_payload() -> impl Strategy<Value = SaPayload> {
    vec(proposal(), 0..4).prop_map(|proposals| SaPayload { proposals })
}

fn traffic_selector() -> impl Strategy<Value = TrafficSelector> {
    prop_oneof![
        (
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            any::<Ipv4Addr>(),
            any::<Ipv4Addr>()
        )
            .prop_map(|(ip_protocol, start_port, end_port, start, end)| {
                TrafficSelector::Ipv4 {
                    ip_protocol,
                    start_port,
                    end_port,
                    start,
                    end,
                }
            }),
        (
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            any::<Ipv6Addr>(),
            any::<Ipv6Addr>()
        )
            .prop_map(|(ip_protocol, start_port, end_port, start, end)| {
                TrafficSelector::Ipv6 {
                    ip_protocol,
                    start_port,
                    end_port,
                    start,
                    end,
                }
            }),
        (
            any::<u8>().prop_filter("7 and 8 are the typed forms", |t| *t != 7 && *t != 8),
            any::<u8>(),
            bytes(20)
        )
            .prop_map(|(t, octet1, data)| TrafficSelector::Other {
                ts_type: TsType(t),
                octet1,
                data,
            }),
    ]
}

fn ts_payload() -> impl Strategy<Value = TsPayload> {
    (any::<[u8; 3]>(), vec(traffic_selector(), 0..4)).prop_map(|(reserved, selectors)| TsPayload {
        reserved,
        selectors,
    })
}

/// Protocols that select a GSA policy or a Group Key Bag.
fn sa_protocol() -> impl Strategy<Value = ProtocolId> {
    prop::sample::select(vec![
        ProtocolId::AH,
        ProtocolId::ESP,
        ProtocolId::GIKE_UPDATE,
    ])
}

/// First octets that select neither kind (opaque substructures).
fn unknown_protocol() -> impl Strategy<Value = ProtocolId> {
    any::<u8>()
        .prop_filter("0, 2, 3, 6 are modelled", |p| !matches!(p, 0 | 2 | 3 | 6))
        .prop_map(ProtocolId)
}

fn gsa_policy() -> impl Strategy<Value = GsaPolicy> {
    (
        sa_protocol(),
        prop_oneof![Just(4usize), Just(16usize), 0usize..=20]
            .prop_flat_map(|n| vec(any::<u8>(), n)),
        traffic_selector(),
        traffic_selector(),
        vec(transform(), 1..4),
        vec(attribute::<GsaAttrType>(), 0..4),
    )
        .prop_map(
            |(protocol, spi, src_ts, dst_ts, transforms, attributes)| GsaPolicy {
                protocol,
                spi,
                src_ts,
                dst_ts,
                transforms,
                attributes,
            },
        )
}

fn gw_policy() -> impl Strategy<Value = GwPolicy> {
    (reserved_u8(), vec(attribute::<GwpAttrType>(), 0..4)).prop_map(|(reserved, attributes)| {
        GwPolicy {
            reserved,
            attributes,
        }
    })
}

fn group_policy() -> impl Strategy<Value = GroupPolicy> {
    prop_oneof![
        3 => gsa_policy().prop_map(GroupPolicy::Sa),
        1 => gw_policy().prop_map(GroupPolicy::Gw),
        1 => (unknown_protocol(), any::<u8>(), bytes(16)).prop_map(|(protocol, octet1, data)| {
            GroupPolicy::Unknown {
                protocol,
                octet1,
                data,
            }
        }),
    ]
}

fn gsa_payload() -> impl Strategy<Value = GsaPayload> {
    vec(group_policy(), 0..5).prop_map(|policies| GsaPayload { policies })
}

fn wrapped_key() -> impl Strategy<Value = WrappedKey> {
    (
        prop_oneof![Just(0u32), any::<u32>()],
        prop_oneof![Just(0u32), any::<u32>()],
        bytes(48),
    )
        .prop_map(|(key_id, kwk_id, encrypted)| WrappedKey {
            key_id,
            kwk_id,
            encrypted,
        })
}

fn group_key_bag_attr() -> impl Strategy<Value = GroupKeyBagAttr> {
    prop_oneof![
        3 => wrapped_key().prop_map(GroupKeyBagAttr::SaKey),
        1 => attribute_of::<GroupKeyBagAttrType>(attr_type().prop_filter("SA_KEY", |t| *t != 1))
            .prop_map(GroupKeyBagAttr::Other),
    ]
}

fn member_key_bag_attr() -> impl Strategy<Value = MemberKeyBagAttr> {
    prop_oneof![
        wrapped_key().prop_map(MemberKeyBagAttr::WrapKey),
        bytes(44).prop_map(MemberKeyBagAttr::AuthKey),
        bytes(8).prop_map(MemberKeyBagAttr::GmSenderId),
        attribute_of::<MemberKeyBagAttrType>(
            attr_type().prop_filter("WRAP_KEY, AUTH_KEY, GM_SENDER_ID", |t| !(1..=3).contains(t))
        )
        .prop_map(MemberKeyBagAttr::Other),
    ]
}

fn key_bag() -> impl Strategy<Value = KeyBag> {
    prop_oneof![
        3 => (sa_protocol(), bytes(16), vec(group_key_bag_attr(), 0..4)).prop_map(
            |(protocol, spi, attributes)| KeyBag::Group(GroupKeyBag {
                protocol,
                spi,
                attributes,
            })
        ),
        2 => (reserved_u8(), vec(member_key_bag_attr(), 0..5)).prop_map(|(reserved, attributes)| {
            KeyBag::Member(MemberKeyBag {
                reserved,
                attributes,
            })
        }),
        1 => (unknown_protocol(), any::<u8>(), bytes(16)).prop_map(|(protocol, octet1, data)| {
            KeyBag::Unknown {
                protocol,
                octet1,
                data,
            }
        }),
    ]
}

fn kd_payload() -> impl Strategy<Value = KdPayload> {
    vec(key_bag(), 0..5).prop_map(|bags| KdPayload { bags })
}

fn notify() -> impl Strategy<Value = NotifyPayload> {
    (protocol_id(), bytes(8), any::<u16>(), bytes(24)).prop_map(|(protocol, spi, t, data)| {
        NotifyPayload {
            protocol,
            spi,
            notify_type: NotifyType(t),
            data,
        }
    })
}

/// A Delete whose SPIs all have SPI Size octets (SPI Size 0 only with no SPIs, the
/// IKE SA form of RFC 7296 §3.11).
fn delete() -> impl Strategy<Value = DeletePayload> {
    prop_oneof![
        protocol_id().prop_map(|protocol| DeletePayload {
            protocol,
            spi_size: 0,
            spis: vec![],
        }),
        (protocol_id(), 1u8..=16, 0usize..4).prop_flat_map(|(protocol, size, n)| {
            vec(vec(any::<u8>(), size as usize), n).prop_map(move |spis| DeletePayload {
                protocol,
                spi_size: size,
                spis,
            })
        }),
    ]
}

fn id_payload() -> impl Strategy<Value = IdPayload> {
    (any::<u8>(), any::<[u8; 3]>(), bytes(24)).prop_map(|(t, reserved, data)| IdPayload {
        id_type: IdType(t),
        reserved,
        data,
    })
}

fn auth_payload() -> impl Strategy<Value = AuthPayload> {
    (any::<u8>(), any::<[u8; 3]>(), bytes(80)).prop_map(|(m, reserved, data)| AuthPayload {
        method: AuthMethod(m),
        reserved,
        data,
    })
}

fn ke_payload() -> impl Strategy<Value = KePayload> {
    (any::<u16>(), any::<u16>(), bytes(64)).prop_map(|(group, reserved, data)| KePayload {
        group,
        reserved,
        data,
    })
}

fn cert_payload() -> impl Strategy<Value = CertPayload> {
    (any::<u8>(), bytes(32)).prop_map(|(e, data)| CertPayload {
        encoding: CertEncoding(e),
        data,
    })
}

/// Payload types the decoder keeps opaque: NONE (0) ends a chain and 33-42, 44-46, 50-53
/// have typed bodies (`chain.rs` `decode_body`).
fn raw_payload_type() -> impl Strategy<Value = PayloadType> {
    prop_oneof![
        1u8..=32,
        prop::sample::select(vec![43u8, 47, 48, 49]),
        54u8..=255,
    ]
    .prop_map(PayloadType)
}

/// A payload body that may appear anywhere in a chain (everything but SK and SKF).
fn plain_body() -> impl Strategy<Value = PayloadBody> {
    prop_oneof![
        sa_payload().prop_map(PayloadBody::Sa),
        ke_payload().prop_map(PayloadBody::Ke),
        id_payload().prop_map(PayloadBody::IdI),
        id_payload().prop_map(PayloadBody::IdR),
        cert_payload().prop_map(PayloadBody::Cert),
        cert_payload().prop_map(PayloadBody::CertReq),
        auth_payload().prop_map(PayloadBody::Auth),
        bytes(40).prop_map(PayloadBody::Nonce),
        notify().prop_map(PayloadBody::Notify),
        delete().prop_map(PayloadBody::Delete),
        ts_payload().prop_map(PayloadBody::TsI),
        ts_payload().prop_map(PayloadBody::TsR),
        id_payload().prop_map(PayloadBody::IdG),
        gsa_payload().prop_map(PayloadBody::Gsa),
        kd_payload().prop_map(PayloadBody::Kd),
        (raw_payload_type(), bytes(32))
            .prop_map(|(payload_type, data)| PayloadBody::Raw { payload_type, data }),
    ]
}

/// SK or SKF: only ever the last payload of a chain.
fn encrypted_body() -> impl Strategy<Value = PayloadBody> {
    prop_oneof![
        (any::<u8>(), bytes(64)).prop_map(|(t, body)| PayloadBody::Sk(EncryptedPayload {
            inner_first: PayloadType(t),
            body,
        })),
        (any::<u8>(), any::<u16>(), any::<u16>(), bytes(64)).prop_map(
            |(t, fragment_number, total_fragments, body)| PayloadBody::Skf(EncryptedFragment {
                inner_first: PayloadType(t),
                fragment_number,
                total_fragments,
                body,
            })
        ),
    ]
}

fn with_flags(body: impl Strategy<Value = PayloadBody>) -> impl Strategy<Value = Payload> {
    (
        any::<bool>(),
        prop_oneof![3 => Just(0u8), 1 => 0u8..0x80],
        body,
    )
        .prop_map(|(critical, reserved, body)| Payload {
            critical,
            reserved,
            body,
        })
}

fn payload_chain() -> impl Strategy<Value = Vec<Payload>> {
    (
        vec(with_flags(plain_body()), 0..6),
        prop::option::of(with_flags(encrypted_body())),
    )
        .prop_map(|(mut chain, last)| {
            chain.extend(last);
            chain
        })
}

fn ike_header() -> impl Strategy<Value = IkeHeader> {
    (
        any::<[u8; 8]>(),
        any::<[u8; 8]>(),
        0x20u8..=0x2f,
        prop_oneof![3 => 34u8..=44, 1 => any::<u8>()],
        any::<u8>(),
        any::<u32>(),
    )
        .prop_map(
            |(spi_i, spi_r, version, exchange, flags, message_id)| IkeHeader {
                spi_i,
                spi_r,
                version,
                exchange: ExchangeType(exchange),
                flags,
                message_id,
            },
        )
}

fn message() -> impl Strategy<Value = Message> {
    (ike_header(), payload_chain()).prop_map(|(header, payloads)| Message { header, payloads })
}

/// A valid message's encoding: a generated one, or one of the shared samples.
fn valid_encoding() -> impl Strategy<Value = Vec<u8>> {
    let samples: Vec<Vec<u8>> = common::samples::all_messages()
        .into_iter()
        .map(|(_, m)| m.encode().expect("sample encodes"))
        .collect();
    prop_oneof![
        2 => message().prop_map(|m| m.encode().expect("generated values encode")),
        1 => prop::sample::select(samples),
    ]
}

/// An edit of an encoding; positions are taken modulo the current length.
#[derive(Clone, Debug)]
enum Mutation {
    Xor(usize, u8),
    Set(usize, u8),
    Truncate(usize),
    Insert(usize, u8),
    Remove(usize),
    /// Rewrite the IKE Length field to match the buffer (so the chain itself is probed).
    FixLength,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 1u8..).prop_map(|(i, m)| Mutation::Xor(i, m)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => any::<usize>().prop_map(Mutation::Remove),
        2 => Just(Mutation::FixLength),
    ]
}

fn apply(mut b: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let n = b.len();
        match *m {
            Mutation::Xor(i, x) if n > 0 => b[i % n] ^= x,
            Mutation::Set(i, v) if n > 0 => b[i % n] = v,
            Mutation::Truncate(i) => b.truncate(i % (n + 1)),
            Mutation::Insert(i, v) => b.insert(i % (n + 1), v),
            Mutation::Remove(i) if n > 0 => {
                b.remove(i % n);
            }
            Mutation::FixLength => common::patch_ike_length(&mut b),
            _ => {}
        }
    }
    b
}

/// An IKE header with a correct Length followed by arbitrary octets, so that random input
/// reaches the payload decoders.
fn header_then_garbage() -> impl Strategy<Value = Vec<u8>> {
    (
        ike_header(),
        prop_oneof![3 => 33u8..=53, 1 => any::<u8>()],
        bytes(160),
    )
        .prop_map(|(h, next, tail)| {
            let mut m = Message {
                header: h,
                payloads: vec![],
            }
            .encode()
            .expect("header encodes");
            m[16] = next;
            m.extend(tail);
            common::patch_ike_length(&mut m);
            m
        })
}

// ---------------------------------------------------------------------------------------
// Checks shared by the properties
// ---------------------------------------------------------------------------------------

/// `Message::decode` must not panic; whatever it accepts must re-encode to `input`.
fn check_message_input(input: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(m) = Message::decode(input) {
        let out = m.encode();
        prop_assert_eq!(out.as_deref(), Ok(input), "decoded {:?}", m);
    }
    Ok(())
}

fn check_chain_input(first: u8, input: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(chain) = decode_payloads(PayloadType(first), input) {
        let (t, out) = encode_payloads(&chain).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(t, PayloadType(first));
        prop_assert_eq!(out.as_slice(), input);
    }
    Ok(())
}

fn check_gsa_input(input: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(g) = GsaPayload::decode_body(input) {
        let out = g.encode_body();
        prop_assert_eq!(out.as_deref(), Ok(input));
    }
    Ok(())
}

fn check_kd_input(input: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(k) = KdPayload::decode_body(input) {
        let out = k.encode_body();
        prop_assert_eq!(out.as_deref(), Ok(input));
    }
    Ok(())
}

/// Wraps one body in a chain and checks both round trips.
fn check_body_round_trip(body: PayloadBody) -> Result<(), TestCaseError> {
    let chain = vec![Payload::new(body)];
    let (first, bytes) = encode_payloads(&chain).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back = decode_payloads(first, &bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&back, &chain);
    prop_assert_eq!(encode_payloads(&back).unwrap(), (first, bytes));
    Ok(())
}

// ---------------------------------------------------------------------------------------
// decode(encode(v)) == v
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn attributes_round_trip_in_every_registry(
        gw in vec(attribute::<GwpAttrType>(), 0..6),
        gsa in vec(attribute::<GsaAttrType>(), 0..6),
        tr in vec(attribute::<TransformAttrType>(), 0..6),
    ) {
        let body = GsaPayload {
            policies: vec![
                GroupPolicy::Gw(GwPolicy { reserved: 0, attributes: gw }),
                GroupPolicy::Sa(GsaPolicy {
                    protocol: ProtocolId::ESP,
                    spi: vec![0; 4],
                    src_ts: TrafficSelector::ipv4_host(Ipv4Addr::LOCALHOST, 0, None),
                    dst_ts: TrafficSelector::ipv4_host(Ipv4Addr::LOCALHOST, 0, None),
                    transforms: vec![Transform {
                        attributes: tr,
                        ..Transform::new(TransformType::ENCR, 20)
                    }],
                    attributes: gsa,
                }),
            ],
        };
        let bytes = body.encode_body().unwrap();
        prop_assert_eq!(GsaPayload::decode_body(&bytes).unwrap(), body);
    }

    #[test]
    fn sa_payloads_round_trip(sa in sa_payload()) {
        check_body_round_trip(PayloadBody::Sa(sa))?;
    }

    #[test]
    fn ts_payloads_round_trip(ts in ts_payload(), initiator in any::<bool>()) {
        check_body_round_trip(if initiator { PayloadBody::TsI(ts) } else { PayloadBody::TsR(ts) })?;
    }

    #[test]
    fn simple_payloads_round_trip(
        n in notify(), d in delete(), id in id_payload(), auth in auth_payload(),
        ke in ke_payload(), cert in cert_payload(), raw_type in raw_payload_type(),
        raw in bytes(32), enc in encrypted_body(),
    ) {
        check_body_round_trip(PayloadBody::Notify(n))?;
        check_body_round_trip(PayloadBody::Delete(d))?;
        check_body_round_trip(PayloadBody::IdG(id.clone()))?;
        check_body_round_trip(PayloadBody::IdI(id))?;
        check_body_round_trip(PayloadBody::Auth(auth))?;
        check_body_round_trip(PayloadBody::Ke(ke))?;
        check_body_round_trip(PayloadBody::Cert(cert.clone()))?;
        check_body_round_trip(PayloadBody::CertReq(cert))?;
        check_body_round_trip(PayloadBody::Raw { payload_type: raw_type, data: raw })?;
        check_body_round_trip(enc)?;
    }

    #[test]
    fn gsa_bodies_round_trip(g in gsa_payload()) {
        let bytes = g.encode_body().unwrap();
        let back = GsaPayload::decode_body(&bytes).unwrap();
        prop_assert_eq!(&back, &g);
        prop_assert_eq!(back.encode_body().unwrap(), bytes);
        check_body_round_trip(PayloadBody::Gsa(g))?;
    }

    #[test]
    fn kd_bodies_round_trip(k in kd_payload()) {
        let bytes = k.encode_body().unwrap();
        let back = KdPayload::decode_body(&bytes).unwrap();
        prop_assert_eq!(&back, &k);
        prop_assert_eq!(back.encode_body().unwrap(), bytes);
        check_body_round_trip(PayloadBody::Kd(k))?;
    }

    #[test]
    fn wrapped_keys_round_trip(k in wrapped_key()) {
        let v = k.encode();
        prop_assert_eq!(v.len(), WrappedKey::HEADER_LEN + k.encrypted.len());
        prop_assert_eq!(WrappedKey::decode_at(&v, 0).unwrap(), k);
    }

    #[test]
    fn signature_auth_data_round_trips(alg in vec(any::<u8>(), 1..=40), sig in bytes(96)) {
        // RFC 7427 §3: ASN.1 Length (1 octet, non-zero), AlgorithmIdentifier, signature.
        let s = SignatureAuthData { algorithm_identifier: alg, signature: sig };
        let b = s.encode().unwrap();
        prop_assert_eq!(b[0] as usize, s.algorithm_identifier.len());
        prop_assert_eq!(SignatureAuthData::decode(&b).unwrap(), s);
    }

    #[test]
    fn chains_round_trip(chain in payload_chain()) {
        let (first, bytes) = encode_payloads(&chain).unwrap();
        let back = decode_payloads(first, &bytes).unwrap();
        prop_assert_eq!(&back, &chain);
        prop_assert_eq!(encode_payloads(&back).unwrap(), (first, bytes));
    }

    #[test]
    fn messages_round_trip(m in message()) {
        let bytes = m.encode().unwrap();
        prop_assert_eq!(bytes.len(), u32::from_be_bytes(bytes[24..28].try_into().unwrap()) as usize);
        prop_assert_eq!(bytes[16], m.first_payload_type().0);
        let back = Message::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.encode().unwrap(), bytes);
    }
}

// ---------------------------------------------------------------------------------------
// Arbitrary and mutated input: no panic, and accepted input re-encodes exactly
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_octets_as_message(input in bytes(200)) {
        check_message_input(&input)?;
    }

    #[test]
    fn header_then_arbitrary_octets(input in header_then_garbage()) {
        check_message_input(&input)?;
        check_chain_input(input[16], &input[IKE_HEADER_LEN..])?;
    }

    #[test]
    fn arbitrary_octets_as_chain(first in prop_oneof![3 => 33u8..=53, 1 => any::<u8>()], input in bytes(160)) {
        check_chain_input(first, &input)?;
    }

    #[test]
    fn arbitrary_octets_as_gsa_and_kd(input in bytes(160)) {
        check_gsa_input(&input)?;
        check_kd_input(&input)?;
    }

    #[test]
    fn mutated_messages(b in valid_encoding(), ms in vec(mutation(), 1..5)) {
        let input = apply(b, &ms);
        check_message_input(&input)?;
        if input.len() >= IKE_HEADER_LEN {
            check_chain_input(input[16], &input[IKE_HEADER_LEN..])?;
        }
    }

    #[test]
    fn mutated_gsa_and_kd_bodies(
        g in gsa_payload(), k in kd_payload(), ms in vec(mutation(), 1..4),
    ) {
        check_gsa_input(&apply(g.encode_body().unwrap(), &ms))?;
        check_kd_input(&apply(k.encode_body().unwrap(), &ms))?;
        // A KD body fed to the GSA decoder and the reverse: both start with a
        // protocol/length header, so this reaches deep into the other decoder.
        check_gsa_input(&k.encode_body().unwrap())?;
        check_kd_input(&g.encode_body().unwrap())?;
    }
}
