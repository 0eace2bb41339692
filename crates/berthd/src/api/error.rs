//! The one place where errors become HTTP responses.

use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_api::ApiError;
use http::StatusCode;

/// A handler error: rendered as Docker's `{"message": ...}` with the kind's status.
#[derive(Debug)]
pub struct Error(pub ApiError);

impl Error {
    pub fn response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(error = %self.0.message, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), error = %self.0.message, "request rejected");
        }
        (status, Json(self.0.body())).into_response()
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        self.response()
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error(e)
    }
}
