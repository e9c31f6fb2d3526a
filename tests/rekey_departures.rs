//! Members that leave (GSA_REGISTRATION with a leave notify, RFC 9838 §2.3.2) free their
//! leaf without a rekey; the next KEK change must cut them off (forward access control,
//! §3.2.1). These tests check that it does, also when so many left that their paths do not
//! fit one KD payload (docs/decisions.md L10: one KEK change per budget's worth, all before
//! the new TEKs) and for a join with backward access control (L11).
//!
//! A leaver here keeps every key it held (it never processes the key server's answer), as
//! a dishonest one would, and is fed every later GSA_REKEY.

use gikev2::executor::{Executor, SharedExecutor};
use gikev2::gcks::{Gcks, GcksError, GcksOutput, RekeyMessage};
use gikev2::gm::{join_payloads, GroupMember, MembershipConfig, ResponseOutcome};
use gikev2::gsa_rekey::{MAX_DATAGRAM_LEN, MAX_FRAGMENTS};
use gikev2::identity::Identity;
use gikev2::lkh::LkhError;
use gikev2::time::Time;
use gikev2::wire::{ExchangeType, NotifyType};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

mod common;

use common::group::{
    deliver, group_config, ike_pair, in_sync, join, join_cfg, join_fragmenting, join_with,
    messages, Member, T0,
};

/// `m` leaves `group` by GSA_REGISTRATION and keeps its keys.
fn leave(gcks: &mut Gcks, m: &mut Member, now: Time) {
    let req =
        m.gm.leave_request(&m.cfg.group, NotifyType::REGISTRATION_FAILED);
    let r = gcks.handle_request(&m.at_gcks, ExchangeType::GSA_REGISTRATION, &req, now);
    assert!(r.notify().is_none(), "{:?}", r.notify());
}

/// Members of `group` that left and whose paths are still to be refreshed.
fn departed(gcks: &Gcks, group: &gikev2::identity::GroupId) -> usize {
    gcks.group(group)
        .unwrap()
        .key_tree()
        .unwrap()
        .departed_count()
}

/// Owned copies of the GSA_REKEY messages among `out`.
fn owned(out: &[GcksOutput]) -> Vec<RekeyMessage> {
    messages(out).into_iter().cloned().collect()
}

/// Every member of `current` processes all of `msgs` without error and ends in sync;
/// every member of `gone` (left or excluded) ends out of sync and holds none of the
/// group's current Data-Security SAs.
fn check(gcks: &Gcks, current: &mut [Member], gone: &mut [Member], msgs: &[RekeyMessage]) {
    let t = T0;
    for m in current.iter_mut() {
        let r = deliver(m, msgs, t);
        assert_eq!(r.len(), msgs.len(), "{}", m.id);
        assert!(r.iter().all(|x| x.is_ok()), "{}: {r:?}", m.id);
        assert!(in_sync(gcks, m), "{} out of sync", m.id);
    }
    for m in gone.iter_mut() {
        deliver(m, msgs, t);
        assert!(!in_sync(gcks, m), "{} (left) in sync", m.id);
        let g = gcks.group(&m.cfg.group).unwrap();
        if let Some(ms) = m.gm.membership(&m.cfg.group) {
            assert!(
                g.data_sa_spis()
                    .iter()
                    .all(|s| !ms.data_sa_spis.contains(s)),
                "{} (left) holds a current TEK",
                m.id
            );
        }
    }
}

/// Every datagram fits: one datagram of at most 65,503 octets, or at most 64 fragments of
/// at most `fragment_size` (RFC 9838 §2.4.1.2, docs/decisions.md K20).
fn fits(msgs: &[RekeyMessage], fragment_size: Option<usize>) {
    for m in msgs {
        match fragment_size {
            None => assert!(m.datagrams.len() == 1 && m.datagrams[0].len() <= MAX_DATAGRAM_LEN),
            Some(f) => assert!(
                m.datagrams.len() <= usize::from(MAX_FRAGMENTS)
                    && m.datagrams.iter().all(|d| d.len() <= f)
            ),
        }
    }
}

/// The review's reproduction (20,000 members, degree 4): after 2,857 leaves the paths to
/// refresh need about 15,000 WRAP_KEYs, 790 KB in one Member Key Bag whose limit is
/// 65,535 octets, so every KEK change failed and the group died. Now the exclusion, a
/// forced rekey and the periodic rekey each send several KEK changes, then the TEKs; a
/// sample of members follows every message, the sampled leavers and the excluded member
/// are cut off.
#[test]
fn many_departures_do_not_stop_exclusions_or_rekeys() {
    let mut c = group_config("g", None);
    c.rekey_behaviour.lkh_degree = 4;
    c.rekey_behaviour.retransmissions = 0;
    c.capacity = 100_000;
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let group = Identity::key_id("g");
    let mut cfg = MembershipConfig::receiver(group.clone());
    cfg.accept.implicit_auth = true;
    let req = join_payloads(&cfg);
    // Every 97th member is a full GroupMember (`real`, with its index); the others exist
    // at the key server only (`ctxs`).
    let mut real: Vec<(usize, Member)> = Vec::new();
    let mut ctxs = Vec::new();
    for i in 0..20_000 {
        let name = format!("m{i}");
        if i % 97 == 0 {
            real.push((i, join(&mut gcks, "g", &name, true, T0)));
            ctxs.push(None);
        } else {
            let (at_gcks, _) = ike_pair(&name, "x");
            let r = gcks.handle_request(&at_gcks, ExchangeType::GSA_AUTH, &req, T0);
            assert!(r.notify().is_none(), "{:?}", r.notify());
            ctxs.push(Some(at_gcks));
        }
    }
    let victim = real.remove(0).1;
    let mut gone: Vec<Member> = Vec::new();
    // Members with index i % 7 == r leave; the full ones keep their keys.
    let mut leave_class = |gcks: &mut Gcks, real: &mut Vec<(usize, Member)>, r: usize| {
        let bye = gikev2::gm::leave_payloads(&group, NotifyType::REGISTRATION_FAILED);
        let mut left = 0;
        for (i, ctx) in ctxs.iter().enumerate() {
            if let (Some(ctx), true) = (ctx, i % 7 == r) {
                let resp = gcks.handle_request(ctx, ExchangeType::GSA_REGISTRATION, &bye, T0);
                assert!(resp.notify().is_none());
                left += 1;
            }
        }
        let (go, stay): (Vec<_>, Vec<_>) = std::mem::take(real)
            .into_iter()
            .partition(|(i, _)| i % 7 == r);
        *real = stay;
        for (_, mut m) in go {
            leave(gcks, &mut m, T0);
            gone.push(m);
            left += 1;
        }
        left
    };
    let follow = |gcks: &Gcks, real: &mut Vec<(usize, Member)>, msgs: &[RekeyMessage]| {
        assert!(msgs.len() > 10, "{} messages", msgs.len());
        fits(msgs, None);
        let current: Vec<Member> = real.drain(..).map(|(_, m)| m).collect();
        let g = gcks.group(&group).unwrap();
        assert!(!g.teks_owed() && g.key_tree().unwrap().departed_count() == 0);
        current
    };

    // 1. An exclusion.
    assert!(leave_class(&mut gcks, &mut real, 3) > 2_800);
    let t1 = T0.plus_secs(1);
    let done = gcks
        .exclude(&group, std::slice::from_ref(&victim.id), t1)
        .unwrap();
    assert!(done.is_complete(), "{:?}", done.not_excluded);
    assert_eq!(done.excluded, vec![victim.id.clone()]);
    let msgs = owned(&done.outputs);
    let indices: Vec<usize> = real.iter().map(|(i, _)| *i).collect();
    let mut current = follow(&gcks, &mut real, &msgs);
    let mut out = vec![victim];
    check(&gcks, &mut current, &mut out, &msgs);
    let mut real: Vec<(usize, Member)> = indices.into_iter().zip(current).collect();

    // 2. A forced rekey.
    assert!(leave_class(&mut gcks, &mut real, 5) > 2_800);
    let msgs = owned(&gcks.force_rekey(&group, T0.plus_secs(2)).unwrap());
    let indices: Vec<usize> = real.iter().map(|(i, _)| *i).collect();
    let mut current = follow(&gcks, &mut real, &msgs);
    check(&gcks, &mut current, &mut out, &msgs);
    let mut real: Vec<(usize, Member)> = indices.into_iter().zip(current).collect();

    // 3. The periodic rekey.
    assert!(leave_class(&mut gcks, &mut real, 1) > 2_800);
    let due = gcks.next_deadline().unwrap();
    let msgs = owned(&gcks.on_timeout(due));
    let mut current = follow(&gcks, &mut real, &msgs);
    check(&gcks, &mut current, &mut out, &msgs);
    assert!(
        gcks.next_deadline().unwrap() > due.plus_secs(600),
        "rekeyed"
    );
    // The leavers of all three rounds are cut off.
    check(&gcks, &mut current, &mut gone, &[]);
    assert!(gone.len() > 60);
}

/// A group whose members all negotiated IKEv2 fragmentation with 256-octet fragments: a
/// KEK change may carry about 78 WRAP_KEYs (64 fragments). 40 of 128 members leave; the
/// periodic rekey cuts them off in several KEK changes, each within 64 fragments, and only
/// then sends the new TEKs. Every remaining member follows all of them.
#[test]
fn a_periodic_rekey_cuts_off_many_leavers_in_several_kek_changes() {
    let mut c = group_config("p", None);
    c.rekey_behaviour.lkh_degree = 4;
    c.rekey_behaviour.retransmissions = 0;
    c.rekey_behaviour.fragment_size = Some(256);
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let group = Identity::key_id("p");
    let mut current: Vec<Member> = (0..128)
        .map(|i| join_fragmenting(&mut gcks, "p", &format!("p{i}"), true, T0))
        .collect();
    let mut gone = Vec::new();
    for k in (0..40).rev() {
        let mut m = current.remove(3 * k + 1);
        leave(&mut gcks, &mut m, T0);
        gone.push(m);
    }
    assert_eq!(departed(&gcks, &group), 40);
    let due = gcks.next_deadline().unwrap();
    let msgs = owned(&gcks.on_timeout(due));
    assert!(msgs.len() >= 3, "{} messages", msgs.len());
    fits(&msgs, Some(256));
    // The TEKs come last, once: every earlier message changes only the KEK.
    let old_spis: Vec<[u8; 16]> = msgs.iter().map(|m| m.spi).collect();
    assert!(
        old_spis.windows(2).all(|w| w[0] != w[1]),
        "each on the KEK the previous one created"
    );
    let m0 = &mut current[0];
    let results = deliver(m0, &msgs, due);
    let (last, kek_changes) = results.split_last().unwrap();
    assert!(kek_changes.iter().all(|r| {
        let r = r.as_ref().unwrap();
        r.installs.is_empty() && r.new_rekey_sa.is_some()
    }));
    assert!(!last.as_ref().unwrap().installs.is_empty());
    check(&gcks, &mut current[1..], &mut gone, &msgs);
    assert!(in_sync(&gcks, &current[0]));
    let g = gcks.group(&group).unwrap();
    assert!(!g.teks_owed() && g.key_tree().unwrap().departed_count() == 0);
}

/// An exclusion in several chunks (K9) while many members have left, with 256-octet
/// fragments (about 78 WRAP_KEYs per KEK change): each chunk also refreshes as many
/// departed paths as fit, the rest follow in KEK changes of their own, and the TEKs come
/// last. Excluded members and leavers are cut off, the others follow. (All departed
/// paths in the first chunk would need more than 64 fragments.)
#[test]
fn an_exclusion_in_chunks_also_cuts_off_leavers() {
    let mut c = group_config("x", None);
    c.rekey_behaviour.lkh_degree = 4;
    c.rekey_behaviour.retransmissions = 0;
    c.rekey_behaviour.fragment_size = Some(256);
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let group = Identity::key_id("x");
    let mut current: Vec<Member> = (0..400)
        .map(|i| join_fragmenting(&mut gcks, "x", &format!("x{i}"), true, T0))
        .collect();
    // 40 neighbours to exclude (two chunks, 32 + 8, of few new keys each), and 120
    // leavers spread over the rest of the tree.
    let victims: Vec<Member> = current.drain(..40).collect();
    let mut gone = Vec::new();
    for k in (0..120).rev() {
        let mut m = current.remove(3 * k + 1);
        leave(&mut gcks, &mut m, T0);
        gone.push(m);
    }
    let ids: Vec<Identity> = victims.iter().map(|m| m.id.clone()).collect();
    let t1 = T0.plus_secs(1);
    let done = gcks.exclude(&group, &ids, t1).unwrap();
    assert!(done.is_complete());
    assert_eq!(done.excluded.len(), 40);
    let msgs = owned(&done.outputs);
    assert!(msgs.len() >= 4, "{} messages", msgs.len());
    fits(&msgs, Some(256));
    gone.extend(victims);
    check(&gcks, &mut current, &mut gone, &msgs);
    assert_eq!(departed(&gcks, &group), 0);
}

/// The review's reproduction of bug 2: two members leave, a newcomer joins with backward
/// access control. The KEK change made for the join wrapped the new KEK under top-level
/// keys the leavers still held, so they followed it and read the new TEKs. Now the join's
/// plan replaces their paths too (docs/decisions.md L11).
#[test]
fn a_join_with_backward_access_control_cuts_off_members_that_left() {
    let mut c = group_config("b", None);
    c.rekey_behaviour.backward_access_control = true;
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let group = Identity::key_id("b");
    let mut ms: Vec<Member> = Vec::new();
    for i in 0..4 {
        let mut cfg = MembershipConfig::receiver(group.clone());
        cfg.accept.implicit_auth = true;
        let (m, resp) = join_cfg(&mut gcks, &format!("b{i}"), cfg, true, T0);
        for old in ms.iter_mut() {
            deliver(old, &resp.rekeys, T0);
        }
        ms.push(m);
    }
    for m in &ms {
        assert!(in_sync(&gcks, m));
    }
    let mut gone = vec![ms.remove(2), ms.remove(1)];
    for m in gone.iter_mut() {
        leave(&mut gcks, m, T0);
    }
    let t1 = T0.plus_secs(1);
    let mut cfg = MembershipConfig::receiver(group.clone());
    cfg.accept.implicit_auth = true;
    let (newcomer, resp) = join_cfg(&mut gcks, "newcomer", cfg, true, t1);
    assert_eq!(resp.rekeys.len(), 2, "KEK change, then TEKs");
    check(&gcks, &mut ms, &mut gone, &resp.rekeys);
    assert!(in_sync(&gcks, &newcomer));
    assert_eq!(departed(&gcks, &group), 0);
}

/// A join with backward access control after more departures than one KEK change can
/// carry (256-octet fragments, about 78 WRAP_KEYs): the join's KEK change refreshes what
/// fits, further KEK changes the rest, then the TEKs, all before the newcomer's response.
/// The newcomer cannot read any of them, the members follow, the leavers are cut off.
#[test]
fn a_join_with_backward_access_control_after_many_departures() {
    let mut c = group_config("n", None);
    c.rekey_behaviour.lkh_degree = 4;
    c.rekey_behaviour.backward_access_control = true;
    c.rekey_behaviour.fragment_size = Some(256);
    c.rekey_behaviour.retransmissions = 0;
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let group = Identity::key_id("n");
    let mut current: Vec<Member> = Vec::new();
    for i in 0..100 {
        let mut cfg = MembershipConfig::receiver(group.clone());
        cfg.accept.implicit_auth = true;
        let (m, resp) = join_with(&mut gcks, &format!("n{i}"), cfg, true, true, T0);
        for old in current.iter_mut() {
            deliver(old, &resp.rekeys, T0);
        }
        current.push(m);
    }
    let mut gone = Vec::new();
    // Spread over the whole tree: every level-1 node loses a member.
    for k in (0..33).rev() {
        let mut m = current.remove(3 * k + 1);
        leave(&mut gcks, &mut m, T0);
        gone.push(m);
    }
    let t1 = T0.plus_secs(1);
    let mut cfg = MembershipConfig::receiver(group.clone());
    cfg.accept.implicit_auth = true;
    let (mut newcomer, resp) = join_with(&mut gcks, "late", cfg, true, true, t1);
    assert!(resp.rekeys.len() >= 3, "{} messages", resp.rekeys.len());
    fits(&resp.rekeys, Some(256));
    for m in &resp.rekeys {
        for d in &m.datagrams {
            assert!(newcomer.gm.process_gsa_rekey(d, t1).is_err());
        }
    }
    assert!(in_sync(&gcks, &newcomer));
    check(&gcks, &mut current, &mut gone, &resp.rekeys);
    assert_eq!(departed(&gcks, &group), 0);
}

/// Skips every job of its `fail_at`-th run (counting from 1), so the wraps of that KEK
/// change fail; runs the others in order.
struct FailsOnce {
    runs: Arc<AtomicUsize>,
    fail_at: usize,
}

impl Executor for FailsOnce {
    fn parallelism(&self) -> usize {
        2
    }
    fn run(&self, n: usize, job: &(dyn Fn(usize) + Sync)) {
        if self.runs.fetch_add(1, Ordering::SeqCst) + 1 != self.fail_at {
            (0..n).for_each(job);
        }
    }
}

/// A KEK change for departed members fails (its wraps cannot be made) after the exclusion
/// and the first such change went out (docs/decisions.md K15, K17, L9): the messages built
/// so far are returned and the members follow them; the failed change left the tree as
/// they hold it; no TEKs go out while leavers still hold the KEK. At the retry the
/// remaining leavers are cut off, then the TEKs follow.
#[test]
fn a_failed_departure_chunk_changes_nothing_and_is_retried_before_the_teks() {
    let mut c = group_config("f", None);
    c.rekey_behaviour.lkh_degree = 4;
    c.rekey_behaviour.retransmissions = 0;
    c.capacity = 10_000;
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let group = Identity::key_id("f");
    let mut cfg = MembershipConfig::receiver(group.clone());
    cfg.accept.implicit_auth = true;
    let req = join_payloads(&cfg);
    let mut current: Vec<Member> = Vec::new();
    let mut gone: Vec<Member> = Vec::new();
    let bye = gikev2::gm::leave_payloads(&group, NotifyType::REGISTRATION_FAILED);
    for i in 0..4_000 {
        let name = format!("f{i}");
        if i % 50 == 0 {
            let mut m = join(&mut gcks, "f", &name, true, T0);
            if i % 100 == 50 {
                leave(&mut gcks, &mut m, T0);
                gone.push(m);
            } else {
                current.push(m);
            }
        } else {
            let (at_gcks, _) = ike_pair(&name, "x");
            let r = gcks.handle_request(&at_gcks, ExchangeType::GSA_AUTH, &req, T0);
            assert!(r.notify().is_none());
            if i % 5 == 2 {
                gcks.handle_request(&at_gcks, ExchangeType::GSA_REGISTRATION, &bye, T0);
            }
        }
    }
    assert!(departed(&gcks, &group) > 800);
    // Run 1: the exclusion's KEK change; run 2: the first departed-only one; run 3 fails.
    let runs = Arc::new(AtomicUsize::new(0));
    gcks.set_executor(SharedExecutor::new(FailsOnce {
        runs: runs.clone(),
        fail_at: 3,
    }));
    let victim = current.remove(1);
    let t1 = T0.plus_secs(1);
    let done = gcks
        .exclude(&group, std::slice::from_ref(&victim.id), t1)
        .unwrap();
    assert_eq!(done.excluded, vec![victim.id.clone()]);
    assert!(done.not_excluded.is_none());
    assert!(
        matches!(
            done.teks_deferred,
            Some(GcksError::Lkh(LkhError::Executor(_)))
        ),
        "{:?}",
        done.teks_deferred
    );
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    let msgs = owned(&done.outputs);
    assert_eq!(msgs.len(), 2, "two KEK changes, no TEKs");
    gone.push(victim);
    let g = gcks.group(&group).unwrap();
    assert!(g.teks_owed());
    assert!(
        departed(&gcks, &group) > 0,
        "some leavers still hold the KEK"
    );
    let old_teks = g.data_sa_spis();
    // The members follow both KEK changes: the tree is as they hold it.
    for m in current.iter_mut() {
        let r = deliver(m, &msgs, t1);
        assert!(r.iter().all(|x| x.is_ok()), "{}", m.id);
        assert!(in_sync(&gcks, m), "{}", m.id);
        let ms = m.gm.membership(&group).unwrap();
        assert!(old_teks.iter().all(|s| ms.data_sa_spis.contains(s)));
    }
    for m in gone.iter_mut() {
        deliver(m, &msgs, t1);
    }
    // The retry: the remaining leavers first, then the TEKs.
    let retry = gcks.next_deadline().unwrap();
    assert_eq!(retry, t1.plus_secs(5));
    let msgs = owned(&gcks.on_timeout(retry));
    assert!(msgs.len() >= 2, "{} messages", msgs.len());
    fits(&msgs, None);
    check(&gcks, &mut current, &mut gone, &msgs);
    let g = gcks.group(&group).unwrap();
    assert!(!g.teks_owed() && departed(&gcks, &group) == 0);
    assert!(g.data_sa_spis().iter().all(|s| !old_teks.contains(s)));
}

/// A newcomer whose backward-access-control KEK change cannot be built (its wraps fail)
/// is refused, and the join is undone (docs/decisions.md K15, L9, L11): the tree is as the
/// members hold it, the leavers' paths the join's plan took are still to be refreshed, no
/// message went out, and the next rekey reaches every member and cuts off the leavers.
#[test]
fn a_join_whose_kek_change_fails_is_undone() {
    let mut c = group_config("u", None);
    c.rekey_behaviour.lkh_degree = 4;
    c.rekey_behaviour.backward_access_control = true;
    c.rekey_behaviour.retransmissions = 0;
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let group = Identity::key_id("u");
    let mut cfg = MembershipConfig::receiver(group.clone());
    cfg.accept.implicit_auth = true;
    let mut current: Vec<Member> = Vec::new();
    let mut gone: Vec<Member> = Vec::new();
    // Members that follow everything first, then members at the key server only; every
    // join is a KEK change and new TEKs (backward access control).
    for i in 0..20 {
        let (m, resp) = join_cfg(&mut gcks, &format!("u{i}"), cfg.clone(), true, T0);
        for old in current.iter_mut() {
            deliver(old, &resp.rekeys, T0);
        }
        current.push(m);
    }
    let req = join_payloads(&cfg);
    let mut bulk = Vec::new();
    for i in 0..600 {
        let (at_gcks, _) = ike_pair(&format!("v{i}"), "x");
        let r = gcks.handle_request(&at_gcks, ExchangeType::GSA_AUTH, &req, T0);
        assert!(r.notify().is_none());
        for m in current.iter_mut() {
            deliver(m, &r.rekeys, T0);
        }
        bulk.push(at_gcks);
    }
    let bye = gikev2::gm::leave_payloads(&group, NotifyType::REGISTRATION_FAILED);
    for ctx in bulk.iter().step_by(5) {
        gcks.handle_request(ctx, ExchangeType::GSA_REGISTRATION, &bye, T0);
    }
    for k in (0..5).rev() {
        let mut m = current.remove(4 * k);
        leave(&mut gcks, &mut m, T0);
        gone.push(m);
    }
    let tree = gcks.group(&group).unwrap().key_tree().unwrap();
    let before = (tree.key_ids(), tree.departed_count(), tree.member_count());
    let keys: Vec<Vec<u8>> = before
        .0
        .iter()
        .map(|&id| tree.key(id).unwrap().as_bytes().to_vec())
        .collect();
    let state = |gcks: &Gcks| {
        let g = gcks.group(&group).unwrap();
        (
            g.rekey_sa_spi(),
            g.next_rekey_message_id(),
            g.data_sa_spis(),
        )
    };
    let sas = state(&gcks);
    let runs = Arc::new(AtomicUsize::new(0));
    gcks.set_executor(SharedExecutor::new(FailsOnce {
        runs: runs.clone(),
        fail_at: 1,
    }));
    let t1 = T0.plus_secs(1);
    let (at_gcks, at_gm) = ike_pair("refused", "rekey test");
    let mut gm = GroupMember::new(at_gm);
    let resp = gcks.handle_request(&at_gcks, ExchangeType::GSA_AUTH, &gm.join_request(&cfg), t1);
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "the join's plan used the executor"
    );
    assert_eq!(resp.notify(), Some(NotifyType::REGISTRATION_FAILED));
    assert!(resp.rekeys.is_empty(), "nothing to send");
    assert!(!matches!(
        gm.process_response(&group, &resp.payloads, t1),
        Ok(ResponseOutcome::Registered(_))
    ));
    let tree = gcks.group(&group).unwrap().key_tree().unwrap();
    let after = (tree.key_ids(), tree.departed_count(), tree.member_count());
    // Every key of the tree is still there, unchanged (the join's unused leaf aside).
    for (id, key) in before.0.iter().zip(&keys) {
        assert_eq!(tree.key(*id).unwrap().as_bytes(), &key[..], "key {id}");
    }
    assert!(after.0.len() <= before.0.len() + 1);
    assert_eq!((after.1, after.2), (before.1, before.2));
    assert_eq!(state(&gcks), sas);
    for m in &current {
        assert!(in_sync(&gcks, m));
    }
    // The next rekey (the executor works again) reaches everyone and cuts off the leavers.
    let msgs = owned(&gcks.force_rekey(&group, t1.plus_secs(1)).unwrap());
    check(&gcks, &mut current, &mut gone, &msgs);
    assert_eq!(departed(&gcks, &group), 0);
}

/// A batch exclusion of members spread over the tree with 256-octet fragments (about 78
/// WRAP_KEYs per KEK change, K30): 32 such members would need about 200 wrapped keys in
/// one KEK change, more than 64 fragments. The chunks are cut by the budget as well as by
/// K9's 32 members (docs/decisions.md K32), so the exclusion succeeds in more, smaller
/// KEK changes, every one within the fragment limit, and the excluded members are cut off.
#[test]
fn a_batch_of_spread_members_is_cut_into_chunks_that_fit_the_fragments() {
    let mut c = group_config("s", None);
    c.rekey_behaviour.lkh_degree = 4;
    c.rekey_behaviour.retransmissions = 0;
    c.rekey_behaviour.fragment_size = Some(256);
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let group = Identity::key_id("s");
    let mut current: Vec<Member> = (0..4000)
        .map(|i| join_fragmenting(&mut gcks, "s", &format!("s{i}"), true, T0))
        .collect();
    let budget = gcks.group(&group).unwrap().wrap_key_budget();
    assert!(budget < 100, "budget {budget}");
    // Every hundredth member: no two victims share a node below the third level.
    let mut gone = Vec::new();
    for k in (0..40).rev() {
        gone.push(current.remove(100 * k));
    }
    let ids: Vec<Identity> = gone.iter().map(|m| m.id.clone()).collect();
    let done = gcks.exclude(&group, &ids, T0.plus_secs(1)).unwrap();
    assert!(done.is_complete(), "{:?}", done.not_excluded);
    assert_eq!(done.excluded.len(), 40);
    let msgs = owned(&done.outputs);
    // More KEK changes than K9's two chunks of 32 and 8, then the TEKs.
    assert!(msgs.len() > 3, "{} messages", msgs.len());
    fits(&msgs, Some(256));
    check(&gcks, &mut current, &mut gone, &msgs);
}

/// Backward access control when everybody has left (review of issue 4, finding 1): A
/// joins, holds the group's TEKs and KEK, and leaves without a rekey. B then joins the
/// empty group: nobody is left to tell, but B must not receive the keys that protected
/// A's traffic, so the group gets new SAs and a new key tree first, sent to nobody
/// (docs/decisions.md L12). Without backward access control B gets the old ones.
#[test]
fn a_newcomer_to_a_group_everybody_left_gets_new_keys() {
    for backward in [true, false] {
        let mut c = group_config("e", None);
        c.rekey_behaviour.backward_access_control = backward;
        let mut gcks = Gcks::new();
        gcks.add_group(c, T0).unwrap();
        let group = Identity::key_id("e");
        let mut a = join(&mut gcks, "e", "a", true, T0);
        let a_teks = a.gm.membership(&group).unwrap().data_sa_spis.clone();
        let a_kek = a.gm.membership(&group).unwrap().rekey.as_ref().unwrap().spi;
        leave(&mut gcks, &mut a, T0.plus_secs(60));
        let (b, resp) = join_cfg(
            &mut gcks,
            "b",
            MembershipConfig::receiver(group.clone()),
            true,
            T0.plus_secs(120),
        );
        assert!(resp.notify().is_none());
        assert!(resp.rekeys.is_empty(), "nobody to tell");
        let b_m = b.gm.membership(&group).unwrap();
        let shares_tek = b_m.data_sa_spis.iter().any(|s| a_teks.contains(s));
        let shares_kek = b_m.rekey.as_ref().unwrap().spi == a_kek;
        assert_eq!(shares_tek, !backward, "TEKs, backward {backward}");
        assert_eq!(shares_kek, !backward, "KEK, backward {backward}");
        assert!(in_sync(&gcks, &b));
        // A third member joins B's group normally: B is told by GSA_REKEY and follows.
        if backward {
            let mut b = b;
            let (c, resp) = join_cfg(
                &mut gcks,
                "c",
                MembershipConfig::receiver(group.clone()),
                true,
                T0.plus_secs(130),
            );
            assert!(!resp.rekeys.is_empty());
            let r = deliver(&mut b, &resp.rekeys, T0.plus_secs(130));
            assert!(r.iter().all(|x| x.is_ok()), "{r:?}");
            assert!(in_sync(&gcks, &b) && in_sync(&gcks, &c));
        }
    }
}

/// Backward access control in a group without a Rekey SA (inband rekey only): the
/// existing members get new Data-Security SAs by GSA_INBAND_REKEY (the registration
/// response names them) and the newcomer gets only those (docs/decisions.md L12).
#[test]
fn backward_access_control_in_an_inband_group() {
    let mut c = group_config("ib", None);
    c.rekey = None;
    c.rekey_behaviour.backward_access_control = true;
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let group = Identity::key_id("ib");
    let mut a = join(&mut gcks, "ib", "a", true, T0);
    let a_teks = a.gm.membership(&group).unwrap().data_sa_spis.clone();
    let (b, resp) = join_cfg(
        &mut gcks,
        "b",
        MembershipConfig::receiver(group.clone()),
        true,
        T0.plus_secs(5),
    );
    assert!(resp.notify().is_none());
    let b_teks = b.gm.membership(&group).unwrap().data_sa_spis.clone();
    assert!(
        b_teks.iter().all(|s| !a_teks.contains(s)),
        "B holds A's TEKs"
    );
    match &resp.inband {
        Some(GcksOutput::InbandRekeyNeeded { members, .. }) => {
            assert_eq!(
                members.iter().map(|(id, _)| id).collect::<Vec<_>>(),
                vec![&a.id]
            );
        }
        other => panic!("no inband rekey for A: {other:?}"),
    }
    // A receives the new SAs over its IKE SA and then holds B's.
    let now = T0.plus_secs(6);
    let payloads = gcks.inband_rekey_payloads(&a.at_gcks, &group, now).unwrap();
    let r = a.gm.process_inband_rekey(&group, &payloads, now).unwrap();
    assert_eq!(r.installs.len(), 1);
    let a_now = &a.gm.membership(&group).unwrap().data_sa_spis;
    assert!(b_teks.iter().all(|s| a_now.contains(s)));
    // Without backward access control nobody is rekeyed.
    let mut c = group_config("ib2", None);
    c.rekey = None;
    let mut gcks = Gcks::new();
    gcks.add_group(c, T0).unwrap();
    let a = join(&mut gcks, "ib2", "a", true, T0);
    let (_, resp) = join_cfg(
        &mut gcks,
        "b",
        MembershipConfig::receiver(Identity::key_id("ib2")),
        true,
        T0,
    );
    assert!(resp.inband.is_none());
    drop(a);
}
