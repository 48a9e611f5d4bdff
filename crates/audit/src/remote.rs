//! The client side of the log's HTTP endpoints, shared by remote
//! verification and witnessing.
//!
//! ```text
//! GET {base}/transparency/log/checkpoint                      text/plain signed note
//! GET {base}/transparency/log/key                             text/plain verifier key
//! GET {base}/transparency/log/entries?start=N&count=M         {"size","entries":[{"index","entry"}]}
//! GET {base}/transparency/log/proof/inclusion?index=I&size=N  {"index","size","leaf_hash","proof"}
//! GET {base}/transparency/log/proof/consistency?old=M&new=N   {"old","new","proof"}
//! ```
//!
//! Uses blocking HTTP: do not call these from inside an async runtime.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::Value;
use thiserror::Error;

use crate::entry::Entry;
use crate::merkle::Hash;

/// A request to the log failed or its answer was malformed.
#[derive(Debug, Clone, Error)]
#[error("GET {url}: {reason}")]
pub struct FetchError {
    /// The URL requested.
    pub url: String,
    /// What went wrong.
    pub reason: String,
}

/// Decodes a JSON array of base64 hashes, as proofs are served.
pub fn decode_hashes(value: &Value) -> Result<Vec<Hash>, String> {
    value
        .as_array()
        .ok_or("proof is not an array")?
        .iter()
        .map(decode_hash)
        .collect()
}

/// Decodes one base64 hash.
pub fn decode_hash(value: &Value) -> Result<Hash, String> {
    let s = value.as_str().ok_or("hash is not a string")?;
    B64.decode(s)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("{s:?} is not a base64 SHA-256 hash"))
}

/// Parses a consistency-proof answer, checking it is for the sizes asked.
pub fn parse_consistency(json: &str, old: u64, new: u64) -> Result<Vec<Hash>, String> {
    let v: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    if v["old"].as_u64() != Some(old) || v["new"].as_u64() != Some(new) {
        return Err(format!("proof is not for sizes {old} to {new}"));
    }
    decode_hashes(&v["proof"])
}

/// A log's HTTP endpoints.
pub(crate) struct Client {
    base: String,
    http: reqwest::blocking::Client,
}

impl Client {
    pub fn new(base_url: &str) -> Result<Client, FetchError> {
        let http = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| FetchError {
                url: base_url.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Client {
            base: base_url.trim_end_matches('/').to_owned(),
            http,
        })
    }

    pub fn text(&self, path: &str) -> Result<String, FetchError> {
        let url = format!("{}/transparency/log/{path}", self.base);
        let err = |reason: String| FetchError {
            url: url.clone(),
            reason,
        };
        let resp = self.http.get(&url).send().map_err(|e| err(e.to_string()))?;
        let status = resp.status();
        let body = resp.text().map_err(|e| err(e.to_string()))?;
        if !status.is_success() {
            return Err(err(format!("HTTP {status}: {}", body.trim())));
        }
        Ok(body)
    }

    fn json(&self, path: &str) -> Result<Value, FetchError> {
        let body = self.text(path)?;
        serde_json::from_str(&body).map_err(|e| FetchError {
            url: format!("{}/transparency/log/{path}", self.base),
            reason: format!("not JSON: {e}"),
        })
    }

    fn bad(&self, path: &str, reason: String) -> FetchError {
        FetchError {
            url: format!("{}/transparency/log/{path}", self.base),
            reason,
        }
    }

    pub fn key(&self) -> Result<String, FetchError> {
        Ok(self.text("key")?.trim().to_owned())
    }

    pub fn checkpoint(&self) -> Result<String, FetchError> {
        self.text("checkpoint")
    }

    pub fn entries(&self, start: u64, count: u64) -> Result<Vec<(u64, Entry)>, FetchError> {
        let path = format!("entries?start={start}&count={count}");
        let v = self.json(&path)?;
        let list = v["entries"]
            .as_array()
            .ok_or_else(|| self.bad(&path, "no entries array".into()))?;
        list.iter()
            .map(|item| {
                let index = item["index"]
                    .as_u64()
                    .ok_or_else(|| self.bad(&path, "entry without index".into()))?;
                let entry: Entry = serde_json::from_value(item["entry"].clone())
                    .map_err(|e| self.bad(&path, format!("entry {index}: {e}")))?;
                Ok((index, entry))
            })
            .collect()
    }

    pub fn inclusion(&self, index: u64, size: u64) -> Result<(Hash, Vec<Hash>), FetchError> {
        let path = format!("proof/inclusion?index={index}&size={size}");
        let v = self.json(&path)?;
        if v["index"].as_u64() != Some(index) || v["size"].as_u64() != Some(size) {
            return Err(self.bad(&path, "proof is for another index or size".into()));
        }
        let leaf = decode_hash(&v["leaf_hash"]).map_err(|e| self.bad(&path, e))?;
        let proof = decode_hashes(&v["proof"]).map_err(|e| self.bad(&path, e))?;
        Ok((leaf, proof))
    }

    pub fn consistency_text(&self, old: u64, new: u64) -> Result<String, FetchError> {
        self.text(&format!("proof/consistency?old={old}&new={new}"))
    }

    pub fn consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>, FetchError> {
        let text = self.consistency_text(old, new)?;
        parse_consistency(&text, old, new)
            .map_err(|e| self.bad(&format!("proof/consistency?old={old}&new={new}"), e))
    }
}
