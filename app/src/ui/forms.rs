//! Forms that work with and without JavaScript. With JavaScript, an `ActionForm`'s result holds
//! the error; without, the server sends the browser back to the form with the error and the
//! non-secret fields in the query string. `Feedback` reads whichever is there.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

use crate::error::AppError;

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

/// True for a browser's plain form post (no JavaScript): it asks for HTML, not JSON.
#[cfg(feature = "ssr")]
pub async fn is_plain_form_post() -> bool {
    leptos_axum::extract::<axum::http::HeaderMap>()
        .await
        .ok()
        .and_then(|h| h.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).map(|v| v.contains("text/html")))
        .unwrap_or(false)
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
    let sep = if path.contains('?') { '&' } else { '?' };
    leptos_axum::redirect(&format!("{path}{sep}{}", q.join("&")));
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

/// The form-wide message (and notices) above a form.
#[component]
pub fn FormMessage(feedback: Feedback) -> impl IntoView {
    move || feedback.message().map(|m| view! { <p class="form-error" role="alert">{m}</p> })
}
