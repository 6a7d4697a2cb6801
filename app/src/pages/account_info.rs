//! The Account Information tab (admins): the company's name, address and
//! phone number.
use leptos::prelude::*;

use crate::api::account_info::{load_account_info, SaveAccountInfo};
use crate::components::action::{
    field_error, forget_success, form_action, form_error, success_message,
};
use crate::components::form::{Field, FormStatus};
use crate::components::loaded::{server_resource, Loaded};
use crate::components::signed_in::UserResource;
use crate::model::{
    readable_international_phone, AccountInfo, ADDRESS_MAX, CITY_MAX, COMPANY_MAX, STATE_MAX,
    ZIP_MAX,
};

const FIELDS: &[&str] = &["company_name", "address", "city", "state", "zip", "phone"];

#[component]
pub fn AccountInformationTab() -> impl IntoView {
    let info = server_resource(|| (), |_| load_account_info());
    // The heading stands outside the loaded part, so a member sent here
    // sees which tab refused them, as on the other admin tabs.
    view! {
        <section class="panel" aria-labelledby="account-info-heading">
            <h2 id="account-info-heading">"Account Information"</h2>
            <Loaded resource=info view=|info| view! { <AccountInfoForm info /> } admin_only=true />
        </section>
    }
}

#[component]
fn AccountInfoForm(info: AccountInfo) -> impl IntoView {
    let save = form_action::<SaveAccountInfo>();
    let result = save.value();
    let saved = success_message(result, "The account information is saved.");
    // A new company name shows up in the top bar.
    let UserResource(user) = expect_context::<UserResource>();
    Effect::new(move |_| {
        if let Some(Ok(_)) = result.get() {
            user.refetch();
        }
    });
    // The phone as the server kept it, shown once saved, written for people
    // (the server reads it back as the same number). A memo, so that a failed
    // save does not overwrite what was typed.
    let stored_phone = readable_international_phone(&info.phone);
    let phone = Memo::new(move |before: Option<&String>| match result.get() {
        Some(Ok(saved)) => readable_international_phone(&saved.phone),
        _ => before.cloned().unwrap_or_else(|| stored_phone.clone()),
    });
    view! {
        <ActionForm action=save attr:novalidate=true on:input=forget_success(save)>
            <FormStatus error=form_error(result, FIELDS) success=saved />
            <Field label="Company Name" name="company_name" value=info.company_name maxlength=COMPANY_MAX autocomplete="organization" error=field_error(result, "company_name") />
            <Field label="Address" name="address" optional=true value=info.address maxlength=ADDRESS_MAX autocomplete="street-address" error=field_error(result, "address") />
            <Field label="City" name="city" optional=true value=info.city maxlength=CITY_MAX autocomplete="address-level2" error=field_error(result, "city") />
            <Field label="State" name="state" optional=true value=info.state maxlength=STATE_MAX autocomplete="address-level1" error=field_error(result, "state") />
            <Field label="Zip" name="zip" optional=true value=info.zip maxlength=ZIP_MAX autocomplete="postal-code" error=field_error(result, "zip") />
            <Field
                label="Phone Number"
                name="phone"
                optional=true
                input_type="tel"
                autocomplete="tel"
                value=phone
                hint="With the country code, e.g. +1 415 555 0100."
                error=field_error(result, "phone")
            />
            <div class="actions">
                <button type="submit" class="primary" disabled=move || save.pending().get()>"Save"</button>
            </div>
        </ActionForm>
    }
}
