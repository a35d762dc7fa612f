//! Forms that work with and without JavaScript. With JavaScript, an `ActionForm`'s result holds
//! the error; without, the server sends the browser back to the form with the error and the
//! non-secret fields in the query string. `Feedback` reads whichever is there.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

use crate::error::AppError;

/// `path` with `pair` ("key=value", already encoded) added to its query.
pub fn with_query(path: &str, pair: &str) -> String {
    format!("{path}{}{pair}", if path.contains('?') { '&' } else { '?' })
}

pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A redirect target taken from a request (`next`, `back`), kept only when it is a path of
/// this shop: one leading `/` and no second one or a backslash after it, no control character
/// or space, also once percent-decoded (`/%09/evil.example` is `/\t/evil.example`, which a
/// browser reads as `//evil.example`), at most 2,000 bytes. Anything else is `/`. The one
/// check every redirect from a request goes through.
pub fn same_site_path(target: &str) -> &str {
    fn plain_path(path: &[u8]) -> bool {
        path.first() == Some(&b'/')
            && !matches!(path.get(1), Some(b'/' | b'\\'))
            && !path.iter().any(|&b| b == b'\\' || b.is_ascii_control() || b.is_ascii_whitespace())
    }
    let decoded = percent_decode(target);
    let spaces = |s: &str| s.chars().any(|c| c.is_control() || c.is_whitespace());
    let decoded_ok = std::str::from_utf8(&decoded).is_ok_and(|d| !spaces(d));
    if target.len() <= 2_000 && plain_path(target.as_bytes()) && plain_path(&decoded) && decoded_ok && !spaces(target) {
        target
    } else {
        "/"
    }
}

/// `%XX` escapes decoded once (a malformed one is kept as it is).
fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Sends the browser to `path` after a plain form post. A path that cannot be a header value
/// (it was checked by `same_site_path` when it came from the request; this is the last guard)
/// answers 400 instead of the redirect: a client's text never panics the server.
#[cfg(feature = "ssr")]
pub fn redirect(path: &str) {
    if axum::http::HeaderValue::from_str(path).is_ok() {
        leptos_axum::redirect(path);
    } else {
        tracing::warn!(?path, "refused a redirect that is not a header value");
        crate::ui::set_error_status(&AppError::bad("next", "That address to go back to cannot be used."));
    }
}

/// True for a browser's plain form post (no JavaScript): it asks for HTML, not JSON.
#[cfg(feature = "ssr")]
pub async fn is_plain_form_post() -> bool {
    leptos_axum::extract::<axum::http::HeaderMap>()
        .await
        .ok()
        .and_then(|h| h.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).map(|v| v.contains("text/html")))
        .unwrap_or(false)
}

/// After a plain form post (no JavaScript): on to `next` of what was made, or back to
/// `error_page` with the error and what was typed (`keep`) in the query. Nothing after a
/// page's own (JavaScript) call, which reads the answer itself.
#[cfg(feature = "ssr")]
pub async fn after_form<T>(result: &Result<T, AppError>, next: impl FnOnce(&T) -> String, error_page: &str, keep: &[(&str, &str)]) {
    match result {
        Ok(made) if is_plain_form_post().await => redirect(&next(made)),
        Err(e) => bounce_on_error(error_page, e, keep).await,
        _ => {}
    }
}

/// After a failed plain form post, redirect to `path` carrying the error and `keep` (never a
/// password). A no-op for JavaScript requests, which read the error from the action.
#[cfg(feature = "ssr")]
pub async fn bounce_on_error(path: &str, err: &AppError, keep: &[(&str, &str)]) {
    if !is_plain_form_post().await {
        crate::ui::set_error_status(err);
        return;
    }
    let mut q = vec![format!("error={}", url_encode(&err.to_string()))];
    for (field, msg) in err.fields() {
        q.push(format!("err_{field}={}", url_encode(&msg)));
    }
    for (k, v) in keep {
        if !v.is_empty() {
            q.push(format!("{k}={}", url_encode(v)));
        }
    }
    redirect(&with_query(path, &q.join("&")));
}

/// The error and field messages of a form, from the action (JavaScript) or the query (no JS).
#[derive(Clone, Copy)]
pub struct Feedback {
    error: Signal<Option<AppError>>,
    query: Memo<ParamsMap>,
}

impl Feedback {
    /// `result` is an action's `value()`.
    pub fn new<T, S>(result: S) -> Self
    where
        T: Send + Sync + 'static,
        S: With<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
    {
        let query = use_query_map();
        Self {
            error: Signal::derive(move || result.with(|r| r.as_ref().and_then(|r| r.as_ref().err().cloned()))),
            query,
        }
    }

    pub fn message(&self) -> Option<String> {
        self.error.get().map(|e| e.to_string()).or_else(|| self.query.read().get("error"))
    }

    pub fn field(&self, name: &str) -> Option<String> {
        match self.error.get() {
            Some(e) => e.field(name),
            None => self.query.read().get(&format!("err_{name}")),
        }
    }

    /// A value typed before a plain form post failed.
    pub fn kept(&self, name: &str) -> String {
        self.query.read_untracked().get(name).unwrap_or_default()
    }
}

/// A labelled input with its error shown in place and announced to screen readers.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional, into)] value: String,
    #[prop(optional)] required: bool,
    #[prop(optional, into)] hint: Option<String>,
    feedback: Feedback,
) -> impl IntoView {
    let id = format!("field-{name}");
    let err_id = format!("{id}-error");
    let err_id2 = err_id.clone();
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            {hint.map(|h| view! { <span class="muted small">{h}</span> })}
            <input id=id name=name type=kind autocomplete=autocomplete value=value required=required
                aria-invalid=move || feedback.field(name).map(|_| "true")
                aria-describedby=move || feedback.field(name).map(|_| err_id2.clone()) />
            {move || feedback.field(name).map(|m| view! { <p class="field-error" id=err_id.clone() role="alert">{m}</p> })}
        </div>
    }
}

/// A date and time typed in the person's own time zone (`datetime-local`, named `name`), sent
/// with the same moment in UTC (`{name}_utc`, RFC 3339) once the page is live: the browser knows
/// its zone's offset on that date, summer time included. Before the wasm loads, the hidden field
/// stays empty and the server reads the typed time as UTC, as the hint then says.
#[component]
pub fn LocalDateTimeField(label: &'static str, name: &'static str, #[prop(optional, into)] value: String, feedback: Feedback) -> impl IntoView {
    let id = format!("field-{name}");
    let hint_id = format!("{id}-hint");
    let err_id = format!("{id}-error");
    let described = {
        let (hint_id, err_id) = (hint_id.clone(), err_id.clone());
        move || match feedback.field(name) {
            Some(_) => format!("{hint_id} {err_id}"),
            None => hint_id.clone(),
        }
    };
    let typed = RwSignal::new(value.clone());
    // The browser's zone, once live (`Some("")` when it names none).
    let zone = RwSignal::new(None::<String>);
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            // Whatever was typed before the wasm loaded.
            if let Some(el) = input.get_untracked() {
                typed.set(el.value());
            }
            zone.set(Some(browser_zone()));
        }
    });
    let hint = move || match zone.get() {
        None => "In UTC.".to_owned(),
        Some(z) if z.is_empty() => "In your own time zone.".to_owned(),
        Some(z) => format!("In your own time zone ({z})."),
    };
    let in_utc = move || {
        #[cfg(feature = "hydrate")]
        return zone.get().and_then(|_| utc_of_local(&typed.get())).unwrap_or_default();
        #[cfg(not(feature = "hydrate"))]
        String::new()
    };
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <span class="muted small" id=hint_id data-testid=format!("{name}-zone")>{hint}</span>
            <input id=id name=name type="datetime-local" value=value node_ref=input
                on:input=move |ev| typed.set(event_target_value(&ev))
                aria-invalid=move || feedback.field(name).map(|_| "true")
                aria-describedby=described />
            <input type="hidden" name=format!("{name}_utc") prop:value=in_utc />
            {move || feedback.field(name).map(|m| view! { <p class="field-error" id=err_id.clone() role="alert">{m}</p> })}
        </div>
    }
}

/// The browser's time zone ("Europe/Paris"), or "" when it names none.
#[cfg(feature = "hydrate")]
fn browser_zone() -> String {
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
    js_sys::Reflect::get(&format.resolved_options(), &"timeZone".into()).ok().and_then(|z| z.as_string()).unwrap_or_default()
}

/// A `datetime-local` value ("2026-12-24T12:00"), read in the browser's zone, as RFC 3339 UTC
/// ("2026-12-24T11:00:00Z"); `None` when it is not a date and time.
#[cfg(feature = "hydrate")]
fn utc_of_local(text: &str) -> Option<String> {
    let text = text.trim();
    // A date alone would be read as UTC midnight; only a date with a time is local.
    if !text.contains('T') {
        return None;
    }
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(text));
    if date.get_time().is_nan() {
        return None;
    }
    let iso: String = date.to_iso_string().into();
    Some(format!("{}Z", iso.get(..19)?))
}

/// The form-wide message (and notices) above a form.
#[component]
pub fn FormMessage(feedback: Feedback) -> impl IntoView {
    move || feedback.message().map(|m| view! { <p class="form-error" role="alert">{m}</p> })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_this_shop_are_kept() {
        for kept in ["/", "/orders", "/p/3?sku=A-1#reviews", "/search?q=caf%C3%A9", "/a%2Fb"] {
            assert_eq!(same_site_path(kept), kept, "{kept:?}");
        }
        for refused in [
            "", "orders", "//evil.example", "/\\evil.example", "\\\\evil.example", "/\t/evil.example", "/%09/evil.example",
            "/%0D%0AX-Injected:%201", "/\r\nX-Injected: 1", "https://evil.example/", "javascript:alert(1)", " /orders",
            "/a b", "/%2F/evil.example", "/%5Cevil.example", "/\u{0}", "/%00", "/\u{85}", "/%C2%85",
        ] {
            assert_eq!(same_site_path(refused), "/", "{refused:?}");
        }
        assert_eq!(same_site_path(&format!("/{}", "a".repeat(2_100))), "/", "too long");
    }
}
