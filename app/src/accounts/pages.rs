//! Sign-in, registration and the account page (password, address book).

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_query_map;

use super::*;
use crate::ui::forms::{Feedback, Field, FormMessage};
use crate::ShopActions;
use crate::ui::Loading;

#[component]
pub fn SignInPage() -> impl IntoView {
    let actions = expect_context::<ShopActions>();
    let login = actions.login;
    let feedback = Feedback::new(login.value());
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    view! {
        <Title text="Sign in" />
        <Meta name="description" content="Sign in to your Sellout account to check out, track orders and join flash sales." />
        <section class="form-page">
            <h1>"Sign in"</h1>
            <FormMessage feedback />
            <ActionForm action=login attr:class="stack" attr:novalidate=true>
                <input type="hidden" name="next" value=next />
                <Field label="Email" name="email" kind="email" autocomplete="email" required=true value=feedback.kept("email") feedback />
                <Field label="Password" name="password" kind="password" autocomplete="current-password" required=true feedback />
                <button type="submit" disabled=move || login.pending().get()>
                    {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
            <p>"New here? " <a href=move || with_next("/register", &next())>"Create an account"</a></p>
        </section>
    }
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    let actions = expect_context::<ShopActions>();
    let register = actions.register;
    let feedback = Feedback::new(register.value());
    let seller_kept = feedback.kept("role") == "seller";
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    view! {
        <Title text="Create an account" />
        <Meta name="description" content="Create a Sellout account to shop, join flash sales fairly, or sell your own products." />
        <section class="form-page">
            <h1>"Create an account"</h1>
            <FormMessage feedback />
            <ActionForm action=register attr:class="stack" attr:novalidate=true>
                <input type="hidden" name="next" value=next />
                <Field label="Email" name="email" kind="email" autocomplete="email" required=true value=feedback.kept("email") feedback />
                <Field label="Password" name="password" kind="password" autocomplete="new-password" required=true
                    hint=format!("At least {MIN_PASSWORD_LEN} characters.") feedback />
                <fieldset class="choice">
                    <legend>"I want to"</legend>
                    <label><input type="radio" name="role" value="shopper" checked=!seller_kept />" Shop"</label>
                    <label><input type="radio" name="role" value="seller" checked=seller_kept />" Sell on Sellout"</label>
                </fieldset>
                <Field label="Shop name (sellers)" name="seller_name" autocomplete="organization" value=feedback.kept("seller_name") feedback />
                <button type="submit" disabled=move || register.pending().get()>
                    {move || if register.pending().get() { "Creating your account…" } else { "Create account" }}
                </button>
            </ActionForm>
            <p>"Already have an account? " <a href=move || with_next("/signin", &next())>"Sign in"</a></p>
        </section>
    }
}

/// `page` carrying on where the shopper was going (`next`, when there is one).
fn with_next(page: &str, next: &str) -> String {
    if next.is_empty() { page.to_owned() } else { crate::ui::forms::with_query(page, &format!("next={}", crate::ui::forms::url_encode(next))) }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let actions = expect_context::<ShopActions>();
    let user = Resource::new(move || actions.auth_version(), |_| get_current_user());
    let tokens = TokenPanel::new();
    view! {
        <Title text="Your account" />
        <Meta name="description" content="Your account: your details, addresses and orders." />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(u)) => view! { <AccountView user=u tokens /> }.into_any(),
                    Ok(None) => {
                        crate::ui::set_status(401);
                        view! {
                            <section class="empty-state">
                                <h1>"Your account"</h1>
                                <p>"Please sign in to see your account."</p>
                                <p><a class="button" href="/signin?next=/account">"Sign in"</a></p>
                            </section>
                        }.into_any()
                    }
                    Err(e) => view! { <crate::ui::ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AccountView(user: CurrentUser, tokens: TokenPanel) -> impl IntoView {
    let actions = expect_context::<ShopActions>();
    let change = ServerAction::<ChangePassword>::new();
    let pw_feedback = Feedback::new(change.value());
    view! {
        <h1>"Your account"</h1>
        <p>"Signed in as " <strong data-testid="account-email">{user.email.clone()}</strong> " · " {user.role.as_str()}</p>
        {user.seller.clone().map(|s| view! { <p>"Your shop: " <strong>{s.name}</strong> " (" {s.slug} ")"</p> })}
        <ActionForm action=actions.logout>
            <button type="submit" class="secondary">"Sign out"</button>
        </ActionForm>
        <EmailNotice />
        <AddressBook />
        <ApiTokens panel=tokens />
        <section class="panel">
            <h2>"Change password"</h2>
            {move || matches!(change.value().get(), Some(Ok(()))).then(|| view! { <p class="notice" role="status">"Your password was changed, and every other place you were signed in is signed out."</p> })}
            <FormMessage feedback=pw_feedback />
            <ActionForm action=change attr:class="stack" attr:novalidate=true>
                <Field label="Current password" name="current_password" kind="password" autocomplete="current-password" feedback=pw_feedback />
                <Field label="New password" name="new_password" kind="password" autocomplete="new-password" feedback=pw_feedback />
                <button type="submit">"Change password"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn AddressBook() -> impl IntoView {
    let save = ServerAction::<SaveAddress>::new();
    let delete = ServerAction::<DeleteAddress>::new();
    let make_default = ServerAction::<SetDefaultAddress>::new();
    let addresses = Resource::new(
        move || (save.version().get(), delete.version().get(), make_default.version().get()),
        |_| list_addresses(),
    );
    let feedback = Feedback::new(save.value());
    let query = use_query_map();
    view! {
        <section class="panel" aria-labelledby="addr-heading">
            <h2 id="addr-heading">"Address book"</h2>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    let list = addresses.await.unwrap_or_default();
                    let editing: Option<Address> = query.read().get("edit")
                        .and_then(|id| id.parse::<i64>().ok())
                        .and_then(|id| list.iter().find(|a| a.address_id == id).cloned());
                    view! {
                        {if list.is_empty() {
                            view! { <p class="muted">"No saved addresses yet. Add one below to check out faster."</p> }.into_any()
                        } else {
                            view! {
                                <ul class="addresses">
                                    {list.into_iter().map(|a| view! {
                                        <li class="address" data-testid="address">
                                            <address>
                                                <strong>{a.name.clone()}</strong><br />
                                                {a.line1.clone()}<br />
                                                {a.line2.clone().map(|l| view! { {l}<br /> })}
                                                {format!("{} {}", a.postal_code, a.city)}
                                                {a.region.clone().map(|r| format!(", {r}"))}<br />
                                                {a.country.clone()}
                                            </address>
                                            {a.is_default.then(|| view! { <span class="badge">"Default"</span> })}
                                            <div class="row">
                                                <a href=format!("/account?edit={}", a.address_id)>"Edit"</a>
                                                {(!a.is_default).then(|| view! {
                                                    <ActionForm action=make_default>
                                                        <input type="hidden" name="address_id" value=a.address_id />
                                                        <button type="submit" class="link">"Make default"</button>
                                                    </ActionForm>
                                                })}
                                                <ActionForm action=delete>
                                                    <input type="hidden" name="address_id" value=a.address_id />
                                                    <button type="submit" class="link danger">"Delete"</button>
                                                </ActionForm>
                                            </div>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            }.into_any()
                        }}
                        <AddressForm editing save feedback />
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn AddressForm(editing: Option<Address>, save: ServerAction<SaveAddress>, feedback: Feedback) -> impl IntoView {
    // A failed plain post brings back what was typed; else edit shows the stored address.
    let pick = move |name: &str, stored: Option<String>| {
        let kept = feedback.kept(name);
        if !kept.is_empty() { kept } else { stored.unwrap_or_default() }
    };
    let e = editing.clone();
    view! {
        <h3>{if editing.is_some() { "Edit address" } else { "Add an address" }}</h3>
        <FormMessage feedback />
        <ActionForm action=save attr:class="stack address-form" attr:novalidate=true>
            <input type="hidden" name="address_id" value=e.as_ref().map(|a| a.address_id.to_string()).unwrap_or_default() />
            <Field label="Full name" name="name" autocomplete="name" value=pick("name", e.as_ref().map(|a| a.name.clone())) feedback />
            <Field label="Street and number" name="line1" autocomplete="address-line1" value=pick("line1", e.as_ref().map(|a| a.line1.clone())) feedback />
            <Field label="Apartment, floor (optional)" name="line2" autocomplete="address-line2" value=pick("line2", e.as_ref().and_then(|a| a.line2.clone())) feedback />
            <div class="row">
                <Field label="Postal code" name="postal_code" autocomplete="postal-code" value=pick("postal_code", e.as_ref().map(|a| a.postal_code.clone())) feedback />
                <Field label="City" name="city" autocomplete="address-level2" value=pick("city", e.as_ref().map(|a| a.city.clone())) feedback />
            </div>
            <div class="row">
                <Field label="Region (optional)" name="region" autocomplete="address-level1" value=pick("region", e.as_ref().and_then(|a| a.region.clone())) feedback />
                <Field label="Country code" name="country" autocomplete="country" value=pick("country", e.as_ref().map(|a| a.country.clone())) hint="Two letters, e.g. DE" feedback />
            </div>
            <label class="check"><input type="checkbox" name="make_default" value="on" />" Use as my default address"</label>
            <button type="submit" disabled=move || save.pending().get()>"Save address"</button>
        </ActionForm>
    }
}

/// Personal access tokens: made with a name and scopes, shown once, listed with their last
/// use, revoked with one button. Works as plain forms before the wasm loads (the new secret is
/// then shown once from the session).
/// The token section's actions and list, made once per page: the account view inside the
/// page's `Suspense` may be rendered twice on the server, and the list's first read takes a
/// new secret out of the session (shown once), so a second list would lose it.
#[derive(Clone, Copy)]
struct TokenPanel {
    create: ServerAction<CreateToken>,
    revoke: ServerAction<RevokeToken>,
    page: Resource<Result<TokensPage, AppError>>,
}

impl TokenPanel {
    fn new() -> Self {
        let create = ServerAction::<CreateToken>::new();
        let revoke = ServerAction::<RevokeToken>::new();
        let page = Resource::new(move || (create.version().get(), revoke.version().get()), |_| list_tokens());
        Self { create, revoke, page }
    }
}

#[component]
fn ApiTokens(panel: TokenPanel) -> impl IntoView {
    let TokenPanel { create, revoke, page } = panel;
    let feedback = Feedback::new(create.value());
    let fresh = move |p: &TokensPage| match create.value().get() {
        Some(Ok(made)) => Some(made),
        _ => p.just_made.clone(),
    };
    view! {
        <section class="panel" id="tokens" aria-labelledby="tokens-heading">
            <h2 id="tokens-heading">"API tokens"</h2>
            <p class="muted small">"For programs that use the shop's REST API (stock sync, order export): send a token as "<code>"Authorization: Bearer so_…"</code>". It can do only what its scopes allow and what your account may do."</p>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    let p = match page.await {
                        Ok(p) => p,
                        Err(e) => return view! { <crate::ui::ErrorPanel error=e /> }.into_any(),
                    };
                    let made = fresh(&p).map(|t| view! {
                        <div class="notice" role="status" data-testid="new-token">
                            <p>{format!("Your new token \"{}\". Copy it now: it is shown only this once.", t.view.name)}</p>
                            <p><code class="secret" data-testid="new-token-secret">{t.token}</code></p>
                        </div>
                    });
                    let list = if p.tokens.is_empty() {
                        view! { <p class="muted" data-testid="no-tokens">"No tokens yet."</p> }.into_any()
                    } else {
                        view! {
                            <table class="admin-table">
                                <thead><tr><th scope="col">"Name"</th><th scope="col">"Token"</th><th scope="col">"Scopes"</th><th scope="col">"Last used"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                <tbody>
                                    {p.tokens.into_iter().map(|t| {
                                        let when = |s: Option<String>| s.map(|s| s.replace('T', " ").replace('Z', " UTC"));
                                        view! {
                                            <tr data-testid="token">
                                                <td>{t.name.clone()}</td>
                                                <td><code>{format!("{}…", t.prefix)}</code></td>
                                                <td>{t.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")}</td>
                                                <td>{when(t.last_used_at.clone()).unwrap_or_else(|| "Never".to_owned())}</td>
                                                <td>{match when(t.revoked_at.clone()) {
                                                    Some(at) => view! { <span class="muted">{format!("Revoked {at}")}</span> }.into_any(),
                                                    None => view! {
                                                        <ActionForm action=revoke>
                                                            <input type="hidden" name="token_id" value=t.token_id />
                                                            <button type="submit" class="link danger" aria-label=format!("Revoke {}", t.name)>"Revoke"</button>
                                                        </ActionForm>
                                                    }.into_any(),
                                                }}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                    };
                    let scopes = p.allowed.into_iter().map(|s| view! {
                        <label class="check"><input type="checkbox" name=s.field() value="on" checked=!feedback.kept(s.field()).is_empty() />" "{s.label()}" "<code>{s.as_str()}</code></label>
                    }).collect_view();
                    view! {
                        {made}
                        {list}
                        <h3>"Make a token"</h3>
                        <FormMessage feedback />
                        <ActionForm action=create attr:class="stack" attr:novalidate=true>
                            <Field label="Name" name="token_name" value=feedback.kept("token_name") hint="What it is for, e.g. \"stock sync\"." feedback />
                            <fieldset class="choice" aria-describedby=move || feedback.field("token_scopes").map(|_| "token-scopes-error")>
                                <legend>"It may"</legend>
                                {scopes}
                                {move || feedback.field("token_scopes").map(|m| view! { <p class="field-error" id="token-scopes-error" role="alert">{m}</p> })}
                            </fieldset>
                            <button type="submit" disabled=move || create.pending().get()>
                                {move || if create.pending().get() { "Making the token…" } else { "Make token" }}
                            </button>
                        </ActionForm>
                    }.into_any()
                })}
            </Suspense>
        </section>
    }
}

/// On the account page while the address is not confirmed: why it matters, and the link sent
/// again. Nothing once it is confirmed.
#[component]
fn EmailNotice() -> impl IntoView {
    let status = Resource::new(|| (), |_| get_email_status());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match status.await {
                    Ok(s) if !s.verified => view! {
                        <section class="panel notice" data-testid="email-unconfirmed">
                            <p>{format!("Your email address {} is not confirmed yet. Open the link we mailed you when you signed up: some flash sales are only for shoppers who did.", s.email)}</p>
                            <SendLinkAgain back="/account".to_owned() />
                        </section>
                    }.into_any(),
                    _ => ().into_any(),
                }
            })}
        </Suspense>
    }
}

/// A button that mails the link to confirm the address again; `back` is where a plain form
/// post returns (`?sent=1` says it went).
#[component]
pub fn SendLinkAgain(back: String) -> impl IntoView {
    let send = ServerAction::<SendVerification>::new();
    let feedback = Feedback::new(send.value());
    let query = use_query_map();
    let sent = move || matches!(send.value().get(), Some(Ok(()))) || (send.value().get().is_none() && query.read().get("sent").is_some());
    view! {
        {move || sent().then(|| view! { <p role="status" data-testid="link-sent">"We mailed you a new link. It works once, for a day."</p> })}
        <FormMessage feedback />
        <ActionForm action=send>
            <input type="hidden" name="back" value=back />
            <button type="submit" class="secondary" data-testid="send-link" disabled=move || send.pending().get()>
                {move || if send.pending().get() { "Sending…" } else { "Send the link again" }}
            </button>
        </ActionForm>
    }
}

/// `/account/verify?token=…`, where the mailed link leads: a button confirms the address (a
/// mail scanner fetching the link confirms nothing). Works before the wasm loads.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let confirm = ServerAction::<ConfirmEmail>::new();
    let feedback = Feedback::new(confirm.value());
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let done = move || match confirm.value().get() {
        Some(Ok(c)) => Some(c),
        Some(Err(_)) => None,
        None => query.read().get("confirmed").map(|_| super::verify::Confirmed::Now),
    };
    view! {
        <Title text="Confirm your email address" />
        <Meta name="robots" content="noindex" />
        <section class="form-page">
            <h1>"Confirm your email address"</h1>
            {move || match done() {
                Some(c) => view! {
                    <p class="notice" role="status" data-testid="email-confirmed">{match c {
                        super::verify::Confirmed::Now => "Thank you: your email address is confirmed.",
                        super::verify::Confirmed::Already => "Your email address was already confirmed with this link.",
                    }}</p>
                    <p><a href="/sales">"See the flash sales"</a> " · " <a href="/account">"Your account"</a></p>
                }.into_any(),
                None if token().is_empty() => view! {
                    <p>"This page confirms an email address from the link we mail. Open the whole link from the mail, or ask for a new one on " <a href="/account">"your account page"</a> "."</p>
                }.into_any(),
                None => view! {
                    <FormMessage feedback />
                    <p>"Press the button to confirm that the address you signed up with is yours."</p>
                    <ActionForm action=confirm>
                        <input type="hidden" name="token" value=token() />
                        <button type="submit" data-testid="confirm-email" disabled=move || confirm.pending().get()>
                            {move || if confirm.pending().get() { "Confirming…" } else { "Confirm" }}
                        </button>
                    </ActionForm>
                }.into_any(),
            }}
        </section>
    }
}
