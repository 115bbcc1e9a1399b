//! The real template passes every check of its resources, and each check catches a deliberately
//! broken copy.

use super::*;

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
