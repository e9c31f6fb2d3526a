//! Known-answer layout tests: wire octets written by hand, field by field, from RFC 7296
//! §3 and RFC 9838 §4 (not produced by the encoder), checked both ways: `decode` gives the
//! expected typed value and `encode` gives exactly the octets.

mod common;

use common::unhex;
use gikev2::wire::{
    decode_payloads, encode_payloads, AttrValue, Attribute, DecodeErrorKind, DeletePayload, EncrId,
    EncryptedPayload, ExchangeType, GcAuthId, GroupKeyBag, GroupKeyBagAttr, GroupPolicy,
    GsaAttrType, GsaPayload, GsaPolicy, GwPolicy, GwpAttrType, IdPayload, IdType, IkeHeader,
    KdPayload, KeyBag, KwaId, MemberKeyBag, MemberKeyBagAttr, Message, NotifyPayload, NotifyType,
    Payload, PayloadBody, PayloadType, Proposal, ProtocolId, SaPayload, SnId, Structure,
    TrafficSelector, Transform, TransformAttrType, TransformType, WrappedKey,
};
use std::net::Ipv4Addr;

/// Decodes a one-payload chain and checks both directions.
fn check_payload(first: PayloadType, bytes: &[u8], expected: &Payload) {
    let decoded = decode_payloads(first, bytes).expect("hand-written payload decodes");
    assert_eq!(decoded, std::slice::from_ref(expected));
    let (t, out) = encode_payloads(std::slice::from_ref(expected)).expect("encodes");
    assert_eq!(t, first);
    assert_eq!(
        out, bytes,
        "encoder output differs from the hand-written octets"
    );
}

// ---------------------------------------------------------------------------------------
// GSA payload body (RFC 9838 §4.4.1, §4.4.2, §4.4.3)
// ---------------------------------------------------------------------------------------

/// One ESP policy and the GW policy.
const GSA_BODY: &str = "
    # --- GSA policy, RFC 9838 §4.4.2 ---
    03                  # Protocol = ESP (3)
    04                  # SPI Size = 4
    0044                # Length = 68, header included
    3a1c0001            # SPI
    # Source Traffic Selector (RFC 7296 §3.13.1)
    07                  # TS Type = TS_IPV4_ADDR_RANGE
    00                  # IP Protocol ID = any
    0010                # Selector Length = 16, header included
    0000 ffff           # Start Port 0, End Port 65535
    0a000001 0a000001   # 10.0.0.1 .. 10.0.0.1
    # Destination Traffic Selector
    07 11 0010          # TS_IPV4_ADDR_RANGE, UDP (17), length 16
    138c 138c           # port 5004 .. 5004
    efc00102 efc00102   # 239.192.1.2 .. 239.192.1.2
    # GSA Transforms (RFC 9838 §4.4.2.1; RFC 7296 §3.3.2), no count: the list ends at the
    # transform whose Last Substruc is 0.
    03                  # Last Substruc = 3 (more transforms)
    00                  # RESERVED
    000c                # Transform Length = 12
    01 00               # Transform Type = ENCR, RESERVED
    0014                # Transform ID = ENCR_AES_GCM_16 (20)
    800e 0100           # attribute: AF=1 (TV) | Key Length (14), value 256
    00                  # Last Substruc = 0 (last transform)
    00 0008             # RESERVED, Transform Length = 8
    05 00 0002          # Transform Type = SN (5), RESERVED, ID = 32-bit Unspecified (2)
    # GSA Attributes (RFC 9838 §4.4.2.2), to the end of Length
    0001 0004 00007080  # AF=0 (TLV) | GSA_KEY_LIFETIME (1), length 4, 28800 s
    # --- GW policy, RFC 9838 §4.4.3 ---
    00                  # Protocol = 0 (GW policy)
    00                  # RESERVED
    0010                # Length = 16
    8001 0005           # AF=1 | GWP_ATD (1) = 5 s
    8002 001e           # AF=1 | GWP_DTD (2) = 30 s
    8003 0008           # AF=1 | GWP_SENDER_ID_BITS (3) = 8
";

fn gsa_expected() -> GsaPayload {
    GsaPayload {
        policies: vec![
            GroupPolicy::Sa(GsaPolicy {
                protocol: ProtocolId::ESP,
                spi: vec![0x3a, 0x1c, 0x00, 0x01],
                src_ts: TrafficSelector::Ipv4 {
                    ip_protocol: 0,
                    start_port: 0,
                    end_port: 0xffff,
                    start: Ipv4Addr::new(10, 0, 0, 1),
                    end: Ipv4Addr::new(10, 0, 0, 1),
                },
                dst_ts: TrafficSelector::Ipv4 {
                    ip_protocol: 17,
                    start_port: 5004,
                    end_port: 5004,
                    start: Ipv4Addr::new(239, 192, 1, 2),
                    end: Ipv4Addr::new(239, 192, 1, 2),
                },
                transforms: vec![
                    Transform {
                        reserved1: 0,
                        transform_type: TransformType::ENCR,
                        reserved2: 0,
                        id: EncrId::ENCR_AES_GCM_16.0,
                        attributes: vec![Attribute {
                            attr_type: TransformAttrType::KEY_LENGTH,
                            value: AttrValue::Tv(256),
                        }],
                    },
                    Transform::new(TransformType::SN, SnId::UNSPECIFIED32.0),
                ],
                attributes: vec![Attribute {
                    attr_type: GsaAttrType::GSA_KEY_LIFETIME,
                    value: AttrValue::Tlv(vec![0x00, 0x00, 0x70, 0x80]),
                }],
            }),
            GroupPolicy::Gw(GwPolicy {
                reserved: 0,
                attributes: vec![
                    Attribute::tv(GwpAttrType::GWP_ATD, 5),
                    Attribute::tv(GwpAttrType::GWP_DTD, 30),
                    Attribute::tv(GwpAttrType::GWP_SENDER_ID_BITS, 8),
                ],
            }),
        ],
    }
}

#[test]
fn gsa_body_layout() {
    let bytes = unhex(GSA_BODY);
    assert_eq!(bytes.len(), 68 + 16);
    let expected = gsa_expected();
    assert_eq!(GsaPayload::decode_body(&bytes).unwrap(), expected);
    assert_eq!(expected.encode_body().unwrap(), bytes);

    let policy = expected.sa_policies().next().unwrap();
    assert_eq!(policy.key_lifetime(), Ok(Some(28_800)));
    assert_eq!(
        expected.gw_policy().unwrap().tv(GwpAttrType::GWP_DTD),
        Ok(Some(30))
    );
}

#[test]
fn gsa_body_wire_details() {
    let bytes = unhex(GSA_BODY);
    // Transform Last Substruc: 3 then 0 (RFC 7296 §3.3.2; RFC 9838 §4.4.2).
    assert_eq!(bytes[40], 3);
    assert_eq!(bytes[52], 0);
    // The policy's Length covers its header; the GW policy starts right after it.
    assert_eq!(u16::from_be_bytes([bytes[2], bytes[3]]), 68);
    assert_eq!(bytes[68], 0);
    // TV attributes carry AF = 0x8000, TLV ones do not.
    assert_eq!(u16::from_be_bytes([bytes[48], bytes[49]]), 0x8000 | 14);
    assert_eq!(u16::from_be_bytes([bytes[60], bytes[61]]), 1);
    for at in [72, 76, 80] {
        assert_eq!(bytes[at] & 0x80, 0x80, "GW attribute at {at} is TV");
    }
}

#[test]
fn gsa_policy_transform_list_ends_only_at_last_substruc_zero() {
    // With the ENCR transform marked last (0), the SN transform's octets are read as GSA
    // attributes: a TLV of type 0 whose length (8) swallows the following octets, then the
    // lifetime's value as another TLV of type 0 with length 0x7080, which overruns.
    let mut bytes = unhex(GSA_BODY);
    bytes[40] = 0;
    let err = GsaPayload::decode_body(&bytes).unwrap_err();
    assert_eq!(err.structure, Structure::Attribute);
    assert!(matches!(err.kind, DecodeErrorKind::Truncated { .. }));

    // A policy whose transforms are followed by no attributes at all is valid.
    let one = unhex(
        "
        03 04 0030 3a1c0001                       # ESP, SPI Size 4, Length 48
        07 00 0010 0000 ffff 00000000 ffffffff    # any -> any
        07 00 0010 0000 ffff e0000001 e0000001    # any -> 224.0.0.1
        00 00 0008 05 00 0000                     # the only transform: SN 0, last
        ",
    );
    let g = GsaPayload::decode_body(&one).unwrap();
    let GroupPolicy::Sa(p) = &g.policies[0] else {
        panic!("GSA policy expected")
    };
    assert_eq!(p.transforms.len(), 1);
    assert!(p.attributes.is_empty());
    assert_eq!(g.encode_body().unwrap(), one);
}

// ---------------------------------------------------------------------------------------
// KD payload body (RFC 9838 §4.5.1, §4.5.2, §4.5.3, §4.5.4)
// ---------------------------------------------------------------------------------------

const KD_BODY: &str = "
    # --- Group Key Bag, RFC 9838 §4.5.2 ---
    03                  # Protocol = ESP
    04                  # SPI Size = 4
    0034                # Length = 52, header included
    3a1c0001            # SPI
    0001                # AF=0 (TLV) | SA_KEY (1)
    0028                # Attribute Length = 40
    00000000            # Key ID = 0: SA keying material (§4.5.4)
    00000000            # KWK ID = 0: the default KWK GSK_w
    a0a1a2a3a4a5a6a7 a8a9aaabacadaeaf   # Encrypted Key: RFC 5649 output for a
    b0b1b2b3b4b5b6b7 b8b9babbbcbdbebf   # 20-octet key, 8 + 8 * 3 = 32 octets
    # --- Member Key Bag, RFC 9838 §4.5.3 ---
    00                  # Protocol = 0 (Member Key Bag)
    00                  # RESERVED
    0030                # Length = 48
    0001                # AF=0 | WRAP_KEY (1)
    0020                # Attribute Length = 32
    00000103            # Key ID = 0x103 (an LKH node key)
    00000000            # KWK ID = 0 (GSK_w)
    c0c1c2c3c4c5c6c7 c8c9cacbcccdcecf d0d1d2d3d4d5d6d7   # 16-octet KWK wrapped: 24
    0003                # AF=0 | GM_SENDER_ID (3)
    0004                # Attribute Length = 4
    0000002a            # Sender-ID 42
";

fn kd_expected() -> KdPayload {
    KdPayload {
        bags: vec![
            KeyBag::Group(GroupKeyBag {
                protocol: ProtocolId::ESP,
                spi: vec![0x3a, 0x1c, 0x00, 0x01],
                attributes: vec![GroupKeyBagAttr::SaKey(WrappedKey {
                    key_id: 0,
                    kwk_id: 0,
                    encrypted: (0xa0..=0xbf).collect(),
                })],
            }),
            KeyBag::Member(MemberKeyBag {
                reserved: 0,
                attributes: vec![
                    MemberKeyBagAttr::WrapKey(WrappedKey {
                        key_id: 0x103,
                        kwk_id: 0,
                        encrypted: (0xc0..=0xd7).collect(),
                    }),
                    MemberKeyBagAttr::GmSenderId(vec![0, 0, 0, 42]),
                ],
            }),
        ],
    }
}

#[test]
fn kd_body_layout() {
    let bytes = unhex(KD_BODY);
    assert_eq!(bytes.len(), 52 + 48);
    let expected = kd_expected();
    assert_eq!(KdPayload::decode_body(&bytes).unwrap(), expected);
    assert_eq!(expected.encode_body().unwrap(), bytes);
    // Both bag kinds carry their own Length, header included.
    assert_eq!(u16::from_be_bytes([bytes[2], bytes[3]]), 52);
    assert_eq!(u16::from_be_bytes([bytes[54], bytes[55]]), 48);
}

// ---------------------------------------------------------------------------------------
// SA payload (SAg) with KWA and GCAUTH transforms (RFC 7296 §3.3; RFC 9838 §4.3, §4.4.2.1)
// ---------------------------------------------------------------------------------------

const SA_PAYLOAD: &str = "
    # generic payload header (RFC 7296 §3.2)
    00                  # Next Payload = NONE
    00                  # C = 0, RESERVED
    004f                # Payload Length = 79, header included
    # --- Proposal 1 (RFC 7296 §3.3.1) ---
    02                  # Last Substruc = 2 (more proposals)
    00                  # RESERVED
    001c                # Proposal Length = 28
    01                  # Proposal Num = 1
    03                  # Protocol ID = ESP
    00                  # SPI Size = 0 (SAg carries no SPI, RFC 9838 §4.3)
    02                  # Num Transforms = 2
    03 00 000c 01 00 0014 800e 0100   # more; ENCR AES_GCM_16, Key Length (TV) 256
    00 00 0008 05 00 0000             # last; SN 32-bit Sequential
    # --- Proposal 2 ---
    00                  # Last Substruc = 0 (last proposal)
    00 002f             # RESERVED, Proposal Length = 47
    02 06 00 03         # Num 2, GIKE_UPDATE (6), SPI Size 0, 3 transforms
    03 00 000c 01 00 0014 800e 0100   # more; ENCR AES_GCM_16, Key Length 256
    03 00 0008 0d 00 0003             # more; KWA (13) KW_5649_256 (3)
    00                  # Last Substruc = 0
    00 0013             # RESERVED, Transform Length = 19
    0e 00 0002          # GCAUTH (14), RESERVED, Digital Signature (2)
    0012                # AF=0 (TLV) | Signature Algorithm Identifier (18)
    0007                # Attribute Length = 7
    300506032b6570      # DER AlgorithmIdentifier of Ed25519
";

fn sa_expected() -> Payload {
    let encr = Transform::new(TransformType::ENCR, EncrId::ENCR_AES_GCM_16.0).with_key_length(256);
    Payload::new(PayloadBody::Sa(SaPayload {
        proposals: vec![
            Proposal {
                reserved: 0,
                number: 1,
                protocol: ProtocolId::ESP,
                spi: vec![],
                transforms: vec![
                    encr.clone(),
                    Transform::new(TransformType::SN, SnId::SEQ32.0),
                ],
            },
            Proposal {
                reserved: 0,
                number: 2,
                protocol: ProtocolId::GIKE_UPDATE,
                spi: vec![],
                transforms: vec![
                    encr,
                    Transform::new(TransformType::KWA, KwaId::KW_5649_256.0),
                    Transform::new(TransformType::GCAUTH, GcAuthId::DIGITAL_SIGNATURE.0)
                        .with_attribute(Attribute::tlv(
                            TransformAttrType::SIGNATURE_ALGORITHM_IDENTIFIER,
                            vec![0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70],
                        )),
                ],
            },
        ],
    }))
}

#[test]
fn sa_payload_layout() {
    let bytes = unhex(SA_PAYLOAD);
    assert_eq!(bytes.len(), 79);
    check_payload(PayloadType::SA, &bytes, &sa_expected());
}

#[test]
fn sa_last_substruc_values_are_not_interchangeable() {
    let bytes = unhex(SA_PAYLOAD);
    // Proposal 1 Last Substruc (offset 4) = 3, the transform value: rejected.
    let mut b = bytes.clone();
    b[4] = 3;
    let err = decode_payloads(PayloadType::SA, &b).unwrap_err();
    assert_eq!(err.structure, Structure::Proposal);
    assert_eq!(err.offset, 4);
    assert_eq!(
        err.kind,
        DecodeErrorKind::InvalidValue {
            field: "Last Substruc",
            value: 3
        }
    );
    // First transform's Last Substruc (offset 12) = 2, the proposal value: rejected.
    let mut b = bytes;
    b[12] = 2;
    let err = decode_payloads(PayloadType::SA, &b).unwrap_err();
    assert_eq!(err.structure, Structure::Transform);
    assert_eq!(err.offset, 12);
}

// ---------------------------------------------------------------------------------------
// Notify GROUP_SENDER (RFC 7296 §3.10; RFC 9838 §4.7.4) and Delete (RFC 7296 §3.11; §4.6)
// ---------------------------------------------------------------------------------------

#[test]
fn notify_group_sender_layout() {
    let bytes = unhex(
        "
        00 00 000c          # generic header: NONE, C=0, Length 12
        00                  # Protocol ID = 0
        00                  # SPI Size = 0
        402d                # Notify Message Type = GROUP_SENDER (16429)
        00000002            # Notification Data: 2 Sender-IDs requested
        ",
    );
    let expected = Payload::new(PayloadBody::Notify(NotifyPayload::group_sender(2)));
    check_payload(PayloadType::N, &bytes, &expected);
    let PayloadBody::Notify(n) = &expected.body else {
        unreachable!()
    };
    assert_eq!(n.notify_type, NotifyType::GROUP_SENDER);
    assert_eq!(n.group_sender_count(), Some(2));
}

#[test]
fn delete_gike_update_layout() {
    let bytes = unhex(
        "
        00 00 0018                          # generic header: NONE, Length 24
        06                                  # Protocol ID = GIKE_UPDATE (6)
        10                                  # SPI Size = 16
        0001                                # Num of SPIs = 1
        00000000000000000000000000000000    # SPI: all zero (RFC 9838 §2.4.3)
        ",
    );
    let expected = Payload::new(PayloadBody::Delete(DeletePayload {
        protocol: ProtocolId::GIKE_UPDATE,
        spi_size: 16,
        spis: vec![vec![0; 16]],
    }));
    check_payload(PayloadType::D, &bytes, &expected);
}

// ---------------------------------------------------------------------------------------
// Whole messages (RFC 7296 §3.1, §3.14)
// ---------------------------------------------------------------------------------------

#[test]
fn small_registration_message_layout() {
    let bytes = unhex(
        "
        # IKE header (RFC 7296 §3.1)
        6f1d4e902bc35807    # IKE SA Initiator's SPI
        b427816af039d512    # IKE SA Responder's SPI
        32                  # Next Payload = IDg (50)
        20                  # MjVer 2, MnVer 0
        28                  # Exchange Type = GSA_REGISTRATION (40)
        08                  # Flags: I
        00000002            # Message ID
        00000037            # Length = 55, header included
        # IDg (RFC 9838 §4.2)
        29                  # Next Payload = N (41)
        00 000f             # C=0, Payload Length = 15
        0b 000000           # ID Type = ID_KEY_ID (11), RESERVED
        67726f75702d31      # 'group-1'
        # N(GROUP_SENDER)
        00 00 000c 00 00 402d 00000002
        ",
    );
    let expected = Message {
        header: IkeHeader {
            spi_i: [0x6f, 0x1d, 0x4e, 0x90, 0x2b, 0xc3, 0x58, 0x07],
            spi_r: [0xb4, 0x27, 0x81, 0x6a, 0xf0, 0x39, 0xd5, 0x12],
            version: 0x20,
            exchange: ExchangeType::GSA_REGISTRATION,
            flags: 0x08,
            message_id: 2,
        },
        payloads: vec![
            Payload::new(PayloadBody::IdG(IdPayload::new(
                IdType::ID_KEY_ID,
                b"group-1".to_vec(),
            ))),
            Payload::new(PayloadBody::Notify(NotifyPayload::group_sender(2))),
        ],
    };
    assert_eq!(Message::decode(&bytes).unwrap(), expected);
    assert_eq!(expected.encode().unwrap(), bytes);
    assert_eq!(expected.first_payload_type(), PayloadType::IDg);
}

#[test]
fn gsa_rekey_sk_message_layout() {
    let bytes = unhex(
        "
        # IKE header: the SPI pair is the Rekey SA's 16-octet SPI (RFC 9838 §4.4.2)
        9e513c07d2448a61 1fb06d23e8750c9a
        2e                  # Next Payload = SK (46)
        20 29 00            # version 2.0, GSA_REKEY (41), no flags
        00000001            # Message ID = GSA_INITIAL_MESSAGE_ID
        0000003c            # Length = 60
        # SK (RFC 7296 §3.14)
        33                  # Next Payload = GSA (51): the FIRST INNER payload's type
        00 0020             # C=0, Payload Length = 32
        000102030405060708090a0b0c0d0e0f   # IV
        dead beef           # ciphertext (opaque here)
        1112131415161718    # ICV (truncated for the example)
        ",
    );
    let expected = Message {
        header: IkeHeader {
            spi_i: [0x9e, 0x51, 0x3c, 0x07, 0xd2, 0x44, 0x8a, 0x61],
            spi_r: [0x1f, 0xb0, 0x6d, 0x23, 0xe8, 0x75, 0x0c, 0x9a],
            version: 0x20,
            exchange: ExchangeType::GSA_REKEY,
            flags: 0,
            message_id: 1,
        },
        payloads: vec![Payload::new(PayloadBody::Sk(EncryptedPayload {
            inner_first: PayloadType::GSA,
            body: bytes[32..].to_vec(),
        }))],
    };
    let decoded = Message::decode(&bytes).unwrap();
    assert_eq!(decoded, expected);
    assert_eq!(decoded.header.spi_pair()[..], bytes[..16]);
    assert_eq!(expected.encode().unwrap(), bytes);
    assert_eq!(expected.encrypted().unwrap().inner_first, PayloadType::GSA);
}
