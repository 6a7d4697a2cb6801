//! Phone numbers: provisioning from the local pool, the demo plan's limit,
//! owners, release, the hand-over on deletion, and other accounts' refusals.
use std::collections::HashSet;

use app::domain::admin::{invitations, users};
use app::domain::core::actor::{Admin, Operator};
use app::domain::core::limits::Plan;
use app::domain::core::provisioning::{self, default_pool, Provisioned};
use app::domain::core::quota::{Action, Limit, Per};
use app::domain::entity::{local_number_pool, phone_number};
use app::domain::features::phone_numbers::{
    self, demo_limit, NUMBER_GONE, OWNER_CHANGED, OWNER_DISABLED, POOL_EMPTY,
};
use app::domain::operator;
use app::domain::testing::{
    account_with_admin, add_user, fresh_concurrent_domain, fresh_domain, Snapshot,
};
use app::domain::Domain;
use app::model::{AppError, OwnerChange, UserSort};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

async fn stocked(pool: &[Provisioned]) -> Domain {
    let (d, _) = fresh_domain().await;
    provisioning::stock_local_pool(&d.db, pool).await.unwrap();
    d
}

fn numbers(list: &[(&str, bool)]) -> Vec<Provisioned> {
    list.iter().map(|(e164, pci)| Provisioned { e164: e164.to_string(), pci: *pci }).collect()
}

async fn full_plan(d: &Domain, email: &str) {
    operator::set_plan(d, &Operator::from_command_line(), email, Plan::Full).await.unwrap();
}

/// Demo accounts may request `max` numbers per `per` in 30 days.
fn limit_demo_requests(d: &mut Domain, per: Per, max: i32) {
    let window = chrono::Duration::days(30);
    d.quotas.set(Limit { action: Action::DemoNumberRequest, per, max, window });
}

/// The admin of a new demo account, acting from 198.51.100.`last`.
async fn demo_admin(d: &Domain, email: &str, last: u8) -> Admin {
    let client = Some(std::net::IpAddr::from([198, 51, 100, last]));
    account_with_admin(d, "Acme", email).await.from_address(client).admin().unwrap()
}

async fn free_numbers(d: &Domain) -> u64 {
    local_number_pool::Entity::find()
        .filter(local_number_pool::Column::TakenBy.is_null())
        .count(&d.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_admin_requests_a_toll_free_number_and_owns_it() {
    let d = stocked(&numbers(&[("+18005550100", true), ("+18885550101", false)])).await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let row = phone_numbers::request(&d, &admin).await.unwrap();
    assert_eq!((row.e164.as_str(), row.pci), ("+18005550100", true));
    assert_eq!((row.owner.id, row.owner.email.as_str()), (ada.user_id(), "ada@example.com"));
    let listed = phone_numbers::list(&d, &admin).await.unwrap();
    assert_eq!(listed.rows, vec![row]);
    assert_eq!(free_numbers(&d).await, 1);
}

#[tokio::test]
async fn a_demo_account_holds_one_number_and_a_full_one_more() {
    let mut d = stocked(&default_pool()).await;
    d.support_email = Some("help@voice.example".into());
    let limit = demo_limit(&d);
    assert!(limit.ends_with("contact support at help@voice.example."), "{limit}");
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    assert_eq!(phone_numbers::list(&d, &admin).await.unwrap().limit, None);
    phone_numbers::request(&d, &admin).await.unwrap();
    // The tab explains the limit before the admin tries...
    assert_eq!(phone_numbers::list(&d, &admin).await.unwrap().limit, Some(limit.clone()));
    // ...and the server refuses anyway, changing nothing.
    let before = Snapshot::take(&d).await;
    assert_eq!(phone_numbers::request(&d, &admin).await, Err(AppError::Conflict(limit)));
    before.assert_unchanged(&d).await;
    assert_eq!(phone_number::Entity::find().count(&d.db).await.unwrap(), 1);
    assert_eq!(free_numbers(&d).await, 39);

    full_plan(&d, "ada@example.com").await;
    phone_numbers::request(&d, &admin).await.unwrap();
    phone_numbers::request(&d, &admin).await.unwrap();
    let listed = phone_numbers::list(&d, &admin).await.unwrap();
    assert_eq!((listed.rows.len(), listed.limit), (3, None));

    // Holding more than a demo account holds, it is not moved back onto
    // the demo plan (which numbers to give up is the account's choice), and
    // nothing changes; holding one, it is, and no further one comes.
    let op = Operator::from_command_line();
    let before = Snapshot::take(&d).await;
    assert_eq!(
        operator::set_plan(&d, &op, "ada@example.com", Plan::Demo).await,
        Err(AppError::Conflict(
            "Acme holds 3 phone numbers; a demo account holds at most 1: release 2 first.".into()
        ))
    );
    before.assert_unchanged(&d).await;
    for row in &listed.rows[1..] {
        phone_numbers::release(&d, &admin, row.id).await.unwrap();
    }
    assert_eq!(operator::set_plan(&d, &op, "ada@example.com", Plan::Demo).await, Ok(Plan::Full));
    assert_eq!(phone_numbers::list(&d, &admin).await.unwrap().rows.len(), 1);
    let before = Snapshot::take(&d).await;
    assert_eq!(phone_numbers::request(&d, &admin).await, Err(AppError::Conflict(demo_limit(&d))));
    before.assert_unchanged(&d).await;
}

#[tokio::test]
async fn an_empty_pool_is_a_clear_message_and_changes_nothing() {
    let d = stocked(&numbers(&[("+18005550100", false)])).await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let grace = account_with_admin(&d, "Globex", "grace@example.com").await;
    phone_numbers::request(&d, &ada.admin().unwrap()).await.unwrap();
    let before = Snapshot::take(&d).await;
    let refused = phone_numbers::request(&d, &grace.admin().unwrap()).await;
    assert_eq!(refused, Err(AppError::Conflict(POOL_EMPTY.into())));
    before.assert_unchanged(&d).await;
    assert!(phone_numbers::list(&d, &grace.admin().unwrap()).await.unwrap().rows.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_never_get_the_same_number() {
    let (d, _) = fresh_concurrent_domain().await;
    provisioning::stock_local_pool(&d.db, &default_pool()).await.unwrap();
    // Two accounts with two admins each, every admin asking three times at once.
    let mut admins = Vec::new();
    for company in ["acme", "globex"] {
        let first = account_with_admin(&d, company, &format!("ada@{company}.com")).await;
        full_plan(&d, &format!("ada@{company}.com")).await;
        let second = add_user(&d, first.account_id(), &format!("grace@{company}.com"), true).await;
        admins.extend([first.admin().unwrap(), second.admin().unwrap()]);
    }
    let mut tasks = Vec::new();
    for admin in admins.iter().cycle().take(12) {
        let (d, admin) = (d.clone(), admin.clone());
        tasks.push(tokio::spawn(async move { phone_numbers::request(&d, &admin).await }));
    }
    let mut got = Vec::new();
    for task in tasks {
        got.push(task.await.unwrap().expect("every request gets a number").e164);
    }
    let distinct: HashSet<_> = got.iter().collect();
    assert_eq!(distinct.len(), 12, "{got:?}");
    assert_eq!(phone_number::Entity::find().count(&d.db).await.unwrap(), 12);
    assert_eq!(free_numbers(&d).await, 40 - 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_demo_limit_holds_under_simultaneous_requests() {
    let (d, _) = fresh_concurrent_domain().await;
    provisioning::stock_local_pool(&d.db, &default_pool()).await.unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await;
    let admins = [ada.admin().unwrap(), grace.admin().unwrap()];
    let limit = &demo_limit(&d);
    let burst = || {
        let tasks: Vec<_> = admins
            .iter()
            .cycle()
            .take(8)
            .cloned()
            .map(|admin| {
                let d = d.clone();
                tokio::spawn(async move { phone_numbers::request(&d, &admin).await })
            })
            .collect();
        async move {
            let mut granted = 0;
            for task in tasks {
                match task.await.unwrap() {
                    Ok(_) => granted += 1,
                    Err(refused) => assert_eq!(refused, AppError::Conflict(limit.clone())),
                }
            }
            granted
        }
    };
    assert_eq!(burst().await, 1, "a demo account holds one number, however many ask at once");
    assert_eq!(phone_number::Entity::find().count(&d.db).await.unwrap(), 1);
    assert_eq!(free_numbers(&d).await, 40 - 1, "no number left taken but unheld");
    // Once it holds its number, a burst of requests is refused whole and changes nothing.
    let before = Snapshot::take(&d).await;
    assert_eq!(burst().await, 0);
    before.assert_unchanged(&d).await;
}

#[tokio::test]
async fn owners_are_users_of_the_account_and_changes_apply_all_or_nothing() {
    let d = stocked(&default_pool()).await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    full_plan(&d, "ada@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let stranger = account_with_admin(&d, "Globex", "eve@example.com").await;
    let admin = ada.admin().unwrap();
    let first = phone_numbers::request(&d, &admin).await.unwrap();
    let second = phone_numbers::request(&d, &admin).await.unwrap();
    assert!(phone_numbers::owned_by_me(&d, &bob).await.unwrap().is_empty());

    // A user of another account cannot own this account's number; the valid
    // change sent with it is not applied either.
    let before = Snapshot::take(&d).await;
    let err = phone_numbers::save_owners(
        &d,
        &admin,
        &[
            OwnerChange {
                number_id: first.id,
                from_owner_id: first.owner.id,
                owner_id: bob.user_id(),
            },
            OwnerChange {
                number_id: second.id,
                from_owner_id: second.owner.id,
                owner_id: stranger.user_id(),
            },
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.message_for(&format!("owner-{}", second.id)).as_deref(),
        Some("Choose the owner among the users of this account.")
    );
    before.assert_unchanged(&d).await;
    assert!(phone_numbers::owned_by_me(&d, &bob).await.unwrap().is_empty());

    let saved = phone_numbers::save_owners(
        &d,
        &admin,
        &[OwnerChange {
            number_id: first.id,
            from_owner_id: first.owner.id,
            owner_id: bob.user_id(),
        }],
    )
    .await
    .unwrap();
    assert_eq!(saved.numbers.rows[0].owner.email, "bob@example.com");
    assert_eq!(saved.stopped, [], "it ran nothing");
    let bobs = phone_numbers::owned_by_me(&d, &bob).await.unwrap();
    assert_eq!(bobs.iter().map(|r| r.id).collect::<Vec<_>>(), vec![first.id]);
    assert_eq!(phone_numbers::owned_by_me(&d, &ada).await.unwrap()[0].id, second.id);
}

#[tokio::test]
async fn an_owner_change_from_a_stale_page_is_refused_and_changes_nothing() {
    let d = stocked(&default_pool()).await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    full_plan(&d, "ada@example.com").await;
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let cy = add_user(&d, ada.account_id(), "cy@example.com", false).await;
    let (adas_page, graces_page) = (ada.admin().unwrap(), grace.admin().unwrap());
    let number = phone_numbers::request(&d, &adas_page).await.unwrap();
    let spare = phone_numbers::request(&d, &adas_page).await.unwrap();
    let change = |number: i32, to: i32| OwnerChange {
        number_id: number,
        from_owner_id: ada.user_id(),
        owner_id: to,
    };
    // Both pages show Ada as the owner; Grace gives the number to Bob first.
    phone_numbers::save_owners(&d, &graces_page, &[change(number.id, bob.user_id())])
        .await
        .unwrap();

    // Ada's page, still showing Ada, gives it to Cy: refused beside the
    // number, and the spare's change sent with it is not applied either.
    let before = Snapshot::take(&d).await;
    let stale = [change(spare.id, cy.user_id()), change(number.id, cy.user_id())];
    let refused = phone_numbers::save_owners(&d, &adas_page, &stale).await.unwrap_err();
    assert_eq!(
        refused.message_for(&format!("owner-{}", number.id)).as_deref(),
        Some(OWNER_CHANGED)
    );
    before.assert_unchanged(&d).await;
    assert_eq!(phone_numbers::owned_by_me(&d, &bob).await.unwrap()[0].id, number.id);

    // Asking for what is already so is no conflict: nothing to undo.
    phone_numbers::save_owners(&d, &adas_page, &[change(number.id, bob.user_id())]).await.unwrap();
    // From the owner it has now, the change goes through.
    let fresh = OwnerChange { from_owner_id: bob.user_id(), ..change(number.id, cy.user_id()) };
    phone_numbers::save_owners(&d, &adas_page, &[fresh]).await.unwrap();
    assert_eq!(phone_numbers::owned_by_me(&d, &cy).await.unwrap()[0].id, number.id);
}

#[tokio::test]
async fn a_number_released_meanwhile_is_named_and_nothing_else_changes() {
    let d = stocked(&default_pool()).await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    full_plan(&d, "ada@example.com").await;
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let (adas_page, graces_page) = (ada.admin().unwrap(), grace.admin().unwrap());
    let kept = phone_numbers::request(&d, &adas_page).await.unwrap();
    let gone = phone_numbers::request(&d, &adas_page).await.unwrap();
    // Grace releases a number Ada's page still lists.
    phone_numbers::release(&d, &graces_page, gone.id).await.unwrap();

    let before = Snapshot::take(&d).await;
    let to_bob = |id: i32| OwnerChange {
        number_id: id,
        from_owner_id: ada.user_id(),
        owner_id: bob.user_id(),
    };
    let refused =
        phone_numbers::save_owners(&d, &adas_page, &[to_bob(kept.id), to_bob(gone.id)]).await;
    let refused = refused.unwrap_err();
    assert_eq!(refused.message_for(&format!("owner-{}", gone.id)).as_deref(), Some(NUMBER_GONE));
    before.assert_unchanged(&d).await;
    assert!(phone_numbers::owned_by_me(&d, &bob).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_disabled_user_keeps_their_numbers_but_is_given_none() {
    let d = stocked(&default_pool()).await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    full_plan(&d, "ada@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let admin = ada.admin().unwrap();
    let theirs = phone_numbers::request(&d, &admin).await.unwrap();
    let spare = phone_numbers::request(&d, &admin).await.unwrap();
    let change = |id: i32, from: i32, to: i32| OwnerChange {
        number_id: id,
        from_owner_id: from,
        owner_id: to,
    };
    phone_numbers::save_owners(&d, &admin, &[change(theirs.id, ada.user_id(), bob.user_id())])
        .await
        .unwrap();
    users::disable(&d, &admin, bob.user_id()).await.unwrap();

    // The picker no longer offers Bob, and a save naming him is refused
    // beside the number.
    let offered = phone_numbers::owner_choices(&d, &admin, "bob").await.unwrap();
    assert!(offered.is_empty(), "{offered:?}");
    let before = Snapshot::take(&d).await;
    let refused =
        phone_numbers::save_owners(&d, &admin, &[change(spare.id, ada.user_id(), bob.user_id())])
            .await
            .unwrap_err();
    assert_eq!(
        refused.message_for(&format!("owner-{}", spare.id)).as_deref(),
        Some(OWNER_DISABLED)
    );
    before.assert_unchanged(&d).await;

    // What he had stays his (a save that leaves it so is no change), and
    // it can be taken from him.
    let listed = phone_numbers::list(&d, &admin).await.unwrap().rows;
    let his = listed.iter().find(|r| r.id == theirs.id).unwrap();
    assert_eq!(his.owner.id, bob.user_id());
    phone_numbers::save_owners(&d, &admin, &[change(theirs.id, bob.user_id(), bob.user_id())])
        .await
        .unwrap();
    phone_numbers::save_owners(&d, &admin, &[change(theirs.id, bob.user_id(), ada.user_id())])
        .await
        .unwrap();
    assert_eq!(phone_numbers::owned_by_me(&d, &ada).await.unwrap().len(), 2);
}

#[tokio::test]
async fn another_accounts_numbers_are_not_found() {
    let d = stocked(&default_pool()).await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let eve = account_with_admin(&d, "Globex", "eve@example.com").await;
    let theirs = phone_numbers::request(&d, &ada.admin().unwrap()).await.unwrap();
    let eve_admin = eve.admin().unwrap();
    assert!(phone_numbers::list(&d, &eve_admin).await.unwrap().rows.is_empty());
    let before = Snapshot::take(&d).await;
    assert_eq!(phone_numbers::release(&d, &eve_admin, theirs.id).await, Err(AppError::NotFound));
    let steal = [OwnerChange {
        number_id: theirs.id,
        from_owner_id: theirs.owner.id,
        owner_id: eve.user_id(),
    }];
    // Said as for a number released meanwhile: nothing tells it is Ada's.
    let refused = phone_numbers::save_owners(&d, &eve_admin, &steal).await.unwrap_err();
    assert_eq!(refused.message_for(&format!("owner-{}", theirs.id)).as_deref(), Some(NUMBER_GONE));
    before.assert_unchanged(&d).await;
    // Still Ada's, still held.
    assert_eq!(phone_numbers::owned_by_me(&d, &ada).await.unwrap().len(), 1);
    // The picker offers only the admin's own account.
    let offered = phone_numbers::owner_choices(&d, &eve_admin, "").await.unwrap();
    assert_eq!(
        offered.iter().map(|u| u.email.as_str()).collect::<Vec<_>>(),
        vec!["eve@example.com"]
    );
}

#[tokio::test]
async fn a_released_number_rests_out_its_cooldown_then_returns_to_the_pool() {
    let (d, clock) = fresh_domain().await;
    provisioning::stock_local_pool(&d.db, &numbers(&[("+18005550100", false)])).await.unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let held = phone_numbers::request(&d, &admin).await.unwrap();
    assert_eq!(free_numbers(&d).await, 0);
    phone_numbers::release(&d, &admin, held.id).await.unwrap();
    assert!(phone_numbers::list(&d, &admin).await.unwrap().rows.is_empty());
    assert_eq!(free_numbers(&d).await, 1);
    // Released, nobody gets it until the cool-down is over, so calls meant
    // for Acme do not reach the next holder.
    let grace = account_with_admin(&d, "Globex", "grace@example.com").await;
    let globex = grace.admin().unwrap();
    clock.advance(provisioning::COOLDOWN - chrono::Duration::minutes(1));
    let before = Snapshot::take(&d).await;
    let early = phone_numbers::request(&d, &globex).await;
    assert_eq!(early, Err(AppError::Conflict(POOL_EMPTY.into())));
    before.assert_unchanged(&d).await;
    clock.advance(chrono::Duration::minutes(1));
    assert_eq!(phone_numbers::request(&d, &globex).await.unwrap().e164, "+18005550100");
}

#[tokio::test]
async fn a_demo_account_cannot_empty_the_pool_by_requesting_and_releasing() {
    let d = stocked(&default_pool()).await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    // Each released number rests out its cool-down, out of everyone's reach.
    for _ in 0..3 {
        let held = phone_numbers::request(&d, &admin).await.unwrap();
        phone_numbers::release(&d, &admin, held.id).await.unwrap();
    }
    let before = Snapshot::take(&d).await;
    let fourth = phone_numbers::request(&d, &admin).await;
    let why = "Too many phone-number requests on a demo account for now. Try again in 30 days.";
    assert_eq!(fourth, Err(AppError::TooManyRequests(why.into())));
    before.assert_unchanged(&d).await;
    // A full account is held to the usual limits only.
    full_plan(&d, "ada@example.com").await;
    phone_numbers::request(&d, &admin).await.unwrap();
}

#[tokio::test]
async fn a_declined_invitees_numbers_pass_to_the_longest_standing_admin() {
    let d = stocked(&default_pool()).await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    // Grace, a later admin, invites Cy and gives him the number: it still
    // goes to Ada, who has been an admin longest.
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await;
    let admin = grace.admin().unwrap();
    let form = users::UserForm {
        first_name: "Cy".into(),
        last_name: "Doe".into(),
        email: "cy@example.com".into(),
        ..Default::default()
    };
    let cy = users::invite(&d, &admin, form).await.unwrap();
    let number = phone_numbers::request(&d, &admin).await.unwrap();
    let change =
        [OwnerChange { number_id: number.id, from_owner_id: number.owner.id, owner_id: cy.id }];
    phone_numbers::save_owners(&d, &admin, &change).await.unwrap();
    let token = app::domain::testing::link_token(&d, "cy@example.com", "/activate").await;
    invitations::decline_invitation(&d, &token).await.unwrap();
    let rows = phone_numbers::list(&d, &admin).await.unwrap().rows;
    assert_eq!(rows.len(), 1, "the number is kept");
    assert_eq!(rows[0].owner.id, ada.user_id());
}

#[tokio::test]
async fn a_deleted_users_numbers_pass_to_the_admin_who_deleted_them() {
    let d = stocked(&default_pool()).await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    full_plan(&d, "ada@example.com").await;
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let admin = ada.admin().unwrap();
    let number = phone_numbers::request(&d, &admin).await.unwrap();
    phone_numbers::save_owners(
        &d,
        &admin,
        &[OwnerChange {
            number_id: number.id,
            from_owner_id: number.owner.id,
            owner_id: bob.user_id(),
        }],
    )
    .await
    .unwrap();
    // Grace, not Ada, deletes Bob: the number becomes Grace's.
    users::delete(&d, &grace.admin().unwrap(), bob.user_id()).await.unwrap();
    let rows = phone_numbers::list(&d, &admin).await.unwrap().rows;
    assert_eq!(rows.len(), 1, "the number is kept");
    assert_eq!(rows[0].owner.id, grace.user_id());
}

#[tokio::test]
async fn a_demoted_admin_can_no_longer_request_reassign_or_release() {
    let d = stocked(&default_pool()).await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    full_plan(&d, "ada@example.com").await;
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await;
    let stale = grace.admin().unwrap();
    let number = phone_numbers::request(&d, &ada.admin().unwrap()).await.unwrap();
    let form = users::UserForm {
        first_name: "Grace".into(),
        last_name: "Hopper".into(),
        email: "grace@example.com".into(),
        ..Default::default()
    };
    users::update(&d, &ada.admin().unwrap(), grace.user_id(), form).await.unwrap();
    let before = Snapshot::take(&d).await;
    assert!(matches!(phone_numbers::request(&d, &stale).await, Err(AppError::Forbidden(_))));
    assert!(matches!(
        phone_numbers::release(&d, &stale, number.id).await,
        Err(AppError::Forbidden(_))
    ));
    let change = [OwnerChange {
        number_id: number.id,
        from_owner_id: number.owner.id,
        owner_id: grace.user_id(),
    }];
    assert!(matches!(
        phone_numbers::save_owners(&d, &stale, &change).await,
        Err(AppError::Forbidden(_))
    ));
    before.assert_unchanged(&d).await;
    assert_eq!(phone_numbers::list(&d, &ada.admin().unwrap()).await.unwrap().rows.len(), 1);
}

#[tokio::test]
async fn the_owner_picker_searches_and_stays_small() {
    let d = stocked(&default_pool()).await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    for i in 0..20 {
        add_user(&d, ada.account_id(), &format!("agent{i:02}@example.com"), false).await;
    }
    let admin = ada.admin().unwrap();
    let all = phone_numbers::owner_choices(&d, &admin, "").await.unwrap();
    assert_eq!(all.len() as u64, app::domain::core::people::CHOICES);
    let found = phone_numbers::owner_choices(&d, &admin, "AGENT07").await.unwrap();
    assert_eq!(
        found.iter().map(|u| u.email.as_str()).collect::<Vec<_>>(),
        vec!["agent07@example.com"]
    );
    let before = Snapshot::take(&d).await;
    let long = phone_numbers::owner_choices(&d, &admin, &"x".repeat(101)).await.err().unwrap();
    assert_eq!(long.message_for("search").as_deref(), Some("Search at most 100 characters."));
    // No name or address holds a NUL, and PostgreSQL refuses one in a query:
    // the list says so on both databases, and the users tab alike.
    let nul = phone_numbers::owner_choices(&d, &admin, "agent\u{0}").await.err().unwrap();
    let said = Some("Search must not contain control characters.");
    assert_eq!(nul.message_for("search").as_deref(), said);
    let listed = users::list_users(&d, &admin, "\u{0}", UserSort::Name, None).await.err().unwrap();
    assert_eq!(listed.message_for("search").as_deref(), said);
    before.assert_unchanged(&d).await;
}

/// Anyone can sign up for a demo: new demo accounts from one client address,
/// and all of them together, are counted, so a crowd of them cannot take
/// the stock. A full account is still served.
#[tokio::test]
async fn new_demo_accounts_cannot_take_the_stock_together() {
    let mut d = stocked(&default_pool()).await;
    limit_demo_requests(&mut d, Per::Client, 1);
    limit_demo_requests(&mut d, Per::Total, 2);
    let demo = async |email: &str, last| demo_admin(&d, email, last).await;
    let first = demo("ada@example.com", 1).await;
    phone_numbers::request(&d, &first).await.unwrap();
    // A second demo account from the same address.
    let same_address = demo("bob@example.com", 1).await;
    let before = Snapshot::take(&d).await;
    let refused = phone_numbers::request(&d, &same_address).await;
    let why = "Too many phone-number requests on a demo account for now. Try again in 30 days.";
    assert_eq!(refused, Err(AppError::TooManyRequests(why.into())));
    before.assert_unchanged(&d).await;
    // Others, each from an address of their own, until the total is reached.
    phone_numbers::request(&d, &demo("cy@example.com", 2).await).await.unwrap();
    let over_total = demo("di@example.com", 3).await;
    let before = Snapshot::take(&d).await;
    assert_eq!(
        phone_numbers::request(&d, &over_total).await,
        Err(AppError::TooManyRequests(why.into()))
    );
    before.assert_unchanged(&d).await;
    full_plan(&d, "di@example.com").await;
    phone_numbers::request(&d, &over_total).await.unwrap();
}

/// The demo total bounds how fast demo accounts take numbers; they also
/// hold, together, no more than it: else each month's new demo accounts
/// would take another window's worth, until a full account found the stock
/// empty. A number given back makes room again.
#[tokio::test]
async fn demo_accounts_together_hold_no_more_than_the_demo_total() {
    use app::domain::features::phone_numbers::demo_stock_full;
    let (mut d, clock) = fresh_domain().await;
    provisioning::stock_local_pool(&d.db, &default_pool()).await.unwrap();
    limit_demo_requests(&mut d, Per::Total, 2);
    let demo = async |email: &str, last| demo_admin(&d, email, last).await;
    let ada = demo("ada@example.com", 1).await;
    let ada_number = phone_numbers::request(&d, &ada).await.unwrap();
    phone_numbers::request(&d, &demo("bob@example.com", 2).await).await.unwrap();
    // A month on, the window's count is new, but the two numbers are still held.
    clock.advance(chrono::Duration::days(31));
    let cy = demo("cy@example.com", 3).await;
    let before = Snapshot::take(&d).await;
    assert_eq!(phone_numbers::request(&d, &cy).await, Err(AppError::Conflict(demo_stock_full(&d))));
    before.assert_unchanged(&d).await;
    // A full account is still served, and its number is not a demo's.
    let di = demo("di@example.com", 4).await;
    full_plan(&d, "di@example.com").await;
    phone_numbers::request(&d, &di).await.unwrap();
    let before = Snapshot::take(&d).await;
    assert_eq!(phone_numbers::request(&d, &cy).await, Err(AppError::Conflict(demo_stock_full(&d))));
    before.assert_unchanged(&d).await;
    // Ada gives hers back: Cy may take one.
    phone_numbers::release(&d, &ada, ada_number.id).await.unwrap();
    phone_numbers::request(&d, &cy).await.unwrap();
}

/// Two releases of one number at the same moment (a double click, two
/// admins): one gives it back and is recorded; the other is told it is gone
/// and gives back nothing, since by then the number may be someone else's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn releases_at_the_same_moment_give_the_number_back_once() {
    use app::domain::entity::activity_event;
    let (d, _) = fresh_concurrent_domain().await;
    provisioning::stock_local_pool(&d.db, &default_pool()).await.unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await;
    let number = phone_numbers::request(&d, &ada.admin().unwrap()).await.unwrap();
    let tasks: Vec<_> = [ada, grace]
        .iter()
        .cycle()
        .take(6)
        .map(|member| {
            let (d, admin) = (d.clone(), member.admin().unwrap());
            tokio::spawn(async move { phone_numbers::release(&d, &admin, number.id).await })
        })
        .collect();
    let mut released = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => released += 1,
            Err(refused) => assert_eq!(refused, AppError::NotFound),
        }
    }
    assert_eq!(released, 1);
    let events = activity_event::Entity::find()
        .filter(activity_event::Column::Kind.eq("phone_number.released"))
        .count(&d.db)
        .await
        .unwrap();
    assert_eq!(events, 1, "one release recorded");
}

/// Without a pool file the built-in numbers are stocked into an empty pool
/// only: a host started without the file beside hosts that have one adds no
/// made-up numbers to the stock they hand out, at that start or a later one.
#[tokio::test]
async fn the_built_in_pool_is_stocked_only_into_an_empty_pool() {
    let (d, _) = fresh_domain().await;
    assert_eq!(provisioning::stock_built_in_pool(&d.db).await.unwrap(), 40);
    assert_eq!(provisioning::stock_built_in_pool(&d.db).await.unwrap(), 0);
    assert_eq!(local_number_pool::Entity::find().count(&d.db).await.unwrap(), 40);

    let real = [Provisioned { e164: "+18775550199".into(), pci: true }];
    let d = stocked(&real).await;
    assert_eq!(provisioning::stock_built_in_pool(&d.db).await.unwrap(), 0);
    let held: Vec<String> = local_number_pool::Entity::find()
        .all(&d.db)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.e164)
        .collect();
    assert_eq!(held, ["+18775550199"]);
    // Given out, the file's number still keeps the made-up ones out.
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    phone_numbers::request(&d, &ada.admin().unwrap()).await.unwrap();
    assert_eq!(provisioning::stock_built_in_pool(&d.db).await.unwrap(), 0);
    assert_eq!(local_number_pool::Entity::find().count(&d.db).await.unwrap(), 1);
}

/// The demo plan's stock is counted from the numbers held, each one's
/// account looked up by its key: never a list of every demo account (anyone
/// can sign up, so they are many), read whole at each request for a number.
#[tokio::test]
async fn the_demo_stock_is_counted_without_reading_every_demo_account() {
    use sea_orm::QueryTrait;
    let (d, _) = fresh_domain().await;
    let backend = d.db.get_database_backend();
    let count =
        app::domain::core::scope::held_on_plan::<phone_number::Entity>(Plan::Demo).build(backend);
    assert!(count.sql.contains("EXISTS") && !count.sql.contains(" IN "), "{}", count.sql);
    if backend == sea_orm::DatabaseBackend::Sqlite {
        let plan = app::domain::testing::query_plan(&d, count).await;
        assert!(!plan.contains("SCAN accounts") && !plan.contains("LIST SUBQUERY"), "{plan}");
        assert!(plan.contains("SEARCH accounts"), "{plan}");
    }
}
