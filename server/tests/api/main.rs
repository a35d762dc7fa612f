//! Integration tests of the `sellout` server: HTTP API, pages, schema rules and the store
//! contract suites. Database tests run on SQLite and on PostgreSQL (`TEST_DATABASE_URL`);
//! Redis adapters run against `TEST_REDIS_URL`. `make test` starts both when not given.

mod accounts;
mod cart_api;
mod catalog;
mod checkout;
mod crash;
mod edge;
mod express;
mod extras;
mod fulfilment;
mod hostile;
mod cli;
mod helpers;
mod page_cache;
mod page_fns;
mod platform;
mod push;
mod races;
mod schema;
mod reviews;
mod sale_buy;
mod sales;
mod search;
mod seller;
mod stores;
mod stripe;
mod tokens;
mod two_nodes;
