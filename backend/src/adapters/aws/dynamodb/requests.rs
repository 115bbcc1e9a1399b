//! File requests on DynamoDB. A request is `REQUEST#{token}`/`REQUEST` (its fixed terms as
//! JSON in `record`; `files_left`, `bytes_left`, `closed`, `expires_at` and `owner` as
//! attributes so conditions can read them), indexed under its owner as
//! `USER#{sub}`/`REQUEST#{created}#{token}`; each guest is `REQUEST#{token}`/`GUEST#{id}`.
//!
//! A guest's upload is ONE `TransactWriteItems`: the file item (new), the owner's usage (within
//! quota), the request (open, unexpired, a file and the bytes left: taken) and the guest (the
//! file's id appended), so concurrent guests can never take more than the request allows.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use time::OffsetDateTime;

use super::super::items::{
    self, Item, SK, file_id_list, n, nanos, opt_str, req_num, req_str, s, user_pk,
};
use super::{
    DynamoMetadataStore, backend, build_error, is_condition_failure, names, query_all, values,
};
use crate::domain::requests::{GuestId, GuestMark, GuestRecord, RequestRecord, RequestToken};
use crate::domain::{FileId, FileRecord, UserId};
use crate::ports::{MetadataError, RequestRefusal, RequestStore, Transition};

const REQUEST_SK: &str = "REQUEST";
const INDEX_PREFIX: &str = "REQUEST#";
const GUEST_PREFIX: &str = "GUEST#";

fn request_pk(token: &RequestToken) -> String {
    format!("REQUEST#{token}")
}

fn request_key(token: &RequestToken) -> Item {
    items::key(request_pk(token), REQUEST_SK.to_owned())
}

fn index_key(request: &RequestRecord) -> Item {
    let nanos = request.created_at.unix_timestamp_nanos().max(0);
    items::key(
        user_pk(&request.owner),
        format!("{INDEX_PREFIX}{nanos:020}#{}", request.token),
    )
}

fn guest_key(token: &RequestToken, guest: &GuestId) -> Item {
    items::key(
        request_pk(token),
        format!("{GUEST_PREFIX}{}", guest.as_str()),
    )
}

fn corrupt(what: &str, err: impl std::fmt::Display) -> MetadataError {
    MetadataError::Backend(format!("stored request has a bad `{what}`: {err}"))
}

fn request_item(request: &RequestRecord) -> Result<Item, MetadataError> {
    let mut item = request_key(&request.token);
    let record = serde_json::to_string(request).map_err(|e| corrupt("record", e))?;
    item.extend([
        ("record".to_owned(), s(record)),
        ("owner".to_owned(), s(request.owner.as_str())),
        ("files_left".to_owned(), n(request.files_left)),
        ("bytes_left".to_owned(), n(request.bytes_left)),
        ("closed".to_owned(), AttributeValue::Bool(request.closed)),
        ("expires_at".to_owned(), nanos(request.expires_at)),
    ]);
    Ok(item)
}

fn decode_request(item: &Item) -> Result<RequestRecord, MetadataError> {
    let mut request: RequestRecord =
        serde_json::from_str(req_str(item, "record")?).map_err(|e| corrupt("record", e))?;
    request.files_left = req_num(item, "files_left")?;
    request.bytes_left = req_num(item, "bytes_left")?;
    request.closed = matches!(item.get("closed"), Some(AttributeValue::Bool(true)));
    Ok(request)
}

fn guest_item(guest: &GuestRecord) -> Item {
    let mut item = guest_key(&guest.token, &guest.guest);
    item.extend([
        ("token".to_owned(), s(guest.token.as_str())),
        ("guest".to_owned(), s(guest.guest.as_str())),
        ("created_at".to_owned(), nanos(guest.created_at)),
        ("file_ids".to_owned(), file_id_list(&guest.file_ids)),
    ]);
    if let Some(name) = &guest.name {
        item.insert("name".to_owned(), s(name.as_str()));
    }
    if let Some(note) = &guest.note {
        item.insert("note".to_owned(), s(note.as_str()));
    }
    item
}

fn decode_guest(item: &Item) -> Result<GuestRecord, MetadataError> {
    let file_ids = match item.get("file_ids") {
        Some(AttributeValue::L(ids)) => ids
            .iter()
            .map(|v| match v {
                AttributeValue::S(id) => FileId::parse(id).map_err(|e| corrupt("file_ids", e)),
                other => Err(corrupt("file_ids", format!("{other:?}"))),
            })
            .collect::<Result<_, _>>()?,
        _ => Vec::new(),
    };
    Ok(GuestRecord {
        token: RequestToken::parse(req_str(item, "token")?).map_err(|e| corrupt("token", e))?,
        guest: GuestId::try_from(req_str(item, "guest")?.to_owned())
            .map_err(|e| corrupt("guest", e))?,
        created_at: OffsetDateTime::from_unix_timestamp_nanos(req_num(item, "created_at")?)
            .map_err(|e| corrupt("created_at", e))?,
        name: opt_str(item, "name")?.map(str::to_owned),
        note: opt_str(item, "note")?.map(str::to_owned),
        file_ids,
    })
}

impl DynamoMetadataStore {
    fn update_item(
        &self,
        key: Item,
        update: &str,
        condition: &str,
        attr_names: &[(&str, &str)],
        vals: Vec<(&str, AttributeValue)>,
    ) -> Result<TransactWriteItem, MetadataError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names((!attr_names.is_empty()).then(|| names(attr_names)))
            .set_expression_attribute_values(Some(values(vals)))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Every item of a request: the request and its guests.
    async fn request_items(&self, token: &RequestToken) -> Result<Vec<Item>, MetadataError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .set_expression_attribute_values(Some(values(vec![(":pk", s(request_pk(token)))])));
        query_all(query).await
    }
}

#[async_trait]
impl RequestStore for DynamoMetadataStore {
    async fn insert_request(&self, request: &RequestRecord) -> Result<(), MetadataError> {
        let mut index = index_key(request);
        index.insert("token".to_owned(), s(request.token.as_str()));
        let writes = vec![
            self.put(request_item(request)?, Some("attribute_not_exists(PK)"))?,
            self.put(index, None)?,
        ];
        match self.transact(writes).await {
            Ok(()) => Ok(()),
            Err(e) if e.condition_failed(0) => Err(MetadataError::AlreadyExists),
            Err(e) => Err(e.into_error("insert request")),
        }
    }

    async fn request(&self, token: &RequestToken) -> Result<Option<RequestRecord>, MetadataError> {
        self.get(request_key(token))
            .await?
            .as_ref()
            .map(decode_request)
            .transpose()
    }

    async fn list_requests(&self, owner: &UserId) -> Result<Vec<RequestRecord>, MetadataError> {
        let index = self.owner_index(owner, INDEX_PREFIX, false).await?;
        let mut keys = Vec::with_capacity(index.len());
        for item in &index {
            let token =
                RequestToken::parse(req_str(item, "token")?).map_err(|e| corrupt("token", e))?;
            keys.push(request_key(&token));
        }
        let mut requests: Vec<RequestRecord> = self
            .batch_get(keys)
            .await?
            .iter()
            .map(decode_request)
            .collect::<Result<_, _>>()?;
        requests.retain(|r| r.owner == *owner);
        requests.sort_by_key(|r| std::cmp::Reverse(r.created_at));
        Ok(requests)
    }

    async fn set_request_closed(
        &self,
        owner: &UserId,
        token: &RequestToken,
        closed: bool,
    ) -> Result<Transition, MetadataError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(request_key(token)))
            .update_expression("SET #c = :closed")
            .condition_expression("attribute_exists(PK) AND #o = :owner AND #c <> :closed")
            .set_expression_attribute_names(Some(names(&[("#c", "closed"), ("#o", "owner")])))
            .set_expression_attribute_values(Some(values(vec![
                (":closed", AttributeValue::Bool(closed)),
                (":owner", s(owner.as_str())),
            ])))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Transition::Applied),
            Err(err) if is_condition_failure(&err) => Ok(match self.request(token).await? {
                Some(r) if r.owner == *owner => Transition::Unchanged,
                _ => Transition::Missing,
            }),
            Err(err) => Err(backend("UpdateItem", &err)),
        }
    }

    async fn delete_request(
        &self,
        owner: &UserId,
        token: &RequestToken,
    ) -> Result<Transition, MetadataError> {
        let Some(request) = self.request(token).await?.filter(|r| r.owner == *owner) else {
            return Ok(Transition::Missing);
        };
        let writes = vec![
            self.delete(request_key(token))?,
            self.delete(index_key(&request))?,
        ];
        self.transact(writes)
            .await
            .map_err(|e| e.into_error("delete request"))?;
        // The guests' records: nobody can reach them without the request any more.
        for item in self.request_items(token).await? {
            let key = items::key(
                req_str(&item, "PK")?.to_owned(),
                req_str(&item, SK)?.to_owned(),
            );
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key))
                .send()
                .await
                .map_err(|e| backend("DeleteItem", &e))?;
        }
        Ok(Transition::Applied)
    }

    async fn insert_guest(&self, guest: &GuestRecord) -> Result<(), MetadataError> {
        let writes = vec![self.put(guest_item(guest), Some("attribute_not_exists(PK)"))?];
        match self.transact(writes).await {
            Ok(()) => Ok(()),
            Err(e) if e.condition_failed(0) => Err(MetadataError::AlreadyExists),
            Err(e) => Err(e.into_error("insert guest")),
        }
    }

    async fn guest(
        &self,
        token: &RequestToken,
        guest: &GuestId,
    ) -> Result<Option<GuestRecord>, MetadataError> {
        self.get(guest_key(token, guest))
            .await?
            .as_ref()
            .map(decode_guest)
            .transpose()
    }

    async fn set_guest_note(
        &self,
        owner: &UserId,
        files: &[FileId],
        mark: &GuestMark,
    ) -> Result<Transition, MetadataError> {
        let mut sets = Vec::new();
        let mut removes = Vec::new();
        let mut vals = Vec::new();
        for (attr, value, placeholder) in [
            ("#name", mark.name.as_deref(), ":name"),
            ("#note", mark.note.as_deref(), ":note"),
        ] {
            match value {
                Some(v) => {
                    sets.push(format!("{attr} = {placeholder}"));
                    vals.push((placeholder, s(v)));
                }
                None => removes.push(attr),
            }
        }
        let mut update = String::new();
        if !sets.is_empty() {
            update = format!("SET {}", sets.join(", "));
        }
        if !removes.is_empty() {
            update = format!("{update} REMOVE {}", removes.join(", "));
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(guest_key(&mark.request, &mark.guest)))
            .update_expression(update.trim())
            .condition_expression("attribute_exists(PK)")
            .set_expression_attribute_names(Some(names(&[("#name", "name"), ("#note", "note")])))
            .set_expression_attribute_values((!vals.is_empty()).then(|| values(vals)))
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(err) if is_condition_failure(&err) => return Ok(Transition::Missing),
            Err(err) => return Err(backend("UpdateItem", &err)),
        }
        let json = serde_json::to_string(mark).map_err(|e| corrupt("guest", e))?;
        for id in files {
            self.update_file(
                owner,
                id,
                "SET #g = :g",
                "attribute_exists(#g)",
                &[("#g", items::GUEST)],
                vec![(":g", s(json.as_str()))],
            )
            .await?;
        }
        Ok(Transition::Applied)
    }

    async fn reserve_request_file(
        &self,
        file: &FileRecord,
        quota: u64,
        now: OffsetDateTime,
    ) -> Result<(), RequestRefusal> {
        let Some(mark) = &file.guest else {
            return Err(RequestRefusal::UnknownGuest);
        };
        let refused_by_quota = async || {
            let used = super::usage::usage(self, &file.owner).await?.bytes_used;
            Err(RequestRefusal::QuotaExceeded { used, quota })
        };
        let Some(max_before) = quota.checked_sub(file.size) else {
            return refused_by_quota().await;
        };
        let writes = vec![
            self.put(items::file_item(file), Some("attribute_not_exists(PK)"))?,
            self.usage_change(
                &file.owner,
                i128::from(file.size),
                1,
                -super::usage::pending_delta(file),
                Some((
                    "attribute_not_exists(bytes_used) OR bytes_used <= :max",
                    vec![(":max", n(max_before))],
                )),
            )?,
            self.update_item(
                request_key(&mark.request),
                "SET #f = #f - :one, #b = #b - :size",
                "attribute_exists(PK) AND #o = :owner AND #c = :false AND #e > :now \
                 AND #f >= :one AND #b >= :size",
                &[
                    ("#f", "files_left"),
                    ("#b", "bytes_left"),
                    ("#o", "owner"),
                    ("#c", "closed"),
                    ("#e", "expires_at"),
                ],
                vec![
                    (":one", n(1)),
                    (":size", n(file.size)),
                    (":owner", s(file.owner.as_str())),
                    (":false", AttributeValue::Bool(false)),
                    (":now", nanos(now)),
                ],
            )?,
            self.update_item(
                guest_key(&mark.request, &mark.guest),
                "SET file_ids = list_append(if_not_exists(file_ids, :empty), :ids)",
                "attribute_exists(PK)",
                &[],
                vec![
                    (":empty", AttributeValue::L(Vec::new())),
                    (":ids", file_id_list(&[file.id])),
                ],
            )?,
        ];
        match self.transact(writes).await {
            Ok(()) => Ok(()),
            Err(e) if e.condition_failed(0) => Err(MetadataError::AlreadyExists.into()),
            Err(e) if e.condition_failed(2) => {
                // Which limit said no: read the request as it is now.
                match self.request(&mark.request).await? {
                    Some(r) if r.owner == file.owner => {
                        Err(RequestRefusal::of(&r, file.size, now).unwrap_or(RequestRefusal::Full))
                    }
                    _ => Err(RequestRefusal::NotFound),
                }
            }
            Err(e) if e.condition_failed(1) => refused_by_quota().await,
            Err(e) if e.condition_failed(3) => Err(RequestRefusal::UnknownGuest),
            Err(e) => Err(e.into_error("reserve request file").into()),
        }
    }

    async fn release_request_files(
        &self,
        token: &RequestToken,
        files: u32,
        bytes: u64,
    ) -> Result<(), MetadataError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(request_key(token)))
            .update_expression("SET #f = #f + :files, #b = #b + :bytes")
            .condition_expression("attribute_exists(PK)")
            .set_expression_attribute_names(Some(names(&[
                ("#f", "files_left"),
                ("#b", "bytes_left"),
            ])))
            .set_expression_attribute_values(Some(values(vec![
                (":files", n(files)),
                (":bytes", n(bytes)),
            ])))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure(&err) => Ok(()),
            Err(err) => Err(backend("UpdateItem", &err)),
        }
    }
}
