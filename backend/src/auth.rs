//! The `CurrentUser` extractor: every private route verifies the Bearer access token itself,
//! even behind API Gateway's JWT authorizer.

use axum::extract::FromRequestParts;
use http::request::Parts;

use crate::error::ApiError;
use crate::ports::Identity;
use crate::state::AppState;

/// The verified caller of a private route.
#[derive(Clone, Debug)]
pub struct CurrentUser(pub Identity);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        Ok(Self(state.tokens.verify(token).await?))
    }
}
