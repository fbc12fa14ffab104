//! The JSON body extractor: the body read up to the server's limit (413 naming `body` past
//! it), then parsed with the path of the field at fault in any error (422 naming it).

use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::api_error::ApiError;
use crate::app::AppState;

/// A request body parsed as `T`.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<AppState>> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let limit = state.limits.body_bytes;
        let bytes = axum::body::to_bytes(request.into_body(), limit)
            .await
            .map_err(|_| ApiError::too_large("body", limit, "bytes"))?;
        parse(&bytes).map(JsonBody)
    }
}

/// `bytes` as `T`; an error names the field's path (`samples[2].code`), or `body` when the
/// text is not JSON at all.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let field = match path.as_str() {
            "." | "" | "?" => "body".to_string(),
            _ => path,
        };
        ApiError::invalid(&field, inner)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        code: String,
    }

    #[test]
    fn errors_name_the_field_at_fault() {
        let error = parse::<Outer>(br#"{"items": [{"code": "x"}, {"code": 3}]}"#).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("items[1].code"));
        assert_eq!(error.status.as_u16(), 422);
        let error = parse::<Outer>(b"not json").unwrap_err();
        assert_eq!(error.field.as_deref(), Some("body"));
    }
}
