//! Bindings to `sqlite3ext.h` for otelcat (a stand-in for the crates.io
//! `sqlite3ext-sys` 0.0.1, which sqlite-loadable used).
//!
//! The published crate runs bindgen at build time (needs libclang) and
//! compiles a whole SQLite 3.39 amalgamation. A loadable extension needs
//! neither: it only needs the type definitions of `sqlite3ext.h` and
//! reaches every SQLite routine through the `sqlite3_api_routines` table
//! the host hands to the entry point. So the bindings were generated once
//! (see `tools/gen-sqlite3ext-bindings.sh`) from the SQLite 3.40.1 headers
//! and committed. Functions and global variables are blocklisted: an
//! extension must never link against SQLite symbols directly.
#![allow(non_upper_case_globals)]
#![allow(non_camel_case_types)]
#![allow(non_snake_case)]
#![allow(dead_code)]
#![allow(clippy::all)]

include!("bindings.rs");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_version() {
        assert_eq!(SQLITE_VERSION_NUMBER, 3040001);
        // The routine table is pointers only: its size fixes the ABI the
        // host must provide (every slot up to 3.40's last one).
        assert_eq!(
            std::mem::size_of::<sqlite3_api_routines>() % std::mem::size_of::<usize>(),
            0
        );
    }
}
