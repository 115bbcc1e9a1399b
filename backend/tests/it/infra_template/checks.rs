//! The checks of the template: each returns the problems it finds.

use super::*;

/// Every bucket blocks public access; bucket policies grant nothing to everyone, and what they
/// grant to CloudFront is pinned to one distribution.
pub(super) fn public_bucket_problems(t: &Template) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, props) in t.resources_of("AWS::S3::Bucket") {
        let block = field(props, "PublicAccessBlockConfiguration");
        for flag in [
            "BlockPublicAcls",
            "BlockPublicPolicy",
            "IgnorePublicAcls",
            "RestrictPublicBuckets",
        ] {
            if field(block, flag).as_bool() != Some(true) {
                problems.push(format!(
                    "{name}: PublicAccessBlockConfiguration.{flag} is not true"
                ));
            }
        }
        if let Some(acl) = field(props, "AccessControl")
            .as_str()
            .filter(|acl| *acl != "Private")
        {
            problems.push(format!("{name}: AccessControl {acl}"));
        }
        if !field(props, "WebsiteConfiguration").is_null() {
            problems.push(format!(
                "{name}: website hosting serves the bucket publicly"
            ));
        }
    }
    for (name, props) in t.resources_of("AWS::S3::BucketPolicy") {
        for statement in statements(field(props, "PolicyDocument")) {
            if field(statement, "Effect").as_str() != Some("Allow") {
                continue;
            }
            let principal = field(statement, "Principal");
            let pinned = has_condition_key(field(statement, "Condition"), "aws:sourcearn");
            if principal_is_everyone(principal) && !pinned {
                problems.push(format!(
                    "{name}: allows Principal \"*\" without a SourceArn condition"
                ));
            }
            let service = list(field(principal, "Service"));
            if service
                .iter()
                .any(|s| s.as_str() == Some("cloudfront.amazonaws.com"))
                && !pinned
            {
                problems.push(format!(
                    "{name}: lets any CloudFront distribution read (no AWS:SourceArn)"
                ));
            }
        }
    }
    problems
}

/// S3 origins are signed with an Origin Access Control; no legacy origin access identity.
pub(super) fn cloudfront_oac_problems(t: &Template) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, _) in t.resources_of("AWS::CloudFront::CloudFrontOriginAccessIdentity") {
        problems.push(format!(
            "{name}: legacy origin access identity; use an OriginAccessControl"
        ));
    }
    let distributions = t.resources_of("AWS::CloudFront::Distribution");
    if distributions.is_empty() {
        problems.push("no CloudFront distribution".into());
    }
    for (name, props) in distributions {
        let origins = list(field(field(props, "DistributionConfig"), "Origins"));
        let s3_origins: Vec<_> = origins
            .iter()
            .filter(|o| {
                !field(o, "S3OriginConfig").is_null() || t.is_bucket_domain(field(o, "DomainName"))
            })
            .collect();
        if s3_origins.is_empty() {
            problems.push(format!("{name}: no S3 origin for the site"));
        }
        for origin in s3_origins {
            let id = field(origin, "Id").as_str().unwrap_or("?");
            let oac = referenced_resource(field(origin, "OriginAccessControlId"));
            if oac.and_then(|r| t.resource_type(r)) != Some("AWS::CloudFront::OriginAccessControl")
            {
                problems.push(format!(
                    "{name}: S3 origin {id} is not signed by an OriginAccessControl"
                ));
            }
            let oai = field(field(origin, "S3OriginConfig"), "OriginAccessIdentity");
            if !(oai.is_null() || oai.as_str() == Some("")) {
                problems.push(format!(
                    "{name}: S3 origin {id} uses an origin access identity"
                ));
            }
        }
    }
    problems
}

/// Every function runs on provided.al2023 and arm64 (and is built by cargo-lambda).
pub(super) fn function_platform_problems(t: &Template) -> Vec<String> {
    let mut problems = Vec::new();
    let functions = t.functions();
    if functions.is_empty() {
        problems.push("no functions".into());
    }
    for f in functions {
        let runtime = t.function_property(f.props, "Runtime");
        if runtime.as_str() != Some("provided.al2023") {
            problems.push(format!(
                "{}: Runtime {:?}, want provided.al2023",
                f.name, runtime
            ));
        }
        let arch: Vec<_> = list(t.function_property(f.props, "Architectures"))
            .iter()
            .map(|a| a.as_str())
            .collect();
        if arch != [Some("arm64")] {
            problems.push(format!("{}: Architectures {arch:?}, want [arm64]", f.name));
        }
        if f.serverless && field(f.metadata, "BuildMethod").as_str() != Some("rust-cargolambda") {
            problems.push(format!(
                "{}: Metadata.BuildMethod is not rust-cargolambda",
                f.name
            ));
        }
    }
    problems
}

/// Every HTTP API route outside [`PUBLIC_ROUTES`] needs a JWT from the Cognito user pool, and no
/// route can be declared where this check would not see it.
pub(super) fn api_route_problems(t: &Template) -> Vec<String> {
    let mut problems = Vec::new();
    let mut jwt_routes = 0;
    for (name, props) in t.resources_of("AWS::ApiGatewayV2::Route") {
        let key = field(props, "RouteKey").as_str().unwrap_or("?");
        // The WebSocket API's routes are checked by `live_api_problems`.
        if PUBLIC_ROUTES.contains(&key) || is_websocket_route(t, props) {
            continue;
        }
        if field(props, "AuthorizationType").as_str() != Some("JWT") {
            problems.push(format!(
                "{name}: route {key} is not behind the JWT authorizer"
            ));
            continue;
        }
        match referenced_resource(field(props, "AuthorizerId")) {
            Some(authorizer)
                if t.resource_type(authorizer) == Some("AWS::ApiGatewayV2::Authorizer") =>
            {
                problems.extend(jwt_authorizer_problems(t, authorizer));
                jwt_routes += 1;
            }
            _ => problems.push(format!(
                "{name}: route {key} names no authorizer of this template"
            )),
        }
    }
    if jwt_routes == 0 {
        problems.push("no route uses the JWT authorizer".into());
    }
    // Routes declared any other way would escape the check above.
    for kind in [
        "AWS::Serverless::HttpApi",
        "AWS::Serverless::Api",
        "AWS::ApiGateway::RestApi",
        "AWS::Lambda::Url",
    ] {
        for (name, _) in t.resources_of(kind) {
            problems.push(format!("{name}: {kind} is not covered by the route check"));
        }
    }
    for (name, props) in t.resources_of("AWS::ApiGatewayV2::Api") {
        for inline in ["Body", "BodyS3Location", "Target", "RouteKey"] {
            if !field(props, inline).is_null() {
                problems.push(format!("{name}: routes defined inline via {inline}"));
            }
        }
    }
    for f in t.functions() {
        if !field(f.props, "FunctionUrlConfig").is_null() {
            problems.push(format!("{}: function URL bypasses the API", f.name));
        }
        for (event, kind, _) in events(f.props) {
            if matches!(kind, "HttpApi" | "Api") {
                problems.push(format!(
                    "{}: event {event} of type {kind} bypasses the route check",
                    f.name
                ));
            }
        }
    }
    problems
}

pub(super) fn jwt_authorizer_problems(t: &Template, authorizer: &str) -> Vec<String> {
    let props = t.properties(authorizer);
    let jwt = field(props, "JwtConfiguration");
    let mut problems = Vec::new();
    if field(props, "AuthorizerType").as_str() != Some("JWT") {
        problems.push(format!("{authorizer}: AuthorizerType is not JWT"));
    }
    if !sub_text(field(jwt, "Issuer"))
        .is_some_and(|issuer| issuer.starts_with("https://cognito-idp."))
    {
        problems.push(format!("{authorizer}: issuer is not the Cognito user pool"));
    }
    let audience = list(field(jwt, "Audience"));
    let is_client = |a: &&Value| {
        referenced_resource(a).and_then(|r| t.resource_type(r))
            == Some("AWS::Cognito::UserPoolClient")
    };
    if audience.is_empty() || !audience.iter().all(is_client) {
        problems.push(format!(
            "{authorizer}: audience is not the user pool client"
        ));
    }
    problems
}

/// Work queues redrive to a dead-letter queue; event sources report partial failures or
/// send failed batches somewhere.
pub(super) fn queue_problems(t: &Template) -> Vec<String> {
    let mut problems = Vec::new();
    let queues = t.resources_of("AWS::SQS::Queue");
    let mut dead_letter: BTreeSet<&str> = BTreeSet::new();
    for (_, props) in &queues {
        dead_letter.extend(referenced_resource(field(
            field(props, "RedrivePolicy"),
            "deadLetterTargetArn",
        )));
    }
    for f in t.functions() {
        for (_, _, props) in events(f.props) {
            dead_letter.extend(referenced_resource(field(
                field(field(props, "DestinationConfig"), "OnFailure"),
                "Destination",
            )));
        }
    }
    for (name, props) in &queues {
        if dead_letter.contains(name) {
            continue;
        }
        let redrive = field(props, "RedrivePolicy");
        let target = referenced_resource(field(redrive, "deadLetterTargetArn"));
        if target.and_then(|q| t.resource_type(q)) != Some("AWS::SQS::Queue") {
            problems.push(format!("{name}: no RedrivePolicy to a dead-letter queue"));
        } else if field(redrive, "maxReceiveCount").as_u64().is_none() {
            problems.push(format!("{name}: RedrivePolicy without maxReceiveCount"));
        }
    }
    let mut sqs_sources = 0;
    for f in t.functions() {
        for (event, kind, props) in events(f.props) {
            match kind {
                "SQS" => {
                    sqs_sources += 1;
                    let types = list(field(props, "FunctionResponseTypes"));
                    if !types
                        .iter()
                        .any(|v| v.as_str() == Some("ReportBatchItemFailures"))
                    {
                        problems.push(format!(
                            "{}: SQS event {event} does not report batch item failures",
                            f.name
                        ));
                    }
                }
                "DynamoDB" => {
                    if field(props, "BisectBatchOnFunctionError").as_bool() != Some(true) {
                        problems.push(format!(
                            "{}: stream event {event} does not bisect failing batches",
                            f.name
                        ));
                    }
                    if referenced_resource(field(
                        field(field(props, "DestinationConfig"), "OnFailure"),
                        "Destination",
                    ))
                    .and_then(|q| t.resource_type(q))
                        != Some("AWS::SQS::Queue")
                    {
                        problems.push(format!(
                            "{}: stream event {event} has no on-failure queue",
                            f.name
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    if sqs_sources == 0 {
        problems.push("no function consumes a queue".into());
    }
    problems
}

/// Functions use roles declared here; every Allow statement names specific actions and
/// resources (`"*"` only from `allowed`, with a comment above it in the YAML).
pub(super) fn iam_problems(t: &Template, allowed: &[Wildcard]) -> Vec<String> {
    let mut problems = Vec::new();
    for f in t.functions().into_iter().filter(|f| f.serverless) {
        if field(f.props, "Role").is_null() {
            problems.push(format!(
                "{}: no explicit Role (SAM would attach managed policies)",
                f.name
            ));
        }
        if !t.function_property(f.props, "Policies").is_null() {
            problems.push(format!(
                "{}: Policies on the function; put statements on its role",
                f.name
            ));
        }
    }
    let mut documents: Vec<(&str, &Value)> = Vec::new();
    for (name, props) in t.resources_of("AWS::IAM::Role") {
        if !field(props, "ManagedPolicyArns").is_null() {
            problems.push(format!("{name}: managed policies cannot be checked here"));
        }
        for policy in list(field(props, "Policies")) {
            documents.push((name, field(policy, "PolicyDocument")));
        }
    }
    for kind in [
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::RolePolicy",
    ] {
        for (name, props) in t.resources_of(kind) {
            documents.push((name, field(props, "PolicyDocument")));
        }
    }
    for (name, document) in documents {
        for statement in statements(document) {
            if field(statement, "Effect").as_str() != Some("Allow") {
                continue;
            }
            let sid = field(statement, "Sid").as_str().unwrap_or("");
            for negated in ["NotAction", "NotResource"] {
                if !field(statement, negated).is_null() {
                    problems.push(format!("{name}/{sid}: Allow with {negated}"));
                }
            }
            for action in list(field(statement, "Action")) {
                if action.as_str().is_none_or(|a| a.contains('*')) {
                    problems.push(format!("{name}/{sid}: action {action:?} is a wildcard"));
                }
            }
            let resources = list(field(statement, "Resource"));
            if resources.is_empty() {
                problems.push(format!("{name}/{sid}: no Resource"));
            }
            if resources.iter().any(|r| r.as_str() == Some("*"))
                && !allowed.iter().any(|w| w.resource == name && w.sid == sid)
            {
                problems.push(format!(
                    "{name}/{sid}: Resource \"*\" not in the allow-list"
                ));
            }
        }
    }
    problems
}

/// A `Resource: "*"` line (or a `- "*"` item under `Resource:`) must have a comment right above.
pub(super) fn unexplained_wildcard_lines(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let is_star = |s: &str| matches!(s, "\"*\"" | "'*'" | "[\"*\"]" | "['*']");
    let comment_above = |i: usize| {
        lines[..i]
            .iter()
            .rev()
            .map(|l| l.trim())
            .find(|l| !l.is_empty())
            .is_some_and(|l| l.starts_with('#'))
    };
    let mut problems = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim().trim_start_matches("- ");
        let anchor = if let Some(value) = trimmed.strip_prefix("Resource:") {
            is_star(value.trim()).then_some(i)
        } else if line.trim().starts_with("- ") && is_star(trimmed.trim()) {
            // a list item: it counts when the key it belongs to is Resource
            lines[..i]
                .iter()
                .rposition(|l| !l.trim().starts_with("- "))
                .filter(|&k| lines[k].trim() == "Resource:")
        } else {
            None
        };
        if let Some(k) = anchor.filter(|&k| !comment_above(k)) {
            problems.push(format!(
                "line {}: Resource \"*\" without a justifying comment above",
                k + 1
            ));
        }
    }
    problems
}

/// The variables each function gets, minus RUST_LOG, equal what its code reads.
pub(super) fn environment_problems(t: &Template) -> Vec<String> {
    let api: BTreeSet<&str> = ferry::config::API_LAMBDA_VARS
        .iter()
        .chain(ferry::config::LIMIT_VARS)
        .copied()
        .collect();
    let events: BTreeSet<&str> = ferry::config::EVENTS_LAMBDA_VARS.iter().copied().collect();
    let live: BTreeSet<&str> = ferry::config::LIVE_LAMBDA_VARS.iter().copied().collect();
    let mut problems = Vec::new();
    for (binary, want) in [
        ("ferry-api", api),
        ("ferry-events", events),
        ("ferry-live", live),
    ] {
        let Some(f) = t.functions().into_iter().find(|f| {
            field(field(f.metadata, "BuildProperties"), "Binary").as_str() == Some(binary)
        }) else {
            problems.push(format!("no function builds {binary}"));
            continue;
        };
        let mut got: BTreeSet<&str> = BTreeSet::new();
        for source in [t.globals_function(), f.props] {
            if let Some(vars) = field(field(source, "Environment"), "Variables").as_mapping() {
                got.extend(vars.keys().filter_map(Value::as_str));
            }
        }
        got.remove("RUST_LOG");
        let missing: Vec<_> = want.difference(&got).collect();
        let extra: Vec<_> = got.difference(&want).collect();
        if !missing.is_empty() || !extra.is_empty() {
            problems.push(format!(
                "{} ({binary}): missing {missing:?}, not read by the code {extra:?}",
                f.name
            ));
        }
    }
    problems
}
