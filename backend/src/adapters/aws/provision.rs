//! `ferry provision`: creates what the AWS mode needs when it is missing — the files bucket (with
//! CORS for the site), the table (TTL, stream), the events queue (with a dead-letter queue) and
//! the bucket's object-created notification to it. For an emulator or a dev account; production
//! is deployed from `infra/template.yaml`.

use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CorsConfiguration, CorsRule, CreateBucketConfiguration, Event,
    FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    QueueConfiguration, S3KeyFilter,
};
use aws_sdk_sqs::types::QueueAttributeName;

use super::{AwsAdapters, create_table};

/// Choices beyond the bucket and table names of [`super::AwsSettings`].
#[derive(Clone, Debug)]
pub struct ProvisionOptions {
    /// Origins allowed to PUT/GET objects from a browser (the site's origin).
    pub allowed_origins: Vec<String>,
    /// Name of the events queue; its dead-letter queue is `{queue_name}-dlq`.
    pub queue_name: String,
}

impl Default for ProvisionOptions {
    fn default() -> Self {
        Self {
            allowed_origins: vec!["http://127.0.0.1:8080".to_owned()],
            queue_name: "ferry-events".to_owned(),
        }
    }
}

/// What exists after provisioning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provisioned {
    pub bucket_created: bool,
    pub table_created: bool,
    /// For `FERRY_EVENTS_QUEUE_URL`.
    pub queue_url: String,
}

/// Creates whatever is missing; running it again changes nothing but the bucket's CORS and
/// notification settings, which are rewritten to the same values.
pub async fn run(aws: &AwsAdapters, options: &ProvisionOptions) -> anyhow::Result<Provisioned> {
    let bucket = &aws.settings.bucket;
    let bucket_created = ensure_bucket(aws).await?;
    let cors = CorsRule::builder()
        .set_allowed_origins(Some(options.allowed_origins.clone()))
        .allowed_methods("GET")
        .allowed_methods("PUT")
        .allowed_methods("HEAD")
        .allowed_headers("*")
        .expose_headers("ETag")
        .max_age_seconds(3600)
        .build()?;
    aws.s3
        .put_bucket_cors()
        .bucket(bucket)
        .cors_configuration(CorsConfiguration::builder().cors_rules(cors).build()?)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("setting CORS on {bucket}: {}", DisplayErrorContext(&e)))?;

    let table_created = create_table(&aws.dynamodb, &aws.settings.table).await?;

    let (queue_url, queue_arn) = ensure_queue(aws, options).await?;
    let filter = NotificationConfigurationFilter::builder()
        .key(
            S3KeyFilter::builder()
                .filter_rules(
                    FilterRule::builder()
                        .name(FilterRuleName::Prefix)
                        .value("files/")
                        .build(),
                )
                .build(),
        )
        .build();
    let queue = QueueConfiguration::builder()
        .queue_arn(&queue_arn)
        .events(Event::S3ObjectCreated)
        .filter(filter)
        .build()?;
    aws.s3
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(queue)
                .build(),
        )
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("notifications of {bucket}: {}", DisplayErrorContext(&e)))?;
    tracing::info!(bucket, table = %aws.settings.table, queue = %queue_url, "provisioned");
    Ok(Provisioned {
        bucket_created,
        table_created,
        queue_url,
    })
}

async fn ensure_bucket(aws: &AwsAdapters) -> anyhow::Result<bool> {
    let bucket = &aws.settings.bucket;
    if aws.s3.head_bucket().bucket(bucket).send().await.is_ok() {
        return Ok(false);
    }
    let mut create = aws.s3.create_bucket().bucket(bucket);
    // us-east-1 is the one region that must not be named as a location constraint.
    if let Some(region) = aws
        .sdk
        .region()
        .map(|r| r.as_ref())
        .filter(|r| *r != "us-east-1")
    {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    create
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("creating bucket {bucket}: {}", DisplayErrorContext(&e)))?;
    Ok(true)
}

/// The queue and its dead-letter queue (5 receives), with a policy letting the bucket send.
async fn ensure_queue(
    aws: &AwsAdapters,
    options: &ProvisionOptions,
) -> anyhow::Result<(String, String)> {
    let sqs = &aws.sqs;
    let err = |what: &str, e: &dyn std::fmt::Display| anyhow::anyhow!("{what}: {e}");
    let dlq_url = sqs
        .create_queue()
        .queue_name(format!("{}-dlq", options.queue_name))
        .send()
        .await
        .map_err(|e| err("creating the dead-letter queue", &DisplayErrorContext(&e)))?
        .queue_url
        .unwrap_or_default();
    let dlq_arn = queue_arn(aws, &dlq_url).await?;
    let queue_url = sqs
        .create_queue()
        .queue_name(&options.queue_name)
        .send()
        .await
        .map_err(|e| err("creating the events queue", &DisplayErrorContext(&e)))?
        .queue_url
        .unwrap_or_default();
    let arn = queue_arn(aws, &queue_url).await?;
    let bucket_arn = format!("arn:aws:s3:::{}", aws.settings.bucket);
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": bucket_arn}},
        }],
    });
    let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5});
    sqs.set_queue_attributes()
        .queue_url(&queue_url)
        .attributes(QueueAttributeName::Policy, policy.to_string())
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .attributes(QueueAttributeName::VisibilityTimeout, "60")
        .send()
        .await
        .map_err(|e| err("configuring the events queue", &DisplayErrorContext(&e)))?;
    Ok((queue_url, arn))
}

async fn queue_arn(aws: &AwsAdapters, queue_url: &str) -> anyhow::Result<String> {
    let out = aws
        .sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("reading {queue_url}: {}", DisplayErrorContext(&e)))?;
    out.attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("{queue_url} has no ARN"))
}
