//! In-process GSA_AUTH / GSA_REGISTRATION between a `Gcks` and `GroupMember`s (issue 3).
//!
//! Both sides get the same synthetic IKE SA (SK_d and SPIs derived from a seed with
//! prf+), and every request and response goes through the wire codec as it would on the
//! network.

use gikev2::crypto::keywrap::{self, Kwa};
use gikev2::crypto::prf::PrfAlg;
use gikev2::crypto::sign::{SignatureAlg, SigningKey};
use gikev2::gcks::{
    DataPolicyConfig, DataProtocol, GcAuth, Gcks, GcksEvent, GcksResponse, GroupConfig, Outcome,
    RekeyPolicyConfig,
};
use gikev2::gm::{
    Direction, GmError, GroupMember, MembershipConfig, RekeyAuth, ResponseOutcome, SenderRole,
};
use gikev2::identity::{Identity, IdentityPattern};
use gikev2::ike_sa::IkeSaContext;
use gikev2::suite::EncrSpec;
use gikev2::time::Time;
use gikev2::wire::{
    self, Attribute, EncrId, ExchangeType, GroupKeyBag, GroupKeyBagAttr, GroupPolicy, GsaAttrType,
    IntegId, KeyBag, NotifyPayload, NotifyType, Payload, PayloadBody, PayloadType, SnId,
    TrafficSelector, WrappedKey,
};
use std::net::Ipv4Addr;

const T0: Time = Time::from_secs(1_000);

fn gcks_id() -> Identity {
    Identity::fqdn("gcks.example")
}

/// The IKE SA both sides would have after IKE_SA_INIT + AUTH, derived from `seed`.
fn ike_sa_pair(seed: &str, member: &Identity) -> (IkeSaContext, IkeSaContext) {
    let prf = PrfAlg::HmacSha256;
    let material = prf.prf_plus(b"test IKE SA", seed.as_bytes(), 48).unwrap();
    let spi_i: [u8; 8] = material[..8].try_into().unwrap();
    let spi_r: [u8; 8] = material[8..16].try_into().unwrap();
    let sk_d = &material[16..48];
    let at_gcks =
        IkeSaContext::new(spi_i, spi_r, prf, sk_d, Kwa::Kw5649_256, member.clone()).unwrap();
    let at_gm = IkeSaContext::new(spi_i, spi_r, prf, sk_d, Kwa::Kw5649_256, gcks_id()).unwrap();
    (at_gcks, at_gm)
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

fn group_config(name: &str) -> GroupConfig {
    let mut c = GroupConfig::new(Identity::key_id(name));
    c.data_policies.push(DataPolicyConfig {
        name: "video".into(),
        protocol: DataProtocol::Esp,
        encr: Some(EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 256)),
        integ: None,
        sn: SnId::UNSPECIFIED32,
        src: any_v4(),
        dst: TrafficSelector::ipv4_host(Ipv4Addr::new(239, 192, 0, 1), 17, Some(5000)),
        lifetime_secs: 3600,
    });
    c.data_policies.push(DataPolicyConfig {
        name: "telemetry".into(),
        protocol: DataProtocol::Esp,
        encr: Some(EncrSpec::with_bits(EncrId::ENCR_AES_CBC, 256)),
        integ: Some(IntegId::AUTH_HMAC_SHA2_256_128),
        sn: SnId::SEQ32,
        src: TrafficSelector::ipv4_host(Ipv4Addr::new(10, 0, 0, 1), 17, None),
        dst: TrafficSelector::ipv4_host(Ipv4Addr::new(239, 192, 0, 2), 17, Some(6000)),
        lifetime_secs: 1800,
    });
    c.rekey = Some(RekeyPolicyConfig {
        encr: EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16, 256),
        integ: None,
        kwa: Kwa::Kw5649_256,
        auth: GcAuth::Signature(SigningKey::generate(SignatureAlg::Ed25519).unwrap()),
        src: TrafficSelector::ipv4_host(Ipv4Addr::new(10, 0, 0, 1), 17, Some(848)),
        dst: TrafficSelector::ipv4_host(Ipv4Addr::new(239, 192, 0, 100), 17, Some(848)),
        lifetime_secs: 7200,
    });
    c.atd_secs = Some(5);
    c.dtd_secs = Some(10);
    c.authorized = vec!["fqdn:*.gms.example".parse::<IdentityPattern>().unwrap()];
    c
}

/// Encodes and decodes a payload chain, as the network would carry it inside SK.
fn over_the_wire(payloads: &[Payload]) -> Vec<Payload> {
    let (first, bytes) = wire::encode_payloads(payloads).unwrap();
    if payloads.is_empty() {
        assert_eq!(first, PayloadType::NONE);
        return Vec::new();
    }
    wire::decode_payloads(first, &bytes).unwrap()
}

struct Member {
    name: Identity,
    at_gcks: IkeSaContext,
    gm: GroupMember,
}

fn member(name: &str) -> Member {
    let id = Identity::fqdn(name);
    let (at_gcks, at_gm) = ike_sa_pair(name, &id);
    Member {
        name: id,
        at_gcks,
        gm: GroupMember::new(at_gm),
    }
}

/// One request/response: returns what the key server answered and what the member made
/// of it.
fn exchange(
    gcks: &mut Gcks,
    m: &mut Member,
    cfg: &MembershipConfig,
    xchg: ExchangeType,
    now: Time,
) -> (GcksResponse, Result<ResponseOutcome, GmError>) {
    let request = over_the_wire(&m.gm.join_request(cfg));
    let response = gcks.handle_request(&m.at_gcks, xchg, &request, now);
    let result =
        m.gm.process_response(&cfg.group, &over_the_wire(&response.payloads), now);
    (response, result)
}

fn registered(r: Result<ResponseOutcome, GmError>) -> gikev2::gm::Registration {
    match r {
        Ok(ResponseOutcome::Registered(reg)) => reg,
        other => panic!("expected a registration, got {other:?}"),
    }
}

fn setup() -> (Gcks, MembershipConfig) {
    let mut gcks = Gcks::new();
    gcks.add_group(group_config("group-1"), T0).unwrap();
    (
        gcks,
        MembershipConfig::receiver(Identity::key_id("group-1")),
    )
}

#[test]
fn successful_join_gives_both_sides_the_same_keys() {
    let (mut gcks, receiver_cfg) = setup();
    let mut a = member("a.gms.example");
    let mut b = member("b.gms.example");
    let sender_cfg = MembershipConfig::sender(Identity::key_id("group-1"), 2);

    let (resp_a, ra) = exchange(&mut gcks, &mut a, &receiver_cfg, ExchangeType::GSA_AUTH, T0);
    assert_eq!(
        resp_a.outcome,
        Outcome::Registered {
            group: Identity::key_id("group-1"),
            sender_ids: None
        }
    );
    assert!(
        matches!(&resp_a.events[..], [GcksEvent::MemberJoined { member, .. }] if *member == a.name)
    );
    let reg_a = registered(ra);
    let (_, rb) = exchange(&mut gcks, &mut b, &sender_cfg, ExchangeType::GSA_AUTH, T0);
    let reg_b = registered(rb);

    let group = gcks.group(&Identity::key_id("group-1")).unwrap();
    assert_eq!(group.member_count(), 2);
    assert_eq!(reg_a.data_sas.len(), 2);
    for (sa_a, sa_b) in reg_a.data_sas.iter().zip(&reg_b.data_sas) {
        assert_eq!(sa_a.spi, sa_b.spi);
        // The key server's keying material = encryption key | salt | integrity key.
        let keymat = group.data_sa_keymat(&sa_a.spi).unwrap().as_bytes().to_vec();
        let joined = [
            sa_a.encr_key.as_bytes(),
            sa_a.salt.as_bytes(),
            sa_a.integ_key.as_bytes(),
        ]
        .concat();
        assert_eq!(joined, keymat);
        assert!(sa_a.encr_key.ct_eq(&sa_b.encr_key));
        assert!(sa_a.salt.ct_eq(&sa_b.salt));
        assert!(sa_a.integ_key.ct_eq(&sa_b.integ_key));
        // Receivers install inbound only; senders that also receive, both ways, and
        // start sending after GWP_ATD.
        assert_eq!(sa_a.direction, Direction::Inbound);
        assert_eq!(sa_b.direction, Direction::Both);
        assert_eq!(sa_a.send_from, None);
        assert_eq!(sa_b.send_from, Some(T0.plus_secs(5)));
        assert!(!sa_a.transport_mode);
    }
    let gcm = &reg_a.data_sas[0];
    assert_eq!(
        (gcm.encr_key.len(), gcm.salt.len(), gcm.integ_key.len()),
        (32, 4, 0)
    );
    assert_eq!(gcm.lifetime_secs, Some(3600));
    let cbc = &reg_a.data_sas[1];
    assert_eq!(
        (cbc.encr_key.len(), cbc.salt.len(), cbc.integ_key.len()),
        (32, 0, 32)
    );
    assert_ne!(
        gcm.encr_key.as_bytes(),
        cbc.encr_key.as_bytes(),
        "distinct key per SA"
    );

    // Sender-IDs: only the sender got them (AES-GCM is a counter mode), from 0.
    assert!(reg_a.sender_ids.is_empty());
    assert_eq!(reg_a.sender_id_bits, None);
    assert_eq!(reg_b.sender_ids, vec![0, 1]);
    assert_eq!(reg_b.sender_id_bits, Some(16));
    assert_eq!((reg_a.atd_secs, reg_a.dtd_secs), (5, 10));

    // Rekey SA: same SPI and keys at both members, signature authentication with the
    // key server's public key, Message IDs from 0.
    let info = reg_a.rekey_sa.as_ref().unwrap();
    assert_eq!(Some(info.spi), group.rekey_sa_spi());
    let ka =
        a.gm.membership(&Identity::key_id("group-1"))
            .unwrap()
            .rekey
            .as_ref()
            .unwrap();
    let kb =
        b.gm.membership(&Identity::key_id("group-1"))
            .unwrap()
            .rekey
            .as_ref()
            .unwrap();
    assert!(ka.gsk_e.ct_eq(&kb.gsk_e) && ka.gsk_w.ct_eq(&kb.gsk_w));
    assert_eq!(
        (ka.gsk_e.len(), ka.gsk_a.len(), ka.gsk_w.len()),
        (36, 0, 32)
    );
    assert_eq!(ka.next_message_id, 0);
    assert!(matches!(ka.auth, RekeyAuth::Signature(_)));
}

#[test]
fn keys_are_wrapped_under_each_ike_sas_gsk_w() {
    let (mut gcks, cfg) = setup();
    let mut a = member("a.gms.example");
    let request = over_the_wire(&a.gm.join_request(&cfg));
    let response = gcks.handle_request(&a.at_gcks, ExchangeType::GSA_AUTH, &request, T0);
    let kd = response
        .payloads
        .iter()
        .find_map(|p| match &p.body {
            PayloadBody::Kd(kd) => Some(kd.clone()),
            _ => None,
        })
        .unwrap();
    // Independently: GSK_w = prf+(SK_d, "Key Wrap for G-IKEv2"), then RFC 5649 unwrap.
    let prf = PrfAlg::HmacSha256;
    let material = prf.prf_plus(b"test IKE SA", b"a.gms.example", 48).unwrap();
    let gsk_w = prf
        .prf_plus(&material[16..48], b"Key Wrap for G-IKEv2", 32)
        .unwrap();
    // Data-Security SA keys: SA_KEY(0, 0) under GSK_w. The Rekey SA key comes down the
    // member's LKH path (RFC 9838 A.2): SA_KEY under its top node, and its leaf key as
    // WRAP_KEY(leaf, 0) under GSK_w.
    let mut unwrapped = 0;
    for bag in kd.group_bags() {
        for k in bag.sa_keys() {
            if bag.protocol == wire::ProtocolId::GIKE_UPDATE {
                assert_eq!(k.key_id, 0);
                assert_ne!(k.kwk_id, 0, "KEK under a tree key");
                continue;
            }
            assert_eq!((k.key_id, k.kwk_id), (0, 0));
            let keymat = keywrap::unwrap(Kwa::Kw5649_256, &gsk_w, &k.encrypted).unwrap();
            assert!(keymat.len() >= 36);
            unwrapped += 1;
        }
    }
    let leaf = kd
        .member_bags()
        .flat_map(|m| m.wrap_keys())
        .find(|k| k.kwk_id == 0)
        .expect("leaf key under GSK_w");
    assert_eq!(
        keywrap::unwrap(Kwa::Kw5649_256, &gsk_w, &leaf.encrypted)
            .unwrap()
            .len(),
        32
    );
    unwrapped += 1;
    assert_eq!(unwrapped, 3, "two data SAs and the leaf key");
    // Another member's IKE SA has another GSK_w: its copy of the same key differs.
    let mut b = member("b.gms.example");
    let request = over_the_wire(&b.gm.join_request(&cfg));
    let other = gcks.handle_request(&b.at_gcks, ExchangeType::GSA_AUTH, &request, T0);
    assert_ne!(
        wire::encode_payloads(&response.payloads).unwrap().1,
        wire::encode_payloads(&other.payloads).unwrap().1
    );
    assert!(matches!(
        b.gm.process_response(&cfg.group, &other.payloads, T0),
        Ok(ResponseOutcome::Registered(_))
    ));
}

#[test]
fn unknown_group_is_invalid_group_id() {
    let (mut gcks, _) = setup();
    let mut a = member("a.gms.example");
    let cfg = MembershipConfig::receiver(Identity::key_id("no-such-group"));
    let (resp, r) = exchange(&mut gcks, &mut a, &cfg, ExchangeType::GSA_AUTH, T0);
    assert_eq!(resp.notify(), Some(NotifyType::INVALID_GROUP_ID));
    assert!(matches!(
        r,
        Err(GmError::Rejected(NotifyType::INVALID_GROUP_ID))
    ));
    assert!(a.gm.membership(&cfg.group).is_none());
}

#[test]
fn unauthorised_member_is_authorization_failed() {
    let (mut gcks, cfg) = setup();
    let mut m = member("intruder.example.org");
    let (resp, r) = exchange(&mut gcks, &mut m, &cfg, ExchangeType::GSA_AUTH, T0);
    assert_eq!(resp.notify(), Some(NotifyType::AUTHORIZATION_FAILED));
    assert!(matches!(
        r,
        Err(GmError::Rejected(NotifyType::AUTHORIZATION_FAILED))
    ));
    assert_eq!(gcks.group(&cfg.group).unwrap().member_count(), 0);
}

#[test]
fn full_group_is_registration_failed() {
    let mut gcks = Gcks::new();
    let mut c = group_config("small");
    c.capacity = 2;
    gcks.add_group(c, T0).unwrap();
    let cfg = MembershipConfig::receiver(Identity::key_id("small"));
    for n in ["a", "b"] {
        let mut m = member(&format!("{n}.gms.example"));
        registered(exchange(&mut gcks, &mut m, &cfg, ExchangeType::GSA_AUTH, T0).1);
    }
    let mut c3 = member("c.gms.example");
    let (resp, r) = exchange(&mut gcks, &mut c3, &cfg, ExchangeType::GSA_AUTH, T0);
    assert_eq!(resp.notify(), Some(NotifyType::REGISTRATION_FAILED));
    assert!(matches!(
        r,
        Err(GmError::Rejected(NotifyType::REGISTRATION_FAILED))
    ));
    // A member already in the full group may still re-register.
    let mut a_again = member("a.gms.example");
    registered(exchange(&mut gcks, &mut a_again, &cfg, ExchangeType::GSA_AUTH, T0).1);
    assert_eq!(gcks.group(&cfg.group).unwrap().member_count(), 2);
}

#[test]
fn sag_that_cannot_do_the_policy_is_no_proposal_chosen() {
    let (mut gcks, mut cfg) = setup();
    cfg.accept.encr = vec![EncrSpec::with_bits(EncrId::ENCR_AES_CBC, 128)];
    let mut a = member("a.gms.example");
    let (resp, r) = exchange(&mut gcks, &mut a, &cfg, ExchangeType::GSA_AUTH, T0);
    assert_eq!(resp.notify(), Some(NotifyType::NO_PROPOSAL_CHOSEN));
    assert!(matches!(
        r,
        Err(GmError::Rejected(NotifyType::NO_PROPOSAL_CHOSEN))
    ));
}

#[test]
fn member_rejects_policy_and_leaves() {
    let (mut gcks, cfg) = setup();
    let mut a = member("a.gms.example");
    // The member sends no SAg, so the key server cannot know; the member refuses
    // implicit-free policy it does not accept: here, Ed25519 signatures.
    let mut strict = cfg.clone();
    strict.accept.signature_algs = vec![SignatureAlg::EcdsaP256Sha256];
    let request: Vec<Payload> =
        a.gm.join_request(&strict)
            .into_iter()
            .filter(|p| !matches!(p.body, PayloadBody::Sa(_)))
            .collect();
    let resp = gcks.handle_request(
        &a.at_gcks,
        ExchangeType::GSA_AUTH,
        &over_the_wire(&request),
        T0,
    );
    assert!(matches!(resp.outcome, Outcome::Registered { .. }));
    let err =
        a.gm.process_response(&strict.group, &over_the_wire(&resp.payloads), T0)
            .unwrap_err();
    assert!(matches!(err, GmError::PolicyUnacceptable(_)), "{err}");
    assert_eq!(err.leave_notify(), Some(NotifyType::NO_PROPOSAL_CHOSEN));
    assert!(a.gm.membership(&cfg.group).is_none());

    // GSA_REGISTRATION with IDg + N(NO_PROPOSAL_CHOSEN): empty response, member removed.
    let leave = over_the_wire(
        &a.gm
            .leave_request(&cfg.group, NotifyType::NO_PROPOSAL_CHOSEN),
    );
    let resp = gcks.handle_request(&a.at_gcks, ExchangeType::GSA_REGISTRATION, &leave, T0);
    assert!(resp.payloads.is_empty());
    assert_eq!(
        resp.outcome,
        Outcome::Left {
            group: cfg.group.clone()
        }
    );
    assert!(matches!(&resp.events[..], [GcksEvent::MemberLeft { .. }]));
    assert_eq!(gcks.group(&cfg.group).unwrap().member_count(), 0);
    assert!(matches!(
        a.gm.process_response(&strict.group, &over_the_wire(&resp.payloads), T0),
        Ok(ResponseOutcome::Left(_))
    ));
}

#[test]
fn leaving_after_registration_removes_the_member() {
    let (mut gcks, cfg) = setup();
    let mut a = member("a.gms.example");
    registered(exchange(&mut gcks, &mut a, &cfg, ExchangeType::GSA_AUTH, T0).1);
    let leave = over_the_wire(
        &a.gm
            .leave_request(&cfg.group, NotifyType::REGISTRATION_FAILED),
    );
    // Leaving is only defined in GSA_REGISTRATION.
    let bad = gcks.handle_request(&a.at_gcks, ExchangeType::GSA_AUTH, &leave, T0);
    assert_eq!(bad.notify(), Some(NotifyType::INVALID_SYNTAX));
    assert_eq!(gcks.group(&cfg.group).unwrap().member_count(), 1);
    let resp = gcks.handle_request(&a.at_gcks, ExchangeType::GSA_REGISTRATION, &leave, T0);
    assert_eq!(
        resp.outcome,
        Outcome::Left {
            group: cfg.group.clone()
        }
    );
    assert_eq!(gcks.group(&cfg.group).unwrap().member_count(), 0);
    assert!(matches!(
        a.gm.process_response(&cfg.group, &[], T0),
        Ok(ResponseOutcome::Left(_))
    ));
    assert!(a.gm.membership(&cfg.group).is_none());
}

#[test]
fn two_groups_over_one_ike_sa() {
    let (mut gcks, cfg1) = setup();
    let mut c2 = group_config("group-2");
    c2.transport_mode = true;
    gcks.add_group(c2, T0).unwrap();
    let cfg2 = MembershipConfig::sender(Identity::key_id("group-2"), 1);
    let mut a = member("a.gms.example");
    let reg1 = registered(exchange(&mut gcks, &mut a, &cfg1, ExchangeType::GSA_AUTH, T0).1);
    let reg2 = registered(exchange(&mut gcks, &mut a, &cfg2, ExchangeType::GSA_REGISTRATION, T0).1);
    assert_eq!(a.gm.groups().count(), 2);
    assert!(reg1.data_sas.iter().all(|s| !s.transport_mode));
    assert!(reg2.data_sas.iter().all(|s| s.transport_mode));
    let spis1: Vec<_> = reg1.data_sas.iter().map(|s| s.spi).collect();
    assert!(
        reg2.data_sas.iter().all(|s| !spis1.contains(&s.spi)),
        "SPIs unique across groups"
    );
    assert_ne!(reg1.rekey_sa.unwrap().spi, reg2.rekey_sa.unwrap().spi);
    assert_eq!(reg2.sender_ids, vec![0]);
}

#[test]
fn re_registration_gets_fresh_sender_ids_and_replaces_state() {
    let (mut gcks, _) = setup();
    let cfg = MembershipConfig::sender(Identity::key_id("group-1"), 3);
    let mut a = member("a.gms.example");
    let first = registered(exchange(&mut gcks, &mut a, &cfg, ExchangeType::GSA_AUTH, T0).1);
    assert_eq!(first.sender_ids, vec![0, 1, 2]);
    let (resp, r) = exchange(
        &mut gcks,
        &mut a,
        &cfg,
        ExchangeType::GSA_REGISTRATION,
        T0.plus_secs(60),
    );
    assert!(matches!(
        &resp.events[..],
        [GcksEvent::MemberReregistered { .. }]
    ));
    let second = registered(r);
    assert_eq!(second.sender_ids, vec![3, 4, 5]);
    let m = a.gm.membership(&cfg.group).unwrap();
    assert_eq!(m.sender_ids, vec![3, 4, 5]);
    assert_eq!(m.registered_at, T0.plus_secs(60));
    let group = gcks.group(&cfg.group).unwrap();
    assert_eq!(group.member_count(), 1);
    assert_eq!(group.members().next().unwrap().1.sender_ids, Some((3, 3)));
}

#[test]
fn per_request_cap_limits_sender_ids() {
    let mut gcks = Gcks::new();
    let mut c = group_config("capped");
    c.max_sender_ids_per_request = 2;
    gcks.add_group(c, T0).unwrap();
    let cfg = MembershipConfig::sender(Identity::key_id("capped"), 10);
    let mut a = member("a.gms.example");
    assert_eq!(
        registered(exchange(&mut gcks, &mut a, &cfg, ExchangeType::GSA_AUTH, T0).1).sender_ids,
        vec![0, 1]
    );
}

#[test]
fn sender_id_exhaustion_excludes_every_member() {
    let mut gcks = Gcks::new();
    let mut c = group_config("tiny");
    c.sender_id_bits = 2; // four Sender-IDs
    gcks.add_group(c, T0).unwrap();
    let group = Identity::key_id("tiny");
    let cfg = MembershipConfig::sender(group.clone(), 1);
    let receiver = MembershipConfig::receiver(group.clone());
    let mut r = member("r.gms.example");
    registered(exchange(&mut gcks, &mut r, &receiver, ExchangeType::GSA_AUTH, T0).1);
    for i in 0..4 {
        let mut m = member(&format!("s{i}.gms.example"));
        let reg = registered(exchange(&mut gcks, &mut m, &cfg, ExchangeType::GSA_AUTH, T0).1);
        assert_eq!(reg.sender_ids, vec![i]);
    }
    let old_spis = gcks.group(&group).unwrap().data_sa_spis();
    let old_kek = gcks.group(&group).unwrap().rekey_sa_spi();
    assert_eq!(gcks.group(&group).unwrap().member_count(), 5);

    let mut late = member("late.gms.example");
    let (resp, res) = exchange(&mut gcks, &mut late, &cfg, ExchangeType::GSA_AUTH, T0);
    match &resp.events[..] {
        [GcksEvent::AllMembersExcluded {
            excluded,
            previous_rekey_spi,
            ..
        }, GcksEvent::MemberJoined { .. }] => {
            assert_eq!(excluded.len(), 5);
            assert!(excluded.iter().any(|(id, _)| *id == r.name));
            assert_eq!(*previous_rekey_spi, old_kek);
        }
        other => panic!("events {other:?}"),
    }
    let reg = registered(res);
    assert_eq!(reg.sender_ids, vec![0], "the counter starts again");
    let g = gcks.group(&group).unwrap();
    assert_eq!(g.member_count(), 1);
    assert!(
        g.data_sa_spis().iter().all(|s| !old_spis.contains(s)),
        "new keys for reused IDs"
    );
    assert_ne!(g.rekey_sa_spi(), old_kek);
    assert_eq!(
        g.previous_rekey_sa_spi(),
        old_kek,
        "kept to tell the excluded members"
    );
    // The key server told the excluded members on the Rekey SA they hold: a Delete of
    // GIKE_UPDATE SPI 0 (RFC 9838 §2.4.3); an earlier member learns it is excluded.
    let [announce] = resp.rekeys.as_slice() else {
        panic!("one announcement, got {:?}", resp.rekeys.len())
    };
    assert_eq!(Some(announce.spi), old_kek);
    let res =
        r.gm.process_gsa_rekey(&announce.datagrams[0], T0)
            .unwrap()
            .unwrap();
    assert!(res.excluded.is_some());
}

#[test]
fn receivers_get_no_sender_ids_and_non_counter_groups_need_none() {
    let mut gcks = Gcks::new();
    let mut c = group_config("cbc-only");
    c.data_policies.retain(|p| p.name == "telemetry");
    gcks.add_group(c, T0).unwrap();
    let cfg = MembershipConfig::sender(Identity::key_id("cbc-only"), 2);
    let mut a = member("a.gms.example");
    let reg = registered(exchange(&mut gcks, &mut a, &cfg, ExchangeType::GSA_AUTH, T0).1);
    assert!(reg.sender_ids.is_empty());
    assert_eq!(reg.sender_id_bits, None);
}

#[test]
fn registration_never_replaces_keys() {
    let (mut gcks, cfg) = setup();
    let mut a = member("a.gms.example");
    let first = registered(exchange(&mut gcks, &mut a, &cfg, ExchangeType::GSA_AUTH, T0).1);
    // Even past every lifetime, a registration hands out the group's current SAs (a
    // lifetime of 1 s): only a group rekey may change keys, or members would diverge.
    let later = T0.plus_secs(10_000);
    let mut b = member("b.gms.example");
    let (resp, r) = exchange(&mut gcks, &mut b, &cfg, ExchangeType::GSA_AUTH, later);
    assert!(matches!(&resp.events[..], [GcksEvent::MemberJoined { .. }]));
    let second = registered(r);
    assert_eq!(first.data_sas[0].spi, second.data_sas[0].spi);
    assert!(first.data_sas[0]
        .encr_key
        .ct_eq(&second.data_sas[0].encr_key));
    assert_eq!(second.data_sas[0].lifetime_secs, Some(1));
    assert_eq!(first.rekey_sa.unwrap().spi, second.rekey_sa.unwrap().spi);
    // Halfway through, the remaining lifetime is what is sent.
    let mut c = member("c.gms.example");
    let third = registered(
        exchange(
            &mut gcks,
            &mut c,
            &cfg,
            ExchangeType::GSA_AUTH,
            T0.plus_secs(600),
        )
        .1,
    );
    assert_eq!(third.data_sas[0].lifetime_secs, Some(3000));
}

#[test]
fn outbound_only_senders_and_rekey_keys_match_the_key_server() {
    let (mut gcks, _) = setup();
    let mut cfg = MembershipConfig::sender(Identity::key_id("group-1"), 1);
    cfg.role = SenderRole::Sender {
        sender_ids: 1,
        receives: false,
    };
    let mut a = member("a.gms.example");
    let reg = registered(exchange(&mut gcks, &mut a, &cfg, ExchangeType::GSA_AUTH, T0).1);
    assert!(reg
        .data_sas
        .iter()
        .all(|s| s.direction == Direction::Outbound));
    let group = gcks.group(&cfg.group).unwrap();
    let keymat = group.rekey_sa_keymat().unwrap().as_bytes().to_vec();
    let k = a.gm.membership(&cfg.group).unwrap().rekey.as_ref().unwrap();
    let joined = [k.gsk_e.as_bytes(), k.gsk_a.as_bytes(), k.gsk_w.as_bytes()].concat();
    assert_eq!(joined, keymat, "KEYMAT = GSK_e | GSK_a | GSK_w");
}

#[test]
fn leave_answers_other_than_empty_are_not_taken_as_leaving() {
    let (mut gcks, cfg) = setup();
    let mut a = member("a.gms.example");
    registered(exchange(&mut gcks, &mut a, &cfg, ExchangeType::GSA_AUTH, T0).1);
    a.gm.leave_request(&cfg.group, NotifyType::REGISTRATION_FAILED);
    let gsa_kd = response_for(&mut gcks, &mut member("b.gms.example"), &cfg);
    assert!(matches!(
        a.gm.process_response(&cfg.group, &gsa_kd, T0),
        Err(GmError::Malformed(_))
    ));
    assert!(a.gm.membership(&cfg.group).is_some(), "still a member");
    let refusal = vec![Payload::new(PayloadBody::Notify(NotifyPayload::new(
        NotifyType::INVALID_GROUP_ID,
        vec![],
    )))];
    assert!(matches!(
        a.gm.process_response(&cfg.group, &refusal, T0),
        Err(GmError::Rejected(NotifyType::INVALID_GROUP_ID))
    ));
}

#[test]
fn configurations_the_rfc_forbids_are_refused() {
    let mut gcks = Gcks::new();
    let mut c = group_config("iiv");
    c.data_policies[0].encr = Some(EncrSpec::with_bits(EncrId::ENCR_AES_GCM_16_IIV, 256));
    c.data_policies[0].sn = SnId::SEQ32;
    assert!(gcks
        .add_group(c, T0)
        .unwrap_err()
        .to_string()
        .contains("implicit-IV"));
    let mut c = group_config("esp-and-ah");
    let mut ah = c.data_policies[1].clone();
    ah.name = "ah".into();
    ah.protocol = DataProtocol::Ah;
    ah.encr = None;
    c.data_policies.push(ah);
    assert!(gcks
        .add_group(c, T0)
        .unwrap_err()
        .to_string()
        .contains("same traffic selectors"));
}

// ---- hostile and malformed input: the right error, and nothing changes ----

fn response_for(gcks: &mut Gcks, m: &mut Member, cfg: &MembershipConfig) -> Vec<Payload> {
    let request = over_the_wire(&m.gm.join_request(cfg));
    over_the_wire(
        &gcks
            .handle_request(&m.at_gcks, ExchangeType::GSA_REGISTRATION, &request, T0)
            .payloads,
    )
}

fn gsa_policies(payloads: &mut [Payload]) -> &mut Vec<GroupPolicy> {
    payloads
        .iter_mut()
        .find_map(|p| match &mut p.body {
            PayloadBody::Gsa(g) => Some(&mut g.policies),
            _ => None,
        })
        .unwrap()
}

fn kd_bags(payloads: &mut [Payload]) -> &mut Vec<KeyBag> {
    payloads
        .iter_mut()
        .find_map(|p| match &mut p.body {
            PayloadBody::Kd(k) => Some(&mut k.bags),
            _ => None,
        })
        .unwrap()
}

#[test]
fn hostile_responses_are_rejected_and_change_nothing() {
    let (mut gcks, cfg) = setup();
    let mut a = member("a.gms.example");
    let reg = registered(exchange(&mut gcks, &mut a, &cfg, ExchangeType::GSA_AUTH, T0).1);
    let spis: Vec<_> = reg.data_sas.iter().map(|s| s.spi).collect();
    let gsk_w = a.gm.ike_sa().gsk_w().as_bytes().to_vec();

    type Tamper = Box<dyn Fn(&mut Vec<Payload>)>;
    type Expect = fn(&GmError) -> bool;
    let cases: Vec<(&str, Tamper, Expect)> = vec![
        (
            "wrong SPI size",
            Box::new(|p| {
                if let GroupPolicy::Sa(s) = &mut gsa_policies(p)[1] {
                    s.spi.push(0);
                }
            }),
            |e| matches!(e, GmError::Malformed(m) if m.contains("SPI of 5 octets")),
        ),
        (
            "KD for an unknown SPI",
            Box::new(|p| {
                kd_bags(p).push(KeyBag::Group(GroupKeyBag {
                    protocol: wire::ProtocolId::ESP,
                    spi: vec![9, 9, 9, 9],
                    attributes: vec![],
                }))
            }),
            |e| matches!(e, GmError::UnknownSpi { spi, .. } if spi == &vec![9, 9, 9, 9]),
        ),
        (
            "wrapped key of the wrong length",
            Box::new(move |p| {
                if let KeyBag::Group(g) = &mut kd_bags(p)[1] {
                    g.attributes = vec![GroupKeyBagAttr::SaKey(WrappedKey {
                        key_id: 0,
                        kwk_id: 0,
                        encrypted: keywrap::wrap(Kwa::Kw5649_256, &gsk_w, &[7u8; 20]).unwrap(),
                    })];
                }
            }),
            |e| matches!(e, GmError::Malformed(m) if m.contains("keying material of 20 octets")),
        ),
        (
            "wrapped key that does not unwrap",
            Box::new(|p| {
                if let KeyBag::Group(g) = &mut kd_bags(p)[1] {
                    if let GroupKeyBagAttr::SaKey(k) = &mut g.attributes[0] {
                        k.encrypted[3] ^= 1;
                    }
                }
            }),
            |e| matches!(e, GmError::Unwrap(_)),
        ),
        (
            "duplicate GSA_KEY_LIFETIME",
            Box::new(|p| {
                if let GroupPolicy::Sa(s) = &mut gsa_policies(p)[1] {
                    s.attributes.push(Attribute::tlv(
                        GsaAttrType::GSA_KEY_LIFETIME,
                        vec![0, 0, 0, 9],
                    ));
                }
            }),
            |e| matches!(e, GmError::Malformed(m) if m.contains("GSA_KEY_LIFETIME")),
        ),
        (
            "duplicate SA_KEY",
            Box::new(|p| {
                if let KeyBag::Group(g) = &mut kd_bags(p)[1] {
                    let dup = g.attributes[0].clone();
                    g.attributes.push(dup);
                }
            }),
            |e| matches!(e, GmError::Malformed(m) if m.contains("2 SA_KEY")),
        ),
        (
            "missing key bag",
            Box::new(|p| {
                kd_bags(p).remove(1);
            }),
            |e| matches!(e, GmError::Malformed(m) if m.contains("no key bag")),
        ),
        (
            "key wrapped under an unknown KWK",
            Box::new(|p| {
                if let KeyBag::Group(g) = &mut kd_bags(p)[1] {
                    if let GroupKeyBagAttr::SaKey(k) = &mut g.attributes[0] {
                        k.kwk_id = 77;
                    }
                }
            }),
            |e| matches!(e, GmError::UnknownKwk(77)),
        ),
        (
            "64-bit sequence numbers",
            Box::new(|p| {
                if let GroupPolicy::Sa(s) = &mut gsa_policies(p)[1] {
                    for t in &mut s.transforms {
                        if t.transform_type == wire::TransformType::SN {
                            t.id = 1;
                        }
                    }
                }
            }),
            |e| matches!(e, GmError::Malformed(m) if m.contains("64-bit")),
        ),
        (
            "two GSA payloads",
            Box::new(|p| {
                let dup = p[0].clone();
                p.push(dup);
            }),
            |e| matches!(e, GmError::Malformed(m) if m.contains("more than one GSA")),
        ),
        (
            "duplicate GWP_ATD",
            Box::new(|p| {
                for g in gsa_policies(p).iter_mut() {
                    if let GroupPolicy::Gw(gw) = g {
                        gw.attributes
                            .push(Attribute::tv(wire::GwpAttrType::GWP_ATD, 1));
                    }
                }
            }),
            |e| matches!(e, GmError::Malformed(m) if m.contains("GWP_ATD")),
        ),
        (
            "duplicate AUTH_KEY",
            Box::new(|p| {
                for b in kd_bags(p).iter_mut() {
                    if let KeyBag::Member(m) = b {
                        let dup = m
                            .attributes
                            .iter()
                            .find(|a| matches!(a, wire::MemberKeyBagAttr::AuthKey(_)))
                            .cloned()
                            .unwrap();
                        m.attributes.push(dup);
                    }
                }
            }),
            |e| matches!(e, GmError::Malformed(m) if m.contains("2 AUTH_KEY")),
        ),
        (
            "data SA without a lifetime under multicast rekey",
            Box::new(|p| {
                if let GroupPolicy::Sa(s) = &mut gsa_policies(p)[1] {
                    s.attributes.clear();
                }
            }),
            |e| matches!(e, GmError::Malformed(m) if m.contains("without GSA_KEY_LIFETIME")),
        ),
        (
            "unrequested Sender-ID",
            Box::new(|p| {
                for b in kd_bags(p).iter_mut() {
                    if let KeyBag::Member(m) = b {
                        m.attributes
                            .push(wire::MemberKeyBagAttr::GmSenderId(vec![0, 0, 0, 1]));
                    }
                }
            }),
            |e| matches!(e, GmError::Malformed(m) if m.contains("without GROUP_SENDER")),
        ),
    ];
    for (name, tamper, expected) in cases {
        let mut resp = response_for(&mut gcks, &mut a, &cfg);
        tamper(&mut resp);
        let err = match a.gm.process_response(&cfg.group, &over_the_wire(&resp), T0) {
            Err(e) => e,
            Ok(_) => panic!("{name}: accepted"),
        };
        assert!(expected(&err), "{name}: got {err}");
        let m = a.gm.membership(&cfg.group).unwrap();
        assert_eq!(m.data_sa_spis, spis, "{name}: state changed");
        assert_eq!(m.registered_at, T0);
    }
}

#[test]
fn hostile_requests_get_the_right_notify_and_change_nothing() {
    let (mut gcks, cfg) = setup();
    let mut a = member("a.gms.example");
    let sender = MembershipConfig::sender(cfg.group.clone(), 1);
    registered(exchange(&mut gcks, &mut a, &sender, ExchangeType::GSA_AUTH, T0).1);
    let used = gcks.group(&cfg.group).unwrap().sender_ids_used();
    let good = a.gm.join_request(&sender);
    let idg = good[0].clone();
    let cases: Vec<(&str, Vec<Payload>, NotifyType)> = vec![
        ("no IDg", good[1..].to_vec(), NotifyType::INVALID_SYNTAX),
        (
            "two IDg",
            [vec![idg.clone()], good.clone()].concat(),
            NotifyType::INVALID_SYNTAX,
        ),
        (
            "two SAg",
            [good.clone(), vec![good[1].clone()]].concat(),
            NotifyType::INVALID_SYNTAX,
        ),
        (
            "GROUP_SENDER of 3 octets",
            vec![
                idg.clone(),
                Payload::new(PayloadBody::Notify(NotifyPayload::new(
                    NotifyType::GROUP_SENDER,
                    vec![0, 0, 1],
                ))),
            ],
            NotifyType::INVALID_SYNTAX,
        ),
        (
            "two GROUP_SENDER",
            [good.clone(), vec![good[2].clone()]].concat(),
            NotifyType::INVALID_SYNTAX,
        ),
        (
            "unknown critical payload",
            vec![
                idg.clone(),
                Payload {
                    critical: true,
                    reserved: 0,
                    body: PayloadBody::Raw {
                        payload_type: PayloadType(200),
                        data: vec![1, 2, 3],
                    },
                },
            ],
            NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD,
        ),
    ];
    for (name, request, notify) in cases {
        let before = gcks
            .group(&cfg.group)
            .unwrap()
            .members()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>();
        let resp = gcks.handle_request(
            &a.at_gcks,
            ExchangeType::GSA_REGISTRATION,
            &over_the_wire(&request),
            T0,
        );
        assert_eq!(resp.notify(), Some(notify), "{name}");
        assert!(resp.events.is_empty(), "{name}");
        let g = gcks.group(&cfg.group).unwrap();
        assert_eq!(g.sender_ids_used(), used, "{name}");
        let after = g
            .members()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>();
        assert_eq!(before, after, "{name}");
    }
    // A non-registration exchange is refused.
    let resp = gcks.handle_request(&a.at_gcks, ExchangeType::INFORMATIONAL, &good, T0);
    assert_eq!(resp.notify(), Some(NotifyType::INVALID_SYNTAX));
    // A response with no pending request.
    let mut b = member("b.gms.example");
    assert!(matches!(
        b.gm.process_response(&cfg.group, &[], T0),
        Err(GmError::NoPendingRequest(_))
    ));
}

#[test]
fn ten_thousand_members_join_one_group() {
    let mut gcks = Gcks::new();
    let mut c = group_config("big");
    c.authorized = vec![IdentityPattern::Any];
    c.rekey.as_mut().unwrap().auth = GcAuth::Implicit;
    gcks.add_group(c, T0).unwrap();
    let group = Identity::key_id("big");
    let mut cfg = MembershipConfig::sender(group.clone(), 1);
    cfg.accept.implicit_auth = true;
    let (at_gcks, _) = ike_sa_pair("shared", &Identity::key_id("x"));
    let request = over_the_wire(&join_request_for(&cfg));
    let mut spis = None;
    for i in 0..10_000u32 {
        let ctx = IkeSaContext::new(
            i.to_be_bytes().repeat(2).try_into().unwrap(),
            at_gcks.spi_r,
            PrfAlg::HmacSha256,
            &[i as u8; 32],
            Kwa::Kw5649_256,
            Identity::key_id(format!("member-{i}")),
        )
        .unwrap();
        let resp = gcks.handle_request(&ctx, ExchangeType::GSA_AUTH, &request, T0);
        assert_eq!(
            resp.outcome,
            Outcome::Registered {
                group: group.clone(),
                sender_ids: Some((i, 1))
            }
        );
        let now_spis = gcks.group(&group).unwrap().data_sa_spis();
        assert_eq!(
            spis.get_or_insert(now_spis.clone()),
            &now_spis,
            "SAs stable while members join"
        );
    }
    let g = gcks.group(&group).unwrap();
    assert_eq!(g.member_count(), 10_000);
    assert_eq!(g.sender_ids_used(), 10_000);
}

fn join_request_for(cfg: &MembershipConfig) -> Vec<Payload> {
    let (_, at_gm) = ike_sa_pair("request", &gcks_id());
    GroupMember::new(at_gm).join_request(cfg)
}

#[test]
fn invalid_configurations_name_the_option() {
    let mut gcks = Gcks::new();
    let mut c = group_config("bad");
    c.data_policies[0].integ = Some(IntegId::AUTH_HMAC_SHA2_256_128);
    let err = gcks.add_group(c, T0).unwrap_err().to_string();
    assert!(err.contains("policies.video.integ"), "{err}");
    let mut c = group_config("bad");
    c.authorized.clear();
    assert!(gcks
        .add_group(c, T0)
        .unwrap_err()
        .to_string()
        .contains(".members"));
    let mut c = group_config("bad");
    c.rekey.as_mut().unwrap().dst =
        TrafficSelector::ipv4_host(Ipv4Addr::new(10, 0, 0, 9), 17, Some(848));
    assert!(gcks
        .add_group(c, T0)
        .unwrap_err()
        .to_string()
        .contains("rekey.destination"));
    let mut c = group_config("bad");
    c.data_policies[1].sn = SnId::PARTIAL_SEQ64;
    assert!(gcks
        .add_group(c, T0)
        .unwrap_err()
        .to_string()
        .contains("telemetry.sn"));
    gcks.add_group(group_config("ok"), T0).unwrap();
    assert!(
        gcks.add_group(group_config("ok"), T0).is_err(),
        "duplicate group"
    );
    let _ = SenderRole::Receiver;
}
