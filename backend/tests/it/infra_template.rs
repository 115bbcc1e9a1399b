//! The deployment template (`infra/template.yaml`) keeps the security properties that matter:
//! no public bucket, CloudFront reads the site bucket through Origin Access Control, every
//! function is arm64 on provided.al2023, private API routes need the Cognito JWT authorizer,
//! queues have dead-letter queues, IAM statements name their resources, and each function gets
//! exactly the environment variables its code reads.
//!
//! Each check returns the problems it finds. The real template must have none, and every check
//! is also run on a deliberately broken copy of the template to show that it can fail.

use std::collections::BTreeSet;

use serde_yaml::{Mapping, Value};

const TEMPLATE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");

/// Routes anyone may call without a token (DESIGN.md §5).
const PUBLIC_ROUTES: &[&str] = &[
    "GET /api/health",
    "GET /api/openapi.json",
    "ANY /api/public/{proxy+}",
];

/// IAM statements allowed to use `Resource: "*"`: (resource logical id, statement Sid, why).
/// Every entry needs a reason AWS gives no narrower resource, repeated as a YAML comment above
/// the statement. None is needed today.
const ALLOWED_WILDCARD_RESOURCES: &[Wildcard] = &[];

struct Wildcard {
    resource: &'static str,
    sid: &'static str,
    #[allow(dead_code)] // documentation for the reader of this list
    why: &'static str,
}

// ------------------------------------------------------------------------------- the checks

/// Every bucket blocks public access; bucket policies grant nothing to everyone, and what they
/// grant to CloudFront is pinned to one distribution.
fn public_bucket_problems(t: &Template) -> Vec<String> {
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
fn cloudfront_oac_problems(t: &Template) -> Vec<String> {
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
fn function_platform_problems(t: &Template) -> Vec<String> {
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
fn api_route_problems(t: &Template) -> Vec<String> {
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

fn jwt_authorizer_problems(t: &Template, authorizer: &str) -> Vec<String> {
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
fn queue_problems(t: &Template) -> Vec<String> {
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
fn iam_problems(t: &Template, allowed: &[Wildcard]) -> Vec<String> {
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
fn unexplained_wildcard_lines(text: &str) -> Vec<String> {
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
fn environment_problems(t: &Template) -> Vec<String> {
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

// ------------------------------------------------------------------------------- template model

struct Template {
    root: Value,
}

struct Function<'a> {
    name: &'a str,
    props: &'a Value,
    metadata: &'a Value,
    serverless: bool,
}

impl Template {
    fn parse(text: &str) -> Self {
        let root: Value = serde_yaml::from_str(text).expect("infra/template.yaml is valid YAML");
        assert!(
            root.get("Resources").is_some_and(Value::is_mapping),
            "template has Resources"
        );
        Self { root }
    }

    fn load() -> (Self, String) {
        let text = std::fs::read_to_string(TEMPLATE_PATH).expect("read infra/template.yaml");
        (Self::parse(&text), text)
    }

    fn resources(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.root["Resources"]
            .as_mapping()
            .into_iter()
            .flat_map(Mapping::iter)
            .filter_map(|(k, v)| Some((k.as_str()?, v)))
    }

    fn resources_of(&self, kind: &str) -> Vec<(&str, &Value)> {
        self.resources()
            .filter(|(_, r)| field(r, "Type").as_str() == Some(kind))
            .map(|(n, r)| (n, field(r, "Properties")))
            .collect()
    }

    fn resource_type(&self, name: &str) -> Option<&str> {
        field(&self.root["Resources"], name)
            .get("Type")
            .and_then(Value::as_str)
    }

    fn properties(&self, name: &str) -> &Value {
        field(field(&self.root["Resources"], name), "Properties")
    }

    fn functions(&self) -> Vec<Function<'_>> {
        self.resources()
            .filter_map(|(name, r)| {
                let serverless = match field(r, "Type").as_str()? {
                    "AWS::Serverless::Function" => true,
                    "AWS::Lambda::Function" => false,
                    _ => return None,
                };
                Some(Function {
                    name,
                    props: field(r, "Properties"),
                    metadata: field(r, "Metadata"),
                    serverless,
                })
            })
            .collect()
    }

    fn globals_function(&self) -> &Value {
        field(field(&self.root, "Globals"), "Function")
    }

    /// A function property, falling back to `Globals.Function` as SAM does.
    fn function_property<'a>(&'a self, props: &'a Value, key: &str) -> &'a Value {
        let own = field(props, key);
        if own.is_null() {
            field(self.globals_function(), key)
        } else {
            own
        }
    }

    /// `!GetAtt SomeBucket.RegionalDomainName` and the like.
    fn is_bucket_domain(&self, value: &Value) -> bool {
        referenced_resource(value).and_then(|r| self.resource_type(r)) == Some("AWS::S3::Bucket")
    }
}

static NULL: Value = Value::Null;

/// `value[key]`, or null when `value` is no mapping or lacks the key.
fn field<'a>(value: &'a Value, key: &str) -> &'a Value {
    value.get(key).unwrap_or(&NULL)
}

/// A list as a slice of items; a single value as one item; null as none.
fn list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Null => Vec::new(),
        Value::Sequence(items) => items.iter().collect(),
        other => vec![other],
    }
}

fn statements(document: &Value) -> Vec<&Value> {
    list(field(document, "Statement"))
}

fn events(props: &Value) -> Vec<(&str, &str, &Value)> {
    field(props, "Events")
        .as_mapping()
        .into_iter()
        .flat_map(Mapping::iter)
        .filter_map(|(k, v)| {
            Some((
                k.as_str()?,
                field(v, "Type").as_str()?,
                field(v, "Properties"),
            ))
        })
        .collect()
}

/// Short-form (`!Ref X`, `!GetAtt X.Attr`) or long-form (`{Ref: X}`, `{Fn::GetAtt: [X, Attr]}`)
/// reference: the logical id it names.
fn referenced_resource(value: &Value) -> Option<&str> {
    let (function, arg) = match value {
        Value::Tagged(tagged) => (tagged.tag.to_string(), &tagged.value),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, v) = m.iter().next()?;
            (k.as_str()?.to_owned(), v)
        }
        _ => return None,
    };
    match function.trim_start_matches('!').trim_start_matches("Fn::") {
        "Ref" => arg.as_str(),
        "GetAtt" => match arg {
            Value::String(s) => s.split('.').next(),
            Value::Sequence(items) => items.first()?.as_str(),
            _ => None,
        },
        _ => None,
    }
}

/// The text of a plain string or of a `!Sub` template.
fn sub_text(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        Value::Tagged(tagged) if tagged.tag.to_string().trim_start_matches('!') == "Sub" => {
            tagged.value.as_str()
        }
        Value::Mapping(m) => m.get("Fn::Sub").and_then(Value::as_str),
        _ => None,
    }
}

fn principal_is_everyone(principal: &Value) -> bool {
    principal.as_str() == Some("*")
        || list(field(principal, "AWS"))
            .iter()
            .any(|p| p.as_str() == Some("*"))
}

fn has_condition_key(condition: &Value, wanted: &str) -> bool {
    condition
        .as_mapping()
        .into_iter()
        .flat_map(Mapping::values)
        .filter_map(Value::as_mapping)
        .flat_map(Mapping::keys)
        .any(|k| k.as_str().is_some_and(|k| k.eq_ignore_ascii_case(wanted)))
}

// ------------------------------------------------------------------------------- tests

fn assert_none(check: &str, problems: Vec<String>) {
    assert!(problems.is_empty(), "{check}:\n  {}", problems.join("\n  "));
}

/// Runs `check` on a copy of the real template changed by `breakage` and expects a problem.
fn assert_caught(check: impl Fn(&Template) -> Vec<String>, breakage: impl FnOnce(&mut Value)) {
    let (mut template, _) = Template::load();
    breakage(&mut template.root);
    assert!(
        !check(&template).is_empty(),
        "the check did not notice the breakage"
    );
}

fn resource_mut<'a>(root: &'a mut Value, name: &str) -> &'a mut Value {
    root.get_mut("Resources")
        .and_then(|r| r.get_mut(name))
        .unwrap_or_else(|| panic!("no resource {name}"))
}

fn props_mut<'a>(root: &'a mut Value, name: &str) -> &'a mut Value {
    &mut resource_mut(root, name)["Properties"]
}

fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).expect("test YAML")
}

#[test]
fn no_bucket_is_public() {
    assert_none(
        "public buckets",
        public_bucket_problems(&Template::load().0),
    );
    assert_caught(public_bucket_problems, |t| {
        props_mut(t, "FilesBucket")["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] =
            false.into();
    });
    assert_caught(public_bucket_problems, |t| {
        props_mut(t, "SiteBucket")
            .as_mapping_mut()
            .unwrap()
            .remove("PublicAccessBlockConfiguration");
    });
    assert_caught(public_bucket_problems, |t| {
        let statements = props_mut(t, "FilesBucketPolicy")["PolicyDocument"]["Statement"]
            .as_sequence_mut()
            .unwrap();
        statements.push(yaml(
            "{Effect: Allow, Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*'}",
        ));
    });
    assert_caught(public_bucket_problems, |t| {
        let statements = props_mut(t, "SiteBucketPolicy")["PolicyDocument"]["Statement"]
            .as_sequence_mut()
            .unwrap();
        statements[0].as_mapping_mut().unwrap().remove("Condition");
    });
}

#[test]
fn cloudfront_reads_the_site_bucket_through_origin_access_control() {
    assert_none(
        "CloudFront OAC",
        cloudfront_oac_problems(&Template::load().0),
    );
    assert_caught(cloudfront_oac_problems, |t| {
        let origins = props_mut(t, "Distribution")["DistributionConfig"]["Origins"]
            .as_sequence_mut()
            .unwrap();
        origins[0]
            .as_mapping_mut()
            .unwrap()
            .remove("OriginAccessControlId");
    });
    assert_caught(cloudfront_oac_problems, |t| {
        t["Resources"]["LegacyIdentity"] = yaml(
            "{Type: 'AWS::CloudFront::CloudFrontOriginAccessIdentity', Properties: {CloudFrontOriginAccessIdentityConfig: {Comment: x}}}",
        );
    });
}

#[test]
fn every_function_is_arm64_on_provided_al2023() {
    assert_none(
        "function platform",
        function_platform_problems(&Template::load().0),
    );
    assert_caught(function_platform_problems, |t| {
        props_mut(t, "EventsFunction")["Architectures"] = yaml("[x86_64]");
    });
    assert_caught(function_platform_problems, |t| {
        props_mut(t, "ApiFunction")["Runtime"] = "provided.al2".into();
    });
}

#[test]
fn private_routes_need_the_cognito_jwt() {
    assert_none("API routes", api_route_problems(&Template::load().0));
    assert_caught(api_route_problems, |t| {
        props_mut(t, "PrivateRoute")["AuthorizationType"] = "NONE".into();
    });
    assert_caught(api_route_problems, |t| {
        t["Resources"]["SneakyRoute"] = yaml(
            "{Type: 'AWS::ApiGatewayV2::Route', Properties: {ApiId: !Ref HttpApi, RouteKey: 'GET /api/files', AuthorizationType: NONE}}",
        );
    });
    assert_caught(api_route_problems, |t| {
        props_mut(t, "JwtAuthorizer")["JwtConfiguration"]["Audience"] = yaml("[some-other-client]");
    });
    assert_caught(api_route_problems, |t| {
        props_mut(t, "ApiFunction")["Events"] =
            yaml("{Open: {Type: HttpApi, Properties: {Path: /x, Method: GET}}}");
    });
}

#[test]
fn queues_have_dead_letter_queues_and_partial_failures() {
    assert_none("queues", queue_problems(&Template::load().0));
    assert_caught(queue_problems, |t| {
        props_mut(t, "FilesEventsQueue")
            .as_mapping_mut()
            .unwrap()
            .remove("RedrivePolicy");
    });
    assert_caught(queue_problems, |t| {
        props_mut(t, "EventsFunction")["Events"]["ObjectCreated"]["Properties"]
            .as_mapping_mut()
            .unwrap()
            .remove("FunctionResponseTypes");
    });
    assert_caught(queue_problems, |t| {
        props_mut(t, "EventsFunction")["Events"]["Expired"]["Properties"]["BisectBatchOnFunctionError"] =
            false.into();
    });
}

#[test]
fn iam_statements_name_specific_resources() {
    let (template, text) = Template::load();
    assert_none("IAM", iam_problems(&template, ALLOWED_WILDCARD_RESOURCES));
    assert_none("wildcard comments", unexplained_wildcard_lines(&text));

    let star = |t: &mut Value| {
        let statements =
            props_mut(t, "ApiFunctionRole")["Policies"][0]["PolicyDocument"]["Statement"]
                .as_sequence_mut()
                .unwrap();
        statements[1]["Resource"] = "*".into();
    };
    assert_caught(|t| iam_problems(t, ALLOWED_WILDCARD_RESOURCES), star);
    // ... unless the allow-list names that statement.
    let allowed = [Wildcard {
        resource: "ApiFunctionRole",
        sid: "Metadata",
        why: "test",
    }];
    let (mut template, _) = Template::load();
    star(&mut template.root);
    assert_none("IAM with allow-list", iam_problems(&template, &allowed));

    assert_caught(
        |t| iam_problems(t, ALLOWED_WILDCARD_RESOURCES),
        |t| {
            props_mut(t, "EventsFunctionRole")["ManagedPolicyArns"] =
                yaml("['arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole']");
        },
    );
    assert_caught(
        |t| iam_problems(t, ALLOWED_WILDCARD_RESOURCES),
        |t| {
            props_mut(t, "ApiFunction")
                .as_mapping_mut()
                .unwrap()
                .remove("Role");
        },
    );
    assert_caught(
        |t| iam_problems(t, ALLOWED_WILDCARD_RESOURCES),
        |t| {
            let statements =
                props_mut(t, "EventsFunctionRole")["Policies"][0]["PolicyDocument"]["Statement"]
                    .as_sequence_mut()
                    .unwrap();
            statements[0]["Action"] = "logs:*".into();
        },
    );

    let bare =
        "Statement:\n  - Effect: Allow\n    Action: xray:PutTraceSegments\n    Resource: \"*\"\n";
    assert_eq!(unexplained_wildcard_lines(bare).len(), 1);
    let listed = "Statement:\n  - Effect: Allow\n    Resource:\n      - \"*\"\n";
    assert_eq!(unexplained_wildcard_lines(listed).len(), 1);
    let explained = "Statement:\n  - Effect: Allow\n    Action: xray:PutTraceSegments\n    # X-Ray has no resource-level permissions.\n    Resource: \"*\"\n";
    assert_none("explained wildcard", unexplained_wildcard_lines(explained));
}

#[test]
fn functions_get_exactly_the_environment_their_code_reads() {
    assert_none("environment", environment_problems(&Template::load().0));
    assert_caught(environment_problems, |t| {
        props_mut(t, "ApiFunction")["Environment"]["Variables"]["FERRY_SOMETHING_ELSE"] =
            "1".into();
    });
    assert_caught(environment_problems, |t| {
        props_mut(t, "EventsFunction")["Environment"]["Variables"]
            .as_mapping_mut()
            .unwrap()
            .remove("FERRY_TABLE");
    });
}

#[test]
fn the_files_bucket_lets_browsers_send_the_headers_presigned_puts_sign() {
    let (template, _) = Template::load();
    let allowed: Vec<String> = template
        .resources_of("AWS::S3::Bucket")
        .into_iter()
        .flat_map(|(_, props)| list(field(field(props, "CorsConfiguration"), "CorsRules")))
        .flat_map(|rule| list(field(rule, "AllowedHeaders")))
        .filter_map(|h| h.as_str().map(str::to_ascii_lowercase))
        .collect();
    // A presigned PUT signs content-type, the checksum and the create-only condition; the
    // browser's preflight must be allowed to send each.
    for header in ["content-type", "if-none-match", "x-amz-*"] {
        assert!(
            allowed.iter().any(|h| h == header),
            "{header} not in {allowed:?}"
        );
    }
}

// ------------------------------------------------------------------ the site's headers, abuse

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

/// The viewer-request function of a cache behaviour (`None` for the default one), by name.
fn routing_function_of(t: &Template, path_pattern: Option<&str>) -> String {
    let config = field(t.properties("Distribution"), "DistributionConfig");
    let behaviour = match path_pattern {
        None => field(config, "DefaultCacheBehavior"),
        Some(pattern) => list(field(config, "CacheBehaviors"))
            .into_iter()
            .find(|b| field(b, "PathPattern").as_str() == Some(pattern))
            .unwrap_or_else(|| panic!("a {pattern} behaviour")),
    };
    let association = list(field(behaviour, "FunctionAssociations"))
        .into_iter()
        .find(|a| field(a, "EventType").as_str() == Some("viewer-request"))
        .expect("a viewer-request function");
    referenced_resource(field(association, "FunctionARN"))
        .expect("a function of the template")
        .to_owned()
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

// ------------------------------------------------------------------ live updates (WebSocket API)

/// A route of a `ProtocolType: WEBSOCKET` API of this template.
fn is_websocket_route(t: &Template, route: &Value) -> bool {
    referenced_resource(field(route, "ApiId"))
        .is_some_and(|api| field(t.properties(api), "ProtocolType").as_str() == Some("WEBSOCKET"))
}

/// The function a route's `integrations/${X}` target invokes, by the binary it builds.
fn route_binary<'a>(t: &'a Template, route: &Value) -> Option<&'a str> {
    let target = sub_text(field(route, "Target"))?;
    let integration = target.strip_prefix("integrations/${")?.strip_suffix('}')?;
    let uri = sub_text(field(t.properties(integration), "IntegrationUri"))?;
    // `…/functions/${LiveFunction.Arn}/invocations`: the placeholder naming a resource.
    let resources = &t.root["Resources"];
    uri.split("${")
        .skip(1)
        .filter_map(|part| part.split(['.', '}']).next())
        .find_map(|name| {
            field(field(field(resources, name), "Metadata"), "BuildProperties")
                .get("Binary")
                .and_then(Value::as_str)
        })
}

/// The WebSocket API: exactly `$connect`, `$disconnect` and `$default`, all on `ferry-live`
/// (whose `$connect` verifies the token); no stage records request data (the access token is a
/// handshake header); posting to connections is granted to `ferry-events` alone, on this API's
/// `@connections` only; the table's stream reaches `ferry-events` with the changes it turns
/// into live updates.
fn live_api_problems(t: &Template) -> Vec<String> {
    let mut problems = Vec::new();
    let apis: Vec<&str> = t
        .resources_of("AWS::ApiGatewayV2::Api")
        .into_iter()
        .filter(|(_, p)| field(p, "ProtocolType").as_str() == Some("WEBSOCKET"))
        .map(|(name, _)| name)
        .collect();
    if apis.len() != 1 {
        problems.push(format!("want one WebSocket API, found {apis:?}"));
    }
    let mut keys = BTreeSet::new();
    for (name, props) in t.resources_of("AWS::ApiGatewayV2::Route") {
        if !is_websocket_route(t, props) {
            continue;
        }
        let key = field(props, "RouteKey").as_str().unwrap_or("?");
        keys.insert(key.to_owned());
        if route_binary(t, props) != Some("ferry-live") {
            problems.push(format!("{name}: route {key} is not handled by ferry-live"));
        }
        if !field(props, "AuthorizerId").is_null() && key != "$connect" {
            problems.push(format!("{name}: authorizers belong on $connect only"));
        }
    }
    let want: BTreeSet<String> = ["$connect", "$disconnect", "$default"]
        .map(String::from)
        .into();
    if keys != want {
        problems.push(format!("WebSocket routes {keys:?}, want {want:?}"));
    }
    for (name, props) in t.resources_of("AWS::ApiGatewayV2::Stage") {
        let on_websocket =
            referenced_resource(field(props, "ApiId")).is_some_and(|api| apis.contains(&api));
        if !on_websocket {
            continue;
        }
        let route = field(props, "DefaultRouteSettings");
        if field(route, "DataTraceEnabled").as_bool() == Some(true)
            || field(route, "LoggingLevel")
                .as_str()
                .is_some_and(|l| l != "OFF")
            || !field(props, "AccessLogSettings").is_null()
        {
            problems.push(format!(
                "{name}: the stage logs requests (the access token is a handshake header)"
            ));
        }
    }
    // Who may post to connections, and where.
    let mut posters = Vec::new();
    for (role, props) in t.resources_of("AWS::IAM::Role") {
        for policy in list(field(props, "Policies")) {
            for statement in statements(field(policy, "PolicyDocument")) {
                let actions = list(field(statement, "Action"));
                if !actions
                    .iter()
                    .any(|a| a.as_str().is_some_and(|a| a.starts_with("execute-api:")))
                {
                    continue;
                }
                posters.push(role);
                let scoped = list(field(statement, "Resource")).iter().all(|r| {
                    sub_text(r).is_some_and(|text| {
                        apis.iter().any(|api| {
                            text.contains(&format!("${{{api}}}/live/POST/@connections/"))
                        })
                    })
                });
                if !scoped {
                    problems.push(format!(
                        "{role}: execute-api access beyond this API's @connections"
                    ));
                }
                if actions
                    .iter()
                    .any(|a| a.as_str() != Some("execute-api:ManageConnections"))
                {
                    problems.push(format!(
                        "{role}: execute-api actions beyond ManageConnections"
                    ));
                }
            }
        }
    }
    if posters != ["EventsFunctionRole"] {
        problems.push(format!(
            "posting to connections granted to {posters:?}, want only EventsFunctionRole"
        ));
    }
    let events_function = t.functions().into_iter().find(|f| {
        field(field(f.metadata, "BuildProperties"), "Binary").as_str() == Some("ferry-events")
    });
    match events_function {
        Some(f) => {
            let patterns: Vec<String> = events(f.props)
                .into_iter()
                .filter(|(_, kind, _)| *kind == "DynamoDB")
                .flat_map(|(_, _, props)| list(field(field(props, "FilterCriteria"), "Filters")))
                .filter_map(|filter| field(filter, "Pattern").as_str().map(str::to_owned))
                .collect();
            for change in ["REMOVE", "MODIFY"] {
                if !patterns
                    .iter()
                    .any(|p| p.contains(&format!("\"{change}\"")))
                {
                    problems.push(format!("the stream does not deliver {change} records"));
                }
            }
        }
        None => problems.push("no function builds ferry-events".into()),
    }
    problems
}

#[test]
fn the_live_api_verifies_tokens_in_its_function_and_only_events_may_post() {
    let (template, _) = Template::load();
    assert_none("live API", live_api_problems(&template));
    assert_none("API routes", api_route_problems(&template));
    assert_caught(live_api_problems, |t| {
        props_mut(t, "LiveDefaultRoute")["Target"] = yaml("!Sub 'integrations/${ApiIntegration}'");
    });
    assert_caught(live_api_problems, |t| {
        props_mut(t, "LiveStage")["DefaultRouteSettings"]["DataTraceEnabled"] = true.into();
    });
    assert_caught(live_api_problems, |t| {
        let statements =
            props_mut(t, "EventsFunctionRole")["Policies"][0]["PolicyDocument"]["Statement"]
                .as_sequence_mut()
                .unwrap();
        let post = statements
            .iter_mut()
            .find(|s| s["Sid"].as_str() == Some("PostLiveUpdates"))
            .unwrap();
        post["Resource"] =
            yaml("!Sub 'arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:*/*'");
    });
    assert_caught(live_api_problems, |t| {
        let statements =
            props_mut(t, "ApiFunctionRole")["Policies"][0]["PolicyDocument"]["Statement"]
                .as_sequence_mut()
                .unwrap();
        statements.push(yaml(
            "{Sid: Post, Effect: Allow, Action: execute-api:ManageConnections, Resource: !Sub '${LiveApi.ApiEndpoint}/live/POST/@connections/*'}",
        ));
    });
    assert_caught(live_api_problems, |t| {
        t["Resources"]["ExtraLiveRoute"] = yaml(
            "{Type: 'AWS::ApiGatewayV2::Route', Properties: {ApiId: !Ref LiveApi, RouteKey: sendmessage, AuthorizationType: NONE, Target: !Sub 'integrations/${LiveIntegration}'}}",
        );
    });
    assert_caught(environment_problems, |t| {
        props_mut(t, "LiveFunction")["Environment"]["Variables"]
            .as_mapping_mut()
            .unwrap()
            .remove("FERRY_COGNITO_CLIENT_ID");
    });
}

/// File request pages (`/r/{token}`) are the app, as `ferry serve` serves them, with the share
/// pages' headers (noindex) on a behaviour of their own.
#[test]
fn file_request_pages_are_the_app_and_not_indexed() {
    let (t, _) = Template::load();
    let behaviours = field(
        field(t.properties("Distribution"), "DistributionConfig"),
        "CacheBehaviors",
    );
    let requests = list(behaviours)
        .into_iter()
        .find(|b| field(b, "PathPattern").as_str() == Some("/r/*"))
        .expect("a /r/* behaviour");
    assert_eq!(
        referenced_resource(field(requests, "ResponseHeadersPolicyId")),
        Some("SharePageHeadersPolicy")
    );
    let name = routing_function_of(&t, Some("/r/*"));
    let code = field(t.properties(&name), "FunctionCode")
        .as_str()
        .expect("inline function code");
    let tried = ["/r/AAAAAAAAAAAAAAAAAAAAAA", "/r/token/x.js"];
    let script = format!(
        "{code}\nfor (const uri of {}) console.log(handler({{request: {{uri}}}}).uri);",
        serde_json::to_string(&tried).unwrap()
    );
    let out = std::process::Command::new("node")
        .args(["-e", &script])
        .output()
        .expect("node runs");
    assert!(out.status.success(), "{name}: {out:?}");
    let expected: Vec<String> = tried
        .iter()
        .map(|p| {
            ferry::site::entry_page(p).map_or_else(|| p.to_string(), |page| format!("/{page}"))
        })
        .collect();
    let rewritten: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(rewritten, expected);
}
