//! Leaf components every area may use: error and empty states, stars, pagination, forms. They
//! know no area; the page frame is in `frame.rs`, its shared actions in `lib.rs`.

pub mod forms;

use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::components::A;
use crate::error::AppError;

/// Sets the HTTP status of the page being rendered (a no-op in the browser).
pub fn set_status(code: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(resp), Ok(status)) =
        (use_context::<leptos_axum::ResponseOptions>(), axum::http::StatusCode::from_u16(code))
    {
        resp.set_status(status);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = code;
}

/// Answers the page or server function being handled with the error's status (and
/// `Retry-After`), from the one mapping in `AppError::http_parts`. A no-op in the browser.
pub fn set_error_status(error: &AppError) {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        let (status, headers) = error.http_parts();
        resp.set_status(status);
        for (name, value) in headers.iter() {
            resp.insert_header(name.clone(), value.clone());
        }
    }
    #[cfg(not(feature = "ssr"))]
    let _ = error;
}

#[component]
pub fn NotFound(#[prop(optional, into)] message: Option<String>) -> impl IntoView {
    set_status(404);
    view! {
        <Title text="Page not found" />
        <Meta name="description" content="There is no page at this address. Search the shop or start from the home page." />
        <section class="empty-state" data-testid="not-found">
            <h1>"We couldn't find that page"</h1>
            <p>{message.unwrap_or_else(|| "The link may be old, or the item may no longer be sold.".to_owned())}</p>
            <p><A href="/">"Back to the shop"</A></p>
        </section>
    }
}

/// Shows an error in place of the content it stopped.
#[component]
pub fn ErrorPanel(error: AppError) -> impl IntoView {
    set_error_status(&error);
    match error {
        AppError::NotFound(msg) => view! { <NotFound message=msg /> }.into_any(),
        AppError::BadRequest { message, .. } => view! {
            <section class="empty-state" role="alert">
                <h1>"That request didn't work"</h1>
                <p>{message}</p>
            </section>
        }
        .into_any(),
        other => view! {
            <section class="empty-state" role="alert">
                <h1>"Something went wrong"</h1>
                <p>{other.to_string()}</p>
            </section>
        }
        .into_any(),
    }
}

#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" aria-live="polite">"Loading…"</p> }
}

#[component]
pub fn Stars(rating: Option<f64>, count: i64) -> impl IntoView {
    match rating {
        Some(r) => {
            let full = r.round() as usize;
            let stars: String = "★".repeat(full) + &"☆".repeat(5usize.saturating_sub(full));
            view! {
                <span class="stars" aria-label=format!("Rated {r:.1} out of 5 by {count} shoppers")>
                    <span aria-hidden="true">{stars}</span>
                    <span class="muted">{format!(" {r:.1} ({count})")}</span>
                </span>
            }
            .into_any()
        }
        None => view! { <span class="stars muted">"No reviews yet"</span> }.into_any(),
    }
}

/// Previous / numbered / next links that keep the rest of the query string.
#[component]
pub fn Pagination(page: u64, total_pages: u64, base: String) -> impl IntoView {
    if total_pages <= 1 {
        return ().into_any();
    }
    let link = move |p: u64| forms::with_query(&base, &format!("page={p}"));
    let window: Vec<u64> = (page.saturating_sub(2).max(1)..=(page + 2).min(total_pages)).collect();
    view! {
        <nav class="pagination" aria-label="Pages">
            // Plain <a>: the router still navigates client-side, but <A> would mark every
            // link to this path aria-current="page" whatever its query.
            {(page > 1).then(|| view! { <a href=link(page - 1) rel="prev">"← Previous"</a> })}
            {window
                .into_iter()
                .map(|p| {
                    if p == page {
                        view! { <span aria-current="page" class="current">{p}</span> }.into_any()
                    } else {
                        view! { <a href=link(p)>{p}</a> }.into_any()
                    }
                })
                .collect_view()}
            {(page < total_pages).then(|| view! { <a href=link(page + 1) rel="next">"Next →"</a> })}
        </nav>
    }
    .into_any()
}

/// The last step before something that cannot be undone (cancel an order, refund, end a sale).
/// A "…" button submits a GET form that adds `?confirm=…` to the page; the page then shows
/// this over itself. With JavaScript that is a client-side navigation, so it opens as a modal
/// dialog with the focus on its confirming button; without, the browser loads the page with
/// the dialog in it: the same confirmation page. `back` closes it (the page without the query).
#[component]
pub fn ConfirmDialog(#[prop(into)] title: String, #[prop(into)] back: String, children: Children) -> impl IntoView {
    let panel = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(p) = panel.get() {
            use wasm_bindgen::JsCast;
            let first = p.query_selector("button[type=submit]").ok().flatten();
            if let Some(b) = first.and_then(|b| b.dyn_into::<web_sys::HtmlElement>().ok()) {
                let _ = b.focus();
            }
        }
    });
    view! {
        <div class="dialog-backdrop">
            <div class="dialog panel" role="alertdialog" aria-modal="true" aria-labelledby="confirm-title" node_ref=panel data-testid="confirm-dialog">
                <h2 id="confirm-title">{title}</h2>
                {children()}
                <p><A href=back attr:data-testid="confirm-back">"No, go back"</A></p>
            </div>
        </div>
    }
}

/// Closes a `ConfirmDialog` once its action succeeded (with JavaScript): `done` says so, the
/// page goes back to `page()` without its `?confirm=…`.
pub fn close_confirmation_when(done: impl Fn() -> bool + 'static, page: impl Fn() -> String + 'static) {
    let query = leptos_router::hooks::use_query_map();
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if done() && query.read_untracked().get("confirm").is_some() {
            navigate(&page(), Default::default());
        }
    });
}

/// A moment in the reader's own time zone. The server renders it in UTC inside
/// `<time datetime>` (what a page without the wasm shows); once the page is live the browser
/// rewrites it in local time, naming the zone. `time_only` leaves the date out.
#[component]
pub fn LocalTime(#[prop(into)] at: String, #[prop(optional)] time_only: bool) -> impl IntoView {
    let shown = RwSignal::new(utc_text(&at, time_only));
    let iso = at.clone();
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(local) = local_text(&iso, time_only) {
            shown.set(local);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&iso, time_only);
    });
    view! { <time datetime=at>{move || shown.get()}</time> }
}

/// "2026-12-06 12:53:03 UTC" (or "12:53:03 UTC") from RFC 3339 UTC.
pub fn utc_text(at: &str, time_only: bool) -> String {
    let t = at.trim_end_matches('Z').replace('T', " ");
    let t = t.split('.').next().unwrap_or_default();
    let t = if time_only { t.get(11..).unwrap_or(t) } else { t };
    format!("{t} UTC")
}

#[cfg(feature = "hydrate")]
fn local_text(at: &str, time_only: bool) -> Option<String> {
    use wasm_bindgen::JsValue;
    let date = js_sys::Date::new(&JsValue::from_str(at));
    if date.get_time().is_nan() {
        return None;
    }
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"timeStyle".into(), &"long".into()).ok()?;
    if !time_only {
        js_sys::Reflect::set(&options, &"dateStyle".into(), &"medium".into()).ok()?;
    }
    Some(date.to_locale_string("default", &options).into())
}

#[cfg(test)]
mod time_tests {
    #[test]
    fn utc_text_reads_rfc3339() {
        assert_eq!(super::utc_text("2026-12-06T12:53:03Z", false), "2026-12-06 12:53:03 UTC");
        assert_eq!(super::utc_text("2026-12-06T12:53:03.250Z", true), "12:53:03 UTC");
    }
}
