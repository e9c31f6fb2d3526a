//! Build script.
//!
//! The crate links the system libcrypto through the `openssl` crate (pkg-config finds
//! libssl-dev), the same copy strongSwan's openssl plugin uses. The C ABI header
//! (`include/gikev2.h`) and its bindgen check arrive with the FFI layer.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
}
