//! Constant-time comparison.
//!
//! Every comparison of secret or authentication data (ICVs, keys) goes through [`eq`];
//! never use `==` on such data (project style, "Zeroization").

/// Compares `a` and `b` in constant time with respect to their contents.
///
/// Returns `false` at once when the lengths differ (lengths are public). This check is
/// required because `openssl::memcmp::eq` panics on slices of unequal length.
pub fn eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    openssl::memcmp::eq(a, b)
}
