//! `GET /api/health` and `GET /api/openapi.json` (generated from the handlers).

use axum::routing::get;
use axum::{Json, Router};
use ferry_api::Health;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
}

#[utoipa::path(get, path = "/api/health", tag = "meta", responses((status = 200, body = Health)))]
pub(crate) async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document of the whole API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Ferry API", description = "Upload, list and share files. Bytes never pass through this API: it issues presigned URLs."),
    paths(
        health,
        super::uploads::create_upload,
        super::uploads::create_multipart_upload,
        super::parts::request_part_urls,
        super::parts::list_uploaded_parts,
        super::parts::complete_upload,
        super::files::list_files,
        super::files::get_file,
        super::files::download_file,
        super::files::delete_file,
        super::shares::create_share,
        super::shares::list_shares,
        super::shares::revoke_share,
        super::public::view_share,
        super::public::unlock_share,
        super::public::download_share,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;
