//! Deserializers that accept a number or boolean written as a string, as interpolation
//! leaves them (`replicas: ${N}` is the string `"3"` once `N` is substituted).

use serde::de::Error;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.filter(|v| !v.is_null()))
}

fn to_i64<E: Error>(v: &Value) -> Result<i64, E> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| E::custom(format!("expected an integer, got {n}"))),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| E::custom(format!("expected an integer, got {s:?}"))),
        other => Err(E::custom(format!("expected an integer, got {other}"))),
    }
}

fn to_bool<E: Error>(v: &Value) -> Result<bool, E> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "on" | "1" => Ok(true),
            "false" | "no" | "n" | "off" | "0" | "" => Ok(false),
            _ => Err(E::custom(format!("expected a boolean, got {s:?}"))),
        },
        other => Err(E::custom(format!("expected a boolean, got {other}"))),
    }
}

pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    scalar(d)?
        .map(|v| {
            let n = to_i64::<D::Error>(&v)?;
            u64::try_from(n).map_err(|_| D::Error::custom(format!("expected a count, got {n}")))
        })
        .transpose()
}

pub fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    opt_u64(d)?.ok_or_else(|| D::Error::custom("expected a number"))
}

pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    scalar(d)?
        .map(|v| to_i64::<D::Error>(&v))
        .transpose()?
        .ok_or_else(|| D::Error::custom("expected a number"))
}

pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    scalar(d)?.map(|v| to_bool::<D::Error>(&v)).transpose()
}

pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(opt_bool(d)?.unwrap_or(false))
}

/// A string, or a number written without quotes (`published: 8080`, `memory: 512`).
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    scalar(d)?
        .map(|v| match v {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(D::Error::custom(format!("expected a string, got {other}"))),
        })
        .transpose()
}
