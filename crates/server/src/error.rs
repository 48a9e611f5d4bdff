//! Every failure a caller can see, mapped to an HTTP answer in one place.
//! The body is always `{"error": "..."}`, as Plausible's API answers.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// A reason the caller can act on. Never contains visitor data.
    pub message: String,
    /// The question it is about, for the audit log, once one was parsed.
    pub audited: Option<Box<crate::ask::Audited>>,
}

impl ApiError {
    /// 400: the request itself is wrong.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            audited: None,
        }
    }
    /// 401: no valid credentials.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            message: message.into(),
            audited: None,
        }
    }
    /// 403: valid credentials, but not for this.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
            audited: None,
        }
    }
    /// 404: no such thing.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
            audited: None,
        }
    }
    /// 503: try again later.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: message.into(),
            audited: None,
        }
    }
    /// 500: our fault. The detail goes to the log, not to the caller.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(%detail, "request failed");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "internal error".into(),
            audited: None,
        }
    }
}

impl ApiError {
    /// The same error, marked as about a parsed question.
    pub fn audited(mut self, audited: crate::ask::Audited) -> ApiError {
        self.audited = Some(Box::new(audited));
        self
    }
}

impl From<glasshouse_model::query::QueryError> for ApiError {
    fn from(e: glasshouse_model::query::QueryError) -> Self {
        ApiError::bad_request(e.to_string())
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        ApiError::internal(e)
    }
}

impl From<glasshouse_store::StoreError> for ApiError {
    fn from(e: glasshouse_store::StoreError) -> Self {
        match e {
            // The question asks for what is kept only in another form.
            glasshouse_store::StoreError::Unanswerable(why) => ApiError::bad_request(why),
            // An outage, not a fault: say so, and that trying later helps.
            glasshouse_store::StoreError::Unreachable(detail) => {
                tracing::warn!(%detail, "the store cannot be reached");
                ApiError {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    message: "the event store cannot be reached just now; events are still \
                              being collected, try the question again shortly"
                        .into(),
                    audited: None,
                }
            }
            e => ApiError::internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({"error": self.message});
        if let Some(id) = crate::request_id::current() {
            body["request_id"] = id.into();
        }
        let mut r = (self.status, Json(body)).into_response();
        r.extensions_mut()
            .insert(crate::audit::Reason(self.message.clone()));
        if let Some(a) = self.audited {
            r.extensions_mut().insert(*a);
        }
        r
    }
}
