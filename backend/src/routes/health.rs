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

/// Answers every operation of a kind can give, added in one place so no route forgets them:
/// 401 on routes that need a token, 400/413 where a JSON body is read, 503 `busy` where a
/// password is hashed. And every `{name}` of a path is a documented path parameter.
struct CommonResponses;

/// Operations that hash a password (bounded by the work gate: 503 `busy` when full).
const HASHES_PASSWORDS: [(&str, &str); 9] = [
    ("/api/files/{id}/shares", "post"),
    ("/api/shares", "post"),
    ("/api/public/shares/{token}/unlock", "post"),
    ("/api/public/shares/{token}/download", "post"),
    ("/api/public/shares/{token}/files", "post"),
    ("/api/public/shares/{token}/archive", "post"),
    ("/api/requests", "post"),
    ("/api/public/requests/{token}/unlock", "post"),
    ("/api/public/requests/{token}/sessions", "post"),
];

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::{ContentBuilder, Ref, Required, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let names: Vec<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            let operations = [
                ("get", &mut item.get),
                ("post", &mut item.post),
                ("put", &mut item.put),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ];
            for (method, operation) in operations {
                let Some(op) = operation.as_mut() else {
                    continue;
                };
                let responses = &mut op.responses.responses;
                let mut add = |status: &str, description: &str| {
                    responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description).into());
                };
                if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    add(
                        "401",
                        "unauthorized: no, an expired or a foreign access token",
                    );
                }
                if op.request_body.is_some() {
                    add("400", "invalid_request: the body is not the JSON described");
                    add(
                        "413",
                        &format!(
                            "payload_too_large: the body is over {} KiB",
                            super::MAX_BODY_BYTES / 1024
                        ),
                    );
                }
                if HASHES_PASSWORDS.contains(&(path.as_str(), method)) {
                    add(
                        "503",
                        "busy: too many password checks at once; retry after `Retry-After` seconds",
                    );
                }
                let parameters = op.parameters.get_or_insert_with(Vec::new);
                for name in &names {
                    let documented = parameters
                        .iter()
                        .any(|p| p.name == *name && p.parameter_in == ParameterIn::Path);
                    if !documented {
                        parameters.push(
                            ParameterBuilder::new()
                                .name(*name)
                                .parameter_in(ParameterIn::Path)
                                .required(Required::True)
                                .schema(Some(
                                    utoipa::openapi::ObjectBuilder::new()
                                        .schema_type(utoipa::openapi::schema::Type::String),
                                ))
                                .build(),
                        );
                    }
                }
            }
        }
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
        super::sealed_thumbnails::grant_thumbnail,
        super::file_batch::delete_files,
        super::shares::create_share,
        super::shares::create_share_of_files,
        super::shares::list_shares,
        super::shares::revoke_share,
        super::public::view_share,
        super::public::unlock_share,
        super::public::download_share,
        super::public_files::list_files,
        super::public_files::archive,
        super::requests::create_request,
        super::requests::list_requests,
        super::requests::get_request,
        super::requests::close_request,
        super::requests::reopen_request,
        super::requests::delete_request,
        super::guest::view_request,
        super::guest::unlock_request,
        super::guest::start_session,
        super::guest::list_sent,
        super::guest::delete_sent,
        super::guest::set_note,
        super::guest_uploads::guest_upload,
        super::guest_uploads::guest_multipart_upload,
        super::guest_uploads::guest_part_urls,
        super::guest_uploads::guest_uploaded_parts,
        super::guest_uploads::guest_complete,
    ),
    modifiers(&BearerAuth, &CommonResponses)
)]
pub struct ApiDoc;
