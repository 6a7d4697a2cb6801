//! The Certificates tab: the account's client certificates for outbound
//! HTTPS. Every user sees them and adds them; who added one, or an admin,
//! deletes it.
use leptos::either::Either;
use leptos::prelude::*;

use crate::api::certificates::{list_certificates, AddCertificate, DeleteCertificate};
use crate::components::form::{field_error, form_error, Field, FormStatus, TextAreaField};
use crate::components::modal::{close_on_success, Confirm, Modal, RowDialogs};
use crate::model::{CertificateRow, Expiry};

#[component]
pub fn CertificatesTab() -> impl IntoView {
    let add = ServerAction::<AddCertificate>::new();
    let delete = ServerAction::<DeleteCertificate>::new();
    let rows = Resource::new(
        move || (add.version().get(), delete.version().get()),
        |_| list_certificates(),
    );
    let dialogs = RowDialogs::<CertificateRow>::new();
    close_on_success(add.value(), dialogs.adding);
    close_on_success(delete.value(), dialogs.delete_open);
    let table = move || {
        Suspend::new(async move {
            match rows.await {
                Ok(rows) => Either::Left(view! { <CertificateTable rows dialogs /> }),
                Err(err) => Either::Right(view! { <p class="alert error">{err.to_string()}</p> }),
            }
        })
    };
    let result = add.value();
    let delete_message = Signal::derive(move || {
        dialogs
            .deleting
            .get()
            .map(|c| format!("Delete the certificate for {}? Calls to it will no longer present a client certificate.", c.domain))
            .unwrap_or_default()
    });
    view! {
        <section class="panel" aria-labelledby="certificates-heading">
            <h2 id="certificates-heading">"Certificates"</h2>
            <p class="hint">"Client certificates your applications present when they call a domain over HTTPS. One per domain; the private key is stored encrypted and never shown again."</p>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>{table}</Transition>
            <FormStatus error=form_error(delete.value(), &[]) />
            <button type="button" class="primary" on:click=move |_| dialogs.adding.set(true)>"Add Certificate"</button>
        </section>
        <Modal title=Signal::derive(|| "Add Certificate".to_string()) open=dialogs.adding id="add-certificate">
            <ActionForm action=add attr:novalidate=true>
                <FormStatus error=form_error(result, &["domain", "certificate", "private_key"]) />
                <Field label="Domain" name="domain_name" form="cert-" hint="The host your calls go to, e.g. api.example.com." error=field_error(result, "domain") />
                <TextAreaField label="Certificate" name="certificate" form="cert-" rows=6 hint="PEM, starting with -----BEGIN CERTIFICATE-----." error=field_error(result, "certificate") />
                <TextAreaField label="Private Key" name="private_key" form="cert-" rows=6 hint="PEM, starting with -----BEGIN PRIVATE KEY-----." error=field_error(result, "private_key") />
                <div class="actions">
                    <button type="submit" class="primary" disabled=move || add.pending().get()>"Add"</button>
                </div>
            </ActionForm>
        </Modal>
        <Confirm
            title=Signal::derive(|| "Delete Certificate".to_string())
            open=dialogs.delete_open
            id="delete-certificate"
            message=delete_message
            pending=delete.pending()
            on_yes=Callback::new(move |_| {
                if let Some(row) = dialogs.deleting.get_untracked() {
                    delete.dispatch(DeleteCertificate { id: row.id });
                }
            })
        />
    }
}

#[component]
fn CertificateTable(
    rows: Vec<CertificateRow>,
    dialogs: RowDialogs<CertificateRow>,
) -> impl IntoView {
    if rows.is_empty() {
        return Either::Left(view! { <p>"This account has no client certificates yet."</p> });
    }
    Either::Right(view! {
        <table>
            <caption class="sr-only">"Client certificates of this account"</caption>
            <thead>
                <tr>
                    <th scope="col">"Domain"</th>
                    <th scope="col">"Subject"</th>
                    <th scope="col">"Issuer"</th>
                    <th scope="col">"Expires"</th>
                    <th scope="col">"Added by"</th>
                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|row| {
                    let flag = match row.expiry {
                        Expiry::Valid => None,
                        Expiry::Soon => Some(("warn", "Expires within 30 days")),
                        Expiry::Expired => Some(("expired", "Expired")),
                    };
                    let for_delete = row.clone();
                    view! {
                        <tr>
                            <td>{row.domain.clone()}</td>
                            <td>{row.subject.clone()}</td>
                            <td>{row.issuer.clone()}</td>
                            <td>{row.expires.clone()} {flag.map(|(class, text)| view! { " " <span class=format!("badge {class}")>{text}</span> })}</td>
                            <td>{row.added_by.clone()}</td>
                            <td class="actions">
                                {row.can_delete.then(|| view! {
                                    <button type="button" class="danger" aria-label=format!("Delete the certificate for {}", row.domain) on:click=move |_| dialogs.delete(for_delete.clone())>"Delete"</button>
                                })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    })
}
