//! The activity log (issue #17 item 1): every change and sign-in writes one
//! event, with who, what, which target and the client address, in the
//! change's own transaction (a change that fails leaves none); admins list
//! their own account's events only, newest first, by keyset pages, filtered;
//! users see their own security events; retention removes old events; and
//! no secret ever reaches the table.
use std::net::IpAddr;

use app::domain::admin::{account_info, activity as admin_activity, invitations, users};
use app::domain::core::activity::{self, By, Counted, Event, Filter};
use app::domain::core::actor::{Member, Operator};
use app::domain::core::clock::ManualClock;
use app::domain::core::limits::Plan;
use app::domain::core::provisioning::{self, default_pool};
use app::domain::core::quota::QuotaPolicy;
use app::domain::core::scope::Scoped;
use app::domain::entity::{activity_event, oauth_token, user};
use app::domain::features::certificates::{self, NewCertificate};
use app::domain::features::integrations;
use app::domain::features::js_libraries::{self, LibraryForm};
use app::domain::features::{applications, deployments, oauth_tokens, phone_numbers};
use app::domain::identity::log_in::{self, LogIn};
use app::domain::identity::sign_up::{self, SignUp};
use app::domain::identity::two_factor::{self, code_at, step_of};
use app::domain::identity::{
    activity as my_activity, developer_keys, email_links, profile, sessions,
};
use app::domain::operator::{self, NewUserByOperator};
use app::domain::testing::log_in_by_password;
use app::domain::testing::samples::{AWS_SECRET, PRIVATE_KEY_MATERIAL};
use app::domain::testing::{
    account_with_admin, add_user, base32_decode, fresh_domain, link_token, mark_two_factor_on,
    query_plan, s3_integration, unused_mail_folder, Snapshot, PASSWORD,
};
use app::domain::{jobs, Domain};
use app::model::{AccountInfo, ActivityFilter, ActivityKind, ActivityRow, AppError, OwnerChange};
use chrono::Duration;
use rcgen::{CertificateParams, KeyPair};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QueryTrait, Set, Statement,
};

const NEW_PASSWORD: &str = "Maple-Canyon-Drift-19";
const OP: fn() -> Operator = Operator::from_command_line;

fn address() -> IpAddr {
    "203.0.113.7".parse().unwrap()
}

/// A fixture member acting from [`address`].
fn from_here(member: Member) -> Member {
    member.from_address(Some(address()))
}

/// Reads the events written since the last look.
struct Log {
    seen: i64,
}

impl Log {
    fn new() -> Self {
        Log { seen: 0 }
    }

    async fn new_events(&mut self, d: &Domain) -> Vec<activity_event::Model> {
        let rows = activity_event::Entity::find()
            .filter(activity_event::Column::Id.gt(self.seen))
            .order_by_asc(activity_event::Column::Id)
            .all(&d.db)
            .await
            .unwrap();
        if let Some(last) = rows.last() {
            self.seen = last.id;
        }
        rows
    }

    /// Exactly one new event, of `kind`, by `actor`, on `target`; returned.
    async fn one(
        &mut self,
        d: &Domain,
        kind: ActivityKind,
        actor: &str,
        target: &str,
    ) -> activity_event::Model {
        let rows = self.new_events(d).await;
        let [event] = rows.as_slice() else { panic!("one {kind:?} event, not {rows:#?}") };
        assert_eq!(event.kind, kind.as_str(), "{rows:#?}");
        let event = event.clone();
        assert_eq!((event.actor.as_str(), event.target.as_str()), (actor, target), "{kind:?}");
        event
    }

    /// As [`Log::one`], and the event came from [`address`].
    async fn one_from_here(
        &mut self,
        d: &Domain,
        kind: ActivityKind,
        actor: &str,
        target: &str,
    ) -> activity_event::Model {
        let event = self.one(d, kind, actor, target).await;
        assert_eq!(event.client_address.as_deref(), Some("203.0.113.7"), "{kind:?}");
        event
    }

    async fn none(&mut self, d: &Domain) {
        let rows = self.new_events(d).await;
        assert!(rows.is_empty(), "no event expected: {rows:#?}");
    }
}

async fn all_events(d: &Domain) -> Vec<activity_event::Model> {
    activity_event::Entity::find().all(&d.db).await.unwrap()
}

fn current_code(d: &Domain, secret: &[u8]) -> String {
    format!("{:06}", code_at(secret, step_of(d.clock.now())))
}

async fn stocked() -> (Domain, ManualClock) {
    let (d, clock) = fresh_domain().await;
    provisioning::stock_local_pool(&d.db, &default_pool()).await.unwrap();
    (d, clock)
}

fn certificate(domain: &str) -> NewCertificate {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec![domain.to_owned()]).unwrap().self_signed(&key).unwrap();
    NewCertificate {
        domain: domain.into(),
        certificate: cert.pem(),
        private_key: key.serialize_pem(),
    }
}

fn user_form(first: &str, email: &str) -> users::UserForm {
    users::UserForm {
        first_name: first.into(),
        last_name: "Doe".into(),
        email: email.into(),
        ..Default::default()
    }
}

/// A Stripe test-mode token of `owner` for `stripe_account`, stored as the
/// callback stores one (its secret a stand-in: these tests never open it).
async fn stripe_token(d: &Domain, owner: &Member, stripe_account: &str) -> oauth_token::Model {
    oauth_token::ActiveModel {
        account_id: Set(owner.account_id()),
        owner_id: Set(owner.user_id()),
        provider: Set("stripe".into()),
        livemode: Set(false),
        provider_account_id: Set(stripe_account.into()),
        key_id: Set("k".into()),
        ciphertext: Set("c".into()),
        created_at: Set(d.clock.now()),
        ..Default::default()
    }
    .insert(&d.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn managing_users_and_the_account_records_each_change() {
    let (d, _) = fresh_domain().await;
    let ada = from_here(account_with_admin(&d, "Acme", "ada@example.com").await);
    let admin = ada.admin().unwrap();
    let mut log = Log::new();
    let me = "ada@example.com";

    let info = AccountInfo { company_name: "Acme Ltd".into(), ..Default::default() };
    account_info::save(&d, &admin, info.clone()).await.unwrap();
    let saved = log.one_from_here(&d, ActivityKind::AccountInfoUpdated, me, "Acme Ltd").await;
    assert_eq!(saved.detail.as_deref(), Some("company name: Acme Ltd"));
    // Saved again as it is: nothing changed, nothing recorded.
    account_info::save(&d, &admin, info).await.unwrap();
    let more = log.new_events(&d).await;
    assert!(more.is_empty(), "{more:#?}");

    let bob = users::invite(&d, &admin, user_form("Bob", "bob@example.com")).await.unwrap();
    let invited = log.one_from_here(&d, ActivityKind::UserInvited, me, "bob@example.com").await;
    assert_eq!(invited.actor_user_id, Some(ada.user_id()));
    assert_eq!(invited.account_id, ada.account_id());

    users::resend_invitation(&d, &admin, bob.id).await.unwrap();
    log.one_from_here(&d, ActivityKind::InvitationResent, me, "bob@example.com").await;

    let mut edit = user_form("Bob", "bob@example.com");
    edit.can_create = true;
    users::update(&d, &admin, bob.id, edit.clone()).await.unwrap();
    let role = log.one_from_here(&d, ActivityKind::UserRoleChanged, me, "bob@example.com").await;
    // Only what changed, with what it was.
    assert_eq!(role.detail.as_deref(), Some("can create: yes (was no)"));
    edit.first_name = "Robert".into();
    users::update(&d, &admin, bob.id, edit).await.unwrap();
    let edited = log.one_from_here(&d, ActivityKind::UserUpdated, me, "bob@example.com").await;
    let detail = edited.detail.unwrap();
    assert!(detail.starts_with("name: Robert ") && detail.contains("(was Bob "), "{detail}");

    // Bob activates from his own address; the link's token is not recorded.
    let token = link_token(&d, "bob@example.com", "/activate").await;
    let bobs: IpAddr = "198.51.100.9".parse().unwrap();
    invitations::activate(&d, &token, NEW_PASSWORD, "t", Some(bobs)).await.unwrap();
    let events = log.new_events(&d).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["user.activated", "sign_in.succeeded"]);
    assert!(events.iter().all(
        |e| e.actor == "bob@example.com" && e.client_address.as_deref() == Some("198.51.100.9")
    ));

    users::send_password_reset(&d, &admin, bob.id).await.unwrap();
    log.one_from_here(&d, ActivityKind::PasswordResetSent, me, "bob@example.com").await;
    users::disable(&d, &admin, bob.id).await.unwrap();
    log.one_from_here(&d, ActivityKind::UserDisabled, me, "bob@example.com").await;
    // Disabling a disabled user changes nothing, and records nothing.
    users::disable(&d, &admin, bob.id).await.unwrap();
    log.none(&d).await;
    users::enable(&d, &admin, bob.id).await.unwrap();
    log.one_from_here(&d, ActivityKind::UserEnabled, me, "bob@example.com").await;
    users::delete(&d, &admin, bob.id).await.unwrap();
    log.one_from_here(&d, ActivityKind::UserDeleted, me, "bob@example.com").await;
    // Bob's events outlive him, with his address as it was.
    assert!(all_events(&d).await.iter().any(|e| e.actor == "bob@example.com"));
}

/// Gives each of `numbers` (owned by `from`) to `to`.
async fn give(d: &Domain, admin: &Member, numbers: &[i32], from: i32, to: i32) {
    let changes: Vec<OwnerChange> = numbers
        .iter()
        .map(|&number_id| OwnerChange { number_id, from_owner_id: from, owner_id: to })
        .collect();
    phone_numbers::save_owners(d, &admin.admin().unwrap(), &changes).await.unwrap();
}

/// Each event's kind, actor, target and detail.
fn described(events: &[activity_event::Model]) -> Vec<(&str, &str, &str, Option<&str>)> {
    events
        .iter()
        .map(|e| (e.kind.as_str(), e.actor.as_str(), e.target.as_str(), e.detail.as_deref()))
        .collect()
}

/// A user who goes passes their numbers on, and the log says where each
/// went and what it stopped running (an application its new owner cannot
/// see), as an admin's owner change does, and which of their applications
/// were renamed to tell them from the heir's. The events are by whoever made
/// the user go, after that event: the admin who deleted them, the invitee
/// who declined, or, for an invitation that expired, the console itself
/// (`system`, no user, no client address). Without them the admin saw a
/// number stop answering with no reason anywhere.
#[tokio::test]
async fn numbers_a_user_leaves_behind_are_logged_with_what_they_stopped_running() {
    let (d, clock) = stocked().await;
    let ada = from_here(account_with_admin(&d, "Acme", "ada@example.com").await);
    operator::set_plan(&d, &OP(), "ada@example.com", Plan::Full).await.unwrap();
    let admin = ada.admin().unwrap();
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await;
    // Carol, a member who may create applications.
    let carol = add_user(&d, ada.account_id(), "carol@example.com", false).await;
    let may_create =
        user::ActiveModel { id: Set(carol.user_id()), can_create: Set(true), ..Default::default() };
    may_create.update(&d.db).await.unwrap();
    // Grace's application, shared with Carol only, runs on one of Carol's
    // numbers; Carol's own IVR, named like Ada's, on another; the third
    // runs nothing.
    let graces = applications::create(&d, &grace, "Grace's IVR").await.unwrap();
    applications::share(&d, &grace, graces.id, carol.user_id()).await.unwrap();
    applications::create(&d, &ada, "IVR").await.unwrap();
    let carols = applications::create(&d, &carol, "IVR").await.unwrap();
    let mut numbers = Vec::new();
    for _ in 0..5 {
        numbers.push(phone_numbers::request(&d, &admin).await.unwrap());
    }
    numbers.sort_by(|a, b| a.e164.cmp(&b.e164));
    let (running, own, idle) = (&numbers[0], &numbers[1], &numbers[2]);
    give(&d, &ada, &[running.id, own.id, idle.id], ada.user_id(), carol.user_id()).await;
    deployments::deploy(&d, &carol, running.id, graces.id).await.unwrap();
    deployments::deploy(&d, &carol, own.id, carols.id).await.unwrap();
    let mut log = Log::new();
    log.new_events(&d).await;

    users::delete(&d, &admin, carol.user_id()).await.unwrap();
    let events = log.new_events(&d).await;
    assert_eq!(
        described(&events),
        [
            ("user.deleted", "ada@example.com", "carol@example.com", None),
            (
                "application.renamed",
                "ada@example.com",
                "IVR (from Carol Lovelace)",
                Some("from IVR")
            ),
            (
                "phone_number.owner_changed",
                "ada@example.com",
                running.e164.as_str(),
                Some("from carol@example.com to ada@example.com; off Grace's IVR, which they cannot see")
            ),
            (
                "phone_number.owner_changed",
                "ada@example.com",
                own.e164.as_str(),
                Some("from carol@example.com to ada@example.com")
            ),
            (
                "phone_number.owner_changed",
                "ada@example.com",
                idle.e164.as_str(),
                Some("from carol@example.com to ada@example.com")
            ),
        ]
    );
    for event in &events {
        assert_eq!(event.client_address.as_deref(), Some("203.0.113.7"));
        assert_eq!(event.actor_user_id, Some(ada.user_id()));
    }
    // What the log says happened: Carol's IVR, now Ada's, still runs.
    let adas = phone_numbers::owned_by_me(&d, &ada).await.unwrap();
    let on = |id: i32| adas.iter().find(|n| n.id == id).unwrap().deployed_to.clone();
    assert_eq!(on(running.id), None);
    assert_eq!(on(own.id).map(|a| a.id), Some(carols.id));

    // An invitee given a number: their invitation expires, and the clean-up
    // removes them.
    let bob = users::invite(&d, &admin, user_form("Bob", "bob@example.com")).await.unwrap();
    give(&d, &ada, &[numbers[3].id], ada.user_id(), bob.id).await;
    log.new_events(&d).await;
    clock.advance(Duration::days(31));
    assert_eq!(invitations::remove_expired_invitees(&d, 500).await.unwrap(), 1);
    let events = log.new_events(&d).await;
    assert_eq!(
        described(&events),
        [
            ("user.invitation_expired", "system", "bob@example.com", None),
            (
                "phone_number.owner_changed",
                "system",
                numbers[3].e164.as_str(),
                Some("from bob@example.com to ada@example.com")
            ),
        ]
    );
    for event in &events {
        assert_eq!((event.account_id, event.actor_user_id), (ada.account_id(), None));
        assert_eq!(event.client_address, None);
    }

    // An invitee given a number declines.
    let cy = users::invite(&d, &admin, user_form("Cy", "cy@example.com")).await.unwrap();
    give(&d, &ada, &[numbers[4].id], ada.user_id(), cy.id).await;
    log.new_events(&d).await;
    let token = link_token(&d, "cy@example.com", "/activate").await;
    invitations::decline_invitation(&d, &token).await.unwrap();
    let events = log.new_events(&d).await;
    assert_eq!(
        described(&events),
        [
            ("user.invitation_declined", "cy@example.com", "cy@example.com", None),
            (
                "phone_number.owner_changed",
                "cy@example.com",
                numbers[4].e164.as_str(),
                Some("from cy@example.com to ada@example.com")
            ),
        ]
    );
    assert!(events.iter().all(|e| e.actor_user_id == Some(cy.id)));
}

/// A number stops running an application its owner can no longer see: one
/// unshared from them, or deleted. The log says which numbers stopped and
/// why, whoever owns them, after the change that stopped them; numbers
/// running something else run on.
#[tokio::test]
async fn numbers_stopped_by_an_unshare_or_a_deleted_application_are_logged() {
    let (d, _) = stocked().await;
    let ada = from_here(account_with_admin(&d, "Acme", "ada@example.com").await);
    operator::set_plan(&d, &OP(), "ada@example.com", Plan::Full).await.unwrap();
    let admin = ada.admin().unwrap();
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let hotline = applications::create(&d, &ada, "Hotline").await.unwrap();
    applications::share(&d, &ada, hotline.id, bob.user_id()).await.unwrap();
    let bobs = phone_numbers::request(&d, &admin).await.unwrap();
    give(&d, &ada, &[bobs.id], ada.user_id(), bob.user_id()).await;
    let adas = phone_numbers::request(&d, &admin).await.unwrap();
    deployments::deploy(&d, &bob, bobs.id, hotline.id).await.unwrap();
    deployments::deploy(&d, &ada, adas.id, hotline.id).await.unwrap();
    let mut log = Log::new();
    log.new_events(&d).await;

    applications::unshare(&d, &ada, hotline.id, bob.user_id()).await.unwrap();
    assert_eq!(
        described(&log.new_events(&d).await),
        [
            ("application.unshared", "ada@example.com", "Hotline", Some("with bob@example.com")),
            (
                "phone_number.undeployed",
                "ada@example.com",
                bobs.e164.as_str(),
                Some("off Hotline, no longer shared with bob@example.com")
            ),
        ]
    );
    let running = phone_numbers::owned_by_me(&d, &ada).await.unwrap();
    assert_eq!(running[0].deployed_to.as_ref().map(|a| a.id), Some(hotline.id), "Ada's runs on");

    // Shared and deployed again, beside a number of Ada's on another
    // application: the deletion stops Bob's and Ada's, in number order.
    applications::share(&d, &ada, hotline.id, bob.user_id()).await.unwrap();
    deployments::deploy(&d, &bob, bobs.id, hotline.id).await.unwrap();
    let other = applications::create(&d, &ada, "Other").await.unwrap();
    let on_other = phone_numbers::request(&d, &admin).await.unwrap();
    deployments::deploy(&d, &ada, on_other.id, other.id).await.unwrap();
    log.new_events(&d).await;
    applications::delete(&d, &ada, hotline.id).await.unwrap();
    let mut stopped = [bobs.e164.as_str(), adas.e164.as_str()];
    stopped.sort();
    let deleted = Some("off Hotline, which was deleted");
    assert_eq!(
        described(&log.new_events(&d).await),
        [
            ("application.deleted", "ada@example.com", "Hotline", None),
            ("phone_number.undeployed", "ada@example.com", stopped[0], deleted),
            ("phone_number.undeployed", "ada@example.com", stopped[1], deleted),
        ]
    );
    let running = phone_numbers::owned_by_me(&d, &ada).await.unwrap();
    let on = |id: i32| running.iter().find(|n| n.id == id).unwrap().deployed_to.clone();
    assert_eq!(on(adas.id), None);
    assert_eq!(on(on_other.id).map(|a| a.id), Some(other.id));
}

/// A detail lists what fits and counts the rest, rather than cutting the
/// last name short.
#[test]
fn a_detail_lists_the_names_that_fit_and_counts_the_rest() {
    let names = ["ada@example.com", "bob@example.com", "cy@example.com"];
    assert_eq!(activity::names_within(&names, 100), names.join(", "));
    // Room for two and " and 1 more", not for all three.
    assert_eq!(activity::names_within(&names, 44), "ada@example.com, bob@example.com and 1 more");
    assert_eq!(activity::names_within(&names, 40), "ada@example.com and 2 more");
    assert_eq!(activity::names_within(&names, 10), "3 of them");
    assert_eq!(activity::names_within(&[], 10), "");
}

/// The check behind `record_all`'s debug assertion: a member's counted
/// change holds no remedy, and a remedy (never counted) brings along only
/// remedies and what removing a user brings about.
#[test]
fn a_remedy_brings_along_only_what_removing_a_user_brings_about() {
    use ActivityKind::*;
    let removal = [UserDeleted, ApplicationRenamed, PhoneNumberOwnerChanged, OAuthTokenDeleted];
    assert!(activity::counted_rightly(true, &removal));
    assert!(activity::counted_rightly(true, &[ApplicationDeleted, PhoneNumberUndeployed]));
    assert!(!activity::counted_rightly(true, &[PhoneNumberOwnerChanged]), "the remedy first");
    assert!(!activity::counted_rightly(true, &[PhoneNumberReleased, PhoneNumberDeployed]));
    let unshared = [ApplicationUnshared, PhoneNumberOwnerChanged];
    assert!(!activity::counted_rightly(true, &unshared), "only a deletion passes numbers on");
    assert!(activity::counted_rightly(false, &[PhoneNumberOwnerChanged, ApplicationRenamed]));
    assert!(!activity::counted_rightly(false, &[ApplicationCreated, UserDeleted]));
}

#[tokio::test]
async fn numbers_applications_and_resources_record_each_change() {
    let (d, clock) = stocked().await;
    let ada = from_here(account_with_admin(&d, "Acme", "ada@example.com").await);
    let admin = ada.admin().unwrap();
    let bob = from_here(add_user(&d, ada.account_id(), "bob@example.com", true).await);
    let mut log = Log::new();
    let me = "ada@example.com";

    operator::set_plan(&d, &OP(), me, Plan::Full).await.unwrap();
    log.one(&d, ActivityKind::OperatorPlanChanged, "operator", "Acme").await;

    let number = phone_numbers::request(&d, &admin).await.unwrap();
    let e164 = number.e164.clone();
    log.one_from_here(&d, ActivityKind::PhoneNumberRequested, me, &e164).await;

    let app = applications::create(&d, &ada, "Hotline").await.unwrap();
    log.one_from_here(&d, ActivityKind::ApplicationCreated, me, "Hotline").await;
    let copy = applications::clone(&d, &ada, app.id).await.unwrap();
    log.one_from_here(&d, ActivityKind::ApplicationCloned, me, "Hotline copy").await;
    applications::share(&d, &ada, app.id, bob.user_id()).await.unwrap();
    let shared = log.one_from_here(&d, ActivityKind::ApplicationShared, me, "Hotline").await;
    assert_eq!(shared.detail.as_deref(), Some("with bob@example.com"));
    // Shared again (a double click): nothing changed, nothing recorded.
    applications::share(&d, &ada, app.id, bob.user_id()).await.unwrap();
    assert_eq!(log.new_events(&d).await, []);

    deployments::deploy(&d, &ada, number.id, app.id).await.unwrap();
    log.one_from_here(&d, ActivityKind::PhoneNumberDeployed, me, &e164).await;
    // No token, chosen as it is (none): nothing to record.
    deployments::assign_token(&d, &ada, number.id, None).await.unwrap();
    assert_eq!(log.new_events(&d).await, []);
    let token = stripe_token(&d, &ada, "acct_0").await;
    deployments::assign_token(&d, &ada, number.id, Some(token.id)).await.unwrap();
    let assigned = log.one_from_here(&d, ActivityKind::DeploymentTokenAssigned, me, &e164).await;
    assert_eq!(assigned.detail.as_deref(), Some("Stripe acct_0"));
    // Deployed to it again, or given the token it has (a double click):
    // nothing written, counted or recorded.
    let before = Snapshot::take(&d).await;
    deployments::deploy(&d, &ada, number.id, app.id).await.unwrap();
    deployments::assign_token(&d, &ada, number.id, Some(token.id)).await.unwrap();
    before.assert_nothing_counted(&d).await;
    deployments::assign_token(&d, &ada, number.id, None).await.unwrap();
    let taken_off = log.one_from_here(&d, ActivityKind::DeploymentTokenAssigned, me, &e164).await;
    assert_eq!(taken_off.detail.as_deref(), Some("none"));
    deployments::undeploy(&d, &ada, number.id).await.unwrap();
    log.one_from_here(&d, ActivityKind::PhoneNumberUndeployed, me, &e164).await;
    deployments::undeploy(&d, &ada, number.id).await.unwrap();
    assert_eq!(log.new_events(&d).await, [], "a number that ran nothing");
    // Given to Bob, who cannot see the copy: the event says it stopped running it.
    deployments::deploy(&d, &ada, number.id, copy.id).await.unwrap();
    log.one_from_here(&d, ActivityKind::PhoneNumberDeployed, me, &e164).await;

    let change = OwnerChange {
        number_id: number.id,
        from_owner_id: number.owner.id,
        owner_id: bob.user_id(),
    };
    phone_numbers::save_owners(&d, &admin, &[change]).await.unwrap();
    let owner = log.one_from_here(&d, ActivityKind::PhoneNumberOwnerChanged, me, &e164).await;
    assert_eq!(
        owner.detail.as_deref(),
        Some("from ada@example.com to bob@example.com; off Hotline copy, which they cannot see")
    );

    applications::unshare(&d, &ada, app.id, bob.user_id()).await.unwrap();
    log.one_from_here(&d, ActivityKind::ApplicationUnshared, me, "Hotline").await;

    let integration = s3_integration(&d, &ada, "Recordings").await;
    log.one_from_here(&d, ActivityKind::IntegrationAdded, me, "Recordings").await;
    integrations::update(&d, &admin, integration, "Calls", "", None).await.unwrap();
    let renamed = log.one_from_here(&d, ActivityKind::IntegrationUpdated, me, "Calls").await;
    assert_eq!(renamed.detail.as_deref(), Some("renamed from Recordings"));
    // Saved again as it is: nothing recorded.
    integrations::update(&d, &admin, integration, "Calls", "", None).await.unwrap();
    assert_eq!(log.new_events(&d).await, [], "an integration saved unchanged");

    let form = |name: &str| LibraryForm {
        name: name.into(),
        description: String::new(),
        code: "function f() {}".into(),
    };
    let library = js_libraries::add(&d, &ada, form("Utils")).await.unwrap();
    log.one_from_here(&d, ActivityKind::JsLibraryAdded, me, "Utils").await;
    let helpers = js_libraries::update(&d, &ada, library.id, form("Helpers")).await.unwrap();
    let renamed = log.one_from_here(&d, ActivityKind::JsLibraryUpdated, me, "Helpers").await;
    assert_eq!(renamed.detail.as_deref(), Some("renamed from Utils"));
    clock.advance(chrono::Duration::days(2));
    let saved = js_libraries::update(&d, &ada, library.id, form("Helpers")).await.unwrap();
    assert_eq!(log.new_events(&d).await, [], "a library saved unchanged");
    assert_eq!(saved.updated, helpers.updated, "nor its Updated date moved");

    applications::save_settings(
        &d,
        &ada,
        app.id,
        applications::SettingsForm::new(None, &[library.id], &[integration]),
    )
    .await
    .unwrap();
    let settings =
        log.one_from_here(&d, ActivityKind::ApplicationSettingsChanged, me, "Hotline").await;
    assert_eq!(settings.detail.as_deref(), Some("libraries: Helpers; integrations: Calls"));
    // An edit's reply names the applications using it, as the list does.
    let described =
        integrations::update(&d, &admin, integration, "Calls", "Kept", None).await.unwrap();
    assert_eq!(described.used_by, app::domain::testing::used_by(&["Hotline"], 0));
    log.one_from_here(&d, ActivityKind::IntegrationUpdated, me, "Calls").await;
    // Bob's application uses it too, which Ada cannot see: counted, not named.
    let bobs = applications::create(&d, &bob, "Bob's IVR").await.unwrap();
    applications::save_settings(
        &d,
        &bob,
        bobs.id,
        applications::SettingsForm::new(None, &[library.id], &[]),
    )
    .await
    .unwrap();
    log.new_events(&d).await;
    let confirmed = app::domain::testing::used_by(&["Hotline"], 1);
    js_libraries::delete(&d, &ada, library.id, &confirmed).await.unwrap();
    let deleted = log.one_from_here(&d, ActivityKind::JsLibraryDeleted, me, "Helpers").await;
    assert_eq!(deleted.detail.as_deref(), Some("detached from Hotline and 1 other application"));
    integrations::delete(&d, &admin, integration, &app::domain::testing::used_by(&["Hotline"], 0))
        .await
        .unwrap();
    let deleted = log.one_from_here(&d, ActivityKind::IntegrationDeleted, me, "Calls").await;
    assert_eq!(deleted.detail.as_deref(), Some("detached from Hotline"));

    let cert = certificates::add(&d, &ada, certificate("api.acme.com")).await.unwrap();
    log.one_from_here(&d, ActivityKind::CertificateAdded, me, "api.acme.com").await;
    let renewal = certificate("api.acme.com");
    let renewal = certificates::Renewal {
        certificate: renewal.certificate,
        private_key: renewal.private_key,
    };
    certificates::replace(&d, &ada, cert.id, renewal).await.unwrap();
    log.one_from_here(&d, ActivityKind::CertificateReplaced, me, "api.acme.com").await;
    certificates::delete(&d, &ada, cert.id).await.unwrap();
    log.one_from_here(&d, ActivityKind::CertificateDeleted, me, "api.acme.com").await;

    let token = stripe_token(&d, &ada, "acct_1").await;
    log.new_events(&d).await;
    oauth_tokens::delete(&d, &ada, token.id).await.unwrap();
    log.one_from_here(&d, ActivityKind::OAuthTokenDeleted, me, "Stripe test acct_1").await;

    applications::delete(&d, &ada, copy.id).await.unwrap();
    log.one_from_here(&d, ActivityKind::ApplicationDeleted, me, "Hotline copy").await;
    phone_numbers::release(&d, &admin, number.id).await.unwrap();
    log.one_from_here(&d, ActivityKind::PhoneNumberReleased, me, &e164).await;
}

#[tokio::test]
async fn sign_ins_and_personal_security_record_each_change() {
    let (mut d, clock) = fresh_domain().await;
    d.throttle.email_lock_after = 2;
    d.throttle.email_slow_after = 100;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let me = "ada@example.com";
    let mut log = Log::new();

    let signed_in =
        log_in::log_in(&d, me, PASSWORD, "Firefox/1 Linux", Some(address())).await.unwrap();
    let LogIn::Session(session) = signed_in else { panic!("no 2FA yet") };
    let event = log.one_from_here(&d, ActivityKind::SignInSucceeded, me, me).await;
    assert_eq!(event.detail.as_deref(), Some("Firefox on Linux"));
    assert_eq!(session.member.address(), Some(address()), "the session's member acts from there");
    let ada_here = session.member.clone();

    profile::update_name(&d, &ada_here, "Ada", "King").await.unwrap();
    log.one_from_here(&d, ActivityKind::ProfileUpdated, me, me).await;
    profile::change_password(&d, &ada_here, &session.token, PASSWORD, NEW_PASSWORD).await.unwrap();
    log.one_from_here(&d, ActivityKind::PasswordChanged, me, me).await;

    // Failed sign-ins of a known address are its user's; an unknown one's are nobody's.
    for _ in 0..2 {
        let wrong = log_in::log_in(&d, me, "wrong", "t", Some(address())).await;
        assert!(wrong.is_err());
        let failed = log.one_from_here(&d, ActivityKind::SignInFailed, me, me).await;
        assert_eq!(failed.detail.as_deref(), Some("wrong password"));
        clock.advance(Duration::seconds(1));
    }
    assert!(log_in::log_in(&d, "nobody@example.com", "x", "t", None).await.is_err());
    log.none(&d).await;
    // The third try finds the limit reached: the lock starts, once.
    let locked = log_in::log_in(&d, me, NEW_PASSWORD, "t", Some(address())).await;
    assert!(matches!(locked, Err(AppError::TooManyRequests(_))));
    log.one_from_here(&d, ActivityKind::SignInLocked, me, me).await;
    let still = log_in::log_in(&d, me, NEW_PASSWORD, "t", Some(address())).await;
    assert!(matches!(still, Err(AppError::TooManyRequests(_))));
    log.none(&d).await;
    clock.advance(Duration::minutes(16));

    let key = developer_keys::generate(&d, &ada_here, "CI", NEW_PASSWORD, "").await.unwrap();
    log.one_from_here(&d, ActivityKind::DeveloperKeyCreated, me, "CI").await;
    developer_keys::regenerate(&d, &ada_here, key.row.id, NEW_PASSWORD, "").await.unwrap();
    log.one_from_here(&d, ActivityKind::DeveloperKeyRegenerated, me, "CI").await;
    developer_keys::revoke(&d, &ada_here, key.row.id).await.unwrap();
    log.one_from_here(&d, ActivityKind::DeveloperKeyRevoked, me, "CI").await;

    let setup = two_factor::begin_setup(&d, &ada_here).await.unwrap();
    let secret = base32_decode(&setup.secret);
    let codes = two_factor::confirm_setup(
        &d,
        &ada_here,
        "t",
        NEW_PASSWORD,
        &current_code(&d, &secret),
        None,
    )
    .await
    .unwrap();
    log.one_from_here(&d, ActivityKind::TwoFactorEnabled, me, me).await;
    clock.advance(Duration::seconds(30));
    let codes = two_factor::regenerate_recovery_codes(
        &d,
        &ada_here,
        NEW_PASSWORD,
        &current_code(&d, &secret),
    )
    .await
    .map(|fresh| {
        assert_ne!(fresh, codes);
        fresh
    })
    .unwrap();
    log.one_from_here(&d, ActivityKind::RecoveryCodesRegenerated, me, me).await;
    // A TOTP code records nothing of its own; a recovery code does; a wrong
    // one is a failed sign-in.
    let LogIn::SecondFactor { challenge } =
        log_in::log_in(&d, me, NEW_PASSWORD, "t", Some(address())).await.unwrap()
    else {
        panic!("2FA is on")
    };
    log.none(&d).await;
    let wrong = log_in::complete_second_factor(&d, &challenge, "000000", "t", Some(address()));
    assert!(wrong.await.is_err());
    let failed = log.one_from_here(&d, ActivityKind::SignInFailed, me, me).await;
    assert_eq!(failed.detail.as_deref(), Some("wrong two-factor code"));
    log_in::complete_second_factor(&d, &challenge, &codes[0], "t", Some(address())).await.unwrap();
    let events = log.new_events(&d).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["recovery_code.used", "sign_in.succeeded"]);
    assert!(events.iter().all(|e| e.client_address.as_deref() == Some("203.0.113.7")));
    clock.advance(Duration::seconds(30));
    two_factor::disable(&d, &ada_here, NEW_PASSWORD, &current_code(&d, &secret)).await.unwrap();
    log.one_from_here(&d, ActivityKind::TwoFactorDisabled, me, me).await;

    email_links::request_email_change(&d, &ada_here, NEW_PASSWORD, "ada@new.example.com", "")
        .await
        .unwrap();
    let asked = log.one_from_here(&d, ActivityKind::EmailChangeRequested, me, me).await;
    assert_eq!(asked.detail.as_deref(), Some("to ada@new.example.com"));
    let token = link_token(&d, "ada@new.example.com", "/confirm-email").await;
    email_links::confirm_email_change(&d, &token, Some(address())).await.unwrap();
    let new = "ada@new.example.com";
    let changed = log.one_from_here(&d, ActivityKind::EmailChanged, new, new).await;
    assert_eq!(changed.detail.as_deref(), Some("from ada@example.com"));

    email_links::request_password_reset(&d, "ada@new.example.com", None).await.unwrap();
    log.none(&d).await;
    let token = link_token(&d, "ada@new.example.com", "/reset-password").await;
    email_links::reset_password(&d, &token, PASSWORD, "t", Some(address())).await.unwrap();
    let events = log.new_events(&d).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["password.reset", "sign_in.succeeded"]);
    assert_eq!(ada.user_id(), events[0].actor_user_id.unwrap());
}

#[tokio::test]
async fn sign_up_verification_and_operator_commands_record_each_change() {
    let (d, _) = fresh_domain().await;
    let mut log = Log::new();
    let input = SignUp {
        company_name: "Globex".into(),
        first_name: "Hank".into(),
        last_name: "Scorpio".into(),
        email: "hank@globex.com".into(),
        password: PASSWORD.into(),
    };
    sign_up::sign_up(&d, input, "t", Some(address())).await.unwrap();
    let events = log.new_events(&d).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["account.signed_up", "sign_in.succeeded"]);
    assert_eq!(events[0].target, "Globex");
    assert_eq!(events[0].client_address.as_deref(), Some("203.0.113.7"));
    let token = link_token(&d, "hank@globex.com", "/verify-email").await;
    email_links::verify_email(&d, &token, Some(address())).await.unwrap();
    // Recorded with the address the link was opened from (the Client Address column).
    let hank = "hank@globex.com";
    log.one_from_here(&d, ActivityKind::EmailVerified, hank, hank).await;

    let input = NewUserByOperator {
        account_of: "hank@globex.com".into(),
        email: "mindy@globex.com".into(),
        first_name: "Mindy".into(),
        last_name: "Simmons".into(),
        is_admin: false,
        // Signed in once, as an admin the operator promotes must be able to.
        password: Some("Maple-Canyon-Drift-19".into()),
    };
    operator::add_user(&d, &OP(), input).await.unwrap();
    let added = log.one(&d, ActivityKind::OperatorUserAdded, "operator", "mindy@globex.com").await;
    assert_eq!((added.actor_user_id, added.client_address), (None, None));
    assert_eq!(added.detail.as_deref(), Some("not admin; password set by the operator"));
    operator::promote(&d, &OP(), "mindy@globex.com").await.unwrap();
    log.one(&d, ActivityKind::OperatorPromoted, "operator", "mindy@globex.com").await;
    let hank_user = user::Entity::find().filter(user::Column::Email.eq(hank)).one(&d.db).await;
    mark_two_factor_on(&d, hank_user.unwrap().unwrap().id).await;
    operator::reset_two_factor(&d, &OP(), "hank@globex.com").await.unwrap();
    log.one(&d, ActivityKind::OperatorTwoFactorReset, "operator", "hank@globex.com").await;
    operator::enable_stripe(&d, &OP(), "hank@globex.com").await.unwrap();
    log.one(&d, ActivityKind::OperatorStripeEnabled, "operator", "Globex").await;

    // A merge moves the source's events along and records itself in the target.
    let other = account_with_admin(&d, "Globex EU", "carl@globex.eu").await;
    let carl = from_here(other);
    account_info::save(
        &d,
        &carl.admin().unwrap(),
        AccountInfo { company_name: "Globex Europe".into(), ..Default::default() },
    )
    .await
    .unwrap();
    log.new_events(&d).await;
    let merged =
        operator::merge_accounts(&d, &OP(), "carl@globex.eu", "hank@globex.com").await.unwrap();
    // Carl, the source's admin, is a user of the target now: said first.
    let events = log.new_events(&d).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["user.role_changed", "operator.accounts_merged"], "{events:#?}");
    assert_eq!(events[0].subject_user_id, Some(carl.user_id()));
    assert_eq!(events[1].target, "Globex Europe");
    let event = &events[1];
    assert_eq!(event.account_id, merged.into_account);
    assert!(all_events(&d).await.iter().all(|e| e.account_id == merged.into_account));
}

#[tokio::test]
async fn a_change_that_fails_leaves_no_event() {
    let (mut d, _) = stocked().await;
    d.quotas = QuotaPolicy::default().with_overrides("invitation.account=1/60").unwrap();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let bob = users::invite(&d, &admin, user_form("Bob", "bob@example.com")).await.unwrap();
    let mut log = Log::new();
    log.new_events(&d).await;

    // The edit is written, and its event, before the new invitation is
    // refused for the limit: all of it rolls back.
    let before = Snapshot::take(&d).await;
    let refused = users::update(&d, &admin, bob.id, user_form("Bob", "robert@example.com")).await;
    assert!(matches!(refused, Err(AppError::TooManyRequests(_))), "{refused:?}");
    before.assert_unchanged(&d).await;
    log.none(&d).await;

    // Refused before any write: a demo account's second number, the last admin.
    phone_numbers::request(&d, &admin).await.unwrap();
    log.new_events(&d).await;
    let before = Snapshot::take(&d).await;
    let second = phone_numbers::request(&d, &admin).await.err();
    assert_eq!(second, Some(AppError::Conflict(phone_numbers::demo_limit(&d))));
    let mut demote = user_form("Ada", "ada@example.com");
    demote.is_admin = false;
    let demoted = users::update(&d, &admin, ada.user_id(), demote).await.err().unwrap();
    assert_eq!(demoted.message_for("is_admin").as_deref(), Some(users::LAST_ADMIN));
    before.assert_unchanged(&d).await;
    log.none(&d).await;

    // A duplicate integration name fails at its write.
    s3_integration(&d, &ada, "Recordings").await;
    log.new_events(&d).await;
    let before = Snapshot::take(&d).await;
    let duplicate = integrations::add(
        &d,
        &admin,
        integrations::NewIntegration {
            service: "s3".into(),
            name: "recordings".into(),
            key: app::domain::testing::samples::AWS_KEY.into(),
            secret: AWS_SECRET.into(),
            ..Default::default()
        },
    )
    .await;
    let duplicate = duplicate.err().unwrap();
    assert_eq!(duplicate.message_for("name").as_deref(), Some(integrations::NAME_TAKEN));
    before.assert_unchanged(&d).await;
    log.none(&d).await;
}

#[tokio::test]
async fn an_event_recorded_in_a_transaction_that_rolls_back_is_gone() {
    use sea_orm::TransactionTrait;
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let txn = d.db.begin().await.unwrap();
    activity::record(
        &d,
        &txn,
        By::Member(Counted::assumed(&ada)),
        Event::new(ActivityKind::UserInvited, "x"),
    )
    .await
    .unwrap();
    txn.rollback().await.unwrap();
    assert!(all_events(&d).await.is_empty());
    let failed: Result<(), AppError> = activity::with_event(
        &d,
        By::Member(Counted::assumed(&ada)),
        Event::new(ActivityKind::UserInvited, "x"),
        async |_| Err(AppError::Conflict("no".into())),
    )
    .await;
    assert!(failed.is_err());
    assert!(all_events(&d).await.is_empty());
}

/// Writes `n` events by `by` of `kind`, one second apart.
async fn many(d: &Domain, clock: &ManualClock, by: &Member, kind: ActivityKind, n: usize) {
    for i in 0..n {
        activity::record(
            d,
            &d.db,
            By::Member(Counted::assumed(by)),
            Event::new(kind, format!("target {i}")),
        )
        .await
        .unwrap();
        clock.advance(Duration::seconds(1));
    }
}

/// `n` events by `by` in one statement per 500, for a table of a realistic
/// size without `n` transactions.
async fn filler(d: &Domain, by: &Member, kind: ActivityKind, n: usize) {
    let email = user::Entity::find_by_id(by.user_id()).one(&d.db).await.unwrap().unwrap().email;
    let rows: Vec<activity_event::ActiveModel> = (0..n)
        .map(|i| activity_event::ActiveModel {
            account_id: Set(by.account_id()),
            at: Set(d.clock.now()),
            actor_user_id: Set(Some(by.user_id())),
            actor: Set(email.clone()),
            kind: Set(kind.as_str().into()),
            target: Set(format!("filler {i}")),
            client_address: Set(None),
            detail: Set(None),
            subject_user_id: Set(None),
            ..Default::default()
        })
        .collect();
    for chunk in rows.chunks(500) {
        activity_event::Entity::insert_many(chunk.to_vec()).exec(&d.db).await.unwrap();
    }
}

async fn every_page(d: &Domain, member: &Member, filter: &ActivityFilter) -> Vec<ActivityRow> {
    let admin = member.admin().unwrap();
    let mut rows = Vec::new();
    let mut before = None;
    loop {
        let page = admin_activity::list(d, &admin, filter, before).await.unwrap();
        assert!(page.rows.len() as u64 <= admin_activity::PAGE);
        rows.extend(page.rows);
        match page.next {
            Some(next) => before = Some(next),
            None => return rows,
        }
    }
}

#[tokio::test]
async fn admins_page_through_their_own_accounts_events_newest_first_with_filters() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let eve = account_with_admin(&d, "Evil", "eve@evil.com").await;
    many(&d, &clock, &ada, ActivityKind::UserInvited, 70).await;
    clock.advance(Duration::days(2));
    many(&d, &clock, &bob, ActivityKind::DeveloperKeyCreated, 60).await;
    many(&d, &clock, &eve, ActivityKind::UserInvited, 10).await;

    let all = every_page(&d, &ada, &ActivityFilter::default()).await;
    assert_eq!(all.len(), 130, "every event of the account once, none of another's");
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first, no repeats");
    assert!(all.iter().all(|r| r.actor != "eve@evil.com"));
    assert_eq!(all[0].label, "Developer key created");
    let eves = every_page(&d, &eve, &ActivityFilter::default()).await;
    assert_eq!(eves.len(), 10);

    let by_bob = ActivityFilter { user_id: Some(bob.user_id()), ..Default::default() };
    assert_eq!(every_page(&d, &ada, &by_bob).await.len(), 60);
    // Naming another account's user finds nothing.
    let by_eve = ActivityFilter { user_id: Some(eve.user_id()), ..Default::default() };
    assert!(every_page(&d, &ada, &by_eve).await.is_empty());
    let invites = ActivityFilter { kind: Some("user.invited".into()), ..Default::default() };
    let found = every_page(&d, &ada, &invites).await;
    assert!(found.len() == 70 && found.iter().all(|r| r.kind == "user.invited"));
    let day_one = ActivityFilter {
        from: Some("2026-11-22".into()),
        to: Some("2026-11-22".into()),
        ..Default::default()
    };
    assert_eq!(every_page(&d, &ada, &day_one).await.len(), 70);
    let later = ActivityFilter { from: Some("2026-11-23".into()), ..Default::default() };
    assert_eq!(every_page(&d, &ada, &later).await.len(), 60);

    let admin = ada.admin().unwrap();
    let bad = ActivityFilter { kind: Some("user.exploded".into()), ..Default::default() };
    let refused = admin_activity::list(&d, &admin, &bad, None).await.unwrap_err();
    assert!(refused.message_for("kind").is_some());
    let bad = ActivityFilter { from: Some("yesterday".into()), ..Default::default() };
    let refused = admin_activity::list(&d, &admin, &bad, None).await.unwrap_err();
    assert!(refused.message_for("from").is_some());
    let backwards = ActivityFilter {
        from: Some("2026-11-23".into()),
        to: Some("2026-11-22".into()),
        ..Default::default()
    };
    let refused = admin_activity::list(&d, &admin, &backwards, None).await.unwrap_err();
    assert_eq!(
        refused.message_for("to").as_deref(),
        Some("To must be the same day as From or later.")
    );
    // A regular user holds no Admin, so cannot ask at all.
    assert!(matches!(bob.admin(), Err(AppError::Forbidden(_))));

    // The CSV holds the filtered events, newest first, quoted.
    let csv = admin_activity::csv(&d, &admin, &by_bob).await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 61);
    assert_eq!(lines[0], "\u{feff}time,actor,kind,what,target,client_address,detail");
    assert!(lines[1].contains("\"bob@example.com\",\"developer_key.created\""), "{}", lines[1]);
    assert!(lines[1].contains("\"target 59\""));
}

/// The Activity tab's address gives only the id of the user it filters by:
/// the account's user is named, a deleted one by the address their newest
/// event was made under, and another account's user not at all.
#[tokio::test]
async fn a_user_filter_from_the_address_is_named_within_the_account_only() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let cyd = add_user(&d, ada.account_id(), "cyd@example.com", false).await;
    let eve = account_with_admin(&d, "Evil", "eve@evil.com").await;
    many(&d, &clock, &cyd, ActivityKind::DeveloperKeyCreated, 2).await;
    many(&d, &clock, &eve, ActivityKind::UserInvited, 2).await;
    let admin = ada.admin().unwrap();
    let name_of = |id| admin_activity::user_choice(&d, &admin, id);

    let named = name_of(bob.user_id()).await.unwrap().expect("a user of the account");
    assert_eq!(named.id, bob.user_id());
    assert_eq!((named.name.as_str(), named.email.as_str()), ("Bob Lovelace", "bob@example.com"));

    users::delete(&d, &admin, cyd.user_id()).await.unwrap();
    let deleted = name_of(cyd.user_id()).await.unwrap().expect("their events stay");
    assert_eq!((deleted.id, deleted.name.as_str()), (cyd.user_id(), "cyd@example.com"));

    // Eve has a name and events, in her own account only.
    assert_eq!(name_of(eve.user_id()).await.unwrap(), None);
    assert_eq!(name_of(i32::MAX).await.unwrap(), None);
}

/// Ids past 32 bits, where a busy platform's log is after a few years:
/// events are still recorded, listed newest first and paged by their ids.
#[tokio::test]
async fn events_past_32_bit_ids_are_recorded_and_paged() {
    use sea_orm::ConnectionTrait;
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let eve = account_with_admin(&d, "Evil", "eve@evil.com").await;
    let far = i64::from(i32::MAX) + 1_000;
    activity_event::ActiveModel {
        id: Set(far),
        account_id: Set(eve.account_id()),
        at: Set(d.clock.now()),
        actor: Set("operator".into()),
        kind: Set(ActivityKind::UserInvited.as_str().into()),
        target: Set("years of events".into()),
        ..Default::default()
    }
    .insert(&d.db)
    .await
    .unwrap();
    // SQLite's next id follows the largest; PostgreSQL's sequence is moved.
    if d.db.get_database_backend() == sea_orm::DbBackend::Postgres {
        let moved =
            format!("SELECT setval(pg_get_serial_sequence('activity_events', 'id'), {far})");
        d.db.execute_unprepared(&moved).await.unwrap();
    }

    many(&d, &clock, &ada, ActivityKind::UserInvited, 70).await;
    let all = every_page(&d, &ada, &ActivityFilter::default()).await;
    assert_eq!(all.len(), 70, "every event of the account once, over two pages");
    assert!(all.iter().all(|r| r.id > far), "{:?}", all.last());
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first, no repeats");
    assert_eq!(all[0].target, "target 69");
}

/// A download can read a hundred thousand events, and any sign-up is an
/// admin: downloads are counted per admin and per account. Past the limit
/// nothing is read and nothing changes; another account is not held back,
/// and an hour frees the count.
#[tokio::test]
async fn activity_downloads_are_counted() {
    use app::domain::core::quota::{Action, Limit, Per};
    let (mut d, clock) = fresh_domain().await;
    let hour = Duration::hours(1);
    d.quotas.set(Limit { action: Action::ActivityExport, per: Per::Actor, max: 2, window: hour });
    d.quotas.set(Limit { action: Action::ActivityExport, per: Per::Account, max: 3, window: hour });
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await.admin().unwrap();
    let other = account_with_admin(&d, "Globex", "hal@example.com").await.admin().unwrap();
    let all = ActivityFilter::default();
    for admin in [&ada, &ada, &grace] {
        admin_activity::csv(&d, admin, &all).await.unwrap();
    }
    for (admin, per) in [(&ada, "the admin's"), (&grace, "the account's")] {
        let before = Snapshot::take(&d).await;
        let refused = admin_activity::csv(&d, admin, &all).await;
        assert!(
            matches!(&refused, Err(AppError::TooManyRequests(m)) if m.contains("activity downloads")),
            "past {per} limit: {refused:?}"
        );
        before.assert_unchanged(&d).await;
    }
    admin_activity::csv(&d, &other, &all).await.unwrap();
    clock.advance(hour);
    admin_activity::csv(&d, &ada, &all).await.unwrap();
}

/// A download with a filter that does not parse (an unknown kind, a date
/// that is not one, a range that ends before it starts) is refused beside
/// the field before it is counted: a mistyped filter must not use up the
/// admin's downloads. With one download allowed, the good one still goes
/// through after the refusals, and then the next is refused for the limit.
#[tokio::test]
async fn a_refused_activity_filter_does_not_spend_a_download() {
    use app::domain::core::quota::{Action, Limit, Per};
    let (mut d, _) = fresh_domain().await;
    let hour = Duration::hours(1);
    d.quotas.set(Limit { action: Action::ActivityExport, per: Per::Actor, max: 1, window: hour });
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let date = "Enter a date as YYYY-MM-DD.";
    let cases = [
        (
            ActivityFilter { kind: Some("user.nonsense".into()), ..Default::default() },
            "kind",
            app::model::UNKNOWN_KIND,
        ),
        (ActivityFilter { from: Some("2026-13-01".into()), ..Default::default() }, "from", date),
        (ActivityFilter { to: Some("yesterday".into()), ..Default::default() }, "to", date),
        // The ends of what chrono can hold: a day more, or the slack around
        // a range, would overflow.
        (ActivityFilter { to: Some("+262142-12-31".into()), ..Default::default() }, "to", date),
        (ActivityFilter { from: Some("-262143-01-01".into()), ..Default::default() }, "from", date),
        (
            ActivityFilter {
                from: Some("2026-11-23".into()),
                to: Some("2026-11-22".into()),
                ..Default::default()
            },
            "to",
            "To must be the same day as From or later.",
        ),
    ];
    let before = Snapshot::take(&d).await;
    for (filter, field, message) in &cases {
        let refused = admin_activity::csv(&d, &ada, filter).await.unwrap_err();
        assert_eq!(refused, AppError::field(field, *message), "{filter:?}");
    }
    before.assert_unchanged(&d).await;
    let all = ActivityFilter::default();
    let csv = admin_activity::csv(&d, &ada, &all).await.unwrap();
    assert!(csv.starts_with("\u{feff}time,actor,kind,"), "{csv}");
    let before = Snapshot::take(&d).await;
    let spent = admin_activity::csv(&d, &ada, &all).await;
    assert!(
        matches!(&spent, Err(AppError::TooManyRequests(m)) if m.contains("activity downloads")),
        "the limit of one holds: {spent:?}"
    );
    before.assert_unchanged(&d).await;
}

#[tokio::test]
async fn each_listing_walks_an_index_backwards_without_sorting() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    many(&d, &clock, &ada, ActivityKind::UserInvited, 3).await;
    // Many more events, analysed, as a console in use has: of other
    // accounts, and in this one by another member, of another kind and
    // about nobody. The planner's choice then follows from the figures, not
    // from equal costs on a table of three rows (where PostgreSQL once took
    // the account's index with a filter for the subject's query). Fewer
    // rows than PostgreSQL's ANALYZE samples (30,000), so its figures are
    // exact and the same every run.
    let gil = account_with_admin(&d, "Globex", "gil@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    filler(&d, &gil, ActivityKind::ApplicationCreated, 20_000).await;
    filler(&d, &bob, ActivityKind::JsLibraryAdded, 200).await;
    d.db.execute_unprepared("ANALYZE activity_events").await.unwrap();
    let backend = d.db.get_database_backend();
    let by_user = Filter { user_id: Some(ada.user_id()), ..Default::default() };
    let by_kind = Filter { kind: Some(ActivityKind::UserInvited), ..Default::default() };
    let day = Filter::parse(&ActivityFilter {
        from: Some("2026-11-22".into()),
        to: Some("2026-11-22".into()),
        ..Default::default()
    })
    .unwrap()
    .with_id_bounds(&d.db)
    .await
    .unwrap();
    let day = Filter { after_id: Some(1), end_id: Some(900_000), ..day };
    let user_on_day = Filter { user_id: Some(ada.user_id()), ..day.clone() };
    // A user's own list asks for the events about them on a query of its own.
    let about = Scoped::account(ada.account_id())
        .all::<activity_event::Entity>()
        .filter(activity_event::Column::SubjectUserId.eq(ada.user_id()));
    let query = activity::page_query(about, &Filter::default(), Some(1_000_000), my_activity::PAGE);
    let plan = query_plan(&d, query.build(backend)).await;
    assert!(plan.contains("idx_activity_account_subject "), "{plan}");
    assert!(
        !plan.contains("TEMP B-TREE") && !plan.contains("Sort  (") && !plan.contains("Seq Scan"),
        "{plan}"
    );
    for (filter, index) in [
        (Filter::default(), "idx_activity_account "),
        (by_user, "idx_activity_account_actor "),
        (by_kind, "idx_activity_account_kind "),
        (day, "idx_activity_account "),
        // Either of the account's indexes bounded by the ids will do.
        (user_on_day, "idx_activity_account"),
    ] {
        let scoped = Scoped::account(ada.account_id()).all::<activity_event::Entity>();
        let query = activity::page_query(scoped, &filter, Some(1_000_000), admin_activity::PAGE);
        let plan = query_plan(&d, query.build(backend)).await;
        assert!(plan.contains(index), "{filter:?} should use {index}:\n{plan}");
        let sorted = plan.contains("TEMP B-TREE") || plan.contains("Sort  (");
        assert!(!sorted && !plan.contains("Seq Scan"), "{filter:?}:\n{plan}");
    }
}

/// An event whose transaction ran a little long has a time earlier than an
/// id just below it suggests; the date filter's id bounds still find it, and
/// events outside the dates stay out.
#[tokio::test]
async fn date_filters_find_events_whose_ids_and_times_disagree_slightly() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    activity_event::Entity::delete_many().exec(&d.db).await.unwrap();
    let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc();
    let record = async |when: &str, target: &str| {
        clock.set(at(when));
        let event = Event::new(ActivityKind::UserInvited, target);
        activity::record(&d, &d.db, By::Member(Counted::assumed(&ada)), event).await.unwrap();
    };
    record("2026-11-20T12:00:00Z", "long before").await;
    record("2026-11-22T00:00:02Z", "early on the 22nd").await;
    record("2026-11-21T23:59:58Z", "late on the 21st, slow to commit").await;
    record("2026-11-22T12:00:00Z", "midday on the 22nd").await;
    record("2026-11-23T00:00:01Z", "early on the 23rd").await;
    record("2026-11-22T23:59:59Z", "late on the 22nd, slow to commit").await;
    record("2026-11-25T12:00:00Z", "long after").await;
    let targets = async |from: &str, to: &str| {
        let filter = ActivityFilter {
            from: Some(from.into()).filter(|f: &String| !f.is_empty()),
            to: Some(to.into()).filter(|t: &String| !t.is_empty()),
            ..Default::default()
        };
        every_page(&d, &ada, &filter).await.into_iter().map(|r| r.target).collect::<Vec<_>>()
    };
    assert_eq!(
        targets("2026-11-22", "2026-11-22").await,
        ["late on the 22nd, slow to commit", "midday on the 22nd", "early on the 22nd"]
    );
    assert_eq!(
        targets("", "2026-11-21").await,
        ["late on the 21st, slow to commit", "long before"]
    );
    assert_eq!(targets("2026-11-23", "").await, ["long after", "early on the 23rd"]);
    assert!(targets("2026-11-24", "2026-11-24").await.is_empty());
    assert!(targets("2027-01-01", "").await.is_empty());
    assert_eq!(targets("2026-11-01", "2026-11-30").await.len(), 7);
}

#[tokio::test]
async fn csv_cells_cannot_become_formulas() {
    let row = ActivityRow {
        id: 1,
        at: "2026-11-22T09:00:00Z".into(),
        actor: "=cmd|' /C calc'!A0".into(),
        actor_user_id: None,
        kind: "application.created".into(),
        label: "Application created".into(),
        target: "@SUM(1+1)\"x\", y".into(),
        client_address: None,
        detail: Some("-2+3".into()),
        subject_user_id: None,
    };
    let csv = admin_activity::csv_of(&[row]);
    let line = csv.lines().nth(1).unwrap();
    assert_eq!(
        line,
        "\"2026-11-22T09:00:00Z\",\"'=cmd|' /C calc'!A0\",\"application.created\",\
         \"Application created\",\"'@SUM(1+1)\"\"x\"\", y\",\"\",\"'-2+3\""
    );
}

#[tokio::test]
async fn each_user_sees_their_own_security_events_only() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap();
    log_in_by_password(&d, "bob@example.com", PASSWORD, "t").await.unwrap();
    assert!(log_in_by_password(&d, "bob@example.com", "wrong", "t").await.is_err());
    developer_keys::generate(&d, &bob, "CI", PASSWORD, "").await.unwrap();
    // Not a security event: an application.
    applications::create(&d, &ada, "Hotline").await.unwrap();

    let bobs = my_activity::mine(&d, &bob, None).await.unwrap();
    let kinds: Vec<&str> = bobs.rows.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["developer_key.created", "sign_in.failed", "sign_in.succeeded"]);
    let adas = my_activity::mine(&d, &ada, None).await.unwrap();
    let kinds: Vec<&str> = adas.rows.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["sign_in.succeeded"]);
}

#[tokio::test]
async fn a_user_sees_what_admins_and_operators_did_to_them() {
    let (d, _) = fresh_domain().await;
    let ada = from_here(account_with_admin(&d, "Acme", "ada@example.com").await);
    let admin = ada.admin().unwrap();
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let cy = add_user(&d, ada.account_id(), "cy@example.com", false).await;
    log_in_by_password(&d, "bob@example.com", PASSWORD, "t").await.unwrap();

    let mut edit = user_form("Bob", "bob@example.com");
    edit.can_create = true;
    users::update(&d, &admin, bob.user_id(), edit).await.unwrap();
    users::send_password_reset(&d, &admin, bob.user_id()).await.unwrap();
    users::disable(&d, &admin, bob.user_id()).await.unwrap();
    users::enable(&d, &admin, bob.user_id()).await.unwrap();
    mark_two_factor_on(&d, bob.user_id()).await;
    operator::reset_two_factor(&d, &OP(), "bob@example.com").await.unwrap();
    // What Ada does to herself is hers, as before; not "about" her.
    let herself = users::UserForm { is_admin: true, ..user_form("Ada", "ada@example.com") };
    users::update(&d, &admin, ada.user_id(), herself).await.unwrap();

    let bobs = my_activity::mine(&d, &bob, None).await.unwrap();
    let seen: Vec<(&str, &str)> =
        bobs.rows.iter().map(|r| (r.kind.as_str(), r.actor.as_str())).collect();
    assert_eq!(
        seen,
        [
            ("operator.two_factor_reset", "operator"),
            ("user.enabled", "ada@example.com"),
            ("user.disabled", "ada@example.com"),
            ("user.password_reset_sent", "ada@example.com"),
            ("user.role_changed", "ada@example.com"),
            ("sign_in.succeeded", "bob@example.com"),
        ]
    );
    // Whose doing each was, and never where the admin acted from.
    for row in &bobs.rows[..5] {
        assert_eq!(row.subject_user_id, Some(bob.user_id()), "{row:?}");
        assert_eq!(row.client_address, None, "{row:?}");
    }
    assert_eq!(bobs.rows[5].subject_user_id, None);
    // Nobody else's list shows them: not the admin's, not a colleague's.
    assert!(my_activity::mine(&d, &ada, None).await.unwrap().rows.is_empty());
    assert!(my_activity::mine(&d, &cy, None).await.unwrap().rows.is_empty());
    let adas_edit = all_events(&d).await.into_iter().last().unwrap();
    assert!(adas_edit.kind.starts_with("user.") && adas_edit.target == "ada@example.com");
    assert_eq!(adas_edit.subject_user_id, None);
}

#[tokio::test]
async fn pages_of_ones_own_and_others_events_interleave_by_time() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    // Alternating (Bob's own sign-in, then the admin's disable and enable),
    // then runs of one kind longer than a page: a page drawn from one query
    // alone, and one from both.
    for _ in 0..15 {
        log_in_by_password(&d, "bob@example.com", PASSWORD, "t").await.unwrap();
        users::disable(&d, &admin, bob.user_id()).await.unwrap();
        users::enable(&d, &admin, bob.user_id()).await.unwrap();
        clock.advance(Duration::seconds(1));
    }
    for _ in 0..13 {
        users::disable(&d, &admin, bob.user_id()).await.unwrap();
        users::enable(&d, &admin, bob.user_id()).await.unwrap();
    }
    for _ in 0..23 {
        // Apart, as the log-in limit wants.
        clock.advance(Duration::minutes(5));
        log_in_by_password(&d, "bob@example.com", PASSWORD, "t").await.unwrap();
    }
    let mut ids = Vec::new();
    let mut before = None;
    loop {
        let page = my_activity::mine(&d, &bob, before).await.unwrap();
        assert!(page.rows.len() <= my_activity::PAGE as usize);
        ids.extend(page.rows.iter().map(|r| r.id));
        match page.next {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    // 94 events over five pages, each once, newest first.
    let mut expected: Vec<i64> = all_events(&d).await.iter().map(|e| e.id).collect();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn ending_sessions_is_recorded_and_another_users_session_is_not_found() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let bob = add_user(&d, ada.account_id(), "bob@example.com", false).await;
    let here = from_here(ada.clone());
    let phone =
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Mobile Safari/604.1";
    let current = log_in::log_in(&d, "ada@example.com", PASSWORD, "Firefox/1 Linux", None);
    let LogIn::Session(current) = current.await.unwrap() else { panic!("no 2FA") };
    log_in::log_in(&d, "ada@example.com", PASSWORD, phone, Some(address())).await.unwrap();
    log_in::log_in(&d, "ada@example.com", PASSWORD, "curl/8", None).await.unwrap();
    let bobs = log_in_by_password(&d, "bob@example.com", PASSWORD, "t").await.unwrap();
    let mut log = Log::new();
    log.new_events(&d).await;

    // Bob's session, asked for by Ada: not found, and nothing changes.
    let bobs_id = sessions::list(&d, &bob, &bobs.token).await.unwrap()[0].id.clone();
    let before = Snapshot::take(&d).await;
    assert!(matches!(sessions::end(&d, &here, &bobs_id).await, Err(AppError::NotFound)));
    before.assert_unchanged(&d).await;

    let listed = sessions::list(&d, &ada, &current.token).await.unwrap();
    let on_phone = listed.iter().find(|s| s.device == "Safari on iOS").unwrap();
    sessions::end(&d, &here, &on_phone.id).await.unwrap();
    let ended = log
        .one_from_here(&d, ActivityKind::SessionEnded, "ada@example.com", "ada@example.com")
        .await;
    assert_eq!(ended.detail.as_deref(), Some("Safari on iOS from 203.0.113.7"));

    sessions::end_others(&d, &here, &current.token).await.unwrap();
    let all = log
        .one_from_here(&d, ActivityKind::OtherSessionsEnded, "ada@example.com", "ada@example.com")
        .await;
    assert_eq!(all.detail.as_deref(), Some("1 session"));
    let left = sessions::list(&d, &ada, &current.token).await.unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0].current);
    // With no other session open, it ends nothing and records nothing:
    // pressed in a loop, it would otherwise grow the log without a count.
    sessions::end_others(&d, &here, &current.token).await.unwrap();
    log.none(&d).await;
    // Both show under Ada's own security activity.
    let kinds: Vec<String> =
        my_activity::mine(&d, &ada, None).await.unwrap().rows.into_iter().map(|r| r.kind).collect();
    assert_eq!(kinds[..2], ["session.others_ended", "session.ended"]);
    // Bob's session is still his.
    assert_eq!(sessions::list(&d, &bob, &bobs.token).await.unwrap().len(), 1);
}

#[tokio::test]
async fn retention_removes_old_events_and_keeps_new_ones() {
    let (mut d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    many(&d, &clock, &ada, ActivityKind::UserInvited, 5).await;
    clock.advance(Duration::days(300));
    many(&d, &clock, &ada, ActivityKind::UserUpdated, 3).await;
    clock.advance(Duration::days(70));
    assert_eq!(jobs::forget_old_activity(&d).await.unwrap(), 5);
    let left = all_events(&d).await;
    assert!(left.len() == 3 && left.iter().all(|e| e.kind == "user.updated"));
    // A shorter retention, as ACTIVITY_RETENTION_DAYS sets it; the hourly clean-up runs it.
    d.activity_retention = Duration::days(30);
    jobs::clean_up(&d, &unused_mail_folder()).await;
    assert!(all_events(&d).await.is_empty());
}

/// A clean-up job that fails (here its table is gone) does not stop the
/// ones after it: old events are still removed.
#[tokio::test]
async fn a_failing_clean_up_job_stops_none_of_the_others() {
    let (d, clock) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    many(&d, &clock, &ada, ActivityKind::UserInvited, 2).await;
    clock.advance(Duration::days(400));
    let drop = Statement::from_string(d.db.get_database_backend(), "DROP TABLE login_challenges");
    d.db.execute_raw(drop).await.unwrap();
    assert!(jobs::forget_expired(&d).await.is_err(), "the broken job fails");
    jobs::clean_up(&d, &unused_mail_folder()).await;
    assert!(all_events(&d).await.is_empty(), "the activity job after it still ran");
}

#[tokio::test]
async fn no_secret_ever_reaches_the_activity_table() {
    let (d, clock) = stocked().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let mut secrets: Vec<String> = vec![
        PASSWORD.into(),
        NEW_PASSWORD.into(),
        AWS_SECRET.into(),
        PRIVATE_KEY_MATERIAL.into(),
        "wrong-Password-123".into(),
    ];

    // Passwords: a failed and a right log-in, a change.
    assert!(log_in_by_password(&d, "ada@example.com", "wrong-Password-123", "t").await.is_err());
    let session = log_in_by_password(&d, "ada@example.com", PASSWORD, "t").await.unwrap();
    profile::change_password(&d, &ada, &session.token, PASSWORD, NEW_PASSWORD).await.unwrap();
    secrets.push(session.token.clone());
    // Developer keys.
    let key = developer_keys::generate(&d, &ada, "CI", NEW_PASSWORD, "").await.unwrap();
    secrets.push(key.key.clone());
    secrets.push(key.row.prefix.clone());
    let again = developer_keys::regenerate(&d, &ada, key.row.id, NEW_PASSWORD, "").await.unwrap();
    secrets.push(again.key.clone());
    // TOTP codes and recovery codes.
    let setup = two_factor::begin_setup(&d, &ada).await.unwrap();
    secrets.push(setup.secret.clone());
    let secret = base32_decode(&setup.secret);
    let code = current_code(&d, &secret);
    let codes = two_factor::confirm_setup(&d, &ada, "t", NEW_PASSWORD, &code, None).await.unwrap();
    secrets.push(code);
    secrets.extend(codes.iter().cloned());
    let LogIn::SecondFactor { challenge } =
        log_in::log_in(&d, "ada@example.com", NEW_PASSWORD, "t", None).await.unwrap()
    else {
        panic!("2FA is on")
    };
    secrets.push(challenge.clone());
    log_in::complete_second_factor(&d, &challenge, &codes[3], "t", None).await.unwrap();
    clock.advance(Duration::seconds(30));
    let code = current_code(&d, &secret);
    two_factor::disable(&d, &ada, NEW_PASSWORD, &code).await.unwrap();
    secrets.push(code);
    // Email links: an invitation, a reset, an email change.
    users::invite(&d, &admin, user_form("Bob", "bob@example.com")).await.unwrap();
    let token = link_token(&d, "bob@example.com", "/activate").await;
    invitations::activate(&d, &token, "Copper-Lantern-Fjord-58", "t", None).await.unwrap();
    secrets.extend([token, "Copper-Lantern-Fjord-58".into()]);
    email_links::request_password_reset(&d, "ada@example.com", None).await.unwrap();
    let token = link_token(&d, "ada@example.com", "/reset-password").await;
    email_links::reset_password(&d, &token, "Granite-Meadow-Violet-31", "t", None).await.unwrap();
    secrets.extend([token, "Granite-Meadow-Violet-31".into()]);
    email_links::request_email_change(
        &d,
        &ada,
        "Granite-Meadow-Violet-31",
        "ada@new.example.com",
        "",
    )
    .await
    .unwrap();
    let token = link_token(&d, "ada@new.example.com", "/confirm-email").await;
    email_links::confirm_email_change(&d, &token, None).await.unwrap();
    secrets.push(token);
    // Sealed secrets: an integration, a certificate's private key, an OAuth token.
    s3_integration(&d, &ada, "Recordings").await;
    let cert = certificate("api.acme.com");
    secrets.push(cert.private_key.lines().nth(1).unwrap().to_owned());
    certificates::add(&d, &ada, cert).await.unwrap();
    let sessions_left = sessions::list(&d, &ada, "none").await.unwrap();
    secrets.extend(sessions_left.into_iter().map(|s| s.id));

    let rows = all_events(&d).await;
    assert!(rows.len() >= 15, "{rows:#?}");
    let stored: Vec<String> = rows.iter().map(|r| format!("{r:?}")).collect();
    for secret in &secrets {
        for row in &stored {
            assert!(!row.contains(secret.as_str()), "the secret {secret:?} is in {row}");
        }
    }
    // And the users' table still holds the user whose events these are.
    assert!(user::Entity::find().all(&d.db).await.unwrap().len() == 2);
}

/// Every change a signed-in user makes writes an event kept for a year, so
/// each is counted, per user, before its transaction: past the count a
/// change is refused with nothing changed, and a save of several changes
/// counts each. Removals and remedies are never refused (each undoes a
/// counted change, so none can loop alone), and nobody else is held back.
#[tokio::test]
async fn a_user_who_changes_too_often_is_refused_but_may_still_remove_and_disable() {
    use app::domain::core::quota::{Action, Limit, Per};
    let (mut d, clock) = stocked().await;
    let hour = Duration::hours(1);
    d.quotas.set(Limit { action: Action::Change, per: Per::Actor, max: 4, window: hour });
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let admin = ada.admin().unwrap();
    let grace = add_user(&d, ada.account_id(), "grace@example.com", false).await;
    let library = |name: &str| LibraryForm {
        name: name.into(),
        description: String::new(),
        code: "function f() {}".into(),
    };
    let too_many = |result: Result<(), AppError>| {
        assert!(
            matches!(&result, Err(AppError::TooManyRequests(m)) if m.contains("Too many changes")),
            "{result:?}"
        );
    };

    let number = phone_numbers::request(&d, &admin).await.unwrap();
    let first = js_libraries::add(&d, &ada, library("First")).await.unwrap();
    profile::update_name(&d, &ada, "Ada", "King").await.unwrap();
    // One count left: a save of two owner changes takes none of it.
    let to_grace = OwnerChange {
        number_id: number.id,
        from_owner_id: number.owner.id,
        owner_id: grace.user_id(),
    };
    let back = OwnerChange {
        number_id: number.id,
        from_owner_id: grace.user_id(),
        owner_id: ada.user_id(),
    };
    let before = Snapshot::take(&d).await;
    too_many(phone_numbers::save_owners(&d, &admin, &[to_grace.clone(), back]).await.map(|_| ()));
    before.assert_unchanged(&d).await;
    phone_numbers::save_owners(&d, &admin, &[to_grace]).await.unwrap();

    let before = Snapshot::take(&d).await;
    too_many(js_libraries::add(&d, &ada, library("Second")).await.map(|_| ()));
    too_many(profile::update_name(&d, &ada, "Ada", "Lovelace").await);
    too_many(users::enable(&d, &admin, grace.user_id()).await.map(|_| ()));
    before.assert_unchanged(&d).await;

    // Grace's changes are her own count.
    profile::update_name(&d, &grace, "Grace", "Hopper").await.unwrap();
    // Turning 2FA on secures the account: the count never holds it back.
    let setup = two_factor::begin_setup(&d, &ada).await.unwrap();
    let secret = base32_decode(&setup.secret);
    two_factor::confirm_setup(&d, &ada, "t", PASSWORD, &current_code(&d, &secret), None)
        .await
        .unwrap();
    // Removing and securing still go through, each recorded.
    let events = all_events(&d).await.len();
    js_libraries::delete(&d, &ada, first.id, &app::domain::testing::used_by(&[], 0)).await.unwrap();
    phone_numbers::release(&d, &admin, number.id).await.unwrap();
    users::disable(&d, &admin, grace.user_id()).await.unwrap();
    assert_eq!(all_events(&d).await.len(), events + 3);

    clock.advance(hour);
    js_libraries::add(&d, &ada, library("Second")).await.unwrap();
}

/// Anyone can make users (a sign-up needs no mailbox), each with a day's
/// count of changes; the changes from one client address share a count as
/// well, so making users does not multiply what one client may write to
/// the log. Another address is not held back.
#[tokio::test]
async fn the_users_of_one_client_address_share_a_count_of_changes() {
    use app::domain::core::quota::{Action, Limit, Per};
    let (mut d, _) = fresh_domain().await;
    let day = Duration::days(1);
    d.quotas.set(Limit { action: Action::Change, per: Per::Client, max: 3, window: day });
    let client = "203.0.113.9".parse().ok();
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await.from_address(client);
    let bob = account_with_admin(&d, "Globex", "bob@example.com").await.from_address(client);
    profile::update_name(&d, &ada, "Ada", "One").await.unwrap();
    profile::update_name(&d, &ada, "Ada", "Two").await.unwrap();
    profile::update_name(&d, &bob, "Bob", "One").await.unwrap();
    let before = Snapshot::take(&d).await;
    let refused = profile::update_name(&d, &bob, "Bob", "Two").await;
    assert!(
        matches!(&refused, Err(AppError::TooManyRequests(m)) if m.contains("Too many changes"))
    );
    before.assert_unchanged(&d).await;
    let elsewhere = bob.from_address("198.51.100.7".parse().ok());
    profile::update_name(&d, &elsewhere, "Bob", "Two").await.unwrap();
}

/// A save that renames an application writes two events, the rename and
/// the settings, and counts both: with one count left it is refused whole,
/// while a save under the same name counts one.
#[tokio::test]
async fn a_save_that_renames_counts_its_two_events() {
    use app::domain::core::quota::{Action, Limit, Per};
    let (mut d, clock) = fresh_domain().await;
    let hour = Duration::hours(1);
    d.quotas.set(Limit { action: Action::Change, per: Per::Actor, max: 2, window: hour });
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    let app = applications::create(&d, &ada, "Hotline").await.unwrap();
    let library =
        LibraryForm { name: "Utils".into(), description: String::new(), code: "var a;".into() };
    let lib = [js_libraries::add(&d, &ada, library).await.unwrap().id];
    clock.advance(hour);
    let before = Snapshot::take(&d).await;
    applications::save_settings(
        &d,
        &ada,
        app.id,
        applications::SettingsForm::new(Some("Hotline"), &lib, &[]),
    )
    .await
    .unwrap();
    assert_eq!(before.new_events(&d).await, ["application.settings_changed Hotline"]);
    let before = Snapshot::take(&d).await;
    let refused = applications::save_settings(
        &d,
        &ada,
        app.id,
        applications::SettingsForm::new(Some("Helpline"), &lib, &[]),
    )
    .await;
    assert!(matches!(&refused, Err(AppError::TooManyRequests(_))), "{refused:?}");
    before.assert_unchanged(&d).await;

    // A new hour: the rename and the settings, two events for two counts.
    clock.advance(hour);
    let before = Snapshot::take(&d).await;
    applications::save_settings(
        &d,
        &ada,
        app.id,
        applications::SettingsForm::new(Some("Helpline"), &lib, &[]),
    )
    .await
    .unwrap();
    let both = ["application.renamed Helpline", "application.settings_changed Helpline"];
    assert_eq!(before.new_events(&d).await, both);
    let before = Snapshot::take(&d).await;
    let spent = applications::save_settings(
        &d,
        &ada,
        app.id,
        applications::SettingsForm::new(None, &[], &[]),
    )
    .await;
    assert!(matches!(&spent, Err(AppError::TooManyRequests(_))), "{spent:?}");
    before.assert_unchanged(&d).await;
}

/// Cancelling an email change undoes a counted change: a user whose changes
/// are spent (by that very request) can still stop it.
#[tokio::test]
async fn an_email_change_is_cancelled_with_the_changes_spent() {
    use app::domain::core::quota::{Action, Limit, Per};
    let (mut d, _) = fresh_domain().await;
    let hour = Duration::hours(1);
    d.quotas.set(Limit { action: Action::Change, per: Per::Actor, max: 1, window: hour });
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await;
    email_links::request_email_change(&d, &ada, PASSWORD, "new@example.com", "").await.unwrap();
    let before = Snapshot::take(&d).await;
    let spent = profile::update_name(&d, &ada, "Ada", "King").await;
    assert!(matches!(spent, Err(AppError::TooManyRequests(_))), "{spent:?}");
    before.assert_unchanged(&d).await;
    email_links::cancel_email_change(&d, &ada).await.unwrap();
    assert_eq!(email_links::pending_email_change(&d, &ada).await.unwrap(), None);
}

/// A download is read and sent a page at a time: every event of a long
/// list arrives, newest first, and no piece holds more than a page.
#[tokio::test]
async fn a_long_download_is_sent_a_page_at_a_time() {
    use sea_orm::Set;
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let other = account_with_admin(&d, "Globex", "hal@example.com").await;
    let mut events = Vec::new();
    for n in 0..2_345 {
        for account_id in [ada.account_id(), other.account_id()] {
            events.push(activity_event::ActiveModel {
                account_id: Set(account_id),
                at: Set(d.clock.now()),
                actor: Set("ada@example.com".into()),
                kind: Set("user.updated".into()),
                target: Set(format!("target {n} of {account_id}")),
                ..Default::default()
            });
        }
    }
    for chunk in events.chunks(500) {
        activity_event::Entity::insert_many(chunk.to_vec()).exec(&d.db).await.unwrap();
    }
    let mut export =
        admin_activity::csv_export(&d, &ada, &ActivityFilter::default()).await.unwrap();
    let mut pieces = Vec::new();
    while let Some(piece) = export.next_chunk().await.unwrap() {
        pieces.push(piece);
    }
    let most = pieces.iter().map(|p| p.matches("\r\n").count()).max().unwrap();
    assert!(pieces.len() >= 4 && most <= 1_000, "{} pieces, at most {most} lines", pieces.len());
    let text = pieces.concat();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1 + 2_345, "the header and every event of Acme, none of Globex's");
    let mine = format!("of {}\"", ada.account_id());
    assert!(lines[1..].iter().all(|l| l.contains(&mine)), "{}", lines[1]);
    assert!(lines[1].contains("\"target 2344 of"), "newest first: {}", lines[1]);
    assert!(lines[2_345].contains("\"target 0 of"), "{}", lines[2_345]);
}

/// A download stops at its cap, as the page says: the newest
/// `ACTIVITY_CSV_MAX` events, the older few left out.
#[tokio::test]
async fn a_download_holds_the_newest_events_up_to_its_cap() {
    use app::model::ACTIVITY_CSV_MAX;
    use sea_orm::Set;
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let events: Vec<_> = (0..ACTIVITY_CSV_MAX + 3)
        .map(|n| activity_event::ActiveModel {
            account_id: Set(ada.account_id()),
            at: Set(d.clock.now()),
            actor: Set("ada@example.com".into()),
            kind: Set("user.updated".into()),
            target: Set(format!("target {n}")),
            ..Default::default()
        })
        .collect();
    for chunk in events.chunks(1_000) {
        activity_event::Entity::insert_many(chunk.to_vec()).exec(&d.db).await.unwrap();
    }
    let csv = admin_activity::csv(&d, &ada, &ActivityFilter::default()).await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1 + ACTIVITY_CSV_MAX, "the header and the cap's worth of events");
    let newest = format!("\"target {}\"", ACTIVITY_CSV_MAX + 2);
    assert!(lines[1].contains(&newest), "newest first: {}", lines[1]);
    assert!(lines[ACTIVITY_CSV_MAX].contains("\"target 3\""), "{}", lines[ACTIVITY_CSV_MAX]);
    assert!(!csv.contains("\"target 2\""), "the three oldest are left out");
}

/// The accounts one client address signs up share its downloads: each is a
/// new admin with counts of its own.
#[tokio::test]
async fn activity_downloads_from_one_client_address_are_counted_together() {
    use app::domain::core::quota::{Action, Limit, Per};
    let (mut d, _) = fresh_domain().await;
    let hour = Duration::hours(1);
    d.quotas.set(Limit { action: Action::ActivityExport, per: Per::Client, max: 2, window: hour });
    let from: IpAddr = "192.0.2.7".parse().unwrap();
    let mut admins = Vec::new();
    for n in 0..3 {
        let member =
            account_with_admin(&d, &format!("Shell {n}"), &format!("a{n}@example.com")).await;
        admins.push(member.from_address(Some(from)).admin().unwrap());
    }
    let all = ActivityFilter::default();
    admin_activity::csv(&d, &admins[0], &all).await.unwrap();
    admin_activity::csv(&d, &admins[1], &all).await.unwrap();
    let before = Snapshot::take(&d).await;
    let refused = admin_activity::csv(&d, &admins[2], &all).await;
    assert!(matches!(&refused, Err(AppError::TooManyRequests(_))), "{refused:?}");
    before.assert_unchanged(&d).await;
    let elsewhere = admins[2].member().clone().from_address(Some("198.51.100.7".parse().unwrap()));
    admin_activity::csv(&d, &elsewhere.admin().unwrap(), &all).await.unwrap();
}

/// A download read slowly stops when its admin stops being one: a page
/// asked for after they were disabled is refused.
#[tokio::test]
async fn a_download_stops_when_its_admin_is_disabled() {
    let (d, _) = fresh_domain().await;
    let ada = account_with_admin(&d, "Acme", "ada@example.com").await.admin().unwrap();
    let grace = add_user(&d, ada.account_id(), "grace@example.com", true).await.admin().unwrap();
    let all = ActivityFilter::default();
    let mut export = admin_activity::csv_export(&d, &ada, &all).await.unwrap();
    assert!(export.next_chunk().await.unwrap().unwrap().starts_with("\u{feff}time,actor,kind"));
    users::disable(&d, &grace, ada.member().user_id()).await.unwrap();
    let refused = export.next_chunk().await;
    assert!(matches!(refused, Err(AppError::Forbidden(_))), "{refused:?}");
}
