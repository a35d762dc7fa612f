//! The sale page's live link (in the browser only): a websocket to `GET /ws?sale=ID` that
//! hands each pushed change to the page, reconnecting with backoff (1 s, doubling up to 30 s)
//! when it drops. After every (re)connection the page is told `resync`, so it reloads the
//! sale's figures and misses nothing that happened while it was away. Leaving the page (or
//! following another sale from it) closes the socket at once and cancels a pending reconnect:
//! a tab holds one socket however often the shopper navigates, and no event is handled twice.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::time::Duration;

use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// One followed sale: its socket (none while waiting to reconnect) and the pending reconnect.
struct Link {
    sale_id: i64,
    on_event: Box<dyn Fn(serde_json::Value)>,
    backoff: Cell<u64>,
    socket: RefCell<Option<web_sys::WebSocket>>,
    reconnect: Cell<Option<TimeoutHandle>>,
    stopped: Cell<bool>,
}

/// Follows `sale_id` until the reactive owner it is called in goes away (the page is left, or
/// the effect runs again for another sale); `on_event` gets each message as JSON.
pub fn follow(sale_id: i64, on_event: impl Fn(serde_json::Value) + 'static) {
    let link = Rc::new(Link {
        sale_id,
        on_event: Box::new(on_event),
        backoff: Cell::new(1),
        socket: RefCell::new(None),
        reconnect: Cell::new(None),
        stopped: Cell::new(false),
    });
    connect(&link);
    // The owner's cleanup must be Send; a browser has one thread, where the link stays.
    let held = SendWrapper::new(link);
    on_cleanup(move || held.stop());
}

fn url(sale_id: i64) -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" { "wss" } else { "ws" };
    Some(format!("{scheme}://{}/ws?sale={sale_id}", location.host().ok()?))
}

impl Link {
    fn stop(&self) {
        self.stopped.set(true);
        if let Some(pending) = self.reconnect.take() {
            pending.clear();
        }
        if let Some(socket) = self.socket.borrow_mut().take() {
            socket.set_onopen(None);
            socket.set_onmessage(None);
            socket.set_onclose(None);
            let _ = socket.close();
        }
    }
}

/// Opens the link's socket. The handlers hold the link weakly: once the page lets it go, a
/// late event finds nothing to call.
fn connect(link: &Rc<Link>) {
    if link.stopped.get() {
        return;
    }
    let Some(socket) = url(link.sale_id).and_then(|u| web_sys::WebSocket::new(&u).ok()) else { return };
    let weak = Rc::downgrade(link);
    let opened = {
        let weak = weak.clone();
        Closure::<dyn FnMut()>::new(move || {
            if let Some(link) = weak.upgrade() {
                link.backoff.set(1);
                (link.on_event)(serde_json::json!({ "type": "resync" }));
            }
        })
    };
    let message = {
        let weak = weak.clone();
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            let Some(link) = weak.upgrade() else { return };
            if let Some(value) = e.data().as_string().and_then(|text| serde_json::from_str(&text).ok()) {
                (link.on_event)(value);
            }
        })
    };
    let closed = Closure::<dyn FnMut()>::new(move || reconnect_later(&weak));
    socket.set_onopen(Some(opened.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(closed.as_ref().unchecked_ref()));
    // The handlers live as long as the tab (a few bytes each, holding the link weakly).
    opened.forget();
    message.forget();
    closed.forget();
    *link.socket.borrow_mut() = Some(socket);
}

fn reconnect_later(weak: &Weak<Link>) {
    let Some(link) = weak.upgrade() else { return };
    link.socket.borrow_mut().take();
    if link.stopped.get() {
        return;
    }
    let wait = link.backoff.get();
    link.backoff.set((wait * 2).min(30));
    let weak = weak.clone();
    let pending = set_timeout_with_handle(
        move || {
            if let Some(link) = weak.upgrade() {
                link.reconnect.set(None);
                connect(&link);
            }
        },
        Duration::from_secs(wait),
    );
    link.reconnect.set(pending.ok());
}
