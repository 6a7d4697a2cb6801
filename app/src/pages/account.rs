//! The Account tab: the user's own profile, two-factor authentication,
//! developer keys, signed-in sessions, recent security activity and phone
//! numbers.
use leptos::either::Either;
use leptos::prelude::*;

use super::activity::SecurityActivitySection;
use super::developer_keys::DeveloperKeysSection;
use super::phone_numbers::MyPhoneNumbers;
use super::profile::ProfileForms;
use super::sessions::SessionsSection;
use super::two_factor::TwoFactorSection;
use crate::components::loaded::{loading, past_dry_runs};
use crate::components::signed_in::signed_in_user_resource;

/// Counts the Account tab's answers that may change what its security lists
/// show (a password, the second factor, a developer key, an email change, a
/// session ended), so those sections (signed-in sessions, recent security
/// activity, the pending email change) load again after one.
#[derive(Clone, Copy)]
pub struct SecurityChanges {
    answers: RwSignal<u32>,
    /// The successes alone: for a section whose forms a reload would empty
    /// (two-factor), which only a success can change.
    successes: RwSignal<u32>,
}

/// Which answers of an action [`SecurityChanges::count_answers`] counts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Answers {
    Successes,
    /// Refusals too: for a list that shows what the action ends, which a
    /// refusal ("not found": ended elsewhere) may also have changed. Not a
    /// session's end, as for the tabs' lists (`action::answers`).
    All,
}

impl SecurityChanges {
    /// The tab's counter; a section outside the tab counts into nothing.
    pub fn of_tab() -> Self {
        use_context().unwrap_or_else(Self::new)
    }

    fn new() -> Self {
        SecurityChanges { answers: RwSignal::new(0), successes: RwSignal::new(0) }
    }

    /// Every answer counted.
    pub fn get(&self) -> u32 {
        self.answers.get()
    }

    /// The successes counted.
    pub fn successes(&self) -> u32 {
        self.successes.get()
    }

    /// Counts the answers of `action` that `which` names.
    pub fn count_answers<S>(&self, action: ServerAction<S>, which: Answers)
    where
        S: leptos::server_fn::ServerFn<Error = crate::model::AppError>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Output: Clone + Send + Sync + 'static,
    {
        let this = *self;
        Effect::new(move |_| {
            let (answered, succeeded) = action.value().with(|v| match v {
                Some(Ok(_)) => (true, true),
                Some(Err(crate::model::AppError::Unauthenticated)) => (false, false),
                Some(Err(_)) => (which == Answers::All, false),
                None => (false, false),
            });
            if answered {
                this.answers.update(|n| *n += 1);
            }
            if succeeded {
                this.successes.update(|n| *n += 1);
            }
        });
    }
}

#[component]
pub fn AccountTab() -> impl IntoView {
    provide_context(SecurityChanges::new());
    // Its own copy of the user, not the page's: the page's copy is refetched
    // after a save (for the top bar), which must not re-create these forms.
    let user = signed_in_user_resource();
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                past_dry_runs().await;
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
