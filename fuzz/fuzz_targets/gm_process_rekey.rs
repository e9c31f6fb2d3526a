//! A registered group member fed hostile GSA_REKEY input (RFC 9838 §2.4.1.4): never
//! panics, and a rejected message leaves the member exactly as it was.
//!
//! The first input octet picks the layer attacked:
//! - even: the rest is a raw datagram, as an attacker on the multicast group sends it;
//! - odd: the rest is decoded as a payload chain (GSA, KD, Delete, N...) and sent as a
//!   GSA_REKEY correctly protected with the group's Rekey SA keys (implicit
//!   authentication), so the member's content processing (policies, key bags, LKH key
//!   paths, Deletes) sees what a malicious or buggy key server could send.
#![no_main]

use gikev2::crypto::keywrap::Kwa;
use gikev2::crypto::prf::PrfAlg;
use gikev2::gcks::{
    DataPolicyConfig, DataProtocol, GcAuth, Gcks, GroupConfig, RekeyPolicyConfig,
};
use gikev2::gm::{GroupMember, MembershipConfig};
use gikev2::gsa_rekey::{self, Authenticator};
use gikev2::identity::{Identity, IdentityPattern};
use gikev2::ike_sa::IkeSaContext;
use gikev2::protect::protector_for;
use gikev2::suite::EncrSpec;
use gikev2::time::Time;
use gikev2::wire::{self, EncrId, ExchangeType, PayloadType, SnId, TrafficSelector};
use libfuzzer_sys::fuzz_target;
use std::net::Ipv4Addr;
use std::sync::OnceLock;

const T0: Time = Time::from_secs(1_000);

/// What every iteration starts from: the key server's registration response for one
/// member, and the Rekey SA the member will then hold.
struct Fixture {
    response: (PayloadType, Vec<u8>),
    rekey_spi: [u8; 16],
    rekey_keymat: Vec<u8>,
}

fn ike_pair() -> (IkeSaContext, IkeSaContext) {
    let prf = PrfAlg::HmacSha256;
    let mat = prf.prf_plus(b"fuzz", b"member", 48).unwrap();
    let spi_i: [u8; 8] = mat[..8].try_into().unwrap();
    let spi_r: [u8; 8] = mat[8..16].try_into().unwrap();
    let side = |peer| IkeSaContext::new(spi_i, spi_r, prf, &mat[16..], Kwa::Kw5649_256, peer);
    (
        side(Identity::fqdn("member")).unwrap(),
        side(Identity::fqdn("gcks")).unwrap(),
    )
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut c = GroupConfig::new(Identity::key_id("g"));
        c.data_policies.push(DataPolicyConfig {
            name: "p".into(),
            protocol: DataProtocol::Esp,
            encr: Some(EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 256)),
            integ: None,
            sn: SnId::UNSPECIFIED32,
            src: TrafficSelector::ipv4_host(Ipv4Addr::new(10, 0, 0, 1), 0, None),
            dst: TrafficSelector::ipv4_host(Ipv4Addr::new(239, 1, 1, 1), 17, Some(5000)),
            lifetime_secs: 3600,
        });
        c.rekey = Some(RekeyPolicyConfig {
            encr: EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 256),
            integ: None,
            kwa: Kwa::Kw5649_256,
            auth: GcAuth::Implicit,
            src: TrafficSelector::ipv4_host(Ipv4Addr::new(10, 0, 0, 1), 17, Some(500)),
            dst: TrafficSelector::ipv4_host(Ipv4Addr::new(239, 1, 1, 2), 17, Some(500)),
            lifetime_secs: 7200,
        });
        c.authorized = vec![IdentityPattern::Any];
        c.rekey_behaviour.lkh_degree = 2;
        let mut gcks = Gcks::new();
        gcks.add_group(c, T0).unwrap();
        let (at_gcks, at_gm) = ike_pair();
        let mut gm = GroupMember::new(at_gm);
        let req = gm.join_request(&membership());
        let resp = gcks.handle_request(&at_gcks, ExchangeType::GSA_AUTH, &req, T0);
        let group = gcks.group(&Identity::key_id("g")).unwrap();
        Fixture {
            response: wire::encode_payloads(&resp.payloads).unwrap(),
            rekey_spi: group.rekey_sa_spi().unwrap(),
            rekey_keymat: group.rekey_sa_keymat().unwrap().as_bytes().to_vec(),
        }
    })
}

fn membership() -> MembershipConfig {
    let mut m = MembershipConfig::receiver(Identity::key_id("g"));
    m.accept.implicit_auth = true;
    m
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let (_, at_gm) = ike_pair();
    let mut gm = GroupMember::new(at_gm);
    let _ = gm.join_request(&membership());
    let (first, bytes) = &f.response;
    let payloads = wire::decode_payloads(*first, bytes).unwrap();
    gm.process_response(&Identity::key_id("g"), &payloads, T0)
        .expect("the fixture registers");
    let before = format!("{gm:?}");

    let datagram = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        let Some((&first, chain)) = rest.split_first() else {
            return;
        };
        let Ok(inner) = wire::decode_payloads(PayloadType(first), chain) else {
            return;
        };
        let protector = protector_for(
            EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 256),
            None,
            &f.rekey_keymat[..36],
            &[],
        )
        .unwrap();
        match gsa_rekey::build(&f.rekey_spi, 0, &inner, &protector, Authenticator::Implicit, None)
        {
            Ok(d) => d.into_iter().next().unwrap_or_default(),
            Err(_) => return,
        }
    };
    if gm.process_gsa_rekey(&datagram, T0.plus_secs(1)).is_err() {
        assert_eq!(before, format!("{gm:?}"), "a rejected GSA_REKEY changed the member");
    }
});
