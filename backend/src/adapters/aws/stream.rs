//! Reading the table's stream: item images arrive in DynamoDB's JSON form
//! (`{"S": "..."}`, `{"N": "1"}`, …) and are decoded with the same rules as items read directly.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use super::items::{FILE_PREFIX, Item, SHARE_SK, SK, decode_file, decode_share, opt_str};
use crate::domain::{FileRecord, ShareRecord};
use crate::ports::MetadataError;

/// The file record of a stream image, or `None` when the image is another kind of item (a
/// share, an index entry, a usage item).
pub fn file_from_image(image: &Value) -> Result<Option<FileRecord>, MetadataError> {
    let Some(item) = item_of(image) else {
        return Ok(None);
    };
    match opt_str(&item, SK)? {
        Some(sk) if sk.starts_with(FILE_PREFIX) => decode_file(&item).map(Some),
        _ => Ok(None),
    }
}

/// The share record of a stream image, or `None` when the image is another kind of item.
pub fn share_from_image(image: &Value) -> Result<Option<ShareRecord>, MetadataError> {
    let Some(item) = item_of(image) else {
        return Ok(None);
    };
    match opt_str(&item, SK)? {
        Some(SHARE_SK) => decode_share(&item).map(Some),
        _ => Ok(None),
    }
}

fn item_of(image: &Value) -> Option<Item> {
    let object = image.as_object()?;
    Some(
        object
            .iter()
            .filter_map(|(name, value)| attribute(value).map(|v| (name.clone(), v)))
            .collect(),
    )
}

/// One attribute in DynamoDB JSON; binary and set types are not used by Ferry and are skipped.
fn attribute(value: &Value) -> Option<AttributeValue> {
    let (kind, inner) = value.as_object()?.iter().next()?;
    Some(match kind.as_str() {
        "S" => AttributeValue::S(inner.as_str()?.to_owned()),
        "N" => AttributeValue::N(match inner {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        }),
        "BOOL" => AttributeValue::Bool(inner.as_bool()?),
        "NULL" => AttributeValue::Null(true),
        "L" => AttributeValue::L(inner.as_array()?.iter().filter_map(attribute).collect()),
        "M" => AttributeValue::M(
            inner
                .as_object()?
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), attribute(v)?)))
                .collect(),
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn file_images_decode_and_other_items_are_skipped() {
        let image = json!({
            "PK": {"S": "USER#user-1"}, "SK": {"S": "FILE#0190f5b2-7c1e-7000-8000-000000000001"},
            "owner": {"S": "user-1"}, "id": {"S": "0190f5b2-7c1e-7000-8000-000000000001"},
            "name": {"S": "a.txt"}, "size": {"N": "12"}, "content_type": {"S": "text/plain"},
            "status": {"S": "pending"}, "object_key": {"S": "files/user-1/0190f5b2-7c1e-7000-8000-000000000001"},
            "created_at": {"N": "1767225600000000000"}, "upload_expires_at": {"N": "1767226500000000000"},
            "ttl": {"N": "1767226500"}, "extra": {"M": {"x": {"BOOL": true}}}
        });
        let file = file_from_image(&image).unwrap().unwrap();
        assert_eq!(file.size, 12);
        assert_eq!(file.upload_expires_at.unix_timestamp(), 1_767_226_500);
        let usage =
            json!({"PK": {"S": "USER#user-1"}, "SK": {"S": "USAGE"}, "bytes_used": {"N": "1"}});
        assert_eq!(file_from_image(&usage).unwrap(), None);
        assert_eq!(file_from_image(&json!(null)).unwrap(), None);
    }
}
