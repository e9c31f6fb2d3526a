//! RFC 9838 Appendix A (LKH) through the protocol stack: a `Gcks` group with the tree of
//! A.2, members A..H registered over GSA_AUTH and GSA_REGISTRATION and processed by real
//! `GroupMember`s, the simple rekey of A.3 and the exclusion of F (A.4) as GSA_REKEY
//! datagrams.
//!
//! The KD payloads are checked from the octets that travel: registration responses from the
//! encoded payload chain, GSA_REKEY messages after opening their SK payload here with the
//! Rekey SA keys (`protect::open`), not by the member code. The test also follows every key
//! path itself: it unwraps the wire attributes with the keys it learned from earlier ones
//! (starting from each IKE SA's GSK_w) and compares the result with the key server's KEK.
//!
//! `tests/lkh_appendix_a.rs` reproduces the same appendix on `LkhTree` alone.
//!
//! Where the stack differs from the appendix (docs/decisions.md K25, K6): the simple rekey
//! of A.3 wraps the new KEK under the two top-level keys rather than under GSK_w, and every
//! KEK change is followed by a second message with the new TEKs. Both are asserted
//! separately, and the members are also shown to accept the A.3 message in the appendix's
//! own form.

use std::collections::BTreeMap;

use gikev2::crypto::keywrap::{unwrap, wrap, Kwa};
use gikev2::gcks::{Gcks, GcksError, GroupConfig, RekeyMessage};
use gikev2::gm::{GmRekeyError, Membership, MembershipConfig, RekeyResult};
use gikev2::gsa_rekey::Authenticator;
use gikev2::identity::{GroupId, Identity};
use gikev2::protect;
use gikev2::time::Time;
use gikev2::wire::{
    ExchangeType, GroupKeyBag, GroupKeyBagAttr, GroupPolicy, KdPayload, KeyBag, MemberKeyBagAttr,
    Payload, PayloadBody, PayloadType, ProtocolId, WrappedKey,
};

mod common;

use common::group::{
    deliver, forged, group_config, messages, register, rekey_protector, Member, T0,
};

const GROUP: &str = "appendix-a";
/// The key wrap algorithm of the Rekey SA and of every IKE SA in `common::group`.
const KWA: Kwa = Kwa::Kw5649_256;
/// GSK_w is the last 32 octets of a Rekey SA's KEYMAT (RFC 9838 §3.4).
const GSK_W_LEN: usize = 32;

/// A.2: the Working Key Path of each member after everyone joined.
const A2_PATHS: [(char, [u32; 3]); 8] = [
    ('A', [1, 3, 7]),
    ('B', [1, 3, 8]),
    ('C', [1, 4, 9]),
    ('D', [1, 4, 10]),
    ('E', [2, 5, 11]),
    ('F', [2, 5, 12]),
    ('G', [2, 6, 13]),
    ('H', [2, 6, 14]),
];

/// A.4: the Working Key Paths after F's exclusion (E's path as §4.2 gives it, 15->16->11;
/// the appendix prints 16->15->11, docs/decisions.md L5).
const A4_PATHS: [(char, [u32; 3]); 7] = [
    ('A', [1, 3, 7]),
    ('B', [1, 3, 8]),
    ('C', [1, 4, 9]),
    ('D', [1, 4, 10]),
    ('E', [15, 16, 11]),
    ('G', [15, 6, 13]),
    ('H', [15, 6, 14]),
];

fn group_id() -> GroupId {
    Identity::key_id(GROUP)
}

/// The group of Appendix A: LKH degree 2 and a tree built for 8 members, so Key IDs come
/// out as in A.2 (1-2 top, 3-6, leaves 7-14). Implicit GSA_REKEY authentication: the
/// appendix concerns keys only.
fn appendix_config() -> GroupConfig {
    let mut c = group_config(GROUP, None);
    c.rekey_behaviour.lkh_degree = 2;
    c.rekey_behaviour.lkh_initial_capacity = Some(8);
    // Retransmissions are the same octets (K7); one copy is enough here.
    c.rekey_behaviour.retransmissions = 0;
    c
}

/// One key bag as it appears on the wire: (Key ID, KWK ID) of each wrapped key, in order.
#[derive(Debug, PartialEq, Eq)]
enum Bag {
    /// A Group Key Bag: protocol, SPI, SA_KEYs.
    Group(ProtocolId, Vec<u8>, Vec<(u32, u32)>),
    /// The Member Key Bag: WRAP_KEYs (any other attribute fails the test).
    Member(Vec<(u32, u32)>),
}

fn layout(kd: &KdPayload) -> Vec<Bag> {
    kd.bags
        .iter()
        .map(|b| match b {
            KeyBag::Group(g) => Bag::Group(
                g.protocol,
                g.spi.clone(),
                g.attributes
                    .iter()
                    .map(|a| match a {
                        GroupKeyBagAttr::SaKey(k) => (k.key_id, k.kwk_id),
                        other => panic!("unexpected Group Key Bag attribute {other:?}"),
                    })
                    .collect(),
            ),
            KeyBag::Member(m) => Bag::Member(
                m.attributes
                    .iter()
                    .map(|a| match a {
                        MemberKeyBagAttr::WrapKey(k) => (k.key_id, k.kwk_id),
                        other => panic!("unexpected Member Key Bag attribute {other:?}"),
                    })
                    .collect(),
            ),
            other => panic!("unexpected key bag {other:?}"),
        })
        .collect()
}

/// The KD payload of an encoded payload chain, found by walking the generic payload
/// headers (Next Payload, Payload Length) and decoded with the codec's KD decoder.
fn kd_from_wire(first: PayloadType, octets: &[u8]) -> KdPayload {
    let (mut next, mut at, mut found) = (first, 0usize, Vec::new());
    while next != PayloadType::NONE {
        let header = &octets[at..at + 4];
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        assert!(len >= 4 && at + len <= octets.len(), "payload at {at}");
        if next == PayloadType::KD {
            found.push(KdPayload::decode_body(&octets[at + 4..at + len]).unwrap());
        }
        next = PayloadType(header[0]);
        at += len;
    }
    assert_eq!(at, octets.len(), "the chain covers the octets");
    assert_eq!(found.len(), 1, "one KD payload");
    found.remove(0)
}

fn the_kd(inner: &[Payload]) -> &KdPayload {
    let mut kds = inner.iter().filter_map(|p| match &p.body {
        PayloadBody::Kd(kd) => Some(kd),
        _ => None,
    });
    let kd = kds.next().expect("a KD payload");
    assert!(kds.next().is_none(), "one KD payload");
    kd
}

fn kinds(inner: &[Payload]) -> Vec<PayloadType> {
    inner.iter().map(|p| p.body.payload_type()).collect()
}

/// The wrapped key (Key ID, KWK ID) of a KD payload (SA_KEY or WRAP_KEY).
fn attr(kd: &KdPayload, key_id: u32, kwk_id: u32) -> &WrappedKey {
    let group = kd.group_bags().flat_map(GroupKeyBag::sa_keys);
    let member = kd.member_bags().flat_map(|m| m.wrap_keys());
    group
        .chain(member)
        .find(|k| (k.key_id, k.kwk_id) == (key_id, kwk_id))
        .unwrap_or_else(|| panic!("no wrapped key ({key_id}, {kwk_id})"))
}

/// The LKH keys the test learned by unwrapping wire attributes itself, by Key ID.
#[derive(Default)]
struct Learned(BTreeMap<u32, Vec<u8>>);

impl Learned {
    fn get(&self, id: u32) -> &[u8] {
        self.0
            .get(&id)
            .unwrap_or_else(|| panic!("key {id} not learned"))
    }

    /// Unwraps `w` under `kwk` with `kwa` and records it as key `w.key_id`; a Key ID learned
    /// twice must name the same key (docs/decisions.md L1).
    fn learn(&mut self, kwa: Kwa, kwk: &[u8], w: &WrappedKey) -> Vec<u8> {
        let key = unwrap(kwa, kwk, &w.encrypted).unwrap().as_bytes().to_vec();
        assert_eq!(key.len(), KWA.kwk_len(), "key {}", w.key_id);
        if let Some(old) = self.0.insert(w.key_id, key.clone()) {
            assert!(old == key, "key {} learned with two values", w.key_id);
        }
        key
    }
}

struct Appendix {
    gcks: Gcks,
    members: Vec<Member>,
    learned: Learned,
}

impl Appendix {
    fn member(&mut self, name: char) -> &mut Member {
        let id = Identity::fqdn(&name.to_string());
        self.members.iter_mut().find(|m| m.id == id).unwrap()
    }

    fn rekey_spi(&self) -> [u8; 16] {
        self.gcks
            .group(&group_id())
            .unwrap()
            .rekey_sa_spi()
            .unwrap()
    }

    fn rekey_keymat(&self) -> Vec<u8> {
        let g = self.gcks.group(&group_id()).unwrap();
        g.rekey_sa_keymat().unwrap().as_bytes().to_vec()
    }

    fn tek_spis(&self) -> Vec<[u8; 4]> {
        self.gcks.group(&group_id()).unwrap().data_sa_spis()
    }

    fn membership(&self, name: char) -> &Membership {
        let id = Identity::fqdn(&name.to_string());
        let m = self.members.iter().find(|m| m.id == id).unwrap();
        m.gm.membership(&group_id()).unwrap()
    }

    fn path(&self, name: char) -> Vec<u32> {
        self.membership(name).working_path.ids()
    }

    fn assert_paths(&self, expected: &[(char, [u32; 3])]) {
        for (name, path) in expected {
            assert_eq!(
                self.path(*name),
                path.to_vec(),
                "Working Key Path of {name}"
            );
        }
    }
}

/// A.2: the group is created and A..H register in order (even ones with GSA_AUTH, odd ones
/// with GSA_REGISTRATION). Each response's KD is checked from the wire octets and its key
/// path followed independently down to K_sa1.
fn a2_registrations() -> Appendix {
    let mut gcks = Gcks::new();
    gcks.add_group(appendix_config(), T0).unwrap();
    let mut a = Appendix {
        gcks,
        members: Vec::new(),
        learned: Learned::default(),
    };
    let spi1 = a.rekey_spi();
    let keymat1 = a.rekey_keymat();
    let tek = a.tek_spis();
    assert_eq!(tek.len(), 1);
    for (i, &(name, [top, mid, leaf])) in A2_PATHS.iter().enumerate() {
        let exchange = if i % 2 == 0 {
            ExchangeType::GSA_AUTH
        } else {
            ExchangeType::GSA_REGISTRATION
        };
        let cfg = MembershipConfig::receiver(group_id());
        let r = register(&mut a.gcks, &name.to_string(), cfg, exchange, true, T0);
        assert!(r.response.rekeys.is_empty(), "{name}: no rekey on joining");
        let kd = kd_from_wire(r.first, &r.octets);
        // KD( GP(SA1)( top{K_sa1} ), MP( mid{top}, leaf{mid}, GSK_w{leaf} ) ), e.g. for A
        // SA_KEY(0,1) WRAP_KEY(1,3) WRAP_KEY(3,7) WRAP_KEY(7,0). The Group Key Bag of the
        // Data-Security SA (SA_KEY(0,0) under the IKE SA's GSK_w) is not in the appendix,
        // which shows only the Rekey SA.
        assert_eq!(
            layout(&kd),
            vec![
                Bag::Group(ProtocolId::GIKE_UPDATE, spi1.to_vec(), vec![(0, top)]),
                Bag::Group(ProtocolId::ESP, tek[0].to_vec(), vec![(0, 0)]),
                Bag::Member(vec![(top, mid), (mid, leaf), (leaf, 0)]),
            ],
            "registration KD of {name}"
        );

        // Follow the path: GSK_w (of the IKE SA) -> leaf -> mid -> top -> K_sa1.
        let ike = &r.member.at_gcks;
        let leaf_key = a
            .learned
            .learn(ike.kwa, ike.gsk_w().as_bytes(), attr(&kd, leaf, 0));
        let mid_key = a.learned.learn(KWA, &leaf_key, attr(&kd, mid, leaf));
        let top_key = a.learned.learn(KWA, &mid_key, attr(&kd, top, mid));
        let k_sa1 = unwrap(KWA, &top_key, &attr(&kd, 0, top).encrypted).unwrap();
        assert!(k_sa1.as_bytes() == keymat1.as_slice(), "{name}: K_sa1");
        // The TEK under the IKE SA's GSK_w.
        let tek_keymat = unwrap(ike.kwa, ike.gsk_w().as_bytes(), &attr(&kd, 0, 0).encrypted);
        let g = a.gcks.group(&group_id()).unwrap();
        assert!(tek_keymat.unwrap().as_bytes() == g.data_sa_keymat(&tek[0]).unwrap().as_bytes());

        // The member built the same path from the same octets.
        let ms = r.member.gm.membership(&group_id()).unwrap();
        assert_eq!(ms.working_path.ids(), vec![top, mid, leaf], "{name}");
        assert_eq!(ms.rekey.as_ref().map(|r| r.spi), Some(spi1), "{name}");
        a.members.push(r.member);
    }
    assert_eq!(a.gcks.group(&group_id()).unwrap().member_count(), 8);
    assert_eq!(
        a.learned.0.keys().copied().collect::<Vec<_>>(),
        (1..=14).collect::<Vec<u32>>(),
        "the tree of A.2: nodes 1-6, leaves 7-14"
    );
    a.assert_paths(&A2_PATHS);
    a
}

/// Opens one GSA_REKEY datagram with the KEYMAT of the Rekey SA it travels on, here rather
/// than in the member code, and checks the header.
fn open_rekey(msg: &RekeyMessage, keymat: &[u8]) -> Vec<Payload> {
    assert_eq!(msg.datagrams.len(), 1, "not fragmented");
    let opened = protect::open(&msg.datagrams[0], &rekey_protector(keymat)).unwrap();
    let h = &opened.message.header;
    assert_eq!(h.exchange, ExchangeType::GSA_REKEY);
    assert_eq!(h.spi_pair(), msg.spi);
    assert_eq!(h.message_id, msg.message_id);
    opened.inner
}

/// The second message of a KEK change (docs/decisions.md K6): on the new Rekey SA, the new
/// TEK, SA_KEY(0,0) under that Rekey SA's GSK_w, and a Delete of the old one.
fn assert_tek_message(a: &Appendix, msg: &RekeyMessage, old_tek: [u8; 4]) {
    let keymat = a.rekey_keymat();
    assert_eq!(msg.spi, a.rekey_spi(), "TEKs travel on the new Rekey SA");
    let inner = open_rekey(msg, &keymat);
    assert_eq!(
        kinds(&inner),
        [PayloadType::GSA, PayloadType::KD, PayloadType::D]
    );
    let tek = a.tek_spis();
    assert_eq!(tek.len(), 1);
    assert_ne!(tek[0], old_tek);
    let kd = the_kd(&inner);
    assert_eq!(
        layout(kd),
        vec![Bag::Group(ProtocolId::ESP, tek[0].to_vec(), vec![(0, 0)])]
    );
    let gsk_w = &keymat[keymat.len() - GSK_W_LEN..];
    let got = unwrap(KWA, gsk_w, &attr(kd, 0, 0).encrypted).unwrap();
    let g = a.gcks.group(&group_id()).unwrap();
    assert!(got.as_bytes() == g.data_sa_keymat(&tek[0]).unwrap().as_bytes());
    match &inner[2].body {
        PayloadBody::Delete(d) => {
            assert_eq!(d.protocol, ProtocolId::ESP);
            assert_eq!(d.spis, vec![old_tek.to_vec()]);
        }
        other => panic!("{other:?}"),
    }
}

/// The KEK policy of a KEK-change message names the new Rekey SA.
fn assert_kek_policy(inner: &[Payload], new_spi: [u8; 16]) {
    let PayloadBody::Gsa(gsa) = &inner[0].body else {
        panic!("GSA first")
    };
    assert_eq!(gsa.policies.len(), 1, "only the KEK changes");
    match &gsa.policies[0] {
        GroupPolicy::Sa(p) => {
            assert_eq!(p.protocol, ProtocolId::GIKE_UPDATE);
            assert_eq!(p.spi, new_spi.to_vec());
        }
        other => panic!("{other:?}"),
    }
}

/// A KEK change and its TEK message as every member takes them: the first installs the new
/// Rekey SA and nothing else, the second (on that Rekey SA) the new TEK.
fn assert_kek_then_tek(name: char, results: &[Result<RekeyResult, GmRekeyError>], spi: [u8; 16]) {
    assert_eq!(results.len(), 2, "{name}");
    let kek = results[0].as_ref().unwrap();
    assert!(kek.excluded.is_none(), "{name}");
    assert!(kek.installs.is_empty(), "{name}: no TEK with the KEK");
    assert_eq!(
        kek.new_rekey_sa.as_ref().map(|r| r.spi),
        Some(spi),
        "{name}"
    );
    let tek = results[1].as_ref().unwrap();
    assert_eq!(tek.installs.len(), 1, "{name}");
    assert!(tek.new_rekey_sa.is_none(), "{name}");
}

/// A.3 as `Gcks` sends it (docs/decisions.md K25): the new KEK under the top-level keys 1
/// and 2, then the TEK message. Returns the two messages, delivered to nobody yet.
fn a3_messages(a: &mut Appendix, now: Time) -> (Vec<RekeyMessage>, Vec<u8>) {
    let (spi1, keymat1, tek1) = (a.rekey_spi(), a.rekey_keymat(), a.tek_spis()[0]);
    let out = a.gcks.force_rekey(&group_id(), now).unwrap();
    let msgs: Vec<RekeyMessage> = messages(&out).into_iter().cloned().collect();
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(msgs.len(), 2, "KEK change, then TEKs (K6)");
    let (spi2, keymat2) = (a.rekey_spi(), a.rekey_keymat());
    assert_ne!(spi2, spi1);

    // The KEK change, on SA1: KD( GP(SA2)( 1{K_sa2}, 2{K_sa2} ) ) where the appendix has
    // KD( GP(SA2)( GSK_w{K_sa2} ) ), i.e. SA_KEY(0,0).
    assert_eq!(msgs[0].spi, spi1);
    let inner = open_rekey(&msgs[0], &keymat1);
    assert_eq!(kinds(&inner), [PayloadType::GSA, PayloadType::KD]);
    assert_kek_policy(&inner, spi2);
    let kd = the_kd(&inner);
    assert_eq!(
        layout(kd),
        vec![Bag::Group(
            ProtocolId::GIKE_UPDATE,
            spi2.to_vec(),
            vec![(0, 1), (0, 2)]
        )],
        "no Member Key Bag: no key of the tree changes"
    );
    for top in [1, 2] {
        let k = unwrap(KWA, a.learned.get(top), &attr(kd, 0, top).encrypted).unwrap();
        assert!(k.as_bytes() == keymat2.as_slice(), "K_sa2 under {top}");
    }
    assert_tek_message(a, &msgs[1], tek1);
    (msgs, keymat1)
}

/// A.3 delivered: every member takes the new KEK and the new TEK; no path changes.
fn a3_deliver(a: &mut Appendix, kek: &RekeyMessage, tek: &RekeyMessage, now: Time) {
    let spi2 = a.rekey_spi();
    for (name, _) in A2_PATHS {
        let results = deliver(a.member(name), &[kek, tek], now);
        assert_kek_then_tek(name, &results, spi2);
        let ms = a.membership(name);
        assert_eq!(ms.rekey.as_ref().map(|r| r.spi), Some(spi2), "{name}");
    }
    a.assert_paths(&A2_PATHS);
}

/// A.4: `Gcks::exclude` of F. The KEK change is exactly the appendix's; the test follows
/// each remaining member's chain itself; then every member processes both messages.
fn a4_exclude_f(a: &mut Appendix, now: Time) {
    let (spi2, keymat2, tek2) = (a.rekey_spi(), a.rekey_keymat(), a.tek_spis()[0]);
    let f = Identity::fqdn("F");
    let out = a
        .gcks
        .exclude(&group_id(), std::slice::from_ref(&f), now)
        .unwrap();
    assert!(out.is_complete(), "{out:?}");
    assert_eq!(out.excluded, vec![f.clone()]);
    let msgs: Vec<RekeyMessage> = messages(&out.outputs).into_iter().cloned().collect();
    assert_eq!(out.outputs.len(), 2, "{out:?}");
    assert_eq!(msgs.len(), 2, "KEK change, then TEKs (§3.2.1, K6)");
    let (spi3, keymat3) = (a.rekey_spi(), a.rekey_keymat());
    assert_ne!(spi3, spi2);
    assert_eq!(a.gcks.group(&group_id()).unwrap().member_count(), 7);

    // KD( GP(SA3)( 1{K_sa3}, 15{K_sa3} ), MP( 6{15}, 16{15}, 11{16} ) )
    // wire: SA_KEY(0,1) SA_KEY(0,15) WRAP_KEY(15,6) WRAP_KEY(15,16) WRAP_KEY(16,11)
    assert_eq!(msgs[0].spi, spi2, "on the Rekey SA everybody holds");
    let inner = open_rekey(&msgs[0], &keymat2);
    assert_eq!(kinds(&inner), [PayloadType::GSA, PayloadType::KD]);
    assert_kek_policy(&inner, spi3);
    let kd = the_kd(&inner);
    assert_eq!(
        layout(kd),
        vec![
            Bag::Group(
                ProtocolId::GIKE_UPDATE,
                spi3.to_vec(),
                vec![(0, 1), (0, 15)]
            ),
            Bag::Member(vec![(15, 6), (15, 16), (16, 11)]),
        ]
    );
    // Nothing is wrapped under a key F holds: GSK_w of SA2 (KWK ID 0), 2, 5, 12.
    let kwks: Vec<u32> = layout(kd)
        .into_iter()
        .flat_map(|b| match b {
            Bag::Group(_, _, v) | Bag::Member(v) => v,
        })
        .map(|(_, kwk)| kwk)
        .collect();
    assert!(kwks.iter().all(|k| ![0, 2, 5, 12].contains(k)), "{kwks:?}");

    // A-D: 1{K_sa3}. G, H: 6 -> 15 -> K_sa3. E: 11 -> 16 -> 15 -> K_sa3.
    let via_1 = unwrap(KWA, a.learned.get(1), &attr(kd, 0, 1).encrypted).unwrap();
    assert!(via_1.as_bytes() == keymat3.as_slice(), "K_sa3 under 1");
    let k6 = a.learned.get(6).to_vec();
    let k11 = a.learned.get(11).to_vec();
    let k15 = a.learned.learn(KWA, &k6, attr(kd, 15, 6));
    let k16 = a.learned.learn(KWA, &k11, attr(kd, 16, 11));
    assert!(
        a.learned.learn(KWA, &k16, attr(kd, 15, 16)) == k15,
        "E's 15"
    );
    let via_15 = unwrap(KWA, &k15, &attr(kd, 0, 15).encrypted).unwrap();
    assert!(via_15.as_bytes() == keymat3.as_slice(), "K_sa3 under 15");

    assert_tek_message(a, &msgs[1], tek2);
    let tek3 = a.tek_spis()[0];

    // Every member gets both datagrams.
    for (name, _) in A2_PATHS {
        let results = deliver(a.member(name), &msgs, now);
        if name == 'F' {
            // F holds none of 1, 6, 11: it finds no chain to K_sa3 and knows it is
            // excluded; the TEK message is on a Rekey SA it does not have.
            let first = results[0].as_ref().unwrap();
            assert!(first.excluded.is_some(), "F detects its exclusion");
            assert!(first.installs.is_empty() && first.new_rekey_sa.is_none());
            assert!(
                matches!(&results[1], Err(GmRekeyError::UnknownRekeySa(s)) if *s == spi3),
                "{:?}",
                results[1]
            );
            let ms = a.membership('F');
            assert!(ms.rekey.is_none(), "F keeps no Rekey SA");
            assert!(!ms.data_sa_spis.contains(&tek3), "F has not the new TEK");
            assert_eq!(
                ms.working_path.ids(),
                vec![2, 5, 12],
                "F's path is unchanged"
            );
        } else {
            // Accepting the TEK message, whose ICV is under GSK_e of SA3 and whose TEK is
            // wrapped under GSK_w of SA3, shows the member holds SA3's keys; all remaining
            // members accept the same octets, so they hold the same KEK.
            assert_kek_then_tek(name, &results, spi3);
            let ms = a.membership(name);
            assert_eq!(ms.rekey.as_ref().map(|r| r.spi), Some(spi3), "{name}");
            assert!(ms.data_sa_spis.contains(&tek3), "{name}");
        }
    }
    a.assert_paths(&A4_PATHS);
}

/// After A.4 the seven remaining members follow the next rekey on SA3; F does not.
fn next_rekey_reaches_the_seven(a: &mut Appendix, now: Time) {
    let spi3 = a.rekey_spi();
    let out = a.gcks.force_rekey(&group_id(), now).unwrap();
    let msgs = messages(&out);
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].spi, spi3);
    let spi4 = a.rekey_spi();
    for (name, _) in A2_PATHS {
        let results = deliver(a.member(name), &msgs, now);
        if name == 'F' {
            assert!(results
                .iter()
                .all(|r| matches!(r, Err(GmRekeyError::UnknownRekeySa(_)))));
        } else {
            assert_kek_then_tek(name, &results, spi4);
        }
    }
    a.assert_paths(&A4_PATHS);
}

#[test]
fn appendix_a_through_gcks_and_members() {
    let mut a = a2_registrations();
    let t1 = T0.plus_secs(60);
    let (msgs, _) = a3_messages(&mut a, t1);
    a3_deliver(&mut a, &msgs[0], &msgs[1], t1);
    let t2 = T0.plus_secs(120);
    a4_exclude_f(&mut a, t2);
    next_rekey_reaches_the_seven(&mut a, T0.plus_secs(180));
}

/// The A.3 message in the appendix's own form, KD( GP(SA2)( GSK_w{K_sa2} ) ) with
/// SA_KEY(0,0) under SA1's GSK_w, built here in place of the key server's (same new Rekey
/// SA, same Message ID) and sent on SA1: members accept it, keep their paths, and then take
/// the key server's TEK message and the exclusion of F as before.
#[test]
fn appendix_a3_in_the_rfc_form() {
    let mut a = a2_registrations();
    let t1 = T0.plus_secs(60);
    let (msgs, keymat1) = a3_messages(&mut a, t1);
    let (spi2, keymat2) = (a.rekey_spi(), a.rekey_keymat());
    let mut inner = open_rekey(&msgs[0], &keymat1);
    let gsk_w1 = &keymat1[keymat1.len() - GSK_W_LEN..];
    let rfc_kd = KdPayload {
        bags: vec![KeyBag::Group(GroupKeyBag {
            protocol: ProtocolId::GIKE_UPDATE,
            spi: spi2.to_vec(),
            attributes: vec![GroupKeyBagAttr::SaKey(WrappedKey {
                key_id: 0,
                kwk_id: 0,
                encrypted: wrap(KWA, gsk_w1, &keymat2).unwrap(),
            })],
        })],
    };
    inner[1] = Payload::new(PayloadBody::Kd(rfc_kd));
    let rfc = RekeyMessage {
        datagrams: vec![forged(
            &msgs[0].spi,
            msgs[0].message_id,
            &inner,
            &keymat1,
            Authenticator::Implicit,
        )],
        ..msgs[0].clone()
    };
    // On the wire: SA_KEY(0,0) only.
    let kd = the_kd(&open_rekey(&rfc, &keymat1)).clone();
    assert_eq!(
        layout(&kd),
        vec![Bag::Group(
            ProtocolId::GIKE_UPDATE,
            spi2.to_vec(),
            vec![(0, 0)]
        )]
    );
    a3_deliver(&mut a, &rfc, &msgs[1], t1);
    a4_exclude_f(&mut a, T0.plus_secs(120));
}

/// Without `lkh_initial_capacity` the key server builds the tree for `lkh_degree` members
/// and grows it, so the same eight joins get other Key IDs than the appendix; and a tree
/// larger than the group's capacity is refused.
#[test]
fn appendix_ids_need_the_prebuilt_tree() {
    let mut c = appendix_config();
    c.rekey_behaviour.lkh_initial_capacity = None;
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let mut paths = Vec::new();
    for (name, _) in A2_PATHS {
        let cfg = MembershipConfig::receiver(group_id());
        let r = register(
            &mut gcks,
            &name.to_string(),
            cfg,
            ExchangeType::GSA_AUTH,
            true,
            T0,
        );
        paths.push(
            r.member
                .gm
                .membership(&group_id())
                .unwrap()
                .working_path
                .ids(),
        );
    }
    assert_eq!(paths[0], vec![1], "A alone in a tree of two leaves");
    assert_eq!(paths[7].len(), 3);
    assert_ne!(paths[7], vec![2, 6, 14]);

    let mut c = appendix_config();
    c.capacity = 7;
    assert!(matches!(
        Gcks::new().add_group(c, T0),
        Err(GcksError::Config(_))
    ));
}
