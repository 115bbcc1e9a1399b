//! `/config.json`: where the API and the hosted sign-in UI are. Read once at start, so one build
//! runs against the local stack and AWS alike.

use ferry_api::SiteConfig;
use gloo_net::http::Request;

/// Fetches the site configuration, with a message fit for the start-up error screen.
pub async fn load() -> Result<SiteConfig, String> {
    let response = Request::get("/config.json")
        .send()
        .await
        .map_err(|e| format!("Ferry could not load its configuration ({e})."))?;
    if !response.ok() {
        return Err(format!(
            "Ferry could not load its configuration (HTTP {}).",
            response.status()
        ));
    }
    response
        .json::<SiteConfig>()
        .await
        .map_err(|e| format!("Ferry's configuration is not valid ({e})."))
}
