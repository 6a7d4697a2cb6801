//! The Certificates tab: the account's client certificates for outbound
//! HTTPS. Every user sees them and adds them; who added one, or an admin,
//! replaces it with its renewal or deletes it.
use leptos::prelude::*;

use crate::api::certificates::{
    list_certificates, AddCertificate, DeleteCertificate, ReplaceCertificate,
};
use crate::components::action::{announce, answers, field_error, form_action, form_error};
use crate::components::form::{DoneNotice, Field, FormStatus, TextAreaField};
use crate::components::loaded::{server_resource, Loaded};
use crate::components::modal::{close_on_success, CancelButton, Modal};
use crate::components::row_dialogs::{ConfirmDelete, EditDialog, RowDialogs};
use crate::components::table::{DataTable, DeleteButton, RowActions};
use crate::model::{AppError, CertificateRow, Expiry, EXPIRY_WARNING_DAYS};

#[component]
pub fn CertificatesTab() -> impl IntoView {
    let add = form_action::<AddCertificate>();
    let replace = form_action::<ReplaceCertificate>();
    let delete = form_action::<DeleteCertificate>();
    let changes = [answers(add), answers(replace), answers(delete)];
    let rows = server_resource(move || changes.map(|c| c.get()), |_| list_certificates());
    let dialogs = RowDialogs::<CertificateRow>::new();
    close_on_success(add, dialogs.adding);
    close_on_success(replace, dialogs.edit_open);
    let done = RwSignal::new(None);
    // Taken as given, but one that cannot be used yet or soon is said at
    // once, not only by its badge in the list.
    announce(add, done, |cert| {
        stored(&format!("The certificate for {} is added.", cert.domain), cert)
    });
    announce(replace, done, |cert| {
        stored(&format!("The certificate for {} is replaced.", cert.domain), cert)
    });
    let result = add.value();
    view! {
        <section class="panel" aria-labelledby="certificates-heading">
            <h2 id="certificates-heading">"Certificates"</h2>
            <p class="hint">"Client certificates your applications present when they call a domain over HTTPS. One per domain; the private key is stored encrypted and never shown again."</p>
            <Loaded resource=rows view=move |rows| view! { <CertificateTable rows dialogs /> } />
            <DoneNotice done />
            <button type="button" class="primary" on:click=move |_| dialogs.adding.set(true)>"Add Certificate"</button>
        </section>
        <Modal title="Add Certificate" open=dialogs.adding id="add-certificate">
            <ActionForm action=add attr:novalidate=true>
                <FormStatus error=form_error(result, &["domain", "certificate", "private_key"]) />
                <Field label="Domain" name="domain" form="cert-" hint="The host your calls go to, e.g. api.example.com." error=field_error(result, "domain") />
                <PemFields form="cert-" result />
                <div class="actions">
                    <button type="submit" class="primary" disabled=move || add.pending().get() aria-busy=move || add.pending().get().then_some("true")>"Add"</button>
                    <CancelButton />
                </div>
            </ActionForm>
        </Modal>
        <EditDialog
            title=|c: &CertificateRow| format!("Replace Certificate: {}", c.domain)
            id="replace-certificate"
            dialogs
            form=move |row: CertificateRow| view! { <ReplaceForm row replace /> }
        />
        <ConfirmDelete
            title="Delete Certificate"
            id="delete-certificate"
            dialogs
            action=delete
            question=|c: &CertificateRow| format!("Delete the certificate for {}? Calls to it will no longer present a client certificate.", c.domain)
            input=|row: &CertificateRow| DeleteCertificate { id: row.id }
            deleted=|c: &CertificateRow| format!("The certificate for {} is deleted.", c.domain)
            done
        />
    }
}

/// What the tab says of a certificate just stored: `done`, and when it
/// cannot be used yet or soon.
fn stored(done: &str, cert: &CertificateRow) -> String {
    match cert.expiry {
        Expiry::NotYetValid => format!(
            "{done} It is valid only from {}: until then servers will refuse it.",
            cert.valid_from
        ),
        Expiry::Valid => done.to_owned(),
        Expiry::Soon => {
            format!(
                "{done} It expires on {}: replace it with its renewal before then.",
                cert.expires
            )
        }
        Expiry::Expired => format!(
            "{done} It expired on {}, so servers will refuse it: replace it with a current one.",
            cert.expires
        ),
    }
}

/// The certificate and key fields, as Add and Replace ask for them; `form`
/// keeps their ids apart.
#[component]
fn PemFields(
    form: &'static str,
    #[prop(into)] result: Signal<Option<Result<CertificateRow, AppError>>>,
) -> impl IntoView {
    view! {
        <TextAreaField label="Certificate" name="certificate" form rows=6 code=true hint="PEM, starting with -----BEGIN CERTIFICATE-----." error=field_error(result, "certificate") />
        <TextAreaField label="Private Key" name="private_key" form rows=6 code=true hint="PEM without a passphrase: BEGIN PRIVATE KEY (RSA, EC or Ed25519), RSA PRIVATE KEY or EC PRIVATE KEY." error=field_error(result, "private_key") />
    }
}

/// The Replace dialog's form: the renewal's certificate and key for the
/// row's domain, swapped in at once.
#[component]
fn ReplaceForm(row: CertificateRow, replace: ServerAction<ReplaceCertificate>) -> impl IntoView {
    let result = replace.value();
    view! {
        <ActionForm action=replace attr:novalidate=true>
            <FormStatus error=form_error(result, &["certificate", "private_key"]) />
            <input type="hidden" name="id" value=row.id />
            <p class="hint">
                "The new certificate and key take the place of the current ones for "
                {row.domain.clone()}
                " in one step: calls present the current certificate until then, and the new one after."
            </p>
            <PemFields form="renewal-" result />
            <div class="actions">
                <button type="submit" class="primary" disabled=move || replace.pending().get() aria-busy=move || replace.pending().get().then_some("true")>"Replace"</button>
                <CancelButton />
            </div>
        </ActionForm>
    }
}

#[component]
fn CertificateTable(
    rows: Vec<CertificateRow>,
    dialogs: RowDialogs<CertificateRow>,
) -> impl IntoView {
    // A member sees colleagues' certificates with no buttons: why is said.
    let others = rows.iter().any(|r| !r.can_delete).then(|| view! {
        <p class="hint">"Only the user who added a certificate, or an account admin, can replace or delete it."</p>
    });
    let row = move |row: CertificateRow| {
        let flag = match row.expiry {
            Expiry::NotYetValid => Some(("warn", format!("Valid from {}", row.valid_from))),
            Expiry::Valid => None,
            Expiry::Soon => Some(("warn", format!("Expires within {EXPIRY_WARNING_DAYS} days"))),
            Expiry::Expired => Some(("expired", "Expired".to_owned())),
        };
        view! {
            <tr>
                <td>{row.domain.clone()}</td>
                // Names like "CN=hooks.example.net" have no space to wrap at.
                <td class="breakable">{row.subject.clone()}</td>
                <td class="breakable">{row.issuer.clone()}</td>
                <td class="when">{row.expires.clone()} {flag.map(|(class, text)| view! { " " <span class=format!("badge {class}")>{text}</span> })}</td>
                <td>{row.added_by.clone()}</td>
                <RowActions>
                    {row.can_delete.then(|| {
                        let name = format!("the certificate for {}", row.domain);
                        let replaced = row.clone();
                        view! {
                            <button type="button" aria-label=format!("Replace {name}") on:click=move |_| dialogs.edit(replaced.clone())>
                                "Replace"
                            </button>
                            <DeleteButton dialogs row=row.clone() name />
                        }
                    })}
                </RowActions>
            </tr>
        }
    };
    view! {
        <DataTable
            caption="Client certificates of this account"
            columns=&["Domain", "Subject", "Issuer", "Expires", "Added By"]
            actions=true
            empty="This account has no client certificates yet. Add one when a server your applications call asks for a client certificate."
            rows
            row
        />
        {others}
    }
}
