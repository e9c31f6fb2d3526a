//! Attacks found by a review of the rekey work, kept as regression tests: each builds the
//! attack and asserts it fails.
use gikev2::crypto::keywrap::{unwrap, wrap, Kwa};
use gikev2::crypto::sign::{SignatureAlg, SigningKey};
use gikev2::crypto::sk::{EncrAlg, SkProtector};
use gikev2::gcks::{Gcks, GcksOutput, GroupConfig, RekeyMessage};
use gikev2::gm::{GroupMember, MembershipConfig, RekeySaState, ResponseOutcome};
use gikev2::gsa_rekey::{self, Authenticator};
use gikev2::identity::Identity;
use gikev2::lkh::WrappedKeyIn;
use gikev2::wire::{
    self, EncrId, ExchangeType, GroupKeyBag, GroupKeyBagAttr, GroupPolicy, KdPayload, KeyBag,
    NotifyType, Payload, PayloadBody, ProtocolId, WrappedKey,
};

mod common;

use common::group::{deliver, ike_pair, join, join_cfg, join_fragmenting, messages, T0};

/// The common group, sending each GSA_REKEY once.
fn group_config(name: &str, signing: Option<SigningKey>) -> GroupConfig {
    let mut c = common::group::group_config(name, signing);
    c.rekey_behaviour.retransmissions = 0;
    c
}

/// The multicast messages among the outputs, owned.
fn msgs(out: &[GcksOutput]) -> Vec<RekeyMessage> {
    messages(out).into_iter().cloned().collect()
}

/// Copy of a Rekey SA's secrets as an adversary would keep them.
struct Kek {
    spi: [u8; 16],
    e: Vec<u8>,
    a: Vec<u8>,
    w: Vec<u8>,
}
fn snapshot(r: &RekeySaState) -> Kek {
    Kek {
        spi: r.spi,
        e: r.gsk_e.as_bytes().to_vec(),
        a: r.gsk_a.as_bytes().to_vec(),
        w: r.gsk_w.as_bytes().to_vec(),
    }
}
fn protector(k: &Kek) -> SkProtector {
    SkProtector::new(
        EncrAlg::from_transform(EncrId::ENCR_AES_GCM_16.0, Some(256)).unwrap(),
        None,
        &k.e,
        &k.a,
    )
    .unwrap()
}

/// A1: implicit auth. The excluded member F keeps KEK1. Within DTD, members still accept
/// GSA_REKEY on the retired KEK1 *with new keys*; F forges one that installs a Rekey SA F
/// chose (SA_KEY(0,0) under KEK1's GSK_w) and takes the group back.
#[test]
fn a1_retired_rekey_sa_cannot_carry_new_keys() {
    let mut gcks = Gcks::new();
    gcks.add_group(group_config("g", None), T0).unwrap();
    let group = Identity::key_id("g");
    let mut a = join(&mut gcks, "g", "a", true, T0);
    let _b = join(&mut gcks, "g", "b", true, T0);
    let f = join(&mut gcks, "g", "f", true, T0);
    let kek1 = snapshot(f.gm.membership(&group).unwrap().rekey.as_ref().unwrap());
    let t1 = T0.plus_secs(60);
    let out = msgs(
        &gcks
            .exclude(&group, std::slice::from_ref(&f.id), t1)
            .unwrap()
            .outputs,
    );
    deliver(&mut a, &out, t1);
    let kek2_spi = gcks.group(&group).unwrap().rekey_sa_spi().unwrap();
    assert_eq!(
        a.gm.membership(&group).unwrap().rekey.as_ref().unwrap().spi,
        kek2_spi
    );
    // F decrypts the first (KEK-change) message with KEK1, reuses its GSA policy shape.
    let opened = gikev2::protect::open(&out[0].datagrams[0], &protector(&kek1)).unwrap();
    let mut inner = opened.inner.clone();
    let evil_spi = [0xEE; 16];
    let keymat_len = gcks.group(&group).unwrap().rekey_sa_keymat().unwrap().len();
    let evil_keymat = vec![0x42u8; keymat_len];
    for p in inner.iter_mut() {
        match &mut p.body {
            PayloadBody::Gsa(g) => {
                for pol in g.policies.iter_mut() {
                    if let GroupPolicy::Sa(s) = pol {
                        s.spi = evil_spi.to_vec();
                    }
                }
            }
            PayloadBody::Kd(kd) => {
                *kd = KdPayload {
                    bags: vec![KeyBag::Group(GroupKeyBag {
                        protocol: ProtocolId::GIKE_UPDATE,
                        spi: evil_spi.to_vec(),
                        attributes: vec![GroupKeyBagAttr::SaKey(WrappedKey {
                            key_id: 0,
                            kwk_id: 0,
                            encrypted: wrap(Kwa::Kw5649_256, &kek1.w, &evil_keymat).unwrap(),
                        })],
                    })],
                };
            }
            _ => {}
        }
    }
    let forged = gsa_rekey::build(
        &kek1.spi,
        out[0].message_id + 1,
        &inner,
        &protector(&kek1),
        Authenticator::Implicit,
        None,
    )
    .unwrap();
    assert!(
        a.gm.process_gsa_rekey(&forged[0], t1.plus_secs(5)).is_err(),
        "new keys on a retired Rekey SA are refused"
    );
    let now_spi = a.gm.membership(&group).unwrap().rekey.as_ref().unwrap().spi;
    assert_eq!(now_spi, kek2_spi, "A stays on the key server's Rekey SA");
    assert_ne!(
        a.gm.membership(&group)
            .unwrap()
            .rekey
            .as_ref()
            .unwrap()
            .gsk_w
            .as_bytes(),
        &evil_keymat[keymat_len - 32..]
    );
}

/// A2: signature auth. Any member (here F, about to be excluded) multicasts one SKF fragment
/// sealed under the current KEK with Message ID 0xFFFFFFFF. Members then refuse every
/// fragment of every later legitimately signed message ("older message").
#[test]
fn a2_one_forged_fragment_does_not_block_fragmented_rekeys() {
    let key = SigningKey::generate(SignatureAlg::Ed25519).unwrap();
    let mut c = group_config("g", Some(key));
    c.rekey_behaviour.fragment_size = Some(300);
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let group = Identity::key_id("g");
    let mut a = join_fragmenting(&mut gcks, "g", "a", false, T0);
    let _b = join_fragmenting(&mut gcks, "g", "b", false, T0);
    let f = join_fragmenting(&mut gcks, "g", "f", false, T0);
    let kek1 = snapshot(f.gm.membership(&group).unwrap().rekey.as_ref().unwrap());
    // Forged fragment: any payload big enough to fragment.
    let junk = vec![Payload::new(PayloadBody::Notify(
        gikev2::wire::NotifyPayload::new(NotifyType(40000), vec![0; 600]),
    ))];
    let frags = gsa_rekey::build(
        &kek1.spi,
        u32::MAX,
        &junk,
        &protector(&kek1),
        Authenticator::Implicit,
        Some(300),
    )
    .unwrap();
    assert!(frags.len() > 1);
    assert!(a
        .gm
        .process_gsa_rekey(&frags[0], T0.plus_secs(1))
        .unwrap()
        .is_none());
    let t1 = T0.plus_secs(60);
    let out = msgs(
        &gcks
            .exclude(&group, std::slice::from_ref(&f.id), t1)
            .unwrap()
            .outputs,
    );
    assert!(
        out[0].datagrams.len() > 1,
        "exclusion message is fragmented"
    );
    deliver(&mut a, &out, t1);
    assert_eq!(
        a.gm.membership(&group).unwrap().rekey.as_ref().unwrap().spi,
        gcks.group(&group).unwrap().rekey_sa_spi().unwrap(),
        "A follows despite the forged fragment"
    );
}

/// A3: Sender-ID exhaustion drains the member list but leaves every old leaf occupied
/// in the LKH tree. A member that re-registered and is then excluded still derives
/// the new KEK from the path it held before the exhaustion.
#[test]
fn a3_sender_id_exhaustion_leaves_no_ghost_leaves() {
    let key = SigningKey::generate(SignatureAlg::Ed25519).unwrap();
    let mut c = group_config("g", Some(key));
    c.sender_id_bits = 1; // two Sender-IDs
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let group = Identity::key_id("g");
    let scfg = || MembershipConfig::sender(Identity::key_id("g"), 1);
    let (m1, _) = join_cfg(&mut gcks, "m1", scfg(), false, T0);
    let old_path = m1.gm.membership(&group).unwrap().working_path.duplicate();
    let (_m2, _) = join_cfg(&mut gcks, "m2", scfg(), false, T0);
    let (_m3, r3) = join_cfg(&mut gcks, "m3", scfg(), false, T0); // exhausts: all excluded
    assert!(!r3.events.is_empty());
    // m1 re-registers (new IKE SA) on the group's fresh SAs.
    let (at_gcks, at_gm) = ike_pair("m1", "second");
    let mut gm = GroupMember::new(at_gm);
    let cfg = scfg();
    let req = gm.join_request(&cfg);
    let resp = gcks.handle_request(&at_gcks, ExchangeType::GSA_AUTH, &req, T0);
    let (first, bytes) = wire::encode_payloads(&resp.payloads).unwrap();
    assert!(matches!(
        gm.process_response(
            &cfg.group,
            &wire::decode_payloads(first, &bytes).unwrap(),
            T0
        ),
        Ok(ResponseOutcome::Registered(_))
    ));
    let kek_now = snapshot(gm.membership(&group).unwrap().rekey.as_ref().unwrap());
    // Operator excludes m1.
    let t1 = T0.plus_secs(60);
    let out = msgs(
        &gcks
            .exclude(&group, std::slice::from_ref(&m1.id), t1)
            .unwrap()
            .outputs,
    );
    let opened = gikev2::protect::open(&out[0].datagrams[0], &protector(&kek_now)).unwrap();
    let mut sa_keys = Vec::new();
    let mut wraps = Vec::new();
    for p in &opened.inner {
        if let PayloadBody::Kd(kd) = &p.body {
            for b in &kd.bags {
                match b {
                    KeyBag::Group(g) if g.protocol == ProtocolId::GIKE_UPDATE => {
                        sa_keys.extend(g.sa_keys().cloned())
                    }
                    KeyBag::Member(m) => wraps.extend(m.wrap_keys().cloned()),
                    _ => {}
                }
            }
        }
    }
    let sk: Vec<WrappedKeyIn> = sa_keys
        .iter()
        .map(|k| WrappedKeyIn {
            key_id: k.key_id,
            kwk_id: k.kwk_id,
            encrypted: &k.encrypted,
        })
        .collect();
    let wk: Vec<WrappedKeyIn> = wraps
        .iter()
        .map(|k| WrappedKeyIn {
            key_id: k.key_id,
            kwk_id: k.kwk_id,
            encrypted: &k.encrypted,
        })
        .collect();
    let mut p = old_path.duplicate();
    let got = p.apply_rekey(&sk, &wk, Kwa::Kw5649_256, None);
    let newkek = gcks
        .group(&group)
        .unwrap()
        .rekey_sa_keymat()
        .unwrap()
        .as_bytes()
        .to_vec();
    if let Ok(k) = got {
        assert_ne!(
            k.as_bytes(),
            &newkek[..],
            "the pre-exhaustion path must not reach the new KEK"
        );
    }
}

/// A4: a member that LEAVES (GSA_REGISTRATION leave) is freed from the tree without a rekey;
/// the next periodic rekey "refreshes departed paths" (a membership change) yet carries the
/// new TEKs in the same message under the old KEK's GSK_w, so the leaver reads them.
#[test]
fn a4_leaver_cannot_read_the_teks_of_the_next_rekey() {
    let mut gcks = Gcks::new();
    gcks.add_group(group_config("g", None), T0).unwrap();
    let group = Identity::key_id("g");
    let _a = join(&mut gcks, "g", "a", true, T0);
    let mut l = join(&mut gcks, "g", "l", true, T0);
    let kek1 = snapshot(l.gm.membership(&group).unwrap().rekey.as_ref().unwrap());
    let req = l.gm.leave_request(&group, NotifyType::REGISTRATION_FAILED);
    let resp = gcks.handle_request(
        &l.at_gcks,
        ExchangeType::GSA_REGISTRATION,
        &req,
        T0.plus_secs(1),
    );
    assert!(resp.payloads.is_empty());
    let out = msgs(&gcks.force_rekey(&group, T0.plus_secs(100)).unwrap());
    assert_eq!(out.len(), 2, "KEK first, TEKs under the new KEK");
    // The leaver can open only the first message (its old KEK): no TEK in it.
    assert!(gikev2::protect::open(&out[1].datagrams[0], &protector(&kek1)).is_err());
    let opened = gikev2::protect::open(&out[0].datagrams[0], &protector(&kek1)).unwrap();
    let g = gcks.group(&group).unwrap();
    let spi = g.data_sa_spis()[0];
    let mut read = false;
    for p in &opened.inner {
        if let PayloadBody::Kd(kd) = &p.body {
            for b in &kd.bags {
                if let KeyBag::Group(gb) = b {
                    if gb.protocol == ProtocolId::ESP && gb.spi == spi {
                        let k = unwrap(
                            Kwa::Kw5649_256,
                            &kek1.w,
                            &gb.sa_keys().next().unwrap().encrypted,
                        )
                        .unwrap();
                        read = k.as_bytes() == g.data_sa_keymat(&spi).unwrap().as_bytes();
                    }
                }
            }
        }
    }
    assert!(!read, "the leaver must not read the new TEK");
}

/// A5: backward access control on. A newcomer receives the TEKs that were in use before it
/// joined (only the KEK and its path are replaced), so it reads recorded earlier traffic.
#[test]
fn a5_backward_access_control_replaces_teks() {
    let mut c = group_config("g", None);
    c.rekey_behaviour.backward_access_control = true;
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let group = Identity::key_id("g");
    let _a = join(&mut gcks, "g", "a", true, T0);
    let before = gcks.group(&group).unwrap().data_sa_spis();
    let kek_before = gcks.group(&group).unwrap().rekey_sa_spi();
    let (_n, resp) = join_cfg(
        &mut gcks,
        "newcomer",
        MembershipConfig::receiver(group.clone()),
        true,
        T0.plus_secs(5),
    );
    assert_ne!(
        kek_before,
        gcks.group(&group).unwrap().rekey_sa_spi(),
        "KEK replaced"
    );
    assert_eq!(
        resp.rekeys.len(),
        2,
        "KEK, then TEKs, before the newcomer's response"
    );
    let after = gcks.group(&group).unwrap().data_sa_spis();
    assert!(
        after.iter().all(|s| !before.contains(s)),
        "the newcomer never holds a pre-join TEK"
    );
}

/// A6: transport mode is forgotten by rekeys (installs hard-code tunnel mode).
#[test]
fn a6_rekeyed_sas_keep_transport_mode() {
    let mut c = group_config("g", None);
    c.transport_mode = true;
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let group = Identity::key_id("g");
    let (mut a, _) = join_cfg(
        &mut gcks,
        "a",
        MembershipConfig::receiver(group.clone()),
        true,
        T0,
    );
    let out = msgs(&gcks.force_rekey(&group, T0.plus_secs(10)).unwrap());
    a.gm.process_gsa_rekey(&out[0].datagrams[0], T0.plus_secs(10))
        .unwrap()
        .unwrap();
    let r =
        a.gm.process_gsa_rekey(&out[1].datagrams[0], T0.plus_secs(10))
            .unwrap()
            .unwrap();
    assert_eq!(r.installs.len(), 1);
    assert!(
        r.installs[0].transport_mode,
        "rekeyed SA keeps transport mode"
    );
}
