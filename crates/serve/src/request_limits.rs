//! Bounds on what one request may ask for, each named after the field it bounds.

use crate::api_error::ApiError;

/// Per-request limits. A request over one gets a 413 (sizes) or 422 (values) naming the
/// field.
#[derive(Debug, Clone)]
pub struct RequestLimits {
    /// Bytes of a request body. Default 16 MiB.
    pub body_bytes: usize,
    /// Bytes of one program (`code`, `completion`). Default 256 KiB.
    pub code_bytes: usize,
    /// Programs in one `/v1/evaluate` or `/v1/reward` request. Default 1024.
    pub programs: usize,
    /// Test cases in one `/submit`. Default 512.
    pub tests: usize,
    /// Bytes of `stdin` (and of each test's input). Default 4 MiB.
    pub stdin_bytes: usize,
    /// Decoded bytes of all `files` of one `/run_code`. Default 8 MiB.
    pub files_bytes: usize,
    /// Largest `run_timeout`, in seconds. Default 60.
    pub run_timeout_s: f64,
    /// Largest `memory_limit_MB`. Default 16384.
    pub memory_mb: u64,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            body_bytes: 16 << 20,
            code_bytes: 256 << 10,
            programs: 1024,
            tests: 512,
            stdin_bytes: 4 << 20,
            files_bytes: 8 << 20,
            run_timeout_s: 60.0,
            memory_mb: 16384,
        }
    }
}

impl RequestLimits {
    /// 413 when `text` (the value of `field`) is over `limit` bytes.
    pub fn check_bytes(field: &str, text: &str, limit: usize) -> Result<(), ApiError> {
        match text.len() > limit {
            true => Err(ApiError::too_large(field, limit, "bytes")),
            false => Ok(()),
        }
    }

    /// 413 when `field` holds more than `limit` items.
    pub fn check_count(field: &str, count: usize, limit: usize) -> Result<(), ApiError> {
        match count > limit {
            true => Err(ApiError::too_large(field, limit, "items")),
            false => Ok(()),
        }
    }

    /// A program's size, under [`RequestLimits::code_bytes`].
    pub fn check_code(&self, field: &str, code: &str) -> Result<(), ApiError> {
        RequestLimits::check_bytes(field, code, self.code_bytes)
    }

    /// A timeout in seconds: positive and at most [`RequestLimits::run_timeout_s`].
    pub fn check_timeout(&self, field: &str, seconds: f64) -> Result<f64, ApiError> {
        if !(seconds > 0.0 && seconds.is_finite()) {
            return Err(ApiError::invalid(
                field,
                "must be a positive number of seconds",
            ));
        }
        if seconds > self.run_timeout_s {
            let why = format!("at most {} seconds on this server", self.run_timeout_s);
            return Err(ApiError::invalid(field, why));
        }
        Ok(seconds)
    }
}
