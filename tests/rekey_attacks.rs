//! Attacks found by a review of the rekey work, kept as regression tests: each builds the
//! attack and asserts it fails.
use gikev2::crypto::keywrap::{unwrap, wrap, Kwa};
use gikev2::crypto::sign::{SignatureAlg, SigningKey};
use gikev2::crypto::sk::{EncrAlg, SkProtector};
use gikev2::gcks::{Gcks, GcksOutput, GroupConfig, RekeyMessage};
use gikev2::gm::{GmRekeyError, GroupMember, MembershipConfig, RekeySaState, ResponseOutcome};
use gikev2::gsa_rekey::{self, Authenticator};
use gikev2::identity::Identity;
use gikev2::lkh::WrappedKeyIn;
use gikev2::wire::{
    self, EncrId, ExchangeType, GroupKeyBag, GroupKeyBagAttr, GroupPolicy, KdPayload, KeyBag,
    NotifyType, Payload, PayloadBody, ProtocolId, WrappedKey,
};

mod common;

use common::group::{deliver, ike_pair, in_sync, join, join_cfg, join_fragmenting, messages, T0};

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

/// The fragmented exclusion of member f from a signature group of nine (all negotiated
/// IKEv2 fragmentation) that sends each message once.
struct FragmentedExclusion {
    gcks: Gcks,
    group: gikev2::identity::GroupId,
    a: common::group::Member,
    b: common::group::Member,
    /// F's copy of the current Rekey SA (the insider's keys).
    kek1: Kek,
    /// The Message ID the members expect next on it.
    next_id: u32,
    /// KEK change (fragmented), then the TEKs.
    out: Vec<RekeyMessage>,
    t1: gikev2::time::Time,
}

fn fragmented_exclusion() -> FragmentedExclusion {
    let key = SigningKey::generate(SignatureAlg::Ed25519).unwrap();
    let mut c = group_config("g", Some(key));
    c.rekey_behaviour.fragment_size = Some(256);
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let group = Identity::key_id("g");
    let a = join_fragmenting(&mut gcks, "g", "a", false, T0);
    let b = join_fragmenting(&mut gcks, "g", "b", false, T0);
    for i in 0..6 {
        join_fragmenting(&mut gcks, "g", &format!("m{i}"), false, T0);
    }
    let f = join_fragmenting(&mut gcks, "g", "f", false, T0);
    let rs = f.gm.membership(&group).unwrap().rekey.as_ref().unwrap();
    let (kek1, next_id) = (snapshot(rs), rs.next_message_id);
    let t1 = T0.plus_secs(60);
    let out = msgs(
        &gcks
            .exclude(&group, std::slice::from_ref(&f.id), t1)
            .unwrap()
            .outputs,
    );
    assert_eq!(out[0].spi, kek1.spi);
    assert_eq!(out[0].message_id, next_id);
    assert!(
        out[0].datagrams.len() > 2,
        "exclusion message is fragmented"
    );
    FragmentedExclusion {
        gcks,
        group,
        a,
        b,
        kek1,
        next_id,
        out,
        t1,
    }
}

impl FragmentedExclusion {
    /// The member follows the key server: the KEK change was accepted (and nothing else
    /// from the insider), then the TEKs arrive on the new Rekey SA.
    fn assert_follows(&mut self, who: &str) {
        let m = if who == "a" { &mut self.a } else { &mut self.b };
        let ms = m.gm.membership(&self.group).unwrap();
        assert_eq!(
            ms.rekey.as_ref().unwrap().spi,
            self.gcks
                .group(&self.group)
                .unwrap()
                .rekey_sa_spi()
                .unwrap(),
            "{who} follows the key server's KEK change"
        );
        assert_eq!(
            ms.reassembly().candidates(),
            0,
            "{who}: nothing left buffered"
        );
        let r = deliver(m, &self.out[1..], self.t1);
        assert!(r.iter().all(|x| x.is_ok()), "{who}: {r:?}");
        assert!(common::group::in_sync(&self.gcks, m), "{who} in sync");
    }

    /// Fragment `number` of the key server's KEK change with other plaintext octets,
    /// sealed by the insider with the same IKE header and Total Fragments.
    fn poisoned(&self, number: usize) -> Vec<u8> {
        let f = gikev2::protect::open_fragment(
            &self.out[0].datagrams[number - 1],
            &protector(&self.kek1),
        )
        .unwrap();
        let mut chunk = f.chunk.to_vec();
        for b in chunk.iter_mut().take(8) {
            *b ^= 0x5a;
        }
        gikev2::protect::seal_fragment(
            &f.message.header,
            f.inner_first,
            f.number,
            f.total,
            &chunk,
            &protector(&self.kek1),
        )
        .unwrap()
    }
}

/// A7: signature auth. An insider (F, about to be excluded) sends one SKF fragment with
/// the Message ID members expect next and another Total Fragments. Members refused every
/// fragment of the key server's message after it ("Total Fragments changed"), and the
/// forged partial was never evicted.
#[test]
fn a7_forged_fragment_with_another_total_does_not_block_the_next_message() {
    let mut x = fragmented_exclusion();
    let junk = vec![Payload::new(PayloadBody::Notify(
        gikev2::wire::NotifyPayload::new(NotifyType(40000), vec![0; 2000]),
    ))];
    let forged = gsa_rekey::build(
        &x.kek1.spi,
        x.next_id,
        &junk,
        &protector(&x.kek1),
        Authenticator::Implicit,
        Some(256),
    )
    .unwrap();
    assert_ne!(forged.len(), x.out[0].datagrams.len(), "another Total");
    // Before the key server's message (A) and in its middle (B).
    assert!(x
        .a
        .gm
        .process_gsa_rekey(&forged[1], x.t1)
        .unwrap()
        .is_none());
    let (first, rest) = x.out[0].datagrams.split_at(1);
    assert!(x.b.gm.process_gsa_rekey(&first[0], x.t1).unwrap().is_none());
    assert!(x
        .b
        .gm
        .process_gsa_rekey(&forged[1], x.t1)
        .unwrap()
        .is_none());
    let kek_change = &x.out[0].datagrams;
    let ra: Vec<_> = kek_change
        .iter()
        .map(|d| x.a.gm.process_gsa_rekey(d, x.t1))
        .collect();
    let rb: Vec<_> = rest
        .iter()
        .map(|d| x.b.gm.process_gsa_rekey(d, x.t1))
        .collect();
    for (who, r) in [("a", ra), ("b", rb)] {
        let (last, before) = r.split_last().unwrap();
        assert!(
            before.iter().all(|x| matches!(x, Ok(None))),
            "{who}: {before:?}"
        );
        assert!(matches!(last, Ok(Some(_))), "{who}: {last:?}");
    }
    x.assert_follows("a");
    x.assert_follows("b");
}

/// A8: signature auth. The insider sends fragment 2 of the next message with the same
/// header and Total but other octets, before each of the key server's three copies
/// (§2.4.1.3): the slot was taken, every copy reassembled with the forged octets and
/// failed the signature check. Here member A gets the forgery before every copy, member B
/// in the middle of the first (after the real fragment 2).
#[test]
fn a8_poisoned_fragment_slot_does_not_block_the_next_message() {
    let mut x = fragmented_exclusion();
    let poisoned = x.poisoned(2);
    let copies = 3;
    let mut accepted = 0;
    for copy in 0..copies {
        assert!(x.a.gm.process_gsa_rekey(&poisoned, x.t1).is_err() || copy == 0);
        for d in &x.out[0].datagrams {
            match x.a.gm.process_gsa_rekey(d, x.t1) {
                Ok(Some(_)) => accepted += 1,
                Ok(None) => {}
                // Later copies come on the Rekey SA the first one replaced (K12).
                Err(GmRekeyError::RetiredRekeySa { .. }) => assert!(copy > 0),
                Err(e) => panic!("copy {copy}: {e}"),
            }
        }
    }
    assert_eq!(accepted, 1, "the first copy is accepted");
    for (i, d) in x.out[0].datagrams.iter().enumerate() {
        let r = x.b.gm.process_gsa_rekey(d, x.t1);
        if i == 1 {
            assert!(x.b.gm.process_gsa_rekey(&poisoned, x.t1).unwrap().is_none());
        }
        assert_eq!(
            matches!(r, Ok(Some(_))),
            i == x.out[0].datagrams.len() - 1,
            "fragment {i}: {r:?}"
        );
    }
    x.assert_follows("a");
    x.assert_follows("b");
}

/// A9: signature auth. The insider floods a member with fragments (Message IDs at and
/// above the next one, every Total, both headers, poisoned slots of the next message,
/// large chunks): the reassembly buffers stay within their bounds throughout, and the key
/// server's next message still goes through afterwards.
#[test]
fn a9_fragment_flood_stays_within_bounds() {
    use gikev2::gsa_rekey::{
        MAX_BUFFERED_LEN, MAX_CANDIDATES_PER_MESSAGE, MAX_FRAGMENTS, MAX_PARTIAL_MESSAGES,
    };
    for seed in [
        0x2545_f491_4f6c_dd1d_u64,
        0x9e37_79b9_7f4a_7c15,
        0x0123_4567_89ab_cdef,
    ] {
        let mut x = fragmented_exclusion();
        let genuine =
            gikev2::protect::open_fragment(&x.out[0].datagrams[0], &protector(&x.kek1)).unwrap();
        let mut rng = seed;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let mut largest = 0;
        for i in 0..3000 {
            let mut header = genuine.message.header.clone();
            // Poisoned slots of the next message; large messages that fill up; anything.
            let (total, id) = match i % 3 {
                0 => (genuine.total, x.next_id),
                1 => (MAX_FRAGMENTS, x.next_id + 1 + next(10) as u32),
                _ => (
                    2 + next(u64::from(MAX_FRAGMENTS) - 1) as u16,
                    x.next_id + next(12) as u32,
                ),
            };
            header.message_id = id;
            if i % 3 == 2 && next(4) == 0 {
                header.flags = 0x08;
            }
            let number = 1 + next(u64::from(total)) as u16;
            let first = if number == 1 {
                genuine.inner_first
            } else {
                gikev2::wire::PayloadType::NONE
            };
            let len = 1 + next(if i % 3 == 0 { 300 } else { 6000 }) as usize;
            let chunk: Vec<u8> = (0..len).map(|_| next(256) as u8).collect();
            let d = gikev2::protect::seal_fragment(
                &header,
                first,
                number,
                total,
                &chunk,
                &protector(&x.kek1),
            )
            .unwrap();
            let _ = x.a.gm.process_gsa_rekey(&d, x.t1);
            let r = x.a.gm.membership(&x.group).unwrap().reassembly();
            assert!(r.buffered_len() <= MAX_BUFFERED_LEN, "fragment {i}");
            assert!(r.messages() <= MAX_PARTIAL_MESSAGES, "fragment {i}");
            assert!(
                r.candidates() <= MAX_PARTIAL_MESSAGES * MAX_CANDIDATES_PER_MESSAGE,
                "fragment {i}"
            );
            largest = largest.max(r.buffered_len());
        }
        assert!(
            largest > MAX_BUFFERED_LEN * 3 / 4,
            "the flood reached the bound: {largest}"
        );
        // Candidates the flood left may complete with the real fragments and fail first.
        let r = deliver(&mut x.a, &x.out[..1], x.t1);
        assert!(matches!(r.last(), Some(Ok(_))), "seed {seed:x}: {r:?}");
        x.assert_follows("a");
    }
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

/// A10: implicit auth. After its exclusion, F still holds the Rekey SA the exclusion
/// replaced, which the other members kept until GWP_DTD and on which they accepted Delete
/// payloads (the old K12). F sends Delete(ESP, SPI 0) and Delete(GIKE_UPDATE, SPI 0) on it:
/// A believed it was excluded, dropped its current Rekey SA and removed its new TEKs.
/// Nothing on a retired Rekey SA is accepted now, and its expiry is a timer, not a side
/// effect of a rejected message.
#[test]
fn a10_nothing_on_a_retired_rekey_sa_reaches_current_sas() {
    let mut gcks = Gcks::new();
    gcks.add_group(group_config("g", None), T0).unwrap();
    let group = Identity::key_id("g");
    let mut a = join(&mut gcks, "g", "a", true, T0);
    let _b = join(&mut gcks, "g", "b", true, T0);
    let f = join(&mut gcks, "g", "f", true, T0);
    let rs = f.gm.membership(&group).unwrap().rekey.as_ref().unwrap();
    let (kek1, next_id) = (snapshot(rs), rs.next_message_id);
    let t1 = T0.plus_secs(60);
    let out = msgs(
        &gcks
            .exclude(&group, std::slice::from_ref(&f.id), t1)
            .unwrap()
            .outputs,
    );
    assert_eq!(out[0].spi, kek1.spi, "the exclusion travels on KEK1");
    let r = deliver(&mut a, &out, t1);
    assert!(r.iter().all(|x| x.is_ok()), "{r:?}");
    assert!(common::group::in_sync(&gcks, &a));
    let deletes = vec![
        Payload::new(PayloadBody::Delete(wire::DeletePayload {
            protocol: ProtocolId::ESP,
            spi_size: 4,
            spis: vec![vec![0; 4]],
        })),
        Payload::new(PayloadBody::Delete(wire::DeletePayload {
            protocol: ProtocolId::GIKE_UPDATE,
            spi_size: 16,
            spis: vec![vec![0; 16]],
        })),
    ];
    let before = format!("{:?}", a.gm);
    let deadline = a.gm.next_deadline();
    for id in [next_id + 1, next_id + 7, u32::MAX] {
        let forged = gsa_rekey::build(
            &kek1.spi,
            id,
            &deletes,
            &protector(&kek1),
            Authenticator::Implicit,
            None,
        )
        .unwrap();
        for at in [t1.plus_secs(2), t1.plus_secs(60)] {
            let r = a.gm.process_gsa_rekey(&forged[0], at);
            assert!(
                matches!(r, Err(GmRekeyError::RetiredRekeySa { spi, message_id })
                    if spi == kek1.spi && message_id == id),
                "{r:?}"
            );
            assert_eq!(format!("{:?}", a.gm), before, "a rejection changes nothing");
        }
    }
    assert!(common::group::in_sync(&gcks, &a));
    // The retired Rekey SA is forgotten by the timer at its GWP_DTD (10 s), together with
    // its removal; then it is unknown.
    let dtd = t1.plus_secs(10);
    assert_eq!(deadline, Some(dtd));
    let actions = a.gm.on_timeout(dtd);
    assert!(actions.iter().any(|x| matches!(x,
        gikev2::gm::GmAction::RemoveSa { protocol, spi, .. }
            if *protocol == ProtocolId::GIKE_UPDATE && spi[..] == kek1.spi[..])));
    let forged = gsa_rekey::build(
        &kek1.spi,
        next_id + 1,
        &deletes,
        &protector(&kek1),
        Authenticator::Implicit,
        None,
    )
    .unwrap();
    assert!(matches!(
        a.gm.process_gsa_rekey(&forged[0], dtd),
        Err(GmRekeyError::UnknownRekeySa(_))
    ));
    assert!(common::group::in_sync(&gcks, &a));
}

/// A11 (review of issue 4, finding 7): a GSA_REKEY announcing a "new" Rekey SA under the
/// current one's SPI (here the key server's own KEK change, re-sent by someone holding the
/// current KEK with the policy's SPI set to the current one). Accepting it would restart the
/// replay window at GSA_INITIAL_MESSAGE_ID (K8) and retire the SA in use: it is refused
/// and the member's state stays as it was.
#[test]
fn a11_a_new_rekey_sa_under_the_current_spi_is_refused() {
    let mut gcks = Gcks::new();
    gcks.add_group(group_config("g", None), T0).unwrap();
    let group = Identity::key_id("g");
    let mut a = join(&mut gcks, "g", "a", true, T0);
    let _b = join(&mut gcks, "g", "b", true, T0);
    let kek = snapshot(a.gm.membership(&group).unwrap().rekey.as_ref().unwrap());
    let t1 = T0.plus_secs(60);
    let out = msgs(&gcks.force_rekey(&group, t1).unwrap());
    let opened = gikev2::protect::open(&out[0].datagrams[0], &protector(&kek)).unwrap();
    let mut inner = opened.inner.clone();
    for p in inner.iter_mut() {
        match &mut p.body {
            PayloadBody::Gsa(g) => {
                for pol in g.policies.iter_mut() {
                    if let GroupPolicy::Sa(s) = pol {
                        if s.protocol == ProtocolId::GIKE_UPDATE {
                            s.spi = kek.spi.to_vec();
                        }
                    }
                }
            }
            PayloadBody::Kd(kd) => {
                for b in kd.bags.iter_mut() {
                    if let KeyBag::Group(g) = b {
                        if g.protocol == ProtocolId::GIKE_UPDATE {
                            g.spi = kek.spi.to_vec();
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let forged = gsa_rekey::build(
        &kek.spi,
        out[0].message_id,
        &inner,
        &protector(&kek),
        Authenticator::Implicit,
        None,
    )
    .unwrap();
    let before = format!("{:?}", a.gm);
    assert!(
        a.gm.process_gsa_rekey(&forged[0], t1).is_err(),
        "a Rekey SA under the current SPI is refused"
    );
    assert_eq!(format!("{:?}", a.gm), before);
    // The key server's own message still goes through.
    deliver(&mut a, &out, t1);
    assert!(in_sync(&gcks, &a));
}
