//! The few calls of DuckDB's C API that the Rust binding does not offer.
//!
//! The binding appends Arrow data through DuckDB's appender, which copies
//! every string twice before the table does (into a vector, then into the
//! appender's buffer). DuckDB's own Arrow scan reads the Arrow buffers in
//! place, so a bulk load inserts from it instead; that needs the database
//! handle, which the binding keeps private, so the store opens the database
//! here and hands the binding a connection to it.

use crate::StoreError;
use duckdb::arrow::ffi_stream::FFI_ArrowArrayStream;
use duckdb::ffi;
use std::ffi::{CStr, CString};
use std::path::Path;
use std::ptr;

fn c_string(s: &str) -> Result<CString, StoreError> {
    CString::new(s).map_err(|_| StoreError::Database("a NUL byte in a statement".into()))
}

/// Copies a message DuckDB owns.
fn message(p: *const std::os::raw::c_char, fallback: &str) -> String {
    if p.is_null() {
        return fallback.to_string();
    }
    // SAFETY: DuckDB hands out NUL-terminated messages that live as long
    // as the object they came from, which outlives this copy.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// An open database. Closing it while connections remain is safe: each
/// connection keeps the instance alive.
pub(super) struct RawDb(ffi::duckdb_database);

// SAFETY: a DuckDB database handle may be used from any thread.
unsafe impl Send for RawDb {}
unsafe impl Sync for RawDb {}

impl RawDb {
    /// Opens (creating if needed) the database at `path` with `settings`.
    pub(super) fn open(path: &Path, settings: &[(&str, &str)]) -> Result<RawDb, StoreError> {
        let c_path = c_string(&path.to_string_lossy())?;
        let mut config: ffi::duckdb_config = ptr::null_mut();
        // SAFETY: the config is created, filled and destroyed here; every
        // string outlives the call it is passed to.
        unsafe {
            if ffi::duckdb_create_config(&mut config) != ffi::DuckDBSuccess {
                return Err(StoreError::Database("cannot create a DuckDB config".into()));
            }
            for (name, value) in settings {
                let (n, v) = (c_string(name)?, c_string(value)?);
                if ffi::duckdb_set_config(config, n.as_ptr(), v.as_ptr()) != ffi::DuckDBSuccess {
                    ffi::duckdb_destroy_config(&mut config);
                    return Err(StoreError::Database(format!(
                        "DuckDB refused the setting {name}"
                    )));
                }
            }
            let mut db: ffi::duckdb_database = ptr::null_mut();
            let mut err: *mut std::os::raw::c_char = ptr::null_mut();
            let state = ffi::duckdb_open_ext(c_path.as_ptr(), &mut db, config, &mut err);
            ffi::duckdb_destroy_config(&mut config);
            if state != ffi::DuckDBSuccess {
                let why = message(err, "cannot open the database");
                if !err.is_null() {
                    ffi::duckdb_free(err.cast());
                }
                return Err(StoreError::Database(why));
            }
            Ok(RawDb(db))
        }
    }

    /// A connection through the Rust binding.
    pub(super) fn connection(&self) -> Result<duckdb::Connection, StoreError> {
        // SAFETY: the handle is open; the binding does not close it.
        unsafe { duckdb::Connection::open_from_raw(self.0) }.map_err(super::db_err)
    }

    /// A connection for the calls below.
    pub(super) fn raw_connection(&self) -> Result<RawConn, StoreError> {
        let mut con: ffi::duckdb_connection = ptr::null_mut();
        // SAFETY: the handle is open; the connection is closed on drop.
        if unsafe { ffi::duckdb_connect(self.0, &mut con) } != ffi::DuckDBSuccess {
            return Err(StoreError::Database(
                "cannot connect to the database".into(),
            ));
        }
        Ok(RawConn(con))
    }
}

impl Drop for RawDb {
    fn drop(&mut self) {
        // SAFETY: opened in `open`, closed once here.
        unsafe { ffi::duckdb_close(&mut self.0) }
    }
}

/// A connection of the C API.
pub(super) struct RawConn(ffi::duckdb_connection);

// SAFETY: a connection may move between threads; it is used by one at a time.
unsafe impl Send for RawConn {}

/// Runs `run`, which fills a result, and answers with the database's
/// message if it failed; the result is destroyed either way.
///
/// # Safety
/// `run` must be a C API call that fills the result it is given.
unsafe fn with_result(
    run: impl FnOnce(*mut ffi::duckdb_result) -> ffi::duckdb_state,
) -> Result<(), StoreError> {
    // SAFETY: `result` is zeroed, filled by `run` and destroyed here.
    unsafe {
        let mut result: ffi::duckdb_result = std::mem::zeroed();
        let out = if run(&mut result) == ffi::DuckDBSuccess {
            Ok(())
        } else {
            Err(StoreError::Database(message(
                ffi::duckdb_result_error(&mut result),
                "the statement failed",
            )))
        };
        ffi::duckdb_destroy_result(&mut result);
        out
    }
}

impl RawConn {
    /// Runs statements that take no parameters.
    pub(super) fn execute(&self, sql: &str) -> Result<(), StoreError> {
        let c_sql = c_string(sql)?;
        // SAFETY: the connection is open and the statement outlives the call.
        unsafe { with_result(|result| ffi::duckdb_query(self.0, c_sql.as_ptr(), result)) }
    }

    /// Runs one statement with text parameters bound to `$1`, `$2`, …
    pub(super) fn execute_with(&self, sql: &str, params: &[&str]) -> Result<(), StoreError> {
        let c_sql = c_string(sql)?;
        let values = params
            .iter()
            .map(|p| c_string(p))
            .collect::<Result<Vec<_>, _>>()?;
        // SAFETY: the statement is created and destroyed here; every bound
        // string outlives its bind call (DuckDB copies it).
        unsafe {
            let mut stmt: ffi::duckdb_prepared_statement = ptr::null_mut();
            let out =
                if ffi::duckdb_prepare(self.0, c_sql.as_ptr(), &mut stmt) != ffi::DuckDBSuccess {
                    Err(StoreError::Database(message(
                        ffi::duckdb_prepare_error(stmt),
                        "cannot prepare",
                    )))
                } else if values.iter().enumerate().any(|(i, v)| {
                    ffi::duckdb_bind_varchar(stmt, i as u64 + 1, v.as_ptr()) != ffi::DuckDBSuccess
                }) {
                    Err(StoreError::Database("cannot bind a parameter".into()))
                } else {
                    with_result(|result| ffi::duckdb_execute_prepared(stmt, result))
                };
            ffi::duckdb_destroy_prepare(&mut stmt);
            out
        }
    }

    /// Makes `stream` readable as the view `name`. The stream must stay
    /// alive, at the same address, while the view is read.
    pub(super) fn arrow_view(
        &self,
        name: &str,
        stream: &mut FFI_ArrowArrayStream,
    ) -> Result<(), StoreError> {
        let c_name = c_string(name)?;
        // SAFETY: `stream` is a valid Arrow C stream that the caller keeps
        // alive while the view is in use.
        let state = unsafe {
            ffi::duckdb_arrow_scan(
                self.0,
                c_name.as_ptr(),
                (stream as *mut FFI_ArrowArrayStream).cast(),
            )
        };
        if state != ffi::DuckDBSuccess {
            return Err(StoreError::Database(
                "DuckDB cannot scan the Arrow stream".into(),
            ));
        }
        Ok(())
    }
}

impl Drop for RawConn {
    fn drop(&mut self) {
        // SAFETY: connected in `raw_connection`, closed once here.
        unsafe { ffi::duckdb_disconnect(&mut self.0) }
    }
}

#[cfg(test)]
mod tests {
    use crate::DuckStore;

    /// The settings go through the C API's config: the server runs offline
    /// and loads no code it did not ship with.
    #[test]
    fn the_database_is_opened_without_extensions_or_external_access() {
        let dir = tempfile::tempdir().unwrap();
        let store = DuckStore::open(dir.path()).unwrap();
        let conn = store.writer.lock().unwrap();
        for setting in [
            "autoinstall_known_extensions",
            "autoload_known_extensions",
            "enable_external_access",
        ] {
            let value: bool = conn
                .query_row(&format!("SELECT current_setting('{setting}')"), [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert!(!value, "{setting} is on");
        }
        let threshold: String = conn
            .query_row("SELECT current_setting('checkpoint_threshold')", [], |r| {
                r.get(0)
            })
            .unwrap();
        // 256 MB, as DuckDB shows it.
        assert_eq!(threshold, "244.1 MiB");
        assert!(conn.execute_batch("INSTALL httpfs; LOAD httpfs").is_err());
    }
}
