//! Live updates on AWS: open WebSocket connections as items of the metadata table, and messages
//! posted through API Gateway's management API (`POST @connections/{id}`).
//!
//! A connection is two small items, both expiring with DynamoDB's TTL when API Gateway's two-hour
//! limit has passed (so a missed `$disconnect` cleans itself up):
//! `LIVE#{sub}`/`CONN#{id}` lists a user's connections with one query, and
//! `CONN#{id}`/`CONN` names its user, because `$disconnect` only knows the connection id.

use std::time::SystemTime;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;

use super::items::{Item, PK, SK, epoch_seconds, key, opt_str, s};
use crate::domain::UserId;
use crate::live_ports::{ConnectionId, Delivery, LiveConnections, LiveError, LivePush};

const CONN_PREFIX: &str = "CONN#";
const CONN_SK: &str = "CONN";

fn live_pk(user: &UserId) -> String {
    format!("LIVE#{user}")
}

fn user_entry(user: &UserId, connection: &ConnectionId) -> Item {
    key(live_pk(user), format!("{CONN_PREFIX}{connection}"))
}

fn connection_entry(connection: &ConnectionId) -> Item {
    key(format!("{CONN_PREFIX}{connection}"), CONN_SK.to_owned())
}

fn failed(what: &str, err: impl std::error::Error + 'static) -> LiveError {
    LiveError(format!("{what}: {}", DisplayErrorContext(err)))
}

/// The connection registry in the metadata table.
#[derive(Clone, Debug)]
pub struct DynamoConnections {
    client: Client,
    table: String,
}

impl DynamoConnections {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl LiveConnections for DynamoConnections {
    async fn connect(
        &self,
        connection: &ConnectionId,
        user: &UserId,
        until: OffsetDateTime,
    ) -> Result<(), LiveError> {
        let ttl = ("ttl".to_owned(), epoch_seconds(until));
        let mut by_user = user_entry(user, connection);
        by_user.extend([ttl.clone()]);
        let mut by_id = connection_entry(connection);
        by_id.extend([ttl, ("owner".to_owned(), s(user.as_str()))]);
        // The id item first: a `$disconnect` racing this finds the user and removes both.
        for item in [by_id, by_user] {
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .send()
                .await
                .map_err(|e| failed("recording a connection", e))?;
        }
        Ok(())
    }

    async fn disconnect(&self, connection: &ConnectionId) -> Result<(), LiveError> {
        let found = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(connection_entry(connection)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failed("reading a connection", e))?;
        let owner = found
            .item()
            .and_then(|item| opt_str(item, "owner").ok().flatten())
            .and_then(|raw| UserId::parse(raw).ok());
        let mut keys = vec![connection_entry(connection)];
        if let Some(owner) = owner {
            keys.insert(0, user_entry(&owner, connection));
        }
        for key in keys {
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key))
                .send()
                .await
                .map_err(|e| failed("forgetting a connection", e))?;
        }
        Ok(())
    }

    async fn connections_of(&self, user: &UserId) -> Result<Vec<ConnectionId>, LiveError> {
        // TTL deletes items up to days late: expired ones are skipped here.
        let now = OffsetDateTime::from(SystemTime::now()).unix_timestamp();
        let pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :conn)")
            .filter_expression("#ttl > :now")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":pk", s(live_pk(user)))
            .expression_attribute_values(":conn", s(CONN_PREFIX))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| failed("listing connections", e))?;
        Ok(pages
            .iter()
            .filter_map(|item| opt_str(item, SK).ok().flatten())
            .filter_map(|sk| sk.strip_prefix(CONN_PREFIX))
            .filter_map(ConnectionId::parse)
            .collect())
    }
}

/// Posts to connections through API Gateway's management API.
#[derive(Clone, Debug)]
pub struct ManagementApiPush {
    client: aws_sdk_apigatewaymanagement::Client,
}

impl ManagementApiPush {
    /// `endpoint` is the stage's HTTPS URL: `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`
    /// (the template's `LiveEndpoint`, `FERRY_LIVE_ENDPOINT`).
    pub fn new(sdk: &SdkConfig, endpoint: &str) -> Self {
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(sdk)
            .endpoint_url(endpoint.trim_end_matches('/'))
            .build();
        Self {
            client: aws_sdk_apigatewaymanagement::Client::from_conf(config),
        }
    }
}

#[async_trait]
impl LivePush for ManagementApiPush {
    async fn push(&self, connection: &ConnectionId, message: &str) -> Result<Delivery, LiveError> {
        let sent = self
            .client
            .post_to_connection()
            .connection_id(connection.as_str())
            .data(Blob::new(message.as_bytes()))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Delivery::Delivered),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_gone_exception()) =>
            {
                Ok(Delivery::Gone)
            }
            Err(err) => Err(failed("posting to a connection", err)),
        }
    }
}
