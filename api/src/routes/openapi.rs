//! `GET /openapi.json`: the OpenAPI 3.1 document of this API (`routes::document`, from the
//! route declarations), serialized once when the router is built. Public: no token needed.

use std::sync::Arc;

use axum::{
    Extension,
    body::Bytes,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};

/// The document, as the JSON bytes every request answers.
pub struct Document(Bytes);

impl Document {
    /// Serializes `doc` (infallible for the document's plain maps and strings; an empty object
    /// if it ever fails, which the route tests would notice).
    pub fn of(doc: &utoipa::openapi::OpenApi) -> Self {
        Self(Bytes::from(
            serde_json::to_vec(doc).unwrap_or_else(|_| b"{}".to_vec()),
        ))
    }
}

/// This document, as JSON.
#[utoipa::path(get, path = "/openapi.json", operation_id = "openapi", tag = "operations",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this API.",
            body = serde_json::Value, content_type = "application/json"),
    ))]
pub async fn document(Extension(document): Extension<Arc<Document>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        document.0.clone(),
    )
        .into_response()
}
