//! Open enums for every IKEv2 / G-IKEv2 registry the codec touches.
//!
//! Each registry is a newtype over its wire integer with named constants, so unknown code
//! points survive a decode/encode round trip (the shape of ipsec-parser's `newtype_enum!`).
//! Values come from the IANA IKEv2 registries and RFC 9838 §9 only.

use std::fmt;

/// Declares an open enum: a newtype with named constants, `name()`, and Debug/Display
/// that print the IANA name or the number.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident($repr:ty) {
            $( $(#[$vmeta:meta])* $variant:ident = $value:expr, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub $repr);

        #[allow(non_upper_case_globals)]
        impl $name {
            $( $(#[$vmeta])* pub const $variant: $name = $name($value); )*

            /// The IANA name of this code point, if it is one the crate knows.
            pub fn name(self) -> Option<&'static str> {
                #[allow(unreachable_patterns)]
                match self.0 {
                    $( $value => Some(stringify!($variant)), )*
                    _ => None,
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}({})", stringify!($name), self.0),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}({})", n, self.0),
                    None => write!(f, "{}", self.0),
                }
            }
        }

        impl From<$repr> for $name {
            fn from(v: $repr) -> Self {
                $name(v)
            }
        }

        impl From<$name> for $repr {
            fn from(v: $name) -> $repr {
                v.0
            }
        }
    };
}

open_enum! {
    /// IKEv2 Exchange Types (RFC 7296 §3.1; RFC 9838 §9.2 adds 39-42).
    ExchangeType(u8) {
        /// RFC 7296.
        IKE_SA_INIT = 34,
        /// RFC 7296.
        IKE_AUTH = 35,
        /// RFC 7296.
        CREATE_CHILD_SA = 36,
        /// RFC 7296.
        INFORMATIONAL = 37,
        /// RFC 5723.
        IKE_SESSION_RESUME = 38,
        /// RFC 9838 §2.3.1.
        GSA_AUTH = 39,
        /// RFC 9838 §2.3.2.
        GSA_REGISTRATION = 40,
        /// RFC 9838 §2.4.1.
        GSA_REKEY = 41,
        /// RFC 9838 §2.4.2.
        GSA_INBAND_REKEY = 42,
        /// RFC 9242.
        IKE_INTERMEDIATE = 43,
        /// RFC 9370.
        IKE_FOLLOWUP_KE = 44,
        /// Pairwise set-up through the key server (project, private use; shared/spec/pairwise.md §2).
        GKMS_PAIR = 241,
    }
}

open_enum! {
    /// IKEv2 Payload Types (RFC 7296 §3.2; RFC 9838 §4 adds 50-52, SAg shares 33).
    PayloadType(u8) {
        /// No next payload.
        NONE = 0,
        /// Security Association (also SAg, RFC 9838 §4.3).
        SA = 33,
        /// Key Exchange.
        KE = 34,
        /// Identification - Initiator.
        IDi = 35,
        /// Identification - Responder.
        IDr = 36,
        /// Certificate.
        CERT = 37,
        /// Certificate Request.
        CERTREQ = 38,
        /// Authentication.
        AUTH = 39,
        /// Nonce.
        NONCE = 40,
        /// Notify.
        N = 41,
        /// Delete.
        D = 42,
        /// Vendor ID.
        V = 43,
        /// Traffic Selector - Initiator.
        TSi = 44,
        /// Traffic Selector - Responder.
        TSr = 45,
        /// Encrypted and Authenticated.
        SK = 46,
        /// Configuration.
        CP = 47,
        /// Extensible Authentication.
        EAP = 48,
        /// Generic Secure Password Methods (RFC 6467).
        GSPM = 49,
        /// Group Identification (RFC 9838 §4.2).
        IDg = 50,
        /// Group Security Association (RFC 9838 §4.4).
        GSA = 51,
        /// Key Download (RFC 9838 §4.5).
        KD = 52,
        /// Encrypted and Authenticated Fragment (RFC 7383).
        SKF = 53,
        /// Puzzle Solution (RFC 8019).
        PS = 54,
    }
}

open_enum! {
    /// IKEv2 Security Protocol Identifiers (RFC 7296 §3.3.1; RFC 9838 §4.4.2 adds 6).
    ///
    /// In GSA policy and KD substructures the first octet is this value, with 0 meaning
    /// the GW policy or the Member Key Bag.
    ProtocolId(u8) {
        /// Reserved; in GSA/KD: GW policy or Member Key Bag.
        NONE = 0,
        /// IKE.
        IKE = 1,
        /// AH.
        AH = 2,
        /// ESP.
        ESP = 3,
        /// FC_ESP_HEADER (RFC 4595).
        FC_ESP_HEADER = 4,
        /// FC_CT_AUTHENTICATION (RFC 4595).
        FC_CT_AUTHENTICATION = 5,
        /// GIKE_UPDATE: the Rekey SA (RFC 9838 §2.3.3).
        GIKE_UPDATE = 6,
    }
}

open_enum! {
    /// IKEv2 Transform Types (RFC 7296 §3.3.2; RFC 9370; RFC 9838 adds 13 and 14).
    TransformType(u8) {
        /// Encryption Algorithm.
        ENCR = 1,
        /// Pseudorandom Function.
        PRF = 2,
        /// Integrity Algorithm.
        INTEG = 3,
        /// Key Exchange Method (formerly D-H group).
        KE = 4,
        /// Sequence Numbers (formerly ESN; RFC 9827).
        SN = 5,
        /// Additional Key Exchange 1 (RFC 9370).
        ADDKE1 = 6,
        /// Additional Key Exchange 2.
        ADDKE2 = 7,
        /// Additional Key Exchange 3.
        ADDKE3 = 8,
        /// Additional Key Exchange 4.
        ADDKE4 = 9,
        /// Additional Key Exchange 5.
        ADDKE5 = 10,
        /// Additional Key Exchange 6.
        ADDKE6 = 11,
        /// Additional Key Exchange 7.
        ADDKE7 = 12,
        /// Key Wrap Algorithm (RFC 9838 §4.4.2.1.2).
        KWA = 13,
        /// Group Controller Authentication Method (RFC 9838 §4.4.2.1.1).
        GCAUTH = 14,
    }
}

open_enum! {
    /// Transform Type 1 IDs: encryption algorithms (IANA).
    EncrId(u16) {
        /// RFC 2451.
        ENCR_3DES = 3,
        /// RFC 2410.
        ENCR_NULL = 11,
        /// RFC 3602.
        ENCR_AES_CBC = 12,
        /// RFC 5930.
        ENCR_AES_CTR = 13,
        /// RFC 4309.
        ENCR_AES_CCM_8 = 14,
        /// RFC 4309.
        ENCR_AES_CCM_12 = 15,
        /// RFC 4309.
        ENCR_AES_CCM_16 = 16,
        /// RFC 4106.
        ENCR_AES_GCM_8 = 18,
        /// RFC 4106.
        ENCR_AES_GCM_12 = 19,
        /// RFC 4106, RFC 5282.
        ENCR_AES_GCM_16 = 20,
        /// RFC 4543.
        ENCR_NULL_AUTH_AES_GMAC = 21,
        /// RFC 7634.
        ENCR_CHACHA20_POLY1305 = 28,
        /// RFC 8750.
        ENCR_AES_CCM_8_IIV = 29,
        /// RFC 8750.
        ENCR_AES_GCM_16_IIV = 30,
        /// RFC 8750.
        ENCR_CHACHA20_POLY1305_IIV = 31,
    }
}

open_enum! {
    /// Transform Type 2 IDs: pseudorandom functions (IANA).
    PrfId(u16) {
        /// RFC 2104.
        PRF_HMAC_MD5 = 1,
        /// RFC 2104.
        PRF_HMAC_SHA1 = 2,
        /// RFC 4434.
        PRF_AES128_XCBC = 4,
        /// RFC 4868.
        PRF_HMAC_SHA2_256 = 5,
        /// RFC 4868.
        PRF_HMAC_SHA2_384 = 6,
        /// RFC 4868.
        PRF_HMAC_SHA2_512 = 7,
        /// RFC 4615.
        PRF_AES128_CMAC = 8,
    }
}

open_enum! {
    /// Transform Type 3 IDs: integrity algorithms (IANA).
    IntegId(u16) {
        /// No integrity (AEAD).
        NONE = 0,
        /// RFC 2404.
        AUTH_HMAC_SHA1_96 = 2,
        /// RFC 3566.
        AUTH_AES_XCBC_96 = 5,
        /// RFC 4494.
        AUTH_AES_CMAC_96 = 8,
        /// RFC 4543.
        AUTH_AES_128_GMAC = 9,
        /// RFC 4543.
        AUTH_AES_192_GMAC = 10,
        /// RFC 4543.
        AUTH_AES_256_GMAC = 11,
        /// RFC 4868.
        AUTH_HMAC_SHA2_256_128 = 12,
        /// RFC 4868.
        AUTH_HMAC_SHA2_384_192 = 13,
        /// RFC 4868.
        AUTH_HMAC_SHA2_512_256 = 14,
    }
}

open_enum! {
    /// Transform Type 4 IDs: key exchange methods (IANA).
    KeId(u16) {
        /// RFC 3526.
        MODP_2048 = 14,
        /// RFC 3526.
        MODP_3072 = 15,
        /// RFC 3526.
        MODP_4096 = 16,
        /// RFC 5903.
        ECP_256 = 19,
        /// RFC 5903.
        ECP_384 = 20,
        /// RFC 5903.
        ECP_521 = 21,
        /// RFC 8031.
        CURVE25519 = 31,
        /// RFC 8031.
        CURVE448 = 32,
        /// draft-ietf-ipsecme-ikev2-mlkem.
        ML_KEM_512 = 35,
        /// draft-ietf-ipsecme-ikev2-mlkem.
        ML_KEM_768 = 36,
        /// draft-ietf-ipsecme-ikev2-mlkem.
        ML_KEM_1024 = 37,
    }
}

open_enum! {
    /// Transform Type 5 IDs: sequence numbers (RFC 9827; RFC 9838 §4.4.2.1.3 adds 2).
    SnId(u16) {
        /// 32-bit Sequential Numbers (formerly "No ESN").
        SEQ32 = 0,
        /// Partially Transmitted 64-bit Sequential Numbers (formerly "ESN").
        PARTIAL_SEQ64 = 1,
        /// 32-bit Unspecified Numbers (multi-sender group SAs).
        UNSPECIFIED32 = 2,
    }
}

open_enum! {
    /// Transform Type 13 IDs: key wrap algorithms (RFC 9838 §4.4.2.1.2).
    KwaId(u16) {
        /// RFC 5649 with a 128-bit KWK.
        KW_5649_128 = 1,
        /// RFC 5649 with a 192-bit KWK.
        KW_5649_192 = 2,
        /// RFC 5649 with a 256-bit KWK.
        KW_5649_256 = 3,
        /// ARX-KW-8-2-4-GX.
        KW_ARX = 4,
    }
}

open_enum! {
    /// Transform Type 14 IDs: group controller authentication methods (RFC 9838 §4.4.2.1.1).
    GcAuthId(u16) {
        /// Implicit: only the ability to decrypt and check the ICV.
        IMPLICIT = 1,
        /// Digital Signature, with attribute 18 naming the algorithm.
        DIGITAL_SIGNATURE = 2,
    }
}

open_enum! {
    /// IKEv2 Transform Attribute Types (RFC 7296 §3.3.5; RFC 9838 adds 18).
    TransformAttrType(u16) {
        /// Key Length in bits (TV).
        KEY_LENGTH = 14,
        /// Signature Algorithm Identifier: DER AlgorithmIdentifier (TLV, RFC 9838 §4.4.2.1.1).
        SIGNATURE_ALGORITHM_IDENTIFIER = 18,
    }
}

open_enum! {
    /// Group SA Attributes (RFC 9838 §4.4.2.2).
    GsaAttrType(u16) {
        /// 4-octet lifetime in seconds (TLV).
        GSA_KEY_LIFETIME = 1,
        /// 4-octet Message ID of the next GSA_REKEY (TLV).
        GSA_INITIAL_MESSAGE_ID = 2,
        /// An SPI reserved for the replacing SA (TLV, may repeat).
        GSA_NEXT_SPI = 3,
    }
}

open_enum! {
    /// Group-Wide Policy Attributes (RFC 9838 §4.4.3.1).
    GwpAttrType(u16) {
        /// Activation Time Delay, seconds (TV).
        GWP_ATD = 1,
        /// Deactivation Time Delay, seconds (TV).
        GWP_DTD = 2,
        /// Number of IV bits holding the Sender-ID (TV).
        GWP_SENDER_ID_BITS = 3,
    }
}

open_enum! {
    /// Group Key Bag Attributes (RFC 9838 §4.5.2).
    GroupKeyBagAttrType(u16) {
        /// Wrapped SA keying material (TLV).
        SA_KEY = 1,
    }
}

open_enum! {
    /// Member Key Bag Attributes (RFC 9838 §4.5.3).
    MemberKeyBagAttrType(u16) {
        /// Wrapped intermediate key-wrap key (TLV, may repeat).
        WRAP_KEY = 1,
        /// GCKS public key for GSA_REKEY authentication (TLV).
        AUTH_KEY = 2,
        /// One Sender-ID (TLV, may repeat).
        GM_SENDER_ID = 3,
    }
}

open_enum! {
    /// IKEv2 Notify Message Types (RFC 7296 §3.10.1 and later RFCs; RFC 9838 §4.7).
    NotifyType(u16) {
        /// RFC 7296.
        UNSUPPORTED_CRITICAL_PAYLOAD = 1,
        /// RFC 7296.
        INVALID_IKE_SPI = 4,
        /// RFC 7296.
        INVALID_MAJOR_VERSION = 5,
        /// RFC 7296.
        INVALID_SYNTAX = 7,
        /// RFC 7296.
        INVALID_MESSAGE_ID = 9,
        /// RFC 7296.
        INVALID_SPI = 11,
        /// RFC 7296.
        NO_PROPOSAL_CHOSEN = 14,
        /// RFC 7296.
        INVALID_KE_PAYLOAD = 17,
        /// RFC 7296.
        AUTHENTICATION_FAILED = 24,
        /// RFC 7296.
        SINGLE_PAIR_REQUIRED = 34,
        /// RFC 7296.
        NO_ADDITIONAL_SAS = 35,
        /// RFC 7296.
        INTERNAL_ADDRESS_FAILURE = 36,
        /// RFC 7296.
        FAILED_CP_REQUIRED = 37,
        /// RFC 7296.
        TS_UNACCEPTABLE = 38,
        /// RFC 7296.
        INVALID_SELECTORS = 39,
        /// RFC 7296.
        TEMPORARY_FAILURE = 43,
        /// RFC 7296.
        CHILD_SA_NOT_FOUND = 44,
        /// RFC 9838 §4.7.1.
        INVALID_GROUP_ID = 45,
        /// RFC 9838 §4.7.2.
        AUTHORIZATION_FAILED = 46,
        /// RFC 9370.
        STATE_NOT_FOUND = 47,
        /// RFC 9838 §4.7.3.
        REGISTRATION_FAILED = 49,
        /// RFC 7296.
        INITIAL_CONTACT = 16384,
        /// RFC 7296.
        SET_WINDOW_SIZE = 16385,
        /// RFC 7296.
        ADDITIONAL_TS_POSSIBLE = 16386,
        /// RFC 7296.
        IPCOMP_SUPPORTED = 16387,
        /// RFC 7296.
        NAT_DETECTION_SOURCE_IP = 16388,
        /// RFC 7296.
        NAT_DETECTION_DESTINATION_IP = 16389,
        /// RFC 7296.
        COOKIE = 16390,
        /// RFC 7296.
        USE_TRANSPORT_MODE = 16391,
        /// RFC 7296.
        HTTP_CERT_LOOKUP_SUPPORTED = 16392,
        /// RFC 7296.
        REKEY_SA = 16393,
        /// RFC 7296.
        ESP_TFC_PADDING_NOT_SUPPORTED = 16394,
        /// RFC 7296.
        NON_FIRST_FRAGMENTS_ALSO = 16395,
        /// RFC 4555.
        MOBIKE_SUPPORTED = 16396,
        /// RFC 4739.
        MULTIPLE_AUTH_SUPPORTED = 16404,
        /// RFC 4739.
        ANOTHER_AUTH_FOLLOWS = 16405,
        /// RFC 5685.
        REDIRECT_SUPPORTED = 16406,
        /// RFC 6023.
        CHILDLESS_IKEV2_SUPPORTED = 16418,
        /// RFC 9838 §4.7.4.
        GROUP_SENDER = 16429,
        /// RFC 7383.
        IKEV2_FRAGMENTATION_SUPPORTED = 16430,
        /// RFC 7427.
        SIGNATURE_HASH_ALGORITHMS = 16431,
        /// RFC 9242.
        INTERMEDIATE_EXCHANGE_SUPPORTED = 16438,
        /// RFC 9347.
        USE_AGGFRAG = 16442,
        /// Pairwise: the two inbound SPIs of a node (project, private use; spec/pairwise.md §2).
        PAIR_SPI = 40960,
        /// Pairwise: a node left the group (project, private use; spec/pairwise.md §4).
        PAIR_MEMBER_REMOVED = 40961,
    }
}

impl NotifyType {
    /// Error types are below 16384 (RFC 7296 §3.10.1).
    pub fn is_error(self) -> bool {
        self.0 < 16384
    }
}

open_enum! {
    /// IKEv2 Identification Types (RFC 7296 §3.5); also used by IDg (RFC 9838 §4.2).
    IdType(u8) {
        /// Four-octet IPv4 address.
        ID_IPV4_ADDR = 1,
        /// Fully-qualified domain name.
        ID_FQDN = 2,
        /// RFC 822 e-mail address.
        ID_RFC822_ADDR = 3,
        /// Sixteen-octet IPv6 address.
        ID_IPV6_ADDR = 5,
        /// DER Distinguished Name.
        ID_DER_ASN1_DN = 9,
        /// DER GeneralName.
        ID_DER_ASN1_GN = 10,
        /// Opaque octets (mandatory for IDg, RFC 9838 §4.2).
        ID_KEY_ID = 11,
        /// RFC 4595.
        ID_FC_NAME = 12,
        /// RFC 7619.
        ID_NULL = 13,
    }
}

open_enum! {
    /// IKEv2 Authentication Methods (RFC 7296 §3.8, RFC 7427).
    AuthMethod(u8) {
        /// RSA Digital Signature.
        RSA_SIG = 1,
        /// Shared Key Message Integrity Code.
        SHARED_KEY_MIC = 2,
        /// DSS Digital Signature.
        DSS_SIG = 3,
        /// RFC 4754.
        ECDSA_SHA256_P256 = 9,
        /// RFC 4754.
        ECDSA_SHA384_P384 = 10,
        /// RFC 4754.
        ECDSA_SHA512_P521 = 11,
        /// RFC 6467.
        GSPAM = 12,
        /// RFC 7619.
        NULL_AUTH = 13,
        /// RFC 7427 Digital Signature.
        DIGITAL_SIGNATURE = 14,
    }
}

open_enum! {
    /// IKEv2 Certificate Encodings (RFC 7296 §3.6).
    CertEncoding(u8) {
        /// PKCS #7 wrapped X.509.
        PKCS7_X509 = 1,
        /// X.509 Certificate - Signature.
        X509_SIGNATURE = 4,
        /// Certificate Revocation List.
        CRL = 7,
        /// Raw RSA Key (deprecated).
        RAW_RSA_KEY = 11,
        /// Hash and URL of X.509 certificate.
        HASH_URL_X509_CERT = 12,
        /// Hash and URL of X.509 bundle.
        HASH_URL_X509_BUNDLE = 13,
        /// RFC 7670 Raw Public Key.
        RAW_PUBLIC_KEY = 15,
    }
}

open_enum! {
    /// IKEv2 Traffic Selector Types (RFC 7296 §3.13.1, RFC 4595, RFC 9478).
    TsType(u8) {
        /// IPv4 address range.
        TS_IPV4_ADDR_RANGE = 7,
        /// IPv6 address range.
        TS_IPV6_ADDR_RANGE = 8,
        /// Fibre Channel address range.
        TS_FC_ADDR_RANGE = 9,
        /// Security label (RFC 9478).
        TS_SECLABEL = 10,
    }
}

/// Name of a transform ID within its transform type, for display.
pub fn transform_id_name(transform_type: TransformType, id: u16) -> Option<&'static str> {
    match transform_type {
        TransformType::ENCR => EncrId(id).name(),
        TransformType::PRF => PrfId(id).name(),
        TransformType::INTEG => IntegId(id).name(),
        TransformType::KE
        | TransformType::ADDKE1
        | TransformType::ADDKE2
        | TransformType::ADDKE3
        | TransformType::ADDKE4
        | TransformType::ADDKE5
        | TransformType::ADDKE6
        | TransformType::ADDKE7 => KeId(id).name(),
        TransformType::SN => SnId(id).name(),
        TransformType::KWA => KwaId(id).name(),
        TransformType::GCAUTH => GcAuthId(id).name(),
        _ => None,
    }
}
