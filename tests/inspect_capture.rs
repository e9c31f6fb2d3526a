//! Deterministic generator of the inspector's sample capture,
//! `tests/data/gikev2-sample.pcap`, and its Wireshark key table,
//! `tests/data/gikev2-sample.keys`.
//!
//! A small G-IKEv2 (RFC 9838) conversation over UDP 848 between the GCKS 10.0.0.1 and
//! the GM 10.0.0.2, Ethernet link type:
//! 1. IKE_SA_INIT request (SA with a KWA transform, KE, Nonce, N(IKEV2_FRAGMENTATION_SUPPORTED));
//! 2. IKE_SA_INIT response;
//! 3. GSA_AUTH request: SK{IDi, AUTH, IDg "group-1", SAg (ESP + GIKE_UPDATE), N(GROUP_SENDER)};
//! 4. GSA_AUTH response: SK{IDr, AUTH, GSA{KEK, TEK, GW}, KD{2 Group Key Bags, Member Key Bag}};
//! 5. GSA_REKEY from 10.0.0.1 to 239.192.0.1: SK{GSA, KD, AUTH(Digital Signature)}.
//!
//! Every key, SPI, nonce, IV and wrapped key is a fixed value (wrapped keys and
//! signatures are filler of the right length: the sample shows the format, it is not
//! cryptographically consistent beyond the SK protection). The test rebuilds the
//! files in memory and compares them with the committed ones; `GIKEV2_REGEN=1`
//! rewrites them.

use gikev2::crypto::sk::{EncrAlg, SkProtector};
use gikev2::protect;
use gikev2::wire::{
    Attribute, AuthMethod, AuthPayload, EncrId, ExchangeType, GcAuthId, GroupKeyBag,
    GroupKeyBagAttr, GroupPolicy, GsaAttrType, GsaPayload, GsaPolicy, GwPolicy, GwpAttrType,
    IdPayload, IdType, IkeHeader, KdPayload, KeId, KePayload, KeyBag, KwaId, MemberKeyBag,
    MemberKeyBagAttr, Message, NotifyPayload, NotifyType, Payload, PayloadBody, PrfId, Proposal,
    ProtocolId, SaPayload, SignatureAuthData, SnId, TrafficSelector, Transform, TransformAttrType,
    TransformType, WrappedKey,
};
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// IKE SA SPIs.
const SPI_I: [u8; 8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
const SPI_R: [u8; 8] = [0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10];
/// The Rekey SA (KEK) SPI: its halves are the GSA_REKEY header SPIs.
const KEK_SPI: [u8; 16] = [
    0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
];
/// The next KEK SPI announced with GSA_NEXT_SPI.
const KEK_NEXT_SPI: [u8; 16] = [
    0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
];
/// ESP SPIs of the Data-Security SA and of its replacement in the GSA_REKEY.
const TEK_SPI: [u8; 4] = [0x10, 0x00, 0xab, 0xcd];
const TEK_SPI_2: [u8; 4] = [0x20, 0x00, 0xbe, 0xef];
/// Message ID of the GSA_REKEY (also GSA_INITIAL_MESSAGE_ID: the GM joins late).
const REKEY_MSGID: u32 = 5;

const GCKS: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const GM: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const GROUP: Ipv4Addr = Ipv4Addr::new(239, 192, 0, 1);
const PORT: u16 = 848;

/// 2026-01-01T00:00:00Z.
const T0: u32 = 1_767_225_600;

/// Ed25519 AlgorithmIdentifier (RFC 8410): SEQUENCE { OID 1.3.101.112 }.
const ED25519_ALG_ID: [u8; 7] = [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

/// Deterministic filler octets, distinct per label (splitmix64 seeded with FNV-1a).
fn filler(label: &str, n: usize) -> Vec<u8> {
    let mut seed: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        seed ^= u64::from(b);
        seed = seed.wrapping_mul(0x0100_0000_01b3);
    }
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_be_bytes());
    }
    out.truncate(n);
    out
}

/// SK_ei, SK_er (AES-GCM-16-256: 32-octet key + 4-octet salt) and the Rekey SA's GSK_e.
fn sk_ei() -> Vec<u8> {
    filler("SK_ei", 36)
}
fn sk_er() -> Vec<u8> {
    filler("SK_er", 36)
}
fn gsk_e() -> Vec<u8> {
    filler("GSK_e", 36)
}

const GCM_256: EncrAlg = EncrAlg::AesGcm16 { key_bits: 256 };

fn p(body: PayloadBody) -> Payload {
    Payload::new(body)
}

fn encr_gcm256() -> Transform {
    Transform::new(TransformType::ENCR, EncrId::ENCR_AES_GCM_16.0).with_key_length(256)
}

fn kwa256() -> Transform {
    Transform::new(TransformType::KWA, KwaId::KW_5649_256.0)
}

fn gcauth_ed25519() -> Transform {
    Transform::new(TransformType::GCAUTH, GcAuthId::DIGITAL_SIGNATURE.0).with_attribute(
        Attribute::tlv(
            TransformAttrType::SIGNATURE_ALGORITHM_IDENTIFIER,
            ED25519_ALG_ID.to_vec(),
        ),
    )
}

fn ike_proposal() -> SaPayload {
    SaPayload {
        proposals: vec![Proposal::new(
            1,
            ProtocolId::IKE,
            vec![
                encr_gcm256(),
                Transform::new(TransformType::PRF, PrfId::PRF_HMAC_SHA2_256.0),
                Transform::new(TransformType::KE, KeId::CURVE25519.0),
                kwa256(),
            ],
        )],
    }
}

fn header(exchange: ExchangeType, flags: u8, message_id: u32, spi_r: [u8; 8]) -> IkeHeader {
    IkeHeader {
        spi_i: SPI_I,
        spi_r,
        version: IkeHeader::VERSION_2_0,
        exchange,
        flags,
        message_id,
    }
}

fn ike_sa_init(response: bool) -> Vec<u8> {
    let who = if response { "r" } else { "i" };
    let msg = Message {
        header: header(
            ExchangeType::IKE_SA_INIT,
            if response { 0x20 } else { 0x08 },
            0,
            if response { SPI_R } else { [0; 8] },
        ),
        payloads: vec![
            p(PayloadBody::Sa(ike_proposal())),
            p(PayloadBody::Ke(KePayload {
                group: KeId::CURVE25519.0,
                reserved: 0,
                data: filler(&format!("KE{who}"), 32),
            })),
            p(PayloadBody::Nonce(filler(&format!("N{who}"), 32))),
            p(PayloadBody::Notify(NotifyPayload::new(
                NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
                Vec::new(),
            ))),
        ],
    };
    msg.encode().expect("IKE_SA_INIT encodes")
}

fn gsa_auth_request() -> Vec<u8> {
    let sag = SaPayload {
        proposals: vec![
            Proposal::new(
                1,
                ProtocolId::ESP,
                vec![
                    encr_gcm256(),
                    Transform::new(TransformType::SN, SnId::UNSPECIFIED32.0),
                ],
            ),
            Proposal::new(
                1,
                ProtocolId::GIKE_UPDATE,
                vec![encr_gcm256(), kwa256(), gcauth_ed25519()],
            ),
        ],
    };
    let inner = vec![
        p(PayloadBody::IdI(IdPayload::new(
            IdType::ID_FQDN,
            b"gm1.example.net".to_vec(),
        ))),
        p(PayloadBody::Auth(AuthPayload {
            method: AuthMethod::SHARED_KEY_MIC,
            reserved: [0; 3],
            data: filler("AUTH-i", 32),
        })),
        p(PayloadBody::IdG(IdPayload::new(
            IdType::ID_KEY_ID,
            b"group-1".to_vec(),
        ))),
        p(PayloadBody::Sa(sag)),
        p(PayloadBody::Notify(NotifyPayload::group_sender(1))),
    ];
    let prot = SkProtector::new(GCM_256, None, &sk_ei(), &[]).expect("SK_ei");
    protect::seal_with_iv(
        &header(ExchangeType::GSA_AUTH, 0x08, 1, SPI_R),
        &inner,
        &prot,
        &filler("IV-3", 8),
    )
    .expect("GSA_AUTH request seals")
}

fn any_v4() -> TrafficSelector {
    TrafficSelector::Ipv4 {
        ip_protocol: 0,
        start_port: 0,
        end_port: 0xffff,
        start: Ipv4Addr::UNSPECIFIED,
        end: Ipv4Addr::BROADCAST,
    }
}

fn group_any() -> TrafficSelector {
    TrafficSelector::Ipv4 {
        ip_protocol: 0,
        start_port: 0,
        end_port: 0xffff,
        start: GROUP,
        end: GROUP,
    }
}

fn tek_policy(spi: [u8; 4]) -> GsaPolicy {
    GsaPolicy {
        protocol: ProtocolId::ESP,
        spi: spi.to_vec(),
        src_ts: any_v4(),
        dst_ts: group_any(),
        transforms: vec![
            encr_gcm256(),
            Transform::new(TransformType::SN, SnId::UNSPECIFIED32.0),
        ],
        attributes: vec![Attribute::tlv(
            GsaAttrType::GSA_KEY_LIFETIME,
            3600u32.to_be_bytes().to_vec(),
        )],
    }
}

/// RFC 5649 output length for `n` octets of key material: 8 + 8 * ceil(n / 8).
fn wrapped_len(n: usize) -> usize {
    8 + n.div_ceil(8) * 8
}

fn sa_key(label: &str, keymat_len: usize) -> GroupKeyBagAttr {
    GroupKeyBagAttr::SaKey(WrappedKey {
        key_id: 0,
        kwk_id: 0,
        encrypted: filler(label, wrapped_len(keymat_len)),
    })
}

fn gsa_auth_response() -> Vec<u8> {
    let kek = GsaPolicy {
        protocol: ProtocolId::GIKE_UPDATE,
        spi: KEK_SPI.to_vec(),
        src_ts: TrafficSelector::ipv4_host(GCKS, 17, Some(PORT)),
        dst_ts: TrafficSelector::ipv4_host(GROUP, 17, Some(PORT)),
        transforms: vec![encr_gcm256(), kwa256(), gcauth_ed25519()],
        attributes: vec![
            Attribute::tlv(
                GsaAttrType::GSA_KEY_LIFETIME,
                86_400u32.to_be_bytes().to_vec(),
            ),
            Attribute::tlv(
                GsaAttrType::GSA_INITIAL_MESSAGE_ID,
                REKEY_MSGID.to_be_bytes().to_vec(),
            ),
            Attribute::tlv(GsaAttrType::GSA_NEXT_SPI, KEK_NEXT_SPI.to_vec()),
        ],
    };
    let gw = GwPolicy {
        reserved: 0,
        attributes: vec![
            Attribute::tv(GwpAttrType::GWP_ATD, 5),
            Attribute::tv(GwpAttrType::GWP_DTD, 10),
            Attribute::tv(GwpAttrType::GWP_SENDER_ID_BITS, 8),
        ],
    };
    let gsa = GsaPayload {
        policies: vec![
            GroupPolicy::Sa(kek),
            GroupPolicy::Sa(tek_policy(TEK_SPI)),
            GroupPolicy::Gw(gw),
        ],
    };
    // KEK KEYMAT = GSK_e (36) | GSK_a (0, AEAD) | GSK_w (32, KW_5649_256): 68 octets.
    // TEK KEYMAT = AES-GCM-256 key + salt: 36 octets.
    let mut spki = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    spki.extend_from_slice(&filler("GCKS Ed25519 public key", 32));
    let kd = KdPayload {
        bags: vec![
            KeyBag::Group(GroupKeyBag {
                protocol: ProtocolId::GIKE_UPDATE,
                spi: KEK_SPI.to_vec(),
                attributes: vec![sa_key("KEK SA_KEY", 68)],
            }),
            KeyBag::Group(GroupKeyBag {
                protocol: ProtocolId::ESP,
                spi: TEK_SPI.to_vec(),
                attributes: vec![sa_key("TEK SA_KEY", 36)],
            }),
            KeyBag::Member(MemberKeyBag {
                reserved: 0,
                attributes: vec![
                    MemberKeyBagAttr::WrapKey(WrappedKey {
                        key_id: 1,
                        kwk_id: 0,
                        encrypted: filler("LKH node 1", wrapped_len(32)),
                    }),
                    MemberKeyBagAttr::AuthKey(spki),
                    MemberKeyBagAttr::GmSenderId(1u32.to_be_bytes().to_vec()),
                ],
            }),
        ],
    };
    let inner = vec![
        p(PayloadBody::IdR(IdPayload::new(
            IdType::ID_FQDN,
            b"gcks.example.net".to_vec(),
        ))),
        p(PayloadBody::Auth(AuthPayload {
            method: AuthMethod::SHARED_KEY_MIC,
            reserved: [0; 3],
            data: filler("AUTH-r", 32),
        })),
        p(PayloadBody::Gsa(gsa)),
        p(PayloadBody::Kd(kd)),
    ];
    let prot = SkProtector::new(GCM_256, None, &sk_er(), &[]).expect("SK_er");
    protect::seal_with_iv(
        &header(ExchangeType::GSA_AUTH, 0x20, 1, SPI_R),
        &inner,
        &prot,
        &filler("IV-4", 8),
    )
    .expect("GSA_AUTH response seals")
}

fn gsa_rekey() -> Vec<u8> {
    let gsa = GsaPayload {
        policies: vec![GroupPolicy::Sa(tek_policy(TEK_SPI_2))],
    };
    let kd = KdPayload {
        bags: vec![KeyBag::Group(GroupKeyBag {
            protocol: ProtocolId::ESP,
            spi: TEK_SPI_2.to_vec(),
            attributes: vec![sa_key("TEK 2 SA_KEY", 36)],
        })],
    };
    let auth = SignatureAuthData {
        algorithm_identifier: ED25519_ALG_ID.to_vec(),
        signature: filler("GSA_REKEY Ed25519 signature", 64),
    };
    let inner = vec![
        p(PayloadBody::Gsa(gsa)),
        p(PayloadBody::Kd(kd)),
        p(PayloadBody::Auth(AuthPayload {
            method: AuthMethod::DIGITAL_SIGNATURE,
            reserved: [0; 3],
            data: auth.encode().expect("signature data"),
        })),
    ];
    // RFC 9838 leaves the GSA_REKEY flags open (spec Q4); I = R = 0 here.
    let mut spi_i = [0u8; 8];
    let mut spi_r = [0u8; 8];
    spi_i.copy_from_slice(&KEK_SPI[..8]);
    spi_r.copy_from_slice(&KEK_SPI[8..]);
    let h = IkeHeader {
        spi_i,
        spi_r,
        version: IkeHeader::VERSION_2_0,
        exchange: ExchangeType::GSA_REKEY,
        flags: 0,
        message_id: REKEY_MSGID,
    };
    let prot = SkProtector::new(GCM_256, None, &gsk_e(), &[]).expect("GSK_e");
    protect::seal_with_iv(&h, &inner, &prot, &filler("IV-5", 8)).expect("GSA_REKEY seals")
}

fn checksum(chunks: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    for c in chunks {
        for pair in c.chunks(2) {
            let w = if pair.len() == 2 {
                u16::from_be_bytes([pair[0], pair[1]])
            } else {
                u16::from_be_bytes([pair[0], 0])
            };
            sum += u32::from(w);
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn mac_of(a: Ipv4Addr) -> [u8; 6] {
    let o = a.octets();
    if o[0] >= 224 && o[0] <= 239 {
        // RFC 1112 §6.4: 01:00:5e + the low 23 bits of the group address.
        [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
    } else {
        [0x02, 0x00, 0x00, 0x00, 0x00, o[3]]
    }
}

/// An Ethernet + IPv4 + UDP frame.
fn frame(src: Ipv4Addr, dst: Ipv4Addr, ip_id: u16, payload: &[u8]) -> Vec<u8> {
    let udp_len = 8 + payload.len();
    let total = 20 + udp_len;
    let ttl = if dst.is_multicast() { 16 } else { 64 };
    let mut ip = vec![0x45, 0x00];
    ip.extend_from_slice(&(total as u16).to_be_bytes());
    ip.extend_from_slice(&ip_id.to_be_bytes());
    ip.extend_from_slice(&[0x40, 0x00, ttl, 17, 0, 0]);
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let c = checksum(&[&ip]);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let mut udp = Vec::with_capacity(udp_len);
    udp.extend_from_slice(&PORT.to_be_bytes());
    udp.extend_from_slice(&PORT.to_be_bytes());
    udp.extend_from_slice(&(udp_len as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&[0, 17]);
    pseudo.extend_from_slice(&(udp_len as u16).to_be_bytes());
    let mut uc = checksum(&[&pseudo, &udp]);
    if uc == 0 {
        uc = 0xffff;
    }
    udp[6..8].copy_from_slice(&uc.to_be_bytes());
    let mut f = Vec::with_capacity(14 + total);
    f.extend_from_slice(&mac_of(dst));
    f.extend_from_slice(&mac_of(src));
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&ip);
    f.extend_from_slice(&udp);
    f
}

/// The five messages with their endpoints and capture times (seconds, microseconds).
fn messages() -> Vec<(Ipv4Addr, Ipv4Addr, u32, u32, Vec<u8>)> {
    vec![
        (GM, GCKS, T0, 100, ike_sa_init(false)),
        (GCKS, GM, T0, 12_345, ike_sa_init(true)),
        (GM, GCKS, T0, 30_000, gsa_auth_request()),
        (GCKS, GM, T0, 45_000, gsa_auth_response()),
        (GCKS, GROUP, T0 + 10, 0, gsa_rekey()),
    ]
}

/// The sample capture: classic pcap, little-endian, microseconds, LINKTYPE_ETHERNET.
fn build_pcap() -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (i, (src, dst, sec, usec, msg)) in messages().into_iter().enumerate() {
        let f = frame(src, dst, 0x1000 + i as u16, &msg);
        out.extend_from_slice(&sec.to_le_bytes());
        out.extend_from_slice(&usec.to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&f);
    }
    out
}

/// The Wireshark `ikev2_decryption_table` for the sample.
fn build_keys() -> String {
    let hex = gikev2::wire::hex;
    let gcm = "\"AES-GCM-256 with 16 octet ICV [RFC5282]\"";
    let none = "\"NONE [RFC4306]\"";
    format!(
        "# gikev2-inspect sample capture keys, Wireshark ikev2_decryption_table format:\n\
         # SPIi,SPIr,SK_ei,SK_er,\"encryption\",SK_ai,SK_ar,\"integrity\"\n\
         # First record: the registration IKE SA. Second record: the Rekey SA (SPIs = the\n\
         # two halves of the 16-octet KEK SPI; GSK_e in SK_ei, and also in SK_er for\n\
         # Wireshark, which picks the responder key when the I flag is clear, as it is in\n\
         # GSA_REKEY). Wireshark needs \"-d udp.port==848,isakmp\" to dissect port 848.\n\
         {},{},{},{},{gcm},,,{none}\n\
         {},{},{},{},{gcm},,,{none}\n",
        hex(&SPI_I),
        hex(&SPI_R),
        hex(&sk_ei()),
        hex(&sk_er()),
        hex(&KEK_SPI[..8]),
        hex(&KEK_SPI[8..]),
        hex(&gsk_e()),
        hex(&gsk_e()),
    )
}

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn check_or_regen(name: &str, built: &[u8]) {
    let path = data_dir().join(name);
    if std::env::var_os("GIKEV2_REGEN").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(data_dir()).expect("tests/data");
        std::fs::write(&path, built).expect("write sample");
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `GIKEV2_REGEN=1 cargo test --test inspect_capture` to create it",
            path.display()
        )
    });
    assert!(
        committed == built,
        "{} differs from the generator's output; if the change is intended, run \
         `GIKEV2_REGEN=1 cargo test --test inspect_capture`",
        path.display()
    );
}

#[test]
fn sample_capture_is_reproducible() {
    let a = build_pcap();
    assert_eq!(a, build_pcap(), "the generator is deterministic");
    check_or_regen("gikev2-sample.pcap", &a);
    check_or_regen("gikev2-sample.keys", build_keys().as_bytes());
}

#[test]
fn sample_messages_decode_and_open() {
    let msgs = messages();
    for (_, _, _, _, m) in &msgs {
        Message::decode(m).expect("every sample message decodes");
    }
    let open = |m: &[u8], key: Vec<u8>| {
        let prot = SkProtector::new(GCM_256, None, &key, &[]).expect("key");
        protect::open(m, &prot).expect("opens").inner
    };
    let req = open(&msgs[2].4, sk_ei());
    assert!(matches!(&req[2].body, PayloadBody::IdG(id) if id.data == b"group-1"));
    let resp = open(&msgs[3].4, sk_er());
    assert_eq!(resp.len(), 4);
    let rekey = open(&msgs[4].4, gsk_e());
    assert!(
        matches!(&rekey[2].body, PayloadBody::Auth(a) if a.method == AuthMethod::DIGITAL_SIGNATURE)
    );
    // The wrong direction's key fails the ICV check.
    let prot = SkProtector::new(GCM_256, None, &sk_er(), &[]).expect("key");
    assert!(protect::open(&msgs[2].4, &prot).is_err());
    // Integrity transform unused with AEAD: the IKE proposal carries none.
    assert!(ike_proposal().proposals[0]
        .transforms_of(TransformType::INTEG)
        .next()
        .is_none());
}
