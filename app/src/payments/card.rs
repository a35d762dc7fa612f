//! Card entry with Stripe.js (`STRIPE_JS_URL`, `STRIPE_PUBLISHABLE_KEY`): the card is typed into
//! Stripe's element and goes from the browser to Stripe; our forms carry only the payment
//! method id Stripe.js gives back. 3-D Secure runs in the browser too (`confirmCardPayment`).
//! Tests use localstripe's Stripe.js, which has no `createPaymentMethod`: there the id is the
//! card of a `createToken` token, which PaymentIntents accept as a payment method as well.

use leptos::prelude::*;

use super::CardEntry;

/// How this shop takes cards on its pages: the demo's test cards, Stripe.js, or not at all.
#[cfg(feature = "ssr")]
pub fn payment_entry(state: &crate::state::AppState) -> super::PaymentEntry {
    use super::PaymentEntry;
    if state.stores.payments.provider() == "demo" {
        return PaymentEntry::TestCards(super::DEMO_CARDS.iter().map(|(id, l)| (id.to_string(), l.to_string())).collect());
    }
    match &state.card_entry {
        Some(entry) => PaymentEntry::Card(entry.clone()),
        None => PaymentEntry::NotSetUp,
    }
}

/// What went wrong with the card in the browser, in the words the page shows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("Card payments need JavaScript.")]
    NeedsJs,
    #[error("The card form could not be loaded. Check your connection and reload the page.")]
    NotLoaded,
    #[error("The card form has not loaded yet. Wait a moment and try again.")]
    NotReady,
    #[error("The card could not be read. Check the number, expiry date and security code.")]
    Unreadable,
    #[error("The form could not be read. Please reload the page.")]
    FormUnreadable,
    /// Stripe.js's own words: a declined card, a failed bank check.
    #[error("{0}")]
    Stripe(String),
}

/// The demo gateway's test cards, clearly labelled: no card data is entered anywhere.
#[component]
pub fn TestCardPicker(cards: Vec<(String, String)>) -> impl IntoView {
    view! {
        <fieldset class="choice test-cards" data-testid="test-cards">
            <legend>"Payment (demo shop: test cards only)"</legend>
            <p class="muted small">"This shop runs without a payment provider. Pick one of Stripe's test cards; nothing is charged."</p>
            {cards.into_iter().enumerate().map(|(i, (id, label))| view! {
                <label><input type="radio" name="payment_method_id" value=id checked=i == 0 />" " {label}</label>
            }).collect_view()}
        </fieldset>
    }
}

/// Stripe's card element, mounted once Stripe.js has loaded, with the card's error in place.
#[component]
pub fn CardField(entry: CardEntry, error: RwSignal<Option<String>>) -> impl IntoView {
    let (ready, set_ready) = signal(false);
    Effect::new(move |_| {
        let entry = entry.clone();
        leptos::task::spawn_local(async move {
            match mount(&entry, "#card-element").await {
                Ok(()) => set_ready.set(true),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    });
    view! {
        <fieldset class="stack card-entry" data-testid="card-entry">
            <legend>"Card"</legend>
            <div id="card-element" class="card-element" aria-describedby="card-note"></div>
            {move || (!ready.get() && error.get().is_none()).then(|| view! { <p class="muted small" role="status">"Loading the card form…"</p> })}
            {move || error.get().map(|m| view! { <p class="field-error" role="alert" data-testid="card-error">{m}</p> })}
            <noscript><p class="form-error">"Card payments need JavaScript: the card goes straight to our payment provider from your browser."</p></noscript>
            <p id="card-note" class="muted small">"Your card goes straight to our payment provider, Stripe; this shop never sees its number."</p>
        </fieldset>
    }
}

/// Reads `form`, asks Stripe.js for the payment method of the card in the element, and gives
/// back the form's fields with `payment_method_id` set, as the form's server function takes them.
#[cfg(feature = "hydrate")]
pub async fn form_with_card<T: serde::de::DeserializeOwned>(form: leptos::web_sys::HtmlFormElement) -> Result<T, CardError> {
    use leptos::form::FromFormData;
    let pm = js::payment_method_id().await?;
    let data = web_sys::FormData::new_with_form(&form).map_err(|_| CardError::FormUnreadable)?;
    data.set_with_str("payment_method_id", &pm).map_err(|_| CardError::FormUnreadable)?;
    T::from_form_data(&data).map_err(|e| {
        leptos::logging::warn!("the checkout form could not be read: {e}");
        CardError::FormUnreadable
    })
}

#[cfg(not(feature = "hydrate"))]
pub async fn form_with_card<T>(_form: leptos::web_sys::HtmlFormElement) -> Result<T, CardError> {
    Err(CardError::NeedsJs)
}

/// Runs the bank's check (3-D Secure) for an intent; the server asks Stripe for the outcome.
#[cfg(feature = "hydrate")]
pub async fn authenticate(client_secret: &str) -> Result<(), CardError> {
    js::authenticate(client_secret).await
}

#[cfg(not(feature = "hydrate"))]
pub async fn authenticate(_client_secret: &str) -> Result<(), CardError> {
    Err(CardError::NeedsJs)
}

/// Saves the card in the element for later (a flash sale's express buy): Stripe.js confirms
/// the SetupIntent `client_secret` with it (and runs the bank's check if it asks) and gives
/// back the payment method id, which the form then sends.
#[cfg(feature = "hydrate")]
pub async fn save_for_later(client_secret: &str) -> Result<String, CardError> {
    js::save_for_later(client_secret).await
}

#[cfg(not(feature = "hydrate"))]
pub async fn save_for_later(_client_secret: &str) -> Result<String, CardError> {
    Err(CardError::NeedsJs)
}

#[cfg(feature = "hydrate")]
async fn mount(entry: &CardEntry, selector: &str) -> Result<(), CardError> {
    js::mount(entry, selector).await
}

#[cfg(not(feature = "hydrate"))]
async fn mount(_entry: &CardEntry, _selector: &str) -> Result<(), CardError> {
    Err(CardError::NeedsJs)
}

#[cfg(feature = "hydrate")]
mod js {
    use std::cell::RefCell;

    use js_sys::{Array, Function, Object, Promise, Reflect};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    use super::{CardEntry, CardError};

    thread_local! {
        /// The page's Stripe object and its card element (one card form per page).
        static CARD: RefCell<Option<(JsValue, JsValue)>> = const { RefCell::new(None) };
    }

    fn get(obj: &JsValue, key: &str) -> JsValue {
        Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    }

    /// Stripe.js's words for a failure, or `Unreadable` when it gave none.
    fn said(e: &JsValue) -> CardError {
        message_of(e).map(CardError::Stripe).unwrap_or(CardError::Unreadable)
    }

    fn call(obj: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, CardError> {
        let f: Function = get(obj, method).dyn_into().map_err(|_| {
            leptos::logging::warn!("Stripe.js has no {method}");
            CardError::NotLoaded
        })?;
        f.apply(obj, &args.iter().collect::<Array>()).map_err(|e| said(&e))
    }

    async fn settle(v: JsValue) -> Result<JsValue, CardError> {
        match v.dyn_into::<Promise>() {
            Ok(p) => JsFuture::from(p).await.map_err(|e| said(&e)),
            Err(v) => Ok(v),
        }
    }

    /// `{error: {message}}` as Stripe.js answers, or a thrown Error.
    fn message_of(v: &JsValue) -> Option<String> {
        let err = get(v, "error");
        let err = if err.is_object() { err } else { v.clone() };
        get(&err, "message").as_string().filter(|m| !m.is_empty())
    }

    /// Adds Stripe.js to the page (once) and waits until it has run.
    async fn load(url: &str) -> Result<(), CardError> {
        let failed = || CardError::NotLoaded;
        let window = web_sys::window().ok_or_else(failed)?;
        if get(&window, "Stripe").is_function() {
            return Ok(());
        }
        let document = window.document().ok_or_else(failed)?;
        let script = document.create_element("script").map_err(|_| failed())?;
        script.set_attribute("src", url).map_err(|_| failed())?;
        let loaded = Promise::new(&mut |resolve, reject| {
            let _ = script.add_event_listener_with_callback("load", &resolve);
            let _ = script.add_event_listener_with_callback("error", &reject);
        });
        // At the end of the body: localstripe's Stripe.js finds its own address as the last script.
        document.body().ok_or_else(failed)?.append_child(&script).map_err(|_| failed())?;
        JsFuture::from(loaded).await.map_err(|_| failed())?;
        Ok(())
    }

    pub async fn mount(entry: &CardEntry, selector: &str) -> Result<(), CardError> {
        load(&entry.js_url).await?;
        let window: JsValue = web_sys::window().ok_or(CardError::NotLoaded)?.into();
        let stripe = call(&window, "Stripe", &[JsValue::from_str(&entry.publishable_key)])?;
        let elements = call(&stripe, "elements", &[])?;
        let card = call(&elements, "create", &[JsValue::from_str("card")])?;
        call(&card, "mount", &[JsValue::from_str(selector)])?;
        CARD.with(|c| *c.borrow_mut() = Some((stripe, card)));
        Ok(())
    }

    pub async fn payment_method_id() -> Result<String, CardError> {
        let (stripe, card) = CARD.with(|c| c.borrow().clone()).ok_or(CardError::NotReady)?;
        let data = Object::new();
        Reflect::set(&data, &"type".into(), &"card".into()).map_err(|_| CardError::Unreadable)?;
        Reflect::set(&data, &"card".into(), &card).map_err(|_| CardError::Unreadable)?;
        let answer = settle(call(&stripe, "createPaymentMethod", &[data.into()])?).await?;
        if let Some(m) = message_of(&answer) {
            return Err(CardError::Stripe(m));
        }
        if let Some(id) = get(&get(&answer, "paymentMethod"), "id").as_string() {
            return Ok(id);
        }
        // localstripe's Stripe.js: a token, whose card is the payment method.
        let answer = settle(call(&stripe, "createToken", &[card])?).await?;
        if message_of(&answer).is_some() || !get(&answer, "token").is_object() {
            return Err(CardError::Unreadable);
        }
        get(&get(&get(&answer, "token"), "card"), "id").as_string().ok_or(CardError::Unreadable)
    }

    pub async fn save_for_later(client_secret: &str) -> Result<String, CardError> {
        let (stripe, card) = CARD.with(|c| c.borrow().clone()).ok_or(CardError::NotReady)?;
        let method = Object::new();
        Reflect::set(&method, &"card".into(), &card).map_err(|_| CardError::Unreadable)?;
        let data = Object::new();
        Reflect::set(&data, &"payment_method".into(), &method).map_err(|_| CardError::Unreadable)?;
        let answer = settle(call(&stripe, "confirmCardSetup", &[JsValue::from_str(client_secret), data.into()])?).await?;
        if let Some(m) = message_of(&answer) {
            return Err(CardError::Stripe(m));
        }
        let pm = get(&get(&answer, "setupIntent"), "payment_method");
        // A string id, or the expanded object.
        pm.as_string().or_else(|| get(&pm, "id").as_string()).ok_or(CardError::Unreadable)
    }

    pub async fn authenticate(client_secret: &str) -> Result<(), CardError> {
        let stripe = CARD.with(|c| c.borrow().as_ref().map(|(s, _)| s.clone())).ok_or(CardError::NotReady)?;
        let answer = settle(call(&stripe, "confirmCardPayment", &[JsValue::from_str(client_secret)])?).await?;
        match message_of(&answer) {
            Some(m) => Err(CardError::Stripe(m)),
            None => Ok(()),
        }
    }
}
