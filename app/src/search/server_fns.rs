//! Search's server functions: the search page and the header's suggestions.

use super::*;
use crate::error::AppError;

/// Up to 6 products for what has been typed so far (2+ characters), best first.
#[leptos::server(prefix = "/api/fn", endpoint = "suggest")]
pub async fn suggest(q: String) -> Result<Vec<Suggestion>, AppError> {
    let mut q = SearchQuery::parse([("q", q.as_str()), ("limit", "6")])?;
    q.as_you_type = true;
    if q.q.chars().count() < 2 {
        return Ok(Vec::new());
    }
    let state = crate::state::app_state()?;
    let found = super::service::search(&state, &q).await?;
    Ok(found
        .results
        .into_iter()
        .map(|p| Suggestion { product_id: p.product_id, title: p.title, brand: p.brand, price: p.price })
        .collect())
}

#[leptos::server(prefix = "/api/fn", endpoint = "search")]
pub async fn search_products(query: SearchQuery) -> Result<SearchResults, AppError> {
    let state = crate::state::app_state()?;
    super::service::search(&state, &query).await
}
