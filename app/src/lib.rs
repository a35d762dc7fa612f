//! Sellout's Leptos application: shared types, pages and server functions. Built twice: with
//! `ssr` into the server binary and with `hydrate` into the wasm storefront.

#![recursion_limit = "256"]

pub mod accounts;
pub mod assets;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod error;
pub mod events;
pub mod flash;
pub mod ids;
pub mod frame;
pub mod money;
pub mod orders;
pub mod payments;
pub mod ratelimit;
pub mod recommend;
pub mod reviews;
pub mod search;
pub mod seller;
pub mod states;
pub mod store;
pub mod text;
pub mod ui;
pub mod wishlist;

#[cfg(feature = "ssr")]
pub mod breaker;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod secrets;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod workers;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::accounts::pages::{AccountPage, RegisterPage, SignInPage, VerifyEmailPage};
use crate::cart::pages::CartPage;
use crate::catalog::pages::{CategoryPage, HomePage, ProductPage};
use crate::checkout::pages::CheckoutPage;
use crate::frame::{Footer, Header};
use crate::orders::admin::{PackingSlip, SellerOrderPage, SellerOrders};
use crate::orders::pages::{OrderPage, OrdersPage};
use crate::payments::pages::PaymentsCheck;
use crate::search::pages::SearchPage;
use crate::seller::pages::{EditProduct, NewProduct, SellerDashboard, SellerLayout, SellerProducts};
use crate::ui::NotFound;
use crate::wishlist::pages::WishlistPage;

/// The actions that change who is signed in or what is in the cart, shared so the header and
/// the pages refresh after any of them without a reload.
#[derive(Clone, Copy)]
pub struct ShopActions {
    pub login: ServerAction<crate::accounts::Login>,
    pub register: ServerAction<crate::accounts::Register>,
    pub logout: ServerAction<crate::accounts::Logout>,
    pub add: ServerAction<crate::cart::AddToCart>,
    pub update: ServerAction<crate::cart::UpdateCartLine>,
    pub remove: ServerAction<crate::cart::RemoveCartLine>,
    /// Placing an order empties the cart.
    pub place: ServerAction<crate::checkout::PlaceOrder>,
    pub pay: ServerAction<crate::checkout::PayOrder>,
    /// Finishing 3-D Secure pays the order and empties the cart.
    pub confirm: ServerAction<crate::checkout::ConfirmPayment>,
}

impl ShopActions {
    pub fn new() -> Self {
        Self {
            login: ServerAction::new(),
            register: ServerAction::new(),
            logout: ServerAction::new(),
            add: ServerAction::new(),
            update: ServerAction::new(),
            remove: ServerAction::new(),
            place: ServerAction::new(),
            pay: ServerAction::new(),
            confirm: ServerAction::new(),
        }
    }

    /// Changes whenever who is signed in may have changed.
    pub fn auth_version(&self) -> usize {
        self.login.version().get() + self.register.version().get() + self.logout.version().get()
    }

    /// Changes whenever the cart may have changed.
    pub fn cart_version(&self) -> usize {
        self.auth_version()
            + self.add.version().get()
            + self.update.version().get()
            + self.remove.version().get()
            + self.place.version().get()
            + self.pay.version().get()
            + self.confirm.version().get()
    }
}

impl Default for ShopActions {
    fn default() -> Self {
        Self::new()
    }
}

/// The HTML document around the app (server only renders it).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.ico" />
                <assets::SiteAssets options />
                <MetaTags />
                <frame::ViewerScript />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(ShopActions::new());
    frame::provide_viewer();
    // Effects run only in the browser, after hydration: mark <body> so tests (and CSS) can tell.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        // The one title formatter: every page's title goes through it (escaped on the server).
        <Title formatter=text::page_title />
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <Header />
            <main id="main" class="container">
                // Async: the whole page is rendered before headers go out, so an unknown
                // product gets a real 404 and every page is complete without JavaScript.
                <Routes fallback=|| view! { <NotFound /> }>
                    <Route path=path!("") view=HomePage ssr=SsrMode::Async />
                    <Route path=path!("/c/:slug") view=CategoryPage ssr=SsrMode::Async />
                    <Route path=path!("/p/:id") view=ProductPage ssr=SsrMode::Async />
                    <Route path=path!("/search") view=SearchPage ssr=SsrMode::Async />
                    <Route path=path!("/cart") view=CartPage ssr=SsrMode::Async />
                    <Route path=path!("/signin") view=SignInPage ssr=SsrMode::Async />
                    <Route path=path!("/register") view=RegisterPage ssr=SsrMode::Async />
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async />
                    <Route path=path!("/account/verify") view=VerifyEmailPage ssr=SsrMode::Async />
                    <Route path=path!("/wishlist") view=WishlistPage ssr=SsrMode::Async />
                    <Route path=path!("/checkout") view=CheckoutPage ssr=SsrMode::Async />
                    <Route path=path!("/orders") view=OrdersPage ssr=SsrMode::Async />
                    <Route path=path!("/orders/:id") view=OrderPage ssr=SsrMode::Async />
                    <Route path=path!("/sales") view=crate::flash::pages::SalesPage ssr=SsrMode::Async />
                    <Route path=path!("/sales/:id") view=crate::flash::pages::SalePage ssr=SsrMode::Async />
                    // Only the viewer's own parts of a kept page (server/src/page_cache.rs).
                    <Route path=path!("/_personal") view=|| () ssr=SsrMode::Async />
                    <Route path=path!("/_personal/p/:id") view=crate::reviews::pages::MyProductPart ssr=SsrMode::Async />
                    <ParentRoute path=path!("/seller") view=SellerLayout ssr=SsrMode::Async>
                        <Route path=path!("") view=SellerDashboard />
                        <Route path=path!("products") view=SellerProducts />
                        <Route path=path!("products/new") view=NewProduct />
                        <Route path=path!("products/:id") view=EditProduct />
                        <Route path=path!("orders") view=SellerOrders />
                        <Route path=path!("orders/:id") view=SellerOrderPage />
                        <Route path=path!("orders/:id/slip") view=PackingSlip />
                        <Route path=path!("payments") view=PaymentsCheck />
                        <Route path=path!("sales") view=crate::flash::admin::SellerSales />
                        <Route path=path!("sales/new") view=crate::flash::admin::NewSale />
                        <Route path=path!("sales/:id") view=crate::flash::admin::SellerSaleDashboard />
                    </ParentRoute>
                </Routes>
            </main>
            <Footer />
        </Router>
    }
}
