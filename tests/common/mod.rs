//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod group;
pub mod samples;

/// Parses commented hex: whitespace is ignored and `#` starts a comment that runs to the end
/// of the line, so wire layouts can be written one field per line.
///
/// Panics on an odd number of digits or a non-hex character (test input is trusted).
pub fn unhex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| l.bytes())
        .filter(|b| !b.is_ascii_whitespace())
        .map(|b| match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => panic!("not a hex digit: {:?}", b as char),
        })
        .collect();
    assert!(digits.len() % 2 == 0, "odd number of hex digits");
    digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect()
}

/// Overwrites the IKE header Length field (octets 24..28) with the buffer's length.
pub fn patch_ike_length(bytes: &mut [u8]) {
    if bytes.len() >= 28 {
        let len = u32::try_from(bytes.len()).expect("test buffers are small");
        bytes[24..28].copy_from_slice(&len.to_be_bytes());
    }
}
