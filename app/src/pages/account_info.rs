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
    // The fields as the server kept them: loaded, then as the last save
    // answered (which holds another admin's changes to the fields this one
    // left alone). A memo, so that a failed save does not overwrite what was
    // typed. The phone is written for people; the server reads it back as
    // the same number.
    let kept = Memo::new(move |before: Option<&AccountInfo>| match result.get() {
        Some(Ok(saved)) => {
            AccountInfo { phone: readable_international_phone(&saved.phone), ..saved }
        }
        _ => before.cloned().unwrap_or_else(|| AccountInfo {
            phone: readable_international_phone(&info.phone),
            ..info.clone()
        }),
    });
    let shown = move |get: fn(&AccountInfo) -> &String| {
        Signal::derive(move || kept.with(|kept| get(kept).clone()))
    };
    view! {
        <ActionForm action=save attr:novalidate=true on:input=forget_success(save)>
            <FormStatus error=form_error(result, FIELDS) success=saved />
            // What the fields showed, sent with them: the server saves only
            // what the admin changed (another admin may have saved since).
            <input type="hidden" name="was" value="yes" />
            <input type="hidden" name="was_company_name" value=shown(|i| &i.company_name) />
            <input type="hidden" name="was_address" value=shown(|i| &i.address) />
            <input type="hidden" name="was_city" value=shown(|i| &i.city) />
            <input type="hidden" name="was_state" value=shown(|i| &i.state) />
            <input type="hidden" name="was_zip" value=shown(|i| &i.zip) />
            <input type="hidden" name="was_phone" value=shown(|i| &i.phone) />
            <Field label="Company Name" name="company_name" value=shown(|i| &i.company_name) maxlength=COMPANY_MAX autocomplete="organization" error=field_error(result, "company_name") />
            <Field label="Address" name="address" optional=true value=shown(|i| &i.address) maxlength=ADDRESS_MAX autocomplete="street-address" error=field_error(result, "address") />
            <Field label="City" name="city" optional=true value=shown(|i| &i.city) maxlength=CITY_MAX autocomplete="address-level2" error=field_error(result, "city") />
            <Field label="State" name="state" optional=true value=shown(|i| &i.state) maxlength=STATE_MAX autocomplete="address-level1" error=field_error(result, "state") />
            <Field label="Zip" name="zip" optional=true value=shown(|i| &i.zip) maxlength=ZIP_MAX autocomplete="postal-code" error=field_error(result, "zip") />
            <Field
                label="Phone Number"
                name="phone"
                optional=true
                input_type="tel"
                autocomplete="tel"
                value=shown(|i| &i.phone)
                hint="With the country code, e.g. +1 (415) 555-0100."
                error=field_error(result, "phone")
            />
            <div class="actions">
                <button type="submit" class="primary" disabled=move || save.pending().get() aria-busy=move || save.pending().get().then_some("true")>"Save"</button>
            </div>
        </ActionForm>
    }
}
