//! The admin's "Payments check" page (in the seller admin): open reconciliation findings and
//! "Mark resolved".

use leptos::prelude::*;

use crate::ui::{ErrorPanel, Loading};

/// Reconciliation findings for admins: intents at the provider that disagree with our records.
#[component]
pub fn PaymentsCheck() -> impl IntoView {
    use crate::ui::forms::{Feedback, FormMessage};
    use leptos::form::ActionForm;
    let resolve = ServerAction::<crate::payments::ResolveFinding>::new();
    let findings = Resource::new(move || resolve.version().get(), |_| crate::payments::get_findings());
    let feedback = Feedback::new(resolve.value());
    view! {
        <h1>"Payments check"</h1>
        <FormMessage feedback />
        <p class="muted">"Daily, and with " <code>"sellout reconcile"</code> ", our payments are compared with the payment provider's. Orphan authorizations are cancelled; what needs a person is listed here."</p>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match findings.await {
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty-state" data-testid="no-findings">"Everything matches."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="admin-table">
                            <thead><tr><th scope="col">"Found"</th><th scope="col">"Kind"</th><th scope="col">"Intent"</th><th scope="col">"Order"</th><th scope="col">"Detail"</th><th scope="col"><span class="visually-hidden">"Action"</span></th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|f| view! {
                                    <tr data-testid="finding">
                                        <td>{f.found_at.get(..10).unwrap_or_default().to_owned()}</td>
                                        <td>{f.kind.label()}</td>
                                        <td><code>{f.intent_id}</code></td>
                                        <td>{f.order_id.map(|o| format!("#{o}")).unwrap_or_else(|| "–".to_owned())}</td>
                                        <td>{f.detail}</td>
                                        <td>
                                            <ActionForm action=resolve>
                                                <input type="hidden" name="id" value=f.id />
                                                <button type="submit" class="link" disabled=move || resolve.pending().get()>
                                                    "Mark resolved" <span class="visually-hidden">{format!(" finding {}", f.id)}</span>
                                                </button>
                                            </ActionForm>
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
