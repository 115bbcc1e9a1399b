//! The hosted UI's HTML: self-contained pages (inline CSS, light and dark, no JavaScript, no
//! external resources). Every value that came from a request is escaped.

use std::fmt::Write;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// The OAuth parameters a page carries along in hidden fields and links, as `(name, value)`.
pub type Carried<'a> = [(&'static str, &'a str)];

const STYLE: &str = r#"
:root { color-scheme: light dark; --bg: #f4f6fb; --card: #ffffff; --text: #1b2330; --muted: #556070;
  --border: #c9d1de; --accent: #2454d6; --accent-text: #ffffff; --error-bg: #fdecec; --error: #a1161b;
  --notice-bg: #e8f3ea; --notice: #1d5b2c; --focus: #f0a500; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0f141c; --card: #18202b; --text: #e6ebf2; --muted: #a3aebd; --border: #3a4657;
    --accent: #7aa2ff; --accent-text: #0b1020; --error-bg: #3a1518; --error: #ffb3b5;
    --notice-bg: #15301d; --notice: #a8e3b5; }
}
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; padding: 1.5rem;
  background: var(--bg); color: var(--text);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { width: 100%; max-width: 24rem; background: var(--card); border: 1px solid var(--border);
  border-radius: 14px; padding: 2rem; box-shadow: 0 10px 30px rgb(0 0 0 / 0.08); }
.brand { margin: 0 0 1.25rem; font-weight: 700; letter-spacing: 0.02em; color: var(--accent); }
h1 { margin: 0 0 1.5rem; font-size: 1.5rem; line-height: 1.2; }
label { display: block; margin: 1rem 0 0.35rem; font-weight: 600; }
input { width: 100%; padding: 0.65rem 0.75rem; font: inherit; color: inherit; background: transparent;
  border: 1px solid var(--border); border-radius: 8px; }
input[aria-invalid="true"] { border-color: var(--error); }
.hint { margin: 0.35rem 0 0; font-size: 0.875rem; color: var(--muted); }
button { width: 100%; margin-top: 1.5rem; padding: 0.75rem; font: inherit; font-weight: 600;
  color: var(--accent-text); background: var(--accent); border: 0; border-radius: 8px; cursor: pointer; }
button:hover { filter: brightness(1.08); }
input:focus-visible, button:focus-visible, a:focus-visible { outline: 3px solid var(--focus);
  outline-offset: 2px; }
.alert { margin: 0 0 1rem; padding: 0.75rem 1rem; border-radius: 8px; background: var(--error-bg);
  color: var(--error); }
.notice { margin: 0 0 1rem; padding: 0.75rem 1rem; border-radius: 8px; background: var(--notice-bg);
  color: var(--notice); }
.switch { margin: 1.5rem 0 0; text-align: center; color: var(--muted); }
a { color: var(--accent); }
"#;

/// Escapes text for element content and double-quoted attribute values.
pub fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes `(name, value)` pairs as a query string.
pub fn query(pairs: &Carried<'_>) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    // RFC 3986 unreserved characters stay as they are.
    const SET: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, SET),
                utf8_percent_encode(v, SET)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n<title>{title}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<main>\n\
         <p class=\"brand\">Ferry</p>\n{body}</main>\n</body>\n</html>\n"
    )
}

fn hidden_fields(carried: &Carried<'_>) -> String {
    carried
        .iter()
        .fold(String::new(), |mut out, (name, value)| {
            let _ = writeln!(
                out,
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(name),
                escape(value)
            );
            out
        })
}

fn messages(error: Option<&str>, notice: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(error) = error {
        let _ = writeln!(
            out,
            "<p class=\"alert\" role=\"alert\" id=\"form-error\">{}</p>",
            escape(error)
        );
    }
    if let Some(notice) = notice {
        let _ = writeln!(
            out,
            "<p class=\"notice\" role=\"status\">{}</p>",
            escape(notice)
        );
    }
    out
}

/// `aria-invalid` and `aria-describedby` for inputs when the form has an error.
fn invalid_attrs(error: Option<&str>) -> &'static str {
    if error.is_some() {
        " aria-invalid=\"true\" aria-describedby=\"form-error\""
    } else {
        ""
    }
}

pub fn sign_in(
    carried: &Carried<'_>,
    email: &str,
    error: Option<&str>,
    notice: Option<&str>,
) -> String {
    let invalid = invalid_attrs(error);
    let body = format!(
        "<h1>Sign in</h1>\n{messages}\
         <form method=\"post\" action=\"/login\" novalidate>\n{hidden}\
         <label for=\"email\">Email</label>\n\
         <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required \
         autofocus value=\"{email}\"{invalid}>\n\
         <label for=\"password\">Password</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" \
         required{invalid}>\n\
         <button type=\"submit\">Sign in</button>\n</form>\n\
         <p class=\"switch\">New to Ferry? <a href=\"/signup?{query}\">Create an account</a></p>\n",
        messages = messages(error, notice),
        hidden = hidden_fields(carried),
        email = escape(email),
        query = escape(&query(carried)),
    );
    document("Sign in · Ferry", &body)
}

pub fn sign_up(carried: &Carried<'_>, email: &str, error: Option<&str>) -> String {
    let invalid = invalid_attrs(error);
    let body = format!(
        "<h1>Create account</h1>\n{messages}\
         <form method=\"post\" action=\"/signup\" novalidate>\n{hidden}\
         <label for=\"email\">Email</label>\n\
         <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" required autofocus \
         value=\"{email}\"{invalid}>\n\
         <label for=\"password\">Password</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" \
         required minlength=\"8\" aria-describedby=\"password-hint\"{invalid_pw}>\n\
         <p class=\"hint\" id=\"password-hint\">At least 8 characters, including a letter and a digit.</p>\n\
         <button type=\"submit\">Create account</button>\n</form>\n\
         <p class=\"switch\">Already have an account? <a href=\"/oauth2/authorize?{query}\">Sign in</a></p>\n",
        messages = messages(error, None),
        hidden = hidden_fields(carried),
        email = escape(email),
        // The hint must stay linked, so an error adds to `aria-describedby` instead of replacing it.
        invalid_pw = if error.is_some() {
            " aria-invalid=\"true\""
        } else {
            ""
        },
        query = escape(&query(carried)),
    );
    document("Create account · Ferry", &body)
}

pub fn confirm(carried: &Carried<'_>, email: &str, error: Option<&str>) -> String {
    let invalid = invalid_attrs(error);
    let body = format!(
        "<h1>Confirm your account</h1>\n{messages}\
         <form method=\"post\" action=\"/confirm\" novalidate>\n{hidden}\
         <input type=\"hidden\" name=\"email\" value=\"{email}\">\n\
         <p>We sent a confirmation code for <strong>{email}</strong>. On the local stack it is \
         printed in the server's console.</p>\n\
         <label for=\"code\">Confirmation code</label>\n\
         <input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" \
         autocomplete=\"one-time-code\" required autofocus{invalid}>\n\
         <button type=\"submit\">Confirm</button>\n</form>\n\
         <p class=\"switch\"><a href=\"/oauth2/authorize?{query}\">Back to sign in</a></p>\n",
        messages = messages(error, None),
        hidden = hidden_fields(carried),
        email = escape(email),
        query = escape(&query(carried)),
    );
    document("Confirm account · Ferry", &body)
}

pub fn error(message: &str) -> String {
    let body = format!(
        "<h1>Something is wrong with this link</h1>\n<p class=\"alert\" role=\"alert\">{}</p>\n\
         <p>Go back to the app and try signing in again.</p>\n",
        escape(message)
    );
    document("Sign-in error · Ferry", &body)
}

/// An HTML response that is never cached, framed, or allowed to load anything external.
pub fn respond(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Nothing leaves for other origins; same-origin form posts keep their `Origin` (under
    // `no-referrer` browsers send `Origin: null`, and the CSRF check could not tell them apart).
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflected_values_are_escaped_everywhere() {
        let evil = "\"><script>alert('x')</script>&";
        let carried = [("state", evil), ("client_id", "c")];
        for page in [
            sign_in(&carried, evil, Some(evil), Some(evil)),
            sign_up(&carried, evil, Some(evil)),
            confirm(&carried, evil, Some(evil)),
            error(evil),
        ] {
            assert!(!page.contains("<script>"), "{page}");
            assert!(!page.contains(evil), "{page}");
            assert!(!page.contains("'x'"), "{page}");
        }
    }

    #[test]
    fn the_sign_in_page_is_complete_and_self_contained() {
        let page = sign_in(&[("state", "s 1"), ("client_id", "c")], "", None, None);
        assert!(page.contains("<title>Sign in · Ferry</title>"));
        assert!(
            page.contains("<label for=\"email\">") && page.contains("<label for=\"password\">")
        );
        assert!(page.contains("name=\"state\" value=\"s 1\""));
        assert!(page.contains("href=\"/signup?state=s%201&amp;client_id=c\""));
        assert!(page.contains("prefers-color-scheme: dark"));
        assert!(
            !page.contains("<script") && !page.contains("http://") && !page.contains("https://")
        );
        assert!(sign_up(&[], "", None).contains("<title>Create account · Ferry</title>"));
    }
}
