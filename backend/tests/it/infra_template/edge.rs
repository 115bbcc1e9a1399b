//! The site's edge: CloudFront's security headers as the local server sends them, rate limits
//! on the public routes, and pages routed as the local server routes them.

use super::*;

/// The CSP text of a response-headers policy (the `!Sub` template, placeholders kept).
fn csp_of(t: &Template, policy: &str) -> String {
    let headers = field(
        field(t.properties(policy), "ResponseHeadersPolicyConfig"),
        "SecurityHeadersConfig",
    );
    let csp = field(
        field(headers, "ContentSecurityPolicy"),
        "ContentSecurityPolicy",
    );
    let text = match csp {
        Value::Tagged(tagged) => match &tagged.value {
            Value::Sequence(items) => items.first().and_then(Value::as_str),
            other => other.as_str(),
        },
        other => other.as_str(),
    };
    text.unwrap_or_default().to_owned()
}

fn directives(csp: &str) -> Vec<String> {
    csp.split(';')
        .map(|d| d.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|d| !d.is_empty())
        .collect()
}

/// CloudFront's policy and `ferry serve`'s are one policy: the local one, given the template's
/// placeholders as origins, is the template's directive for directive.
#[test]
fn the_local_server_sends_cloudfronts_security_headers() {
    use ferry::site::{HSTS, SitePolicy, content_security_policy};
    let (t, _) = Template::load();
    let local = content_security_policy(&SitePolicy {
        files_origins: vec!["${FilesOrigin}".into(), "${FilesGlobalOrigin}".into()],
        auth_origin: Some("${AuthOrigin}".into()),
        https: true,
    });
    assert_eq!(
        directives(&csp_of(&t, "SecurityHeadersPolicy")),
        directives(&local)
    );
    let config = |policy: &str| {
        field(
            field(t.properties(policy), "ResponseHeadersPolicyConfig"),
            "SecurityHeadersConfig",
        )
        .clone()
    };
    let hsts = field(&config("SecurityHeadersPolicy"), "StrictTransportSecurity").clone();
    assert_eq!(
        format!(
            "max-age={}",
            field(&hsts, "AccessControlMaxAgeSec").as_u64().unwrap()
        ),
        HSTS
    );
    assert_eq!(field(&hsts, "IncludeSubdomains").as_bool(), Some(false));

    // Share pages: the same security headers, plus noindex, on their own behaviour.
    assert_eq!(
        config("SharePageHeadersPolicy"),
        config("SecurityHeadersPolicy")
    );
    let custom = field(
        field(
            t.properties("SharePageHeadersPolicy"),
            "ResponseHeadersPolicyConfig",
        ),
        "CustomHeadersConfig",
    );
    assert!(list(field(custom, "Items")).iter().any(|item| {
        field(item, "Header").as_str() == Some("X-Robots-Tag")
            && field(item, "Value").as_str() == Some("noindex")
    }));
    let behaviours = field(
        field(t.properties("Distribution"), "DistributionConfig"),
        "CacheBehaviors",
    );
    let share = list(behaviours)
        .into_iter()
        .find(|b| field(b, "PathPattern").as_str() == Some("/s/*"))
        .expect("a /s/* behaviour");
    assert_eq!(
        referenced_resource(field(share, "ResponseHeadersPolicyId")),
        Some("SharePageHeadersPolicy")
    );
    assert!(
        !field(share, "FunctionAssociations").is_null(),
        "SPA routing"
    );
}

/// Public routes get a per-client rate rule (WAF on the distribution: an existing ACL, or the
/// stack's own in us-east-1); access logs and the API function's reserved concurrency are
/// parameters.
fn abuse_limit_problems(t: &Template) -> Vec<String> {
    let mut problems = Vec::new();
    let acl = field(&t.root["Resources"], "PublicRateLimitAcl");
    let props = field(acl, "Properties");
    if field(props, "Scope").as_str() != Some("CLOUDFRONT") {
        problems.push("PublicRateLimitAcl: Scope is not CLOUDFRONT".into());
    }
    let per_client = list(field(props, "Rules")).into_iter().any(|rule| {
        let rate = field(field(rule, "Statement"), "RateBasedStatement");
        let scope = field(field(rate, "ScopeDownStatement"), "ByteMatchStatement");
        field(rate, "AggregateKeyType").as_str() == Some("IP")
            && field(scope, "SearchString").as_str() == Some("/api/public/")
            && !field(field(rule, "Action"), "Block").is_null()
    });
    if !per_client {
        problems.push("PublicRateLimitAcl: no per-IP rate rule blocking /api/public/".into());
    }
    let condition = field(acl, "Condition").as_str().unwrap_or_default();
    let condition_text =
        serde_yaml::to_string(field(&t.root["Conditions"], condition)).unwrap_or_default();
    if !condition_text.contains("us-east-1") || !condition_text.contains("HasWafWebAclArn") {
        problems.push(format!(
            "PublicRateLimitAcl: condition {condition:?} does not limit it to us-east-1 without an ACL given"
        ));
    }
    let web_acl = serde_yaml::to_string(field(
        field(t.properties("Distribution"), "DistributionConfig"),
        "WebACLId",
    ))
    .unwrap_or_default();
    if !web_acl.contains("WafWebAclArn") || !web_acl.contains("PublicRateLimitAcl") {
        problems.push("Distribution: WebACLId does not attach the given or the stack's ACL".into());
    }
    if field(&t.root["Resources"]["HttpApiAccessLogGroup"], "Condition").as_str()
        != Some("HasApiAccessLogs")
    {
        problems.push("HttpApiAccessLogGroup: not optional (ApiAccessLogs)".into());
    }
    let reserved = serde_yaml::to_string(field(
        t.properties("ApiFunction"),
        "ReservedConcurrentExecutions",
    ))
    .unwrap_or_default();
    if !reserved.contains("ApiReservedConcurrency") {
        problems.push("ApiFunction: no ReservedConcurrentExecutions parameter".into());
    }
    problems
}

#[test]
fn public_routes_are_rate_limited_per_client_and_limits_are_parameters() {
    assert_none("abuse limits", abuse_limit_problems(&Template::load().0));
    assert_caught(abuse_limit_problems, |t| {
        props_mut(t, "PublicRateLimitAcl")["Rules"][0]["Statement"]["RateBasedStatement"]["AggregateKeyType"] =
            "CONSTANT".into();
    });
    assert_caught(abuse_limit_problems, |t| {
        resource_mut(t, "PublicRateLimitAcl")["Condition"] = "HasWafWebAclArn".into();
    });
    assert_caught(abuse_limit_problems, |t| {
        props_mut(t, "Distribution")["DistributionConfig"]
            .as_mapping_mut()
            .unwrap()
            .remove("WebACLId");
    });
    assert_caught(abuse_limit_problems, |t| {
        props_mut(t, "ApiFunction")
            .as_mapping_mut()
            .unwrap()
            .remove("ReservedConcurrentExecutions");
    });
}

/// CloudFront routes as `ferry serve` does: each behaviour's routing function, run in Node on
/// sample paths, rewrites exactly as `ferry::site::entry_page` chooses (`/` gets landing.html,
/// share links share.html, file requests requests.html, other client routes index.html, files
/// pass through), and the
/// default root object is the landing page too.
#[test]
fn cloudfront_routes_pages_as_the_local_server_does() {
    use ferry::site::entry_page;
    let (t, _) = Template::load();
    let paths = [
        "/",
        "/landing.html",
        "/files",
        "/links",
        "/callback",
        "/s/AAAAAAAAAAAAAAAAAAAAAA",
        "/s/token/",
        "/favicon.svg",
        "/s/token/x.js",
        "/ferry-share-0123456789abcdef_bg.wasm",
        "/requests",
        "/requests/",
        "/requestsx",
        "/r/AAAAAAAAAAAAAAAAAAAAAA",
        "/r/token/x.js",
    ];
    for (pattern, applies) in [
        (None, (|p: &str| !p.starts_with("/s/")) as fn(&str) -> bool),
        (Some("/s/*"), |p: &str| p.starts_with("/s/")),
    ] {
        let name = routing_function_of(&t, pattern);
        assert_eq!(
            t.resource_type(&name),
            Some("AWS::CloudFront::Function"),
            "{name}"
        );
        let code = field(t.properties(&name), "FunctionCode")
            .as_str()
            .expect("inline function code");
        let tried: Vec<&str> = paths.iter().copied().filter(|p| applies(p)).collect();
        let script = format!(
            "{code}\nfor (const uri of {}) console.log(handler({{request: {{uri}}}}).uri);",
            serde_json::to_string(&tried).unwrap()
        );
        let out = std::process::Command::new("node")
            .args(["-e", &script])
            .output()
            .expect("node runs (a tool the site build needs anyway)");
        assert!(out.status.success(), "{name}: {out:?}");
        let rewritten: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        let expected: Vec<String> = tried
            .iter()
            .map(|p| entry_page(p).map_or_else(|| p.to_string(), |page| format!("/{page}")))
            .collect();
        assert_eq!(rewritten, expected, "{name} for {pattern:?}");
    }
    let config = field(t.properties("Distribution"), "DistributionConfig");
    assert_eq!(
        field(config, "DefaultRootObject").as_str(),
        Some(ferry::site::LANDING_PAGE)
    );
}
