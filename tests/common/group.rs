//! A key server and members in memory, for the rekey tests: a group configuration, members
//! registered over real GSA_AUTH payloads, and helpers to carry GSA_REKEY datagrams.

use gikev2::crypto::keywrap::Kwa;
use gikev2::crypto::prf::PrfAlg;
use gikev2::crypto::sign::SigningKey;
use gikev2::crypto::sk::{EncrAlg, SkProtector};
use gikev2::gcks::{
    DataPolicyConfig, DataProtocol, GcAuth, Gcks, GcksOutput, GcksResponse, GroupConfig,
    RekeyMessage, RekeyPolicyConfig,
};
use gikev2::gm::{GmRekeyError, GroupMember, MembershipConfig, RekeyResult, ResponseOutcome};
use gikev2::gsa_rekey::{self, Authenticator};
use gikev2::identity::{Identity, IdentityPattern};
use gikev2::ike_sa::IkeSaContext;
use gikev2::suite::EncrSpec;
use gikev2::time::Time;
use gikev2::wire::{self, EncrId, ExchangeType, Payload, PayloadType, SnId, TrafficSelector};
use std::borrow::Borrow;
use std::net::Ipv4Addr;

pub const T0: Time = Time::from_secs(1_000);

/// One AES-GCM ESP SA (1 h) and a multicast Rekey SA (2 h), ATD 2 s, DTD 10 s, LKH degree
/// 2, everybody authorised; signed GSA_REKEY with `signing`, implicit otherwise.
pub fn group_config(name: &str, signing: Option<SigningKey>) -> GroupConfig {
    let mut c = GroupConfig::new(Identity::key_id(name));
    c.data_policies.push(DataPolicyConfig {
        name: "video".into(),
        protocol: DataProtocol::Esp,
        encr: Some(EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 256)),
        integ: None,
        sn: SnId::UNSPECIFIED32,
        src: TrafficSelector::ipv4_host(Ipv4Addr::new(10, 0, 0, 1), 0, None),
        dst: TrafficSelector::ipv4_host(Ipv4Addr::new(239, 192, 0, 1), 17, Some(5000)),
        lifetime_secs: 3600,
    });
    c.rekey = Some(RekeyPolicyConfig {
        encr: EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 256),
        integ: None,
        kwa: Kwa::Kw5649_256,
        auth: match signing {
            Some(k) => GcAuth::Signature(k),
            None => GcAuth::Implicit,
        },
        src: TrafficSelector::ipv4_host(Ipv4Addr::new(10, 0, 0, 1), 17, Some(848)),
        dst: TrafficSelector::ipv4_host(Ipv4Addr::new(239, 192, 0, 100), 17, Some(848)),
        lifetime_secs: 7200,
    });
    c.atd_secs = Some(2);
    c.dtd_secs = Some(10);
    c.authorized = vec![IdentityPattern::Any];
    c.rekey_behaviour.lkh_degree = 2;
    c
}

/// A registered member: its identity, the key server's view of its IKE SA, its state.
pub struct Member {
    pub id: Identity,
    pub at_gcks: IkeSaContext,
    pub gm: GroupMember,
    pub cfg: MembershipConfig,
}

/// The IKE SA of member `name` as both sides hold it (key server, member), derived from
/// `name` and `salt` with prf+.
pub fn ike_pair(name: &str, salt: &str) -> (IkeSaContext, IkeSaContext) {
    let prf = PrfAlg::HmacSha256;
    let mat = prf.prf_plus(salt.as_bytes(), name.as_bytes(), 48).unwrap();
    let (spi_i, spi_r) = (mat[..8].try_into().unwrap(), mat[8..16].try_into().unwrap());
    let side = |peer: Identity| {
        IkeSaContext::new(spi_i, spi_r, prf, &mat[16..], Kwa::Kw5649_256, peer).unwrap()
    };
    (side(Identity::fqdn(name)), side(Identity::fqdn("gcks")))
}

/// Registers `name` with `cfg` (over the wire codec) and returns the member and the key
/// server's response. Its IKE SA did not negotiate IKEv2 fragmentation.
pub fn join_cfg(
    gcks: &mut Gcks,
    name: &str,
    cfg: MembershipConfig,
    implicit: bool,
    now: Time,
) -> (Member, GcksResponse) {
    join_with(gcks, name, cfg, implicit, false, now)
}

/// As [`join_cfg`], saying whether the IKE SA negotiated IKEv2 fragmentation (RFC 7383).
pub fn join_with(
    gcks: &mut Gcks,
    name: &str,
    cfg: MembershipConfig,
    implicit: bool,
    fragmentation: bool,
    now: Time,
) -> (Member, GcksResponse) {
    let r = register_with(
        gcks,
        name,
        cfg,
        ExchangeType::GSA_AUTH,
        implicit,
        fragmentation,
        now,
    );
    (r.member, r.response)
}

/// A registration as it travelled: the member, the key server's response, and that
/// response's payload chain as encoded on the wire (the member processed these octets).
pub struct WireRegistration {
    pub member: Member,
    pub response: GcksResponse,
    /// Type of the first payload of the chain.
    pub first: PayloadType,
    /// The encoded chain.
    pub octets: Vec<u8>,
}

/// Registers `name` with `cfg` in `exchange` (GSA_AUTH or GSA_REGISTRATION): the key
/// server's response is encoded, decoded again and processed by the member, which must
/// accept it. Its IKE SA did not negotiate IKEv2 fragmentation.
pub fn register(
    gcks: &mut Gcks,
    name: &str,
    cfg: MembershipConfig,
    exchange: ExchangeType,
    implicit: bool,
    now: Time,
) -> WireRegistration {
    register_with(gcks, name, cfg, exchange, implicit, false, now)
}

/// As [`register`], saying whether the IKE SA negotiated IKEv2 fragmentation.
pub fn register_with(
    gcks: &mut Gcks,
    name: &str,
    mut cfg: MembershipConfig,
    exchange: ExchangeType,
    implicit: bool,
    fragmentation: bool,
    now: Time,
) -> WireRegistration {
    let (mut at_gcks, at_gm) = ike_pair(name, "rekey test");
    at_gcks.fragmentation = fragmentation;
    let mut gm = GroupMember::new(at_gm);
    cfg.accept.implicit_auth = implicit;
    let req = gm.join_request(&cfg);
    let response = gcks.handle_request(&at_gcks, exchange, &req, now);
    let (first, octets) = wire::encode_payloads(&response.payloads).unwrap();
    let decoded = wire::decode_payloads(first, &octets).unwrap();
    let r = gm.process_response(&cfg.group, &decoded, now);
    assert!(matches!(r, Ok(ResponseOutcome::Registered(_))), "{r:?}");
    let member = Member {
        id: Identity::fqdn(name),
        at_gcks,
        gm,
        cfg,
    };
    WireRegistration {
        member,
        response,
        first,
        octets,
    }
}

/// Registers `name` as a receiver of `group`.
pub fn join(gcks: &mut Gcks, group: &str, name: &str, implicit: bool, now: Time) -> Member {
    let cfg = MembershipConfig::receiver(Identity::key_id(group));
    join_cfg(gcks, name, cfg, implicit, now).0
}

/// Registers `name` as a receiver of `group` over an IKE SA that negotiated IKEv2
/// fragmentation.
pub fn join_fragmenting(
    gcks: &mut Gcks,
    group: &str,
    name: &str,
    implicit: bool,
    now: Time,
) -> Member {
    let cfg = MembershipConfig::receiver(Identity::key_id(group));
    join_with(gcks, name, cfg, implicit, true, now).0
}

/// The GSA_REKEY messages among the key server's outputs.
pub fn messages(out: &[GcksOutput]) -> Vec<&RekeyMessage> {
    out.iter()
        .filter_map(|o| match o {
            GcksOutput::Multicast(m) => Some(m),
            _ => None,
        })
        .collect()
}

/// Feeds every datagram of `msgs` to `m`; returns the results of completed messages.
pub fn deliver<M: Borrow<RekeyMessage>>(
    m: &mut Member,
    msgs: &[M],
    now: Time,
) -> Vec<Result<RekeyResult, GmRekeyError>> {
    let mut out = Vec::new();
    for msg in msgs {
        for d in &msg.borrow().datagrams {
            match m.gm.process_gsa_rekey(d, now) {
                Ok(None) => {}
                Ok(Some(r)) => out.push(Ok(r)),
                Err(e) => out.push(Err(e)),
            }
        }
    }
    out
}

/// The member holds exactly the key server's current KEK and TEKs.
pub fn in_sync(gcks: &Gcks, m: &Member) -> bool {
    let g = gcks.group(&m.cfg.group).unwrap();
    let Some(ms) = m.gm.membership(&m.cfg.group) else {
        return false;
    };
    let Some(rk) = ms.rekey.as_ref() else {
        return false;
    };
    let kek = [
        rk.gsk_e.as_bytes(),
        rk.gsk_a.as_bytes(),
        rk.gsk_w.as_bytes(),
    ]
    .concat();
    Some(rk.spi) == g.rekey_sa_spi()
        && kek == g.rekey_sa_keymat().unwrap().as_bytes()
        && g.data_sa_spis().iter().all(|s| ms.data_sa_spis.contains(s))
}

/// The SK protector of an AES-GCM-256 Rekey SA from its KEYMAT (GSK_e first).
pub fn rekey_protector(keymat: &[u8]) -> SkProtector {
    SkProtector::new(
        EncrAlg::AesGcm16 { key_bits: 256 },
        None,
        &keymat[..36],
        &[],
    )
    .unwrap()
}

/// A GSA_REKEY on Rekey SA `spi` built with its `keymat`: one the key server could have
/// sent, or a forgery by whoever holds the keys.
pub fn forged(
    spi: &[u8; 16],
    id: u32,
    inner: &[Payload],
    keymat: &[u8],
    auth: Authenticator<'_>,
) -> Vec<u8> {
    gsa_rekey::build(spi, id, inner, &rekey_protector(keymat), auth, None)
        .unwrap()
        .remove(0)
}
