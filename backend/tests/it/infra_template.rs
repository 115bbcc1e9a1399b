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

mod checks;
mod edge;
mod resources;

use checks::*;

struct Wildcard {
    resource: &'static str,
    sid: &'static str,
    #[allow(dead_code)] // documentation for the reader of this list
    why: &'static str,
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
