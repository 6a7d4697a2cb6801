//! The signed-in user as the My Account page and its tabs read it.
use leptos::prelude::*;

use crate::api::log_in::signed_in_user;
use crate::components::loaded::server_resource;
use crate::model::{AppError, CurrentUser};

/// The page's own copy of the signed-in user, for the top bar and tab bar. A
/// tab refetches it after changing the name. Tabs that need the user load
/// their own copy with [`signed_in_user_resource`]: no resource is read in
/// two `<Suspense>`s, a rule kept by choice since the stalls once blamed on
/// that (leptos #4851) were found to be leptos #4773 (the README's
/// development notes).
#[derive(Clone, Copy)]
pub struct UserResource(pub Resource<Result<CurrentUser, AppError>>);

pub fn signed_in_user_resource() -> Resource<Result<CurrentUser, AppError>> {
    server_resource(|| (), |_| signed_in_user())
}
