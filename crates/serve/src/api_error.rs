//! A request's failure as the caller sees it: a status code and a JSON body
//! `{"error": what went wrong and what to do, "field": the request field at fault}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// A 4xx or 5xx answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// The request field at fault (`body`, `code`, `samples[3].problem_id`), when one is.
    pub field: Option<String>,
    /// Seconds to wait before retrying (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, field: Option<&str>, message: String) -> ApiError {
        ApiError {
            status,
            message,
            field: field.map(str::to_string),
            retry_after: None,
        }
    }

    /// 413: `field` is over `limit` (in `unit`s).
    pub fn too_large(field: &str, limit: usize, unit: &str) -> ApiError {
        let message = format!("`{field}` is over the limit of {limit} {unit}");
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, Some(field), message)
    }

    /// 422: `field` is not acceptable, and why.
    pub fn invalid(field: &str, why: impl std::fmt::Display) -> ApiError {
        let message = format!("`{field}`: {why}");
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, Some(field), message)
    }

    /// 429: the queue is full; retry after `seconds`.
    pub fn busy(bound: usize, seconds: u64) -> ApiError {
        let message =
            format!("the server holds {bound} requests already (its --queue); retry later");
        ApiError {
            retry_after: Some(seconds),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, None, message)
        }
    }

    /// 401: no token, or the wrong one.
    pub fn unauthorized() -> ApiError {
        let message = "this server needs `Authorization: Bearer TOKEN` (its --token-file)";
        ApiError::new(StatusCode::UNAUTHORIZED, None, message.to_string())
    }

    /// 503: shutting down.
    pub fn shutting_down() -> ApiError {
        let message = "the server is shutting down; send the request to another replica";
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, None, message.to_string())
    }

    /// 500: the machinery failed (not the program).
    pub fn internal(what: impl std::fmt::Display) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, None, what.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.message, "field": self.field});
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            let value = HeaderValue::from(seconds);
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            let value = HeaderValue::from_static("Bearer");
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}
