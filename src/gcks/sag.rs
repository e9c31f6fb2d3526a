//! Evaluating the member's SAg (RFC 9838 §2.3.3, §2.3.4, §4.3) against the group policy.
//!
//! SAg is advisory: policy is never negotiated. The key server checks that the member can
//! handle the policy it is about to send and answers NO_PROPOSAL_CHOSEN if not.
//!
//! Matching rules (docs/decisions.md R3):
//! - Proposals sharing a Proposal Num form a set; the policy is supported if one set
//!   supports every GSA policy of the group.
//! - Within a proposal of the right protocol, every transform of the policy must be listed,
//!   with equal ID and Key Length. A transform *type* the proposal does not mention at all
//!   is no constraint, except ENCR (ESP, GIKE_UPDATE), INTEG (AH) and KWA (GIKE_UPDATE),
//!   which a member must list (§2.3.3 requires the KWAs).
//! - A GCAUTH Digital Signature transform in SAg without attribute 18 accepts any
//!   signature algorithm; with attribute 18 it names the one it accepts.

use crate::wire::{Proposal, ProtocolId, SaPayload, Transform, TransformAttrType, TransformType};

/// One SA the group will send, reduced to what SAg is compared with.
#[derive(Clone, Debug)]
pub struct RequiredSa {
    /// GIKE_UPDATE, ESP or AH.
    pub protocol: ProtocolId,
    /// The transforms of its GSA policy.
    pub transforms: Vec<Transform>,
}

fn must_list(protocol: ProtocolId, t: TransformType) -> bool {
    matches!(
        (protocol, t),
        (ProtocolId::ESP, TransformType::ENCR)
            | (ProtocolId::GIKE_UPDATE, TransformType::ENCR)
            | (ProtocolId::GIKE_UPDATE, TransformType::KWA)
            | (ProtocolId::AH, TransformType::INTEG)
    )
}

fn sig_alg(t: &Transform) -> Option<&[u8]> {
    t.attributes
        .iter()
        .find(|a| a.attr_type == TransformAttrType::SIGNATURE_ALGORITHM_IDENTIFIER)
        .and_then(|a| a.tlv_value())
}

fn transform_matches(offered: &Transform, required: &Transform) -> bool {
    if offered.transform_type != required.transform_type || offered.id != required.id {
        return false;
    }
    if required.transform_type == TransformType::GCAUTH {
        return match (sig_alg(offered), sig_alg(required)) {
            (None, _) => true,
            (Some(o), Some(r)) => o == r,
            (Some(_), None) => false,
        };
    }
    offered.key_length() == required.key_length()
}

fn proposal_supports(p: &Proposal, req: &RequiredSa) -> bool {
    req.transforms.iter().all(|r| {
        let mut of_type = p.transforms_of(r.transform_type).peekable();
        if of_type.peek().is_none() {
            return !must_list(req.protocol, r.transform_type);
        }
        of_type.any(|o| transform_matches(o, r))
    })
}

/// True if the member's SAg shows it can handle every SA in `required`.
pub fn supports(sag: &SaPayload, required: &[RequiredSa]) -> bool {
    let mut numbers: Vec<u8> = sag.proposals.iter().map(|p| p.number).collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers.iter().any(|n| {
        required.iter().all(|req| {
            sag.proposals
                .iter()
                .filter(|p| p.number == *n && p.protocol == req.protocol)
                .any(|p| proposal_supports(p, req))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Attribute, EncrId, KwaId, SnId};

    fn esp_required() -> RequiredSa {
        RequiredSa {
            protocol: ProtocolId::ESP,
            transforms: vec![
                Transform::new(TransformType::ENCR, EncrId::ENCR_AES_GCM_16.0).with_key_length(256),
                Transform::new(TransformType::SN, SnId::UNSPECIFIED32.0),
            ],
        }
    }

    fn kek_required(sig: &[u8]) -> RequiredSa {
        RequiredSa {
            protocol: ProtocolId::GIKE_UPDATE,
            transforms: vec![
                Transform::new(TransformType::ENCR, EncrId::ENCR_AES_GCM_16.0).with_key_length(256),
                Transform::new(TransformType::KWA, KwaId::KW_5649_256.0),
                Transform::new(TransformType::GCAUTH, 2).with_attribute(Attribute::tlv(
                    TransformAttrType::SIGNATURE_ALGORITHM_IDENTIFIER,
                    sig.to_vec(),
                )),
            ],
        }
    }

    #[test]
    fn matches_same_numbered_set() {
        let sag = SaPayload {
            proposals: vec![
                Proposal::new(
                    1,
                    ProtocolId::ESP,
                    vec![
                        Transform::new(TransformType::ENCR, 20).with_key_length(128),
                        Transform::new(TransformType::ENCR, 20).with_key_length(256),
                        Transform::new(TransformType::SN, 2),
                    ],
                ),
                Proposal::new(
                    1,
                    ProtocolId::GIKE_UPDATE,
                    vec![
                        Transform::new(TransformType::ENCR, 20).with_key_length(256),
                        Transform::new(TransformType::KWA, 3),
                        Transform::new(TransformType::GCAUTH, 2),
                    ],
                ),
            ],
        };
        assert!(supports(&sag, &[esp_required(), kek_required(b"ed")]));
    }

    #[test]
    fn rejects_missing_kwa_wrong_key_length_and_split_sets() {
        let esp_128 = Proposal::new(
            1,
            ProtocolId::ESP,
            vec![Transform::new(TransformType::ENCR, 20).with_key_length(128)],
        );
        let sag = SaPayload {
            proposals: vec![esp_128],
        };
        assert!(!supports(&sag, &[esp_required()]));

        let kek_no_kwa = Proposal::new(
            1,
            ProtocolId::GIKE_UPDATE,
            vec![Transform::new(TransformType::ENCR, 20).with_key_length(256)],
        );
        assert!(!supports(
            &SaPayload {
                proposals: vec![kek_no_kwa]
            },
            &[kek_required(b"ed")]
        ));

        // ESP in set 1, KEK only in set 2: no single set supports both.
        let sag = SaPayload {
            proposals: vec![
                Proposal::new(
                    1,
                    ProtocolId::ESP,
                    vec![Transform::new(TransformType::ENCR, 20).with_key_length(256)],
                ),
                Proposal::new(
                    2,
                    ProtocolId::GIKE_UPDATE,
                    vec![
                        Transform::new(TransformType::ENCR, 20).with_key_length(256),
                        Transform::new(TransformType::KWA, 3),
                    ],
                ),
            ],
        };
        assert!(!supports(&sag, &[esp_required(), kek_required(b"ed")]));
    }

    #[test]
    fn signature_algorithm_attribute_narrows() {
        let with_alg = |alg: &[u8]| SaPayload {
            proposals: vec![Proposal::new(
                1,
                ProtocolId::GIKE_UPDATE,
                vec![
                    Transform::new(TransformType::ENCR, 20).with_key_length(256),
                    Transform::new(TransformType::KWA, 3),
                    Transform::new(TransformType::GCAUTH, 2).with_attribute(Attribute::tlv(
                        TransformAttrType::SIGNATURE_ALGORITHM_IDENTIFIER,
                        alg.to_vec(),
                    )),
                ],
            )],
        };
        assert!(supports(&with_alg(b"ed"), &[kek_required(b"ed")]));
        assert!(!supports(&with_alg(b"ec"), &[kek_required(b"ed")]));
    }
}
