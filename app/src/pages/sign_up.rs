use leptos::prelude::*;

use super::SignedInAlready;

use crate::api::sign_up::SignUp;
use crate::components::action::{field_error, form_action, form_error};
use crate::components::form::{Field, FormStatus, NewPasswordField};
use crate::model::{COMPANY_MAX, EMAIL_MAX, NAME_MAX};

const FIELDS: &[&str] = &["company_name", "first_name", "last_name", "email", "password"];

#[component]
pub fn SignUpPage() -> impl IntoView {
    let sign_up = form_action::<SignUp>();
    let result = sign_up.value();
    view! {
        <main id="main" class="narrow">
            <h1>"Create your account"</h1>
            <p>"You will be the admin of your company's account and can add your colleagues later."</p>
            <SignedInAlready then="signing up for a new account ends this session." />
            <ActionForm action=sign_up attr:class="card" attr:novalidate=true>
                <FormStatus error=form_error(result, FIELDS) />
                <Field label="Company Name" name="company_name" autocomplete="organization" maxlength=COMPANY_MAX error=field_error(result, "company_name") />
                <Field label="First Name" name="first_name" autocomplete="given-name" maxlength=NAME_MAX error=field_error(result, "first_name") />
                <Field label="Last Name" name="last_name" autocomplete="family-name" maxlength=NAME_MAX error=field_error(result, "last_name") />
                <Field label="Email Address" name="email" input_type="email" autocomplete="email" maxlength=EMAIL_MAX error=field_error(result, "email") />
                <NewPasswordField label="Password" name="password" error=field_error(result, "password") />
                <button type="submit" class="primary" disabled=move || sign_up.pending().get() aria-busy=move || sign_up.pending().get().then_some("true")>
                    "Sign Up"
                </button>
            </ActionForm>
            <p>"Already have an account? " <a href="/login">"Log in"</a></p>
        </main>
    }
}
