//! Known-answer tests for the IKEv2 PRF, prf+ and key derivation.
//!
//! Sources (expected values are copied verbatim, never computed here):
//! - RFC 4231 §4.2–§4.5, §4.7, §4.8: HMAC-SHA-256/384/512 test cases 1–4, 6, 7.
//! - strongSwan 5.9.8, `src/libstrongswan/plugins/test_vectors/test_vectors/kdf_prf.c` and
//!   `kdf_prf_plus.c` (Debian source package strongswan_5.9.8.orig.tar.bz2): "test vectors
//!   from CAVP/SP 800-135 for IKEv2". `kdf_prf.c`: key = g^ir, salt = Ni | Nr, out =
//!   SKEYSEED. `kdf_prf_plus.c`: key = SKEYSEED, salt = Ni | Nr | SPIi | SPIr, out = DKM.
//! - NSS `gtests/common/testvectors/ike-sha256-vectors.h` and `ike-sha384-vectors.h`
//!   ("these vectors are from this NIST samples"), read from the mozilla-derived
//!   repository Floorp-Projects/Floorp, path `security/nss/gtests/common/testvectors/`:
//!   vectors 6 (SKEYSEED), 7 (SKEYSEED rekey), 8–10 (DKM, prf+).

use gikev2::crypto::ike_keys::{
    child_sa_keymat, derive_ike_keys, gsk_w, sk_w_psp, skeyseed, skeyseed_rekey, GSK_W_LABEL,
    SK_W_PSP_LABEL,
};
use gikev2::crypto::keywrap::Kwa;
use gikev2::crypto::prf::PrfAlg;
use gikev2::crypto::CryptoError;

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

// ---- RFC 4231 ----

const RFC4231_TC1_KEY: &str = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";
const RFC4231_TC1_DATA: &str = "4869205468657265";
const RFC4231_TC1_SHA256: &str = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";
const RFC4231_TC1_SHA384: &str = concat!(
    "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c",
    "faea9ea9076ede7f4af152e8b2fa9cb6"
);
const RFC4231_TC1_SHA512: &str = concat!(
    "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde",
    "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"
);
const RFC4231_TC2_KEY: &str = "4a656665";
const RFC4231_TC2_DATA: &str = "7768617420646f2079612077616e7420666f72206e6f7468696e673f";
const RFC4231_TC2_SHA256: &str = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
const RFC4231_TC2_SHA384: &str = concat!(
    "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e",
    "8e2240ca5e69e2c78b3239ecfab21649"
);
const RFC4231_TC2_SHA512: &str = concat!(
    "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554",
    "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
);
const RFC4231_TC3_SHA256: &str = "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe";
const RFC4231_TC3_SHA384: &str = concat!(
    "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b",
    "2a5ab39dc13814b94e3ab6e101a34f27"
);
const RFC4231_TC3_SHA512: &str = concat!(
    "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39",
    "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb"
);
const RFC4231_TC4_KEY: &str = "0102030405060708090a0b0c0d0e0f10111213141516171819";
const RFC4231_TC4_SHA256: &str = "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b";
const RFC4231_TC4_SHA384: &str = concat!(
    "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e",
    "6801dd23c4a7d679ccf8a386c674cffb"
);
const RFC4231_TC4_SHA512: &str = concat!(
    "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db",
    "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"
);
const RFC4231_TC6_DATA: &[u8] = b"Test Using Larger Than Block-Size Key - Hash Key First";
const RFC4231_TC6_SHA256: &str = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";
const RFC4231_TC6_SHA384: &str = concat!(
    "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6",
    "0c2ef6ab4030fe8296248df163f44952"
);
const RFC4231_TC6_SHA512: &str = concat!(
    "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352",
    "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"
);
const RFC4231_TC7_DATA: &[u8] = b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.";
const RFC4231_TC7_SHA256: &str = "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2";
const RFC4231_TC7_SHA384: &str = concat!(
    "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5",
    "a678cc31e799176d3860e6110c46523e"
);
const RFC4231_TC7_SHA512: &str = concat!(
    "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944",
    "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"
);

/// (name, key, data, expected HMAC-SHA-256/384/512)
type Rfc4231Case = (&'static str, Vec<u8>, Vec<u8>, [&'static str; 3]);

#[test]
fn rfc4231_hmac_sha2_via_prf() {
    let tc3_key = vec![0xaa; 20];
    let tc3_data = vec![0xdd; 50];
    let tc4_data = vec![0xcd; 50];
    let big_key = vec![0xaa; 131];
    let cases: Vec<Rfc4231Case> = vec![
        (
            "TC1",
            hex(RFC4231_TC1_KEY),
            hex(RFC4231_TC1_DATA),
            [RFC4231_TC1_SHA256, RFC4231_TC1_SHA384, RFC4231_TC1_SHA512],
        ),
        (
            "TC2",
            hex(RFC4231_TC2_KEY),
            hex(RFC4231_TC2_DATA),
            [RFC4231_TC2_SHA256, RFC4231_TC2_SHA384, RFC4231_TC2_SHA512],
        ),
        (
            "TC3",
            tc3_key,
            tc3_data,
            [RFC4231_TC3_SHA256, RFC4231_TC3_SHA384, RFC4231_TC3_SHA512],
        ),
        (
            "TC4",
            hex(RFC4231_TC4_KEY),
            tc4_data,
            [RFC4231_TC4_SHA256, RFC4231_TC4_SHA384, RFC4231_TC4_SHA512],
        ),
        (
            "TC6",
            big_key.clone(),
            RFC4231_TC6_DATA.to_vec(),
            [RFC4231_TC6_SHA256, RFC4231_TC6_SHA384, RFC4231_TC6_SHA512],
        ),
        (
            "TC7",
            big_key,
            RFC4231_TC7_DATA.to_vec(),
            [RFC4231_TC7_SHA256, RFC4231_TC7_SHA384, RFC4231_TC7_SHA512],
        ),
    ];
    let algs = [PrfAlg::HmacSha256, PrfAlg::HmacSha384, PrfAlg::HmacSha512];
    for (name, key, data, expected) in &cases {
        for (alg, exp) in algs.iter().zip(expected) {
            let out = alg.prf(key, data).unwrap();
            assert_eq!(out.as_bytes(), &hex(exp)[..], "RFC 4231 {name} {alg:?}");
            assert_eq!(out.len(), alg.output_len());
        }
    }
}

#[test]
fn prf_transform_ids() {
    for (id, alg) in [
        (5, PrfAlg::HmacSha256),
        (6, PrfAlg::HmacSha384),
        (7, PrfAlg::HmacSha512),
    ] {
        assert_eq!(PrfAlg::from_transform_id(id), Some(alg));
        assert_eq!(alg.transform_id(), id);
    }
    assert_eq!(PrfAlg::from_transform_id(2), None); // PRF_HMAC_SHA1: not supported
    assert_eq!(PrfAlg::from_transform_id(4), None);
    assert_eq!(PrfAlg::from_transform_id(8), None);
}

// ---- strongSwan kdf_prf.c / kdf_prf_plus.c (CAVP / SP 800-135 IKEv2) ----

const STRONGSWAN_PRF_SHA256_1_KEY: &str = concat!(
    "42968e5d0ccc3cfc5a3e4bc1bba370cea1fae0d54c49ccba34b2bee804beeb2e",
    "9e8c57a4e01bd45102cf2433aacc6cfec06792f363e5170e6aa6650274e90664",
    "8e449d27a8f00b5b44261982c9835c748a751ec5138eaacc5e025661339538a6",
    "1bf418e454699e19c32db8d9ce5dd86b220f1e89afc5872e68be36cb1a0c8866",
);
const STRONGSWAN_PRF_SHA256_1_SALT: &str = "ed80dc79912c32a935fb6d1a3feac078";
const STRONGSWAN_PRF_SHA256_1_OUT: &str =
    "37fde90b81d63692620f67367b62092e3efdc6a03509137d731004767ff35010";

const STRONGSWAN_PRF_SHA256_2_KEY: &str = concat!(
    "b070208f8947df4f7d1276161f407f7b7f5c4a49ac79f0cc0c7d4e28484c6f85",
    "84f0007b9bf0e05fdb5961a17d3aa85c6e3f5571296a43ba896cdc88c1a4457f",
    "b12cbe56ca4a20c9a7e19adc67453c4ade539e259f825ff94c9a83f839602f86",
    "51c9276d8e444ecb95a0540ee7ea3220a922345ed99ef7e7ad32b19d4610e9ef",
);
const STRONGSWAN_PRF_SHA256_2_SALT: &str = concat!(
    "efa72913182278ffbd14e78920c062519abab8c16e5ed70c0841a48cdb98237e",
    "e93f735fb2df184358aadc13d83f43fe8d8705176c8ca313825a1bcdf77911c5",
    "98001671ffbf014e37a8c04d49a7839dfea6cdc587688d4588fe43235b71693f",
    "fd07293386b6bf4c199e336165b260787736f54be95db69116388bc2eca2b3b2",
    "9484717417bb3c71814ce13b84446dc3964c302984f97781f63166240890107c",
    "2e751a00436f7c3c9ff12760e49d91563be603fd9641a0a64918a93291ed113d",
    "b12f9707609d172096eb58f9154474da40c1f5c0903e9ca2f91ba6600775df71",
    "66caf8e327859e676232d34046044cee43f9019f04685612635b99cbebcb363d",
    "565eaf0e547eecb941c994dfd471ed5643c087744f7709cc3e2510f27426c62c",
    "0ff3acb3c27661d26a6d83c2a25e13a6d465bd047f905500e5ebbe4266430d56",
    "67140f77e797712a8c8f63c583f4b4649b72899ea34abfdb17617c460c35f250",
    "6494494f223e251ac71a5b9b7eea87f4f5e333a3c1bbb4bb09258b6a4b5f8c9f",
    "b82bf42da9d4a46543c6a9eb9aa30ea9da801915abcc1712d082f292a63fd9af",
    "7154a97cc73859a4be3cba359d3218004e14df02d09edf0ad5796bb010995293",
    "ab5d042c31055380cc9cb2e3617982c45f6bce1fb8a40ef9eac48ae17720dfec",
    "c71ec857ea33f32eb346ba6036e8f9ccd7bcadc6c1ab92a80c57e78959d8b828",
);
const STRONGSWAN_PRF_SHA256_2_OUT: &str =
    "29bd115568ae0988270fc386d395fe3707a4d06289f352bba4c00a9ad855a08d";

const STRONGSWAN_PRF_SHA384_1_KEY: &str = concat!(
    "4df040b70978629c49437cff41a0d46cbea68c8d75b370ffc11d7b387144ea83",
    "bb5903fbb92e473df50a9b19ea43e9c2f3da9a849c03864276c6f264ecf02a60",
    "d40ba65c06656b633f02a87427e928eb66a2dabd9dc05744717bcaf7ae78c296",
    "872f5c48d1a8120c2155b70c565ce271998e3e44af263d487ea3ba7f56132d7d",
);
const STRONGSWAN_PRF_SHA384_1_SALT: &str = "d672b0bc852829b93509f3b724706364";
const STRONGSWAN_PRF_SHA384_1_OUT: &str = concat!(
    "54436a9ea95d6ff79b967f4b07f6de976a376e8ea26aa9574709afc60243c9c1",
    "41da4ca0e158e627a75ea87f6feb07ef",
);

const STRONGSWAN_PRF_SHA384_2_KEY: &str = concat!(
    "ae505082ac47ff9aa354b7af2b072cb49cec838d00ee3613881a9977b2159599",
    "a02495f0e52d961a516c6bb61ed03a8637bb507c5c27bab58df154e8e5014821",
    "840cfc50b3a478b45dd168eb180d69cba61a1b4259193a51a7a495c95805382e",
    "3abf5587688f34b63f71163982de3ddf7f263bb69f65c3ecae6165bf7fdd5317",
);
const STRONGSWAN_PRF_SHA384_2_SALT: &str = concat!(
    "9e2a62f9362893ddf84716fec2f23f9dcbd9010df6fe9e0eb46d03d914f304d8",
    "fe4d3ee2d6a03b40e56a325e822a17361929184ade09eaa445278d3870417a7c",
    "f565584f572ad34ff72bc7781a39a48b54b55d6eb0ed68551b222c7afada0bc8",
    "2236ec31ce6c046b3b2edb2def61f4d2d857b2d1cb3696c023e08c08d6abd04d",
    "4f69092b14583735b9e918aee5a3999dcbf58fdad6fcd47c95929877030e54b7",
    "08235f2a2e11e7c58584619aa2fa69315344d3657b55720a25ebe88ea0776972",
    "c9e22469b7ed5da96b3c7685f7b0569960bd644f130b44a0d551bb0e902ed68a",
    "b384fdc2facaf79bbf8d6d3736dfa952cd70f4746f1a4aeac2bdbeca97b78fc1",
    "777878c12859433552a77d7f942e5b60476991a1e3d0427cd677345a1ce2063a",
    "2e0ec547a9d821da759f1a91b58817bd0dc4effc126f6f4eb0b911e904ed21dc",
    "439d658a773f97e179ad20bc3c63609f2874062e835f6ae08d59654f9c8861e5",
    "27039eeac32b9eed293bd8b1e0e7c67bf1d755246a1b063ff00632a46dd5cf69",
    "48f0eed9b65c5939dfd21480a63df0cab0a7509c4245a1be7547ccc6f73c724b",
    "48b7867012e0ca3e472e0d550649a734440feffc8e73682cb60453e7a47e72fe",
    "0874eb40acd0d48e4e57197416112bcdc8bb7a58bea745fdd64c16f666c88d9e",
    "3bd235b137206f6cdba190be65ec033c191f676b428ec1205dc5e945828508d8",
);
const STRONGSWAN_PRF_SHA384_2_OUT: &str = concat!(
    "ff66e9d092dc01e0b81f939f52f5c07d38d805b98628ce1ac5fe94c098577647",
    "339fad68941ffe21e01efb4e7050213b",
);

const STRONGSWAN_PRF_SHA512_1_KEY: &str = concat!(
    "1e3b007d2da913ca60ecc98c25a22db08073d5c35c11b2524b298a922b6abfe6",
    "acf7359db66ae5f85d67aacff686419cd8666d05ae7977cefad7f54dd8e312a8",
    "e8e5e0370f88142fbdd659dd6fde22bdd531f5402881a8de85c1024e595ec93c",
    "575618af7fd3dbac7982919078d71cc13eff1910a032750e1ff428675de189ee",
);
const STRONGSWAN_PRF_SHA512_1_SALT: &str = "df7931db9b429e10b8aa8e4d46042393";
const STRONGSWAN_PRF_SHA512_1_OUT: &str = concat!(
    "daf9bd6f2f912da553867966af386e67909a8df0ca7e84b83b355cb7d7f1026f",
    "17d8ea34b5d57fd0d1ba389528fca1e81d1c8ce511b28a2458241143fee30ccc",
);

const STRONGSWAN_PRF_SHA512_2_KEY: &str = concat!(
    "9cb4bf2446170ac381025266a1a4b86513df60ea7d07b1b2139d78f331ef7eb7",
    "be8b15d86cd85e2a6a34a55869f8dcc9754f49697331b9b650ce256edb3371a9",
    "4b7c2a132f2fc99d22303717c36739d17c0e9718d7c052e7ab4d4858adeb9b8b",
    "4d3303a9e1b6bef29f03035beed071d3bb810d853971a748c56c59e0bafb9b5a",
);
const STRONGSWAN_PRF_SHA512_2_SALT: &str = concat!(
    "d89684e3cb17f3aabd853a78db3ecd5aacc1ed71c70b88a29756f46fc7197c80",
    "4ec001544002a8aea360684b18006def0dbd8633b1019fbcfa85b94cac2bb821",
    "2584be62adab0ee4bb8a36aee25275ef071390480eefa2092eb308aa7337c5ce",
    "b6069ab690e8962fbfe0986e4f5c18f486861ed3f1dcbee4c9e4a7669d740ca2",
    "b0e8ed4031b0a499dc315cede7ef03399cbc33dcd62970349f1220881b55452e",
    "0c6c9b52a88b67f597586795b22570733fd4ff2cc2ad931d8330165a9e450e38",
    "8859ce624f01db17c2502b4e66adf96527363d6f906b2023e8ed74d5af0aa602",
    "46b0b92f49c4933ef312f8a25434ee9698d6d9204345bd10bb11aa39865616d5",
    "ad1b5744706cfd4ea1408e20c8fdcf8551eee8814b7b37330b0526f0bc5ee15d",
    "4ecda7a1bd25aa97f24584d85d3f5249694b9f43539e69ea35bfe7fd4407bc8e",
    "9dca8a9fae4bdc6b7bb38c6d68f899e1d32c85bcd617a567678cf85d2217a4e8",
    "6a755624b64002354c026842bc9542491af1c3d6290970559af11bdc2c83b54c",
    "74144905c0a358f3153db767a5da2a8627f69627e1d41ede9c907c79b51ff815",
    "e4645c3375e0f63f84fcf5d7c3407a1dd6839e1906a1e3802ccf5e8230d95cf4",
    "b827b41c483425a8a60bfa5189dac438060f2f5cd526662f2906c1dd64f4844e",
    "942ca84daece6dd7bbf7194d8ce56bc2831085a7d310e4944cfae76260aabf6b",
);
const STRONGSWAN_PRF_SHA512_2_OUT: &str = concat!(
    "e570e7484634300d7addf5a8527c138b7696dbc3d8be0969b75215318a11ada2",
    "13538f6293b0eee5b309ad8f5d8d94dbe5736127e0d2560f281c9c586bf7c86f",
);

const STRONGSWAN_PRF_PLUS_SHA256_OLD_KEY: &str = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";
const STRONGSWAN_PRF_PLUS_SHA256_OLD_SALT: &str = "4869205468657265";
const STRONGSWAN_PRF_PLUS_SHA256_OLD_OUT: &str = concat!(
    "b9bdc08988b4c2b75aa93e596ac84205fa2ddde1bf7a2572067b00e14b237732",
    "830509981ad2f94a8c32a47daa2255b660c436347ae756a6edc023477d809590",
    "e682f61d9c04b06b4ad971a34c8147fa66792ff1434b93c722b32e12f48832eb",
    "c15ce2369ce71fe9b7b81e5704c14d0f5280a6ec626e992d7a9f",
);

const STRONGSWAN_PRF_PLUS_SHA256_1_KEY: &str =
    "37fde90b81d63692620f67367b62092e3efdc6a03509137d731004767ff35010";
const STRONGSWAN_PRF_PLUS_SHA256_1_SALT: &str =
    "ed80dc79912c32a935fb6d1a3feac07847c1858efc932ea4606fd05609624002";
const STRONGSWAN_PRF_PLUS_SHA256_1_OUT: &str = concat!(
    "63d018a08f7a29daa7d1f92cb63f45fa39bbaf5e5f1a78139613bb891e3e6bf9",
    "d0448f7c74e05b4c1a25c0b61e62c875e852f287e192d4ae536112db51972164",
    "00bd5e123470efc15f53161865fe8b19a1416518a157d651ecd2caddab6a9eae",
    "6a27a55af088218d5156edaa9789f934d9836ed43edffda553822202ff9f7d48",
    "60ca72e0",
);

const STRONGSWAN_PRF_PLUS_SHA256_2_KEY: &str =
    "29bd115568ae0988270fc386d395fe3707a4d06289f352bba4c00a9ad855a08d";
const STRONGSWAN_PRF_PLUS_SHA256_2_SALT: &str = concat!(
    "efa72913182278ffbd14e78920c062519abab8c16e5ed70c0841a48cdb98237e",
    "e93f735fb2df184358aadc13d83f43fe8d8705176c8ca313825a1bcdf77911c5",
    "98001671ffbf014e37a8c04d49a7839dfea6cdc587688d4588fe43235b71693f",
    "fd07293386b6bf4c199e336165b260787736f54be95db69116388bc2eca2b3b2",
    "9484717417bb3c71814ce13b84446dc3964c302984f97781f63166240890107c",
    "2e751a00436f7c3c9ff12760e49d91563be603fd9641a0a64918a93291ed113d",
    "b12f9707609d172096eb58f9154474da40c1f5c0903e9ca2f91ba6600775df71",
    "66caf8e327859e676232d34046044cee43f9019f04685612635b99cbebcb363d",
    "565eaf0e547eecb941c994dfd471ed5643c087744f7709cc3e2510f27426c62c",
    "0ff3acb3c27661d26a6d83c2a25e13a6d465bd047f905500e5ebbe4266430d56",
    "67140f77e797712a8c8f63c583f4b4649b72899ea34abfdb17617c460c35f250",
    "6494494f223e251ac71a5b9b7eea87f4f5e333a3c1bbb4bb09258b6a4b5f8c9f",
    "b82bf42da9d4a46543c6a9eb9aa30ea9da801915abcc1712d082f292a63fd9af",
    "7154a97cc73859a4be3cba359d3218004e14df02d09edf0ad5796bb010995293",
    "ab5d042c31055380cc9cb2e3617982c45f6bce1fb8a40ef9eac48ae17720dfec",
    "c71ec857ea33f32eb346ba6036e8f9ccd7bcadc6c1ab92a80c57e78959d8b828",
    "57e91df9c5ffb8424d5eadac0e570f7c",
);
const STRONGSWAN_PRF_PLUS_SHA256_2_OUT: &str = concat!(
    "d5033d087934c61538b23dff875b3ba920e05c1b42ac7f9793995e76ba3e461d",
    "6e83b2fbe0fa681ba285696d53b175e070c4c1cbc74043f7cac558c494acd23a",
    "abfc7a685b6274134408cafc1692852aca663cefd7dd0c8a872a36a1414db4b7",
    "f314ad0e49f2c187162e2876c6053dbef5a2ea8c33dcd3dd91687644377c45f4",
    "b5c418e1e10bec22baac313b902bdffcfb69c68ef4e71c5acc39a9f07acb1fc3",
    "ba8e92c6dca861a64163b0689da4a97f124026360990c9f1ae4e8d0298f077fc",
    "bb0c203fd2ca821deab0591a221d9d0a798d02f078d8fb6e931ca446a13f1163",
    "8c6b6afb8225a008f938a6878c5b577e03aecfa7314101edd0fda3bdbea4985c",
);

const STRONGSWAN_PRF_PLUS_SHA384_1_KEY: &str = concat!(
    "54436a9ea95d6ff79b967f4b07f6de976a376e8ea26aa9574709afc60243c9c1",
    "41da4ca0e158e627a75ea87f6feb07ef",
);
const STRONGSWAN_PRF_PLUS_SHA384_1_SALT: &str =
    "d672b0bc852829b93509f3b7247063640f9a016d7b22223c85f710daf8b982d8";
const STRONGSWAN_PRF_PLUS_SHA384_1_OUT: &str = concat!(
    "10b00a654643b3b985764f86e23ef62431122fcc96de16e338a372bee49391db",
    "1f83a7358c080380abbf4af47cdb83b9530343168f7dbc9221260e1546c6b383",
    "e2235d2705a727f0b41aebf6a1b4c61cb460660152a17ba74c20d5191ba68417",
    "94945270d829587b7f3294639ea7b77149e1d07230ac16e0cd5ab236fa3212bd",
    "569ee70f",
);

const STRONGSWAN_PRF_PLUS_SHA384_2_KEY: &str = concat!(
    "ff66e9d092dc01e0b81f939f52f5c07d38d805b98628ce1ac5fe94c098577647",
    "339fad68941ffe21e01efb4e7050213b",
);
const STRONGSWAN_PRF_PLUS_SHA384_2_SALT: &str = concat!(
    "9e2a62f9362893ddf84716fec2f23f9dcbd9010df6fe9e0eb46d03d914f304d8",
    "fe4d3ee2d6a03b40e56a325e822a17361929184ade09eaa445278d3870417a7c",
    "f565584f572ad34ff72bc7781a39a48b54b55d6eb0ed68551b222c7afada0bc8",
    "2236ec31ce6c046b3b2edb2def61f4d2d857b2d1cb3696c023e08c08d6abd04d",
    "4f69092b14583735b9e918aee5a3999dcbf58fdad6fcd47c95929877030e54b7",
    "08235f2a2e11e7c58584619aa2fa69315344d3657b55720a25ebe88ea0776972",
    "c9e22469b7ed5da96b3c7685f7b0569960bd644f130b44a0d551bb0e902ed68a",
    "b384fdc2facaf79bbf8d6d3736dfa952cd70f4746f1a4aeac2bdbeca97b78fc1",
    "777878c12859433552a77d7f942e5b60476991a1e3d0427cd677345a1ce2063a",
    "2e0ec547a9d821da759f1a91b58817bd0dc4effc126f6f4eb0b911e904ed21dc",
    "439d658a773f97e179ad20bc3c63609f2874062e835f6ae08d59654f9c8861e5",
    "27039eeac32b9eed293bd8b1e0e7c67bf1d755246a1b063ff00632a46dd5cf69",
    "48f0eed9b65c5939dfd21480a63df0cab0a7509c4245a1be7547ccc6f73c724b",
    "48b7867012e0ca3e472e0d550649a734440feffc8e73682cb60453e7a47e72fe",
    "0874eb40acd0d48e4e57197416112bcdc8bb7a58bea745fdd64c16f666c88d9e",
    "3bd235b137206f6cdba190be65ec033c191f676b428ec1205dc5e945828508d8",
    "6fd4bc625402aa685f60725efdb42596",
);
const STRONGSWAN_PRF_PLUS_SHA384_2_OUT: &str = concat!(
    "2810288a45a502211feade9943b4224a3f54cf97f191b621d80a19f3f1b0366d",
    "5ed73d195b732a15b599051a13b7c584175521e3a97cdb220c8924b0ec234a94",
    "2e0579675f193926ab332970585553e230e3429c6e8ba71b9374bd4a8df96945",
    "6840527f2cf635392be9c17ca8474cf01b332b8108b54c48aafc86ac4cfce705",
    "8ee114540e5a1b952201ee3d0ac9d3e33f01807584339ac3f43ccdd395c58bb3",
    "f4a4cc5c57871ea1d3eaa8d0302bb308d1d203af13147e87ab2b9159ae361ec0",
    "11d673fe3f162b3989da3488d8ffea2b51e7465faddca67d1d54c8940a8ab62e",
    "8abe4145cb25159125950119e3c01a813575f0a959b143bc31f62b4734aa45e2",
);

const STRONGSWAN_PRF_PLUS_SHA512_1_KEY: &str = concat!(
    "daf9bd6f2f912da553867966af386e67909a8df0ca7e84b83b355cb7d7f1026f",
    "17d8ea34b5d57fd0d1ba389528fca1e81d1c8ce511b28a2458241143fee30ccc",
);
const STRONGSWAN_PRF_PLUS_SHA512_1_SALT: &str =
    "df7931db9b429e10b8aa8e4d460423939ba40af9157f47925383c7cd3d1046e6";
const STRONGSWAN_PRF_PLUS_SHA512_1_OUT: &str = concat!(
    "919a75deaeccbd393bebc89615f8a215edb7073b2319d86740221eee7a2deb92",
    "509044d7e61fcb1bf9676b3881c7ced49e6bba1549da3113601677a2445d91ac",
    "13a597335782dd3a9cf496d9e19b932f27dd35e36f8070d232d0a3b3f4c4a0b4",
    "ba4470778dc090f31f52ab1b6d81e4c7dfb35063ad96c327adcdbde714cc9a6b",
    "5ef049b8",
);

const STRONGSWAN_PRF_PLUS_SHA512_2_KEY: &str = concat!(
    "e570e7484634300d7addf5a8527c138b7696dbc3d8be0969b75215318a11ada2",
    "13538f6293b0eee5b309ad8f5d8d94dbe5736127e0d2560f281c9c586bf7c86f",
);
const STRONGSWAN_PRF_PLUS_SHA512_2_SALT: &str = concat!(
    "d89684e3cb17f3aabd853a78db3ecd5aacc1ed71c70b88a29756f46fc7197c80",
    "4ec001544002a8aea360684b18006def0dbd8633b1019fbcfa85b94cac2bb821",
    "2584be62adab0ee4bb8a36aee25275ef071390480eefa2092eb308aa7337c5ce",
    "b6069ab690e8962fbfe0986e4f5c18f486861ed3f1dcbee4c9e4a7669d740ca2",
    "b0e8ed4031b0a499dc315cede7ef03399cbc33dcd62970349f1220881b55452e",
    "0c6c9b52a88b67f597586795b22570733fd4ff2cc2ad931d8330165a9e450e38",
    "8859ce624f01db17c2502b4e66adf96527363d6f906b2023e8ed74d5af0aa602",
    "46b0b92f49c4933ef312f8a25434ee9698d6d9204345bd10bb11aa39865616d5",
    "ad1b5744706cfd4ea1408e20c8fdcf8551eee8814b7b37330b0526f0bc5ee15d",
    "4ecda7a1bd25aa97f24584d85d3f5249694b9f43539e69ea35bfe7fd4407bc8e",
    "9dca8a9fae4bdc6b7bb38c6d68f899e1d32c85bcd617a567678cf85d2217a4e8",
    "6a755624b64002354c026842bc9542491af1c3d6290970559af11bdc2c83b54c",
    "74144905c0a358f3153db767a5da2a8627f69627e1d41ede9c907c79b51ff815",
    "e4645c3375e0f63f84fcf5d7c3407a1dd6839e1906a1e3802ccf5e8230d95cf4",
    "b827b41c483425a8a60bfa5189dac438060f2f5cd526662f2906c1dd64f4844e",
    "942ca84daece6dd7bbf7194d8ce56bc2831085a7d310e4944cfae76260aabf6b",
    "609d88789b8a1abf500186c3d97ed2ab",
);
const STRONGSWAN_PRF_PLUS_SHA512_2_OUT: &str = concat!(
    "987fadd804994567d57f989b6cda66efbffcab28ac3e3bc6107805954eb1ead0",
    "cea6fb49aa961cbe98fdad57dd9c45567ce496747862f88bcd9fc57559a07ea9",
    "27a42082ba87e0f51b3d5b8cbdeaddeda3ae4c73b1a51dd0dce3cc8eb3b1419b",
    "93f29dc6522b2f5e9375238203eca98ed86bf1e6868ab428d863a5f3b987d6c0",
    "f957af08a1631f7cdc008cbbffc24b02931a020194e368d6b5702e7f8b960dbc",
    "93ca56ed5a68dae0206994edf1476f5fa34efbdaa973d27ba368cedcc666d763",
    "bd6ad560573851bffb7099af588f34ff2e599b0e87f70a7f4aa48e951d0c5c30",
    "ddfc1f98c128631590cde00a7c93158dbf4caa537b315931b714d72f4d2a01c9",
);

/// Splits `Ni | Nr` of a CAVP vector; the CAVP IKEv2 vectors use nonces of equal length.
fn split_nonces(salt: &[u8]) -> (&[u8], &[u8]) {
    salt.split_at(salt.len() / 2)
}

#[test]
fn strongswan_cavp_skeyseed() {
    let cases = [
        (
            "prf_sha256_1",
            PrfAlg::HmacSha256,
            STRONGSWAN_PRF_SHA256_1_KEY,
            STRONGSWAN_PRF_SHA256_1_SALT,
            STRONGSWAN_PRF_SHA256_1_OUT,
        ),
        (
            "prf_sha256_2",
            PrfAlg::HmacSha256,
            STRONGSWAN_PRF_SHA256_2_KEY,
            STRONGSWAN_PRF_SHA256_2_SALT,
            STRONGSWAN_PRF_SHA256_2_OUT,
        ),
        (
            "prf_sha384_1",
            PrfAlg::HmacSha384,
            STRONGSWAN_PRF_SHA384_1_KEY,
            STRONGSWAN_PRF_SHA384_1_SALT,
            STRONGSWAN_PRF_SHA384_1_OUT,
        ),
        (
            "prf_sha384_2",
            PrfAlg::HmacSha384,
            STRONGSWAN_PRF_SHA384_2_KEY,
            STRONGSWAN_PRF_SHA384_2_SALT,
            STRONGSWAN_PRF_SHA384_2_OUT,
        ),
        (
            "prf_sha512_1",
            PrfAlg::HmacSha512,
            STRONGSWAN_PRF_SHA512_1_KEY,
            STRONGSWAN_PRF_SHA512_1_SALT,
            STRONGSWAN_PRF_SHA512_1_OUT,
        ),
        (
            "prf_sha512_2",
            PrfAlg::HmacSha512,
            STRONGSWAN_PRF_SHA512_2_KEY,
            STRONGSWAN_PRF_SHA512_2_SALT,
            STRONGSWAN_PRF_SHA512_2_OUT,
        ),
    ];
    for (name, alg, g_ir, salt, out) in cases {
        let salt = hex(salt);
        let (ni, nr) = split_nonces(&salt);
        let seed = skeyseed(alg, ni, nr, &hex(g_ir)).unwrap();
        assert_eq!(seed.as_bytes(), &hex(out)[..], "strongSwan {name}");
    }
}

#[test]
fn strongswan_cavp_prf_plus() {
    let cases = [
        (
            "prf_plus_sha256_old",
            PrfAlg::HmacSha256,
            STRONGSWAN_PRF_PLUS_SHA256_OLD_KEY,
            STRONGSWAN_PRF_PLUS_SHA256_OLD_SALT,
            STRONGSWAN_PRF_PLUS_SHA256_OLD_OUT,
        ),
        (
            "prf_plus_sha256_1",
            PrfAlg::HmacSha256,
            STRONGSWAN_PRF_PLUS_SHA256_1_KEY,
            STRONGSWAN_PRF_PLUS_SHA256_1_SALT,
            STRONGSWAN_PRF_PLUS_SHA256_1_OUT,
        ),
        (
            "prf_plus_sha256_2",
            PrfAlg::HmacSha256,
            STRONGSWAN_PRF_PLUS_SHA256_2_KEY,
            STRONGSWAN_PRF_PLUS_SHA256_2_SALT,
            STRONGSWAN_PRF_PLUS_SHA256_2_OUT,
        ),
        (
            "prf_plus_sha384_1",
            PrfAlg::HmacSha384,
            STRONGSWAN_PRF_PLUS_SHA384_1_KEY,
            STRONGSWAN_PRF_PLUS_SHA384_1_SALT,
            STRONGSWAN_PRF_PLUS_SHA384_1_OUT,
        ),
        (
            "prf_plus_sha384_2",
            PrfAlg::HmacSha384,
            STRONGSWAN_PRF_PLUS_SHA384_2_KEY,
            STRONGSWAN_PRF_PLUS_SHA384_2_SALT,
            STRONGSWAN_PRF_PLUS_SHA384_2_OUT,
        ),
        (
            "prf_plus_sha512_1",
            PrfAlg::HmacSha512,
            STRONGSWAN_PRF_PLUS_SHA512_1_KEY,
            STRONGSWAN_PRF_PLUS_SHA512_1_SALT,
            STRONGSWAN_PRF_PLUS_SHA512_1_OUT,
        ),
        (
            "prf_plus_sha512_2",
            PrfAlg::HmacSha512,
            STRONGSWAN_PRF_PLUS_SHA512_2_KEY,
            STRONGSWAN_PRF_PLUS_SHA512_2_SALT,
            STRONGSWAN_PRF_PLUS_SHA512_2_OUT,
        ),
    ];
    for (name, alg, key, salt, out) in cases {
        let out = hex(out);
        let got = alg.prf_plus(&hex(key), &hex(salt), out.len()).unwrap();
        assert_eq!(&got[..], &out[..], "strongSwan {name}");
        // Every prefix is also prf+ output of that length.
        let short = alg.prf_plus(&hex(key), &hex(salt), 15).unwrap();
        assert_eq!(
            &short[..],
            &out[..15],
            "strongSwan {name} (15-octet prefix)"
        );
    }
}

/// The CAVP chain g^ir -> SKEYSEED -> DKM of `prf_sha256_1` / `prf_plus_sha256_1`, split
/// into the seven IKE SA keys. With SHA-256 the 132-octet DKM holds SK_d, SK_pi and SK_pr
/// (3 x 32) plus 2 x (16 + 2): encryption keys of 16 octets and integrity keys of 2 octets
/// cover every octet of the published DKM.
#[test]
fn strongswan_cavp_derive_ike_keys_sha256() {
    let salt = hex(STRONGSWAN_PRF_PLUS_SHA256_1_SALT);
    let (ni, rest) = salt.split_at(8);
    let (nr, spis) = rest.split_at(8);
    let spi_i: [u8; 8] = spis[..8].try_into().unwrap();
    let spi_r: [u8; 8] = spis[8..].try_into().unwrap();
    let seed = skeyseed(
        PrfAlg::HmacSha256,
        ni,
        nr,
        &hex(STRONGSWAN_PRF_SHA256_1_KEY),
    )
    .unwrap();
    assert_eq!(seed.as_bytes(), &hex(STRONGSWAN_PRF_PLUS_SHA256_1_KEY)[..]);
    let keys = derive_ike_keys(
        PrfAlg::HmacSha256,
        seed.as_bytes(),
        ni,
        nr,
        &spi_i,
        &spi_r,
        16,
        2,
    )
    .unwrap();
    let mut all = Vec::new();
    for k in [
        &keys.sk_d,
        &keys.sk_ai,
        &keys.sk_ar,
        &keys.sk_ei,
        &keys.sk_er,
        &keys.sk_pi,
        &keys.sk_pr,
    ] {
        all.extend_from_slice(k.as_bytes());
    }
    assert_eq!(all, hex(STRONGSWAN_PRF_PLUS_SHA256_1_OUT));
    assert_eq!(keys.sk_d.len(), 32);
    assert_eq!(keys.sk_ai.len(), 2);
    assert_eq!(keys.sk_ei.len(), 16);
    assert_eq!(keys.sk_pr.len(), 32);
}

// ---- NSS ike-sha256-vectors.h / ike-sha384-vectors.h (NIST samples) ----

const NSS_IKE_SHA256_NI: &str = "3f302be1abcb28e1";
const NSS_IKE_SHA256_NR: &str = "8c332ee006064c9b";
const NSS_IKE_SHA256_SPII: &str = "40dac39e1e1a8640";
const NSS_IKE_SHA256_SPIR: &str = "8619a1cf9a6e4c07";
/// Vector 6 (ikeGxy): g^ir.
const NSS_IKE_SHA256_V6_GIR: &str =
    "0f4d257d7a58fc4545c7d7a88119eee5d5c9690c5b4c989171d3abbfd99d1d29";
/// Vector 6 output: SKEYSEED.
const NSS_IKE_SHA256_V6_SKEYSEED: &str =
    "5f00d1bd2c58ec224b1e6b71fa0f19a1faa7a193952c444411b47c1a9d8ba6fe";
/// Vector 8 (ikePlus): DKM = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr), 132 octets.
const NSS_IKE_SHA256_V8_DKM: &str = concat!(
    "0b137d669b0947d7d026d593f0305ad401ff0c471357d695778a9c7f4b4869ec",
    "e98aca531188d16041b3bb936d2dbb3b4993a6e768a809160de45d0283f273a6",
    "cdf6854379e31be72b8d3d1fa990cf9c5b015ca9f918a7df6253c958114a09d4",
    "e1c19bdcd4db14b29d98db1a74ad405c588662c14a04d0d36aa4ab55e90f8986",
    "d12d4aad"
);
/// Vector 7 (ikeV2Rekey): g^ir (new).
const NSS_IKE_SHA256_V7_GIR_NEW: &str =
    "25f3b12d6f282739256e39bf54eda53b60ffcf379bb7bcc90c27b4c4c578616c";
/// Vector 7 input key: SK_d (old), the first 32 octets of the vector 8 DKM.
const NSS_IKE_SHA256_V7_SK_D: &str =
    "0b137d669b0947d7d026d593f0305ad401ff0c471357d695778a9c7f4b4869ec";
/// Vector 7 output: SKEYSEED (rekey).
const NSS_IKE_SHA256_V7_SKEYSEED_REKEY: &str =
    "2d63f6debc92048b4fef3889c4c99ca67d6496e0fac14a2bca9a2d6566ff2398";

const NSS_IKE_SHA384_NI: &str = "fd1b572a8e735591";
const NSS_IKE_SHA384_NR: &str = "6013b0ef88dacd3d";
const NSS_IKE_SHA384_SPII: &str = "2116ad07ce61f749";
const NSS_IKE_SHA384_SPIR: &str = "24880e55f11a65b7";
const NSS_IKE_SHA384_V6_GIR: &str =
    "d3288cd87565101e88fe3bad918f31939d8dd26ff1071f8b2d7f447524e58d7c";
const NSS_IKE_SHA384_V6_SKEYSEED: &str = concat!(
    "69fe7a1ac94adaeb711295f5fe004b1a8d6a0b65d05692758ce8ad2f7a45f59d",
    "7d0b596f51f7dfcf3330061888f6a94f"
);
const NSS_IKE_SHA384_V8_DKM: &str = concat!(
    "4f904c2025c90c817ea5ff9b662a6fdb445a73b57cdf09eacd379b95e1f03cac",
    "b04cd6deeda4f952191dd9bc1f7a9502471a648d74dc06d38112de48a42501f6",
    "b1a3ad55c2099cd9a648e5f17e5bf3e34bf9b5953decb768a34f875fe2b78dca",
    "0c2fcca81ec1a412006dfaed38fa06882e61f4c148105fb8e231fdb33c4d484c",
    "001721d4"
);
const NSS_IKE_SHA384_V7_GIR_NEW: &str =
    "3358f620539473aee8d07e779764c4c6a9aabddc79a28e136b3bac021dbde44a";
const NSS_IKE_SHA384_V7_SKEYSEED_REKEY: &str = concat!(
    "e0548c1682e13bce454026b3b1bdf42985b24e4e7408095a7c529de38c3d1fcb",
    "04c9fe6868042a34c9614c6c99e3fcea"
);

fn nss_chain(
    alg: PrfAlg,
    [ni, nr, spii, spir]: [&str; 4],
    gir: &str,
    skeyseed_out: &str,
    dkm: &str,
    gir_new: &str,
    rekey_out: &str,
) {
    let (ni, nr) = (hex(ni), hex(nr));
    let spi_i: [u8; 8] = hex(spii).try_into().unwrap();
    let spi_r: [u8; 8] = hex(spir).try_into().unwrap();
    // Vector 6: SKEYSEED = prf(Ni | Nr, g^ir).
    let seed = skeyseed(alg, &ni, &nr, &hex(gir)).unwrap();
    assert_eq!(seed.as_bytes(), &hex(skeyseed_out)[..], "{alg:?} SKEYSEED");
    // Vectors 8, 9, 10: prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) at 132, prf-length and 15 octets.
    let dkm = hex(dkm);
    let mut s = ni.clone();
    s.extend_from_slice(&nr);
    s.extend_from_slice(&spi_i);
    s.extend_from_slice(&spi_r);
    for len in [dkm.len(), alg.output_len(), 15] {
        let got = alg.prf_plus(seed.as_bytes(), &s, len).unwrap();
        assert_eq!(&got[..], &dkm[..len], "{alg:?} DKM ({len} octets)");
    }
    // SK_d is the first prf-length octets of the DKM.
    let keys = derive_ike_keys(alg, seed.as_bytes(), &ni, &nr, &spi_i, &spi_r, 0, 0).unwrap();
    assert_eq!(keys.sk_d.as_bytes(), &dkm[..alg.output_len()]);
    // Vector 7: SKEYSEED(rekey) = prf(SK_d (old), g^ir (new) | Ni | Nr).
    let rekey = skeyseed_rekey(alg, keys.sk_d.as_bytes(), &hex(gir_new), &ni, &nr).unwrap();
    assert_eq!(
        rekey.as_bytes(),
        &hex(rekey_out)[..],
        "{alg:?} SKEYSEED(rekey)"
    );
}

#[test]
fn nss_nist_ikev2_chain_sha256() {
    assert_eq!(
        hex(NSS_IKE_SHA256_V7_SK_D),
        hex(NSS_IKE_SHA256_V8_DKM)[..32].to_vec()
    );
    nss_chain(
        PrfAlg::HmacSha256,
        [
            NSS_IKE_SHA256_NI,
            NSS_IKE_SHA256_NR,
            NSS_IKE_SHA256_SPII,
            NSS_IKE_SHA256_SPIR,
        ],
        NSS_IKE_SHA256_V6_GIR,
        NSS_IKE_SHA256_V6_SKEYSEED,
        NSS_IKE_SHA256_V8_DKM,
        NSS_IKE_SHA256_V7_GIR_NEW,
        NSS_IKE_SHA256_V7_SKEYSEED_REKEY,
    );
}

#[test]
fn nss_nist_ikev2_chain_sha384() {
    nss_chain(
        PrfAlg::HmacSha384,
        [
            NSS_IKE_SHA384_NI,
            NSS_IKE_SHA384_NR,
            NSS_IKE_SHA384_SPII,
            NSS_IKE_SHA384_SPIR,
        ],
        NSS_IKE_SHA384_V6_GIR,
        NSS_IKE_SHA384_V6_SKEYSEED,
        NSS_IKE_SHA384_V8_DKM,
        NSS_IKE_SHA384_V7_GIR_NEW,
        NSS_IKE_SHA384_V7_SKEYSEED_REKEY,
    );
}

// ---- structural properties ----

#[test]
fn prf_plus_length_limits() {
    let alg = PrfAlg::HmacSha256;
    assert!(alg.prf_plus(b"k", b"s", 0).unwrap().is_empty());
    assert_eq!(alg.max_prf_plus_len(), 255 * 32);
    let max = alg.prf_plus(b"k", b"s", 255 * 32).unwrap();
    assert_eq!(max.len(), 255 * 32);
    assert_eq!(
        alg.prf_plus(b"k", b"s", 255 * 32 + 1).unwrap_err(),
        CryptoError::InvalidLength {
            what: "prf+ output (maximum)",
            expected: 255 * 32,
            got: 255 * 32 + 1
        }
    );
    assert_eq!(PrfAlg::HmacSha512.max_prf_plus_len(), 255 * 64);
}

#[test]
fn child_sa_keymat_is_prf_plus_of_sk_d() {
    let alg = PrfAlg::HmacSha256;
    let sk_d = hex(NSS_IKE_SHA256_V7_SK_D);
    let (ni, nr) = (hex(NSS_IKE_SHA256_NI), hex(NSS_IKE_SHA256_NR));
    let gir = hex(NSS_IKE_SHA256_V7_GIR_NEW);
    let km = child_sa_keymat(alg, &sk_d, None, &ni, &nr, 132).unwrap();
    let seed = [ni.clone(), nr.clone()].concat();
    assert_eq!(&km[..], &alg.prf_plus(&sk_d, &seed, 132).unwrap()[..]);
    let km_dh = child_sa_keymat(alg, &sk_d, Some(&gir), &ni, &nr, 132).unwrap();
    let seed_dh = [gir, ni, nr].concat();
    assert_eq!(&km_dh[..], &alg.prf_plus(&sk_d, &seed_dh, 132).unwrap()[..]);
    assert_ne!(&km[..], &km_dh[..]);
}

/// RFC 9838 §3.1 label, as spelled out in the project digest (rfc9838.md §4.1).
const RFC9838_GSK_W_LABEL_HEX: &str = "4b6579205772617020666f7220472d494b457632";

#[test]
fn gsk_w_label_and_derivation() {
    assert_eq!(&GSK_W_LABEL[..], &hex(RFC9838_GSK_W_LABEL_HEX)[..]);
    assert_eq!(GSK_W_LABEL.len(), 20);
    assert_eq!(&SK_W_PSP_LABEL[..], b"Key Wrap for PSP");
    for alg in [PrfAlg::HmacSha256, PrfAlg::HmacSha384, PrfAlg::HmacSha512] {
        let sk_d = vec![0x5a; alg.output_len()];
        for (kwa, len) in [
            (Kwa::Kw5649_128, 16),
            (Kwa::Kw5649_192, 24),
            (Kwa::Kw5649_256, 32),
        ] {
            let w = gsk_w(alg, &sk_d, kwa).unwrap();
            assert_eq!(w.len(), len);
            let expect = alg.prf_plus(&sk_d, GSK_W_LABEL, len).unwrap();
            assert_eq!(w.as_bytes(), &expect[..]);
            let p = sk_w_psp(alg, &sk_d, kwa).unwrap();
            assert_eq!(
                p.as_bytes(),
                &alg.prf_plus(&sk_d, SK_W_PSP_LABEL, len).unwrap()[..]
            );
            assert!(!w.ct_eq(&p));
        }
        // A shorter GSK_w is a prefix of a longer one (same prf+ stream).
        let w16 = gsk_w(alg, &sk_d, Kwa::Kw5649_128).unwrap();
        let w32 = gsk_w(alg, &sk_d, Kwa::Kw5649_256).unwrap();
        assert_eq!(w16.as_bytes(), &w32.as_bytes()[..16]);
    }
    // KW_ARX keys are 32 octets too (RFC 9838 §4.4.2.1.2).
    assert_eq!(
        gsk_w(PrfAlg::HmacSha256, &[1; 32], Kwa::KwArx)
            .unwrap()
            .len(),
        32
    );
}

#[test]
fn derive_ike_keys_aead_layout() {
    // AES-256-GCM: SK_e = 32 + 4 salt octets, no integrity keys (RFC 5282 §7.1).
    let alg = PrfAlg::HmacSha512;
    let keys = derive_ike_keys(alg, &[7; 64], b"ni", b"nr", &[1; 8], &[2; 8], 36, 0).unwrap();
    assert_eq!(keys.sk_d.len(), 64);
    assert!(keys.sk_ai.is_empty() && keys.sk_ar.is_empty());
    assert_eq!(keys.sk_ei.len(), 36);
    assert_eq!(keys.sk_er.len(), 36);
    assert_eq!(keys.sk_pi.len(), 64);
    let dkm = alg
        .prf_plus(
            &[7; 64],
            &[&b"ninr"[..], &[1; 8], &[2; 8]].concat(),
            64 * 3 + 72,
        )
        .unwrap();
    assert_eq!(keys.sk_ei.as_bytes(), &dkm[64..100]);
    assert_eq!(keys.sk_er.as_bytes(), &dkm[100..136]);
    assert_eq!(keys.sk_pr.as_bytes(), &dkm[200..264]);
    assert!(!format!("{keys:?}").contains("7, 7"));
    assert!(matches!(
        derive_ike_keys(alg, &[7; 64], b"", b"", &[0; 8], &[0; 8], 65, 0),
        Err(CryptoError::InvalidLength { got: 65, .. })
    ));
}
