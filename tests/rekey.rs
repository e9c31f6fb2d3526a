//! Group rekeying end to end in memory (issue 4): a `Gcks` with an LKH tree and several
//! `GroupMember`s registered over real GSA_AUTH payloads, then GSA_REKEY datagrams for
//! exclusion, periodic rekey and retransmission, and GSA_INBAND_REKEY; every rejection
//! leaves the member's state unchanged.

use gikev2::crypto::keywrap::{unwrap, Kwa};
use gikev2::crypto::sign::{SignatureAlg, SigningKey};
use gikev2::executor::{Executor, SharedExecutor};
use gikev2::gcks::{Gcks, GcksError, GcksOutput, RekeyMessage};
use gikev2::gm::{GmRekeyError, GroupMember, MembershipConfig, ResponseOutcome};
use gikev2::gsa_rekey::{Authenticator, RekeyMessageError};
use gikev2::identity::Identity;
use gikev2::lkh::LkhError;
use gikev2::suite::EncrSpec;
use gikev2::time::Time;
use gikev2::wire::{
    self, EncrId, ExchangeType, GroupKeyBag, GroupKeyBagAttr, KdPayload, KeyBag, Payload,
    PayloadBody, ProtocolId, SnId, TrafficSelector, WrappedKey,
};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};

mod common;

use common::group::{
    deliver, forged, group_config, ike_pair, in_sync, join, join_fragmenting, messages,
    rekey_protector, Member, T0,
};

#[test]
fn exclusion_rekeys_everyone_but_the_excluded_member() {
    let key = SigningKey::generate(SignatureAlg::Ed25519).unwrap();
    let mut gcks = Gcks::new();
    gcks.add_group(group_config("g", Some(key)), T0).unwrap();
    let mut members: Vec<Member> = (0..5)
        .map(|i| join(&mut gcks, "g", &format!("m{i}"), false, T0))
        .collect();
    let group = Identity::key_id("g");
    for m in &members {
        assert!(in_sync(&gcks, m));
        assert!(
            !m.gm.membership(&group).unwrap().working_path.is_empty(),
            "LKH path at registration"
        );
    }
    let old_teks = gcks.group(&group).unwrap().data_sa_spis();
    let t1 = T0.plus_secs(60);
    let out = gcks
        .exclude(&group, std::slice::from_ref(&members[2].id), t1)
        .unwrap()
        .outputs;
    let msgs = messages(&out);
    assert_eq!(
        msgs.len(),
        2,
        "KEK first, then TEKs under the new KEK (§3.2.1)"
    );
    assert_ne!(msgs[0].spi, msgs[1].spi);
    // The first message carries no TEK (forward access control).
    for (i, m) in members.iter_mut().enumerate() {
        let results = deliver(m, &msgs, t1);
        if i == 2 {
            let first = results[0].as_ref().unwrap();
            assert!(
                first.excluded.is_some(),
                "the excluded member finds no key path"
            );
            assert!(first.installs.is_empty());
            assert!(matches!(results[1], Err(GmRekeyError::UnknownRekeySa(_))));
            assert!(!in_sync(&gcks, m));
        } else {
            let r0 = results[0].as_ref().unwrap();
            assert!(r0.excluded.is_none() && r0.installs.is_empty() && r0.new_rekey_sa.is_some());
            let r1 = results[1].as_ref().unwrap();
            assert_eq!(r1.installs.len(), 1);
            assert!(r1
                .removals
                .iter()
                .any(|x| old_teks.iter().any(|s| s[..] == x.spi[..]) && x.at == t1.plus_secs(10)));
            assert!(in_sync(&gcks, m), "member {i}");
            // The new TEK equals the key server's.
            let g = gcks.group(&group).unwrap();
            let sa = &r1.installs[0];
            let km = g.data_sa_keymat(&sa.spi).unwrap().as_bytes().to_vec();
            assert_eq!([sa.encr_key.as_bytes(), sa.salt.as_bytes()].concat(), km);
        }
    }
    assert_eq!(gcks.group(&group).unwrap().member_count(), 4);
    // The excluded member cannot simply register again (docs/decisions.md R23) ...
    let (again_gcks, _) = ike_pair("m2", "rekey test");
    let cfg = MembershipConfig::receiver(group.clone());
    let mut gm2 = GroupMember::new(ike_pair("m2", "rekey test").1);
    let req = gm2.join_request(&cfg);
    let resp = gcks.handle_request(&again_gcks, ExchangeType::GSA_AUTH, &req, t1.plus_secs(1));
    assert_eq!(
        resp.notify(),
        Some(gikev2::wire::NotifyType::AUTHORIZATION_FAILED)
    );
    assert_eq!(gcks.group(&group).unwrap().member_count(), 4);
    // ... until the operator re-admits it.
    assert!(gcks.readmit(&group, &members[2].id).unwrap());
    let resp = gcks.handle_request(&again_gcks, ExchangeType::GSA_AUTH, &req, t1.plus_secs(2));
    assert_eq!(resp.notify(), None);
    assert_eq!(gcks.group(&group).unwrap().member_count(), 5);
}

#[test]
fn periodic_rekey_retransmission_and_replay() {
    let mut gcks = Gcks::new();
    gcks.add_group(group_config("g", None), T0).unwrap();
    let mut a = join(&mut gcks, "g", "a", true, T0);
    let due = gcks.next_deadline().unwrap();
    assert_eq!(
        due,
        T0.plus_secs(3600 - 360),
        "a tenth of the TEK lifetime before its end"
    );
    assert!(
        gcks.on_timeout(T0.plus_secs(100)).is_empty(),
        "nothing due yet"
    );
    let out = gcks.on_timeout(due);
    let msgs = messages(&out);
    assert_eq!(
        msgs.len(),
        2,
        "periodic: the new KEK, then the TEKs under it"
    );
    let r = deliver(&mut a, &msgs, due);
    assert!(r[0].as_ref().unwrap().new_rekey_sa.is_some());
    assert_eq!(r[1].as_ref().unwrap().installs.len(), 1);
    assert!(in_sync(&gcks, &a));
    // Retransmissions are bit-identical and rejected as replays.
    let again = gcks.on_timeout(due.plus_millis(1000));
    let copies = messages(&again);
    assert_eq!(copies.len(), 2);
    assert_eq!(copies, msgs);
    let before =
        a.gm.membership(&a.cfg.group)
            .unwrap()
            .rekey
            .as_ref()
            .unwrap()
            .spi;
    // The KEK change came on the Rekey SA it replaced: nothing is accepted there
    // (docs/decisions.md K12); the TEKs came on the current one: a replay.
    let err =
        a.gm.process_gsa_rekey(&copies[0].datagrams[0], due.plus_millis(1000));
    assert!(
        matches!(err, Err(GmRekeyError::RetiredRekeySa { spi, message_id })
            if spi == msgs[0].spi && message_id == msgs[0].message_id),
        "{err:?}"
    );
    let err =
        a.gm.process_gsa_rekey(&copies[1].datagrams[0], due.plus_millis(1000));
    assert!(
        matches!(
            err,
            Err(GmRekeyError::Message(RekeyMessageError::Replay { received, expected }))
                if received == msgs[1].message_id && expected == received + 1
        ),
        "{err:?}"
    );
    assert_eq!(
        a.gm.membership(&a.cfg.group)
            .unwrap()
            .rekey
            .as_ref()
            .unwrap()
            .spi,
        before
    );
    assert_eq!(messages(&gcks.on_timeout(due.plus_millis(2000))).len(), 2);
    assert!(
        messages(&gcks.on_timeout(due.plus_millis(3000))).is_empty(),
        "two copies only"
    );
}

#[test]
fn late_joiner_gets_the_initial_message_id() {
    let mut gcks = Gcks::new();
    gcks.add_group(group_config("g", None), T0).unwrap();
    let mut a = join(&mut gcks, "g", "a", true, T0);
    let b = join(&mut gcks, "g", "b", true, T0);
    let out = gcks
        .exclude(
            &Identity::key_id("g"),
            std::slice::from_ref(&b.id),
            T0.plus_secs(1),
        )
        .unwrap()
        .outputs;
    deliver(&mut a, &messages(&out), T0.plus_secs(1));
    // The TEK message used Message ID 0 on the new Rekey SA: the next is 1.
    let c = join(&mut gcks, "g", "c", true, T0.plus_secs(2));
    let rk =
        c.gm.membership(&c.cfg.group)
            .unwrap()
            .rekey
            .as_ref()
            .unwrap();
    assert_eq!(rk.next_message_id, 1, "GSA_INITIAL_MESSAGE_ID");
    assert!(in_sync(&gcks, &c) && in_sync(&gcks, &a));
}

#[test]
fn rejections_change_nothing() {
    let key = SigningKey::generate(SignatureAlg::Ed25519).unwrap();
    let copy =
        SigningKey::from_pkcs8_der(SignatureAlg::Ed25519, &key.to_pkcs8_der().unwrap()).unwrap();
    let other = SigningKey::generate(SignatureAlg::Ed25519).unwrap();
    let mut gcks = Gcks::new();
    gcks.add_group(group_config("g", Some(copy)), T0).unwrap();
    let mut a = join(&mut gcks, "g", "a", false, T0);
    let _b = join(&mut gcks, "g", "b", false, T0);
    let group = Identity::key_id("g");
    let spi = gcks.group(&group).unwrap().rekey_sa_spi().unwrap();
    let keymat = gcks
        .group(&group)
        .unwrap()
        .rekey_sa_keymat()
        .unwrap()
        .as_bytes()
        .to_vec();
    // Everything the member holds: its whole state as Debug prints it (SPIs, Message IDs,
    // Key IDs, timers, announced SPIs, SA protocols, the previous Rekey SA, reassembly
    // buffers, pending requests; key values are not printed), plus the key values
    // themselves.
    let snapshot = |m: &Member| {
        let ms = m.gm.membership(&group).unwrap();
        let mut keys: Vec<Vec<u8>> = ms
            .working_path
            .ids()
            .into_iter()
            .filter_map(|id| ms.working_path.key(id))
            .map(|k| k.as_bytes().to_vec())
            .collect();
        if let Some(r) = ms.rekey.as_ref() {
            keys.extend([&r.gsk_e, &r.gsk_a, &r.gsk_w].map(|k| k.as_bytes().to_vec()));
        }
        (format!("{:?}", m.gm), keys)
    };
    let before = snapshot(&a);
    let kd_unknown = vec![Payload::new(PayloadBody::Kd(KdPayload {
        bags: vec![KeyBag::Group(GroupKeyBag {
            protocol: ProtocolId::ESP,
            spi: vec![9, 9, 9, 9],
            attributes: vec![GroupKeyBagAttr::SaKey(WrappedKey {
                key_id: 0,
                kwk_id: 0,
                encrypted: vec![0; 48],
            })],
        })],
    }))];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "signature by a different key",
            forged(
                &spi,
                5,
                &kd_unknown,
                &keymat,
                Authenticator::Signature(&other),
            ),
        ),
        (
            "missing signature",
            forged(&spi, 5, &kd_unknown, &keymat, Authenticator::Implicit),
        ),
        (
            "KD for an unknown SPI",
            forged(
                &spi,
                5,
                &kd_unknown,
                &keymat,
                Authenticator::Signature(&key),
            ),
        ),
        (
            "wrong SPI",
            forged(
                &[7; 16],
                5,
                &kd_unknown,
                &keymat,
                Authenticator::Signature(&key),
            ),
        ),
        ("garbage", vec![0xff; 60]),
        (
            "truncated",
            forged(
                &spi,
                5,
                &kd_unknown,
                &keymat,
                Authenticator::Signature(&key),
            )[..50]
                .to_vec(),
        ),
    ];
    for (name, d) in cases {
        assert!(a.gm.process_gsa_rekey(&d, T0).is_err(), "{name}");
        assert_eq!(snapshot(&a), before, "{name}");
    }
    // A real rekey, then its replay, an older Message ID, and flipped bits.
    let out = gcks.force_rekey(&group, T0.plus_secs(5)).unwrap();
    let msg = messages(&out)[0].clone();
    let tek_msg = messages(&out)[1].clone();
    let d = &msg.datagrams[0];
    for i in (0..d.len()).step_by(7) {
        let mut bad = d.clone();
        bad[i] ^= 0x10;
        assert!(a.gm.process_gsa_rekey(&bad, T0).is_err(), "flip at {i}");
        assert_eq!(snapshot(&a), before, "flip at {i}");
    }
    assert!(a.gm.process_gsa_rekey(d, T0).unwrap().is_some());
    assert!(a
        .gm
        .process_gsa_rekey(&tek_msg.datagrams[0], T0)
        .unwrap()
        .is_some());
    assert!(in_sync(&gcks, &a));
    let after = snapshot(&a);
    // A copy of the KEK change comes on the Rekey SA it replaced (docs/decisions.md K12).
    assert!(
        matches!(
            a.gm.process_gsa_rekey(d, T0),
            Err(GmRekeyError::RetiredRekeySa { .. })
        ),
        "copy on the retired Rekey SA"
    );
    assert_eq!(snapshot(&a), after);
    // A copy of the TEK message, on the current Rekey SA, is a replay.
    let r = a.gm.process_gsa_rekey(&tek_msg.datagrams[0], T0);
    assert!(
        matches!(
            r,
            Err(GmRekeyError::Message(RekeyMessageError::Replay { received, expected }))
                if received == tek_msg.message_id && expected == received + 1
        ),
        "{r:?}"
    );
    assert_eq!(snapshot(&a), after);
    // A message the key server could have sent (current Rekey SA and keys, its signing
    // key) with a Message ID below the next one expected is a replay; the same content
    // with the next Message ID is accepted, so only the replay rule refuses the first.
    let spi2 = gcks.group(&group).unwrap().rekey_sa_spi().unwrap();
    assert_eq!(spi2, tek_msg.spi);
    let keymat2 = gcks
        .group(&group)
        .unwrap()
        .rekey_sa_keymat()
        .unwrap()
        .as_bytes()
        .to_vec();
    let harmless = vec![Payload::new(PayloadBody::Delete(wire::DeletePayload {
        protocol: ProtocolId::ESP,
        spi_size: 4,
        spis: vec![vec![9, 9, 9, 9]],
    }))];
    let older = forged(
        &spi2,
        tek_msg.message_id,
        &harmless,
        &keymat2,
        Authenticator::Signature(&key),
    );
    let r = a.gm.process_gsa_rekey(&older, T0);
    assert!(
        matches!(
            r,
            Err(GmRekeyError::Message(RekeyMessageError::Replay { received, expected }))
                if received == tek_msg.message_id && expected == received + 1
        ),
        "older Message ID on the current Rekey SA: {r:?}"
    );
    assert_eq!(snapshot(&a), after);
    let next = forged(
        &spi2,
        tek_msg.message_id + 1,
        &harmless,
        &keymat2,
        Authenticator::Signature(&key),
    );
    assert!(a.gm.process_gsa_rekey(&next, T0).unwrap().is_some());
    assert_ne!(snapshot(&a), after, "the next Message ID advanced");
}

#[test]
fn fragmented_exclusion_is_reassembled() {
    let key = SigningKey::generate(SignatureAlg::EcdsaP256Sha256).unwrap();
    let mut c = group_config("g", Some(key));
    c.rekey_behaviour.fragment_size = Some(300);
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let mut members: Vec<Member> = (0..9)
        .map(|i| join_fragmenting(&mut gcks, "g", &format!("f{i}"), false, T0))
        .collect();
    let ex: Vec<Identity> = members[..3].iter().map(|m| m.id.clone()).collect();
    let out = gcks
        .exclude(&Identity::key_id("g"), &ex, T0.plus_secs(1))
        .unwrap()
        .outputs;
    let msgs = messages(&out);
    assert!(msgs[0].datagrams.len() > 1, "fragmented");
    assert!(msgs
        .iter()
        .flat_map(|m| &m.datagrams)
        .all(|d| d.len() <= 300));
    for m in &mut members[3..] {
        let r = deliver(m, &msgs, T0.plus_secs(1));
        assert!(r.iter().all(|x| x.is_ok()));
        assert!(in_sync(&gcks, m));
    }
    // A truncated fragment is rejected without disturbing reassembly.
    let mut m = join_fragmenting(&mut gcks, "g", "late", false, T0.plus_secs(2));
    let out = gcks
        .force_rekey(&Identity::key_id("g"), T0.plus_secs(3))
        .unwrap();
    let msgs = messages(&out);
    let frags = &msgs[0].datagrams;
    // Every fragment cut at several lengths: each is refused and the member's state,
    // reassembly buffers included, stays exactly as it was.
    let before = format!("{:?}", m.gm);
    for f in frags {
        for cut in [1, 28, 40, f.len() / 2, f.len() - 1] {
            assert!(
                m.gm.process_gsa_rekey(&f[..cut], T0.plus_secs(3)).is_err(),
                "cut at {cut}"
            );
            assert_eq!(format!("{:?}", m.gm), before, "cut at {cut}");
        }
    }
    let r = deliver(&mut m, &msgs, T0.plus_secs(3));
    assert!(r.iter().all(|x| x.is_ok()) && !r.is_empty());
    assert!(in_sync(&gcks, &m));
}

#[test]
fn inband_rekey_for_groups_without_a_rekey_sa() {
    let mut c = group_config("inband", None);
    c.rekey = None;
    c.transport_mode = true;
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let mut a = join(&mut gcks, "inband", "a", true, T0);
    let group = Identity::key_id("inband");
    let out = gcks.force_rekey(&group, T0.plus_secs(10)).unwrap();
    let [GcksOutput::InbandRekeyNeeded { members, .. }] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!(members[0].0, a.id);
    let payloads = gcks
        .inband_rekey_payloads(&a.at_gcks, &group, T0.plus_secs(10))
        .unwrap();
    let (first, bytes) = wire::encode_payloads(&payloads).unwrap();
    let r =
        a.gm.process_inband_rekey(
            &group,
            &wire::decode_payloads(first, &bytes).unwrap(),
            T0.plus_secs(10),
        )
        .unwrap();
    assert_eq!(r.installs.len(), 1);
    assert!(
        r.installs[0].transport_mode,
        "the registration's mode carries over"
    );
    assert_eq!(r.removals.len(), 1);
    let g = gcks.group(&group).unwrap();
    let sa = &r.installs[0];
    assert_eq!(
        [sa.encr_key.as_bytes(), sa.salt.as_bytes()].concat(),
        g.data_sa_keymat(&sa.spi).unwrap().as_bytes()
    );
}

#[test]
fn large_batch_exclusions_are_split_into_messages_that_fit() {
    let mut gcks = Gcks::new();
    let mut c = group_config("big", None);
    c.rekey_behaviour.lkh_degree = 4;
    gcks.add_group(c, T0).unwrap();
    let mut members: Vec<Member> = (0..120)
        .map(|i| join(&mut gcks, "big", &format!("b{i}"), true, T0))
        .collect();
    let excluded: Vec<Identity> = members.iter().step_by(2).map(|m| m.id.clone()).collect();
    let out = gcks
        .exclude(&Identity::key_id("big"), &excluded, T0.plus_secs(1))
        .unwrap()
        .outputs;
    let msgs = messages(&out);
    // 60 members: two KEK changes (32 + 28), then the TEKs.
    assert_eq!(msgs.len(), 3);
    for (i, m) in members.iter_mut().enumerate() {
        let r = deliver(m, &msgs, T0.plus_secs(1));
        if i % 2 == 1 {
            assert!(r.iter().all(|x| x.is_ok()), "member {i}");
            assert!(in_sync(&gcks, m), "member {i}");
        } else {
            assert!(!in_sync(&gcks, m), "excluded member {i}");
            assert!(r
                .iter()
                .any(|x| matches!(x, Ok(res) if res.excluded.is_some())));
        }
    }
}

/// Every wrapped key (SA_KEY and WRAP_KEY) in the KD payloads of `inner`.
fn wrapped_keys(inner: &[Payload]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for p in inner {
        if let PayloadBody::Kd(kd) = &p.body {
            for b in &kd.bags {
                match b {
                    KeyBag::Group(g) => out.extend(g.sa_keys().map(|k| k.encrypted.clone())),
                    KeyBag::Member(m) => out.extend(m.wrap_keys().map(|k| k.encrypted.clone())),
                    _ => {}
                }
            }
        }
    }
    out
}

/// Seeded churn through the whole stack (issue 4): joins (with backward access control),
/// voluntary leaves (GSA_REGISTRATION, RFC 9838 §2.3.2), single and batch exclusions,
/// forced and periodic rekeys. After every rekey each current member holds exactly the key
/// server's newest KEK and TEKs; every excluded member and every member that left (it
/// keeps its keys), still fed every later message, holds neither (forward access control,
/// §3.2.1; docs/decisions.md L10, L11).
#[test]
fn seeded_churn_keeps_members_in_sync_and_excluded_ones_out() {
    let mut c = group_config("churn", None);
    c.rekey_behaviour.lkh_degree = 3;
    c.rekey_behaviour.backward_access_control = true;
    c.rekey_behaviour.retransmissions = 0;
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let group = Identity::key_id("churn");
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut current: Vec<Member> = Vec::new();
    // Excluded members and members that left: both must be cut off by the next rekey.
    let mut excluded: Vec<Member> = Vec::new();
    let mut now = T0;
    let mut serial = 0;
    let mut rekeys = 0;
    let (mut left, mut periodic) = (0, 0);
    for op in 0..1000 {
        now = now.plus_secs(1);
        let roll = next() % 10;
        let msgs: Vec<RekeyMessage> = if current.len() < 4 || roll < 5 {
            // Join: existing members first process the backward-access-control rekey the
            // key server sends before answering the newcomer.
            serial += 1;
            let name = format!("c{serial}");
            let id = Identity::fqdn(&name);
            let (at_gcks, at_gm) = ike_pair(&name, "churn");
            let mut gm = GroupMember::new(at_gm);
            let mut cfg = MembershipConfig::receiver(group.clone());
            cfg.accept.implicit_auth = true;
            let req = gm.join_request(&cfg);
            // The keys in use before the join: the newcomer must get none of them.
            let g = gcks.group(&group).unwrap();
            let old_kek = g.rekey_sa_keymat().unwrap().as_bytes().to_vec();
            let old_kek_spi = g.rekey_sa_spi().unwrap();
            let old_teks: Vec<([u8; 4], Vec<u8>)> = g
                .data_sa_spis()
                .iter()
                .map(|s| (*s, g.data_sa_keymat(s).unwrap().as_bytes().to_vec()))
                .collect();
            let resp = gcks.handle_request(&at_gcks, ExchangeType::GSA_AUTH, &req, now);
            let before: Vec<RekeyMessage> = resp.rekeys.clone();
            assert_eq!(
                before.len(),
                if current.is_empty() { 0 } else { 2 },
                "op {op}: backward access control: new KEK, then new TEKs"
            );
            let refs: Vec<&RekeyMessage> = before.iter().collect();
            for m in current.iter_mut().chain(excluded.iter_mut()) {
                deliver(m, &refs, now);
            }
            assert!(matches!(
                gm.process_response(&cfg.group, &resp.payloads, now),
                Ok(ResponseOutcome::Registered(_))
            ));
            // The newcomer holds no pre-join key, and with every key it holds (Working Key
            // Path, Rekey SA, IKE SA) it unwraps nothing pre-join from the messages sent
            // before it joined (opened here with the KEK each was sent under): only keys
            // it got anyway (the new TEKs, perhaps the new KEK).
            let newcomer = Member {
                id,
                at_gcks,
                gm,
                cfg,
            };
            let ms = newcomer.gm.membership(&group).unwrap();
            let rk = ms.rekey.as_ref().unwrap();
            let own_kek = [
                rk.gsk_e.as_bytes(),
                rk.gsk_a.as_bytes(),
                rk.gsk_w.as_bytes(),
            ]
            .concat();
            // (The first member has nobody to be protected from: no rekey before it.)
            assert!(
                before.is_empty()
                    || (own_kek != old_kek
                        && old_teks.iter().all(|(s, _)| !ms.data_sa_spis.contains(s))),
                "op {op}: newcomer holds a pre-join KEK or TEK"
            );
            let mut held: Vec<Vec<u8>> = ms
                .working_path
                .ids()
                .into_iter()
                .filter_map(|id| ms.working_path.key(id))
                .map(|k| k.as_bytes().to_vec())
                .collect();
            held.push(rk.gsk_w.as_bytes().to_vec());
            held.push(newcomer.gm.ike_sa().gsk_w().as_bytes().to_vec());
            let mut unwrapped = 0;
            for m in &before {
                let kek = if m.spi == old_kek_spi {
                    &old_kek
                } else {
                    &own_kek
                };
                let opened = gikev2::protect::open(&m.datagrams[0], &rekey_protector(kek)).unwrap();
                if m.spi == old_kek_spi {
                    assert!(
                        gikev2::protect::open(&m.datagrams[0], &rekey_protector(&own_kek)).is_err(),
                        "op {op}: newcomer opened the message under the old KEK"
                    );
                }
                for w in wrapped_keys(&opened.inner) {
                    for k in &held {
                        let Ok(x) = unwrap(Kwa::Kw5649_256, k, &w) else {
                            continue;
                        };
                        unwrapped += 1;
                        assert!(
                            x.as_bytes() != old_kek.as_slice()
                                && old_teks.iter().all(|(_, t)| x.as_bytes() != t.as_slice()),
                            "op {op}: newcomer unwrapped a pre-join key"
                        );
                    }
                }
            }
            assert!(
                before.is_empty() || unwrapped > 0,
                "op {op}: the check unwraps at least the new TEKs"
            );
            current.push(newcomer);
            before
        } else if roll < 8 {
            // Exclude one or a few.
            let n = 1 + (next() % 3) as usize;
            let mut out = Vec::new();
            for _ in 0..n.min(current.len() - 1) {
                let i = (next() % current.len() as u64) as usize;
                out.push(current.swap_remove(i));
            }
            let ids: Vec<Identity> = out.iter().map(|m| m.id.clone()).collect();
            let o = gcks.exclude(&group, &ids, now).unwrap().outputs;
            excluded.extend(out);
            messages(&o).into_iter().cloned().collect()
        } else if roll == 8 {
            // A member leaves (and keeps its keys): no message until the next KEK change.
            let mut m = current.swap_remove((next() % current.len() as u64) as usize);
            let reason = gikev2::wire::NotifyType::REGISTRATION_FAILED;
            let req = m.gm.leave_request(&group, reason);
            let r = gcks.handle_request(&m.at_gcks, ExchangeType::GSA_REGISTRATION, &req, now);
            assert!(r.notify().is_none() && r.rekeys.is_empty());
            excluded.push(m);
            left += 1;
            Vec::new()
        } else if next() % 2 == 0 {
            let o = gcks.force_rekey(&group, now).unwrap();
            messages(&o).into_iter().cloned().collect()
        } else {
            // The periodic rekey: time runs on to the next deadline.
            now = gcks.next_deadline().unwrap();
            periodic += 1;
            let o = gcks.on_timeout(now);
            messages(&o).into_iter().cloned().collect()
        };
        if msgs.is_empty() {
            continue;
        }
        rekeys += 1;
        let refs: Vec<&RekeyMessage> = msgs.iter().collect();
        for m in current.iter_mut().chain(excluded.iter_mut()) {
            deliver(m, &refs, now);
        }
        for m in &current {
            assert!(
                in_sync(&gcks, m),
                "op {op}: current member {} out of sync",
                m.id
            );
        }
        for m in &excluded {
            assert!(
                !in_sync(&gcks, m),
                "op {op}: excluded member {} still in sync",
                m.id
            );
            let g = gcks.group(&group).unwrap();
            if let Some(ms) = m.gm.membership(&group) {
                assert!(
                    g.data_sa_spis()
                        .iter()
                        .all(|s| !ms.data_sa_spis.contains(s)),
                    "op {op}: excluded member holds a current TEK"
                );
            }
        }
    }
    assert!(
        rekeys > 400 && excluded.len() > 100 && left > 40 && periodic > 20,
        "{rekeys} rekeys, {} excluded or left, {left} left, {periodic} periodic",
        excluded.len()
    );
}

#[test]
fn next_spis_are_announced_and_then_used() {
    let mut gcks = Gcks::new();
    gcks.add_group(group_config("g", None), T0).unwrap();
    let mut a = join(&mut gcks, "g", "a", true, T0);
    let group = Identity::key_id("g");
    let announced = a.gm.membership(&group).unwrap().next_spis.clone();
    assert_eq!(
        announced.len(),
        2,
        "one for the Rekey SA, one for the data SA"
    );
    let current: Vec<Vec<u8>> = gcks
        .group(&group)
        .unwrap()
        .data_sa_spis()
        .iter()
        .map(|s| s.to_vec())
        .collect();
    assert!(announced.iter().all(|n| !current.contains(n)));
    // Traffic on an announced SPI tells the member it missed a rekey.
    for n in &announced {
        assert_eq!(a.gm.group_announcing_next_spi(n), Some(&group));
    }
    let out = gcks.force_rekey(&group, T0.plus_secs(5)).unwrap();
    let r = deliver(&mut a, &messages(&out), T0.plus_secs(5));
    let new_kek = r[0]
        .as_ref()
        .unwrap()
        .new_rekey_sa
        .as_ref()
        .unwrap()
        .spi
        .to_vec();
    let new_tek = r[1].as_ref().unwrap().installs[0].spi.to_vec();
    assert!(
        announced.contains(&new_tek),
        "the new data SA uses the announced SPI"
    );
    assert!(
        announced.contains(&new_kek),
        "the new Rekey SA uses the announced SPI"
    );
    let now_announced = &a.gm.membership(&group).unwrap().next_spis;
    assert_eq!(now_announced.len(), 2);
    assert!(now_announced.iter().all(|n| !announced.contains(n)));
    assert_eq!(a.gm.group_announcing_next_spi(&new_tek), None);
}

#[test]
fn member_timers_remove_after_dtd_and_re_register_when_needed() {
    use gikev2::gm::{GmAction, ReRegisterReason};
    let mut gcks = Gcks::new();
    gcks.add_group(group_config("g", None), T0).unwrap();
    let group = Identity::key_id("g");
    let mut a = join(&mut gcks, "g", "a", true, T0);
    let mut lost = join(&mut gcks, "g", "lost", true, T0);
    // Nothing due right after registering; the soft limit is 5% before the TEK ends.
    assert!(a.gm.on_timeout(T0.plus_secs(60)).is_empty());
    assert_eq!(a.gm.next_deadline(), Some(T0.plus_secs(3600 - 180)));
    // The key server rekeys at 10% before the end: a member that processes it moves its
    // soft limits to the new SAs and removes the old ones after DTD.
    let t = gcks.next_deadline().unwrap();
    let out = gcks.on_timeout(t);
    let r = deliver(&mut a, &messages(&out), t);
    let removed: Vec<Vec<u8>> = r
        .iter()
        .flat_map(|x| x.as_ref().unwrap().removals.iter().map(|x| x.spi.clone()))
        .collect();
    assert!(a.gm.on_timeout(t.plus_secs(9)).is_empty(), "DTD is 10 s");
    let actions = a.gm.on_timeout(t.plus_secs(10));
    assert_eq!(actions.len(), removed.len());
    assert!(actions
        .iter()
        .all(|x| matches!(x, GmAction::RemoveSa { spi, .. } if removed.contains(spi))));
    assert!(
        a.gm.on_timeout(T0.plus_secs(3600 - 180)).is_empty(),
        "rekeyed: no alarm"
    );
    // A member that lost that rekey is told to register again before its SAs end.
    let actions = lost.gm.on_timeout(T0.plus_secs(3600 - 180));
    assert!(
        matches!(
            &actions[..],
            [GmAction::ReRegister {
                reason: ReRegisterReason::LifetimeEnding { .. },
                ..
            }]
        ),
        "{actions:?}"
    );
    // An excluded member re-registers after a random delay of 1 to 10 s.
    let t2 = t.plus_secs(20);
    let mut c = join(&mut gcks, "g", "c", true, t2);
    let out = gcks
        .exclude(&group, std::slice::from_ref(&c.id), t2.plus_secs(1))
        .unwrap()
        .outputs;
    let r = deliver(&mut c, &messages(&out), t2.plus_secs(1));
    let at = r[0].as_ref().unwrap().excluded.unwrap();
    assert!(at >= t2.plus_secs(2) && at <= t2.plus_secs(11));
    assert!(
        c.gm.on_timeout(t2.plus_secs(1)).is_empty(),
        "not before the delay"
    );
    let actions = c.gm.on_timeout(at);
    assert!(
        matches!(
            &actions[..],
            [GmAction::ReRegister {
                reason: ReRegisterReason::Excluded,
                ..
            }]
        ),
        "{actions:?}"
    );
}

#[test]
fn signing_key_roll_over() {
    let old = SigningKey::generate(SignatureAlg::Ed25519).unwrap();
    let old_copy =
        SigningKey::from_pkcs8_der(SignatureAlg::Ed25519, &old.to_pkcs8_der().unwrap()).unwrap();
    let mut gcks = Gcks::new();
    gcks.add_group(group_config("g", Some(old_copy)), T0)
        .unwrap();
    let group = Identity::key_id("g");
    let mut a = join(&mut gcks, "g", "a", false, T0);
    let new = SigningKey::generate(SignatureAlg::Ed25519).unwrap();
    let out = gcks.roll_signing_key(&group, new, T0.plus_secs(1)).unwrap();
    let r = deliver(&mut a, &messages(&out), T0.plus_secs(1));
    assert!(r[0].is_ok(), "{:?}", r[0].as_ref().err());
    // Later messages are signed with the new key and verify; one signed with the old key
    // no longer does.
    let spi = gcks.group(&group).unwrap().rekey_sa_spi().unwrap();
    let keymat = gcks
        .group(&group)
        .unwrap()
        .rekey_sa_keymat()
        .unwrap()
        .as_bytes()
        .to_vec();
    let stale = forged(&spi, 50, &[], &keymat, Authenticator::Signature(&old));
    assert!(a.gm.process_gsa_rekey(&stale, T0.plus_secs(2)).is_err());
    let out = gcks.force_rekey(&group, T0.plus_secs(3)).unwrap();
    assert!(deliver(&mut a, &messages(&out), T0.plus_secs(3))
        .iter()
        .all(|x| x.is_ok()));
    assert!(in_sync(&gcks, &a));
    // Members joining now receive the new AUTH_KEY.
    let b = join(&mut gcks, "g", "b", false, T0.plus_secs(4));
    let out = gcks.force_rekey(&group, T0.plus_secs(5)).unwrap();
    let mut b = b;
    assert!(deliver(&mut b, &messages(&out), T0.plus_secs(5))
        .iter()
        .all(|x| x.is_ok()));
    // Implicit groups cannot roll a key.
    let mut g2 = Gcks::new();
    g2.add_group(group_config("i", None), T0).unwrap();
    assert!(g2
        .roll_signing_key(
            &Identity::key_id("i"),
            SigningKey::generate(SignatureAlg::Ed25519).unwrap(),
            T0
        )
        .is_err());
}

/// RFC 9838 §2.4.1.4: a sender without a Sender-ID does not install a new counter-mode SA
/// and registers again; Deletes of "SPI 0" touch only their own protocol.
#[test]
fn counter_mode_without_sender_id_and_protocol_scoped_deletes() {
    use gikev2::gm::{GmAction, ReRegisterReason};
    use gikev2::wire::{DeletePayload, GsaAttrType, GsaPolicy, Transform, TransformType};
    let mut c = group_config("cbc", None);
    c.data_policies[0].encr = Some(EncrSpec::with_bits(EncrId::ENCR_AES_CBC, 256));
    c.data_policies[0].integ = Some(gikev2::wire::IntegId::AUTH_HMAC_SHA2_256_128);
    c.data_policies[0].sn = SnId::SEQ32;
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let group = Identity::key_id("cbc");
    // A sender: no Sender-ID, since no SA uses a counter mode.
    let (at_gcks, at_gm) = ike_pair("s", "rekey test");
    let mut gm = GroupMember::new(at_gm);
    let mut cfg = MembershipConfig::sender(group.clone(), 1);
    cfg.accept.implicit_auth = true;
    let req = gm.join_request(&cfg);
    let resp = gcks.handle_request(&at_gcks, ExchangeType::GSA_AUTH, &req, T0);
    let Ok(ResponseOutcome::Registered(reg)) = gm.process_response(&group, &resp.payloads, T0)
    else {
        panic!()
    };
    assert!(reg.sender_ids.is_empty());
    let esp_spi = reg.data_sas[0].spi;
    // The key server's Rekey SA, used to build messages it could have sent.
    let g = gcks.group(&group).unwrap();
    let spi = g.rekey_sa_spi().unwrap();
    let keymat = g.rekey_sa_keymat().unwrap().as_bytes().to_vec();
    let gsk_w = &keymat[keymat.len() - 32..];
    let gcm_keymat = [7u8; 36];
    let gcm_policy = GsaPolicy {
        protocol: ProtocolId::ESP,
        spi: vec![0x55, 0x66, 0x77, 0x88],
        src_ts: TrafficSelector::ipv4_host(Ipv4Addr::new(10, 0, 0, 1), 0, None),
        dst_ts: TrafficSelector::ipv4_host(Ipv4Addr::new(239, 192, 0, 1), 17, Some(5000)),
        transforms: vec![
            Transform::new(TransformType::ENCR, EncrId::ENCR_AES_GCM_16.0).with_key_length(256),
            Transform::new(TransformType::SN, SnId::UNSPECIFIED32.0),
        ],
        attributes: vec![gikev2::wire::Attribute::tlv(
            GsaAttrType::GSA_KEY_LIFETIME,
            3600u32.to_be_bytes().to_vec(),
        )],
    };
    let inner = vec![
        Payload::new(PayloadBody::Gsa(gikev2::wire::GsaPayload {
            policies: vec![gikev2::wire::GroupPolicy::Sa(gcm_policy)],
        })),
        Payload::new(PayloadBody::Kd(KdPayload {
            bags: vec![KeyBag::Group(GroupKeyBag {
                protocol: ProtocolId::ESP,
                spi: vec![0x55, 0x66, 0x77, 0x88],
                attributes: vec![GroupKeyBagAttr::SaKey(WrappedKey {
                    key_id: 0,
                    kwk_id: 0,
                    encrypted: gikev2::crypto::keywrap::wrap(Kwa::Kw5649_256, gsk_w, &gcm_keymat)
                        .unwrap(),
                })],
            })],
        })),
    ];
    let t = T0.plus_secs(5);
    let r = gm
        .process_gsa_rekey(
            &forged(&spi, 0, &inner, &keymat, Authenticator::Implicit),
            t,
        )
        .unwrap()
        .unwrap();
    assert!(r.installs.is_empty(), "not installed without a Sender-ID");
    assert!(matches!(
        &gm.on_timeout(t)[..],
        [GmAction::ReRegister {
            reason: ReRegisterReason::NoSenderId,
            ..
        }]
    ));
    // Delete(AH, SPI 0) leaves the ESP SA alone; Delete(ESP, SPI 0) removes it.
    let del = |protocol| {
        vec![Payload::new(PayloadBody::Delete(DeletePayload {
            protocol,
            spi_size: 4,
            spis: vec![vec![0; 4]],
        }))]
    };
    let r = gm
        .process_gsa_rekey(
            &forged(
                &spi,
                1,
                &del(ProtocolId::AH),
                &keymat,
                Authenticator::Implicit,
            ),
            t,
        )
        .unwrap()
        .unwrap();
    assert!(r.removals.is_empty());
    let r = gm
        .process_gsa_rekey(
            &forged(
                &spi,
                2,
                &del(ProtocolId::ESP),
                &keymat,
                Authenticator::Implicit,
            ),
            t,
        )
        .unwrap()
        .unwrap();
    assert_eq!(r.removals.len(), 1);
    assert_eq!(r.removals[0].spi, esp_spi.to_vec());
    assert_eq!(r.removals[0].at, t.plus_secs(10));
}

#[test]
fn exclusion_in_an_inband_group_rekeys_only_the_remaining_members() {
    let mut c = group_config("inb", None);
    c.rekey = None;
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let group = Identity::key_id("inb");
    let a = join(&mut gcks, "inb", "a", true, T0);
    let x = join(&mut gcks, "inb", "x", true, T0);
    let before = gcks.group(&group).unwrap().data_sa_spis();
    let out = gcks
        .exclude(&group, std::slice::from_ref(&x.id), T0.plus_secs(1))
        .unwrap()
        .outputs;
    // The remaining members get the new SAs; the excluded one is told (K29).
    let [GcksOutput::InbandRekeyNeeded { members, .. }, GcksOutput::InbandRekeyNeeded { members: told, .. }] =
        out.as_slice()
    else {
        panic!("{out:?}")
    };
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].0, a.id);
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].0, x.id);
    assert!(gcks
        .group(&group)
        .unwrap()
        .data_sa_spis()
        .iter()
        .all(|s| !before.contains(s)));
    assert!(
        gcks.exclude(&group, std::slice::from_ref(&x.id), T0.plus_secs(2))
            .is_err(),
        "no longer a member"
    );
}

/// What an exclusion must leave alone when it is refused: members (with their leaves),
/// the key tree, the Rekey SA and its next Message ID, the Data-Security SAs.
fn group_state(gcks: &Gcks, group: &Identity) -> impl PartialEq + std::fmt::Debug {
    let g = gcks.group(group).unwrap();
    let mut members: Vec<(String, Option<u32>)> = g
        .members()
        .map(|(id, m)| (id.to_string(), m.leaf.map(|l| l.key_id())))
        .collect();
    members.sort();
    let tree = g.key_tree().unwrap();
    (
        members,
        (tree.key_ids(), tree.member_count(), tree.next_key_id()),
        (g.rekey_sa_spi(), g.next_rekey_message_id()),
        g.data_sa_spis(),
    )
}

/// A rejected exclusion changes nothing (docs/decisions.md K15): an unknown member or a
/// member named twice anywhere in the list, also in what would be a later chunk (K9),
/// is refused before the first KEK change; registrations and rekeys carry on as before.
#[test]
fn a_rejected_exclusion_changes_nothing() {
    let mut gcks = Gcks::new();
    gcks.add_group(group_config("g", None), T0).unwrap();
    let group = Identity::key_id("g");
    let mut members: Vec<Member> = (0..40)
        .map(|i| join(&mut gcks, "g", &format!("r{i}"), true, T0))
        .collect();
    let before = group_state(&gcks, &group);
    let ids: Vec<Identity> = members.iter().map(|m| m.id.clone()).collect();
    let t1 = T0.plus_secs(1);

    let mut unknown = ids[..35].to_vec();
    unknown.push(Identity::fqdn("nobody"));
    assert!(matches!(
        gcks.exclude(&group, &unknown, t1),
        Err(GcksError::UnknownMember(m)) if m == Identity::fqdn("nobody")
    ));
    assert_eq!(group_state(&gcks, &group), before);

    // r1 in the first chunk of 32 and again in the second.
    let mut twice = ids[..34].to_vec();
    twice.push(ids[1].clone());
    assert!(matches!(
        gcks.exclude(&group, &twice, t1),
        Err(GcksError::DuplicateMember(m)) if m == ids[1]
    ));
    assert_eq!(group_state(&gcks, &group), before);
    assert!(matches!(
        gcks.exclude(&Identity::key_id("other"), &ids[..1], t1),
        Err(GcksError::UnknownGroup(_))
    ));
    assert_eq!(group_state(&gcks, &group), before);

    // Everything still works: a newcomer registers, an exclusion reaches everyone else.
    members.push(join(&mut gcks, "g", "late", true, t1));
    let done = gcks.exclude(&group, &ids[..2], t1.plus_secs(1)).unwrap();
    assert!(done.is_complete());
    assert_eq!(done.excluded, ids[..2].to_vec());
    let msgs = messages(&done.outputs);
    assert_eq!(msgs[0].message_id, 0, "first message on the Rekey SA");
    for m in &mut members[2..] {
        let r = deliver(m, &msgs, t1.plus_secs(1));
        assert!(r.iter().all(|x| x.is_ok()), "{}", m.id);
        assert!(in_sync(&gcks, m), "{}", m.id);
    }
    for m in &members[..2] {
        assert!(!in_sync(&gcks, m));
    }
}

/// Skips every job of its first run: the wraps handed to it fail (a host whose threads
/// could not run them); later runs go in order.
struct SkipsFirstRun(AtomicUsize);

impl Executor for SkipsFirstRun {
    fn parallelism(&self) -> usize {
        2
    }
    fn run(&self, n: usize, job: &(dyn Fn(usize) + Sync)) {
        if self.0.fetch_add(1, Ordering::SeqCst) > 0 {
            (0..n).for_each(job);
        }
    }
}

/// An internal failure at a later chunk of a batch exclusion (here: the wraps of the
/// second KEK change, the first large enough to go to the host's executor, are not run,
/// once the key tree already changed): the first chunk's KEK change and the new TEKs are
/// returned and must be sent, its members are out; the second chunk's members stay
/// members with their keys, the tree undone, and later exclusions and rekeys reach them
/// (docs/decisions.md K15).
#[test]
fn a_failed_later_chunk_keeps_its_members_and_returns_what_was_done() {
    let mut c = group_config("big", None);
    c.rekey_behaviour.lkh_degree = 8;
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    gcks.set_executor(SharedExecutor::new(SkipsFirstRun(AtomicUsize::new(0))));
    let group = Identity::key_id("big");
    let mut members: Vec<Member> = (0..512)
        .map(|i| join(&mut gcks, "big", &format!("m{i}"), true, T0))
        .collect();
    // Chunk 1: 32 neighbours (one subtree, few new keys, wrapped on the calling thread);
    // chunk 2: 32 members spread over the tree (about 290 wrapped keys: the executor's).
    let first: Vec<usize> = (0..32).collect();
    let second: Vec<usize> = (0..32).map(|k| 64 + 14 * k).collect();
    let ids: Vec<Identity> = first
        .iter()
        .chain(&second)
        .map(|&i| members[i].id.clone())
        .collect();
    let t1 = T0.plus_secs(1);
    let done = gcks.exclude(&group, &ids, t1).unwrap();
    assert_eq!(done.excluded, ids[..32].to_vec());
    let not = done.not_excluded.as_ref().expect("the second chunk failed");
    assert_eq!(not.members, ids[32..].to_vec());
    assert!(
        matches!(not.error, GcksError::Lkh(LkhError::Executor(_))),
        "{}",
        not.error
    );
    assert!(done.teks_deferred.is_none() && !done.is_complete());
    let msgs = messages(&done.outputs);
    assert_eq!(msgs.len(), 2, "chunk 1's KEK change, then the new TEKs");
    let g = gcks.group(&group).unwrap();
    assert_eq!(g.member_count(), 480);
    assert_eq!(g.key_tree().unwrap().member_count(), 480);
    for &i in &second {
        assert!(g.members().any(|(id, _)| *id == members[i].id));
    }
    for (i, m) in members.iter_mut().enumerate() {
        let r = deliver(m, &msgs, t1);
        if first.contains(&i) {
            assert!(!in_sync(&gcks, m), "member {i} excluded");
        } else {
            assert!(r.iter().all(|x| x.is_ok()), "member {i}");
            assert!(in_sync(&gcks, m), "member {i}");
        }
    }
    // The members left in the group can be excluded later (one by one the messages are
    // small) and everybody else follows; so does a periodic-style rekey.
    let t2 = t1.plus_secs(1);
    let again = gcks.exclude(&group, &ids[32..33], t2).unwrap();
    assert!(again.is_complete());
    let mut msgs: Vec<RekeyMessage> = messages(&again.outputs).into_iter().cloned().collect();
    let out = gcks.force_rekey(&group, t2).unwrap();
    msgs.extend(messages(&out).into_iter().cloned());
    for (i, m) in members.iter_mut().enumerate() {
        if first.contains(&i) || i == second[0] {
            continue;
        }
        let r = deliver(m, &msgs, t2);
        assert!(r.iter().all(|x| x.is_ok()), "member {i}");
        assert!(in_sync(&gcks, m), "member {i}");
    }
    assert!(!in_sync(&gcks, &members[second[0]]));
}

/// RFC 9838 §2.4.1.2: IKEv2 fragmentation of GSA_REKEY only if every member negotiated it
/// in IKE_SA_INIT (docs/decisions.md K19). With one member that did not, messages above
/// `fragment_size` go whole (and reach everybody); once no such member is left (its IKE
/// SA rekeyed into one that supports it, or it is gone), they are fragmented again.
#[test]
fn gsa_rekey_is_fragmented_only_if_every_member_negotiated_it() {
    let key = SigningKey::generate(SignatureAlg::Ed25519).unwrap();
    let mut c = group_config("f", Some(key));
    c.rekey_behaviour.fragment_size = Some(256);
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let group = Identity::key_id("f");
    let mut members: Vec<Member> = (0..4)
        .map(|i| join_fragmenting(&mut gcks, "f", &format!("s{i}"), false, T0))
        .collect();
    let lacking = |gcks: &Gcks| gcks.group(&group).unwrap().members_without_fragmentation();
    let rekey = |gcks: &mut Gcks, members: &mut [Member], t: Time| {
        let out = gcks.force_rekey(&group, t).unwrap();
        let msgs: Vec<RekeyMessage> = messages(&out).into_iter().cloned().collect();
        for m in members.iter_mut() {
            let r = deliver(m, &msgs, t);
            assert!(
                r.len() == msgs.len() && r.iter().all(|x| x.is_ok()),
                "{}",
                m.id
            );
            assert!(in_sync(gcks, m), "{}", m.id);
        }
        msgs
    };
    let fragmented = |msgs: &[RekeyMessage]| {
        msgs.iter()
            .all(|m| m.datagrams.len() > 1 && m.datagrams.iter().all(|d| d.len() <= 256))
    };
    let whole = |msgs: &[RekeyMessage]| {
        msgs.iter()
            .all(|m| m.datagrams.len() == 1 && m.datagrams[0].len() > 256)
    };

    assert_eq!(lacking(&gcks), 0);
    let msgs = rekey(&mut gcks, &mut members, T0.plus_secs(1));
    assert!(fragmented(&msgs), "every member supports fragmentation");

    // One member whose IKE SA did not negotiate it.
    members.push(join(&mut gcks, "f", "x", false, T0.plus_secs(2)));
    assert_eq!(lacking(&gcks), 1);
    let msgs = rekey(&mut gcks, &mut members, T0.plus_secs(3));
    assert!(whole(&msgs), "one member without fragmentation");

    // Its IKE SA is rekeyed into one that supports fragmentation, and back.
    let x = members.last().unwrap();
    let spis = |c: &gikev2::ike_sa::IkeSaContext| {
        let mut s = [0u8; 16];
        s[..8].copy_from_slice(&c.spi_i);
        s[8..].copy_from_slice(&c.spi_r);
        s
    };
    let (old, new) = (spis(&x.at_gcks), [0x5a; 16]);
    assert_eq!(gcks.ike_sa_rekeyed(&old, &new, true), 1);
    assert_eq!(lacking(&gcks), 0);
    let msgs = rekey(&mut gcks, &mut members, T0.plus_secs(4));
    assert!(fragmented(&msgs), "x's new IKE SA supports it");
    assert_eq!(gcks.ike_sa_rekeyed(&new, &[0xa5; 16], false), 1);
    assert_eq!(lacking(&gcks), 1);
    let msgs = rekey(&mut gcks, &mut members, T0.plus_secs(5));
    assert!(whole(&msgs));

    // x excluded: the KEK change still goes whole (x is a member until it is sent),
    // everything after it is fragmented.
    let x = members.pop().unwrap();
    let done = gcks
        .exclude(&group, std::slice::from_ref(&x.id), T0.plus_secs(6))
        .unwrap();
    assert!(done.is_complete());
    let msgs: Vec<RekeyMessage> = messages(&done.outputs).into_iter().cloned().collect();
    assert_eq!(msgs[0].datagrams.len(), 1);
    assert_eq!(lacking(&gcks), 0);
    for m in members.iter_mut() {
        assert!(deliver(m, &msgs, T0.plus_secs(6)).iter().all(|r| r.is_ok()));
        assert!(in_sync(&gcks, m));
    }
    let msgs = rekey(&mut gcks, &mut members, T0.plus_secs(7));
    assert!(fragmented(&msgs));
}

/// Counts how often the key server consults it, and runs jobs on scoped threads.
struct CountingThreads(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl gikev2::executor::Executor for CountingThreads {
    fn parallelism(&self) -> usize {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        2
    }
    fn run(&self, n: usize, job: &(dyn Fn(usize) + Sync)) {
        std::thread::scope(|s| {
            for i in 0..n {
                s.spawn(move || job(i));
            }
        });
    }
}

/// The host's executor reaches the LKH wraps of every group, those that existed when it
/// was set and those added later; the members follow the exclusions as before.
#[test]
fn a_host_executor_serves_every_group() {
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut gcks = Gcks::new();
    gcks.add_group(group_config("before", None), T0).unwrap();
    gcks.set_executor(gikev2::executor::SharedExecutor::new(CountingThreads(
        asked.clone(),
    )));
    gcks.add_group(group_config("after", None), T0).unwrap();
    for g in ["before", "after"] {
        let mut members: Vec<Member> = (0..6)
            .map(|i| join(&mut gcks, g, &format!("{g}{i}"), true, T0))
            .collect();
        let before = asked.load(std::sync::atomic::Ordering::SeqCst);
        let out = gcks
            .exclude(
                &Identity::key_id(g),
                &[members[0].id.clone()],
                T0.plus_secs(1),
            )
            .unwrap();
        assert!(out.is_complete());
        assert!(
            asked.load(std::sync::atomic::Ordering::SeqCst) > before,
            "group {g} did not use the executor"
        );
        let msgs = messages(&out.outputs);
        for m in members.iter_mut().skip(1) {
            assert!(deliver(m, &msgs, T0.plus_secs(1)).iter().all(|r| r.is_ok()));
            assert!(in_sync(&gcks, m));
        }
    }
}

/// Excluding every member of a multicast group: no top-level key is left to wrap a new KEK
/// under, so the key server replaces its SAs and tells the members with a Delete of
/// GIKE_UPDATE SPI 0 on the Rekey SA they hold (RFC 9838 §2.4.3); each learns that it is
/// excluded (it used to get a KEK change without SA_KEY and report it malformed). A member
/// registering afterwards gets the new SAs.
#[test]
fn excluding_every_member_tells_them_all() {
    let mut gcks = Gcks::new();
    gcks.add_group(group_config("all", None), T0).unwrap();
    let mut members: Vec<Member> = (0..3)
        .map(|i| join(&mut gcks, "all", &format!("a{i}"), true, T0))
        .collect();
    let old_kek = gcks
        .group(&Identity::key_id("all"))
        .unwrap()
        .rekey_sa_spi()
        .unwrap();
    let ids: Vec<Identity> = members.iter().map(|m| m.id.clone()).collect();
    let out = gcks
        .exclude(&Identity::key_id("all"), &ids, T0.plus_secs(1))
        .unwrap();
    assert!(out.is_complete());
    assert_eq!(out.excluded.len(), 3);
    let msgs = messages(&out.outputs);
    assert_eq!(msgs.len(), 1, "one announcement, nothing else");
    assert_eq!(msgs[0].spi, old_kek, "on the Rekey SA the members hold");
    let g = gcks.group(&Identity::key_id("all")).unwrap();
    assert_eq!(g.member_count(), 0);
    assert_ne!(g.rekey_sa_spi().unwrap(), old_kek, "new SAs");
    for m in members.iter_mut() {
        let r = deliver(m, &msgs, T0.plus_secs(1));
        assert!(
            r.iter()
                .any(|x| matches!(x, Ok(res) if res.excluded.is_some())),
            "{} must learn it is excluded: {r:?}",
            m.id
        );
    }
    let newcomer = join(&mut gcks, "all", "b0", true, T0.plus_secs(2));
    assert!(in_sync(&gcks, &newcomer));
}

/// An inband group's excluded member is told over its IKE SA (RFC 9838 §2.4.3): a
/// GSA_INBAND_REKEY with Deletes of the SAs it holds, a Delete of GIKE_UPDATE SPI 0 and
/// no new key (K29); it removes them and reports the exclusion, while the remaining
/// member gets the new SAs.
#[test]
fn inband_exclusion_tells_the_excluded_member() {
    let mut c = group_config("inband-x", None);
    c.rekey = None;
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let group = Identity::key_id("inband-x");
    let mut stays = join(&mut gcks, "inband-x", "s", true, T0);
    let mut goes = join(&mut gcks, "inband-x", "g", true, T0);
    let now = T0.plus_secs(10);
    let out = gcks
        .exclude(&group, std::slice::from_ref(&goes.id), now)
        .unwrap();
    assert!(out.is_complete());
    let targets: Vec<&Identity> = out
        .outputs
        .iter()
        .flat_map(|o| match o {
            GcksOutput::InbandRekeyNeeded { members, .. } => {
                members.iter().map(|(id, _)| id).collect::<Vec<_>>()
            }
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(
        targets,
        vec![&stays.id, &goes.id],
        "the rest, then the excluded"
    );
    let gone = goes.id.clone();
    for m in [&mut stays, &mut goes] {
        let payloads = gcks.inband_rekey_payloads(&m.at_gcks, &group, now).unwrap();
        let (first, bytes) = wire::encode_payloads(&payloads).unwrap();
        let r =
            m.gm.process_inband_rekey(&group, &wire::decode_payloads(first, &bytes).unwrap(), now)
                .unwrap();
        if m.id == gone {
            assert!(r.installs.is_empty(), "no new key");
            assert_eq!(r.removals.len(), 1, "its SA goes");
            assert!(r.excluded.is_some(), "told it is excluded");
            assert!(payloads.iter().any(|p| matches!(&p.body,
                PayloadBody::Delete(d) if d.protocol == ProtocolId::GIKE_UPDATE
                    && d.spi_size == 16 && d.spis == vec![vec![0u8; 16]])));
            assert!(payloads
                .iter()
                .all(|p| !matches!(p.body, PayloadBody::Kd(_) | PayloadBody::Gsa(_))));
        } else {
            assert!(r.excluded.is_none());
            assert_eq!(r.installs.len(), 1, "the new SA");
        }
    }
}

/// The Deletes of a GSA_INBAND_REKEY name what the member holds, also when other rekeys
/// came before the host sent it (review of issue 4, finding 3; K29): the excluded member
/// is told to delete the SA it holds after a forced rekey intervened, and a remaining
/// member that missed one rekey deletes its oldest SA too.
#[test]
fn inband_deletes_name_what_the_member_holds() {
    let mut c = group_config("ib", None);
    c.rekey = None;
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let group = Identity::key_id("ib");
    let mut stays = join(&mut gcks, "ib", "s", true, T0);
    let mut goes = join(&mut gcks, "ib", "g", true, T0);
    let held = |m: &Member| m.gm.membership(&group).unwrap().data_sa_spis.clone();
    let (goes_held, stays_held) = (held(&goes), held(&stays));
    let now = T0.plus_secs(10);
    let gone = goes.id.clone();
    assert!(gcks
        .exclude(&group, std::slice::from_ref(&gone), now)
        .unwrap()
        .is_complete());
    // Another inband rekey before the host got to either IKE SA.
    assert!(!gcks
        .force_rekey(&group, now.plus_secs(1))
        .unwrap()
        .is_empty());
    let later = now.plus_secs(2);
    for m in [&mut goes, &mut stays] {
        let payloads = gcks
            .inband_rekey_payloads(&m.at_gcks, &group, later)
            .unwrap();
        let (first, bytes) = wire::encode_payloads(&payloads).unwrap();
        let r =
            m.gm.process_inband_rekey(
                &group,
                &wire::decode_payloads(first, &bytes).unwrap(),
                later,
            )
            .unwrap();
        let removed: Vec<Vec<u8>> = r.removals.iter().map(|x| x.spi.clone()).collect();
        let before = if m.id == gone {
            assert!(r.excluded.is_some());
            &goes_held
        } else {
            assert!(r.excluded.is_none());
            let now_held = &m.gm.membership(&group).unwrap().data_sa_spis;
            let current = gcks.group(&group).unwrap().data_sa_spis();
            assert!(current.iter().all(|s| now_held.contains(s)));
            &stays_held
        };
        assert!(
            !before.is_empty() && before.iter().all(|s| removed.contains(&s.to_vec())),
            "{} held {before:?}, told to delete {removed:?}",
            m.id
        );
    }
    // Told once: asked again (a host retrying), the key server gives the excluded member
    // nothing, least of all the current keys.
    assert!(matches!(
        gcks.inband_rekey_payloads(&goes.at_gcks, &group, later),
        Err(GcksError::UnknownMember(_))
    ));
}
