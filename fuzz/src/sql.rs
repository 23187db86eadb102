//! An in-process SQLite (rusqlite, bundled) with otelcat registered as an
//! auto extension: every connection opened here has the extension's
//! functions and tables, as `.load dist/otelcat` gives them.

use std::sync::Once;

use rusqlite::Connection;

/// A new in-memory database with otelcat loaded.
pub fn connect() -> Connection {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // SAFETY: sqlite3_otelcat_init is an extension entry point with the
        // signature SQLite calls auto extensions with; otelcat's sqlite3
        // types are the same C types as rusqlite's.
        type Init = unsafe extern "C" fn(
            *mut rusqlite::ffi::sqlite3,
            *mut *mut std::ffi::c_char,
            *const rusqlite::ffi::sqlite3_api_routines,
        ) -> std::ffi::c_int;
        let rc = unsafe {
            rusqlite::ffi::sqlite3_auto_extension(Some(std::mem::transmute::<*const (), Init>(
                otelcat::ffi::sqlite3_otelcat_init as *const (),
            )))
        };
        assert_eq!(rc, rusqlite::ffi::SQLITE_OK, "sqlite3_auto_extension");
    });
    Connection::open_in_memory().expect("in-memory database")
}

/// An SQL error text must be one a user can act on: never a panic that a
/// guard caught, never empty.
pub fn assert_clear(what: &str, e: &rusqlite::Error) {
    let msg = e.to_string();
    assert!(!msg.trim().is_empty(), "{what}: empty error");
    assert!(
        !msg.contains("panic"),
        "{what}: a panic became an SQL error: {msg}"
    );
}
