//! What every request to the embedded S3 endpoint passes before s3s sees it: a `Host` check
//! (so a web page that rebinds its own DNS name to 127.0.0.1 cannot talk to the endpoint from
//! the browser), and one log line per request that was refused — at debug for the client's
//! mistakes (bad signature, expired URL, missing key, failed precondition), at error only for
//! the endpoint's own faults, so nobody can fill the log by sending bad requests.

use std::net::{IpAddr, SocketAddr};

use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use tower::ServiceExt as _;

/// The `Host` values a request may carry: the address the endpoint is bound to, as a client
/// would spell it.
#[derive(Clone, Debug)]
pub struct AllowedHosts {
    port: u16,
    /// `None`: bound to every interface, so any IP literal is the endpoint's own address.
    ip: Option<IpAddr>,
}

impl AllowedHosts {
    pub fn for_addr(addr: SocketAddr) -> Self {
        let ip = addr.ip();
        Self {
            port: addr.port(),
            ip: (!ip.is_unspecified()).then_some(ip),
        }
    }

    /// Whether `host` (a `Host` header's value) names the endpoint. `localhost` counts when the
    /// endpoint listens on loopback; a DNS name never does, as that is what a rebinding page uses.
    pub fn allows(&self, host: &str) -> bool {
        let Some((name, port)) = split_host(host) else {
            return false;
        };
        // Browsers and SDKs leave the port out only when it is the scheme's default.
        if port.unwrap_or(80) != self.port {
            return false;
        }
        if name.eq_ignore_ascii_case("localhost") {
            return self.ip.is_none_or(|ip| ip.is_loopback());
        }
        match name.parse::<IpAddr>() {
            Ok(given) => self.ip.is_none_or(|ip| ip == given),
            Err(_) => false,
        }
    }

    fn allows_headers(&self, headers: &HeaderMap) -> bool {
        let mut hosts = headers.get_all(header::HOST).iter();
        match (hosts.next(), hosts.next()) {
            (Some(host), None) => host.to_str().is_ok_and(|host| self.allows(host)),
            _ => false,
        }
    }
}

/// `name` and `port` of a `Host` value; IPv6 literals come bracketed (`[::1]:9000`).
fn split_host(host: &str) -> Option<(&str, Option<u16>)> {
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let (name, after) = rest.split_once(']')?;
        match after {
            "" => (name, None),
            _ => (name, Some(after.strip_prefix(':')?)),
        }
    } else {
        match host.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        }
    };
    let port = match port {
        Some(port) => Some(port.parse::<u16>().ok()?),
        None => None,
    };
    (!name.is_empty()).then_some((name, port))
}

/// How a finished request is logged: `None` for success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The client's doing (4xx, and 501 for an operation it should not ask for): one debug
    /// line.
    Refused,
    /// The endpoint's fault (5xx but 501): one error line.
    Failed,
}

pub fn classify(status: StatusCode) -> Option<Outcome> {
    // An operation the endpoint does not implement is the client's request, not a fault.
    if status == StatusCode::NOT_IMPLEMENTED || status.is_client_error() {
        Some(Outcome::Refused)
    } else if status.is_server_error() {
        Some(Outcome::Failed)
    } else {
        None
    }
}

/// `service` behind the `Host` check, logging what it refuses.
pub fn gate<S>(
    service: S,
    hosts: AllowedHosts,
) -> impl tower::Service<
    Request<Incoming>,
    Response = Response<s3s::Body>,
    Error = S::Error,
    Future = impl Send + 'static,
> + Clone
+ Send
+ 'static
where
    S: tower::Service<Request<Incoming>, Response = Response<s3s::Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    tower::service_fn(move |request: Request<Incoming>| {
        let service = service.clone();
        let allowed = hosts.allows_headers(request.headers());
        async move {
            if !allowed {
                tracing::debug!("s3 request refused: Host is not the endpoint's address");
                return Ok(wrong_host());
            }
            let method = request.method().clone();
            let path = request.uri().path().to_owned();
            let response = service.oneshot(request).await?;
            let status = response.status().as_u16();
            match classify(response.status()) {
                None => {}
                Some(Outcome::Refused) => {
                    tracing::debug!(%method, path, status, "s3 request refused")
                }
                Some(Outcome::Failed) => {
                    tracing::error!(%method, path, status, "s3 request failed")
                }
            }
            Ok(response)
        }
    })
}

fn wrong_host() -> Response<s3s::Body> {
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>\
<Message>The Host header does not name this endpoint; use the address it listens on.</Message>\
</Error>";
    let mut response = Response::new(s3s::Body::from(body.to_owned()));
    *response.status_mut() = StatusCode::FORBIDDEN;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bound_address_is_a_host() {
        let loopback = AllowedHosts::for_addr("127.0.0.1:9000".parse().unwrap());
        for host in ["127.0.0.1:9000", "localhost:9000", "LOCALHOST:9000"] {
            assert!(loopback.allows(host), "{host} refused");
        }
        for host in [
            "evil.example:9000",
            "127.0.0.1.nip.io:9000",
            "127.0.0.1:9001",
            "127.0.0.1",
            "[::1]:9000",
            "10.0.0.1:9000",
            "",
            ":9000",
            "127.0.0.1:9000:1",
            "127.0.0.1:x",
        ] {
            assert!(!loopback.allows(host), "{host:?} allowed");
        }
        let v6 = AllowedHosts::for_addr("[::1]:9000".parse().unwrap());
        assert!(v6.allows("[::1]:9000"));
        assert!(v6.allows("localhost:9000"));
        assert!(!v6.allows("127.0.0.1:9000"));
        assert!(!v6.allows("[::1"));
        let everywhere = AllowedHosts::for_addr("0.0.0.0:9000".parse().unwrap());
        assert!(everywhere.allows("192.168.1.5:9000"));
        assert!(everywhere.allows("localhost:9000"));
        assert!(!everywhere.allows("files.example:9000"));
        let port_80 = AllowedHosts::for_addr("127.0.0.1:80".parse().unwrap());
        assert!(port_80.allows("127.0.0.1"));
    }

    #[test]
    fn a_request_needs_exactly_one_host() {
        let hosts = AllowedHosts::for_addr("127.0.0.1:9000".parse().unwrap());
        let mut headers = HeaderMap::new();
        assert!(!hosts.allows_headers(&headers));
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:9000"));
        assert!(hosts.allows_headers(&headers));
        headers.append(header::HOST, HeaderValue::from_static("evil.example:9000"));
        assert!(!hosts.allows_headers(&headers));
    }

    #[test]
    fn only_server_faults_are_errors() {
        assert_eq!(classify(StatusCode::OK), None);
        assert_eq!(classify(StatusCode::PARTIAL_CONTENT), None);
        assert_eq!(classify(StatusCode::NOT_MODIFIED), None);
        for refused in [400, 403, 404, 409, 412, 416] {
            let status = StatusCode::from_u16(refused).unwrap();
            assert_eq!(classify(status), Some(Outcome::Refused), "{status}");
        }
        assert_eq!(
            classify(StatusCode::INTERNAL_SERVER_ERROR),
            Some(Outcome::Failed)
        );
        assert_eq!(
            classify(StatusCode::SERVICE_UNAVAILABLE),
            Some(Outcome::Failed)
        );
        assert_eq!(
            classify(StatusCode::NOT_IMPLEMENTED),
            Some(Outcome::Refused)
        );
    }
}
