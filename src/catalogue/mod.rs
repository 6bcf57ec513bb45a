//! Model knowledge as data. `src/catalogue.json` (compiled in) describes every endpoint and model
//! we know: fields, allowed values, cross-field rules and cost. This module only interprets it, so
//! adding a model is an edit to the JSON, not to code. The simulator validates with the same data.
//!
//! One idea per file, each using only those listed before it:
//! - `body`: reading request bodies (dotted paths, number equality);
//! - `words`: how numbers and plain values print in text;
//! - `cost`: the price of a model, the estimate of a request's credits, the price in words;
//! - `types`: the spec language (media kinds, specs, fields, rules, models);
//! - `operations`: every operation of the API (method, path, query, body, answer);
//! - `load`: parsing the JSON, load-time consistency checks, finding endpoints, models, operations;
//! - `describe`: how values and specs read in messages, and what a field accepts in words;
//! - `export`: the catalogue as JSON for other languages, with its text, and price summaries;
//! - `validate`: checking a request body and its media URIs;
//! - `request`: checking an operation's whole request (path parameters, query, body).
//!
//! Everything public is re-exported here, so callers name `crate::catalogue::X` only.

mod body;
mod cost;
mod describe;
mod export;
mod load;
mod operations;
mod request;
mod types;
mod validate;
mod words;

pub use body::lookup;
pub use cost::{summary as cost_summary, Cost, CostCase, PRICE_NOT_PUBLISHED};
pub use describe::allowed;
pub use load::{catalogue, normalize_endpoint, Catalogue};
pub use operations::{Operation, Returns};
pub use types::{
    field_at, Condition, Endpoint, Field, MaxPerValue, MediaKind, Model, OutputCount, Removed, Rule, Spec, SumOf,
    DATA_URI_MAX_AV, DATA_URI_MAX_IMAGE, TAGS,
};
pub use validate::{check_fields, check_media, valid_tag};

#[cfg(test)]
mod tests;
