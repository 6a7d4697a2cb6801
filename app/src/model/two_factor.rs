//! Two-factor authentication.
use serde::{Deserialize, Serialize};

/// The user's two-factor authentication, as their Account tab shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorStatus {
    pub enabled: bool,
    pub recovery_codes_left: usize,
}

/// What setting up two-factor authentication shows once: the secret as a QR
/// code (SVG, rendered on the server) and as text for typing in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorSetup {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
    /// Names this set-up's secret, sent back with the code: a Set Up pressed
    /// again in another window replaces the secret, and this one's code is
    /// then refused as replaced instead of called wrong.
    pub setup_id: String,
}
