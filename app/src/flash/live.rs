//! The sale page's live link (in the browser only): a websocket to `GET /ws?sale=ID` that
//! hands each pushed change to the page, reconnecting with backoff (1 s, doubling up to 30 s)
//! when it drops. After every (re)connection the page is told `resync`, so it reloads the
//! sale's figures and misses nothing that happened while it was away.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// Follows `sale_id` until the page goes away; `on_event` gets each message as JSON.
pub fn follow(sale_id: i64, on_event: impl Fn(serde_json::Value) + 'static) {
    let on_event: Rc<dyn Fn(serde_json::Value)> = Rc::new(on_event);
    let alive = Arc::new(AtomicBool::new(true));
    connect(sale_id, on_event, Rc::new(Cell::new(1)), alive.clone());
    // Leaving the page: the socket closes at its next message and does not come back.
    on_cleanup(move || alive.store(false, Ordering::Relaxed));
}

fn url(sale_id: i64) -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" { "wss" } else { "ws" };
    Some(format!("{scheme}://{}/ws?sale={sale_id}", location.host().ok()?))
}

fn connect(sale_id: i64, on_event: Rc<dyn Fn(serde_json::Value)>, backoff: Rc<Cell<u64>>, alive: Arc<AtomicBool>) {
    let Some(socket) = url(sale_id).and_then(|u| web_sys::WebSocket::new(&u).ok()) else { return };
    let opened = {
        let (on_event, backoff) = (on_event.clone(), backoff.clone());
        Closure::<dyn FnMut()>::new(move || {
            backoff.set(1);
            on_event(serde_json::json!({ "type": "resync" }));
        })
    };
    let message = {
        let (on_event, alive, socket) = (on_event.clone(), alive.clone(), socket.clone());
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            if !alive.load(Ordering::Relaxed) {
                let _ = socket.close();
                return;
            }
            if let Some(text) = e.data().as_string() {
                if let Ok(value) = serde_json::from_str(&text) {
                    on_event(value);
                }
            }
        })
    };
    let closed = {
        let alive = alive.clone();
        Closure::<dyn FnMut()>::new(move || {
            if !alive.load(Ordering::Relaxed) {
                return;
            }
            let wait = backoff.get();
            backoff.set((wait * 2).min(30));
            let (on_event, backoff, alive) = (on_event.clone(), backoff.clone(), alive.clone());
            set_timeout(move || connect(sale_id, on_event, backoff, alive), Duration::from_secs(wait));
        })
    };
    socket.set_onopen(Some(opened.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(closed.as_ref().unchecked_ref()));
    // The handlers live as long as the socket; a page keeps one socket at a time.
    opened.forget();
    message.forget();
    closed.forget();
}
