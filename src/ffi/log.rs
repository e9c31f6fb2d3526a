//! `gikev2_set_logger`: the `log` crate's records go to the host's callback. The logger is
//! installed once per process; the callback, its user pointer and the level can be
//! replaced at any time (a read-write lock; the callback runs without the lock held, so it
//! may call back into the library, even `gikev2_set_logger`). The library never logs key
//! bytes (key IDs, SPIs and lengths only).

use super::abi::{gikev2_log_fn, gikev2_log_level_t, gikev2_status_t};
use super::boundary::{cstring, guard};
use super::error::Error;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{OnceLock, RwLock};

/// The host's callback.
#[derive(Clone, Copy)]
struct Sink {
    callback: unsafe extern "C" fn(*mut c_void, gikev2_log_level_t, *const std::ffi::c_char),
    /// The user pointer, kept as an address: the host owns what it points to.
    user: usize,
    max: log::LevelFilter,
}

static SINK: RwLock<Option<Sink>> = RwLock::new(None);
/// Whether `log::set_logger` installed ours (it can be set once per process).
static INSTALLED: OnceLock<bool> = OnceLock::new();

struct CallbackLogger;
static LOGGER: CallbackLogger = CallbackLogger;

fn sink() -> Option<Sink> {
    *SINK.read().unwrap_or_else(|e| e.into_inner())
}

impl log::Log for CallbackLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        sink().is_some_and(|s| metadata.level() <= s.max)
    }

    fn log(&self, record: &log::Record<'_>) {
        let Some(s) = sink() else { return };
        if record.level() > s.max {
            return;
        }
        let level = match record.level() {
            log::Level::Error => gikev2_log_level_t::GIKEV2_LOG_ERROR,
            log::Level::Warn => gikev2_log_level_t::GIKEV2_LOG_WARN,
            log::Level::Info => gikev2_log_level_t::GIKEV2_LOG_INFO,
            log::Level::Debug => gikev2_log_level_t::GIKEV2_LOG_DEBUG,
            log::Level::Trace => gikev2_log_level_t::GIKEV2_LOG_TRACE,
        };
        // Formatting runs library Display code: keep a panic there on this side.
        let Ok(line) = catch_unwind(AssertUnwindSafe(|| cstring(record.args().to_string()))) else {
            return;
        };
        // SAFETY: the host registered this callback with this user pointer and promised
        // it may be called from any thread that calls into the library.
        unsafe { (s.callback)(s.user as *mut c_void, level, line.as_ptr()) }
    }

    fn flush(&self) {}
}

/// Installs (or replaces, or with NULL removes) the process-wide log callback.
#[no_mangle]
pub unsafe extern "C" fn gikev2_set_logger(
    fn_: gikev2_log_fn,
    user: *mut c_void,
    max_level: gikev2_log_level_t,
) -> gikev2_status_t {
    guard("gikev2_set_logger", || {
        let max = match max_level {
            gikev2_log_level_t::GIKEV2_LOG_ERROR => log::LevelFilter::Error,
            gikev2_log_level_t::GIKEV2_LOG_WARN => log::LevelFilter::Warn,
            gikev2_log_level_t::GIKEV2_LOG_INFO => log::LevelFilter::Info,
            gikev2_log_level_t::GIKEV2_LOG_DEBUG => log::LevelFilter::Debug,
            gikev2_log_level_t::GIKEV2_LOG_TRACE => log::LevelFilter::Trace,
            _ if fn_.is_none() => log::LevelFilter::Off,
            other => {
                return Err(Error::Argument(format!(
                    "max_level {} is not a log level (1 to 5)",
                    other.0
                )))
            }
        };
        let ours = *INSTALLED.get_or_init(|| log::set_logger(&LOGGER).is_ok());
        if !ours {
            return Err(Error::State(
                "another logger of the Rust log crate is installed in this process".into(),
            ));
        }
        let new = fn_.map(|callback| Sink {
            callback,
            user: user as usize,
            max,
        });
        *SINK.write().unwrap_or_else(|e| e.into_inner()) = new;
        log::set_max_level(if new.is_some() {
            max
        } else {
            log::LevelFilter::Off
        });
        Ok(())
    })
}
