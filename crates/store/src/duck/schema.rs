//! The DuckDB schema. One wide table of events: DuckDB's columnar storage
//! compresses the repeated visit columns to almost nothing, and every query
//! reads only the columns it names.
//!
//! Nothing here can hold an IP address or a User-Agent: there is no column
//! for them, and the rows come only from `AnonymousEvent`s.

/// Statements run at every start; all are idempotent.
pub const CREATE: &str = "
CREATE TABLE IF NOT EXISTS events (
    site             VARCHAR   NOT NULL,
    ts               TIMESTAMP NOT NULL,
    visitor_id       UBIGINT   NOT NULL,
    session_id       UBIGINT   NOT NULL,
    name             VARCHAR   NOT NULL,
    hostname         VARCHAR   NOT NULL,
    pathname         VARCHAR   NOT NULL,
    query            VARCHAR   NOT NULL,
    title            VARCHAR   NOT NULL,
    entry_page       VARCHAR   NOT NULL,
    source           VARCHAR   NOT NULL,
    referrer         VARCHAR   NOT NULL,
    utm_source       VARCHAR   NOT NULL,
    utm_medium       VARCHAR   NOT NULL,
    utm_campaign     VARCHAR   NOT NULL,
    utm_content      VARCHAR   NOT NULL,
    utm_term         VARCHAR   NOT NULL,
    browser          VARCHAR   NOT NULL,
    browser_version  VARCHAR   NOT NULL,
    os               VARCHAR   NOT NULL,
    os_version       VARCHAR   NOT NULL,
    device           VARCHAR   NOT NULL,
    country          VARCHAR   NOT NULL,
    prop_keys        VARCHAR[] NOT NULL,
    prop_values      VARCHAR[] NOT NULL,
    interactive      BOOLEAN   NOT NULL,
    revenue_amount   DOUBLE,
    revenue_currency VARCHAR
);
";
