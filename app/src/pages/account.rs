//! The Account tab: the user's own profile, two-factor authentication,
//! developer keys, signed-in sessions, recent security activity and phone
//! numbers.
use leptos::either::Either;
use leptos::prelude::*;

use super::activity::SecurityActivitySection;
use super::developer_keys::DeveloperKeysSection;
use super::my_account::signed_in_user_resource;
use super::phone_numbers::MyPhoneNumbers;
use super::profile::ProfileForms;
use super::sessions::SessionsSection;
use super::two_factor::TwoFactorSection;
use crate::components::loaded::loading;

#[component]
pub fn AccountTab() -> impl IntoView {
    // Its own copy of the user, not the page's: the page's copy is refetched
    // after a save (for the top bar), which must not re-create these forms.
    let user = signed_in_user_resource();
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(me) => Either::Left(view! { <ProfileForms me /> }),
                    // The page around the tab already shows the error or redirects.
                    Err(_) => Either::Right(()),
                }
            })}
        </Suspense>
        <TwoFactorSection />
        <DeveloperKeysSection />
        <SessionsSection />
        <SecurityActivitySection />
        <MyPhoneNumbers />
    }
}
