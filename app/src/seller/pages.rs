//! The seller admin at `/seller`: dashboard, product list, product editor. Client-side
//! navigation after the first page; the editor keeps what was typed in signals and shows
//! every problem next to its field, whether found in the browser (a price that is not a
//! number) or by the server (a SKU another product uses).

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::components::{A, Form, Outlet};
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use super::*;
use crate::accounts::Role;
use crate::ui::{ErrorPanel, Loading};

/// Frame of every `/seller` page: who may be here, and the admin's own navigation.
#[component]
pub fn SellerLayout() -> impl IntoView {
    let user = Resource::new(|| (), |_| crate::accounts::get_current_user());
    view! {
        <Title text="Seller admin" />
        <Meta name="description" content="Manage your catalog, stock, orders and flash sales." />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(u)) if matches!(u.role, Role::Seller | Role::Admin) => view! {
                        <div class="admin">
                            <nav class="admin-nav" aria-label="Seller admin">
                                <p class="admin-shop">{u.seller.map(|s| s.name).unwrap_or_else(|| "All sellers (admin)".to_owned())}</p>
                                <A href="/seller" exact=true>"Dashboard"</A>
                                <A href="/seller/products" exact=true>"Products"</A>
                                <A href="/seller/products/new">"New product"</A>
                                <A href="/seller/orders">"Orders"</A>
                                <A href="/seller/sales">"Sales"</A>
                                {(u.role == Role::Admin).then(|| view! { <A href="/seller/payments">"Payments check"</A> })}
                                <a href="/account#tokens">"API tokens"</a>
                            </nav>
                            <div class="admin-main"><Outlet /></div>
                        </div>
                    }.into_any(),
                    Ok(Some(_)) => {
                        view! { <ErrorPanel error=AppError::Forbidden("The seller admin is for sellers. Register a shop to sell on Sellout.".to_owned()) /> }.into_any()
                    }
                    Ok(None) => {
                        crate::ui::set_status(401);
                        view! {
                            <section class="empty-state">
                                <h1>"Seller admin"</h1>
                                <p>"Please sign in with your seller account."</p>
                                <a class="button" href="/signin?next=/seller">"Sign in"</a>
                            </section>
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn SellerDashboard() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_seller_dashboard());
    view! {
        <h1>"Dashboard"</h1>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                    Ok(d) => view! {
                        <ul class="stat-tiles">
                            <li class="tile"><a href="/seller/products?status=active"><strong data-testid="count-active">{d.active}</strong>" published"</a></li>
                            <li class="tile"><a href="/seller/products?status=draft"><strong>{d.drafts}</strong>" drafts"</a></li>
                            <li class="tile"><a href="/seller/products?status=archived"><strong>{d.archived}</strong>" archived"</a></li>
                        </ul>
                        <h2>"Low stock"</h2>
                        {if d.low_stock.is_empty() {
                            view! { <p class="muted">"Every published variant has more than a few units."</p> }.into_any()
                        } else {
                            view! {
                                <table class="admin-table">
                                    <thead><tr><th scope="col">"Product"</th><th scope="col">"SKU"</th><th scope="col">"Available"</th></tr></thead>
                                    <tbody>
                                        {d.low_stock.into_iter().map(|r| view! {
                                            <tr>
                                                <td><a href=format!("/seller/products/{}", r.product_id)>{r.title}</a></td>
                                                <td><code>{r.sku}</code></td>
                                                <td class=if r.available <= 0 { "bad" } else { "warn" }>{r.available}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any()
                        }}
                        <h2>"Orders"</h2>
                        <p><a href="/seller/orders">"Orders to ship, deliver or refund"</a></p>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn SellerProducts() -> impl IntoView {
    let query = use_query_map();
    let filters = move || {
        let q = query.read();
        SellerListQuery {
            q: q.get("q").filter(|s| !s.trim().is_empty()),
            status: q.get("status").and_then(|s| ProductStatus::parse(&s).ok()),
            page: q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
        }
    };
    let list = Resource::new(filters, |f| list_seller_products(f));
    view! {
        <div class="list-head">
            <h1>"Products"</h1>
            <a class="button" href="/seller/products/new">"New product"</a>
        </div>
        <Form method="GET" action="/seller/products" attr:class="admin-filter" attr:role="search">
            <label for="seller-q" class="visually-hidden">"Search your products"</label>
            <input id="seller-q" type="search" name="q" placeholder="Title, brand or SKU" value=move || filters().q.unwrap_or_default() />
            <label for="seller-status" class="visually-hidden">"Status"</label>
            <select id="seller-status" name="status">
                <option value="" selected=move || filters().status.is_none()>"Any status"</option>
                {ProductStatus::ALL.iter().copied().map(|s| view! {
                    <option value=s.as_str() selected=move || filters().status == Some(s)>{s.label()}</option>
                }).collect_view()}
            </select>
            <button type="submit">"Filter"</button>
        </Form>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                    Ok(l) if l.products.is_empty() => view! {
                        <div class="empty-state">
                            <p>"No products match."</p>
                            <a href="/seller/products/new">"Add your first product"</a>
                        </div>
                    }.into_any(),
                    Ok(l) => {
                        let f = filters();
                        let mut base = String::from("/seller/products?");
                        if let Some(q) = &f.q { base.push_str(&format!("q={}&", crate::ui::forms::url_encode(q))); }
                        if let Some(s) = f.status { base.push_str(&format!("status={}&", s.as_str())); }
                        view! {
                            <p class="muted" data-testid="seller-count">{format!("{} product{}", l.total, if l.total == 1 { "" } else { "s" })}</p>
                            <table class="admin-table">
                                <thead><tr>
                                    <th scope="col"><span class="visually-hidden">"Picture"</span></th>
                                    <th scope="col">"Product"</th><th scope="col">"Status"</th><th scope="col">"Price"</th>
                                    <th scope="col">"Variants"</th><th scope="col">"Available"</th>
                                </tr></thead>
                                <tbody>
                                    {l.products.into_iter().map(|r| view! {
                                        <tr data-testid="seller-row">
                                            <td><img src=r.image_url alt="" width="40" height="40" loading="lazy" /></td>
                                            <td>
                                                <a href=format!("/seller/products/{}", r.product_id)>{r.title}</a>
                                                <span class="muted small">" " {r.brand} " · " {r.seller.name}</span>
                                            </td>
                                            <td><span class=format!("status status-{}", r.status.as_str())>{r.status.label()}</span></td>
                                            <td>{r.price.map(|p| p.display()).unwrap_or_else(|| "–".to_owned())}</td>
                                            <td>{r.variants}</td>
                                            <td>{r.available}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <crate::ui::Pagination page=l.page total_pages=l.total_pages base=base.trim_end_matches(['&', '?']).to_owned() />
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
pub fn NewProduct() -> impl IntoView {
    let options = Resource::new(|| (), |_| get_form_options());
    let query = use_query_map();
    let feedback = Resource::new(move || query.read().get("form"), |nonce| take_product_form_feedback(None, nonce));
    view! {
        <h1>"New product"</h1>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match (options.await, feedback.await) {
                    (Ok(options), Ok(feedback)) => view! { <ProductForm product=None options feedback /> }.into_any(),
                    (Err(e), _) | (_, Err(e)) => view! { <ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn EditProduct() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let set_status = ServerAction::<SetProductStatus>::new();
    let remove_image = ServerAction::<RemoveProductImage>::new();
    let (uploads, set_uploads) = signal(0u32);
    let product = Resource::new(
        move || (id(), set_status.version().get(), remove_image.version().get(), uploads.get()),
        |(id, ..)| get_seller_product(id),
    );
    let options = Resource::new(|| (), |_| get_form_options());
    let feedback = Resource::new(move || (id(), query.read().get("form")), |(id, nonce)| take_product_form_feedback(Some(id), nonce));
    let status_error = move || set_status.value().get().and_then(|r| r.err()).map(|e| e.to_string());
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let (p, options, feedback) = match (product.await, options.await, feedback.await) {
                    (Ok(p), Ok(o), Ok(f)) => (p, o, f),
                    (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                        return view! { <ErrorPanel error=e /> }.into_any();
                    }
                };
                let pid = p.product_id;
                let status = p.status;
                let notice = query.read_untracked().get("notice");
                view! {
                    <Title text=format!("Edit {}", p.title) />
                    <Meta name="description" content=format!("Edit {}: details, variants, prices, stock and pictures.", p.title) />
                    <div class="list-head">
                        <h1>{p.title.clone()}</h1>
                        <span class=format!("status status-{}", status.as_str()) data-testid="product-status">{status.label()}</span>
                    </div>
                    {notice.map(|n| view! { <p class="notice" role="status">{n}</p> })}
                    <div class="row status-actions">
                        {(status == ProductStatus::Active).then(|| view! {
                            <a href=crate::catalog::product_path(pid) target="_blank">"View in shop"</a>
                        })}
                        {[
                            (ProductStatus::Active, "Publish"),
                            (ProductStatus::Draft, if status == ProductStatus::Archived { "Restore as draft" } else { "Unpublish" }),
                            (ProductStatus::Archived, "Archive"),
                        ].into_iter().filter(|(s, _)| *s != status).map(|(s, label)| view! {
                            <button type="button" class=if s == ProductStatus::Archived { "secondary danger" } else { "secondary" }
                                disabled=move || set_status.pending().get()
                                on:click=move |_| { set_status.dispatch(SetProductStatus { id: pid, status: s }); }>
                                {label}
                            </button>
                        }).collect_view()}
                    </div>
                    {move || status_error().map(|m| view! { <p class="form-error" role="alert">{m}</p> })}
                    <Pictures product=p.clone() remove_image on_uploaded=move || set_uploads.update(|n| *n += 1) />
                    <ProductForm product=Some(p) options feedback />
                }.into_any()
            })}
        </Suspense>
    }
}

/// The product's pictures, removable, and an upload form: a plain multipart post without
/// JavaScript, a fetch with it (the page stays, the new picture appears).
#[component]
fn Pictures(product: SellerProduct, remove_image: ServerAction<RemoveProductImage>, on_uploaded: impl Fn() + Clone + Send + Sync + 'static) -> impl IntoView {
    let pid = product.product_id;
    let query = use_query_map();
    let (error, set_error) = signal(query.read_untracked().get("image_error"));
    let (busy, set_busy) = signal(false);
    let action = format!("/api/v1/seller/products/{pid}/images");
    let action2 = action.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let form = event_target::<leptos::web_sys::HtmlFormElement>(&ev);
        let url = action2.clone();
        let done = on_uploaded.clone();
        set_busy.set(true);
        set_error.set(None);
        leptos::task::spawn_local(async move {
            match upload_picture(&url, form).await {
                Ok(()) => done(),
                Err(e) => set_error.set(Some(e.to_string())),
            }
            set_busy.set(false);
        });
    };
    view! {
        <section class="panel" aria-labelledby="pictures-heading">
            <h2 id="pictures-heading">"Pictures"</h2>
            {if product.images.is_empty() {
                view! { <p class="muted">"No pictures yet: the shop shows a drawn placeholder."</p> }.into_any()
            } else {
                view! {
                    <ul class="pictures">
                        {product.images.into_iter().enumerate().map(|(i, img)| view! {
                            <li data-testid="picture">
                                <img src=img.url alt=format!("Picture {}", i + 1) width="96" height="96" />
                                <button type="button" class="link danger" disabled=move || remove_image.pending().get()
                                    on:click=move |_| { remove_image.dispatch(RemoveProductImage { id: pid, image_id: img.image_id }); }>
                                    "Remove" <span class="visually-hidden">{format!(" picture {}", i + 1)}</span>
                                </button>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <form method="post" action=action enctype="multipart/form-data" class="row upload-form" on:submit=on_submit>
                <label for="picture-file">"Add a picture"</label>
                <input id="picture-file" type="file" name="image" accept="image/jpeg,image/png,image/gif,image/webp" required=true
                    aria-describedby="picture-hint" aria-invalid=move || error.get().map(|_| "true") />
                <button type="submit" disabled=move || busy.get()>{move || if busy.get() { "Uploading…" } else { "Upload" }}</button>
            </form>
            <p id="picture-hint" class="muted small">"JPEG, PNG, GIF or WebP, up to 5 MB."</p>
            {move || error.get().map(|m| view! { <p class="field-error" role="alert" data-testid="picture-error">{m}</p> })}
        </section>
    }
}

/// Why a picture did not upload.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum UploadError {
    #[error("The picture could not be uploaded. Please try again.")]
    Failed,
    /// The shop's own words (not a picture, larger than 5 MB, ...).
    #[error("{0}")]
    Refused(String),
    #[cfg(not(feature = "hydrate"))]
    #[error("Uploading needs the browser.")]
    NeedsBrowser,
}

/// Posts the form's file with fetch; the error is the server's message.
#[cfg(feature = "hydrate")]
async fn upload_picture(url: &str, form: leptos::web_sys::HtmlFormElement) -> Result<(), UploadError> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let failed = || UploadError::Failed;
    let data = web_sys::FormData::new_with_form(&form).map_err(|_| failed())?;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&data);
    let window = web_sys::window().ok_or_else(failed)?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|_| failed())?
        .dyn_into()
        .map_err(|_| failed())?;
    if response.ok() {
        form.reset();
        return Ok(());
    }
    let text = match response.text() {
        Ok(p) => JsFuture::from(p).await.ok().and_then(|v| v.as_string()).unwrap_or_default(),
        Err(_) => String::new(),
    };
    Err(serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(|m| UploadError::Refused(m.to_owned())))
        .unwrap_or_else(failed))
}

#[cfg(not(feature = "hydrate"))]
async fn upload_picture(_url: &str, _form: leptos::web_sys::HtmlFormElement) -> Result<(), UploadError> {
    Err(UploadError::NeedsBrowser)
}

/// One variant row of the editor, every field as typed.
#[derive(Clone)]
struct VariantRow {
    key: u64,
    sku: RwSignal<String>,
    options: RwSignal<String>,
    price: RwSignal<String>,
    /// Warehouse code → units as typed.
    stock: Vec<(WarehouseRef, RwSignal<String>)>,
}

impl VariantRow {
    /// Row `i` of a refused plain form, as it was typed.
    fn kept(key: u64, i: usize, f: &ProductFormFeedback, warehouses: &[WarehouseRef]) -> Self {
        let field = |n: &str| f.kept(&format!("variants[{i}].{n}")).unwrap_or_default();
        VariantRow {
            key,
            sku: RwSignal::new(field("sku")),
            options: RwSignal::new(field("attributes")),
            price: RwSignal::new(field("price")),
            stock: warehouses.iter().map(|w| (w.clone(), RwSignal::new(field(&format!("stock.{}", w.code))))).collect(),
        }
    }

    fn new(key: u64, v: Option<&SellerVariant>, warehouses: &[WarehouseRef]) -> Self {
        let options = v
            .map(|v| v.attributes.iter().map(|(k, val)| format!("{k}: {val}")).collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        VariantRow {
            key,
            sku: RwSignal::new(v.map(|v| v.sku.clone()).unwrap_or_default()),
            options: RwSignal::new(options),
            price: RwSignal::new(v.map(|v| price_text(&v.price)).unwrap_or_default()),
            stock: warehouses
                .iter()
                .map(|w| {
                    let q = v.and_then(|v| v.warehouses.iter().find(|s| s.warehouse == w.code)).map(|s| s.quantity).unwrap_or(0);
                    (w.clone(), RwSignal::new(q.to_string()))
                })
                .collect(),
        }
    }
}

/// The product's own fields as typed: what a refused plain form sent comes back as typed;
/// otherwise the product as saved.
#[derive(Clone, Copy)]
struct ProductFields {
    title: RwSignal<String>,
    brand: RwSignal<String>,
    description: RwSignal<String>,
    category: RwSignal<String>,
    tags: RwSignal<String>,
    currency: RwSignal<String>,
}

impl ProductFields {
    fn new(p: Option<&SellerProduct>, feedback: Option<&ProductFormFeedback>) -> Self {
        let start = |name: &str, saved: Option<String>| RwSignal::new(feedback.and_then(|f| f.kept(name)).or(saved).unwrap_or_default());
        ProductFields {
            title: start("title", p.map(|p| p.title.clone())),
            brand: start("brand", p.map(|p| p.brand.clone())),
            description: start("description", p.map(|p| p.description.clone())),
            category: start("category", p.map(|p| p.category.slug.clone())),
            tags: start("tags", p.map(|p| p.tags.join(", "))),
            currency: start("currency", Some(p.and_then(|p| p.variants.first()).map(|v| v.price.currency.clone()).unwrap_or_else(|| "EUR".to_owned()))),
        }
    }

    /// The fields as the plain form would post them, to be read by the same function the
    /// server reads that form with.
    fn posted(&self, rows: &[VariantRow]) -> Vec<(String, String)> {
        let mut fields: Vec<(String, String)> = vec![
            ("title".into(), self.title.get_untracked()),
            ("brand".into(), self.brand.get_untracked()),
            ("category".into(), self.category.get_untracked()),
            ("tags".into(), self.tags.get_untracked()),
            ("description".into(), self.description.get_untracked()),
            ("currency".into(), self.currency.get_untracked()),
        ];
        for (i, row) in rows.iter().enumerate() {
            fields.push((format!("variants[{i}].sku"), row.sku.get_untracked()));
            fields.push((format!("variants[{i}].attributes"), row.options.get_untracked()));
            fields.push((format!("variants[{i}].price"), row.price.get_untracked()));
            for (w, q) in &row.stock {
                fields.push((format!("variants[{i}].stock.{}", w.code), q.get_untracked()));
            }
        }
        fields
    }
}

/// Where a refused save's errors and message go, and whether the last save went through.
#[derive(Clone, Copy)]
struct SaveState {
    errors: RwSignal<BTreeMap<String, String>>,
    message: RwSignal<Option<String>>,
    saved: RwSignal<bool>,
    /// For each variant sent, the row it came from (the server names variants, the page rows).
    sent_rows: StoredValue<Vec<usize>>,
}

impl SaveState {
    fn new(feedback: Option<&ProductFormFeedback>) -> Self {
        SaveState {
            errors: RwSignal::new(feedback.map(|f| f.errors.clone()).unwrap_or_default()),
            message: RwSignal::new(feedback.map(|f| f.message.clone()).filter(|m| !m.is_empty())),
            saved: RwSignal::new(false),
            sent_rows: StoredValue::new(Vec::new()),
        }
    }

    fn refused(&self, e: &AppError) {
        self.errors.set(to_form_rows(e.fields(), &self.sent_rows.get_value()));
        self.message.set(Some(e.to_string()));
        self.saved.set(false);
    }

    /// A new product goes to its own page; an edit says "Saved." in place.
    fn follow(self, create: ServerAction<CreateProduct>, update: ServerAction<UpdateProduct>) {
        let navigate = use_navigate();
        Effect::new(move |_| match create.value().get() {
            Some(Ok(p)) => navigate(&format!("/seller/products/{}?notice=Product+created", p.product_id), Default::default()),
            Some(Err(e)) => self.refused(&e),
            None => {}
        });
        Effect::new(move |_| match update.value().get() {
            Some(Ok(_)) => {
                self.errors.set(BTreeMap::new());
                self.message.set(None);
                self.saved.set(true);
            }
            Some(Err(e)) => self.refused(&e),
            None => {}
        });
    }
}

#[component]
fn ProductForm(product: Option<SellerProduct>, options: FormOptions, feedback: Option<ProductFormFeedback>) -> impl IntoView {
    let is_new = product.is_none();
    let pid = product.as_ref().map(|p| p.product_id);
    let p = product.as_ref();
    let fields = ProductFields::new(p, feedback.as_ref());
    let warehouses = options.warehouses.clone();
    let next_key = StoredValue::new(0u64);
    let fresh_key = move || {
        next_key.update_value(|k| *k += 1);
        next_key.get_value()
    };
    let mut initial: Vec<VariantRow> = match (&feedback, p) {
        (Some(f), _) => form_rows(&f.kept).into_iter().map(|i| VariantRow::kept(fresh_key(), i, f, &warehouses)).collect(),
        (None, Some(p)) => p.variants.iter().map(|v| VariantRow::new(fresh_key(), Some(v), &warehouses)).collect(),
        (None, None) => vec![VariantRow::new(fresh_key(), None, &warehouses)],
    };
    // One empty row more, so a plain form (before the wasm loads) can add a variant too.
    initial.push(VariantRow::new(fresh_key(), None, &warehouses));
    let rows = RwSignal::new(initial);
    let state = SaveState::new(feedback.as_ref());
    let SaveState { errors, message, saved, .. } = state;
    let create = ServerAction::<CreateProduct>::new();
    let update = ServerAction::<UpdateProduct>::new();
    let pending = move || create.pending().get() || update.pending().get();
    state.follow(create, update);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(false);
        let (input, from_rows) = match product_from_form(&fields.posted(&rows.get_untracked())) {
            Ok(read) => read,
            Err(found) => {
                errors.set(found);
                message.set(Some("Please correct the marked fields.".to_owned()));
                return;
            }
        };
        state.sent_rows.set_value(from_rows);
        match pid {
            None => {
                create.dispatch(CreateProduct { input });
            }
            Some(id) => {
                update.dispatch(UpdateProduct { id, input });
            }
        }
    };

    let err = move |name: &'static str| move || errors.with(|e| e.get(name).cloned()).map(|m| view! { <p class="field-error" role="alert">{m}</p> });
    let ProductFields { title, brand, description, category, tags, currency } = fields;
    // Flash sales not yet over hold some of the stock: said under the stock it came out of.
    let set_aside: Vec<(String, SetAside)> =
        p.map(|p| p.variants.iter().flat_map(|v| v.set_aside.iter().map(|s| (v.sku.clone(), s.clone()))).collect()).unwrap_or_default();
    let warehouses_for_head = options.warehouses.clone();
    let numbered_rows = move || rows.get().into_iter().enumerate().collect::<Vec<(usize, VariantRow)>>();
    let add_row = {
        let warehouses = options.warehouses.clone();
        move |_| rows.update(|r| r.push(VariantRow::new(fresh_key(), None, &warehouses)))
    };

    view! {
        <form class="stack product-form" method="post" action="/api/v1/seller/products/form" novalidate=true on:submit=submit
            aria-label=if is_new { "New product" } else { "Edit product" }>
            {pid.map(|id| view! { <input type="hidden" name="product_id" value=id /> })}
            {move || message.get().map(|m| view! { <p class="form-error" role="alert">{m}</p> })}
            {move || saved.get().then(|| view! { <p class="notice" role="status">"Saved."</p> })}
            <ProductTextField label="Title" name="title" value=title required=true errors />
            <ProductTextField label="Brand" name="brand" value=brand required=true errors />
            <div class="field">
                <label for="product-category">"Category"</label>
                <select id="product-category" name="category" on:change=move |ev| category.set(event_target_value(&ev))>
                    <option value="" selected=move || category.get().is_empty()>"Other (no category)"</option>
                    {options.categories.into_iter().map(|(slug, label)| {
                        let s = slug.clone();
                        view! { <option value=slug selected=move || category.get() == s>{label}</option> }
                    }).collect_view()}
                </select>
                {err("category")}
            </div>
            <ProductTextField label="Tags (comma separated)" name="tags" value=tags required=false errors />
            <div class="field">
                <label for="product-description">"Description"</label>
                <textarea id="product-description" name="description" rows="5" prop:value=move || description.get()
                    on:input=move |ev| description.set(event_target_value(&ev))>{crate::text::textarea_text(description.get_untracked())}</textarea>
                {err("description")}
            </div>
            <ProductTextField label="Currency" name="currency" value=currency required=true errors />
            <fieldset class="variants">
                <legend>"Variants, prices and stock"</legend>
                {err("variants")}
                <table class="admin-table variant-table">
                    <thead><tr>
                        <th scope="col">"SKU"</th><th scope="col">"Options"</th><th scope="col">"Price"</th><th scope="col">"Saved as"</th>
                        {warehouses_for_head.iter().map(|w| view! { <th scope="col">{format!("Stock {}", w.name)}</th> }).collect_view()}
                        <th scope="col"><span class="visually-hidden">"Remove"</span></th>
                    </tr></thead>
                    <tbody>
                        <For each=numbered_rows key=|(i, r)| (*i, r.key) children=move |(i, row)| view! { <VariantCells i row rows errors currency /> } />
                    </tbody>
                </table>
                <SetAsideNote set_aside />
                <button type="button" class="secondary" on:click=add_row>"Add a variant"</button>
            </fieldset>
            <button type="submit" disabled=pending>
                {move || match (pending(), is_new) {
                    (true, _) => "Saving…",
                    (false, true) => "Create product",
                    (false, false) => "Save changes",
                }}
            </button>
        </form>
    }
}

/// A one-line field of the product, its error below it and named by it.
#[component]
fn ProductTextField(label: &'static str, name: &'static str, value: RwSignal<String>, required: bool, errors: RwSignal<BTreeMap<String, String>>) -> impl IntoView {
    let id = format!("product-{name}");
    let err_id = format!("{id}-error");
    let show = Signal::derive(move || errors.with(|e| e.get(name).cloned()));
    let err_id2 = err_id.clone();
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input id=id name=name type="text" required=required value=value.get_untracked() prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
                aria-invalid=move || show.get().map(|_| "true") aria-describedby=move || show.get().map(|_| err_id2.clone()) />
            {move || show.get().map(|m| view! { <p class="field-error" id=err_id.clone() role="alert">{m}</p> })}
        </div>
    }
}

/// Units of the product's variants that flash sales not yet over hold: not in the stock shown.
#[component]
fn SetAsideNote(set_aside: Vec<(String, SetAside)>) -> impl IntoView {
    (!set_aside.is_empty()).then(|| view! {
        <ul class="notice set-aside" data-testid="set-aside">
            {set_aside.into_iter().map(|(sku, s)| view! {
                <li>
                    {format!("{} {} of {sku} {} set aside for ", s.units, if s.units == 1 { "unit" } else { "units" }, if s.units == 1 { "is" } else { "are" })}
                    <a href=format!("/seller/sales/{}", s.sale_id)>{format!("flash sale {}", s.sale_id)}</a>
                    " (from " <crate::ui::LocalTime at=s.starts_at /> "): they are not in the stock above; what the sale does not sell comes back when it ends."
                </li>
            }).collect_view()}
        </ul>
    })
}

#[component]
fn VariantCells(i: usize, row: VariantRow, rows: RwSignal<Vec<VariantRow>>, errors: RwSignal<BTreeMap<String, String>>, currency: RwSignal<String>) -> impl IntoView {
    let err = move |name: String| Signal::derive(move || errors.with(|e| e.get(&name).cloned()));
    // The price as it will be saved, beside what was typed ("24,90" → "= €24.90"), or why not.
    let price_error = err(format!("variants[{i}].price"));
    let preview = move |value: RwSignal<String>| {
        move || {
            let text = value.get();
            if text.trim().is_empty() {
                return String::new();
            }
            let cur = currency.get().trim().to_ascii_uppercase();
            match parse_price(&text, &cur) {
                Ok(minor) => format!("= {}", Money::new(minor, &cur).display()),
                // Said once: not again beside the field's own error saying the same.
                Err(e) if price_error.get().as_deref() == Some(e.to_string().as_str()) => String::new(),
                Err(e) => e.to_string(),
            }
        }
    };
    let input = move |label: String, name: String, value: RwSignal<String>, kind: &'static str| {
        let show = err(name.clone());
        let show2 = err(name.clone());
        let id = format!("v{i}-{}", name.replace(['[', ']', '.'], "-"));
        let err_id = format!("{id}-error");
        let err_id2 = err_id.clone();
        view! {
            <td>
                <label for=id.clone() class="visually-hidden">{label}</label>
                <input id=id type="text" inputmode=kind name=name value=value.get_untracked() prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))
                    aria-invalid=move || show2.get().map(|_| "true") aria-describedby=move || show2.get().map(|_| err_id2.clone()) />
                {move || show.get().map(|m| view! { <p class="field-error" id=err_id.clone() role="alert">{m}</p> })}
            </td>
        }
    };
    let n = i + 1;
    let key = row.key;
    view! {
        <tr data-testid="variant-row">
            {input(format!("SKU of variant {n}"), format!("variants[{i}].sku"), row.sku, "text")}
            {input(format!("Options of variant {n}, e.g. colour: navy, size: M"), format!("variants[{i}].attributes"), row.options, "text")}
            {input(format!("Price of variant {n}"), format!("variants[{i}].price"), row.price, "decimal")}
            <td class="price-preview muted small" data-testid="price-preview" aria-live="polite">{preview(row.price)}</td>
            {row.stock.iter().map(|(w, q)| input(format!("Stock of variant {n} in {}", w.name), format!("variants[{i}].stock.{}", w.code), *q, "numeric")).collect_view()}
            <td>
                <button type="button" class="link danger" disabled=move || rows.with(|r| r.len() <= 1)
                    on:click=move |_| rows.update(|r| r.retain(|x| x.key != key))>
                    "Remove" <span class="visually-hidden">{format!(" variant {n}")}</span>
                </button>
            </td>
        </tr>
    }
}
