//! The member's side of GSA_AUTH and GSA_REGISTRATION requests (RFC 9838 §2.3.1,
//! §2.3.2): IDg, SAg and GROUP_SENDER; and the request that leaves a group.

use super::config::{MembershipConfig, SenderRole};
use crate::crypto::keywrap::Kwa;
use crate::crypto::sk::EncrAlg;
use crate::identity::GroupId;
use crate::wire::{
    Attribute, GcAuthId, IntegId, NotifyPayload, NotifyType, Payload, PayloadBody, Proposal,
    ProtocolId, SaPayload, Transform, TransformAttrType, TransformType,
};

/// True for integrity algorithms the SK layer of GSA_REKEY implements.
pub(crate) fn rekey_integ_supported(i: IntegId) -> bool {
    matches!(
        i,
        IntegId::AUTH_HMAC_SHA2_256_128
            | IntegId::AUTH_HMAC_SHA2_384_192
            | IntegId::AUTH_HMAC_SHA2_512_256
    )
}

/// SAg (RFC 9838 §4.3): one proposal per protocol, all numbered 1 (no dependencies),
/// SPI Size 0, listing every accepted transform; AEAD and non-AEAD may mix in SAg.
pub fn build_sag(cfg: &MembershipConfig) -> SaPayload {
    let a = &cfg.accept;
    let encr: Vec<Transform> = a.encr.iter().map(|e| e.transform()).collect();
    let integ: Vec<Transform> = a
        .integ
        .iter()
        .map(|i| Transform::new(TransformType::INTEG, i.0))
        .collect();
    let sn: Vec<Transform> =
        a.sn.iter()
            .map(|s| Transform::new(TransformType::SN, s.0))
            .collect();

    let esp = [encr.clone(), integ.clone(), sn.clone()].concat();
    let ah = [integ.clone(), sn].concat();

    let mut kek: Vec<Transform> = a
        .encr
        .iter()
        .filter(|e| EncrAlg::from_transform(e.id.0, e.key_bits).is_some())
        .map(|e| e.transform())
        .collect();
    kek.extend(
        a.integ
            .iter()
            .filter(|i| rekey_integ_supported(**i))
            .map(|i| Transform::new(TransformType::INTEG, i.0)),
    );
    kek.extend(
        a.kwa
            .iter()
            .filter(|k| **k != Kwa::KwArx)
            .map(|k| Transform::new(TransformType::KWA, k.id())),
    );
    if a.implicit_auth {
        kek.push(Transform::new(TransformType::GCAUTH, GcAuthId::IMPLICIT.0));
    }
    kek.extend(a.signature_algs.iter().map(|s| {
        Transform::new(TransformType::GCAUTH, GcAuthId::DIGITAL_SIGNATURE.0).with_attribute(
            Attribute::tlv(
                TransformAttrType::SIGNATURE_ALGORITHM_IDENTIFIER,
                s.algorithm_identifier().to_vec(),
            ),
        )
    }));
    SaPayload {
        proposals: vec![
            Proposal::new(1, ProtocolId::ESP, esp),
            Proposal::new(1, ProtocolId::AH, ah),
            Proposal::new(1, ProtocolId::GIKE_UPDATE, kek),
        ],
    }
}

/// The group payloads of a join request (GSA_AUTH after IDi/AUTH, or GSA_REGISTRATION):
/// IDg, SAg, and N(GROUP_SENDER) when the member will send.
pub fn join_payloads(cfg: &MembershipConfig) -> Vec<Payload> {
    let mut out = vec![
        Payload::new(PayloadBody::IdG(cfg.group.to_payload())),
        Payload::new(PayloadBody::Sa(build_sag(cfg))),
    ];
    if let SenderRole::Sender { sender_ids, .. } = cfg.role {
        out.push(Payload::new(PayloadBody::Notify(
            NotifyPayload::group_sender(sender_ids.max(1)),
        )));
    }
    out
}

/// A GSA_REGISTRATION that leaves `group`: IDg and N(REGISTRATION_FAILED), or
/// N(NO_PROPOSAL_CHOSEN) to say the policy was unacceptable (RFC 9838 §2.3.2).
pub fn leave_payloads(group: &GroupId, reason: NotifyType) -> Vec<Payload> {
    vec![
        Payload::new(PayloadBody::IdG(group.to_payload())),
        Payload::new(PayloadBody::Notify(NotifyPayload::new(reason, Vec::new()))),
    ]
}
